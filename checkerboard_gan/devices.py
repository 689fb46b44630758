"""Which device a run uses, and the options whose null means "on for CUDA"."""

from __future__ import annotations

import torch

from checkerboard_gan.config import ConfigError


def resolve_device(name: str) -> torch.device:
    """`auto` picks cuda, then mps, then cpu; a device this machine lacks is a ConfigError."""
    if name != "auto":
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(
                f"device={name}: this machine has no CUDA GPU; use device=cpu or auto"
            )
        if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
            count = torch.cuda.device_count()
            raise ConfigError(
                f"device={name}: this machine has {count} GPU(s), cuda:0..{count - 1}"
            )
        mps = getattr(torch.backends, "mps", None)
        if device.type == "mps" and not (mps and mps.is_available()):
            raise ConfigError(f"device={name}: MPS is not available here; use device=cpu or auto")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def cuda_default(option: bool | None, device: torch.device) -> bool:
    """An option whose null means: on for CUDA, off elsewhere (`log.background`)."""
    return device.type == "cuda" if option is None else option
