"""Sweep summary: one table and one contact sheet over the run folders of a sweep.

Works on any sweep folder, also a partial or killed one: a run without a completed
metrics.json appears with its status (`missing` when it never wrote one).
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageDraw, ImageFont

from checkerboard_gan.analysis import measures
from checkerboard_gan.analysis.catalogue import (
    CATALOGUE,
    Periods,
    compared,
    of_stage,
    summary_measure_columns,
)
from checkerboard_gan.pictures.images import grid, heatmap, stretch, to_uint8_hwc
from checkerboard_gan.rundir.schema import SchemaError
from checkerboard_gan.sweeps.runs import RunRow, find_runs, sort_by_swept_keys

log = logging.getLogger(__name__)
NOT_MEANINGFUL = "not meaningful (collapsed)"
CELL = 170  # px per contact-sheet cell
PICTURE = 150  # of which the picture (the rest: its caption)
LABEL_W = 330


def row_fields(row: RunRow, swept: list[str]) -> dict[str, Any]:
    """One run's summary.csv row: who it is, then the catalogue's compared measures
    (`summary_measure_columns`), then losses, time and rate."""
    m = row.metrics or {}
    fields: dict[str, Any] = {"run": row.path.name, "overrides": " ".join(row.overrides)}
    status = row.status + (f", collapsed at {m['collapsed_at']}" if m.get("collapsed") else "")
    fields |= row.values | {"status": status, "error": row.error}
    fields |= {"collapsed": bool(m.get("collapsed")), "collapsed_at": m.get("collapsed_at", "")}
    fields |= measure_fields(m, row.periods)
    for key in ("final_loss_d", "final_loss_g", "wall_s", "throughput_img_s"):
        fields[key] = m.get(key, "")
    return fields


def measure_fields(m: dict[str, Any], periods: Periods | None) -> dict[str, Any]:
    """The compared measures of one run's record, keyed as `summary_measure_columns` names
    them: probe measures at the first (`_init`) and last probe (`_last`); evaluation measures
    at the first and last evaluation and on the real images (`_real`, the floor); quality
    measures likewise, their floor the real images' halves against each other."""
    probes, evaluations = m.get("probes") or [], m.get("evaluations") or []
    first, last = (probes[0], probes[-1]) if probes else ({}, {})
    fields: dict[str, Any] = {}
    blocks = {"evaluation": ("fake", "real"), "quality": ("quality", "quality_floor")}
    for stage, _, key in compared(periods):
        if stage == "probe":
            fields |= {f"{key}_init": first.get(key, ""), f"{key}_last": last.get(key, "")}
        elif evaluations:
            ev0, ev1 = evaluations[0], evaluations[-1]
            values, floor = blocks[stage]
            fields[f"{key}_init"] = (ev0.get(values) or {}).get(key, "")
            fields[f"{key}_last"] = (ev1.get(values) or {}).get(key, "")
            fields[f"{key}_real"] = (ev1.get(floor) or {}).get(key, "")
    fields["last_probe_step"] = last.get("step", "")
    if evaluations:
        fields["eval_samples"] = evaluations[-1].get("n_fake", "")
    for measure in of_stage("run"):
        fields[measure.key()] = m.get(measure.key(), "")
    columns = summary_measure_columns(periods if evaluations else None)
    return {c: fields[c] for c in columns if c in fields}


def headline_columns(columns: list[str], artifacts_only: bool = False) -> list[str]:
    """The measure stems the narrow table shows, in column order: every headline measure of
    the catalogue that has `_init`/`_last` columns (at whatever period the runs recorded);
    with `artifacts_only`, not the quality measures (meaningful also for a collapsed run)."""
    stems = dict.fromkeys(c.rsplit("_", 1)[0] for c in columns if c.endswith(("_init", "_last")))
    headline = [
        m for m in CATALOGUE if m.headline and not (artifacts_only and "quality" in m.stages)
    ]
    return [
        stem
        for m in headline
        for stem in stems
        if stem == m.name or (m.per_period and stem.startswith(m.name + "_"))
    ]


def markdown_columns(columns: list[str], swept: list[str]) -> list[str]:
    """The narrow table's columns: swept keys, status, one column per headline measure (the
    probe's, then the evaluation's finest-period content and fingerprint), images/s. A
    measure column `m` shows `m_init -> m_last`, and `(m_real)` where the run has the floor."""
    return [*swept, "status", *headline_columns(columns), "throughput_img_s"]


