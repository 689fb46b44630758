"""Sample quality beside the artifacts: the sliced Wasserstein distance (SWD) over
Laplacian-pyramid patches of Karras et al. 2018 ("Progressive Growing of GANs", appendix D).

Per pyramid level, from the images' size down to 16 px: random 7 x 7 neighbourhoods of every
image, each a descriptor of C * 49 values, normalised per channel over the set (mean 0, std 1);
the sliced Wasserstein distance between the generated and the real descriptors over random
unit directions (POT's `sliced_wasserstein_distance`, p = 1: the mean over directions of the
1-D Wasserstein-1 distance of the projections), times 1e3 as the paper reports it. `swd` is the
mean over levels. Patches and directions are drawn from generators seeded by the run's seed, so a
value is reproducible.

Descriptors per image: `DESCRIPTORS_PER_IMAGE` (the paper takes 128 of each of 16,384 images and
512 directions; here 4 of each of the evaluation's N, at most `MAX_DESCRIPTORS` per level, and
128 directions), because POT's sliced Wasserstein distance costs seconds per level at that size
on a 2-core CPU (on shapes at 32 px, 2,048 against 2,048 real images: 21.1 +/- 1.4 over 4
seeds at 4 per image, 14.2 +/- 0.8 at 16; the value's sampling bias falls as descriptors grow).
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F

NEIGHBOURHOOD = 7
DESCRIPTORS_PER_IMAGE = 4
MAX_DESCRIPTORS = 1 << 13  # per level and set: time and memory bound whatever N
PROJECTIONS = 128  # the paper: 4 repeats of 128 directions
COARSEST = 16
SCALE = 1e3

_GAUSS = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16


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
    level, shared by every image, so the descriptors of a set do not depend on its order."""
    return torch.randint(0, size - NEIGHBOURHOOD + 1, (count, 2), generator=generator)


def patches(level: torch.Tensor, corners: torch.Tensor) -> torch.Tensor:
    """The 7 x 7 neighbourhoods at `corners` (m, 2) of each image of `level` (n, C, h, w), as
    descriptors (n * m, C * 49), image by image."""
    n, c = level.shape[:2]
    k = NEIGHBOURHOOD
    offsets = torch.arange(k)
    rows = (corners[:, 0, None] + offsets)[:, :, None]  # (m, k, 1)
    cols = (corners[:, 1, None] + offsets)[:, None, :]  # (m, 1, k)
    picked = level[:, :, rows, cols]  # (n, C, m, k, k)
    return picked.permute(0, 2, 1, 3, 4).reshape(n * corners.shape[0], c * k * k)


def normalised(descriptors: torch.Tensor, channels: int) -> torch.Tensor:
    """Per channel over the whole set: mean 0, std 1 (the paper's normalisation)."""
    d = descriptors.view(descriptors.shape[0], channels, -1)
    mean = d.mean(dim=(0, 2), keepdim=True)
    std = d.std(dim=(0, 2), keepdim=True).clamp_min(1e-8)
    return ((d - mean) / std).view_as(descriptors)


class PatchDescriptors:
    """The descriptors of an image set, gathered chunk by chunk at every pyramid level.

    Args:
        shape: (C, H, W) of every image.
        count: the images the set will have (for the per-image share of `MAX_DESCRIPTORS`).
        seed: where the patches are taken (the same places in every image) depends only on it.
    """

    def __init__(self, shape: tuple[int, int, int], count: int, seed: int) -> None:
        self.channels = shape[0]
        self.levels = pyramid_levels(min(shape[1:]))
        self.per_image = max(1, min(DESCRIPTORS_PER_IMAGE, MAX_DESCRIPTORS // max(count, 1)))
        generator = torch.Generator().manual_seed(seed)
        self._corners = [patch_positions(size, self.per_image, generator) for size in self.levels]
        self._parts: list[list[torch.Tensor]] = [[] for _ in self.levels]

    @torch.no_grad()
    def add(self, x: torch.Tensor) -> None:
        """Take descriptors from a chunk (n, C, H, W) in [-1, 1]."""
        bands = laplacian_pyramid(x.detach().float().cpu(), len(self.levels))
        for parts, band, corners in zip(self._parts, bands, self._corners, strict=True):
            parts.append(patches(band, corners))

    def level(self, i: int) -> torch.Tensor:
        """The normalised descriptors of level i (finest first)."""
        return normalised(torch.cat(self._parts[i]), self.channels)

    def halves(self) -> tuple[PatchDescriptors, PatchDescriptors]:
        """The descriptors of the first and the second half of the images (the real floor)."""
        whole = [torch.cat(parts) for parts in self._parts]
        cut = whole[0].shape[0] // self.per_image // 2 * self.per_image
        first, second = copy.copy(self), copy.copy(self)
        first._parts = [[d[:cut]] for d in whole]
        second._parts = [[d[cut:]] for d in whole]
        return first, second


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, seed: int) -> float:
    """POT's sliced Wasserstein distance (p = 1, `PROJECTIONS` random unit directions)."""
    import ot

    return float(
        ot.sliced_wasserstein_distance(
            a.double(), b.double(), n_projections=PROJECTIONS, p=1, seed=seed
        )
    )


def swd(fake: PatchDescriptors, real: PatchDescriptors, seed: int) -> dict[str, float]:
    """`swd` (the mean over levels) and `swd_<size>` per level, times 1e3.

    Raises:
        ValueError: the two sets have different pyramid levels (different image sizes).
    """
    if fake.levels != real.levels:
        raise ValueError(f"pyramid levels differ: {fake.levels} and {real.levels}")
    values = {
        f"swd_{size}": SCALE * sliced_wasserstein(fake.level(i), real.level(i), seed + i)
        for i, size in enumerate(fake.levels)
    }
    return {"swd": math.fsum(values.values()) / len(values)} | values
