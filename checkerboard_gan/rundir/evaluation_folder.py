"""The folder an evaluation of images from anywhere writes (`python -m checkerboard_gan.evaluate
SOURCE`, docs/evaluate.md); this module is the only writer of its files:

- `evaluation.json`: `sources` (`fake`, `real`), `stride`, `periods`, `n_fake`, `n_real`, the
  `fake` and `real` blocks spelled as metrics.json's evaluations (`cb_2`, `content_2`, ...,
  `spectral_distance`), `intervals` (95% bootstrap intervals, `[low, high]` per key), `verdicts`
  (per period and measure, against the real floor), `bootstrap` (replicates, level), `quality`
  (SWD per level and mean, FID and KID where computed: the generated images against the real
  ones), `quality_floor` (SWD of one half of the real images against the other), `seconds`;
- `evaluation.md`: the same, to read;
- `fingerprint.png`: the generated and real fingerprint tiles at the largest period on one scale;
- `spectrum.png`: the mean log power spectra of the generated and real images and their
  difference; `radial_spectrum.png`: both radial spectra.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from checkerboard_gan.analysis.catalogue import (
    CB,
    CONTENT,
    FID,
    FINGERPRINT,
    PEAK_DB,
    SPECTRAL_DISTANCE,
)
from checkerboard_gan.analysis.evaluation import Evaluation
from checkerboard_gan.analysis.quality import NEIGHBOURHOOD
from checkerboard_gan.analysis.streaming import LEVEL, REPLICATES
from checkerboard_gan.pictures.plots import (
    figure_png,
    fingerprint_figure,
    radial_spectrum_figure,
    spectra_figure,
)
from checkerboard_gan.rundir.folder import atomic_write_bytes

FILE = "evaluation.json"
FILES = (FILE, "evaluation.md", "fingerprint.png", "spectrum.png", "radial_spectrum.png")


def default_folder(source: Path) -> Path:
    """A new folder beside the source: `NAME_evaluation`, or `NAME_evaluation_2`, ... if taken."""
    source = Path(source).expanduser().resolve()
    stem = source.name.split(".")[0] if source.is_file() else source.name
    base = source.parent / f"{stem}_evaluation"
    candidate, k = base, 1
    while candidate.exists():
        k += 1
        candidate = base.with_name(f"{base.name}_{k}")
    return candidate


def record(ev: Evaluation, sources: dict[str, str | None]) -> dict[str, Any]:
    """evaluation.json's content."""
    return {
        "sources": sources,
        "stride": ev.finest,
        "periods": ev.periods,
        "n_fake": ev.n_fake,
        "n_real": ev.n_real,
        "fake": ev.fake,
        "real": ev.real,
        "intervals": ev.intervals(),
        "verdicts": [{"period": p, "measure": m, "verdict": v} for p, m, v in ev.verdicts()],
        "degenerate": ev.degenerate(),
        "bootstrap": {"replicates": REPLICATES, "level": LEVEL, "kind": "Poisson, over images"},
        "quality": ev.quality,
        "quality_floor": ev.quality_floor,
        "seconds": ev.seconds,
    }


def write_folder(out: Path, ev: Evaluation, sources: dict[str, str | None]) -> list[Path]:
    """Write every file of the folder into `out` (created); returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    content = json.dumps(_finite(record(ev, sources)), indent=2) + "\n"
    atomic_write_bytes(out / FILE, content.encode())
    atomic_write_bytes(out / "evaluation.md", markdown(ev, sources).encode())
    real = ev.real_side
    panels = [("generated", ev.tile, ev.fake_variance)]
    if real is not None:
        panels.append(("real", real.tile, real.variance))
    title = f"fingerprint tiles at period {ev.periods[-1]}"
    _save(out / "fingerprint.png", fingerprint_figure(panels, title, ncols=1))
    _save(
        out / "spectrum.png",
        spectra_figure(ev.fake_side.log_spectrum, real.log_spectrum if real else None),
    )
    _save(
        out / "radial_spectrum.png",
        radial_spectrum_figure(ev.fake_side.radial, real.radial if real else None),
    )
    return [out / name for name in FILES]


def _save(path: Path, fig: Any) -> None:
    png, _, _ = figure_png(fig)
    plt.close(fig)
    atomic_write_bytes(path, png)


def _finite(value: Any) -> Any:
    """JSON without NaN or infinity (null instead), which strict readers refuse."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _with_interval(values: dict[str, float], intervals: dict[str, list[float]], key: str) -> str:
    if key not in values:
        return "n/a"
    interval = intervals.get(key)
    text = f"{values[key]:.3g}"
    return text + (f" [{interval[0]:.3g}, {interval[1]:.3g}]" if interval else "")


