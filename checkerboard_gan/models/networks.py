"""DCGAN-style generator and discriminator built from pluggable up/downsampling stages.

Widths follow DCGAN: `g_channels` (ngf) is the width entering the last generator stage and
`d_channels` (ndf) the width of the first discriminator stage; widths double towards 4x4.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from checkerboard_gan.config import Config, ConfigError, num_stages
from checkerboard_gan.models.custom import OverlapUnavailable, check_output, instantiate
from checkerboard_gan.models.downsampling import build_downsample
from checkerboard_gan.models.downsampling import other_stage_config as other_downsample
from checkerboard_gan.models.upsampling import Upsample, build_upsample
from checkerboard_gan.models.upsampling import other_stage_config as other_upsample


def _norm(kind: str, channels: int) -> nn.Module:
    return nn.BatchNorm2d(channels) if kind == "batch" else nn.Identity()


def dcgan_init(module: nn.Module) -> None:
    """DCGAN init (Radford et al. 2016): conv weights N(0, 0.02), batch-norm scale N(1, 0.02)."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    """z (N, z_dim) -> image (N, C, S, S) in [-1, 1] through a 4x4 base and n upsampling stages.

    With `upsample.last_n` only the last N stages are of kind `upsample.name`; the earlier ones
    are of kind `upsample.other` with kernel `upsample.other_kernel` (default nearest k3).
    """

    def __init__(self, cfg: Config) -> None:
        super().__init__()
        up, m, channels = cfg.upsample, cfg.model, cfg.dataset.channels
        n = num_stages(cfg.dataset.image_size, up.stride)
        widths = [m.g_channels * 2 ** (n - 1 - i) for i in range(n)]  # input width per stage
        outs = widths[1:] + [m.g_channels if up.final_conv else channels]
        last_n = n if up.last_n is None else up.last_n
        early = other_upsample(up)
        self.base_channels = widths[0]
        self.period = up.stride**n  # total upsampling factor from the 4x4 base
        self.final_kernel = up.final_kernel if up.final_conv else None
        self.project = nn.Linear(m.z_dim, widths[0] * 16)
        self.base = nn.Sequential(_norm(m.norm, widths[0]), nn.ReLU(inplace=True))
        layers: list[nn.Module] = []
        for i, (in_ch, out) in enumerate(zip(widths, outs, strict=True)):
            layers.append(build_upsample(in_ch, out, up if i >= n - last_n else early))
            if i < n - 1 or up.final_conv:
                layers += [_norm(m.norm, out), nn.ReLU(inplace=True)]
        if up.final_conv:
            layers.append(nn.Conv2d(m.g_channels, channels, up.final_kernel, padding="same"))
        layers.append(nn.Tanh())
        self.stages = nn.Sequential(*layers)
        self.apply(dcgan_init)
        for module in self.modules():
            if isinstance(module, Upsample):
                module.after_init()

    def geometries(self) -> list[Callable[[torch.Tensor], torch.Tensor]]:
        """Each upsampling stage's all-ones geometry, in order (and the final stride-1 conv's,
        k x k with "same" padding: for an even k one more row and column after than before)."""
        stages = [m.geometry() for m in self.stages if isinstance(m, Upsample)]
        if self.final_kernel is not None:
            k = self.final_kernel
            stages.append(lambda y: F.conv2d(y, y.new_ones(1, 1, k, k), padding="same"))
        return stages

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(z).view(z.shape[0], self.base_channels, 4, 4)  # (N, C0, 4, 4)
        return self.stages(self.base(x))


class CustomGenerator(nn.Module):
    """Your own whole generator (docs/custom.md): the class `model.generator`, called with the
    keyword arguments `z_dim`, `image_size`, `channels` and `model.generator_kwargs`.

    Checked at build to map (2, z_dim) to (2, channels, image_size, image_size) (eval mode, no
    gradient); its period is `model.period`, else its own `period` attribute, and must be a
    power of `upsample.stride` (the finest period measured). It keeps its own init. It has no
    stages the overlap map could be built from, so `geometries` says so.
    """

    def __init__(self, cfg: Config) -> None:
        super().__init__()
        m, size, channels = cfg.model, cfg.dataset.image_size, cfg.dataset.channels
        self.target = m.generator
        key = f"model.generator={m.generator}"
        sizes = {"z_dim": m.z_dim, "image_size": size, "channels": channels}
        self.net = instantiate(
            m.generator, key, sizes, m.generator_kwargs, "model.generator_kwargs"
        )
        self.period = generator_period(self.net, m.period, cfg.upsample.stride, key)
        expected = (2, channels, size, size)
        what = "map (N, model.z_dim) to (N, dataset.channels, image_size, image_size)"
        check_output(self.net, torch.zeros(2, m.z_dim), expected, what, key)

    def geometries(self) -> list[Callable[[torch.Tensor], torch.Tensor]]:
        raise OverlapUnavailable(
            f"model.generator={self.target} is a whole generator: the overlap map is built from "
            "upsampling stages, and it exposes none (use upsample=custom for your own stage)"
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def generator_period(net: nn.Module, given: int | None, stride: int, key: str) -> int:
    """`given` (model.period), else the generator's own `period`; a power of `stride` > 1."""
    period = given if given is not None else getattr(net, "period", None)
    if period is None:
        raise ConfigError(
            f"{key}: {type(net).__name__} declares no `period` attribute: give its total "
            "upsampling factor as model.period=P (e.g. 8 for three stride-2 stages)"
        )
    p = period
    while isinstance(p, int) and p > 1 and p % stride == 0:
        p //= stride
    if not isinstance(period, int) or p != 1 or period < stride:
        raise ConfigError(
            f"{key}: its period {period!r} must be a power of upsample.stride={stride} "
            f"(the finest period measured): {stride}, {stride**2}, {stride**3}, ..."
        )
    return period


