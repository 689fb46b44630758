"""Downsampling stages of the discriminator, one class per kind, found by name in `DOWNSAMPLERS`.

Every stage maps (N, C_in, H, W) -> (N, C_out, H/stride, W/stride) for H, W divisible by the
stride. A new kind is one subclass registered here with the config schema it reads, and one
YAML file in configs/disc/ that selects that schema.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from checkerboard_gan.config import BlurPoolConfig, DiscConfig
from checkerboard_gan.models.filters import box_taps, separable_fir
from checkerboard_gan.models.upsampling import SameConv2d
from checkerboard_gan.registry import Registry


class Downsample(nn.Module):
    """One downsampling stage: (N, C_in, H, W) -> (N, C_out, H/s, W/s)."""

    def __init__(self, in_ch: int, out_ch: int, cfg: DiscConfig) -> None:
        super().__init__()
        self.kernel, self.stride = cfg.kernel, cfg.stride


DOWNSAMPLERS: Registry[type[Downsample]] = Registry("disc.name")
register = DOWNSAMPLERS.register


def build_downsample(in_ch: int, out_ch: int, cfg: DiscConfig) -> Downsample:
    """The stage of kind `cfg.name`; an unknown name or a config of another schema fails."""
    return DOWNSAMPLERS.check(cfg)(in_ch, out_ch, cfg)


def other_stage_config(cfg: DiscConfig) -> DiscConfig:
    """The config of the stages after the first with `first_stride_only`: kind `other`, with
    the same kernel and stride."""
    return DOWNSAMPLERS.config(cfg.other, "disc.other", kernel=cfg.kernel, stride=cfg.stride)


@register("strided", DiscConfig)
class StridedConv(Downsample):
    """Strided convolution (DCGAN): its gradient w.r.t. the input is a transposed conv, so it
    overlaps unevenly (a checkerboard in dD/dx) unless kernel % stride == 0 (Odena et al. 2016)."""

    def __init__(self, in_ch: int, out_ch: int, cfg: DiscConfig) -> None:
        super().__init__(in_ch, out_ch, cfg)
        padding = max(0, math.ceil((cfg.kernel - cfg.stride) / 2))
        self.conv = nn.Conv2d(in_ch, out_ch, cfg.kernel, cfg.stride, padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


@register("avgpool", DiscConfig)
class AvgPoolConv(Downsample):
    """Stride-1 conv then average pooling by the stride: the input gradient is spread evenly."""

    def __init__(self, in_ch: int, out_ch: int, cfg: DiscConfig) -> None:
        super().__init__(in_ch, out_ch, cfg)
        self.conv = SameConv2d(in_ch, out_ch, cfg.kernel)
        self.pool = nn.AvgPool2d(cfg.stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(x))


@register("blurpool", BlurPoolConfig)
class BlurPool(Downsample):
    """Stride-1 conv, LeakyReLU(0.2), then blur + subsample by the stride with a fixed, normalised
    low-pass filter: Zhang's ConvBlurPool ("Making Convolutional Networks Shift-Invariant
    Again", ICML 2019), the activation leaky as everywhere in this discriminator (Zhang: ReLU).

    `filter`: 1-D taps used along H and W, normalised to sum 1 (so the 2-D filter sums to 1);
    null gives two stride boxes convolved (`box_taps(s, 2)`), Zhang's binomial [1, 2, 1] at
    stride 2 and the triangle [1, 2, 3, 2, 1] at stride 3. The strided blur's gradient reaches
    input pixel i through the taps of its phase i mod s; the default's phases sum the same, so
    the gradient to the input is spread evenly (no checkerboard in dD/dx, like avgpool), while
    taps with unequal phase sums would put one back. The filter is a buffer; zero padding of
    len - 1 (half before, half after) gives exactly H / s (Zhang pads by reflection).
    """

    def __init__(self, in_ch: int, out_ch: int, cfg: BlurPoolConfig) -> None:
        super().__init__(in_ch, out_ch, cfg)
        taps = torch.tensor(cfg.filter or box_taps(cfg.stride, 2))
        self.register_buffer("taps", (taps / taps.sum()).float())
        self.conv = SameConv2d(in_ch, out_ch, cfg.kernel)
        self.act = nn.LeakyReLU(0.2)

    def filter2d(self) -> torch.Tensor:
        """The 2-D blur filter (L, L), the outer product of the taps: sums to 1."""
        return torch.outer(self.taps, self.taps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.conv(x))
        return separable_fir(y, self.taps, (self.taps.numel() - 1) // 2, self.stride)
