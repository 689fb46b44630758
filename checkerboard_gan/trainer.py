"""The training loop: DCGAN-style alternating D and G updates, probes from step 0 on."""

from __future__ import annotations

import logging
import math
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from tqdm import tqdm

from . import measures
from .checkpoint import (
    CheckpointError,
    find_checkpoint,
    load_latest,
    rng_states,
    save_checkpoint,
    set_rng_states,
)
from .config import Config, ConfigError, flat_config
from .data import InMemoryBatches, StreamingBatches, build_batches
from .evaluation import Evaluator, headline
from .logger import RunLogger, hparam_measures
from .losses import build_loss
from .memory import check_memory
from .models import Discriminator, Generator
from .probes import NUM_REAL, Probe
from .run_status import (
    Diverged,
    Interrupted,
    error_line,
    read_metrics_file,
    run_lock,
    write_failure,
)

log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    """`auto` picks cuda, then mps, then cpu; a device this machine lacks is a ConfigError."""
    if name != "auto":
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(
                f"device={name}: this machine has no CUDA GPU; use device=cpu or auto"
            )
        if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
            count = torch.cuda.device_count()
            raise ConfigError(
                f"device={name}: this machine has {count} GPU(s), cuda:0..{count - 1}"
            )
        mps = getattr(torch.backends, "mps", None)
        if device.type == "mps" and not (mps and mps.is_available()):
            raise ConfigError(f"device={name}: MPS is not available here; use device=cpu or auto")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _is_probe_step(step: int, cfg: Config) -> bool:
    return step == 0 or step % cfg.log.every == 0 or step == cfg.train.steps


PROGRESS_EVERY_S = 30.0  # a progress line this often when no progress bar shows


def _progress(step: int, first: int, total: int, batch: int, elapsed: float) -> str:
    """`step N/T (P%), R img/s, about M min S s left`."""
    done = step - first
    left = (total - step) * elapsed / done if done else math.nan
    rate = done * batch / elapsed if elapsed > 0 else math.nan
    return (
        f"step {step}/{total} ({100 * step / total:.0f}%), {rate:.0f} img/s, about "
        f"{int(left // 60)} min {int(left % 60)} s left"
    )


def cuda_default(option: bool | None, device: torch.device) -> bool:
    """An option whose null means: on for CUDA, off elsewhere (`log.background`)."""
    return device.type == "cuda" if option is None else option


def _is_eval_step(step: int, cfg: Config) -> bool:
    every = cfg.eval.every
    return step in (0, cfg.train.steps) or bool(every and step % every == 0)


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


@dataclass
class Setup:
    """Everything a run trains and draws from, built deterministically from the config."""

    generator: Generator
    discriminator: Discriminator
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    loss: Any
    data: InMemoryBatches | StreamingBatches
    probe: Probe
    evaluator: Evaluator
    noise: torch.Generator

    def state(self, step: int, cfg: Config, losses: torch.Tensor) -> dict[str, Any]:
        """Checkpoint content: tensors and plain data only (loads with weights_only=True).

        The data order needs no state: batch i is a function of (seed, i).
        """
        return {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "step": step,
            "losses": losses.detach().cpu(),
            "noise": self.noise.get_state(),
            "rng": rng_states(),
            "config": OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True),
        }

    def load(self, state: dict[str, Any]) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.noise.set_state(state["noise"])
        set_rng_states(state["rng"])


G_STREAM, D_STREAM = 0, 4_000  # init seeds: seed + these, so G's init never depends on D's kind


