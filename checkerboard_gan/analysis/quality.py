"""Sample quality beside the artifacts: the sliced Wasserstein distance (SWD) over
Laplacian-pyramid patches of Karras et al. 2018 ("Progressive Growing of GANs", appendix D).

Per pyramid level, from the images' size down to 16 px: random 7 x 7 neighbourhoods of every
image, each a descriptor of C * 49 values, normalised per channel over the set (mean 0, std 1);
the sliced Wasserstein distance between the generated and the real descriptors over random
unit directions (POT's `sliced_wasserstein_distance`, p = 1: the mean over directions of the
1-D Wasserstein-1 distance of the projections), times 1e3 as the paper reports it. `swd` is the
mean over levels. The directions and a pool of `POOL` patch positions per level are drawn from
generators seeded by the run's seed; each image takes its patches from that pool at places set by
a hash of its own 8-bit pixels, so a set's descriptors, and the value, depend on the seed and the
images but not on their order.

In an evaluation the value is `matched_swd`: the generated images against the real ones at the
sample size of the floor, two disjoint halves of the real images against each other, so that a
generator as good as the data reads at the floor, not below it.

Cost: the paper takes 128 descriptors of each of 16,384 images and 512 directions; here 4 of
each of the evaluation's N (at most `MAX_DESCRIPTORS` per level) and 16 directions, so that SWD
adds about what the artifact evaluation itself costs on a 2-core CPU; docs/quality.md gives the
value, spread and time at other counts (scripts/bench_swd.py).
"""

from __future__ import annotations

import copy
import functools
import logging
import math
import time

import torch
import torch.nn.functional as F

from checkerboard_gan.analysis.catalogue import SWD
from checkerboard_gan.analysis.inception import InceptionDistances

NEIGHBOURHOOD = 7
DESCRIPTORS_PER_IMAGE = 4
MAX_DESCRIPTORS = 1 << 13  # per level and set: time and memory bound whatever N
PROJECTIONS = 16  # the paper: 4 repeats of 128 directions (see the module docstring)
FLOOR_PROJECTIONS = 128  # the floor is computed once per run: more directions, less spread
COARSEST = 16
SCALE = 1e3
POOL = 4096  # patch positions per level an image's hash picks from
_STEP = 1_511  # a prime: an image's successive picks from the pool are apart
HALF_BIT = 24  # the hash bit that puts an image into one half of its set or the other

_GAUSS = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16
# Real images for SWD: each image falls into a half by a bit of its hash, so N of them leave a
# half empty with probability 2^(1 - N); from 8 that is under 1% (1 in 128).
ENOUGH_REAL = 8

log = logging.getLogger(__name__)