def uses_custom_code(cfg: Config) -> bool:
    """Whether the generator calls classes of the user's (`upsample=custom`, `model.generator`)."""
    return cfg.model.generator is not None or "custom" in (cfg.upsample.name, cfg.upsample.other)


def build_generator(cfg: Config) -> nn.Module:
    """The generator a run trains: your class where `model.generator` names one, else the
    DCGAN generator built from `upsample=` stages. Both have `period` and `geometries()`."""
    return (Generator if cfg.model.generator is None else CustomGenerator)(cfg)


class Discriminator(nn.Module):
    """image (N, C, S, S) -> one logit per image, through n downsampling stages to 4x4.

    With `disc.first_stride_only` only the first stage is of kind `disc.name`; the later ones are
    of kind `disc.other` (default avgpool: conv + average pooling, the article's gradient
    figure) with the same kernel and stride.
    """

    def __init__(self, cfg: Config) -> None:
        super().__init__()
        m, d = cfg.model, cfg.disc
        n = num_stages(cfg.dataset.image_size, d.stride)
        later = other_downsample(d)
        layers: list[nn.Module] = []
        in_ch = cfg.dataset.channels
        for i in range(n):
            out = m.d_channels * 2**i
            layers.append(build_downsample(in_ch, out, later if i and d.first_stride_only else d))
            if i > 0:
                layers.append(_norm(m.norm, out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            in_ch = out
        self.stages = nn.Sequential(*layers)
        self.period = cfg.disc.stride**n  # total stride down to 4x4
        self.head = nn.Linear(in_ch * 16, 1)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stages(x)  # (N, C_last, 4, 4)
        return self.head(h.flatten(1)).squeeze(1)


@contextmanager
def batch_statistics(model: nn.Module) -> Iterator[None]:
    """Run `model` with batch-norm on the batch's own statistics without updating running ones.

    Samples are drawn this way (as in training) because at init the running statistics are
    (0, 1) and describe nothing the generator produces; eval mode would show a different net.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    was_training = model.training
    model.train()
    for m in norms:
        m.track_running_stats = False
    try:
        yield
    finally:
        for m in norms:
            m.track_running_stats = True
        model.train(was_training)
