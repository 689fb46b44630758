"""The training loop: DCGAN-style alternating D and G updates, probes from step 0 on.

`build` makes everything a run trains and draws from; `training_loop` runs the steps in order
(batch, D step, G step, losses, probe, checkpoint). The run around it (resume, status, timing)
is `run.train`.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from torch import nn
from tqdm import tqdm

from checkerboard_gan.analysis.catalogue import CHECKERBOARD, GRAD_CHECKERBOARD, Periods
from checkerboard_gan.analysis.evaluation import Evaluator, headline
from checkerboard_gan.config import Config
from checkerboard_gan.data.datasets import InMemoryBatches, StreamingBatches, build_batches
from checkerboard_gan.models.networks import Discriminator, build_generator
from checkerboard_gan.rundir.checkpoint import rng_states, save_checkpoint, set_rng_states
from checkerboard_gan.rundir.record import Diverged, Interrupted
from checkerboard_gan.training.logger import RunLogger
from checkerboard_gan.training.losses import build_loss
from checkerboard_gan.training.probes import NUM_REAL, Probe

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 30.0  # a progress line this often when no progress bar shows


@dataclass
class Setup:
    """Everything a run trains and draws from, built deterministically from the config."""

    generator: nn.Module  # Generator, or CustomGenerator (model.generator)
    discriminator: Discriminator
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    loss: Any
    data: InMemoryBatches | StreamingBatches
    probe: Probe
    evaluator: Evaluator
    noise: torch.Generator
    periods: Periods

    @property
    def device(self) -> torch.device:
        return self.probe.z.device

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
    generator = build_generator(cfg).to(device)
    torch.manual_seed(cfg.seed + D_STREAM)
    discriminator = Discriminator(cfg).to(device)
    data = build_batches(cfg.dataset, t.batch_size, cfg.seed, device)
    evaluator = Evaluator.for_run(cfg, data, generator.period)
    return Setup(
        generator=generator,
        discriminator=discriminator,
        opt_g=torch.optim.Adam(generator.parameters(), lr=t.lr_g, betas=t.betas),
        opt_d=torch.optim.Adam(discriminator.parameters(), lr=t.lr_d, betas=t.betas),
        loss=build_loss(t.loss, t.label_smoothing),
        data=data,
        probe=Probe(cfg, data.fixed(NUM_REAL), generator.period, discriminator.period),
        evaluator=evaluator,
        noise=torch.Generator(device=device).manual_seed(cfg.seed + 2_000),
        periods=Periods(
            cfg.upsample.stride,
            generator.period,
            cfg.disc.stride,
            discriminator.period,
            tuple(evaluator.levels),
            evaluator.inception is not None,
        ),
    )


def make_step(cfg: Config, s: Setup):
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
        with torch.autocast(s.device.type, dtype=torch.bfloat16, enabled=amp):
            # D step: real vs detached fake.
            fake = g_net(z)
            loss_d = s.loss.d(d_net(real).float(), d_net(fake.detach()).float())
        s.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        s.opt_d.step()
        with torch.autocast(s.device.type, dtype=torch.bfloat16, enabled=amp):
            # G step: the same fake through the updated D.
            loss_g = s.loss.g(d_net(fake).float())
        s.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        s.opt_g.step()
        return loss_d.detach(), loss_g.detach()

    return step


def is_probe_step(step: int, cfg: Config) -> bool:
    return step == 0 or step % cfg.log.every == 0 or step == cfg.train.steps


def is_eval_step(step: int, cfg: Config) -> bool:
    every = cfg.eval.every
    return step in (0, cfg.train.steps) or bool(every and step % every == 0)


def probe(
    step: int,
    cfg: Config,
    s: Setup,
    logger: RunLogger,
    losses: tuple[float, float] | None,
    since: int | None = None,
) -> None:
    """Look at the models: fixed-noise samples, D's input gradient and their measures; at step 0
    also the overlap map and real images; at evaluation steps the evaluation over many samples.
    `losses`: the latest averaged (d, g) losses, for the log line; `since`: the first step after
    the previous probe. Its seconds count as probe time.

    Raises:
        Diverged: the samples are not finite (they became so between `since` and `step`).
    """
    began = time.perf_counter()
    obs = s.probe.observe(step, s.generator, s.discriminator)  # the plain (uncompiled) modules
    if not torch.isfinite(obs.samples).all():
        raise Diverged(step, "the generator's output", since)
    sc, p = obs.scores, s.periods
    log.info(
        "step %d/%d%s: CB_%d %.3g, grad CB_%d %.3g%s",
        step,
        cfg.train.steps,
        " (random init)" if step == 0 else "",
        p.total,
        sc[CHECKERBOARD.key()],
        p.grad_total,
        sc[GRAD_CHECKERBOARD.key()],
        "" if step == 0 or losses is None else ", loss_d {:.4g} loss_g {:.4g}".format(*losses),
    )
    logger.health(step, sc, s.probe.real_saturated)
    evaluation = s.evaluator.evaluate(step, s.generator) if is_eval_step(step, cfg) else None
    logger.probe(obs, evaluation)
    if evaluation is not None:
        log.info(
            "step %d: evaluation over %d samples in %.1f s: %s",
            step,
            evaluation.n_fake,
            evaluation.seconds,
            headline(evaluation.entry(), p.finest),
        )
    logger.timing(probe_s=time.perf_counter() - began)


class Progress:
    """The loop's clock: a progress bar on a terminal, else a log line every PROGRESS_EVERY_S
    seconds with rate and time left."""

    def __init__(self, first: int, total: int, batch: int) -> None:
        self.first, self.total, self.batch = first, total, batch
        self.start = self.last_line = time.perf_counter()
        self.bar = tqdm(total=total, initial=first, disable=None, unit="step", dynamic_ncols=True)

    def rate(self, step: int) -> float:
        """Training images per second since the loop began."""
        return (step - self.first) * self.batch / (time.perf_counter() - self.start)

    def losses(self, step: int, d: float, g: float) -> None:
        self.bar.set_postfix(loss_d=f"{d:.3f}", loss_g=f"{g:.3f}", img_s=f"{self.rate(step):.0f}")

    def update(self, step: int) -> None:
        self.bar.update()
        if self.bar.disable and time.perf_counter() - self.last_line >= PROGRESS_EVERY_S:
            self.last_line = time.perf_counter()
            log.info(
                progress_line(step, self.first, self.total, self.batch, self.last_line - self.start)
            )

    def close(self) -> float:
        """Close the bar; returns the loop's seconds."""
        self.bar.close()
        return time.perf_counter() - self.start


