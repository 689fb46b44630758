"""The training loop: DCGAN-style alternating D and G updates, probes from step 0 on."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from tqdm import tqdm

from . import measures
from .checkpoint import save_checkpoint
from .config import Config
from .data import InMemoryBatches, build_batches
from .logger import RunLogger
from .losses import build_loss
from .models import Discriminator, Generator
from .probes import NUM_REAL, Probe
from .run_status import error_line

log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    """`auto` picks cuda, then mps, then cpu."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _is_probe_step(step: int, cfg: Config) -> bool:
    return step == 0 or step % cfg.log.every == 0 or step == cfg.train.steps


class Diverged(RuntimeError):
    """A non-finite loss or generator output; the run stops with status `diverged`."""

    def __init__(self, step: int, what: str) -> None:
        super().__init__(f"diverged at step {step}: {what} is not finite")
        self.step = step


@dataclass
class Setup:
    """Everything a run trains and draws from, built deterministically from the config."""

    generator: Generator
    discriminator: Discriminator
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    loss: Any
    data: InMemoryBatches
    probe: Probe
    noise: torch.Generator

    def state(self, step: int, cfg: Config) -> dict[str, Any]:
        """Checkpoint content: tensors and plain data only (loads with weights_only=True)."""
        return {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "step": step,
            "config": OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True),
        }


def build(cfg: Config, device: torch.device) -> Setup:
    t = cfg.train
    torch.manual_seed(cfg.seed)
    generator, discriminator = Generator(cfg).to(device), Discriminator(cfg).to(device)
    data = build_batches(cfg.dataset, t.batch_size, cfg.seed, device)
    return Setup(
        generator=generator,
        discriminator=discriminator,
        opt_g=torch.optim.Adam(generator.parameters(), lr=t.lr_g, betas=t.betas),
        opt_d=torch.optim.Adam(discriminator.parameters(), lr=t.lr_d, betas=t.betas),
        loss=build_loss(t.loss, t.label_smoothing),
        data=data,
        probe=Probe(cfg, data.fixed(NUM_REAL), generator.period, discriminator.period),
        noise=torch.Generator(device=device).manual_seed(cfg.seed + 2_000),
    )


def train(cfg: Config, run_dir: Path, overrides: list[str] | None = None) -> dict[str, Any]:
    """Train one GAN as configured, writing everything into `run_dir`; returns metrics.json.

    A failure (divergence, an exception, Ctrl-C) is recorded in metrics.json with its status and
    first error line before it propagates, so a sweep summary can say what happened.
    """
    start = time.perf_counter()
    device = resolve_device(cfg.device)
    logger = RunLogger(run_dir, {"steps": cfg.train.steps, "overrides": list(overrides or [])})
    try:
        setup = build(cfg, device)
        logger.hparams(cfg)
        logger.metrics.update(
            checkerboard_period=setup.generator.period, grad_period=setup.discriminator.period
        )
        log.info("run folder %s, device %s, %d steps", run_dir, device, cfg.train.steps)
        _loop(cfg, setup, logger, run_dir)
    except BaseException as err:
        status = {Diverged: "diverged", KeyboardInterrupt: "interrupted"}.get(type(err), "failed")
        logger.write_metrics(
            status=status,
            error=error_line(err),
            wall_s=time.perf_counter() - start,
            **({"failed_step": err.step} if isinstance(err, Diverged) else {}),
        )
        logger.close()
        raise
    logger.write_metrics(status="completed", wall_s=time.perf_counter() - start)
    logger.close()
    m = logger.metrics
    log.info(
        "done: %d steps, %.0f img/s, %.1f s (probes %.1f s, %.1f%%)",
        cfg.train.steps,
        m["throughput_img_s"],
        m["wall_s"],
        m["probe_s"],
        100 * m["probe_s"] / m["wall_s"],
    )
    return m


def _loop(cfg: Config, setup: Setup, logger: RunLogger, run_dir: Path) -> None:
    """Probe at init, then alternate D and G updates with probes every `log.every` steps."""
    t, s = cfg.train, setup
    g_net, d_net = s.generator, s.discriminator
    probe_s = 0.0

    def run_probe(step: int) -> None:
        nonlocal probe_s
        began = time.perf_counter()
        obs = s.probe.observe(step, g_net, d_net)
        if not torch.isfinite(obs.samples).all():
            raise Diverged(step, "the generator's output")
        if step == 0:  # random init, before any update: also overlap map and radial spectra
            overlap = measures.overlap_map(g_net.geometries(), g_net.period)
            logger.run_start(overlap, measures.unevenness(overlap), obs, s.probe.real_radial)
        logger.observation(obs)
        probe_s += time.perf_counter() - began

    run_probe(0)
    d = g = math.nan  # the latest averaged losses
    losses = torch.zeros(2, device=s.probe.z.device)  # (d, g) summed on device since last read
    loop_start = time.perf_counter()
    bar = tqdm(total=t.steps, disable=None, unit="step", dynamic_ncols=True)
    for step in range(1, t.steps + 1):
        real = s.data.batch(step - 1)
        z = torch.randn(t.batch_size, cfg.model.z_dim, device=real.device, generator=s.noise)
        # D step: real vs detached fake.
        fake = g_net(z)
        loss_d = s.loss.d(d_net(real), d_net(fake.detach()))
        s.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        s.opt_d.step()
        # G step: the same fake through the updated D.
        loss_g = s.loss.g(d_net(fake))
        s.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        s.opt_g.step()
        losses += torch.stack([loss_d.detach(), loss_g.detach()])
        bar.update()
        if step % cfg.log.loss_every == 0 or step == t.steps:
            n = step % cfg.log.loss_every or cfg.log.loss_every
            d, g = (losses / n).tolist()  # the one host-device sync per interval
            losses.zero_()
            if not (math.isfinite(d) and math.isfinite(g)):
                raise Diverged(step, "the loss")
            logger.scalars(step, {"loss/d": d, "loss/g": g})
            logger.metrics.update(final_loss_d=d, final_loss_g=g)
            rate = step * t.batch_size / (time.perf_counter() - loop_start)
            bar.set_postfix(loss_d=f"{d:.3f}", loss_g=f"{g:.3f}", img_s=f"{rate:.0f}")
        if _is_probe_step(step, cfg):
            run_probe(step)
            log.info("step %d/%d loss_d %.4f loss_g %.4f", step, t.steps, d, g)
    bar.close()
    loop_s = time.perf_counter() - loop_start
    save_checkpoint(run_dir / "checkpoints" / "last.pt", s.state(t.steps, cfg))
    throughput = t.steps * t.batch_size / loop_s if t.steps else 0.0
    logger.metrics.update(throughput_img_s=throughput, probe_s=probe_s)
