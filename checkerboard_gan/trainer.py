"""The training loop: DCGAN-style alternating D and G updates, probes from step 0 on."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from tqdm import tqdm

from . import measures
from .checkpoint import save_checkpoint
from .config import Config
from .data import build_batches
from .logger import RunLogger
from .losses import build_loss
from .models import Discriminator, Generator
from .probes import NUM_REAL, Probe

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


def train(cfg: Config, run_dir: Path, overrides: list[str] | None = None) -> dict[str, Any]:
    """Train one GAN as configured, writing everything into `run_dir`; returns metrics.json."""
    start = time.perf_counter()
    t = cfg.train
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    generator, discriminator = Generator(cfg).to(device), Discriminator(cfg).to(device)
    opt_g = torch.optim.Adam(generator.parameters(), lr=t.lr_g, betas=t.betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=t.lr_d, betas=t.betas)
    loss = build_loss(t.loss, t.label_smoothing)
    data = build_batches(cfg.dataset, t.batch_size, cfg.seed, device)
    probe = Probe(cfg, data.fixed(NUM_REAL), generator.period, discriminator.period)
    noise = torch.Generator(device=device).manual_seed(cfg.seed + 2_000)
    logger = RunLogger(run_dir, {"steps": t.steps, "overrides": list(overrides or [])})
    log.info("run folder %s, device %s, %d steps", run_dir, device, t.steps)

    probe_s = 0.0

    def run_probe(step: int) -> None:
        nonlocal probe_s
        began = time.perf_counter()
        obs = probe.observe(step, generator, discriminator)
        if step == 0:  # random init, before any update: also overlap map and radial spectra
            overlap = measures.overlap_map(generator.geometries(), generator.period)
            logger.run_start(overlap, measures.unevenness(overlap), obs, probe.real_radial)
        logger.observation(obs)
        probe_s += time.perf_counter() - began

    run_probe(0)
    losses = torch.zeros(2, device=device)  # (d, g) summed on device since the last read
    loop_start = time.perf_counter()
    bar = tqdm(total=t.steps, disable=None, unit="step", dynamic_ncols=True)
    for step in range(1, t.steps + 1):
        real = data.batch(step - 1)
        z = torch.randn(t.batch_size, cfg.model.z_dim, device=device, generator=noise)
        # D step: real vs detached fake.
        fake = generator(z)
        loss_d = loss.d(discriminator(real), discriminator(fake.detach()))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        # G step: the same fake through the updated D.
        loss_g = loss.g(discriminator(fake))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        losses += torch.stack([loss_d.detach(), loss_g.detach()])
        bar.update()
        if step % cfg.log.loss_every == 0 or step == t.steps:
            n = step % cfg.log.loss_every or cfg.log.loss_every
            d, g = (losses / n).tolist()
            losses.zero_()
            logger.scalars(step, {"loss/d": d, "loss/g": g})
            rate = step * t.batch_size / (time.perf_counter() - loop_start)
            bar.set_postfix(loss_d=f"{d:.3f}", loss_g=f"{g:.3f}", img_s=f"{rate:.0f}")
        if _is_probe_step(step, cfg):
            run_probe(step)
            log.info("step %d/%d loss_d %.4f loss_g %.4f", step, t.steps, d, g)
    bar.close()
    loop_s = time.perf_counter() - loop_start
    save_checkpoint(
        run_dir / "checkpoints" / "last.pt",
        {
            "generator": generator.state_dict(),
            "discriminator": discriminator.state_dict(),
            "opt_g": opt_g.state_dict(),
            "opt_d": opt_d.state_dict(),
            "step": t.steps,
            "config": OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True),
        },
    )
    throughput = t.steps * t.batch_size / loop_s if t.steps else 0.0
    logger.write_metrics(
        status="completed",
        throughput_img_s=throughput,
        probe_s=probe_s,
        wall_s=time.perf_counter() - start,
    )
    logger.close()
    wall = logger.metrics["wall_s"]
    log.info(
        "done: %d steps, %.0f img/s, %.1f s (probes %.1f s, %.1f%%)",
        t.steps,
        throughput,
        wall,
        probe_s,
        100 * probe_s / wall,
    )
    return logger.metrics
