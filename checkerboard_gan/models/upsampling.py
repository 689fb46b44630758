"""Upsampling stages of the generator, one class per kind, found by name in `UPSAMPLERS`.

Every stage maps (N, C_in, H, W) -> (N, C_out, stride*H, stride*W) exactly (docs/design.md,
"Upsampling geometry"). A new kind is one subclass registered here with the config schema it
reads, and one YAML file in configs/upsample/ whose `name` is the registry key and whose
defaults select that schema.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from checkerboard_gan.config import (
    CustomUpsampleConfig,
    DeconvConfig,
    FilteredConfig,
    SubpixelConfig,
    UpsampleConfig,
)
from checkerboard_gan.models.custom import all_ones_geometry, check_output, instantiate
from checkerboard_gan.models.filters import box_taps, separable_fir, zero_insert
from checkerboard_gan.registry import Registry


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
        return self.all_ones(1)

    def all_ones(self, in_ch: int) -> Upsample:
        """This kind rebuilt with `in_ch` in, 1 out, in float64: parameters 1 (biases 0)."""
        stage = type(self)(in_ch, 1, self.cfg).double()
        with torch.no_grad():
            for name, param in stage.named_parameters():
                param.fill_(0.0 if name.endswith("bias") else 1.0)
        return stage


UPSAMPLERS: Registry[type[Upsample]] = Registry("upsample.name")
register = UPSAMPLERS.register


def build_upsample(in_ch: int, out_ch: int, cfg: UpsampleConfig) -> Upsample:
    """The stage of kind `cfg.name`; an unknown name or a config of another schema fails."""
    return UPSAMPLERS.check(cfg)(in_ch, out_ch, cfg)


def other_stage_config(cfg: UpsampleConfig) -> UpsampleConfig:
    """The config of the stages before the last `last_n`: kind `other`, kernel `other_kernel`."""
    return UPSAMPLERS.config(
        cfg.other, "upsample.other", kernel=cfg.other_kernel, stride=cfg.stride
    )


def deconv_padding(kernel: int, stride: int) -> tuple[int, int]:
    """(padding, output_padding) that make a transposed conv output exactly stride x its input."""
    padding = max(0, math.ceil((kernel - stride) / 2))
    return padding, stride - kernel + 2 * padding


def bilinear_upsample(x: torch.Tensor, stride: int) -> torch.Tensor:
    """Bilinear upsampling by an integer stride through F.interpolate.

    `filters.bilinear_filter` equals it to float rounding but trained slower on this project's
    CPU and on an H100 (bare loop at 32 px: 0.80 x, at 64 px 0.88 x interpolate's images/s;
    scripts/bench_kinds.py)."""
    return F.interpolate(x, scale_factor=stride, mode="bilinear", align_corners=False)


class SameConv2d(nn.Conv2d):
    """A k x k stride-1 conv whose output keeps its input's size: PyTorch's padding='same'
    ((k - 1) // 2 zeros before, k // 2 after), written out so that even kernels neither warn
    nor make a padded copy inside the conv. Parameters as nn.Conv2d's (same state_dict)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int) -> None:
        super().__init__(in_ch, out_ch, kernel, padding=kernel // 2 if kernel % 2 else 0)
        self.pads = (0, 0, 0, 0) if kernel % 2 else ((kernel - 1) // 2, kernel // 2) * 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, self.pads) if any(self.pads) else x)


class BoxBlur(nn.Module):
    """Zero-order hold: the mean over an s x s box (stride 1) of a stage's output, same size.

    `hold(op, x)` computes op on x zero-padded by one input pixel, i.e. the stage's own output a
    little beyond the border (what its zero padding gives there), and takes the box mean over
    the s*H x s*W window: s // 2 rows and columns before each output pixel and (s - 1) // 2
    after (at s = 2 the alignment of fastai's PixelShuffle_ICNR(blur=True)). Reading the real
    values beyond the border instead of a replicated edge matters in a generator grown from
    4x4: fastai's replicate padding left a measurable border checkerboard at init (CB_8 about
    0.24 for subpixel k3, 0.38 for deconv k3, against 0.06-0.07 this way and 0.06 for nearest).
    The box is a buffer, so overlap maps keep it.
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.register_buffer("weight", torch.full((1, 1, size, size), 1.0 / size**2))

    def hold(self, op: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        s = self.size
        if s == 1:
            return op(x)
        y = op(F.pad(x, (1, 1, 1, 1)))  # (N, C, s*(H+2), s*(W+2)): output rows -s .. s*H+s-1
        lo, hi = s - s // 2, s - (s - 1) // 2
        y = y[..., lo : y.shape[-2] - hi, lo : y.shape[-1] - hi]  # rows -(s//2) .. s*H+(s-1)//2-1
        c = y.shape[1]
        return F.conv2d(y, self.weight.expand(c, 1, s, s), groups=c)  # depthwise: fast on CPU


@register("deconv", DeconvConfig)
class Deconv(Upsample):
    """Transposed convolution (Odena et al. 2016): overlap is uneven unless kernel % stride == 0;
    kernel < stride leaves holes.

    With `blur` a fixed s x s box mean (a zero-order hold, Sugawara, Shiota & Kiya, "Super-
    resolution using convolutional neural networks without any checkerboard artifacts", ICIP
    2018) follows. The deconv's overlap (and its response to a constant input) is periodic with
    period s; the box (`BoxBlur`, a buffer) averages every output over one whole period, so the
    overlap map is flat for every kernel (e.g. k3 s2: [1, 2] becomes [1.5, 1.5]) and even the
    holes of kernel < stride are filled. Equivalently the effective kernel is the deconv's
    convolved with an s x s box (Sugawara et al.'s formulation); in the interior it computes
    what nearest resize-conv does. Output stays exactly s*H; at the border the box reads the
    deconv's own output beyond it (see `BoxBlur`).
    """

    def __init__(self, in_ch: int, out_ch: int, cfg: DeconvConfig) -> None:
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
        self.blur = BoxBlur(cfg.stride) if self.blurred(cfg) else None

    @staticmethod
    def blurred(cfg: DeconvConfig) -> bool:
        return cfg.blur

    def deconv(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return y[..., 1:, 1:] if self.crop else y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.deconv(x) if self.blur is None else self.blur.hold(self.deconv, x)


class ResizeConv(Upsample):
    """Interpolate by the stride, then a k x k stride-1 conv with 'same' output size."""

    mode = "nearest"

    def __init__(self, in_ch: int, out_ch: int, cfg: UpsampleConfig) -> None:
        super().__init__(in_ch, out_ch, cfg)
        self.conv = SameConv2d(in_ch, out_ch, cfg.kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.resize(x))

    def resize(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=self.stride, mode=self.mode)


@register("nearest", UpsampleConfig)
class NearestConv(ResizeConv):
    """Nearest-neighbour resize-convolution (Odena et al. 2016): every output pixel is reached by
    the same number of kernel taps, so the overlap is flat."""

    mode = "nearest"


@register("bilinear", UpsampleConfig)
class BilinearConv(ResizeConv):
    """Bilinear resize-convolution (Odena et al. 2016): flat overlap; smoother than nearest,
    and reported to work worse in the article's GAN."""

    mode = "bilinear"

    def resize(self, x: torch.Tensor) -> torch.Tensor:
        return bilinear_upsample(x, self.stride)


@register("subpixel", SubpixelConfig)
class SubPixel(Upsample):
    """Sub-pixel convolution (Shi et al. 2016): k x k conv to C*s*s channels, then pixel shuffle.
    Flat overlap, equivalent to a deconv whose kernel is divisible by the stride; with `icnr`
    (Aitken et al. 2017) all s*s sub-kernels start equal, so at init it is conv + nearest resize.
    With `blur` a fixed s x s box blur follows the shuffle (fastai's PixelShuffle_ICNR(blur=True),
    after Sugawara et al. 2018): it averages each output over one period, so the s*s sub-kernels
    can no longer drift apart into a checkerboard; the overlap stays flat."""

    def __init__(self, in_ch: int, out_ch: int, cfg: SubpixelConfig) -> None:
        super().__init__(in_ch, out_ch, cfg)
        self.icnr = cfg.icnr
        self.conv = SameConv2d(in_ch, out_ch * cfg.stride**2, cfg.kernel)
        self.shuffle = nn.PixelShuffle(cfg.stride)
        self.blur = BoxBlur(cfg.stride) if cfg.blur else None

    def after_init(self) -> None:
        if not self.icnr:
            return
        s2 = self.stride**2
        with torch.no_grad():
            w = self.conv.weight[::s2].clone()  # one sub-kernel per output channel
            self.conv.weight.copy_(w.repeat_interleave(s2, dim=0))
            self.conv.bias.copy_(self.conv.bias[::s2].repeat_interleave(s2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.blur is None:
            return self.shuffle(self.conv(x))
        return self.blur.hold(lambda y: self.shuffle(self.conv(y)), x)


@register("deconv_blur", UpsampleConfig)
class DeconvBlur(Deconv):
    """`deconv` with its blur always on: the same stage as `upsample=deconv upsample.blur=true`,
    kept as a kind since earlier runs and the studies name it."""

    @staticmethod
    def blurred(cfg: UpsampleConfig) -> bool:
        return True


@register("zeros", UpsampleConfig)
class ZeroInsertConv(Upsample):
    """Zero insertion, then a k x k stride-1 'same' conv (the zero-insertion upsampling studied by
    Chandrasegaran et al., "A Closer Look at Fourier Spectrum Discrepancies for CNN-generated
    Images Detection", CVPR 2021).

    Each input pixel goes to the top-left of an s x s block, zeros elsewhere. This is a
    transposed convolution written out: an output pixel is reached by as many taps as there are
    inserted samples in its k x k window, floor(k/s) or ceil(k/s) per axis, so the overlap is
    uneven exactly as deconv's (k3 s2: 1-D [1, 2], unevenness 4) unless kernel % stride == 0,
    and kernel < stride leaves holes.
    """

    def __init__(self, in_ch: int, out_ch: int, cfg: UpsampleConfig) -> None:
        super().__init__(in_ch, out_ch, cfg)
        self.conv = SameConv2d(in_ch, out_ch, cfg.kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(zero_insert(x, self.stride))


@register("filtered", FilteredConfig)
class FilteredConv(Upsample):
    """Zero insertion, a fixed separable low-pass FIR, then a k x k stride-1 'same' conv: the
    filtered upsampling of StyleGAN2/3 (Karras et al. 2020, 2021), interpolation by zero stuffing
    and an anti-imaging filter as in multirate signal processing.

    `filter`: 1-D taps (e.g. [1, 3, 3, 1], or a windowed sinc), used along H and W. Null gives
    three stride boxes convolved (`box_taps(s, 3)`), which is the binomial [1, 3, 3, 1] at
    stride 2 and [1, 3, 6, 7, 6, 3, 1] at stride 3. The taps are scaled to sum to s (gain s*s in
    2-D), so a constant input keeps its level on average, exactly wherever every phase mod s
    sums to the same (true of the default): the overlap is flat for the default filter, and
    taps whose phases differ (e.g. [1, 3, 3, 1] at stride 3) show up as uneven overlap. The
    filter is a buffer; its centre is aligned to the centre of each s x s block.
    """

    def __init__(self, in_ch: int, out_ch: int, cfg: FilteredConfig) -> None:
        super().__init__(in_ch, out_ch, cfg)
        taps = cfg.filter or box_taps(cfg.stride, 3)
        self.register_buffer("taps", torch.tensor(taps, dtype=torch.float32))  # as given
        # An input sample sits at s*i and the centre of its block at s*i + (s-1)/2; the taps'
        # centre (L-1)/2 goes there.
        self.left = (len(taps) + cfg.stride - 2) // 2
        self.conv = SameConv2d(in_ch, out_ch, cfg.kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        taps = self.taps * (self.stride / self.taps.sum())  # gain s per axis, in x's dtype
        y = separable_fir(zero_insert(x, self.stride), taps, self.left)
        return self.conv(y)


@register("bilinear_additive", UpsampleConfig)
class BilinearAdditive(Upsample):
    """Bilinear additive upsampling (Wojna et al., "The Devil is in the Decoder", BMVC 2017):
    bilinear resize by s, then each group of s*s consecutive channels summed (C -> C / s^2),
    then a k x k stride-1 'same' conv to `out_ch`.

    Parameter-free upsampling followed by a stride-1 conv, so the overlap is flat like bilinear
    resize-conv. When `in_ch` is not a multiple of s*s a learned 1x1 conv first maps it to the
    next multiple (e.g. 3 -> 4 at stride 2, 32 -> 36 at stride 3), so every group is whole; the
    generator's widths g_channels * 2^i need none at stride 2 when g_channels % 4 == 0.
    """

    def __init__(self, in_ch: int, out_ch: int, cfg: UpsampleConfig) -> None:
        super().__init__(in_ch, out_ch, cfg)
        group = cfg.stride**2
        width = -(-in_ch // group) * group  # the next multiple of s*s
        self.adapt = nn.Conv2d(in_ch, width, 1) if width != in_ch else nn.Identity()
        self.group = group
        self.conv = SameConv2d(width // group, out_ch, cfg.kernel)

    def upsample(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, ceil(C / s^2), s*H, s*W): adapt, bilinear resize, group sums."""
        y = self.adapt(x)
        if self.stride > 1:
            y = bilinear_upsample(y, self.stride)
        n, c, h, w = y.shape
        return y.reshape(n, c // self.group, self.group, h, w).sum(dim=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.upsample(x))

    def geometry(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """The stage with s*s input channels (one whole group, no adapter), fed s*s copies of
        the one-channel input: every output pixel counts the paths of all s*s summed channels."""
        stage = self.all_ones(self.group)
        return lambda y: stage(y.expand(-1, self.group, -1, -1))


@register("custom", CustomUpsampleConfig)
class CustomUpsample(Upsample):
    """Your own stage (docs/custom.md): the class `upsample.target`, called with the keyword
    arguments `in_channels`, `out_channels`, `kernel`, `stride` and `upsample.kwargs`.

    Checked at build on a (2, in_channels, 4, 4) input of ones (eval mode, no gradient) to
    return exactly (2, out_channels, 4 * stride, 4 * stride). It gets the DCGAN init as every
    kind does, then its own `after_init()` if it defines one. Its overlap map comes from the
    all-ones construction (`custom.all_ones_geometry`), or is unavailable with the reason.
    """

    def __init__(self, in_ch: int, out_ch: int, cfg: CustomUpsampleConfig) -> None:
        super().__init__(in_ch, out_ch, cfg)
        self.module = self.make(in_ch, out_ch)

    def make(self, in_ch: int, out_ch: int) -> nn.Module:
        """The user's stage with `in_ch` in and `out_ch` out, checked to upsample by the stride."""
        cfg, s = self.cfg, self.stride
        key = f"upsample.target={cfg.target}"
        sizes = {"in_channels": in_ch, "out_channels": out_ch, "kernel": self.kernel, "stride": s}
        module = instantiate(cfg.target, key, sizes, cfg.kwargs, "upsample.kwargs")
        what = f"multiply height and width by exactly upsample.stride={s}"
        check_output(module, torch.ones(2, in_ch, 4, 4), (2, out_ch, 4 * s, 4 * s), what, key)
        return module

    def after_init(self) -> None:
        hook = getattr(self.module, "after_init", None)
        if callable(hook):
            hook()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x)

    def geometry(self) -> Callable[[torch.Tensor], torch.Tensor]:
        return all_ones_geometry(lambda: self.make(1, 1), f"upsample.target={self.cfg.target}")