def _md(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value).replace("|", "\\|")


def _table_cell(row: dict[str, Any], column: str) -> str:
    if column in row:
        return _md(row[column])
    init, last = row.get(f"{column}_init", ""), row.get(f"{column}_last", "")
    text = f"{_md(init)} → {_md(last)}" if last not in ("", init) else _md(init)
    real = row.get(f"{column}_real", "")
    return text + (f" ({_md(real)})" if real != "" else "")


def write_tables(table: list[dict[str, Any]], sweep_dir: Path, swept: list[str]) -> None:
    """summary.csv with every field; summary.md with the narrow table, numbers to 3 digits."""
    columns = list(dict.fromkeys(k for row in table for k in row))
    with open(sweep_dir / "summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(table)
    shown = markdown_columns(columns, swept)
    lines = ["| " + " | ".join(shown) + " |", "|" + " --- |" * len(shown)]
    for row in table:
        cells = {c: _table_cell(row, c) for c in shown}
        if row.get("collapsed") is True:
            cells |= {c: NOT_MEANINGFUL for c in headline_columns(columns, artifacts_only=True)}
        if row.get("error"):
            cells["status"] += f": {_md(row['error'])}"
        lines.append("| " + " | ".join(cells[c] for c in shown) + " |")
    (sweep_dir / "summary.md").write_text(
        f"# Sweep summary: {sweep_dir}\n\n{len(table)} runs. Each measure reads `step 0 → last "
        "probe` (random init, then the end); `content_p` and `fingerprint_p` come from the "
        "evaluation over many samples at the finest period p, with the real images' value (the "
        "floor) in brackets; `swd`: sample quality, the sliced Wasserstein distance of image "
        "patches to the real images (lower is closer), with one half of the real images against "
        "the other in brackets; `throughput_img_s`: training images per second. A run whose "
        "generator collapsed (identical or saturated samples at its last probe) reads `not "
        "meaningful (collapsed)` for its artifact measures. Every field of every run is in "
        "summary.csv.\n\n" + "\n".join(lines) + "\n",
        encoding="utf-8",
    )


def _thumbnail(x: torch.Tensor, box: int) -> torch.Tensor:
    """Up to 16 samples, each stretched, as a grid enlarged by the largest integer factor that
    fits `box` px (fewer per row where 4 do not fit at 1:1): one-pixel patterns stay exact."""
    size = x.shape[-1]
    for n in (4, 3, 2, 1):
        side = n * size + 2 * (n + 1)  # make_grid's padding of 2 px per gap at factor 1
        if side <= box or n == 1:
            factor = max(1, box // side)
            return grid(stretch(x[: n * n]), nrow=n, min_cell_px=size * factor)
    raise AssertionError("unreachable")


def _cell(img: torch.Tensor | None, caption: str = "") -> Image.Image:
    cell = Image.new("RGB", (CELL, CELL), "white")
    if img is not None:
        pic = Image.fromarray(to_uint8_hwc(img).numpy())
        if pic.width > CELL - 4 or pic.height > PICTURE:
            pic.thumbnail((CELL - 4, PICTURE), Image.Resampling.NEAREST)
        cell.paste(pic, ((CELL - pic.width) // 2, 2 + (PICTURE - pic.height) // 2))
    if caption:
        font = ImageFont.load_default(size=13)
        ImageDraw.Draw(cell).text((6, PICTURE + 2), caption, fill="dimgray", font=font)
    return cell


def _run_cells(row: RunRow, columns: int) -> list[Image.Image]:
    """Samples at step 0, (the middle and last probe,) and the last probe's phase energy."""
    steps = row.sample_steps
    if not steps:
        return [_cell(None)] * columns
    chosen = [steps[0], steps[len(steps) // 2], steps[-1]] if columns == 4 else [steps[0]]
    try:
        batches = [row.samples(s) for s in chosen]  # each file read once; the last is reused
    except SchemaError as err:  # one run's bad file must not stop the sheet
        log.warning("%s; its run's pictures are left out of the contact sheet", err)
        return [_cell(None, "samples unreadable")] * columns
    cells = [
        _cell(_thumbnail(x, PICTURE), f"step {s}") for s, x in zip(chosen, batches, strict=True)
    ]
    if row.period is None:
        return [*cells, _cell(None, "no period recorded")]
    energy = heatmap(measures.phase_energy(batches[-1], row.period), min_px=PICTURE - 8)
    cells.append(_cell(energy, f"P={row.period}, step {chosen[-1]}"))
    return cells


def headline_lines(row: RunRow) -> list[str]:
    """The contact sheet's numbers for one run: each headline measure at init (and last), with
    the real images' floor for the evaluation's, under the catalogue's short labels."""
    m, periods = row.metrics or {}, row.periods
    probes, evaluations = m.get("probes") or [], m.get("evaluations") or []
    fields = measure_fields(m, periods)
    lines = []
    for stage, measure, key in compared(periods):
        if not measure.headline or f"{key}_init" not in fields:
            continue
        label = measure.label + key[len(measure.name) :]
        if stage == "probe" and probes:
            trend = f" -> {fields[key + '_last']:.3f}" if len(probes) > 1 else ""
            lines.append(f"{label} {fields[key + '_init']:.3f}{trend}")
        elif stage != "probe" and fields[key + "_init"] != "":
            digits = ".3g" if stage == "quality" else ".2g"  # SWD in the hundreds: 205, not 2e+02
            trend = f" -> {fields[key + '_last']:{digits}}" if len(evaluations) > 1 else ""
            real = fields.get(key + "_real", "")
            floor = f" (real {real:{digits}})" if real != "" else ""
            lines.append(f"{label} {fields[key + '_init']:{digits}}{trend}{floor}")
    return lines


def _label(row: RunRow, height: int) -> Image.Image:
    panel = Image.new("RGB", (LABEL_W, height), "white")
    draw = ImageDraw.Draw(panel)
    font = ImageFont.load_default(size=14)
    lines = [f"{k}={v}" for k, v in row.values.items()] or [" ".join(row.overrides)[:40]]
    collapsed = bool(row.metrics and row.metrics.get("collapsed"))
    lines += [NOT_MEANINGFUL] if collapsed else headline_lines(row)
    lines.append(row.status + (f": {row.error}" if row.status != "completed" and row.error else ""))
    y = 6
    for line in lines:
        colour = (
            "black"
            if not line.startswith(
                ("failed", "diverged", "missing", "interr", "unreadable", "not meaningful")
            )
            else "firebrick"
        )
        draw.text((6, y), line[:44], fill=colour, font=font)
        y += 18
    return panel


def write_contact_sheet(rows: list[RunRow], path: Path) -> None:
    """One row per run: label, samples at step 0, middle and last probe (each cell says its
    step), the last probe's phase energy; init-only sweeps show step 0 and its map only."""
    trained = any(len(r.sample_steps) > 1 for r in rows)
    titles = ["run", "step 0 (init)"]
    titles += ["middle probe", "last probe", "phase energy (last)"] if trained else ["phase energy"]
    columns = len(titles) - 1
    header_h = 24
    sheet = Image.new("RGB", (LABEL_W + columns * CELL, header_h + CELL * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=14)
    for i, title in enumerate(titles):
        draw.text(
            (6 + (0 if i == 0 else LABEL_W + (i - 1) * CELL), 4), title, fill="black", font=font
        )
    for r, row in enumerate(rows):
        y = header_h + r * CELL
        sheet.paste(_label(row, CELL), (0, y))
        for c, cell in enumerate(_run_cells(row, columns)):
            sheet.paste(cell, (LABEL_W + c * CELL, y))
        draw.line([(0, y), (sheet.width, y)], fill="lightgrey")
    sheet.save(path)


def summarize(sweep_dir: Path) -> list[RunRow]:
    """Write summary.csv, summary.md and summary.png into `sweep_dir`; returns the rows."""
    sweep_dir = Path(sweep_dir)
    rows = find_runs(sweep_dir)
    if not rows:
        raise FileNotFoundError(f"no run folders (*/.hydra/overrides.yaml) under {sweep_dir}")
    swept = sort_by_swept_keys(rows)
    write_tables([row_fields(r, swept) for r in rows], sweep_dir, swept)
    write_contact_sheet(rows, sweep_dir / "summary.png")
    return rows
