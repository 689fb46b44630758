"""Upsampling stages of the generator, one class per kind, found by name in `UPSAMPLERS`.

Every stage maps (N, C_in, H, W) -> (N, C_out, stride*H, stride*W) exactly (DESIGN.md,
"Upsampling geometry"). A new kind is one subclass registered here and one YAML file in
configs/upsample/ whose `name` is the registry key.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .config import ConfigError, UpsampleConfig


class Upsample(nn.Module):
    """One upsampling stage: (N, C_in, H, W) -> (N, C_out, s*H, s*W)."""

    def __init__(self, in_ch: int, out_ch: int, cfg: UpsampleConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.kernel, self.stride = cfg.kernel, cfg.stride

    def after_init(self) -> None:
        """Hook run after the generator's weight init (for inits such as ICNR)."""

    def geometry(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """This stage's op on one channel with all-ones kernels and no bias, for overlap maps.

        Learned weights become ones; fixed filters (buffers) keep their taps and weights.
        """
        stage = type(self)(1, 1, self.cfg).double()
        with torch.no_grad():
            for name, param in stage.named_parameters():
                param.fill_(0.0 if name.endswith("bias") else 1.0)
        return stage


UPSAMPLERS: dict[str, type[Upsample]] = {}


def register(name: str) -> Callable[[type[Upsample]], type[Upsample]]:
    def add(cls: type[Upsample]) -> type[Upsample]:
        UPSAMPLERS[name] = cls
        return cls

    return add


def build_upsample(in_ch: int, out_ch: int, cfg: UpsampleConfig) -> Upsample:
    """The stage of kind `cfg.name`; an unknown name lists the valid ones."""
    if cfg.name not in UPSAMPLERS:
        raise ConfigError(
            f"upsample.name={cfg.name!r} is unknown: valid are {', '.join(sorted(UPSAMPLERS))}"
        )
    return UPSAMPLERS[cfg.name](in_ch, out_ch, cfg)


def deconv_padding(kernel: int, stride: int) -> tuple[int, int]:
    """(padding, output_padding) that make a transposed conv output exactly stride x its input."""
    padding = max(0, math.ceil((kernel - stride) / 2))
    return padding, stride - kernel + 2 * padding


@register("deconv")
class Deconv(Upsample):
    """Transposed convolution (Odena et al. 2016): overlap is uneven unless kernel % stride == 0;
    kernel < stride leaves holes."""

    def __init__(self, in_ch: int, out_ch: int, cfg: UpsampleConfig) -> None:
        super().__init__(in_ch, out_ch, cfg)
        padding, output_padding = deconv_padding(cfg.kernel, cfg.stride)
        # PyTorch needs output_padding < stride; at stride 1 with an odd excess, pad one less and
        # crop the first row and column instead, which is the same geometry.
        self.crop = output_padding >= cfg.stride
        if self.crop:
            padding, output_padding = padding - 1, 0
        self.conv = nn.ConvTranspose2d(
            in_ch, out_ch, cfg.kernel, cfg.stride, padding, output_padding
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return y[..., 1:, 1:] if self.crop else y


class ResizeConv(Upsample):
    """Interpolate by the stride, then a k x k stride-1 conv with 'same' output size."""

    mode = "nearest"

    def __init__(self, in_ch: int, out_ch: int, cfg: UpsampleConfig) -> None:
        super().__init__(in_ch, out_ch, cfg)
        self.conv = nn.Conv2d(in_ch, out_ch, cfg.kernel, padding="same")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=self.stride, mode=self.mode))


@register("nearest")
class NearestConv(ResizeConv):
    """Nearest-neighbour resize-convolution (Odena et al. 2016): every output pixel is reached by
    the same number of kernel taps, so the overlap is flat."""

    mode = "nearest"


@register("bilinear")
class BilinearConv(ResizeConv):
    """Bilinear resize-convolution (Odena et al. 2016): flat overlap; smoother than nearest,
    and reported to work worse in the article's GAN."""

    mode = "bilinear"


@register("subpixel")
class SubPixel(Upsample):
    """Sub-pixel convolution (Shi et al. 2016): k x k conv to C*s*s channels, then pixel shuffle.
    Flat overlap, equivalent to a deconv whose kernel is divisible by the stride; with `icnr`
    (Aitken et al. 2017) all s*s sub-kernels start equal, so at init it is conv + nearest resize."""

    def __init__(self, in_ch: int, out_ch: int, cfg: UpsampleConfig) -> None:
        super().__init__(in_ch, out_ch, cfg)
        self.icnr = bool(getattr(cfg, "icnr", False))
        self.conv = nn.Conv2d(in_ch, out_ch * cfg.stride**2, cfg.kernel, padding="same")
        self.shuffle = nn.PixelShuffle(cfg.stride)

    def after_init(self) -> None:
        if not self.icnr:
            return
        s2 = self.stride**2
        with torch.no_grad():
            w = self.conv.weight[::s2].clone()  # one sub-kernel per output channel
            self.conv.weight.copy_(w.repeat_interleave(s2, dim=0))
            self.conv.bias.copy_(self.conv.bias[::s2].repeat_interleave(s2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))
