"""Time and peak memory of `python -m checkerboard_gan.evaluate FOLDER` against merely decoding
the same files through the same decoding path (issue 23: within 1.5 x, under 1.5 GB).

    python scripts/bench_evaluate.py --files 10000 --size 256 --dir /tmp/bench_pngs --rounds 2

Writes the PNGs once (crops of scikit-image's photographs, downscaled, so they compress and
decode as photographs do) and reuses them. Each measurement runs in a fresh process; its peak
memory is the peak proportional set size of it and its decoding workers together (pages they
share counted once), sampled every 0.2 s, beside the main process's own peak resident set.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_files(folder: Path, count: int, size: int) -> None:
    from PIL import Image

    from checkerboard_gan.config import PhotosConfig
    from checkerboard_gan.data.sources import photos_source

    have = len(list(folder.glob("*.png"))) if folder.is_dir() else 0
    if have >= count:
        return
    folder.mkdir(parents=True, exist_ok=True)
    print(f"writing {count - have} PNGs of {size} x {size} into {folder} ...", flush=True)
    for start in range(have, count, 500):
        n = min(500, count - start)
        cfg = PhotosConfig(
            name="photos", image_size=size, num_images=n, seed=start, min_crop=size, max_crop=512
        )
        for i, img in enumerate(photos_source(cfg)):
            Image.fromarray(img.permute(1, 2, 0).numpy()).save(folder / f"{start + i:05d}.png")


def decode_only(folder: str) -> None:
    from checkerboard_gan.data.image_sets import open_image_set

    images = open_image_set([folder])
    n = sum(chunk.shape[0] for chunk in images.chunks(64))
    assert n == images.count


def evaluate(folder: str) -> None:
    from checkerboard_gan.evaluate import main

    with tempfile.TemporaryDirectory() as out:
        assert main([folder, "--out", f"{out}/ev"]) == 0


def _tree(pid: int) -> list[int]:
    """pid and its descendants (Linux /proc)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def _pss_mb(pids: list[int]) -> float:
    """The proportional set size of the processes together (shared pages counted once)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def measure(mode: str, folder: str) -> dict[str, float]:
    """Run `mode` in a fresh process; its seconds, its peak resident set (MB) and the peak
    proportional set size of it and its decoding workers together, sampled every 0.2 s."""
    code = (
        "import json, resource, sys, time; sys.path.insert(0, 'scripts');"
        "import bench_evaluate as b; t = time.perf_counter();"
        f"b.{mode}({folder!r}); s = time.perf_counter() - t;"
        "me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024;"
        "print(json.dumps({'seconds': s, 'main_rss_mb': me}))"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    peak = 0.0
    while child.poll() is None:
        peak = max(peak, _pss_mb(_tree(child.pid)))
        time.sleep(0.2)
    result = json.loads(child.stdout.read().strip().splitlines()[-1])
    return result | {"peak_pss_mb": peak}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "bench_pngs")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    folder = args.dir / f"{args.size}px_{args.files}"
    make_files(folder, args.files, args.size)
    began = time.perf_counter()
    results: dict[str, list[dict[str, float]]] = {"decode_only": [], "evaluate": []}
    for r in range(args.rounds):
        for mode in results:
            results[mode].append(measure(mode, str(folder)))
            print(f"round {r + 1} {mode}: {results[mode][-1]}", flush=True)
    print(f"\n{args.files} PNGs of {args.size} x {args.size} ({time.perf_counter() - began:.0f} s)")
    print("| | seconds (each round) | images / s | peak MB (all processes, PSS) | main RSS MB |")
    print("|---|---|---|---|")
    for mode, rows in results.items():
        best = min(r["seconds"] for r in rows)
        peak = max(r["peak_pss_mb"] for r in rows)
        rss = max(r["main_rss_mb"] for r in rows)
        seconds = ", ".join(f"{r['seconds']:.1f}" for r in rows)
        print(f"| {mode} | {seconds} | {args.files / best:,.0f} | {peak:,.0f} | {rss:,.0f} |")
    ratio = min(r["seconds"] for r in results["evaluate"]) / min(
        r["seconds"] for r in results["decode_only"]
    )
    print(f"\nevaluate / decode only (best of {args.rounds}): {ratio:.2f} x")
    print(f"resource limits: {resource.getrlimit(resource.RLIMIT_AS)}")


if __name__ == "__main__":
    main()
