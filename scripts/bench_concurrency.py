"""Total throughput of a sweep whose runs share one machine: the documented way, Hydra's joblib
launcher with `hydra.launcher.n_jobs=N` and `threads=cores // N` per run, for each N given.

Each N runs N seeds of the same config as one multirun and reports the sweep's wall time (from
command to exit, Python start-up included), the sum of the runs' own images/s (training time
only), and the aggregate N * steps * batch / wall.

    python scripts/bench_concurrency.py --jobs 1,4,8 --steps 600 [-- upsample=nearest ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from omegaconf import OmegaConf


def sweep(n: int, threads: int, steps: int, overrides: list[str], folder: Path) -> dict:
    """One multirun of n seeds at once; returns its wall time and the runs' metrics."""
    command = [
        sys.executable, "-m", "checkerboard_gan", "-m", "hydra/launcher=joblib",
        f"hydra.launcher.n_jobs={n}", f"threads={threads}", f"seed=range({n})",
        f"train.steps={steps}", f"hydra.sweep.dir={folder}", *overrides,
    ]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"sweep with n_jobs={n} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    runs = []
    for path in sorted(folder.glob("*/metrics.json")):
        metrics = json.loads(path.read_text())
        batch = OmegaConf.load(path.parent / ".hydra" / "config.yaml").train.batch_size
        runs.append(metrics | {"images": metrics["steps"] * batch})
    return {"wall": wall, "runs": runs}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="1,4,8", help="concurrent runs, comma-separated")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides, after --")
    args = parser.parse_args(argv)
    print(
        "| concurrent runs | threads each | sweep wall s | sum of runs' img/s | "
        "aggregate img/s (incl. start-up) | probe share (mean) |"
    )
    print("| --- | --- | --- | --- | --- | --- |", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(j) for j in args.jobs.split(",")):
            threads = max(1, args.cores // n)
            result = sweep(n, threads, args.steps, args.overrides, Path(tmp, f"n{n}"))
            runs = result["runs"]
            if len(runs) != n or any(r["status"] != "completed" for r in runs):
                statuses = [r["status"] for r in runs]
                sys.exit(f"n_jobs={n}: expected {n} completed runs, got {statuses}")
            images = sum(r["images"] for r in runs)
            rate = sum(r["throughput_img_s"] for r in runs)
            share = sum(r["probe_s"] / r["wall_s"] for r in runs) / n
            print(
                f"| {n} | {threads} | {result['wall']:.1f} | {rate:.0f} | "
                f"{images / result['wall']:.0f} | {share:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
