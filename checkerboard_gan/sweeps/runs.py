"""Reading run folders: a sweep's job folders with their overrides, metrics.json and the tensors
each probe saved. The sweep summary and the report read results through this module only.

A run folder carries what its measures need: `metrics.json` (the scores, and the periods they
were read at), `samples/step_XXXXXXX.pt` (the probe's fixed-noise samples) and
`gradients/step_XXXXXXX.pt` (D's input gradient on the probe's fixed real images).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

from checkerboard_gan.analysis.catalogue import Periods
from checkerboard_gan.config import sweep_jobs as config_sweep_jobs
from checkerboard_gan.rundir.folder import holder_alive
from checkerboard_gan.rundir.record import read_record
from checkerboard_gan.rundir.schema import SchemaError, load_images

log = logging.getLogger(__name__)


def _steps(folder: Path) -> list[int]:
    return sorted(int(p.stem[5:]) for p in folder.glob("step_*.pt") if p.stem[5:].isdigit())


@dataclass
class RunRow:
    """One run folder of a sweep (or a job that never started): what it was asked and wrote."""

    path: Path
    overrides: list[str]
    metrics: dict[str, Any] | None
    values: dict[str, str] = field(default_factory=dict)  # swept key -> value
    unreadable: str | None = None  # why metrics.json could not be used, where it could not

    @property
    def status(self) -> str:
        """metrics.json's status; `killed` for a run that says running but whose process is
        gone, `missing` for one that never wrote metrics.json (or never started), `unreadable`
        for one whose metrics.json is not a run record."""
        if self.unreadable:
            return "unreadable"
        status = (self.metrics or {}).get("status", "missing")
        if status == "running" and holder_alive(self.path) is False:
            return "killed"
        return status

    @property
    def error(self) -> str:
        """Why the run did not complete: metrics.json's `error`, or why that file is unreadable."""
        return self.unreadable or (self.metrics or {}).get("error", "")

    @property
    def seed(self) -> str:
        """The run's `seed=` override ("0", the config's default, when not given)."""
        return dict(o.split("=", 1) for o in self.overrides if "=" in o).get("seed", "0")

    @property
    def periods(self) -> Periods | None:
        """The periods the run's measures were read at (metrics.json `periods`, or a schema-1
        record's equivalents); None where the run recorded none."""
        return Periods.from_record(self.metrics or {})

    @property
    def period(self) -> int | None:
        """The generator's total period P its image measures were read at; None where the run
        recorded none."""
        return self.periods.total if self.periods else _v1(self.metrics, "checkerboard_period")

    @property
    def grad_period(self) -> int | None:
        """D's total period its input-gradient measures were read at."""
        return self.periods.grad_total if self.periods else _v1(self.metrics, "grad_period")

    @property
    def sample_steps(self) -> list[int]:
        """The probe steps whose samples are saved, in order."""
        return _steps(self.path / "samples")

    @property
    def gradient_steps(self) -> list[int]:
        """The probe steps whose D input gradient is saved, in order."""
        return _steps(self.path / "gradients")

    def samples(self, step: int) -> torch.Tensor:
        """The fixed-noise samples saved at a probe step: (N, C, H, W) in [-1, 1].

        Raises:
            SchemaError: the file is unreadable or holds something else.
        """
        return load_images(self.path / "samples" / f"step_{step:07d}.pt")

    def gradient(self, step: int) -> torch.Tensor | None:
        """dD(x)/dx on the fixed real images at a probe step, (N, C, H, W), as
        `Probe.input_gradient` computed it; None where the run saved none.

        Raises:
            SchemaError: the file is unreadable or holds something else.
        """
        path = self.path / "gradients" / f"step_{step:07d}.pt"
        return load_images(path, "an input gradient") if path.is_file() else None


def _v1(metrics: dict[str, Any] | None, key: str) -> int | None:
    """A schema-1 record's period key, for a run that got no evaluation."""
    return (metrics or {}).get(key)


