"""Probes: what the trainer looks at, at step 0 (before any update) and every `log.every` steps.

A probe renders the generator on a fixed batch of noise (so every probe of a run, and of a
resumed run, shows the same latents), measures the artifacts of that very batch, and measures
the checkerboard in the discriminator's input gradient on a fixed batch of real images. The
step-0 probe also draws the generator's composed overlap map, which training does not change.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from checkerboard_gan.analysis import measures
from checkerboard_gan.analysis.catalogue import (
    CHECKERBOARD,
    DIVERSITY,
    GRAD_CHECKERBOARD,
    GRAD_CONTENT,
    SATURATED,
    SPECTRAL_DISTANCE,
    SPECTRAL_PEAK,
)
from checkerboard_gan.config import Config
from checkerboard_gan.models.custom import OverlapUnavailable
from checkerboard_gan.models.networks import batch_statistics

NUM_REAL = 256  # real images for the spectral distance
NUM_GRAD = 64  # of those, images whose input gradient is measured
NUM_GRAD_SHOWN = 8


@dataclass
class Observation:
    """One probe's results: scores for metrics.json, tensors for the pictures."""

    step: int
    samples: torch.Tensor  # (N, C, H, W) in [-1, 1]
    scores: dict[str, float]
    phase_energy: torch.Tensor  # (P, P)
    log_spectrum: torch.Tensor  # (H, W) dB, zero frequency in the middle
    radial: torch.Tensor  # (R,) dB, of the samples
    d_input_grad: torch.Tensor  # (NUM_GRAD, C, H, W): dD(x)/dx on the fixed real images
    overlap: torch.Tensor | None = None  # (P, P) kernel-tap paths, at step 0 only
    overlap_unavailable: str | None = None  # at step 0, why there is no overlap map (custom code)
    real: torch.Tensor | None = None  # (NUM_REAL, C, H, W) the fixed real images, step 0 only
    real_radial: torch.Tensor | None = None  # (R,) dB, their radial spectrum, step 0 only


class Probe:
    """Fixed noise and fixed real images; the noise depends only on `seed`, not the device."""

    def __init__(self, cfg: Config, real: torch.Tensor, g_period: int, d_period: int) -> None:
        g = torch.Generator().manual_seed(cfg.seed + 1_000)
        self.z = torch.randn(cfg.log.num_samples, cfg.model.z_dim, generator=g).to(real.device)
        self.real = real
        self.real_radial = measures.radial_spectrum(real)
        self.g_period, self.d_period = g_period, d_period
        self.d_stride = cfg.disc.stride
        self.real_saturated = measures.saturated_share(real)

    @torch.no_grad()
    def samples(self, generator: nn.Module) -> torch.Tensor:
        """(num_samples, C, H, W) in [-1, 1]."""
        with batch_statistics(generator):
            return generator(self.z)

    def input_gradient(self, discriminator: nn.Module) -> torch.Tensor:
        """dD(x)/dx on the fixed real images (D's parameter gradients are left untouched)."""
        x = self.real[:NUM_GRAD].clone().requires_grad_(True)
        with batch_statistics(discriminator):
            (grad,) = torch.autograd.grad(discriminator(x).sum(), x)
        return grad

    def observe(self, step: int, generator: nn.Module, discriminator: nn.Module) -> Observation:
        x = self.samples(generator)
        grad = self.input_gradient(discriminator)
        spectrum = measures.power_spectrum(x)
        log_spectrum = measures.log_power(spectrum)
        radial = measures.radial_mean(log_spectrum)
        scores = {
            CHECKERBOARD.key(): measures.checkerboard_score(x, self.g_period),
            SPECTRAL_PEAK.key(): measures.peak_db(spectrum, self.g_period),
            DIVERSITY.key(): measures.diversity(x),
            SATURATED.key(): measures.saturated_share(x),
            SPECTRAL_DISTANCE.key(): measures.radial_distance(radial, self.real_radial),
            GRAD_CHECKERBOARD.key(): measures.checkerboard_score(grad, self.d_period),
        }
        # the gradient's finest checkerboard alone (content at D's stride, CB_1 = 0)
        fine = self.d_stride
        scores[GRAD_CONTENT.key(fine)] = measures.period_content(grad, [fine], fine)[fine]
        return Observation(
            step=step,
            samples=x,
            scores=scores,
            phase_energy=measures.phase_energy(x, self.g_period),
            log_spectrum=log_spectrum,
            radial=radial,
            d_input_grad=grad.detach(),
            **(self.overlap(generator) if step == 0 else {}),
            real=self.real if step == 0 else None,
            real_radial=self.real_radial if step == 0 else None,
        )

    def overlap(self, generator: nn.Module) -> dict[str, torch.Tensor | str]:
        """The generator's composed overlap map (`overlap`), or why there is none
        (`overlap_unavailable`: a custom stage or generator whose parameters allow none)."""
        try:
            return {"overlap": measures.overlap_map(generator.geometries(), self.g_period)}
        except OverlapUnavailable as err:
            return {"overlap_unavailable": str(err)}
