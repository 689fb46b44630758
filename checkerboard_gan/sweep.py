"""Hydra callback that ends every multirun in one comparison (summary.csv, .md, .png).

Kept free of heavy imports: Hydra instantiates callbacks for single runs too.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)


def sweep_overrides(hydra_cfg: DictConfig) -> list[Any]:
    """A multirun's overrides as Hydra's basic sweeper reads them: the sweeper's `params`, then
    the command line's (hydra.overrides.task), parsed (hydra's Override objects)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = hydra_cfg.sweeper.get("params") or {}
    args = [f"{k}={v}" for k, v in params.items()] + [str(o) for o in hydra_cfg.overrides.task]
    return OverridesParser.create().parse_overrides(args)


class SweepSummary(Callback):
    """On multirun end: summarise the sweep folder, then exit 1 if a run did not complete.

    Hydra turns exceptions raised in callbacks into warnings, so the exit is explicit.
    """

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from .summary import summarize

        sweep_dir = Path(config.hydra.sweep.dir)
        rows = summarize(sweep_dir)
        log.info("sweep summary of %d runs: %s", len(rows), sweep_dir / "summary.md")
        bad = [r for r in rows if r.status != "completed"]
        if bad:
            names = ", ".join(f"{r.path.name} ({r.status})" for r in bad)
            log.error("%d of %d runs did not complete: %s", len(bad), len(rows), names)
            sys.exit(1)
