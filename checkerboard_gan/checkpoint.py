"""Checkpoints: models, optimisers and step as tensors and plain data (loads with weights_only)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from .run_status import atomic_write_bytes


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write `state` atomically (temporary file, fsync, rename)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(Path(path), buffer.getvalue())


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint without unpickling code (weights_only)."""
    return torch.load(path, map_location=map_location, weights_only=True)