def build(cfg: Config, device: torch.device) -> Setup:
    """Models, optimisers, data, probe and evaluator; G and D are initialised from their own
    seeds, so for one seed D at init is the same whatever G is, and G whatever D is."""
    t = cfg.train
    torch.manual_seed(cfg.seed + G_STREAM)
    generator = Generator(cfg).to(device)
    torch.manual_seed(cfg.seed + D_STREAM)
    discriminator = Discriminator(cfg).to(device)
    data = build_batches(cfg.dataset, t.batch_size, cfg.seed, device)
    return Setup(
        generator=generator,
        discriminator=discriminator,
        opt_g=torch.optim.Adam(generator.parameters(), lr=t.lr_g, betas=t.betas),
        opt_d=torch.optim.Adam(discriminator.parameters(), lr=t.lr_d, betas=t.betas),
        loss=build_loss(t.loss, t.label_smoothing),
        data=data,
        probe=Probe(cfg, data.fixed(NUM_REAL), generator.period, discriminator.period),
        evaluator=Evaluator.for_run(cfg, data, generator.period),
        noise=torch.Generator(device=device).manual_seed(cfg.seed + 2_000),
    )


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
    old, new = flat_config(saved), flat_config(cfg)
    differ = [
        k
        for k in sorted(set(old) | set(new))
        if not k.startswith(RESUMABLE_CHANGES) and old.get(k) != new.get(k)
    ]
    if differ:
        shown = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in differ[:5])
        raise CheckpointError(
            f"checkpoint {path} was made with a different config ({shown}); resume with the "
            "same config, or start a new run folder"
        )


def _check_writable(run_dir: Path) -> None:
    try:
        (run_dir / "samples").mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write_test"
        probe.write_bytes(b"")
        probe.unlink()
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
) -> dict[str, Any]:
    """Train one GAN as configured, writing everything into `run_dir`; returns metrics.json.

    Continues from a checkpoint when `run_dir` holds one or `train.resume` names one. A failure
    (divergence, an exception, a signal) is recorded in metrics.json with its status and first
    error line before it propagates, so a sweep summary can say what happened.
    """
    run_dir = Path(run_dir)
    _check_writable(run_dir)
    with run_lock(run_dir):
        _remove_leftovers(run_dir)
        return _train(cfg, run_dir, overrides, swept)


def _remove_leftovers(run_dir: Path) -> None:
    """Temporary files of writes a killed process never finished (we hold the folder now)."""
    for folder in (run_dir, run_dir / "checkpoints"):
        for path in [*folder.glob(".*.tmp"), *folder.glob(".next.*.pt")]:
            path.unlink(missing_ok=True)
            log.info("removed %s, left by an unfinished write", path)


def _config_keys(overrides: list[str]) -> list[str]:
    """Dotted config keys of overrides (`upsample=deconv` sets `upsample.name`)."""
    keys = [o.split("=", 1)[0].lstrip("+~") for o in overrides]
    return [k if "." in k else f"{k}.name" for k in keys]


def _train(
    cfg: Config, run_dir: Path, overrides: list[str] | None, swept: list[str] | None
) -> dict[str, Any]:
    start = time.perf_counter()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    check_memory(cfg, device)
    source = _resume_source(cfg, run_dir)
    state, source = load_latest(source) if source else (None, None)
    if state is not None:
        _check_same_config(state["config"], cfg, source)
        if state["step"] > cfg.train.steps:
            raise ConfigError(
                f"train.steps={cfg.train.steps} is below step {state['step']}, where the "
                f"checkpoint {source} already is: give train.steps >= {state['step']}, or "
                "start a new run folder"
            )
        earlier = read_metrics_file(source.parent.parent)
        log.info("resuming from %s at step %d", source, state["step"])
    summary = {
        "steps": cfg.train.steps,
        "overrides": list(overrides or []),
        "torch_threads": torch.get_num_threads(),
    }
    logger = RunLogger(
        run_dir,
        summary,
        None if state is None else state["step"],
        None if state is None else earlier,
        None if state is None else source.parent.parent,
        cuda_default(cfg.log.background, device),
    )
    base_wall = logger.metrics.get("wall_s", 0.0)
    try:
        setup = build(cfg, device)
        if state is None:
            varied = _config_keys(swept or [])
            logger.hparams(cfg, varied or _config_keys(overrides or []), set(varied))
        else:
            setup.load(state)
        logger.metrics.update(
            checkerboard_period=setup.generator.period, grad_period=setup.discriminator.period
        )
        log.info("run folder %s, device %s, %d steps", run_dir, device, cfg.train.steps)
        with stop_requests() as stops:
            _loop(cfg, setup, logger, run_dir, state, stops)
        logger.write_metrics(status="completed", wall_s=base_wall + time.perf_counter() - start)
        logger.close()
    except BaseException as err:
        failure = write_failure(err, logger.event_file)
        status = {Diverged: "diverged", Interrupted: "interrupted"}.get(type(err), "failed")
        extra = {"failed_step": err.step} if isinstance(err, Diverged | Interrupted) else {}
        with suppress(OSError):  # where the disk still takes it
            logger.write_metrics(
                status=status,
                error=error_line(failure or err),
                wall_s=base_wall + time.perf_counter() - start,
                **extra,
            )
        with suppress(OSError):
            logger.close()
        if failure is not None and failure is not err:
            raise failure from None
        raise
    m = logger.metrics
    log.info(final_block(m, run_dir))
    return m


