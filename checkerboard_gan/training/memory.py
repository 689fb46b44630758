"""How much memory a run will need, estimated before anything is allocated.

The models are built and run on PyTorch's meta device (shapes only, no storage), so an
impossible config (a 4096 px generator, a dataset of hundreds of GB) is refused with its
estimate and the keys to change, instead of failing somewhere inside an allocation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from checkerboard_gan.config import Config, ConfigError, FileDatasetConfig, ShapesConfig

GB = 2**30
HEADROOM = 0.9  # refuse a run that would take more than this share of the free memory


@dataclass
class Estimate:
    """Bytes a run needs, by what needs them."""

    models: int  # G and D weights, gradients and Adam's two moments
    activations: int  # every module's output for one batch through G and D, kept for backward
    data: int  # the dataset held in memory and the evaluation batches

    @property
    def total(self) -> int:
        return self.models + self.activations + self.data


def _output_bytes(model: nn.Module, x: torch.Tensor) -> int:
    """Sum of every leaf module's output size (float32) for input `x`, run on the meta device."""
    total = 0

    def count(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        nonlocal total
        total += output.numel() * 4

    shares = (nn.ReLU, nn.LeakyReLU)  # in place: their output is their input's storage
    leaves = [
        m
        for m in model.modules()
        if not list(m.children()) and not (isinstance(m, shares) and m.inplace)
    ]
    handles = [m.register_forward_hook(count) for m in leaves]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return total


def _dataset_bytes(cfg: Config) -> int:
    """The in-memory images (uint8) of a generated dataset; file datasets stream past
    `dataset.max_memory_mb`, so that bounds them."""
    d = cfg.dataset
    per_image = d.channels * d.image_size**2
    if isinstance(d, ShapesConfig):
        return d.num_images * per_image
    return d.max_memory_mb * 2**20 if isinstance(d, FileDatasetConfig) else 0


def estimate(cfg: Config) -> Estimate:
    """The memory a run of `cfg` needs on its device (models, activations, data)."""
    from checkerboard_gan.models.networks import Discriminator, build_generator

    with torch.device("meta"):
        g, d = build_generator(cfg), Discriminator(cfg)
        params = sum(p.numel() for m in (g, d) for p in m.parameters())
        b = cfg.train.batch_size
        z = torch.empty(b, cfg.model.z_dim)
        x = torch.empty(b, cfg.dataset.channels, cfg.dataset.image_size, cfg.dataset.image_size)
        activations = _output_bytes(g, z) + 2 * _output_bytes(d, x)  # D sees real and fake
    image = cfg.dataset.channels * cfg.dataset.image_size**2 * 4
    evaluation = 2 * cfg.eval.num_samples * image  # generated and real batches, float32
    return Estimate(params * 4 * 4, activations, _dataset_bytes(cfg) + evaluation)


def free_bytes(device: torch.device) -> int | None:
    """Memory free for the run on `device`; None where it cannot be read."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    if device.type == "cpu":
        info = Path("/proc/meminfo")
        if info.is_file():
            for line in info.read_text().splitlines():
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError):
            return None
    return None


def check_memory(cfg: Config, device: torch.device) -> Estimate:
    """Refuse a run whose estimate exceeds the device's free memory, with what to change."""
    need, free = estimate(cfg), free_bytes(device)
    if free is not None and need.total > HEADROOM * free:
        raise ConfigError(
            f"this run needs about {need.total / GB:.1f} GB on {device} (models with optimiser "
            f"state {need.models / GB:.1f} GB, activations {need.activations / GB:.1f} GB, "
            f"data {need.data / GB:.1f} GB) but {free / GB:.1f} GB is free; lower "
            "dataset.image_size, dataset.num_images, model.g_channels, model.d_channels, "
            "train.batch_size or eval.num_samples"
        )
    return need
