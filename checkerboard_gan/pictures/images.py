"""Turning sample batches into pictures people can read: grids, contrast stretch, enlargement.

Fingerprint tiles are not stretched: `plots.fingerprint_figure` draws them on one shared scale.

Pure tensor functions; writing them to disk or TensorBoard happens in `logger`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
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


def grid(x: torch.Tensor, nrow: int | None = None, min_cell_px: int = MIN_CELL_PX) -> torch.Tensor:
    """A batch (N, C, H, W) in [0, 1] -> one enlarged RGB grid (3, H', W') in [0, 1]."""
    factor = max(1, math.ceil(min_cell_px / x.shape[-1]))
    nrow = nrow or max(1, int(math.sqrt(x.shape[0])))
    g = make_grid(
        enlarge(x.detach().float().cpu(), factor), nrow=nrow, padding=2 * factor, pad_value=1.0
    )
    return g.expand(3, -1, -1) if g.shape[0] == 1 else g


def sample_picture(x: torch.Tensor) -> torch.Tensor:
    """16 samples as a 4 x 4 grid, each stretched to its own range (at init they are near-flat)."""
    return grid(stretch(x[:16]), nrow=4, min_cell_px=32)


def side_by_side(left: torch.Tensor, right: torch.Tensor, gap: int = 8) -> torch.Tensor:
    """Two (3, H, W) images next to each other with a white gap between."""
    spacer = torch.ones(3, left.shape[1], gap)
    return torch.cat([left, spacer, right], dim=2)


def to_uint8_hwc(img: torch.Tensor) -> torch.Tensor:
    """(3, H, W) float [0, 1] -> (H, W, 3) uint8, for PIL."""
    return img.mul(255).round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).contiguous()


def without_zero_frequency(log_spectrum: torch.Tensor) -> torch.Tensor:
    """A centred (H, W) log spectrum with its zero-frequency bin (removed by the centring, not a
    real minimum) set to the median, so that it does not set the colour scale."""
    out = log_spectrum.clone()
    h, w = out.shape
    out[h // 2, w // 2] = out.median()
    return out


def flat_text(values: torch.Tensor, what: str = "") -> str | None:
    """For a flat map (every value the same), what its picture says instead of a blank square:
    "flat: WHAT, every pixel X" (the label's first line is "flat" or "flat: WHAT"); otherwise
    None."""
    v = values.detach().double()
    if v.numel() == 0 or v.max() != v.min():
        return None
    return f"flat{': ' + what if what else ''}\nevery pixel {v.flatten()[0].item():.4g}"


def heatmap(
    values: torch.Tensor,
    relative_to_max: bool = True,
    min_px: int = 128,
    frame: int = 2,
    flat_note: str = "",
) -> torch.Tensor:
    """A 2-D map (H, W) -> grey (3, H', W') in [0, 1], enlarged to at least `min_px` per side,
    inside a mid-grey frame of `frame` pixels.

    `relative_to_max` shows values / max (unevenness shows as contrast); otherwise the map is
    stretched from its min to its max (for dB spectra). A flat map (one value) would be a blank
    square on either scale: it is drawn mid-grey with `flat_text` written on it ("flat:
    FLAT_NOTE, every pixel X"), so no one reads it as a missing picture.
    """
    v = values.detach().double().cpu()
    label = flat_text(v, flat_note)
    if label is not None:
        v = torch.full_like(v, 0.5)
    elif relative_to_max:
        v = v / v.max() if v.max() > 0 else torch.zeros_like(v)
    else:
        v = (v - v.min()) / (v.max() - v.min()).clamp_min(1e-12)
    img = enlarge(v.float().clamp(0, 1)[None], max(1, math.ceil(min_px / max(v.shape))))
    if label is not None:
        img = _written(img, label)
    img = torch.nn.functional.pad(img, (frame,) * 4, value=0.5)
    return img.expand(3, -1, -1)


def _written(img: torch.Tensor, text: str) -> torch.Tensor:
    """A (1, H, W) grey image in [0, 1] with `text` written in black, centred on a white box."""
    picture = Image.fromarray(img[0].mul(255).round().to(torch.uint8).numpy(), mode="L")
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default(size=max(8, min(14, picture.width // 11)))
    centre = (picture.width / 2, picture.height / 2)
    box = draw.multiline_textbbox(centre, text, font=font, anchor="mm", align="center")
    draw.rectangle((box[0] - 3, box[1] - 3, box[2] + 3, box[3] + 3), fill=255)
    draw.multiline_text(centre, text, fill=0, font=font, anchor="mm", align="center")
    return torch.from_numpy(np.asarray(picture, dtype=np.float32) / 255.0)[None]


def gradient_grid(
    grad: torch.Tensor, nrow: int | None = None, min_cell_px: int = MIN_CELL_PX
) -> torch.Tensor:
    """|dD/dx| of a few images (K, C, H, W), summed over channels, each scaled by its own max;
    one row unless `nrow` says otherwise."""
    magnitude = grad.detach().abs().sum(1, keepdim=True)
    peak = magnitude.flatten(1).amax(1).clamp_min(1e-30).view(-1, 1, 1, 1)
    return grid(magnitude / peak, nrow=nrow or magnitude.shape[0], min_cell_px=min_cell_px)
