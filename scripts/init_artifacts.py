"""Artifact measures at random initialisation, mean and std over seeds, per config of a study.

A study is a Hydra experiment config (`configs/experiment/NAME.yaml`, as the report runs them);
this runs it as one multirun with `train.steps=0` (probes at init only) and the given seeds,
then reads the run folders:

    python scripts/init_artifacts.py init_deconv init_resize --seeds 5
    python scripts/init_artifacts.py init_study upsample.kernel=3,4 --seeds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import checkerboard_gan
from checkerboard_gan.analysis.catalogue import of_stage
from checkerboard_gan.sweeps.runs import RunRow, read_sweep

# the probe measures read at the total period, in table order
MEASURES = [m.key() for m in of_stage("probe") if not m.per_period]


def run_study(name: str, seeds: int, overrides: list[str], sweep_dir: Path) -> list[RunRow]:
    """`python -m checkerboard_gan -m +experiment=NAME train.steps=0 seed=...` into
    `sweep_dir`; its runs, sorted by the swept keys."""
    command = [sys.executable, "-m", "checkerboard_gan", "-m", f"+experiment={name}"]
    command += ["train.steps=0", "seed=" + ",".join(map(str, range(seeds))), *overrides]
    command.append(f"hydra.sweep.dir={sweep_dir}")
    package = str(Path(checkerboard_gan.__file__).resolve().parents[1])  # the one imported here
    path = os.pathsep.join(p for p in (package, os.environ.get("PYTHONPATH")) if p)
    subprocess.run(command, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": path})
    return read_sweep(sweep_dir)


def table(name: str, rows: list[RunRow]) -> list[str]:
    """One Markdown row per config (the swept values but the seed): overlap max/min and each
    probe measure at step 0, mean ± std over seeds."""
    configs: dict[str, list[dict]] = {}
    for row in rows:
        label = " ".join(f"{k}={v}" for k, v in row.values.items() if k != "seed")
        metrics = row.metrics or {}
        configs.setdefault(label or name, []).append(
            {**(metrics.get("probes") or [{}])[0], "overlap": metrics.get("overlap_unevenness")}
        )
    lines = []
    for label, runs in configs.items():
        values = {m: [r[m] for r in runs] for m in MEASURES}
        cells = [f"{statistics.mean(v):.4f} ± {statistics.pstdev(v):.4f}" for v in values.values()]
        lines.append(f"| {label} | {runs[0]['overlap']:g} | " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="+", help="experiment config names (init_deconv ...), then Hydra overrides"
    )
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_intermixed_args(argv)
    studies = [a for a in args.names if "=" not in a]
    overrides = [a for a in args.names if "=" in a]
    header = "| config | overlap max/min | " + " | ".join(f"{m} mean ± std" for m in MEASURES)
    lines = [header + " |", "|" + " --- |" * (len(MEASURES) + 2)]
    with tempfile.TemporaryDirectory() as tmp:
        for name in studies:
            rows = run_study(name, args.seeds, overrides, Path(tmp, name))
            lines += table(name, rows)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
