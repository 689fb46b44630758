"""Command line: `python -m checkerboard_gan [overrides]`, a Hydra app over the typed config."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict

from checkerboard_gan.config import (
    ConfigError,
    absolute_paths,
    config_dir,
    config_loader,
    register_configs,
    sweep_jobs,
    sweep_overrides,
    validate,
)
from checkerboard_gan.rundir.admission import (
    first_missing,
    refused_jobs,
    release_log,
    remove_made,
    write_job_record,
)
from checkerboard_gan.rundir.folder import WRITE_ERRNOS, FolderInUse, WriteFailed, check_writable
from checkerboard_gan.rundir.record import (
    AlreadyComplete,
    Diverged,
    Interrupted,
    RunRecord,
    error_line,
)
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


def run_suffix(overrides: list[str]) -> str:
    """A single run's folder suffix: `_` and its overrides, group choices first
    (`_upsample=nearest,seed=1`; less the experiment preset, `/` as `_`, cut at 120
    characters), so that runs side by side in TensorBoard say what they are; empty for a run
    with no overrides. The folder name starts with the time, the folder above is the date."""
    items = [str(o) for o in overrides if not str(o).startswith("+experiment=")]
    groups = [o for o in items if o.split("=", 1)[0] in ("upsample", "disc", "dataset")]
    name = ",".join(groups + [o for o in items if o not in groups]).replace("/", "_")
    return "" if not name else f"_{name}" if len(name) <= 120 else f"_{name[:118]}.."


OmegaConf.register_new_resolver("run_name", run_name, replace=True)
OmegaConf.register_new_resolver("run_suffix", run_suffix, replace=True)


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


_made: list[Path | None] = [None]  # the folder a single run's command made (gone on refusal)


class RunFolders(Callback):
    """Before any work or log file: refuse a run or sweep folder that cannot be written, and a
    sweep whose jobs would share a folder; note what a multirun sweeps (its jobs' folder names)
    and which folder a single run makes."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        run_dir = Path(str(config.hydra.run.dir))
        _made[0] = first_missing(run_dir)
        _writable_folder(run_dir, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _swept.clear()
        _swept.update(swept_keys(config))
        loader = config_loader(OmegaConf.select(config, "hydra.runtime.config_sources") or [])
        jobs = sweep_jobs(config.hydra, loader) or []  # expanded once, for both checks
        _one_folder_per_job(config, jobs)
        _every_job_composes(config, jobs, loader)
        _writable_folder(Path(str(config.hydra.sweep.dir)), "hydra.sweep.dir")


def _one_folder_per_job(config: DictConfig, jobs: list[list[str]]) -> None:
    """Exit 2 before a sweep starts if two of its jobs would get one run folder: the same
    settings twice (`upsample.kernel=3,3`), or settings whose folder names coincide. Checked
    where jobs are named by `run_name` and the basic sweeper's jobs are known."""
    subdir = OmegaConf.to_container(config.hydra.sweep, resolve=False).get("subdir")
    if "run_name" not in str(subdir):
        return
    named: dict[str, int] = {}
    for num, job in enumerate(jobs):
        first = named.setdefault(run_name(job, num), num)
        if first == num:
            continue
        same = sorted(jobs[first]) == sorted(job)
        shown = [o for o in job if o.split("=", 1)[0] in _swept] or job
        what = (
            f"the same settings ({' '.join(shown)})"
            if same
            else f"settings that name one folder, {run_name(job, num)}"
        )
        print(
            f"checkerboard_gan: error: jobs {first} and {num} of this sweep have {what}; each "
            "job needs its own run folder: give each value once (to repeat a setting, sweep "
            "seed=0,1,...)",
            file=sys.stderr,
        )
        sys.exit(2)


def _every_job_composes(config: DictConfig, jobs: list[list[str]], loader: Any) -> None:
    """Exit 2 before a sweep starts (and before its folder exists) if one of its jobs names an
    option or key the configs do not have (`upsample=nearest,bogus`) or a value the schema
    refuses (`upsample.kernel=0,3`): found at launch, it would stop the sweep after the jobs
    before it ran, or leave a failed run folder per bad value."""
    for num, job in enumerate(jobs):
        try:
            composed = loader.load_sweep_config(config, list(job))
            with open_dict(composed):
                del composed["hydra"]  # its job fields are set only at launch
            absolute_paths(composed, Path.cwd())
            validate(composed)
        except Exception as err:
            shown = " ".join(o for o in job if o.split("=", 1)[0] in _swept)
            line = str(err) if isinstance(err, ConfigError) else compose_line(err)
            print(f"checkerboard_gan: error: job {num} of this sweep ({shown}): {line}",
                  file=sys.stderr)  # fmt: skip
            sys.exit(2)


def compose_line(err: Exception) -> str:
    """Hydra's multi-line compose error in one line: what it could not find or override, and
    the valid options (`Available options ...`) or the key's schema, never its `+key` hint
    (which the schema would refuse)."""
    text = f"{err}\n{err.__cause__ or ''}"
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    head = lines[0] if lines else type(err).__name__
    if "Available options" in text:
        start = next(i for i, x in enumerate(lines) if x.startswith("Available options"))
        names = [x for x in lines[start + 1 :] if "=" not in x and ":" not in x]
        return f"{head}; valid: {', '.join(names)}"
    schema = [x for x in lines if x.startswith("Key ") and " not in " in x]
    return (
        f"{head} {schema[0]} (python -m checkerboard_gan --cfg job lists the keys)"
        if schema
        else head
    )


class Job:
    """This command's Hydra job: its folder and config, and whether its run was admitted (the
    folder is written only from then on: rundir/admission.py)."""

    def __init__(self, cfg: DictConfig, hydra_cfg: DictConfig) -> None:
        self.cfg, self.hydra_cfg = cfg, hydra_cfg
        self.run_dir = Path(hydra_cfg.runtime.output_dir)
        self.overrides = [str(o) for o in hydra_cfg.overrides.task]
        self.multirun = hydra_cfg.mode == RunMode.MULTIRUN
        self.fresh = not any(self.run_dir.iterdir())  # a sweep job's folder Hydra just made
        self.admitted = False

    def admit(self) -> None:
        """The run passed its checks and holds the folder: write its .hydra/ record (with the
        config's paths absolute) and let its log file be written."""
        write_job_record(self.run_dir, self.cfg, self.hydra_cfg, self.overrides)
        release_log()
        self.admitted = True


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")
def _app(cfg: DictConfig) -> None:
    _jobs_started.append(True)
    quiet_write_errors()
    job = Job(cfg, HydraConfig.get())
    run_dir, overrides, multirun = job.run_dir, job.overrides, job.multirun
    try:
        absolute_paths(cfg, Path(job.hydra_cfg.runtime.cwd))
        typed = validate(cfg)
        from checkerboard_gan.training.run import (
            train,  # torch is imported only once the config is known good
        )

        swept = [o.split("=", 1)[0] for o in overrides if o.split("=", 1)[0] in _swept]
        train(typed, run_dir, overrides, swept, admit=job.admit)
    except AlreadyComplete as done:  # the folder's run is finished: touch nothing, not an error
        if multirun:
            log.info("%s", done)
        else:
            print(f"checkerboard_gan: {done}")
    except Interrupted as err:
        print(
            f"checkerboard_gan: {err}; to continue: python -m checkerboard_gan "
            f"{' '.join(overrides)} hydra.run.dir={run_dir}",
            file=sys.stderr,
        )
        sys.exit(130)
    except Diverged as err:  # a result, not a crash: its status and last good checkpoint are kept
        _end(multirun, f"run {run_dir} {err}", _diverged_line(run_dir, err), 1)
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
        if not job.admitted:
            _refused(job, err)
            return
        message = _mark_failed(run_dir, overrides, err)
        if not multirun and (not isinstance(err, ConfigError) or _full_errors()):
            raise
        _end(multirun, f"run {run_dir} failed: {message}", f"checkerboard_gan: error: {err}", 2)


def _diverged_line(run_dir: Path, err: Diverged) -> str:
    last = run_dir / "checkpoints" / "last.pt"
    kept = f"the last good checkpoint is {last}" if last.is_file() else "no checkpoint yet"
    return (
        f"checkerboard_gan: {err}; status 'diverged' in {run_dir / 'metrics.json'}, {kept} "
        "(try lower train.lr_g / train.lr_d)"
    )


def _full_errors() -> bool:
    return os.environ.get("HYDRA_FULL_ERROR") == "1"


def _refused(job: Job, err: Exception) -> None:
    """A run refused before it was admitted. Alone: the folder this command made is removed,
    one message on stderr, exit 2 (an unexpected error, or HYDRA_FULL_ERROR=1: the traceback).
    In a sweep: a job's new folder records the failure, so that the summary reports the job; a
    folder from before is left as it was and the sweep ends non-zero."""
    if not job.multirun:
        remove_made(_made[0])
        if not isinstance(err, ConfigError) or _full_errors():
            raise err
        print(f"checkerboard_gan: error: {err}", file=sys.stderr)
        sys.exit(2)
    if job.fresh:
        job.admit()
        log.error("run %s failed: %s", job.run_dir, _mark_failed(job.run_dir, job.overrides, err))
    else:
        refused_jobs.append(job.run_dir)
        log.error("run %s refused, its folder left as it was: %s", job.run_dir, error_line(err))


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
