"""Training speed per upsampling kind: images/s of the bare DCGAN loop (scripts/bench.py) with
each generator kind, the default discriminator and data, interleaved over rounds.

The row `bilinear (fixed filter)` runs the bilinear stage through `filters.bilinear_filter`
(zero insertion and the triangle taps) instead of `F.interpolate`, the two being equal to float
rounding, to show which is faster on the machine at hand.

    python scripts/bench_kinds.py [--kinds deconv,nearest,bilinear] [--steps 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import bare_loop, compose_config  # noqa: E402

from checkerboard_gan.config import register_configs  # noqa: E402
from checkerboard_gan.devices import resolve_device  # noqa: E402
from checkerboard_gan.models import (
    filters,  # noqa: E402
    upsampling,  # noqa: E402
)

FILTER = "bilinear (fixed filter)"


@contextmanager
def filtered_bilinear():
    """The bilinear stage through the fixed filter, for the comparison row."""
    chosen = upsampling.bilinear_upsample
    upsampling.bilinear_upsample = filters.bilinear_filter
    try:
        yield
    finally:
        upsampling.bilinear_upsample = chosen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="deconv,nearest,subpixel,bilinear")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides, after --")
    args = parser.parse_args(argv)
    register_configs()
    kinds = args.kinds.split(",")
    rows = [*kinds, *([FILTER] if "bilinear" in kinds else [])]
    configs = {
        row: compose_config(
            [f"upsample={row.split()[0]}", f"train.steps={args.steps}", *args.overrides]
        )
        for row in rows
    }
    device = resolve_device(configs[rows[0]].device)
    print(f"bare loop on {device}, {args.steps} steps x {args.rounds} rounds, {args.overrides}")
    rates: dict[str, list[float]] = {row: [] for row in rows}
    for r in range(args.rounds):
        for row in rows if r % 2 == 0 else rows[::-1]:
            if row == FILTER:
                with filtered_bilinear():
                    rate, _ = bare_loop(configs[row], args.steps)
            else:
                rate, _ = bare_loop(configs[row], args.steps)
            rates[row].append(rate)
        print(f"round {r}: " + "; ".join(f"{k} {v[-1]:.0f}" for k, v in rates.items()), flush=True)
    reference = statistics.median(rates[rows[0]])
    print(f"| upsample | img/s min | median | max | steps/s (median) | vs {rows[0]} |")
    print("| --- | --- | --- | --- | --- | --- |")
    batch = configs[rows[0]].train.batch_size
    for row, values in rates.items():
        median = statistics.median(values)
        print(
            f"| {row} | {min(values):.0f} | {median:.0f} | {max(values):.0f} | "
            f"{median / batch:.1f} | {median / reference:.2f} |"
        )


if __name__ == "__main__":
    main()
