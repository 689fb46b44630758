"""Turning sample batches into pictures people can read: grids, contrast stretch, enlargement.

Pure tensor functions; writing them to disk or TensorBoard happens in `logger`.
"""

from __future__ import annotations

import math

import torch
from torchvision.utils import make_grid

MIN_CELL_PX = 64  # enlarge small images to at least this many pixels per side


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1], clamped: the raw view."""
    return x.add(1.0).mul_(0.5).clamp_(0.0, 1.0)


def stretch(x: torch.Tensor) -> torch.Tensor:
    """Each image (all its channels together) mapped from its own min..max to [0, 1].

    At random init the samples are nearly flat grey: only this view shows their patterns.
    """
    flat = x.flatten(1)
    low, high = flat.amin(1), flat.amax(1)
    scale = (high - low).clamp_min(1e-12)
    return ((flat - low[:, None]) / scale[:, None]).view_as(x)


def enlarge(img: torch.Tensor, factor: int) -> torch.Tensor:
    """Nearest-neighbour enlargement by an integer factor, so one-pixel patterns stay sharp."""
    if factor == 1:
        return img
    return img.repeat_interleave(factor, dim=-2).repeat_interleave(factor, dim=-1)


def grid(x: torch.Tensor, nrow: int | None = None) -> torch.Tensor:
    """A batch (N, C, H, W) in [0, 1] -> one enlarged RGB grid (3, H', W') in [0, 1]."""
    factor = max(1, math.ceil(MIN_CELL_PX / x.shape[-1]))
    nrow = nrow or max(1, int(math.sqrt(x.shape[0])))
    g = make_grid(
        enlarge(x.detach().float().cpu(), factor), nrow=nrow, padding=2 * factor, pad_value=1.0
    )
    return g.expand(3, -1, -1) if g.shape[0] == 1 else g


def side_by_side(left: torch.Tensor, right: torch.Tensor, gap: int = 8) -> torch.Tensor:
    """Two (3, H, W) images next to each other with a white gap between."""
    spacer = torch.ones(3, left.shape[1], gap)
    return torch.cat([left, spacer, right], dim=2)


def to_uint8_hwc(img: torch.Tensor) -> torch.Tensor:
    """(3, H, W) float [0, 1] -> (H, W, 3) uint8, for PIL."""
    return img.mul(255).round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).contiguous()
