"""One run's lifecycle around the training loop: the folder (lock, leftovers, writability), the
resume policy, the status and timing in metrics.json, and what the run says when it ends."""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from checkerboard_gan.analysis.catalogue import CHECKERBOARD, GRAD_CHECKERBOARD, Periods
from checkerboard_gan.analysis.evaluation import headline
from checkerboard_gan.analysis.inception import fid_enabled
from checkerboard_gan.config import (
    Config,
    ConfigError,
    flat_config,
    path_keys,
    same_path,
    with_defaults,
)
from checkerboard_gan.data.sources import settle_channels
from checkerboard_gan.devices import busy_cores_line, cuda_default, resolve_device, run_threads
from checkerboard_gan.rundir.checkpoint import CheckpointError, find_checkpoint, load_latest
from checkerboard_gan.rundir.folder import check_writable, ensure_free, run_lock, write_failure
from checkerboard_gan.rundir.provenance import environment
from checkerboard_gan.rundir.record import (
    AlreadyComplete,
    Diverged,
    Interrupted,
    RunRecord,
    read_record,
)
from checkerboard_gan.rundir.tensorboard import event_file
from checkerboard_gan.training.logger import RunLogger
from checkerboard_gan.training.memory import check_memory
from checkerboard_gan.training.trainer import Setup, build, training_loop

log = logging.getLogger(__name__)


@contextmanager
def stop_requests() -> Iterator[list[int]]:
    """Turn SIGINT and SIGTERM into a flag that the loop reads after each step."""
    received: list[int] = []
    previous = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda signum, frame: received.append(signum))
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# Keys a resumed run may change: how long and how it logs, not what it trains.
RESUMABLE_CHANGES = (
    "train.steps",
    "train.resume",
    "train.checkpoint_every",
    "train.amp",
    "train.channels_last",
    "train.compile",
    "log.",
    "eval.",
    "device",
    "threads",
)


def _check_same_config(saved: dict[str, Any], cfg: Config, path: Path) -> None:
    old, new = flat_config(with_defaults(saved, cfg)), flat_config(cfg)
    paths = path_keys(cfg)
    differ = [
        k
        for k in sorted(set(old) | set(new))
        if not k.startswith(RESUMABLE_CHANGES)
        and old.get(k) != new.get(k)
        and not (k in paths and same_path(old.get(k), new.get(k)))
    ]
    if differ:
        shown = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in differ[:5])
        raise CheckpointError(
            f"checkpoint {path} was made with a different config ({shown}); resume with the "
            "same config, or start a new run folder"
        )


def _check_writable(run_dir: Path) -> None:
    try:
        check_writable(run_dir)
    except OSError as err:
        raise ConfigError(f"cannot write to the run folder {run_dir}: {err.strerror}") from err


def _resume_source(cfg: Config, run_dir: Path) -> Path | None:
    """The checkpoint to continue from: train.resume, else this run folder's own."""
    if cfg.train.resume is None:
        return find_checkpoint(run_dir) if (run_dir / "checkpoints").is_dir() else None
    path = find_checkpoint(Path(cfg.train.resume))
    if path is None:
        raise ConfigError(f"train.resume={cfg.train.resume} holds no checkpoint (last.pt)")
    return path


