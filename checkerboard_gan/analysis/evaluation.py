"""The evaluation over many samples (docs/design.md, "Evaluation over many samples").

After training, image content dominates the phase energy at the generator's full period, so a
trained checkerboard is read at every nested period p = s, s^2, ..., P, over thousands of
generated images drawn as the probes draw them, against as many real images of the run's data.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from checkerboard_gan.analysis import measures
from checkerboard_gan.analysis.catalogue import (
    CONTENT,
    DIVERSITY,
    FINGERPRINT,
    SATURATED,
    SPECTRAL_DISTANCE,
    of_stage,
)
from checkerboard_gan.analysis.inception import InceptionDistances, fid_enabled, inception_weights
from checkerboard_gan.analysis.quality import QualityReference, quality_levels
from checkerboard_gan.analysis.streaming import ImageStatistics, Interval
from checkerboard_gan.config import Config
from checkerboard_gan.models.networks import batch_statistics

log = logging.getLogger(__name__)

NOISE_STREAM = 3_000  # the evaluation's latents: seed + this, apart from probes and training


@dataclass
class Side:
    """One image set's evaluation: its catalogue values, their 95% bootstrap intervals, its
    fingerprint tile at the largest period, pixel variance and spectra (for the pictures)."""

    n: int
    values: dict[str, float]
    intervals: dict[str, Interval]
    tile: torch.Tensor  # (C, P, P) float32, P the largest period measured
    variance: float
    log_spectrum: torch.Tensor  # (H, W) dB, zero frequency in the middle
    radial: torch.Tensor  # (R,) dB

    @classmethod
    def of(cls, stats: ImageStatistics) -> Side:
        spectrum, values = stats.power_spectrum(), stats.values()
        return cls(
            stats.n,
            values,
            stats.intervals(values),
            stats.tile(stats.periods[-1]).float(),
            stats.variance(),
            measures.log_power(spectrum).float(),
            measures.radial_mean(measures.log_power(spectrum)).float(),
        )


def batch_measures(
    x: torch.Tensor, stride: int, period: int, replicates: int = 0
) -> dict[str, float]:
    """cb_p, content_p, peak_db_p and fingerprint_p for p = s, s^2, ..., P of one batch
    (N, C, H, W) in [-1, 1], computed as the evaluation computes them (`ImageStatistics`)."""
    stats = ImageStatistics(stride, measures.periods_of(stride, period), x.shape[1:], 0, replicates)
    stats.add(x)
    return stats.values()


@dataclass
class Evaluation:
    """One evaluation: the block metrics.json keeps, and what the pictures draw."""

    step: int | None  # None for images from elsewhere
    fake_side: Side
    real_side: Side | None  # None without real images (no floor)
    seconds: float
    finest: int  # the finest period s its per-period measures start at
    periods: list[int]
    quality: dict[str, float] = field(default_factory=dict)  # generated vs real: SWD, FID, KID
    quality_floor: dict[str, float] = field(default_factory=dict)  # real half vs half: SWD
    quality_seconds: float = 0.0  # of `seconds`, spent on the quality measures

    @property
    def n_fake(self) -> int:
        return self.fake_side.n

    @property
    def n_real(self) -> int:
        return self.real_side.n if self.real_side else 0

    @property
    def fake(self) -> dict[str, float]:
        """The generated images' values, with the spectral distance where there is a floor."""
        if self.real_side is None:
            return dict(self.fake_side.values)
        distance = measures.radial_distance(self.fake_side.radial, self.real_side.radial)
        return self.fake_side.values | {SPECTRAL_DISTANCE.key(): distance}

    @property
    def real(self) -> dict[str, float]:
        return dict(self.real_side.values) if self.real_side else {}

    @property
    def tile(self) -> torch.Tensor:
        """The generated images' fingerprint tile at the largest period: (C, P, P)."""
        return self.fake_side.tile

    @property
    def real_tile(self) -> torch.Tensor | None:
        return self.real_side.tile if self.real_side else None

    @property
    def fake_variance(self) -> float:
        return self.fake_side.variance

    @property
    def real_variance(self) -> float | None:
        return self.real_side.variance if self.real_side else None

    def intervals(self) -> dict[str, dict[str, list[float]]]:
        """{"fake": {key: [low, high]}, "real": {...}}: the 95% bootstrap intervals."""
        sides = {"fake": self.fake_side, "real": self.real_side}
        return {
            name: {k: i.pair() for k, i in side.intervals.items()}
            for name, side in sides.items()
            if side is not None
        }

    def entry(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "n_fake": self.n_fake,
            "n_real": self.n_real,
            "fake": self.fake,
            "real": self.real,
            "intervals": self.intervals(),
            "quality": self.quality,
            "quality_floor": self.quality_floor,
            "seconds": self.seconds,
            "quality_seconds": self.quality_seconds,
        }

    def degenerate(self) -> str | None:
        """Why the generated images are no images (`measures.degenerate`: collapsed, or
        saturated where the real ones are not), or None."""
        fake, real = self.fake_side.values, self.real
        return measures.degenerate(
            fake[DIVERSITY.key()], fake.get(SATURATED.key()), real.get(SATURATED.key())
        )

    def verdicts(self) -> list[tuple[int, str, str]]:
        """(period, measure label, verdict) for content and fingerprint at every period; every
        verdict "not meaningful (...)" for a degenerate set (identical or saturated images)."""
        reason = self.degenerate()
        found = []
        for p in self.periods:
            for measure in (CONTENT, FINGERPRINT):
                key = measure.key(p)
                real = self.real_side.intervals.get(key) if self.real_side else None
                fake = self.fake_side.intervals[key]
                verdict = floor_verdict(fake, real, self.fake_side.values[key])
                if reason:
                    verdict = f"not meaningful ({reason.split(':')[0]})"
                found.append((p, measure.name, verdict))
        return found


