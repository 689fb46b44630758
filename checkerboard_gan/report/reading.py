"""What the claims read: each study's runs (through `checkerboard_gan.sweeps.runs`), the numbers and
tensors those runs saved, and where the report's figures go. Nothing here re-runs a model."""

from __future__ import annotations

import logging
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from checkerboard_gan.pictures import plots
from checkerboard_gan.rundir.schema import SchemaError, load_fingerprint
from checkerboard_gan.sweeps.runs import RunRow

from .studies import Setting

log = logging.getLogger(__name__)
Kind = tuple[str, str, dict[str, str]]  # label, study, overrides that select its runs


@dataclass
class Context:
    """The report's runs by study, its setting, and the folder its figures and links live in."""

    out: Path
    setting: Setting
    rows: dict[str, list[RunRow]]  # study -> its runs, sorted by the swept keys
    excluded: dict[str, list[RunRow]] = field(default_factory=dict)  # study -> collapsed runs

    def pick(self, kind: Kind) -> list[RunRow]:
        """The kind's runs: those of its study whose overrides hold all its key=value pairs."""
        _, study, want = kind
        found = []
        for row in self.rows.get(study, []):
            given = {k: v.lower() for k, v in (o.split("=", 1) for o in row.overrides if "=" in o)}
            if all(given.get(k) == v for k, v in want.items()):
                found.append(row)
        return found

    def one(self, kind: Kind) -> RunRow | None:
        return next(iter(self.pick(kind)), None)

    def rel(self, path: Path) -> str:
        return path.resolve().relative_to(self.out.resolve()).as_posix()

    def link(self, row: RunRow | None, label: str = "run") -> str:
        return f"[{label}]({self.rel(row.path)}/)" if row else "missing"

    def save(self, fig: Any, name: str) -> str:
        """Write a matplotlib figure as OUT/figures/NAME.png; returns its path relative to OUT."""
        path = self.out / "figures" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
        plots.plt.close(fig)
        return self.rel(path)


def collapsed(row: RunRow) -> bool:
    """Whether the run's generator had collapsed (or saturated) at its last probe, so that its
    artifact measures say nothing (metrics.json `collapsed`)."""
    return bool(row.metrics and row.metrics.get("collapsed"))


def without_collapsed(
    rows: dict[str, list[RunRow]],
) -> tuple[dict[str, list[RunRow]], dict[str, list[RunRow]]]:
    """(the runs the verdicts read, the collapsed ones they leave out), each by study."""
    kept = {study: [r for r in runs if not collapsed(r)] for study, runs in rows.items()}
    left = {study: [r for r in runs if collapsed(r)] for study, runs in rows.items()}
    return kept, {study: runs for study, runs in left.items() if runs}


def per_seed(ctx: Context, kind: Kind) -> dict[str, RunRow]:
    """A kind's runs keyed by seed."""
    return {r.seed: r for r in ctx.pick(kind)}


def first_seed(by_seed: dict[str, RunRow]) -> RunRow | None:
    """The run of the lowest seed (the one the figures show)."""
    return by_seed.get(min(by_seed, key=int)) if by_seed else None


def all_seeds(runs: dict[str, dict[str, RunRow]]) -> list[str]:
    return sorted({s for by_seed in runs.values() for s in by_seed}, key=int) or ["0"]


def probe(row: RunRow | None, key: str, which: int) -> float:
    """A measure at a run's first (0) or last (-1) probe; NaN when missing."""
    probes = (row.metrics or {}).get("probes") if row else None
    return float(probes[which].get(key, math.nan)) if probes else math.nan


def ev(row: RunRow | None, key: str, which: int = -1, side: str = "fake") -> float:
    """A measure of a run's first (0) or last (-1) evaluation; NaN when missing. The last is
    the one at the run's final step (metrics.json `steps`): a run stopped early (at the
    report's time limit, say) has none, and its step-0 numbers must not pass for trained."""
    metrics = (row.metrics or {}) if row else {}
    evals = metrics.get("evaluations")
    if not evals:
        return math.nan
    if which == -1 and evals[-1].get("step") != metrics.get("steps", evals[-1].get("step")):
        return math.nan
    return float(evals[which].get(side, {}).get(key, math.nan))


def eval_size(rows: list[RunRow | None]) -> str:
    for row in rows:
        evals = (row.metrics or {}).get("evaluations") if row else None
        if evals:
            return f"{evals[-1]['n_fake']} generated / {evals[-1]['n_real']} real"
    return "no evaluation found"


def real_floor(rows: list[RunRow | None], key: str, side: str = "real") -> float:
    """`key` on the real images (the same reference for every run of one dataset), from the
    evaluations' `side` block (`quality_floor` for the quality measures' floor)."""
    return next((v for r in rows if not math.isnan(v := ev(r, key, side=side))), math.nan)


def _unreadable(err: SchemaError) -> None:
    log.warning("%s; the report leaves it out", err)


def samples_at(row: RunRow | None, which: int) -> tuple[int, torch.Tensor] | None:
    """(step, samples) of a run's first (0) or last (-1) saved probe; None when missing or
    unreadable (said in the log)."""
    if not row or not row.sample_steps:
        return None
    step = row.sample_steps[which]
    try:
        return step, row.samples(step)
    except SchemaError as err:
        return _unreadable(err)


def gradient_at(row: RunRow | None, which: int) -> torch.Tensor | None:
    """D's input gradient saved at a run's first (0) or last (-1) probe; None when missing or
    unreadable."""
    steps = row.gradient_steps if row else []
    try:
        return row.gradient(steps[which]) if row and steps else None
    except SchemaError as err:
        return _unreadable(err)


def fingerprint_at(row: RunRow | None, which: int) -> dict[str, Any] | None:
    """The fingerprint tiles a run saved at its first (0) or last (-1) evaluation
    (`eval/fingerprint_step_XXXXXXX.pt`: `step`, the raw `fake` and `real` tiles (C, P, P) and
    the `fake_variance` and `real_variance` FP_p divides by); None where it saved none (a run
    evaluated before the tiles were kept has only a picture, which cannot be put on a shared
    scale), or unreadable."""
    steps = [e["step"] for e in (row.metrics or {}).get("evaluations", [])] if row else []
    path = row.path / "eval" / f"fingerprint_step_{steps[which]:07d}.pt" if row and steps else None
    if path is None or not path.is_file():
        return None
    try:
        return load_fingerprint(path)
    except SchemaError as err:
        return _unreadable(err)


def mean_std(values: list[float]) -> tuple[float, float]:
    values = [v for v in values if not math.isnan(v)]
    return (statistics.mean(values), statistics.pstdev(values)) if values else (math.nan,) * 2
