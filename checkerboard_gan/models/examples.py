"""Examples of your own code in the model (docs/custom.md): a stage and a whole generator.

Copy either into a module of your own, change it, and name it in the config:

    python -m checkerboard_gan upsample=custom upsample.target=mypkg.layers.MyStage
    python -m checkerboard_gan model.generator=mypkg.nets.MyGenerator

Both use plain PyTorch only, as code written outside this package would.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ResizeConvStage(nn.Module):
    """An upsampling stage for `upsample=custom upsample.target=...`: resize by `stride`
    (`mode`: nearest, bilinear, ... as F.interpolate takes it), then a `kernel` x `kernel`
    stride-1 conv padded to keep the size.

    The program calls it with the keyword arguments `in_channels`, `out_channels`, `kernel`,
    `stride` and the entries of `upsample.kwargs` (here `mode`), and checks at build that it maps
    (N, in_channels, H, W) to (N, out_channels, stride*H, stride*W). Its overlap map comes from
    an instance with one channel in and out, `weight` set to ones and `bias` to zero, run on an
    all-ones input: flat for nearest (every output pixel is reached by kernel^2 taps).
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel: int, stride: int, mode: str = "nearest"
    ) -> None:
        super().__init__()
        self.stride, self.mode = stride, mode
        self.pads = ((kernel - 1) // 2, kernel // 2) * 2  # left, right, top, bottom: same size
        self.conv = nn.Conv2d(in_channels, out_channels, kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.interpolate(x, scale_factor=self.stride, mode=self.mode)  # (N, C_in, sH, sW)
        return self.conv(F.pad(y, self.pads))  # (N, C_out, sH, sW)


class ExampleGenerator(nn.Module):
    """A whole generator for `model.generator=...`: DCGAN's (pytorch/examples dcgan), z to a
    4x4 base, then transposed convs with kernel 4, stride 2, padding 1 (even overlap) up to
    `image_size`, batch norm and ReLU between, tanh at the end.

    The program calls it with the keyword arguments `z_dim`, `image_size`, `channels` and the
    entries of `model.generator_kwargs` (here `width`), checks at build that it maps (N, z_dim)
    to (N, channels, image_size, image_size), and reads its total upsampling factor from
    `period` (or from `model.period`). It keeps its own initialisation.
    """

    def __init__(self, z_dim: int, image_size: int, channels: int, width: int = 32) -> None:
        super().__init__()
        stages = max(1, (image_size // 4).bit_length() - 1)  # 4 * 2^stages = image_size
        if 4 * 2**stages != image_size:
            raise ValueError(f"image_size must be 4 * 2^n, got {image_size}")
        self.period = 2**stages  # declared: the measures read periods 2, 4, ..., period
        widths = [width * 2 ** (stages - 1 - i) for i in range(stages)] + [channels]
        self.project = nn.Linear(z_dim, widths[0] * 16)
        layers: list[nn.Module] = [nn.BatchNorm2d(widths[0]), nn.ReLU()]
        for i, (w_in, w_out) in enumerate(zip(widths, widths[1:], strict=False)):
            layers.append(nn.ConvTranspose2d(w_in, w_out, 4, 2, 1))
            last = i == stages - 1
            layers += [nn.Tanh()] if last else [nn.BatchNorm2d(w_out), nn.ReLU()]
        self.stages = nn.Sequential(*layers)
        self.base = widths[0]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(z).view(z.shape[0], self.base, 4, 4)  # (N, width * 2^(n-1), 4, 4)
        return self.stages(x)  # (N, channels, image_size, image_size) in [-1, 1]
