"""Reading a report's runs and deciding its rules: a claim's checks, each written out with the
numbers it was decided on, and the verdict computed from them."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .. import plots
from ..summary import RunRow
from .document import Verdict
from .studies import Setting


@dataclass
class Check:
    """One comparison of a claim's rule, written out with the numbers it was decided on."""

    text: str
    ok: bool | None  # None: a number is missing


def compare(a_name: str, a: float, k: float, b_name: str, b: float, above: bool = True) -> Check:
    """Whether `a >= k * b` (`above`) or `a < k * b` (not `above`)."""
    if math.isnan(a) or math.isnan(b):
        return Check(f"{a_name} or {b_name} missing", None)
    holds = a >= k * b
    return Check(
        f"{a_name} {a:.3g} {'≥' if holds else '<'} {k:g} × {b_name} {b:.3g}", holds == above
    )


def verdict(checks: list[Check]) -> Verdict:
    """One sentence from the checks: all hold, none hold, some hold, or numbers missing."""
    if any(c.ok is None for c in checks):
        missing = "; ".join(c.text for c in checks if c.ok is None)
        return Verdict("undecided", f"Undecided: numbers are missing ({missing}).")
    good = "; ".join(c.text for c in checks if c.ok)
    bad = "; ".join(c.text for c in checks if not c.ok)
    if not bad:
        return Verdict("supported", f"Supported by our numbers: {good}.")
    if not good:
        return Verdict("not supported", f"Not supported by our numbers: {bad}.")
    return Verdict("partly supported", f"Partly supported: {good}; but {bad}, against the rule.")


# Reading runs -----------------------------------------------------------------------------

Kind = tuple[str, str, dict[str, str]]  # label, study, overrides that select its runs


@dataclass
class Context:
    out: Path
    setting: Setting
    rows: dict[str, list[RunRow]]  # study -> its runs, sorted by the swept keys

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
        path = self.out / "figures" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
        plots.plt.close(fig)
        return self.rel(path)


def probe(row: RunRow | None, key: str, which: int) -> float:
    """A measure at a run's first (0) or last (-1) probe; NaN when missing."""
    probes = (row.metrics or {}).get("probes") if row else None
    return float(probes[which].get(key, math.nan)) if probes else math.nan


def samples_at(row: RunRow | None, which: int) -> tuple[int, torch.Tensor] | None:
    """(step, samples) of a run's first (0) or last (-1) saved probe."""
    if not row or not row.sample_steps:
        return None
    step = row.sample_steps[which]
    return step, row.samples(step)


def period_of(row: RunRow | None) -> int:
    return int((row.metrics or {}).get("checkerboard_period") or 8) if row else 8


def fmt(value: float, digits: int = 3) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}g}"


def mean_std(values: list[float]) -> tuple[float, float]:
    values = [v for v in values if not math.isnan(v)]
    return (statistics.mean(values), statistics.pstdev(values)) if values else (math.nan,) * 2


def rule(text: str) -> str:
    return f"**Rule:** {text}"
