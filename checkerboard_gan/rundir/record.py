"""metrics.json, the run's record: the only code that reads or writes that file.

Schema (version 2; docs/run_folder.md lists every key with its meaning):

- `schema_version` (2; a file without it is version 1, which had `checkerboard_period` and
  `grad_period` where version 2 has `periods`), `status` (running, completed, failed, diverged,
  interrupted), `error` and `failed_step` when it did not complete;
- what the run was asked: `steps`, `overrides`, `torch_threads`, `environment` (provenance);
- what it is: `periods` (`generator` and `discriminator`, each `finest` and `total`), and the
  catalogue's run measures (`overlap_unevenness`; null with `overlap_unavailable`, the reason,
  where custom code allows no overlap map);
- what it saw: `probes` (one entry per probe: `step` and the catalogue's probe keys) and
  `evaluations` (`step`, `n_fake`, `n_real`, `fake` and `real` blocks of the catalogue's
  evaluation keys, `intervals` (95% bootstrap `[low, high]` per side and key), `seconds`), both
  in step order;
- how it went: `final_loss_d`, `final_loss_g`, `throughput_img_s`, `loop_s`, `probe_s`,
  `wall_s`, `resumed_at` (the steps it was resumed from).

Every change is written at once, atomically (never half a file); on a full disk the file is
overwritten in place so that a failure can still be recorded.
"""

from __future__ import annotations

import errno
import json
import signal
from pathlib import Path
from typing import Any

from checkerboard_gan.analysis.catalogue import of_stage
from checkerboard_gan.rundir.folder import WriteFailed, atomic_write_bytes, named_failure
from checkerboard_gan.rundir.schema import SchemaError, check_record

SCHEMA_VERSION = 2
FILE = "metrics.json"
# What a resumed run keeps of the record it continues besides its probes and evaluations; the
# losses and rates stand until the resumed part trains (a run resumed at its last step keeps them).
CARRIED_ON_RESUME = (
    "periods",
    *(m.key() for m in of_stage("run")),
    "overlap_unavailable",
    "wall_s",
    "probe_s",
    "final_loss_d",
    "final_loss_g",
    "throughput_img_s",
    "loop_s",
)


class Diverged(RuntimeError):
    """A non-finite loss or generator output; the run stops with status `diverged`.

    The loop looks where it reads the device anyway (the loss sums every `log.loss_every`
    steps, the samples at each probe), so it knows the steps since its last look, not which of
    them: `since`, the first step not yet looked at, makes the message "between steps `since`
    and `step`" (`step`: where it was seen and the run stopped).
    """

    def __init__(self, step: int, what: str, since: int | None = None) -> None:
        since = step if since is None else min(since, step)
        when = f"at step {step}" if since == step else f"between steps {since} and {step}"
        super().__init__(f"diverged {when}: {what} is not finite")
        self.step, self.since = step, since


class Interrupted(RuntimeError):
    """SIGINT or SIGTERM: the run finished its step, wrote a checkpoint and stopped."""

    def __init__(self, step: int, signum: int) -> None:
        name = signal.Signals(signum).name
        super().__init__(f"stopped by {name} after step {step}; checkpoint written")
        self.step = step


class AlreadyComplete(Exception):
    """The run folder's run completed at step `step` = train.steps: there is nothing to do, and
    nothing in the folder is touched."""

    def __init__(self, run_dir: Path, step: int) -> None:
        super().__init__(
            f"run {run_dir} is already complete at step {step}; nothing to do (to train on, "
            f"give train.steps > {step}; to measure again: python -m checkerboard_gan.evaluate "
            f"{run_dir})"
        )
        self.step = step


def error_line(err: BaseException) -> str:
    """`Type: first line of the message`, as metrics.json's `error` and summaries show it."""
    first = (str(err).strip().splitlines() or [""])[0]
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


def read_record(run_dir: Path) -> dict[str, Any] | None:
    """A run folder's metrics.json as a plain dict (for readers), its structure checked; None
    when there is none (a run killed before its first write, a job that never started).

    Raises:
        SchemaError: the file cannot be read or parsed (a half-written file), or it holds
            something other than a run record (a list, a key of the wrong type).
    """
    path = Path(run_dir) / FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise SchemaError(f"{path} cannot be read as a run record ({error_line(err)})") from err
    return check_record(data, path)