def progress_line(step: int, first: int, total: int, batch: int, elapsed: float) -> str:
    """`step N/T (P%), R img/s, about M min S s left`."""
    done = step - first
    left = (total - step) * elapsed / done if done else math.nan
    rate = done * batch / elapsed if elapsed > 0 else math.nan
    return (
        f"step {step}/{total} ({100 * step / total:.0f}%), {rate:.0f} img/s, about "
        f"{int(left // 60)} min {int(left % 60)} s left"
    )


def summed_steps(step: int, cfg: Config) -> int:
    """How many steps the loss sums hold at `step` (before it is read): those since the last
    multiple of `log.loss_every`."""
    return step % cfg.log.loss_every or cfg.log.loss_every


def read_losses(step: int, losses: torch.Tensor, cfg: Config) -> tuple[float, float]:
    """The losses averaged since the last read (the one host-device sync per interval); the
    sums restart from zero.

    Raises:
        Diverged: a sum is not finite: a loss of one of the summed steps was not (the message
            names them, since the sum does not say which).
    """
    n = summed_steps(step, cfg)
    d, g = (losses / n).tolist()
    losses.zero_()
    if not (math.isfinite(d) and math.isfinite(g)):
        raise Diverged(step, "the loss", step - n + 1)
    return d, g


def save(
    checkpoints: Path, step: int, cfg: Config, s: Setup, logger: RunLogger, losses: torch.Tensor
) -> None:
    """A checkpoint at `step`, after the pictures up to it are written; never a bad one over a
    good one.

    Raises:
        Diverged: the loss sums since the last read are not finite.
    """
    if not torch.isfinite(losses).all():
        raise Diverged(step, "the loss", step - summed_steps(step, cfg) + 1)
    logger.checkpoint()
    save_checkpoint(checkpoints, s.state(step, cfg, losses))


def training_loop(
    cfg: Config,
    s: Setup,
    logger: RunLogger,
    checkpoints: Path,
    state: dict[str, Any] | None,
    stops: list[int],
) -> None:
    """Probe at init; then per step: a batch, the D update, the G update, the losses every
    `log.loss_every` steps, a probe every `log.every`; a checkpoint every
    `train.checkpoint_every` steps, on a stop request (SIGINT/SIGTERM) and at the end."""
    t = cfg.train
    first = 0 if state is None else state["step"]
    # (d, g) losses summed on the device since the last read
    losses = torch.zeros(2, device=s.device) if state is None else state["losses"].to(s.device)
    last: tuple[float, float] | None = None  # the latest averaged losses, for the log
    looked = first  # the step of the latest probe (the samples were finite)
    if first == 0:
        probe(0, cfg, s, logger, last)
    step_fn = make_step(cfg, s)
    clock = Progress(first, t.steps, t.batch_size)
    for step in range(first + 1, t.steps + 1):
        real = s.data.batch(step - 1)
        z = torch.randn(t.batch_size, cfg.model.z_dim, device=s.device, generator=s.noise)
        loss_d, loss_g = step_fn(real, z)
        losses[0] += loss_d
        losses[1] += loss_g
        if step % cfg.log.loss_every == 0 or step == t.steps:
            last = read_losses(step, losses, cfg)
            logger.losses(step, *last)
            clock.losses(step, *last)
        if is_probe_step(step, cfg) or is_eval_step(step, cfg):
            probe(step, cfg, s, logger, last, since=looked + 1)
            looked = step
        clock.update(step)
        if stops:
            save(checkpoints, step, cfg, s, logger, losses)
            logger.timing(images_per_s=clock.rate(step))
            raise Interrupted(step, stops[0])
        if t.checkpoint_every and step % t.checkpoint_every == 0 and step < t.steps:
            save(checkpoints, step, cfg, s, logger, losses)
    loop_s = clock.close()
    if first < t.steps or state is None:
        save(checkpoints, t.steps, cfg, s, logger, losses)
    if t.steps > first:  # a run resumed at its last step keeps the rate it trained at
        logger.timing(images_per_s=(t.steps - first) * t.batch_size / loop_s, loop_s=loop_s)
