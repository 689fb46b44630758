"""The evaluation over many samples (docs/design.md, "Evaluation over many samples").

After training, image content dominates the phase energy at the generator's full period, so a
trained checkerboard is read at every nested period p = s, s^2, ..., P, over thousands of
generated images drawn as the probes draw them, against as many real images of the run's data.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from checkerboard_gan.analysis import measures
from checkerboard_gan.analysis.catalogue import (
    CB,
    CONTENT,
    FINGERPRINT,
    PEAK_DB,
    SPECTRAL_DISTANCE,
    of_stage,
)
from checkerboard_gan.config import Config
from checkerboard_gan.models.networks import batch_statistics

log = logging.getLogger(__name__)

NOISE_STREAM = 3_000  # the evaluation's latents: seed + this, apart from probes and training


@dataclass
class Shared:
    """What every period's measures of one batch share, computed once: the mean power spectrum,
    the mean high-pass residual and the per-pixel variance (the same values as each measure
    computes from the batch itself)."""

    spectrum: torch.Tensor
    residual: torch.Tensor
    variance: torch.Tensor

    @classmethod
    def of(cls, x: torch.Tensor) -> Shared:
        return cls(
            measures.power_spectrum(x), measures.mean_residual(x), measures.pixel_variance(x)
        )


def batch_measures(
    x: torch.Tensor, stride: int, period: int, shared: Shared | None = None
) -> dict[str, float]:
    """cb_p, content_p, peak_db_p and fingerprint_p for p = s, s^2, ..., P (period last)."""
    shared = shared or Shared.of(x)
    periods = measures.periods_of(stride, period)
    cb = {p: measures.checkerboard_score(x, p) for p in periods}
    content = measures.content_of(cb, periods, stride)
    out: dict[str, float] = {}
    for p in periods:
        out[CB.key(p)] = cb[p]
        out[CONTENT.key(p)] = content[p]
        out[PEAK_DB.key(p)] = measures.peak_db(shared.spectrum, p)
        tile = measures.tile_of(shared.residual, p)
        out[FINGERPRINT.key(p)] = measures.fingerprint_ratio(tile, shared.variance)
    return out


@dataclass
class Evaluation:
    """One evaluation: the block metrics.json keeps, and the fingerprint tile for the pictures."""

    step: int
    n_fake: int
    n_real: int
    fake: dict[str, float]
    real: dict[str, float]
    seconds: float
    tile: torch.Tensor  # (C, P, P): the generated images' fingerprint tile at the full period
    finest: int  # the finest period s its per-period measures start at
    real_tile: torch.Tensor | None = None  # (C, P, P): the real images' tile, None without any
    fake_variance: float = 0.0  # the pixel variance FP_p divides the fake tile's energy by
    real_variance: float | None = None  # the same for the real images

    def entry(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "n_fake": self.n_fake,
            "n_real": self.n_real,
            "fake": self.fake,
            "real": self.real,
            "seconds": self.seconds,
        }


class Evaluator:
    """Fixed latents and a fixed real batch; the real batch's measures are computed once, at
    the first evaluation (a run built only to read its networks never pays for them).

    Args:
        real: up to `num_samples` real images (N_real, C, H, W) in [-1, 1], on the device.
        num_samples: generated images per evaluation.
        chunk: images per generator call (the probe batch), batch norm on each chunk's statistics.
        z_dim, seed: the latents depend only on these, not on the device.
        stride, period: the generator's stride s and total period P.
    """

    def __init__(
        self,
        real: torch.Tensor,
        num_samples: int,
        chunk: int,
        z_dim: int,
        seed: int,
        stride: int,
        period: int,
    ) -> None:
        g = torch.Generator().manual_seed(seed + NOISE_STREAM)
        self.z = torch.randn(num_samples, z_dim, generator=g).to(real.device)
        self.chunk, self.stride, self.period = chunk, stride, period
        self.n_real = real.shape[0]
        if self.n_real < num_samples:
            log.warning(
                "evaluation: the dataset has %d images, fewer than eval.num_samples=%d; the real "
                "reference uses %d",
                self.n_real,
                num_samples,
                self.n_real,
            )
        self._real_images = real

    @functools.cached_property
    def real(self) -> dict[str, float]:
        """The measures of the real batch, the floor every evaluation is read against."""
        return batch_measures(self._real_images, self.stride, self.period)

    @functools.cached_property
    def real_tile(self) -> tuple[torch.Tensor, float]:
        """The real images' fingerprint tile at the full period and their pixel variance."""
        x = self._real_images
        tile = measures.fingerprint_tile(x, self.period).float().cpu()
        return tile, measures.pixel_variance(x).item()

    @functools.cached_property
    def real_radial(self) -> torch.Tensor:
        return measures.radial_spectrum(self._real_images)

    @torch.no_grad()
    def draw(self, generator: nn.Module) -> torch.Tensor:
        """All generated images (N, C, H, W), drawn in chunks as the probes draw theirs."""
        with batch_statistics(generator):
            return torch.cat([generator(z) for z in self.z.split(self.chunk)])

    @classmethod
    def for_run(cls, cfg: Config, data: Any, period: int) -> Evaluator:
        """The evaluator a run configured by `cfg` uses, real images from its batches `data`."""
        n = cfg.eval.num_samples
        return cls(
            data.fixed(n),
            n,
            cfg.log.num_samples,
            cfg.model.z_dim,
            cfg.seed,
            cfg.upsample.stride,
            period,
        )

    def evaluate(self, step: int, generator: nn.Module) -> Evaluation:
        began = time.perf_counter()
        x = self.draw(generator)
        shared = Shared.of(x)
        fake = batch_measures(x, self.stride, self.period, shared)
        radial = measures.radial_mean(measures.log_power(shared.spectrum))
        fake[SPECTRAL_DISTANCE.key()] = measures.radial_distance(radial, self.real_radial)
        tile = measures.tile_of(shared.residual, self.period).float().cpu()
        seconds = time.perf_counter() - began
        real_tile, real_variance = self.real_tile
        return Evaluation(
            step,
            x.shape[0],
            self.n_real,
            fake,
            self.real,
            seconds,
            tile,
            self.stride,
            real_tile,
            shared.variance.item(),
            real_variance,
        )


def headline(fake: dict[str, float], real: dict[str, float], finest: int) -> str:
    """The headline evaluation measures at the finest period, generated vs real, for the log."""
    keys = [m.key(finest) for m in of_stage("evaluation") if m.headline]
    return ", ".join(f"{k} {fake[k]:.3g} (real {real[k]:.3g})" for k in keys)
