"""Command line: `python -m checkerboard_gan [overrides]`, a Hydra app over the typed config."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from checkerboard_gan.config import (
    ConfigError,
    config_dir,
    register_configs,
    sweep_overrides,
    validate,
)
from checkerboard_gan.rundir.folder import WRITE_ERRNOS, FolderInUse, WriteFailed, check_writable
from checkerboard_gan.rundir.record import Diverged, Interrupted, RunRecord, error_line
from checkerboard_gan.rundir.schema import SchemaError

log = logging.getLogger("checkerboard_gan")


register_configs()


_swept: set[str] = set()  # the keys the current multirun sweeps (set when it starts)


def run_name(overrides: list[str], num: int) -> str:
    """A sweep job's folder name: its swept overrides (`upsample=deconv,upsample.kernel=3`), so
    TensorBoard's legends and listings say what a run is. All its overrides where the swept keys
    are unknown (a launcher in other processes), less the experiment preset; the job number where
    there are none."""
    items = [str(o) for o in overrides if not str(o).startswith("+experiment=")]
    chosen = [o for o in items if o.split("=", 1)[0] in _swept] if _swept else items
    name = ",".join(chosen).replace("/", "_") or str(num)
    return name if len(name) <= 240 else f"{name[:230]}..{num}"


def swept_keys(config: DictConfig) -> set[str]:
    """Keys a multirun sweeps: its sweeper's params and command-line overrides with several
    values."""
    return {o.get_key_element() for o in sweep_overrides(config.hydra) if o.is_sweep_override()}


OmegaConf.register_new_resolver("run_name", run_name, replace=True)


def quiet_write_errors() -> None:
    """A disk that refuses writes must end in one message, not a traceback per log line or
    thread: the log file handler drops what it cannot write, and the TensorBoard writer's
    thread dies quietly (the main thread reports its error, naming the file)."""
    logging.raiseExceptions = False
    default = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if not (isinstance(args.exc_value, OSError) and args.exc_value.errno in WRITE_ERRNOS):
            default(args)

    threading.excepthook = hook


def _writable_folder(folder: Path, key: str) -> None:
    """Exit 2 with one message unless `folder` can be made and written (before Hydra opens its
    log file there, which would fail with a traceback)."""
    try:
        check_writable(folder)
    except OSError as err:
        print(
            f"checkerboard_gan: error: cannot write to the run folder {folder}: "
            f"{(err.strerror or str(err)).lower()}; choose another with {key}=...",
            file=sys.stderr,
        )
        sys.exit(2)


HYDRA_ONLY = {".hydra", "cli.log", "metrics.json", ".lock"}  # what a run refused at once leaves


def remove_if_untouched(run_dir: Path) -> None:
    """Remove a run folder that holds only what Hydra and the refusal wrote (a typo must not
    leave a folder behind), and its date folder if that is left empty."""
    if not run_dir.is_dir() or not set(os.listdir(run_dir)) <= HYDRA_ONLY:
        return
    shutil.rmtree(run_dir, ignore_errors=True)
    with contextlib.suppress(OSError):
        run_dir.parent.rmdir()  # only if empty


class RunFolders(Callback):
    """Refuse a run or sweep folder that cannot be written, before any work or log file; note
    what a multirun sweeps, for its jobs' folder names."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _writable_folder(Path(str(config.hydra.run.dir)), "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _writable_folder(Path(str(config.hydra.sweep.dir)), "hydra.sweep.dir")
        _swept.clear()
        _swept.update(swept_keys(config))


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")
def _app(cfg: DictConfig) -> None:
    _jobs_started.append(True)
    hydra_cfg = HydraConfig.get()
    quiet_write_errors()
    run_dir, overrides = Path(hydra_cfg.runtime.output_dir), list(hydra_cfg.overrides.task)
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    try:
        typed = validate(cfg)
        from checkerboard_gan.training.run import (
            train,  # torch is imported only once the config is known good
        )

        swept = [o.split("=", 1)[0] for o in overrides if o.split("=", 1)[0] in _swept]
        train(typed, run_dir, overrides, swept)
    except Interrupted as err:
        print(
            f"checkerboard_gan: {err}; to continue: python -m checkerboard_gan "
            f"{' '.join(overrides)} hydra.run.dir={run_dir}",
            file=sys.stderr,
        )
        sys.exit(130)
    except Diverged as err:  # a result, not a crash: its status and last good checkpoint are kept
        last = run_dir / "checkpoints" / "last.pt"
        kept = f"the last good checkpoint is {last}" if last.is_file() else "no checkpoint yet"
        message = (
            f"checkerboard_gan: {err}; status 'diverged' in {run_dir / 'metrics.json'}, {kept} "
            "(try lower train.lr_g / train.lr_d)"
        )
        _end(multirun, f"run {run_dir} {err}", message, 1)
    except FolderInUse as err:  # the folder belongs to a live run: touch none of its files
        _end(multirun, f"run {run_dir} not started: {err}", f"checkerboard_gan: error: {err}", 2)
    except WriteFailed as err:  # one line: which file, why; what could be kept was kept
        with contextlib.suppress(OSError):
            _mark_failed(run_dir, overrides, err)
        message = (
            f"checkerboard_gan: error: {err}; the run stopped (metrics.json says failed where it "
            "could still be written) and its checkpoints are kept"
        )
        _end(multirun, f"run {run_dir} failed: {err}", message, 2)
    except Exception as err:
        message = _mark_failed(run_dir, overrides, err)
        full = not isinstance(err, ConfigError) or os.environ.get("HYDRA_FULL_ERROR") == "1"
        if not multirun:
            if full:
                raise
            remove_if_untouched(run_dir)
        _end(multirun, f"run {run_dir} failed: {message}", f"checkerboard_gan: error: {err}", 2)


def _mark_failed(run_dir: Path, overrides: list[str], err: BaseException) -> str:
    """Record the job as failed by `err` in its metrics.json (unless its run recorded how it
    ended); returns the error line. A metrics.json that is unreadable or not a run record is
    left as it is (the error may be about that very file)."""
    try:
        return RunRecord.open(run_dir).fail_unless_ended(overrides, err)
    except SchemaError:
        return error_line(err)


def _end(multirun: bool, sweep_line: str, message: str, code: int) -> None:
    """End a failed job: inside a multirun one log line (the other runs go on, and the sweep
    summary reports this one), else `message` on stderr and exit `code`."""
    if multirun:
        log.error(sweep_line)
        return
    print(message, file=sys.stderr)
    sys.exit(code)


_jobs_started: list[bool] = []  # set once Hydra has composed a config and started a job


def main() -> None:
    """Run the Hydra app; a config Hydra cannot compose (unknown option or key) exits 2, like
    every other bad input, where Hydra itself would exit 1."""
    try:
        _app()
    except SystemExit as stop:
        if stop.code == 1 and not _jobs_started:
            sys.exit(2)
        raise