ABOVE, WITHIN, UNDECIDED, NO_FLOOR = (
    "above the real floor",
    "within the floor",
    "undecided at this N, use more images",
    "no real floor (give --real)",
)


def floor_verdict(fake: Interval, real: Interval | None, value: float) -> str:
    """How a generated value and its 95% interval stand against the real images' interval
    (docs/evaluate.md): above the floor only when the intervals are apart with the generated one
    higher; within it when the generated value is no higher than the real interval's upper end;
    undecided when it is higher but the intervals overlap (more images narrow them)."""
    if real is None:
        return NO_FLOOR
    if fake.low > real.high:
        return ABOVE
    if value <= real.high:
        return WITHIN
    return UNDECIDED


def passing(
    chunks: Iterable[torch.Tensor], *sinks: Callable[[torch.Tensor], None]
) -> Iterator[torch.Tensor]:
    """The chunks, each also handed to every sink on its way (one pass feeds several measures)."""
    for chunk in chunks:
        for sink in sinks:
            sink(chunk)
        yield chunk


def statistics(
    chunks: Iterable[torch.Tensor],
    stride: int,
    periods: list[int],
    shape: tuple[int, int, int],
    seed: int,
) -> ImageStatistics:
    """An image set's `ImageStatistics`, its chunks (n, C, H, W) in [-1, 1] streamed in."""
    stats = ImageStatistics(stride, periods, shape, seed)
    for chunk in chunks:
        stats.add(chunk)
    return stats