def final_block(m: dict[str, Any], run_dir: Path) -> str:
    """What a finished run says last: time and rate, its folder, the headline measures at init
    and at the end, and how to look."""
    probes, evals = m.get("probes") or [], m.get("evaluations") or []
    lines = [
        f"done: {m['steps']} steps in {m['wall_s']:.0f} s, {m.get('throughput_img_s', 0):.0f} "
        f"img/s (probes and evaluations {100 * m.get('probe_s', 0) / max(m['wall_s'], 1e-9):.0f}%)",
        f"  run folder: {run_dir}",
    ]
    if probes:
        p = m.get("checkerboard_period", "P")
        first, last = probes[0], probes[-1]
        lines.append(
            f"  CB_{p} at init {first['checkerboard']:.3g} -> step {last['step']} "
            f"{last['checkerboard']:.3g}; grad CB {first['grad_checkerboard']:.3g} -> "
            f"{last['grad_checkerboard']:.3g}"
        )
    if evals:
        lines.append(
            f"  evaluation at init: {headline(evals[0]['fake'], evals[0]['real'])}; "
            f"step {evals[-1]['step']}: {headline(evals[-1]['fake'], evals[-1]['real'])}"
        )
    lines.append(f"  look: tensorboard --logdir {run_dir} --samples_per_plugin images=1000")
    return "\n".join(lines)