def pyramid_levels(size: int) -> list[int]:
    """The levels' sizes: size, size / 2, ... down to 16 (the size itself if under 32).

    Raises:
        ValueError: images smaller than a 7 x 7 neighbourhood.
    """
    if size < NEIGHBOURHOOD:
        raise ValueError(f"images of {size} px are smaller than a {NEIGHBOURHOOD} px patch")
    levels = [size]
    while levels[-1] // 2 >= COARSEST and levels[-1] % 2 == 0:
        levels.append(levels[-1] // 2)
    return levels


def _blur(x: torch.Tensor) -> torch.Tensor:
    c = x.shape[1]
    taps = _GAUSS.to(x)
    padded = F.pad(x, (2, 2, 2, 2), mode="reflect")
    x = F.conv2d(padded, taps.view(1, 1, 5, 1).expand(c, 1, 5, 1), groups=c)
    return F.conv2d(x, taps.view(1, 1, 1, 5).expand(c, 1, 1, 5), groups=c)


def laplacian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """`levels` bands of x (N, C, H, W), finest first: each Gaussian level minus the next one
    upsampled (zeros inserted, then 4 x the 5-tap binomial blur), the last band the coarsest
    Gaussian level itself, as the paper's pyramid."""
    bands, current = [], x
    for _ in range(levels - 1):
        smaller = _blur(current)[..., ::2, ::2]
        up = torch.zeros_like(current)
        up[..., ::2, ::2] = smaller
        bands.append(current - 4 * _blur(up))  # zeros inserted: 4 x the blur keeps the mean
        current = smaller
    return [*bands, current]


def patch_positions(size: int, count: int, generator: torch.Generator) -> torch.Tensor:
    """`count` random top-left corners (count, 2) of 7 x 7 neighbourhoods in a size x size
    level."""
    return torch.randint(0, size - NEIGHBOURHOOD + 1, (count, 2), generator=generator)


def image_hashes(x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(n,) int64 hashes of images x (n, C, H, W) in [-1, 1]: their 8-bit values dotted with
    fixed random int64 weights (C * H * W,), wrapping; the same image gives the same hash on
    any machine that rounds it to the same 8-bit values."""
    pixels = ((x.reshape(x.shape[0], -1).clamp(-1, 1) + 1) * 127.5).round().to(torch.int64)
    return (pixels * weights).sum(dim=1).abs()


def patches(level: torch.Tensor, corners: torch.Tensor) -> torch.Tensor:
    """The 7 x 7 neighbourhoods at each image's own `corners` (n, m, 2) of `level`
    (n, C, h, w), as descriptors (n * m, C * 49), image by image."""
    n, c = level.shape[:2]
    m, k = corners.shape[1], NEIGHBOURHOOD
    offsets = torch.arange(k)
    rows = (corners[..., 0, None] + offsets)[:, :, :, None]  # (n, m, k, 1)
    cols = (corners[..., 1, None] + offsets)[:, :, None, :]  # (n, m, 1, k)
    images = torch.arange(n)[:, None, None, None]
    picked = level.permute(0, 2, 3, 1)[images, rows, cols]  # (n, m, k, k, C)
    return picked.permute(0, 1, 4, 2, 3).reshape(n * m, c * k * k)


def normalised(descriptors: torch.Tensor, channels: int) -> torch.Tensor:
    """Per channel over the whole set: mean 0, std 1 (the paper's normalisation), in float64 so
    the order of the images changes nothing but the last bits."""
    d = descriptors.double().view(descriptors.shape[0], channels, -1)
    mean = d.mean(dim=(0, 2), keepdim=True)
    std = d.std(dim=(0, 2), keepdim=True).clamp_min(1e-8)
    return ((d - mean) / std).view_as(descriptors)


class PatchDescriptors:
    """The descriptors of an image set, gathered chunk by chunk at every pyramid level.

    Args:
        shape: (C, H, W) of every image.
        count: the images the set will have (for the per-image share of `MAX_DESCRIPTORS`).
        seed: the pool of patch positions and the hash weights depend only on it; where in an
            image its patches are taken, on the seed and the image.

    Raises:
        ValueError: images smaller than a 7 x 7 neighbourhood.
    """

    def __init__(self, shape: tuple[int, int, int], count: int, seed: int) -> None:
        self.channels = shape[0]
        self.levels = pyramid_levels(min(shape[1:]))
        self.per_image = max(1, min(DESCRIPTORS_PER_IMAGE, MAX_DESCRIPTORS // max(count, 1)))
        generator = torch.Generator().manual_seed(seed)
        self._pools = [patch_positions(size, POOL, generator) for size in self.levels]
        numel = shape[0] * shape[1] * shape[2]
        self._weights = torch.randint(1, 1 << 40, (numel,), generator=generator)
        self._parts: list[list[torch.Tensor]] = [[] for _ in self.levels]
        self._hashes: list[torch.Tensor] = []

    @property
    def count(self) -> int:
        """The images added so far."""
        return sum(h.shape[0] for h in self._hashes)

    @torch.no_grad()
    def add(self, x: torch.Tensor) -> None:
        """Take descriptors from a chunk (n, C, H, W) in [-1, 1]."""
        x = x.detach().float().cpu()
        hashes = image_hashes(x, self._weights)
        self._hashes.append(hashes)
        picks = hashes[:, None] + _STEP * torch.arange(self.per_image)
        bands = laplacian_pyramid(x, len(self.levels))
        for parts, band, pool in zip(self._parts, bands, self._pools, strict=True):
            parts.append(patches(band, pool[picks % POOL]))

    def level(self, i: int) -> torch.Tensor:
        """The normalised descriptors of level i (finest first)."""
        return normalised(torch.cat(self._parts[i]), self.channels)

    def halves(self) -> tuple[PatchDescriptors, PatchDescriptors]:
        """Two disjoint halves of the set: the images whose hash has bit `HALF_BIT` clear, and
        the rest (each about half, chosen by the images' pixels, not their order; identical
        images all fall into one)."""
        hashes = torch.cat(self._hashes) if self._hashes else torch.zeros(0, dtype=torch.int64)
        side = (hashes >> HALF_BIT) & 1
        rows = side.repeat_interleave(self.per_image)
        whole = [torch.cat(parts) if parts else torch.zeros(0) for parts in self._parts]
        split = []
        for k in (0, 1):
            half = copy.copy(self)
            half._parts = [[d[rows == k]] for d in whole]
            half._hashes = [hashes[side == k]]
            split.append(half)
        return split[0], split[1]


def sliced_wasserstein(
    a: torch.Tensor, b: torch.Tensor, seed: int, projections: int | None = None
) -> float:
    """POT's sliced Wasserstein distance (p = 1, `projections` random unit directions, by
    default `PROJECTIONS`)."""
    import ot

    return float(
        ot.sliced_wasserstein_distance(
            a.double(), b.double(), n_projections=projections or PROJECTIONS, p=1, seed=seed
        )
    )


def swd(
    fake: PatchDescriptors, real: PatchDescriptors, seed: int, projections: int | None = None
) -> dict[str, float]:
    """`swd` (the mean over levels) and `swd_<size>` per level, times 1e3.

    Raises:
        ValueError: the two sets have different pyramid levels (different image sizes).
    """
    if fake.levels != real.levels:
        raise ValueError(f"pyramid levels differ: {fake.levels} and {real.levels}")
    values = {
        SWD.key(size): SCALE
        * sliced_wasserstein(fake.level(i), real.level(i), seed + i, projections)
        for i, size in enumerate(fake.levels)
    }
    return {SWD.key(): math.fsum(values.values()) / len(values)} | values


def matched_swd(
    fake: PatchDescriptors, real: tuple[PatchDescriptors, PatchDescriptors], seed: int
) -> dict[str, float]:
    """SWD of the generated against the real images at the size of the real-halves floor: the
    mean of `swd`(generated half 0, real half 1) and `swd`(generated half 1, real half 0), `real`
    being the real set's `halves()`; each key as `swd` gives it. SWD falls as the sets grow, so
    a value from whole sets would sit below a floor from half sets even for a perfect
    generator; this one sits at the floor.
    A half without images (a set of identical images) leaves its pair out.

    Raises:
        ValueError: as `swd`, or no pair with images on both sides.
    """
    pairs = [
        (f, r) for f, r in zip(fake.halves(), reversed(real), strict=True) if f.count and r.count
    ]
    if not pairs:
        raise ValueError("SWD needs generated and real images in both halves")
    values = [swd(f, r, seed) for f, r in pairs]
    return {key: math.fsum(v[key] for v in values) / len(values) for key in values[0]}


class QualityReference:
    """The real side of the quality measures, fixed for a run or a command: the real images'
    patch descriptors and, with `inception`, their Inception features; the floor (SWD of two
    disjoint halves of the real images) is computed once, at its first use.

    Args:
        shape: (C, H, W) of every image.
        count: the real images that will be added.
        seed: the SWD's draws (`PatchDescriptors`, the directions).
        inception: FID and KID against the same real images, or None (not computed).

    Raises:
        ValueError: images smaller than a 7 x 7 neighbourhood.
    """

    def __init__(
        self,
        shape: tuple[int, int, int],
        count: int,
        seed: int,
        inception: InceptionDistances | None = None,
    ) -> None:
        self.shape, self.seed, self.inception = shape, seed, inception
        self.descriptors = PatchDescriptors(shape, count, seed)
        self.seconds = 0.0  # spent on the real side, the floor included

    @torch.no_grad()
    def add_real(self, chunk: torch.Tensor) -> None:
        """Add a chunk of real images (n, C, H, W) in [-1, 1]."""
        began = time.perf_counter()
        self.descriptors.add(chunk)
        if self.inception is not None:
            self.inception.add_real(chunk)
        self.seconds += time.perf_counter() - began

    @functools.cached_property
    def floor(self) -> dict[str, float]:
        """SWD (mean and per level) between the two halves of the real images; empty where SWD
        is skipped (`swd_skipped`)."""
        began = time.perf_counter()
        first, second = self.halves
        values = {} if self.swd_skipped else swd(first, second, self.seed, FLOOR_PROJECTIONS)
        self.seconds += time.perf_counter() - began
        return values

    @functools.cached_property
    def swd_skipped(self) -> str | None:
        """Why SWD cannot be computed against these real images, or None: a half of them is
        empty (too few images, or all identical), so there is no floor and no half to match.
        Said once in the log on its first reading; the other measures go on without SWD."""
        first, second = self.halves
        if first.count and second.count:
            return None
        n = first.count + second.count
        if n >= ENOUGH_REAL:
            reason = f"the {n} real images all fall into one half (are they identical?)"
        else:
            images = "1 real image leaves" if n == 1 else f"{n} real images leave"
            reason = (
                f"{images} a half empty (SWD compares two halves, each image's half set by its "
                f"hash); it needs eval.num_samples (evaluate: --num-samples) >= {ENOUGH_REAL}, "
                f"where a half is empty 1 time in {2 ** (ENOUGH_REAL - 1)}"
            )
        log.warning("SWD skipped: %s", reason)
        return reason

    @functools.cached_property
    def halves(self) -> tuple[PatchDescriptors, PatchDescriptors]:
        """The real images' two halves, split once (the floor and every value read them)."""
        return self.descriptors.halves()

    def generated(self, count: int) -> GeneratedQuality:
        """A generated set of `count` images to measure against these real ones."""
        return GeneratedQuality(self, count)


class GeneratedQuality:
    """One generated set against a `QualityReference`: `add` its chunks as they stream past,
    then `values` (or `result`). `seconds` is the time spent in both."""

    def __init__(self, reference: QualityReference, count: int) -> None:
        self.reference = reference
        self.descriptors = PatchDescriptors(reference.shape, count, reference.seed)
        self.seconds = 0.0
        self._reference_before = reference.seconds

    @torch.no_grad()
    def add(self, chunk: torch.Tensor) -> None:
        """Add a chunk of generated images (n, C, H, W) in [-1, 1]."""
        began = time.perf_counter()
        self.descriptors.add(chunk)
        if self.reference.inception is not None:
            self.reference.inception.add_fake(chunk)
        self.seconds += time.perf_counter() - began

    def values(self) -> dict[str, float]:
        """SWD (mean and per level; none where the reference's `swd_skipped` says why) and,
        with Inception, FID and KID (its generated side is then reset)."""
        began = time.perf_counter()
        ref = self.reference
        found = {}
        if not ref.swd_skipped and self.descriptors.count:
            found = matched_swd(self.descriptors, ref.halves, ref.seed)
        if ref.inception is not None:
            found |= ref.inception.compute()
        self.seconds += time.perf_counter() - began
        return found

    def result(self) -> tuple[dict[str, float], dict[str, float], float]:
        """(`values`, the reference's floor, the seconds both sides spent since this set was
        begun): what an evaluation records as `quality`, `quality_floor`, `quality_seconds`."""
        values, floor = self.values(), self.reference.floor
        spent = self.seconds + self.reference.seconds - self._reference_before
        return values, floor, spent


def quality_levels(shape: tuple[int, ...]) -> list[int]:
    """The SWD's pyramid levels (px, finest first) for images (C, H, W); none for images
    smaller than a 7 x 7 neighbourhood (no quality measure is recorded for them)."""
    size = min(shape[1:])
    return pyramid_levels(size) if size >= NEIGHBOURHOOD else []
