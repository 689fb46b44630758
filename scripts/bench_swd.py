"""SWD's value, spread over seeds and cost against its descriptor and direction counts, on a
run's trained generator (docs/quality.md, "Cost and the reduction").

    python scripts/bench_swd.py RUN_DIR [--seeds 5] [--repeats 5]
        [--settings 4x128,2x128,1x128,4x32,4x16,8x16]

Draws the run's evaluation images (its `eval.num_samples` from the evaluation's latents) and as
many real images of its dataset, then for each setting DxK (D descriptors per image, K random
directions) and each seed computes SWD against the real images and the real-halves floor, and
times the generated side (descriptors and distance, as each evaluation pays it). Prints one
Markdown row per setting: mean +/- sample standard deviation over seeds, median seconds (the
floor always over `FLOOR_PROJECTIONS` directions, as runs compute it).

First it times the run's own evaluation at the shipped counts, as training runs it: the first
call (the real side, the floor and POT's import included) and the median of the next
`--repeats`, each split into the artifact measures and the quality measures
(`Evaluation.seconds - quality_seconds` and `quality_seconds`).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from checkerboard_gan.analysis import quality
from checkerboard_gan.analysis.evaluation import Evaluator
from checkerboard_gan.data.datasets import build_batches
from checkerboard_gan.rundir.restore import load_run, run_checkpoint


def images(run_dir: Path, repeats: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The run's evaluation images and as many real ones, (N, C, H, W) in [-1, 1], after
    timing its evaluation (printed)."""
    cfg, generator, _ = load_run(run_checkpoint(run_dir, "bench_swd"), ["device=cpu"])
    data = build_batches(cfg.dataset, cfg.train.batch_size, cfg.seed, "cpu")
    evaluator = Evaluator.for_run(cfg, data, generator.period)
    first, *rest = (evaluator.evaluate(0, generator) for _ in range(1 + repeats))
    print(
        f"first evaluation: artifacts {first.seconds - first.quality_seconds:.2f} s, quality "
        f"{first.quality_seconds:.2f} s (real side, floor and POT's import included)"
    )
    artifacts = statistics.median(e.seconds - e.quality_seconds for e in rest)
    added = statistics.median(e.quality_seconds for e in rest)
    print(
        f"next {repeats}, median: artifacts {artifacts:.2f} s, quality {added:.2f} s "
        f"(x {(artifacts + added) / artifacts:.2f} the artifact evaluation)"
    )
    return evaluator.draw(generator), data.fixed(cfg.eval.num_samples)


def one(fake: torch.Tensor, real: torch.Tensor, seed: int) -> tuple[float, float, float]:
    """(SWD, floor, seconds of the generated side) at the module's current counts."""
    shape = tuple(real.shape[1:])
    reference = quality.QualityReference(shape, real.shape[0], seed)
    for chunk in real.split(64):
        reference.add_real(chunk)
    floor = reference.floor[quality.SWD.key()]
    began = time.perf_counter()
    generated = reference.generated(fake.shape[0])
    for chunk in fake.split(64):
        generated.add(chunk)
    value = generated.values()[quality.SWD.key()]
    return value, floor, time.perf_counter() - began


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir", type=Path)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--repeats", type=int, default=5, help="evaluations timed after the first")
    p.add_argument("--settings", default="4x128,2x128,1x128,4x32,4x16,8x16")
    args = p.parse_args()
    fake, real = images(args.run_dir, args.repeats)
    print(f"{fake.shape[0]} generated against {real.shape[0]} real images {tuple(real.shape[1:])}")
    print("| descriptors / image | directions | SWD | real floor | generated side |")
    print("| --- | --- | --- | --- | --- |")
    for setting in args.settings.split(","):
        per_image, directions = (int(v) for v in setting.split("x"))
        quality.DESCRIPTORS_PER_IMAGE, quality.PROJECTIONS = per_image, directions
        quality.MAX_DESCRIPTORS = max(quality.MAX_DESCRIPTORS, per_image * fake.shape[0])
        runs = [one(fake, real, seed) for seed in range(args.seeds)]
        values, floors, seconds = zip(*runs, strict=True)
        print(
            f"| {per_image} | {directions} | {statistics.mean(values):.1f} +/- "
            f"{statistics.stdev(values):.1f} | {statistics.mean(floors):.1f} +/- "
            f"{statistics.stdev(floors):.1f} | {statistics.median(seconds):.2f} s |"
        )


if __name__ == "__main__":
    main()