class Evaluator:
    """Fixed latents and a fixed real batch; the real batch's measures are computed once, at
    the first evaluation (a run built only to read its networks never pays for them).

    Args:
        real: up to `num_samples` real images (N_real, C, H, W) in [-1, 1], on the device.
        num_samples: generated images per evaluation.
        chunk: images per generator call (the probe batch), batch norm on each chunk's statistics.
        z_dim, seed: the latents depend only on these, not on the device.
        stride, period: the generator's stride s and total period P.
        inception: FID and KID's features and metrics (its real side is filled at the first
            evaluation), or None (not computed). SWD is always computed, for images of at least
            7 x 7 px.
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
        inception: InceptionDistances | None = None,
    ) -> None:
        g = torch.Generator().manual_seed(seed + NOISE_STREAM)
        self.z = torch.randn(num_samples, z_dim, generator=g).to(real.device)
        self.chunk, self.stride, self.period, self.seed = chunk, stride, period, seed
        self.periods = measures.periods_of(stride, period)
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
        self.inception = inception

    @property
    def levels(self) -> list[int]:
        """The SWD's pyramid levels (px, finest first) for these images; none under 7 px."""
        return quality_levels(tuple(self._real_images.shape[1:]))

    @functools.cached_property
    def _reference(self) -> tuple[Side, QualityReference | None]:
        """The real batch's evaluation and quality reference, from one pass over it."""
        x = self._real_images
        shape = tuple(x.shape[1:])
        quality = None
        if self.levels:
            quality = QualityReference(shape, self.n_real, self.seed, self.inception)
        chunks = x.split(self.chunk)
        if quality is not None:
            chunks = passing(chunks, quality.add_real)
        return Side.of(statistics(chunks, self.stride, self.periods, shape, self.seed)), quality

    @property
    def real_side(self) -> Side:
        """The real batch's evaluation, the floor every evaluation is read against."""
        return self._reference[0]

    @property
    def quality_reference(self) -> QualityReference | None:
        """The real side of SWD (and FID, KID); None for images under 7 x 7 px."""
        return self._reference[1]

    @property
    def real(self) -> dict[str, float]:
        return self.real_side.values

    @torch.no_grad()
    def chunks(self, generator: nn.Module) -> Iterator[torch.Tensor]:
        """The generated images in chunks (n, C, H, W), drawn as the probes draw theirs."""
        with batch_statistics(generator):
            for z in self.z.split(self.chunk):
                yield generator(z)

    def draw(self, generator: nn.Module) -> torch.Tensor:
        """All generated images (N, C, H, W) at once (for pictures and tests)."""
        return torch.cat(list(self.chunks(generator)))

    @classmethod
    def for_run(cls, cfg: Config, data: Any, period: int) -> Evaluator:
        """The evaluator a run configured by `cfg` uses, real images from its batches `data`."""
        n = cfg.eval.num_samples
        real = data.fixed(n)
        inception = None
        if fid_enabled(cfg.eval, explain=False):
            weights = inception_weights(cfg.eval.inception_weights)
            inception = InceptionDistances(weights, real.device)
        return cls(
            real,
            n,
            cfg.log.num_samples,
            cfg.model.z_dim,
            cfg.seed,
            cfg.upsample.stride,
            period,
            inception,
        )

    def evaluate(self, step: int, generator: nn.Module) -> Evaluation:
        """The generated images' evaluation against the real batch (its first use computes the
        real side and the SWD floor), with the quality measures of one pass."""
        began = time.perf_counter()
        real, reference = self.real_side, self.quality_reference
        chunks = self.chunks(generator)
        generated = None if reference is None else reference.generated(self.z.shape[0])
        if generated is not None:
            chunks = passing(chunks, generated.add)
        shape = self._real_images.shape[1:]
        stats = statistics(chunks, self.stride, self.periods, shape, self.seed)
        quality, floor, quality_s = generated.result() if generated else ({}, {}, 0.0)
        seconds = time.perf_counter() - began
        return Evaluation(
            step,
            Side.of(stats),
            real,
            seconds,
            self.stride,
            self.periods,
            quality,
            floor,
            quality_s,
        )


def headline(entry: Mapping[str, Any], finest: int) -> str:
    """The headline evaluation measures at the finest period, generated vs real, and the
    headline quality measures (SWD against its floor), of an evaluation's metrics.json block."""
    fake, real = entry["fake"], entry["real"]
    keys = [m.key(finest) for m in of_stage("evaluation") if m.headline]
    parts = [f"{k} {fake[k]:.3g} (real {real[k]:.3g})" for k in keys]
    quality = entry.get("quality") or {}
    shown = [m.key() for m in of_stage("quality") if m.headline and m.key() in quality]
    if shown:
        parts.append(quality_text(quality, entry.get("quality_floor") or {}, shown))
    return ", ".join(parts)


def quality_text(quality: Mapping[str, float], floor: Mapping[str, float], keys: list[str]) -> str:
    """`keys` of an evaluation's quality block, each with its real-halves floor where it has
    one: `swd 72.6 (real halves 33.4), ...`."""
    return ", ".join(
        f"{k} {quality[k]:.3g}" + (f" (real halves {floor[k]:.3g})" if k in floor else "")
        for k in keys
    )