def train(
    cfg: Config,
    run_dir: Path,
    overrides: list[str] | None = None,
    swept: list[str] | None = None,
    admit: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Train one GAN as configured, writing everything into `run_dir`; returns metrics.json.

    Continues from a checkpoint when `run_dir` holds one or `train.resume` names one. Whatever
    can refuse the run (custom code, memory, FID's weights, the checkpoint to resume, the data
    and models, a folder in use) is settled before a byte is written; then, holding the folder,
    `admit` is called (the CLI writes the job's .hydra/ record and log file there). A failure
    after that (divergence, an exception, a signal) is recorded in metrics.json with its status
    and first error line before it propagates, so a sweep summary can say what happened.

    Raises:
        AlreadyComplete: `run_dir`'s own run completed at train.steps (nothing is touched).
        ConfigError, CheckpointError, SchemaError, FolderInUse: refused (nothing is written).
    """
    start = time.perf_counter()
    run_dir = Path(run_dir)
    cfg = replace(cfg, dataset=settle_channels(cfg.dataset))  # a folder's channels, from its images
    torch.set_num_threads(run_threads(cfg.threads))
    busy = None if cfg.threads else busy_cores_line(torch.get_num_threads())
    if busy:
        log.warning("%s", busy)
    device = resolve_device(cfg.device)
    check_memory(cfg, device)
    fid_enabled(cfg.eval)  # eval.fid=true without weights stops here
    ensure_free(run_dir)
    given = resume_point(cfg, run_dir)
    setup = build(cfg, device)
    if given[0] is not None:
        setup.load(given[0])
    _check_writable(run_dir)
    with run_lock(run_dir):
        if admit is not None:
            admit()
        (run_dir / "samples").mkdir(exist_ok=True)
        _remove_leftovers(run_dir)
        return _train(cfg, run_dir, overrides, swept, given, setup, device, start)


def _remove_leftovers(run_dir: Path) -> None:
    """Temporary files of writes a killed process never finished (we hold the folder now):
    `.NAME.XXXX.tmp`, and checkpoints' `.next.PID.pt` (`.next.pt` from before the PID)."""
    for folder in (run_dir, run_dir / "checkpoints"):
        for path in [*folder.glob(".*.tmp"), *folder.glob(".next*.pt")]:
            path.unlink(missing_ok=True)
            log.info("removed %s, left by an unfinished write", path)


def _config_keys(overrides: list[str]) -> list[str]:
    """Dotted config keys of overrides (`upsample=deconv` sets `upsample.name`)."""
    keys = [o.split("=", 1)[0].lstrip("+~") for o in overrides]
    return [k if "." in k else f"{k}.name" for k in keys]


Resume = tuple[dict[str, Any] | None, Path | None, dict[str, Any] | None]


def resume_point(cfg: Config, run_dir: Path) -> Resume:
    """The checkpoint state to continue from, its file and the record (metrics.json) of the
    run it continues; (None, None, None) for a fresh run.

    Raises:
        AlreadyComplete: the folder's own run completed at `train.steps`.
        ConfigError: train.resume names no checkpoint, or its step is past `train.steps`.
        CheckpointError: the checkpoint is pickled, corrupt (without a previous.pt), or made
            with another config.
        SchemaError: the checkpoint or that metrics.json holds something else (a sample
            file given as train.resume, a list as metrics.json, ...).
    """
    source = _resume_source(cfg, run_dir)
    state, source = load_latest(source) if source else (None, None)
    if state is None or source is None:
        return None, None, None
    _check_same_config(state["config"], cfg, source)
    earlier = read_record(source.parent.parent)
    if state["step"] == cfg.train.steps:
        _nothing_to_train(source, run_dir, state["step"], earlier)
    if state["step"] > cfg.train.steps:
        raise ConfigError(
            f"train.steps={cfg.train.steps} is below step {state['step']}, where the "
            f"checkpoint {source} already is: give train.steps >= {state['step']}, or "
            "start a new run folder"
        )
    log.info("resuming from %s at step %d", source, state["step"])
    return state, source, earlier


def _nothing_to_train(
    source: Path, run_dir: Path, step: int, earlier: dict[str, Any] | None
) -> None:
    """A checkpoint already at train.steps: its own finished folder has nothing to do; another
    folder would get a run that trains no step (and writes no checkpoint), so it is refused."""
    if source.parent.parent.resolve() != run_dir.resolve():
        raise ConfigError(
            f"train.resume: the checkpoint {source} is already at step {step} = train.steps, so "
            f"there is nothing to train: give train.steps > {step} to continue it, or measure "
            f"it with python -m checkerboard_gan.evaluate {source.parent.parent}"
        )
    if (earlier or {}).get("status") == "completed":
        raise AlreadyComplete(run_dir, step)


def _train(
    cfg: Config,
    run_dir: Path,
    overrides: list[str] | None,
    swept: list[str] | None,
    given: Resume,
    setup: Setup,
    device: torch.device,
    start: float,
) -> dict[str, Any]:
    state, source, earlier = given
    earlier_dir = None if source is None else source.parent.parent
    header = {
        "steps": cfg.train.steps,
        "overrides": list(overrides or []),
        "torch_threads": torch.get_num_threads(),
        "environment": environment(device),
    }
    resume_step = None if state is None else state["step"]
    record = RunRecord.start(run_dir, header, earlier, resume_step)
    wall_before = float(record.get("wall_s", 0.0))
    background = cuda_default(cfg.log.background, device)
    logger = RunLogger(run_dir, record, resume_step, earlier_dir, background)
    try:
        varied = _config_keys(swept or [])
        first = varied or _config_keys(overrides or [])
        logger.declare(cfg, setup.periods, first, set(varied), fresh=state is None)
        log.info("run folder %s, device %s, %d steps", run_dir, device, cfg.train.steps)
        with stop_requests() as stops:
            training_loop(cfg, setup, logger, run_dir / "checkpoints", state, stops)
        record.finish(wall_s=wall_before + time.perf_counter() - start)
        logger.close()
    except BaseException as err:
        _record_failure(err, record, logger, wall_before + time.perf_counter() - start)
    log.info(final_block(record.data, run_dir))
    return record.data


def _record_failure(
    err: BaseException, record: RunRecord, logger: RunLogger, wall_s: float
) -> None:
    """Write the failed run's status and first error line where the disk still takes it, close
    the logger, and raise: the error, or a one-line WriteFailed for a file that could not be
    written."""
    failure = write_failure(err, event_file(record.path.parent))
    status = {Diverged: "diverged", Interrupted: "interrupted"}.get(type(err), "failed")
    extra = {"failed_step": err.step} if isinstance(err, Diverged | Interrupted) else {}
    with suppress(OSError):
        record.fail(status, failure or err, wall_s, **extra)
    with suppress(OSError):
        logger.close()
    if failure is not None and failure is not err:
        raise failure from None
    raise err


def _done_line(m: dict[str, Any]) -> str:
    """Steps, time and rate. After a resume the wall time is of every part, the rate of the
    last part only (its own steps over its own loop time), and the line says so."""
    rate = m.get("throughput_img_s", 0)
    share = 100 * m.get("probe_s", 0) / max(m["wall_s"], 1e-9)
    resumed = m.get("resumed_at") or []
    if not resumed:
        return (
            f"done: {m['steps']} steps in {m['wall_s']:.0f} s, {rate:.0f} img/s (probes and "
            f"evaluations {share:.0f}%)"
        )
    return (
        f"done: {m['steps']} steps, {m['wall_s']:.0f} s over {len(resumed) + 1} parts; the last "
        f"part, steps {resumed[-1]} to {m['steps']}, trained at {rate:.0f} img/s"
    )


def final_block(m: dict[str, Any], run_dir: Path) -> str:
    """What a finished run says last: time and rate, its folder, the headline measures at init
    and at the end, and how to look."""
    probes, evals = m.get("probes") or [], m.get("evaluations") or []
    lines = [_done_line(m), f"  run folder: {run_dir}"]
    periods = Periods.from_record(m)
    if m.get("collapsed"):
        lines.append(
            f"  artifact measures not meaningful (collapsed): at step {m['collapsed_at']} the "
            f"generator had {m['collapse_reason']}, and still has at the last probe; its CB, "
            "content and FP say nothing about upsampling"
        )
        probes = evals = []  # its numbers stay in metrics.json, not in this summary
    elif m.get("collapsed_at") is not None:
        lines.append(
            f"  note: at step {m['collapsed_at']} the generator had {m['collapse_reason']}; it "
            "recovered by the last probe"
        )
    if probes and periods:
        first, last = probes[0], probes[-1]
        cb, grad = CHECKERBOARD.key(), GRAD_CHECKERBOARD.key()
        lines.append(
            f"  CB_{periods.total} at init {first[cb]:.3g} -> step {last['step']} "
            f"{last[cb]:.3g}; grad CB {first[grad]:.3g} -> {last[grad]:.3g}"
        )
    if evals and periods:
        init, now = (headline(e, periods.finest) for e in (evals[0], evals[-1]))
        lines.append(f"  evaluation at init: {init}; step {evals[-1]['step']}: {now}")
    lines.append(f"  look: tensorboard --logdir {run_dir} --samples_per_plugin images=1000")
    return "\n".join(lines)
