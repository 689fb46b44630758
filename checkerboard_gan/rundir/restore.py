"""A run folder's trained generator read back: the typed config its checkpoint was made with
and the weights, for the commands that evaluate or sample a finished run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from torch import nn

from checkerboard_gan.config import (
    Config,
    ConfigError,
    compose_config,
    open_dicts,
    validate,
)
from checkerboard_gan.devices import resolve_device
from checkerboard_gan.models.networks import build_generator
from checkerboard_gan.rundir.checkpoint import find_checkpoint, load_latest


def saved_config(saved: dict[str, Any], overrides: list[str] | None = None) -> Config:
    """The typed config a checkpoint was made with: the schema of each group it names, with
    the saved values on top (and `overrides`, e.g. `eval.num_samples=512`)."""
    groups = [f"{g}={saved[g]['name']}" for g in ("upsample", "disc", "dataset")]
    base = compose_config(groups)
    merged = OmegaConf.merge(open_dicts(base), saved, OmegaConf.from_dotlist(overrides or []))
    return validate(merged)


def run_checkpoint(run_dir: Path, what: str) -> Path:
    """RUN_DIR's last checkpoint, or a ConfigError saying there is nothing to `what`."""
    run_dir = Path(run_dir)
    path = find_checkpoint(run_dir / "checkpoints") if (run_dir / "checkpoints").is_dir() else None
    if path is None:
        raise ConfigError(f"{run_dir} holds no checkpoint (checkpoints/last.pt): nothing to {what}")
    return path


def load_run(path: Path, overrides: list[str]) -> tuple[Config, nn.Module, int]:
    """The config, the generator with its trained weights on the config's device, and the
    step of the checkpoint at `path` (or of previous.pt where that one is corrupt)."""
    state, path = load_latest(path)
    cfg = saved_config(state["config"], overrides)
    generator = build_generator(cfg).to(resolve_device(cfg.device))
    generator.load_state_dict(state["generator"])
    return cfg, generator, state["step"]
