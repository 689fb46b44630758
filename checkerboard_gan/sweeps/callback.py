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

from checkerboard_gan.rundir.admission import refused_jobs

log = logging.getLogger(__name__)


class SweepSummary(Callback):
    """On multirun end: summarise the sweep folder from its jobs' own records, then exit 1 if a
    run did not complete, a job was refused, or the summary could not be written (one line).

    Hydra turns exceptions raised in callbacks into warnings, so the exit is explicit.
    """

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from checkerboard_gan.sweeps.summary import summarize

        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            rows = summarize(sweep_dir)
        except Exception as err:  # the runs are kept; the summary can be made again
            first = (str(err).splitlines() or [""])[0]
            log.error(
                "could not write the sweep summary of %s (%s: %s); its runs are kept, try "
                "python scripts/summarize.py %s",
                sweep_dir,
                type(err).__name__,
                first,
                sweep_dir,
            )
            sys.exit(1)
        log.info("%s", last_word(sweep_dir, len(rows)))
        bad = [f"{r.path.name} ({r.status})" for r in rows if r.status != "completed"]
        bad += [f"{p.name} (refused)" for p in refused_jobs]
        if bad:
            log.error("%d of %d runs did not complete: %s", len(bad), len(rows), ", ".join(bad))
            sys.exit(1)


def last_word(sweep_dir: Path, runs: int) -> str:
    """What a sweep says last (after its runs' own closing blocks): the summary table of
    summary.md (its headline columns), the sweep folder and how to look at all its runs."""
    table = [
        line
        for line in (sweep_dir / "summary.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("|")
    ]
    return "\n".join(
        [
            f"sweep done: {runs} runs (each cell: step 0 -> last, real images' floor in brackets)",
            *table,
            f"  sweep folder: {sweep_dir} (summary.md, summary.csv, summary.png)",
            f"  look: tensorboard --logdir {sweep_dir} --samples_per_plugin images=1000",
        ]
    )
