"""A run folder belongs to the run admitted into it: a command writes nothing there before its
run has passed every check (config, data, resume, lock), so a refused command leaves the folder
byte for byte as it was, and a folder it made is removed again. Free of torch (Hydra loads the
log handler before the run's code).

What waits for admission: Hydra's job log (`cli.log`, held in memory by `HeldFileHandler`) and
the job's record `.hydra/config.yaml`, `hydra.yaml`, `overrides.yaml` (written here instead of
by Hydra: `hydra.output_subdir` is null in configs/config.yaml).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from checkerboard_gan.rundir.folder import atomic_write_bytes

RECORD = ".hydra"

refused_jobs: list[Path] = []  # this process's sweep jobs refused in a folder from before


class HeldFileHandler(logging.FileHandler):
    """Hydra's job log file (`hydra.job_logging.handlers.file`) that keeps its records in memory
    until the run is admitted (`release_log`); a refused run's records are dropped with it
    (they were shown on the console)."""

    def __init__(
        self,
        filename: str,
        mode: str = "a",
        encoding: str | None = None,
        delay: bool = True,
        errors: str | None = None,
    ) -> None:
        super().__init__(filename, mode, encoding, delay=True, errors=errors)
        self.held: list[logging.LogRecord] | None = []

    def emit(self, record: logging.LogRecord) -> None:
        if self.held is not None:
            self.held.append(record)
        else:
            super().emit(record)

    def write_held(self) -> None:
        """Write the held records to the file, and every later one as it comes."""
        held, self.held = self.held or [], None
        for record in held:
            super().emit(record)


def release_log() -> None:
    """Let the job's held log file be written (the run is admitted)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, HeldFileHandler):
            handler.write_held()


def write_job_record(
    run_dir: Path, config: DictConfig, hydra_cfg: DictConfig, overrides: list[str]
) -> None:
    """Write `run_dir/.hydra/`: the job's config (paths made absolute), Hydra's config and the
    command-line overrides, as Hydra would (the sweep summary reads `overrides.yaml`).

    Raises:
        WriteFailed: a file could not be written (names it).
    """
    folder = Path(run_dir) / RECORD
    files: dict[str, Any] = {
        "config.yaml": config,
        "hydra.yaml": OmegaConf.create({"hydra": hydra_cfg}),
        "overrides.yaml": OmegaConf.create(list(overrides)),
    }
    for name, node in files.items():
        atomic_write_bytes(folder / name, OmegaConf.to_yaml(node).encode())


def first_missing(folder: Path) -> Path | None:
    """The outermost folder on the way to `folder` that does not exist yet (the one a command
    would make, and on refusal remove); None if `folder` exists."""
    folder = Path(folder).absolute()
    if folder.exists():
        return None
    while not folder.parent.exists():
        folder = folder.parent
    return folder


def remove_made(made: Path | None) -> None:
    """Remove the folder a refused command made (`first_missing` before it began)."""
    if made is not None:
        shutil.rmtree(made, ignore_errors=True)