def make_step(cfg: Config, s: Setup, device: torch.device):
    """One DCGAN update of D then G on (real, z); returns the detached (loss_d, loss_g).

    `train.amp` (bf16 autocast), `train.channels_last` and `train.compile` shape how it runs.
    """
    t = cfg.train
    amp, channels_last = t.amp, t.channels_last
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    s.generator.to(memory_format=fmt)
    s.discriminator.to(memory_format=fmt)
    g_net = torch.compile(s.generator) if t.compile else s.generator
    d_net = torch.compile(s.discriminator) if t.compile else s.discriminator

    def step(real: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        real = real.contiguous(memory_format=fmt)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            # D step: real vs detached fake.
            fake = g_net(z)
            loss_d = s.loss.d(d_net(real).float(), d_net(fake.detach()).float())
        s.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        s.opt_d.step()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            # G step: the same fake through the updated D.
            loss_g = s.loss.g(d_net(fake).float())
        s.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        s.opt_g.step()
        return loss_d.detach(), loss_g.detach()

    return step


def _loop(
    cfg: Config,
    setup: Setup,
    logger: RunLogger,
    run_dir: Path,
    state: dict[str, Any] | None,
    stops: list[int],
) -> None:
    """Probe at init, then alternate D and G updates with probes every `log.every` steps."""
    t, s = cfg.train, setup
    g_net, d_net = s.generator, s.discriminator  # probes use the plain (uncompiled) modules
    first = 0 if state is None else state["step"]
    device = s.probe.z.device
    probe_s = logger.metrics.get("probe_s", 0.0)
    # (d, g) losses summed on device since the last read
    losses = torch.zeros(2, device=device) if state is None else state["losses"].to(device)

    def run_probe(step: int) -> None:
        nonlocal probe_s
        began = time.perf_counter()
        obs = s.probe.observe(step, g_net, d_net)
        if not torch.isfinite(obs.samples).all():
            raise Diverged(step, "the generator's output")
        if step == 0:  # random init, before any update: also overlap map and radial spectra
            overlap = measures.overlap_map(g_net.geometries(), g_net.period)
            logger.run_start(
                overlap, measures.unevenness(overlap), obs, s.probe.real_radial, s.probe.real
            )
        logger.observation(obs)
        sc = obs.scores
        losses_now = "" if step == 0 else f", loss_d {d:.4f} loss_g {g:.4f}"
        log.info(
            "step %d/%d%s: CB_%d %.3g, grad CB_%d %.3g%s",
            step,
            t.steps,
            " (random init)" if step == 0 else "",
            s.generator.period,
            sc["checkerboard"],
            s.discriminator.period,
            sc["grad_checkerboard"],
            losses_now,
        )
        if _is_eval_step(step, cfg):
            logger.maps(obs, s.generator.period)
            evaluation = s.evaluator.evaluate(step, g_net)
            logger.evaluation(evaluation)
            if step == 0:  # HParams shows each measure at init beside its last value
                now = {f"artifacts/{k}": v for k, v in obs.scores.items()}
                now |= {f"eval/fake/{k}": v for k, v in evaluation.fake.items()}
                logger.init_values(0, {k: now[k] for k in hparam_measures(cfg) if k in now})
            log.info(
                "step %d: evaluation over %d samples in %.1f s: %s",
                step,
                evaluation.n_fake,
                evaluation.seconds,
                headline(evaluation.fake, evaluation.real),
            )
        probe_s += time.perf_counter() - began

    def checkpoint(step: int) -> None:
        if not torch.isfinite(losses).all():  # never replace a good checkpoint by a bad one
            raise Diverged(step, "the loss")
        logger.flush_pictures()  # the folder holds every probe's files up to the checkpoint
        save_checkpoint(run_dir / "checkpoints", s.state(step, cfg, losses))

    d = g = math.nan  # the latest averaged losses
    if first == 0:
        run_probe(0)
    loop_start = last_line = time.perf_counter()
    bar = tqdm(total=t.steps, initial=first, disable=None, unit="step", dynamic_ncols=True)
    step_fn = make_step(cfg, s, device)
    for step in range(first + 1, t.steps + 1):
        real = s.data.batch(step - 1)
        z = torch.randn(t.batch_size, cfg.model.z_dim, device=device, generator=s.noise)
        loss_d, loss_g = step_fn(real, z)
        losses[0] += loss_d
        losses[1] += loss_g
        bar.update()
        if step % cfg.log.loss_every == 0 or step == t.steps:
            n = step % cfg.log.loss_every or cfg.log.loss_every
            d, g = (losses / n).tolist()  # the one host-device sync per interval
            losses.zero_()
            if not (math.isfinite(d) and math.isfinite(g)):
                raise Diverged(step, "the loss")
            logger.scalars(step, {"loss/d": d, "loss/g": g})
            logger.metrics.update(final_loss_d=d, final_loss_g=g)
            rate = (step - first) * t.batch_size / (time.perf_counter() - loop_start)
            bar.set_postfix(loss_d=f"{d:.3f}", loss_g=f"{g:.3f}", img_s=f"{rate:.0f}")
        if _is_probe_step(step, cfg) or _is_eval_step(step, cfg):
            run_probe(step)
        if bar.disable and time.perf_counter() - last_line >= PROGRESS_EVERY_S:
            last_line = time.perf_counter()  # no progress bar (not a terminal): a line instead
            log.info(_progress(step, first, t.steps, t.batch_size, last_line - loop_start))
        if stops:
            checkpoint(step)
            rate = (step - first) * t.batch_size / (time.perf_counter() - loop_start)
            logger.metrics.update(probe_s=probe_s, throughput_img_s=rate)
            raise Interrupted(step, stops[0])
        if t.checkpoint_every and step % t.checkpoint_every == 0 and step < t.steps:
            checkpoint(step)
    bar.close()
    loop_s = time.perf_counter() - loop_start
    if first < t.steps or state is None:
        checkpoint(t.steps)
    throughput = (t.steps - first) * t.batch_size / loop_s if t.steps > first else 0.0
    logger.metrics.update(throughput_img_s=throughput, probe_s=probe_s, loop_s=loop_s)