def _write(path: Path, data: dict[str, Any]) -> None:
    encoded = json.dumps(data, indent=2, allow_nan=True).encode()
    try:
        atomic_write_bytes(path, encoded)
    except WriteFailed as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT) or not path.is_file():
            raise
        try:
            with open(path, "r+b") as f:
                f.write(encoded)
                f.truncate()
        except OSError as again:
            raise named_failure(again, path) from again


class RunRecord:
    """One run folder's metrics.json: start it, add probes and evaluations, note run facts,
    finish or fail it; or open an existing one (the evaluate command, a failed job)."""

    def __init__(self, run_dir: Path, data: dict[str, Any]) -> None:
        self.path = Path(run_dir) / FILE
        self._data = data

    @classmethod
    def start(
        cls,
        run_dir: Path,
        header: dict[str, Any],
        earlier: dict[str, Any] | None = None,
        resume_step: int | None = None,
    ) -> RunRecord:
        """A new record with status `running` and `header` (steps, overrides, ...); when
        resuming at `resume_step`, the `earlier` record's probes and evaluations up to that
        step and its run facts are kept. Written at the first change."""
        data = {
            "schema_version": SCHEMA_VERSION,
            "status": "running",
            **header,
            "probes": [],
            "evaluations": [],
        }
        if resume_step is not None:
            before = earlier or {}
            data.update(
                {k: v for k, v in before.items() if k in CARRIED_ON_RESUME},
                probes=[p for p in before.get("probes", []) if p["step"] <= resume_step],
                evaluations=[e for e in before.get("evaluations", []) if e["step"] <= resume_step],
                resumed_at=[*before.get("resumed_at", []), resume_step],
            )
        return cls(run_dir, data)

    @classmethod
    def open(cls, run_dir: Path) -> RunRecord:
        """The record of an existing run folder; an empty one with status `missing` where the
        folder has no metrics.json.

        Raises:
            SchemaError: as `read_record`: its metrics.json is unreadable or not a run record.
        """
        data = read_record(run_dir)
        if data is None:
            data = {"schema_version": SCHEMA_VERSION, "status": "missing", "probes": []}
        return cls(run_dir, data)

    @property
    def data(self) -> dict[str, Any]:
        """The record as written (a copy: change it through the methods)."""
        return json.loads(json.dumps(self._data))

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def save(self) -> None:
        _write(self.path, self._data)

    def add_probe(self, entry: dict[str, Any]) -> None:
        """Append one probe's entry (`step` and the catalogue's probe keys) and write."""
        self._data["probes"].append(entry)
        self.save()

    def add_evaluation(self, entry: dict[str, Any]) -> list[dict[str, Any]]:
        """Add one evaluation in step order, replacing one of the same step, and write;
        returns the evaluations."""
        kept = [e for e in self._data.get("evaluations", []) if e["step"] != entry["step"]]
        self._data["evaluations"] = sorted([*kept, entry], key=lambda e: e["step"])
        self.save()
        return self._data["evaluations"]

    def note(self, **fields: Any) -> None:
        """Run facts (periods, losses, rates, seconds): kept, written with the next change."""
        self._data.update(fields)

    def add_seconds(self, key: str, seconds: float) -> None:
        """Add to a running total of seconds (`probe_s`)."""
        self._data[key] = self._data.get(key, 0.0) + seconds

    def finish(self, wall_s: float) -> None:
        """Status `completed` with the run's wall time, written."""
        self._data.update(status="completed", wall_s=wall_s)
        self.save()

    def fail(self, status: str, err: BaseException, wall_s: float | None = None, **extra: Any):
        """Status `status` (failed, diverged, interrupted) with the error's first line, written."""
        self._data.update(status=status, error=error_line(err), **extra)
        if wall_s is not None:
            self._data["wall_s"] = wall_s
        self.save()

    def fail_unless_ended(self, overrides: list[str], err: BaseException) -> str:
        """Mark a job `failed` by `err` unless its own run already recorded how it ended (a job
        that failed before or after its run); returns the error line."""
        if self._data.get("status") in (None, "running", "missing"):
            self._data = {"steps": None, "overrides": overrides, **self._data}
            self.fail("failed", err)
        return error_line(err)
