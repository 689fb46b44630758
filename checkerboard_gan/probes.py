"""Probes: what the trainer looks at, at step 0 (before any update) and every `log.every` steps.

A probe renders the generator on a fixed batch of noise, so every probe of a run (and a resumed
run) shows the same latents.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from .config import Config


@contextmanager
def batch_statistics(model: nn.Module) -> Iterator[None]:
    """Run `model` with batch-norm on the batch's own statistics without updating running ones.

    Samples are drawn this way (as in training) because at init the running statistics are
    (0, 1) and describe nothing the generator produces; eval mode would show a different net.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    was_training = model.training
    model.train()
    for m in norms:
        m.track_running_stats = False
    try:
        yield
    finally:
        for m in norms:
            m.track_running_stats = True
        model.train(was_training)


class Probe:
    """Fixed-noise samples of the generator; the noise depends only on `seed`, not the device."""

    def __init__(self, cfg: Config, device: torch.device) -> None:
        g = torch.Generator().manual_seed(cfg.seed + 1_000)
        self.z = torch.randn(cfg.log.num_samples, cfg.model.z_dim, generator=g).to(device)

    @torch.no_grad()
    def samples(self, generator: nn.Module) -> torch.Tensor:
        """(num_samples, C, H, W) in [-1, 1]."""
        with batch_statistics(generator):
            return generator(self.z)
