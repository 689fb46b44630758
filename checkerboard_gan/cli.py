"""Command line: `python -m checkerboard_gan [overrides]`, a Hydra app over the typed config."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from .config import ConfigError, register_configs, validate

log = logging.getLogger("checkerboard_gan")


def config_dir() -> Path:
    """The shipped configs: in the installed package, or the top-level configs/ of a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "configs", here.parent / "configs"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"checkerboard_gan configs not found next to {here}")


register_configs()


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")
def _app(cfg: DictConfig) -> None:
    hydra_cfg = HydraConfig.get()
    try:
        typed = validate(cfg)
        from .trainer import train  # torch is imported only once the config is known good

        train(typed, Path(hydra_cfg.runtime.output_dir), list(hydra_cfg.overrides.task))
    except ConfigError as err:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"checkerboard_gan: error: {err}", file=sys.stderr)
        sys.exit(2)


def main() -> None:
    _app()
