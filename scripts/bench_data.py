"""Images/s of batch drawing: the in-memory path vs the DataLoader streaming path.

python scripts/bench_data.py --batches 200 --files 2048 --workers 2
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from checkerboard_gan.config import FileDatasetConfig, ShapesConfig
from checkerboard_gan.data.datasets import build_batches


def rate(batches, count: int, batch_size: int) -> float:
    batches.batch(0)  # warm up (first permutation, worker start)
    start = time.perf_counter()
    for i in range(1, count + 1):
        batches.batch(i)
    return count * batch_size / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--files", type=int, default=2048)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--size", type=int, default=32)
    args = parser.parse_args(argv)
    cpu = torch.device("cpu")
    shapes = ShapesConfig(name="shapes", image_size=args.size)
    memory = rate(build_batches(shapes, args.batch_size, 0, cpu), args.batches, args.batch_size)
    print(f"in-memory (shapes, {args.size} px): {memory:,.0f} images/s")
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        for i in range(args.files):
            pixels = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(Path(tmp, f"{i}.png"))
        for label, limit in (("in-memory", 4096), ("streaming", 0)):
            cfg = FileDatasetConfig(
                name="folder",
                image_size=args.size,
                root=tmp,
                max_memory_mb=limit,
                workers=args.workers,
            )
            start = time.perf_counter()
            batches = build_batches(cfg, args.batch_size, 0, cpu)
            setup = time.perf_counter() - start
            per_s = rate(
                batches, min(args.batches, args.files // args.batch_size - 1), args.batch_size
            )
            print(
                f"{label} (folder of {args.files} 48 px PNGs, {args.workers} workers): "
                f"{per_s:,.0f} images/s, setup {setup:.1f} s"
            )


if __name__ == "__main__":
    main()
