"""A run's status as its metrics.json tells it, readable without torch (for CLI and summaries)."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LOCK = ".lock"


class Diverged(RuntimeError):
    """A non-finite loss or generator output; the run stops with status `diverged`."""

    def __init__(self, step: int, what: str) -> None:
        super().__init__(f"diverged at step {step}: {what} is not finite")
        self.step = step


class Interrupted(RuntimeError):
    """SIGINT or SIGTERM: the run finished its step, wrote a checkpoint and stopped."""

    def __init__(self, step: int, signum: int) -> None:
        name = signal.Signals(signum).name
        super().__init__(f"stopped by {name} after step {step}; checkpoint written")
        self.step = step


class FolderInUse(ValueError):
    """Another live process holds the run folder; nothing of its files may be touched."""


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold `run_dir/.lock` (an exclusive flock with our PID in it) while a run writes there.

    The kernel releases a flock when its process dies, so a lock file left by a killed run
    never blocks a resume; a live holder makes this raise FolderInUse at once.
    """
    path = Path(run_dir) / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise FolderInUse(
                f"run folder {run_dir} is in use by process {holder}; wait for it, stop it, or "
                "choose another folder (hydra.run.dir=...)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder, fsync, rename: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_metrics_file(run_dir: Path, metrics: dict[str, Any]) -> None:
    text = json.dumps(metrics, indent=2, allow_nan=True)
    atomic_write_bytes(Path(run_dir) / "metrics.json", text.encode())


def read_metrics_file(run_dir: Path) -> dict[str, Any] | None:
    """metrics.json of a run folder, or None when missing or unreadable (a killed run)."""
    try:
        return json.loads((Path(run_dir) / "metrics.json").read_text())
    except (OSError, ValueError):
        return None


def error_line(err: BaseException) -> str:
    first = (str(err).strip().splitlines() or [""])[0]
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


def record_failure(run_dir: Path, overrides: list[str], err: BaseException) -> str:
    """Make sure metrics.json says the run failed and why; keeps what the trainer recorded."""
    message = error_line(err)
    metrics = read_metrics_file(run_dir)
    if metrics is None or metrics.get("status") in (None, "running"):
        metrics = {"steps": None, "overrides": overrides, "probes": [], **(metrics or {})}
        metrics.update(status="failed", error=message)
        write_metrics_file(run_dir, metrics)
    return message
