"""Overlap patterns of stacked upsampling layers, as in the article's overlap figures.

For each kernel and stride: the 1-D pattern and the composed 2-D map (one period) of `--layers`
stacked stages, printed as text and drawn into one PNG.

    python scripts/overlap.py --kernel 3 4 --stride 2 --layers 1 2 --out overlap.png
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from checkerboard_gan.analysis import measures  # noqa: E402
from checkerboard_gan.models.upsampling import UPSAMPLERS, build_upsample  # noqa: E402


def overlap(kind: str, kernel: int, stride: int, layers: int):
    cfg = UPSAMPLERS.config(kind, kernel=kernel, stride=stride)
    stages = [build_upsample(1, 1, cfg).geometry() for _ in range(layers)]
    return measures.overlap_map(stages, stride**layers)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="deconv", choices=sorted(UPSAMPLERS))
    parser.add_argument("--kernel", type=int, nargs="+", default=[3, 4])
    parser.add_argument("--stride", type=int, nargs="+", default=[2])
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", type=Path, default=Path("overlap.png"))
    args = parser.parse_args(argv)
    for value in (*args.kernel, *args.stride, *args.layers):
        if value < 1:
            parser.error(f"kernel, stride and layers must be >= 1, got {value}")
    combos = list(itertools.product(args.kernel, args.stride, args.layers))
    fig, axes = plt.subplots(1, len(combos), figsize=(2.6 * len(combos), 3), squeeze=False)
    for ax, (k, s, n) in zip(axes[0], combos, strict=True):
        m = overlap(args.kind, k, s, n)
        ratio = measures.unevenness(m)
        profile = measures.overlap_profile(m)
        print(f"{args.kind} kernel {k} stride {s}, {n} layer(s): unevenness {ratio:g}")
        print("  1-D pattern:", " ".join(f"{v:g}" for v in profile.tolist()))
        for row in m.tolist():
            print("  " + " ".join(f"{v:5g}" for v in row))
        ax.imshow(m.numpy(), cmap="magma", vmin=0, interpolation="nearest")
        ax.set_title(f"k{k} s{s} x{n}\nmax/min {ratio:g}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{args.kind}: overlap over one period (brighter = more kernel taps)")
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
