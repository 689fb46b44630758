"""Training images as batches on the training device; datasets are found by name in `DATASETS`.

The embedded `shapes` dataset is generated (no files, no network) and deterministic for its
seed: one saturated shape (disc, square or triangle, rotated) with sharp edges on a saturated
background, the extreme colours at which the article saw the strongest artifacts.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch

from .config import ConfigError, DatasetConfig, ShapesConfig

# Saturated RGB corners of the colour cube.
PALETTE = torch.tensor(
    [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1], [0, 0, 0]],
    dtype=torch.float32,
)
LUMA = torch.tensor([0.299, 0.587, 0.114])


@functools.lru_cache(maxsize=2)
def make_shapes(num: int, size: int, channels: int, seed: int) -> torch.Tensor:
    """Generate `num` shape images as a uint8 tensor (num, channels, size, size).

    Cached: the runs of a sweep in one process share the same (read-only) images.
    """
    g = torch.Generator().manual_seed(seed)
    bg = torch.randint(len(PALETTE), (num,), generator=g)
    fg = (bg + torch.randint(1, len(PALETTE), (num,), generator=g)) % len(PALETTE)
    kind = torch.randint(3, (num,), generator=g)
    cx, cy = (0.3 + 0.4 * torch.rand(2, num, 1, 1, generator=g)) * size
    radius = (0.18 + 0.14 * torch.rand(num, 1, 1, generator=g)) * size
    angle = torch.rand(num, 1, 1, generator=g) * (2 * math.pi)
    coords = torch.arange(size, dtype=torch.float32) + 0.5
    dx, dy = coords.view(1, 1, -1) - cx, coords.view(1, -1, 1) - cy  # (num, 1, S), (num, S, 1)
    u = dx * torch.cos(angle) + dy * torch.sin(angle)
    v = -dx * torch.sin(angle) + dy * torch.cos(angle)
    disc = u**2 + v**2 <= radius**2
    square = torch.maximum(u.abs(), v.abs()) <= 0.8 * radius
    sides = [u * math.cos(a) + v * math.sin(a) for a in (0.0, 2 * math.pi / 3, 4 * math.pi / 3)]
    triangle = torch.stack(sides).amax(0) <= 0.5 * radius
    k = kind.view(-1, 1, 1)
    mask = torch.where(k == 0, disc, torch.where(k == 1, square, triangle))  # (num, S, S)
    colours = PALETTE if channels == 3 else (PALETTE @ LUMA).unsqueeze(1)
    img = torch.where(
        mask.unsqueeze(1), colours[fg].view(num, -1, 1, 1), colours[bg].view(num, -1, 1, 1)
    )
    return (img * 255).round().to(torch.uint8)


class InMemoryBatches:
    """A uint8 image tensor kept on the device; batch `i` is a pure function of (seed, i).

    Each epoch is a fresh permutation seeded by (seed, epoch), so a run can be resumed at any
    step without saving a sampler state, and no per-sample Python work happens per batch.
    """

    def __init__(self, images: torch.Tensor, batch_size: int, seed: int) -> None:
        if images.shape[0] < batch_size:
            raise ConfigError(
                f"train.batch_size={batch_size} is larger than the dataset ({images.shape[0]} "
                "images)"
            )
        self.images, self.batch_size, self.seed = images, batch_size, seed
        self.per_epoch = images.shape[0] // batch_size
        self._epoch, self._order = -1, torch.empty(0, dtype=torch.long)

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._order = torch.randperm(self.images.shape[0], generator=g).to(self.images.device)
            self._epoch = epoch
        return self._order

    def batch(self, index: int) -> torch.Tensor:
        """Batch number `index` as float (B, C, H, W) in [-1, 1]."""
        epoch, pos = divmod(index, self.per_epoch)
        idx = self._permutation(epoch)[pos * self.batch_size : (pos + 1) * self.batch_size]
        return to_signed(self.images[idx])

    def fixed(self, num: int) -> torch.Tensor:
        """A fixed batch of `num` real images (the same for the whole run), float in [-1, 1]."""
        g = torch.Generator().manual_seed(self.seed + 7)
        idx = torch.randperm(self.images.shape[0], generator=g)[:num].to(self.images.device)
        return to_signed(self.images[idx])


def to_signed(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1]."""
    return images.float().div_(127.5).sub_(1.0)


def _shapes(cfg: ShapesConfig) -> torch.Tensor:
    return make_shapes(cfg.num_images, cfg.image_size, cfg.channels, cfg.seed)


DATASETS: dict[str, Callable[[DatasetConfig], torch.Tensor]] = {"shapes": _shapes}


def build_batches(
    cfg: DatasetConfig, batch_size: int, seed: int, device: torch.device
) -> InMemoryBatches:
    """The configured dataset as in-memory batches on `device`."""
    if cfg.name not in DATASETS:
        raise ConfigError(
            f"dataset.name={cfg.name!r} is unknown: valid are {', '.join(sorted(DATASETS))}"
        )
    return InMemoryBatches(DATASETS[cfg.name](cfg).to(device), batch_size, seed)
