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
from checkerboard_gan.rundir.checkpoint import CheckpointError, find_checkpoint, load_latest


def saved_config(saved: dict[str, Any], overrides: list[str] | None = None) -> Config:
    """The typed config a checkpoint was made with: the schema of each group it names, with
    the saved values on top (and `overrides`, e.g. `eval.num_samples=512`)."""
    groups = [f"{g}={saved[g]['name']}" for g in ("upsample", "disc", "dataset")]
    base = compose_config(groups)
    merged = OmegaConf.merge(open_dicts(base), saved, OmegaConf.from_dotlist(overrides or []))
    return validate(merged)


def run_checkpoint(run_dir: Path, what: str) -> Path:
    """RUN_DIR's last checkpoint.

    Raises:
        ConfigError: RUN_DIR does not exist, is a file, or holds no checkpoint (nothing to
            `what`).
    """
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise ConfigError(f"{run_dir} does not exist: give a run folder (one holding checkpoints/)")
    if not run_dir.is_dir():
        raise ConfigError(
            f"{run_dir} is a file, not a run folder: give the folder that holds checkpoints/"
        )
    path = find_checkpoint(run_dir / "checkpoints") if (run_dir / "checkpoints").is_dir() else None
    if path is None:
        raise ConfigError(f"{run_dir} holds no checkpoint (checkpoints/last.pt): nothing to {what}")
    return path


def load_run(path: Path, overrides: list[str]) -> tuple[Config, nn.Module, int]:
    """The config, the generator with its trained weights on the config's device, and the
    step of the checkpoint at `path` (or of previous.pt where that one is corrupt).

    Raises:
        CheckpointError: the file is pickled or corrupt, or its generator's weights do not fit
            the generator its config builds.
        SchemaError: the file is not a checkpoint (its structure is checked on loading).
        ConfigError: its config, with `overrides`, is not valid.
    """
    state, path = load_latest(path)
    cfg = saved_config(state["config"], overrides)
    generator = build_generator(cfg).to(resolve_device(cfg.device))
    try:
        generator.load_state_dict(state["generator"])
    except RuntimeError as err:  # missing, unexpected or misshapen weights
        raise CheckpointError(
            f"checkpoint {path}: its generator weights do not fit the generator its config "
            f"builds ({str(err).strip().splitlines()[-1].strip()})"
        ) from err
    return cfg, generator, state["step"]
