"""Draw images from a run folder's checkpoint, so a trained generator can be looked at again
without training (after StyleGAN's gen_images.py).

    python -m checkerboard_gan.generate RUN_DIR [--seeds 0-15,20 | --count 64] [--out DIR]

Each seed gives one latent (torch.Generator seeded with it), so a seed shows the same image from
any checkpoint of the run. Images are drawn in chunks of the run's `log.num_samples` with batch
norm on each chunk's statistics, as the probes draw theirs (the image of a seed therefore also
depends on the seeds drawn with it). Writes OUT/step_XXXXXXX_seeds_A-B.{png,pt} and a
`_contrast.png` with each image stretched to its own range; OUT defaults to RUN_DIR/generated.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import torch

from checkerboard_gan.config import ConfigError
from checkerboard_gan.models.networks import batch_statistics
from checkerboard_gan.pictures.images import grid, stretch, to_unit
from checkerboard_gan.rundir.folder import write_bytes
from checkerboard_gan.rundir.restore import load_run, run_checkpoint
from checkerboard_gan.rundir.tensorboard import encode_png


def parse_seeds(text: str) -> list[int]:
    """`0-3,7` -> [0, 1, 2, 3, 7]."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            low, _, high = part.strip().partition("-")
            seeds += range(int(low), int(high or low) + 1)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give seeds as 0-15,20 (integers >= 0)"
        ) from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give seeds as 0-15,20 (integers >= 0)")
    return seeds


def latents(seeds: list[int], z_dim: int) -> torch.Tensor:
    """One latent per seed: (len(seeds), z_dim)."""
    return torch.stack(
        [torch.randn(z_dim, generator=torch.Generator().manual_seed(s)) for s in seeds]
    )


@torch.no_grad()
def generate(run_dir: Path, seeds: list[int], out: Path | None, device: str | None) -> Path:
    """Draw the seeds' images from RUN_DIR's last checkpoint; returns the raw grid's path."""
    cfg, generator, step = load_run(
        run_checkpoint(run_dir, "draw from"), [f"device={device}"] * bool(device)
    )
    z = latents(seeds, cfg.model.z_dim).to(next(generator.parameters()).device)
    with batch_statistics(generator):
        x = torch.cat([generator(chunk) for chunk in z.split(cfg.log.num_samples)]).cpu()
    out = Path(out or Path(run_dir) / "generated")
    stem = out / f"step_{step:07d}_seeds_{seeds[0]}-{seeds[-1]}"
    out.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save({"seeds": torch.tensor(seeds), "images": x}, buffer)
    write_bytes(stem.with_suffix(".pt"), buffer.getvalue())
    write_bytes(stem.with_suffix(".png"), encode_png(grid(to_unit(x))))
    write_bytes(stem.parent / f"{stem.name}_contrast.png", encode_png(grid(stretch(x))))
    return stem.with_suffix(".png")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m checkerboard_gan.generate",
        description=" ".join(__doc__.split("\n\n")[0].split()),  # the first paragraph
    )
    p.add_argument("run_dir", type=Path, help="a run folder (holding checkpoints/last.pt)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--seeds", type=parse_seeds, help="e.g. 0-15,20 (default 0-63)")
    which.add_argument("--count", type=int, help="seeds 0..count-1")
    p.add_argument("--out", type=Path, help="output folder (RUN_DIR/generated)")
    p.add_argument("--device", help="cpu, cuda, cuda:N, mps or auto (the run's device)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if args.count is not None and args.count < 1:
        p.error(f"--count {args.count}: give an integer >= 1")
    seeds = args.seeds or list(range(args.count or 64))
    try:
        path = generate(args.run_dir, seeds, args.out, args.device)
    except ConfigError as err:
        print(f"checkerboard_gan.generate: error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {path}, its _contrast.png and .pt ({len(seeds)} images)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