def find_runs(sweep_dir: Path) -> list[RunRow]:
    """Every job folder (one holding .hydra/overrides.yaml) directly under `sweep_dir` (an
    `unreadable` row where its metrics.json is not a run record), and a `missing` row for every
    job of the sweep that never started (a killed sweep)."""
    rows = []
    for marker in sorted(Path(sweep_dir).glob("*/.hydra/overrides.yaml")):
        run_dir = marker.parent.parent
        overrides = [str(o) for o in OmegaConf.load(marker)]
        try:
            rows.append(RunRow(run_dir, overrides, read_record(run_dir)))
        except SchemaError as err:  # one run's bad file must not hide the others
            rows.append(RunRow(run_dir, overrides, None, unreadable=str(err)))
    never = never_started(sweep_jobs(Path(sweep_dir)), [r.overrides for r in rows])
    rows += [RunRow(Path(sweep_dir) / f"not-started-{i}", job, None) for i, job in enumerate(never)]
    return rows


def never_started(jobs: list[list[str]], folders: list[list[str]]) -> list[list[str]]:
    """The jobs no folder's overrides stand for. A job is matched on the values of the keys its
    sweep varies only: the same sweep again with another fixed value (`train.lr_g=...`, whose
    jobs are refused in the earlier folders) must not turn those folders' jobs into missing
    ones."""
    parsed = [dict(o.split("=", 1) for o in job if "=" in o) for job in jobs]
    varied = {k for p in parsed for k in p if len({q.get(k) for q in parsed}) > 1}
    held = [set(f) for f in folders]
    return [
        job
        for job in jobs
        if not any({o for o in job if o.split("=", 1)[0] in varied} <= h for h in held)
    ]


def sweep_jobs(sweep_dir: Path) -> list[list[str]]:
    """Each job's overrides as Hydra's basic sweeper expands the sweep in multirun.yaml; none
    for another sweeper, without the file, or where it cannot be read or expanded again (a
    warning names the file)."""
    path = sweep_dir / "multirun.yaml"
    if not path.is_file():
        return []
    try:
        hydra_cfg = OmegaConf.load(path).hydra
    except Exception as err:  # only the missing-job rows depend on it
        first = (str(err).splitlines() or [""])[0]
        log.warning("cannot read %s (%s); jobs that never started are not listed", path, first)
        return []
    return config_sweep_jobs(hydra_cfg) or []


def expand_sweep(overrides: list[Any]) -> list[list[str]]:
    """Each job's overrides as Hydra's basic sweeper expands `overrides` (parsed Override
    objects, or `key=a,b` strings, without `glob()`), e.g. ["k=1,2"] -> [["k=1"], ["k=2"]]."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    if overrides and isinstance(overrides[0], str):
        overrides = OverridesParser.create().parse_overrides(overrides)
    batches = BasicSweeper.split_arguments(overrides, None)
    return [job for batch in batches for job in batch]


def _sort_key(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, math.nan, value)


def sort_by_swept_keys(rows: list[RunRow]) -> list[str]:
    """Find the keys whose values differ between runs, fill `values`, sort rows by them."""
    parsed = [dict(o.split("=", 1) for o in r.overrides if "=" in o) for r in rows]
    keys = list(dict.fromkeys(k for p in parsed for k in p))  # in the order they were given
    swept = [k for k in keys if len({p.get(k, "") for p in parsed}) > 1]
    for row, p in zip(rows, parsed, strict=True):
        row.values = {k: p.get(k, "") for k in swept}
    rows.sort(key=lambda r: [_sort_key(r.values[k]) for k in swept] + [_sort_key(r.path.name)])
    return swept


def read_sweep(sweep_dir: Path) -> list[RunRow]:
    """`find_runs`, sorted by the swept keys with their values filled in."""
    rows = find_runs(sweep_dir)
    sort_by_swept_keys(rows)
    return rows
