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


class SweepSummary(Callback):
    """On multirun end: summarise the sweep folder, then exit 1 if a run did not complete.

    Hydra turns exceptions raised in callbacks into warnings, so the exit is explicit.
    """

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from checkerboard_gan.sweeps.summary import summarize

        sweep_dir = Path(config.hydra.sweep.dir)
        rows = summarize(sweep_dir)
        log.info("sweep summary of %d runs: %s", len(rows), sweep_dir / "summary.md")
        bad = [r for r in rows if r.status != "completed"]
        if bad:
            names = ", ".join(f"{r.path.name} ({r.status})" for r in bad)
            log.error("%d of %d runs did not complete: %s", len(bad), len(rows), names)
            sys.exit(1)