def _table(ev: Evaluation, fake: dict[str, float]) -> list[str]:
    """evaluation.md's table: per period, each value with its interval, the real one, verdicts."""
    verdicts = {(p, m): v for p, m, v in ev.verdicts()}
    intervals = ev.intervals()
    sides = {
        side: (values, intervals.get(side, {}))
        for side, values in (("fake", fake), ("real", ev.real))
    }

    def cells(p: int, key: str) -> str:
        return f"{_with_interval(*sides['fake'], key)} | {_with_interval(*sides['real'], key)}"

    rows = [
        "| p | content_p | real | verdict | FP_p | real | verdict | peak dB | real | CB_p |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in ev.periods:
        rows.append(
            f"| {p} | {cells(p, CONTENT.key(p))} | {verdicts[(p, CONTENT.name)]} | "
            f"{cells(p, FINGERPRINT.key(p))} | {verdicts[(p, FINGERPRINT.name)]} | "
            f"{cells(p, PEAK_DB.key(p))} | {_with_interval(*sides['fake'], CB.key(p))} |"
        )
    return rows


def _quality_lines(ev: Evaluation) -> list[str]:
    """evaluation.md's sample-quality table: each quality measure against the real images, and
    one half of the real images against the other (the floor) where it has one."""
    if not ev.quality:
        reason = (
            "without real images"
            if ev.real_side is None
            else f"images under {NEIGHBOURHOOD} x {NEIGHBOURHOOD} px hold no SWD patch"
        )
        return [f"Sample quality (SWD, FID, KID): n/a, {reason}.", ""]
    rows = [
        "Sample quality, the generated images against the real ones (lower is closer); the "
        "floor is one half of the real images against the other (SWD x 1e3 per pyramid level "
        "and their mean; docs/measures.md):",
        "",
        "| measure | generated vs real | real half vs half |",
        "|---|---|---|",
    ]
    for key, value in ev.quality.items():
        floor = ev.quality_floor.get(key)
        rows.append(f"| {key} | {value:.4g} | {'' if floor is None else f'{floor:.4g}'} |")
    if FID.key() not in ev.quality:
        rows += ["", "FID and KID: not computed (no InceptionV3 weights; see `--fid`)."]
    return [*rows, ""]


def _degenerate_note(ev: Evaluation) -> list[str]:
    reason = ev.degenerate()
    if reason is None:
        return []
    return [f"**Not meaningful:** the generated images are {reason}; their artifact measures say "
            "nothing about upsampling.", ""]  # fmt: skip


def markdown(ev: Evaluation, sources: dict[str, str | None]) -> str:
    """evaluation.md: what was measured, a table per period, the verdicts and the pictures."""
    fake = ev.fake
    floor = (
        f"Real images (the floor): {sources['real']}."
        if ev.real_side
        else "No real images were given: there is no floor, so no value can be called above it "
        "(give `--real`)."
    )
    lines = [
        "# Checkerboard evaluation",
        "",
        f"Generated images: {sources['fake']}. {floor}",
        f"Periods p = {', '.join(map(str, ev.periods))} (stride {ev.finest}); values with their "
        f"95% bootstrap interval over images; {ev.seconds:.1f} s.",
        "",
        *_degenerate_note(ev),
        *_table(ev, fake),
    ]
    distance = fake.get(SPECTRAL_DISTANCE.key())
    lines += [
        "",
        f"Spectral distance (generated against real, upper half of frequencies): {distance:.3g} dB."
        if distance is not None
        else "Spectral distance: n/a without real images.",
        "",
        *_quality_lines(ev),
        "A value is *above the real floor* only when its interval lies wholly above the real "
        "images' interval; *within the floor* when the value is no higher than the real "
        "interval's upper end; otherwise *undecided* (higher, but the intervals overlap: more "
        "images narrow them). FP_p counts a pattern of period q in full at every p that q "
        "divides (a period-2 stamp is also one of period 4, 8, ...); content_p attributes "
        "phase-energy variation to the period that adds it. Definitions: docs/measures.md.",
        "",
        "![fingerprint tiles](fingerprint.png)",
        "",
        "![mean log power spectra](spectrum.png)",
        "",
        "![radial spectra](radial_spectrum.png)",
        "",
    ]
    return "\n".join(lines)
