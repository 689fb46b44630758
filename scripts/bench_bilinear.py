"""Forward+backward time of bilinear upsampling by 2: F.interpolate against the fixed filter
(`filters.bilinear_filter`), at the default bilinear generator's three stage sizes.

    python scripts/bench_bilinear.py [--device cpu|cuda] [--seconds 2]
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from torch.utils import benchmark

from checkerboard_gan.models.filters import bilinear_filter

STAGES = ((128, 4), (64, 8), (32, 16))  # (channels, input side) of 32 px, g_channels=32, batch 64


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--seconds", type=float, default=2.0, help="minimum run time per measurement")
    args = p.parse_args()
    torch.manual_seed(0)
    print("| stage | F.interpolate ms | fixed filter ms | filter / interpolate |")
    print("| --- | --- | --- | --- |")
    for channels, side in STAGES:
        x = torch.randn(64, channels, side, side, device=args.device, requires_grad=True)
        grad = torch.randn(64, channels, 2 * side, 2 * side, device=args.device)
        ops = {
            "interpolate": lambda x=x: F.interpolate(x, scale_factor=2, mode="bilinear"),
            "filter": lambda x=x: bilinear_filter(x, 2),
        }
        ms = {}
        for name, op in ops.items():
            timer = benchmark.Timer(stmt="op().backward(grad)", globals={"op": op, "grad": grad})
            ms[name] = timer.blocked_autorange(min_run_time=args.seconds).median * 1e3
        ratio = ms["filter"] / ms["interpolate"]
        print(
            f"| {channels} ch, {side} -> {2 * side} px | {ms['interpolate']:.2f} | "
            f"{ms['filter']:.2f} | {ratio:.2f} |"
        )


if __name__ == "__main__":
    main()
