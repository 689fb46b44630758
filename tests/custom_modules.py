"""Classes a user might write, named in configs as `tests.custom_modules.NAME` (test_custom.py)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class TransposedStage(nn.Module):
    """A plain transposed conv padded to give exactly stride x the input: the built-in deconv's
    geometry (k3 s2 overlaps unevenly, k4 s2 evenly), written as a user would."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int) -> None:
        super().__init__()
        padding = max(0, math.ceil((kernel - stride) / 2))
        extra = stride - kernel + 2 * padding
        self.conv = nn.ConvTranspose2d(in_channels, out_channels, kernel, stride, padding, extra)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Shrink(nn.Module):
    """Does not upsample: a 'same' conv keeps the size."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class NeedsArg(TransposedStage):
    """Needs a keyword the program does not give (`depth`)."""

    def __init__(self, in_channels, out_channels, kernel, stride, depth) -> None:
        super().__init__(in_channels, out_channels, kernel, stride)


class ParameterFree(nn.Module):
    """Nearest resize and a channel mean, no parameters: it trains (the generator's other layers
    learn) but has no weights to set to ones."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.out_channels, self.stride = out_channels, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.interpolate(x.mean(1, keepdim=True), scale_factor=self.stride, mode="nearest")
        return y.expand(-1, self.out_channels, -1, -1)


class RectifiedStage(TransposedStage):
    """A transposed conv with a ReLU inside: not linear."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv(x))


class TinyGenerator(nn.Module):
    """A whole generator: z to a 4x4 base, nearest x2 resize-convs up to `image_size`. It
    declares its `period` only when asked to (`declare`)."""

    def __init__(self, z_dim, image_size, channels, width: int = 8, declare: bool = True):
        super().__init__()
        n = int(math.log2(image_size // 4))
        if declare:
            self.period = 2**n
        self.width = width
        self.project = nn.Linear(z_dim, width * 16)
        layers: list[nn.Module] = []
        for i in range(n):
            out = channels if i == n - 1 else width
            layers += [nn.Upsample(scale_factor=2), nn.Conv2d(width, out, 3, padding=1)]
            layers.append(nn.Tanh() if i == n - 1 else nn.ReLU())
        self.stages = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.stages(self.project(z).view(-1, self.width, 4, 4))


class HalfSizeGenerator(TinyGenerator):
    """Returns images half the size asked for."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(super().forward(z), 2)
