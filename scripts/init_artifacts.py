"""Artifact measures at random initialisation, mean and std over seeds, for a list of configs.

Each config runs through the real trainer with `train.steps=0` (probes at init only).

    python scripts/init_artifacts.py --seeds 5 \
        "upsample=deconv upsample.kernel=3" "upsample=deconv upsample.kernel=4" "upsample=nearest"
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from hydra import compose, initialize_config_dir

from checkerboard_gan.cli import config_dir
from checkerboard_gan.config import register_configs, validate
from checkerboard_gan.trainer import train

MEASURES = ("checkerboard", "spectral_peak_db", "spectral_distance", "grad_checkerboard")


def init_scores(overrides: list[str], seed: int, out: Path) -> dict[str, float]:
    with initialize_config_dir(version_base="1.3", config_dir=str(config_dir())):
        cfg = validate(compose("config", overrides=[*overrides, f"seed={seed}", "train.steps=0"]))
    metrics = train(cfg, out, overrides)
    return {**metrics["probes"][0], "overlap_unevenness": metrics["overlap_unevenness"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="+", help="space-separated Hydra overrides per config")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    register_configs()
    header = (
        "| config | overlap max/min | " + " | ".join(f"{m} mean ± std" for m in MEASURES) + " |"
    )
    rows = [header, "|" + " --- |" * (len(MEASURES) + 2)]
    with tempfile.TemporaryDirectory() as tmp:
        for i, config in enumerate(args.configs):
            runs = [
                init_scores(config.split(), seed, Path(tmp, f"{i}_{seed}"))
                for seed in range(args.seeds)
            ]
            cells = [
                f"{statistics.mean(r[m] for r in runs):.4f} ± "
                f"{statistics.pstdev(r[m] for r in runs):.4f}"
                for m in MEASURES
            ]
            rows.append(
                f"| {config} | {runs[0]['overlap_unevenness']:g} | " + " | ".join(cells) + " |"
            )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
