"""Measure the checkerboard artifacts of any images, against real ones (docs/evaluate.md).

    python -m checkerboard_gan.evaluate SOURCE [--real SOURCE ...] [--out DIR] [--stride S]

SOURCE is a run folder of this tool (its last checkpoint draws the images; the result goes into
the run's metrics.json, TensorBoard and eval/ as a training evaluation's does), an image folder
(recursive, decoded as `dataset=folder` decodes), a .npz (`arr_0` or its only array), a .npy or
a .pt tensor. `--real` takes the same kinds of path, or dataset overrides (`--real dataset=photos
dataset.image_size=64`); without it there is no real floor and the output says so. Images from
elsewhere are measured at p = s, s^2, ... while an image holds 4 periods, and written into DIR
(default: a new folder beside SOURCE): evaluation.json, evaluation.md and the pictures.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from checkerboard_gan.analysis.catalogue import BY_NAME
from checkerboard_gan.analysis.evaluation import (
    Evaluation,
    Evaluator,
    Side,
    passing,
    quality_text,
    statistics,
)
from checkerboard_gan.analysis.inception import (
    COMMAND_SETTINGS,
    InceptionDistances,
    fid_enabled,
    inception_weights,
)
from checkerboard_gan.analysis.quality import NEIGHBOURHOOD, QualityReference, quality_levels
from checkerboard_gan.analysis.streaming import evaluation_periods
from checkerboard_gan.config import ConfigError, EvalConfig
from checkerboard_gan.data.datasets import build_batches
from checkerboard_gan.data.image_sets import ImageSet, ImageSetError, open_image_set
from checkerboard_gan.rundir.checkpoint import CheckpointError
from checkerboard_gan.rundir.evaluation_folder import FILE, default_folder, write_folder
from checkerboard_gan.rundir.folder import FolderInUse, ensure_free, run_lock
from checkerboard_gan.rundir.record import RunRecord
from checkerboard_gan.rundir.restore import load_run, run_checkpoint
from checkerboard_gan.rundir.tensorboard import open_writer
from checkerboard_gan.training.logger import log_evaluation

log = logging.getLogger("checkerboard_gan.evaluate")
CHUNK = 64
PROGRESS_S = 5.0
MIN_IMAGES = 100  # fewer: the log says the intervals are rough


def is_run_folder(path: Path) -> bool:
    """A folder this tool's trainer wrote (metrics.json, checkpoints/ or .hydra/)."""
    return path.is_dir() and any(
        (path / name).exists() for name in ("metrics.json", "checkpoints", ".hydra")
    )


def evaluate_run(
    run_dir: Path,
    num_samples: int | None = None,
    device: str | None = None,
    overrides: list[str] | None = None,
) -> Evaluation:
    """Evaluate RUN_DIR's last checkpoint and record the result in the run folder; `overrides`
    (`eval.fid=...`, `eval.inception_weights=...`) change the run's evaluation settings.

    Raises:
        ConfigError: RUN_DIR does not exist or holds no checkpoint; bad `overrides`.
        CheckpointError: its checkpoint is pickled, corrupt or does not fit its config.
        SchemaError: its checkpoint or metrics.json holds something else.
        FolderInUse: a live run holds the folder.
    """
    run_dir = Path(run_dir)
    path = run_checkpoint(run_dir, "evaluate")
    extra = [f"eval.num_samples={num_samples}"] * (num_samples is not None)
    extra += [f"device={device}"] * bool(device) + list(overrides or [])
    ensure_free(run_dir)  # every refusal comes before the lock, which would rewrite .lock
    record = RunRecord.open(run_dir)  # its metrics.json checked before the work
    cfg, generator, step = load_run(path, extra)
    dev = next(generator.parameters()).device
    data = build_batches(cfg.dataset, cfg.train.batch_size, cfg.seed, dev)
    evaluator = Evaluator.for_run(cfg, data, generator.period)
    with run_lock(run_dir):
        return _evaluate(run_dir, record, evaluator, step, generator)


def _evaluate(
    run_dir: Path, record: RunRecord, evaluator: Evaluator, step: int, generator: torch.nn.Module
) -> Evaluation:
    evaluation = evaluator.evaluate(step, generator)
    evaluations = record.add_evaluation(evaluation.entry())
    writer = open_writer(run_dir)
    try:
        log_evaluation(writer, run_dir, evaluation, evaluations)
    finally:
        writer.close()
    return evaluation


def _with_progress(images: ImageSet, side: str) -> Iterator[torch.Tensor]:
    began = last = time.perf_counter()
    done = 0
    for chunk in images.chunks(CHUNK):
        yield chunk
        done += chunk.shape[0]
        now = time.perf_counter()
        if now - last >= PROGRESS_S:
            last = now
            log.info("%s: %d / %d images, %.0f s", side, done, images.count, now - began)


def plan(fake: ImageSet, real: ImageSet | None, stride: int) -> list[int]:
    """The periods `fake` is measured at, after checking that `real` has its size.

    Raises:
        ImageSetError: the two sets differ in height and width, or the images are too small to
            hold 4 periods of the stride.
    """
    c, h, w = fake.shape
    if real is not None and real.shape[1:] != (h, w):
        rh, rw = real.shape[1:]
        raise ImageSetError(
            f"the real images are {rw} x {rh}, the generated {w} x {h}: give real images of the "
            f"same size (for a dataset, dataset.image_size={h})"
        )
    try:
        return evaluation_periods(stride, h, w)
    except ValueError as err:
        raise ImageSetError(f"--stride {stride}: {err}") from err


def evaluate_images(
    fake: ImageSet,
    real: ImageSet | None,
    stride: int,
    seed: int = 0,
    inception: Path | None = None,
) -> Evaluation:
    """Measure `fake` against `real` (None: no floor, no quality measure) at p = s, s^2, ...
    (docs/evaluate.md), with SWD (and, given the `inception` weights file, FID and KID) against
    `real`.

    Raises:
        ImageSetError: as `plan`, or images that cannot be read as they stream.
    """
    periods = plan(fake, real, stride)
    began = time.perf_counter()
    reference = _quality_reference(fake, real, seed, inception)
    generated = None if reference is None else reference.generated(fake.count)
    sides = {}
    for name, images, sink in (
        ("generated", fake, generated and _as_rgb(generated.add, reference)),
        ("real", real, reference and _as_rgb(reference.add_real, reference)),
    ):
        if images is not None:
            chunks = _with_progress(images, name)
            chunks = passing(chunks, sink) if sink else chunks
            stats = statistics(chunks, stride, periods, images.shape, seed)
            sides[name] = Side.of(stats)
    quality, floor, quality_s = {}, {}, 0.0
    if generated is not None:
        log.info(
            "sample quality: SWD%s of the generated against the real images",
            " and FID/KID" if inception else "",
        )
        quality, floor, quality_s = generated.result()
    seconds = time.perf_counter() - began
    return Evaluation(
        None,
        sides["generated"],
        sides.get("real"),
        seconds,
        stride,
        periods,
        quality,
        floor,
        quality_s,
    )


def _quality_reference(
    fake: ImageSet, real: ImageSet | None, seed: int, inception: Path | None
) -> QualityReference | None:
    """The real side of SWD (and FID, KID) for `fake`, or None: no real images, or images under
    7 px (said in the log)."""
    if real is None:
        return None
    if not quality_levels(fake.shape):
        log.info("no quality measure: images under %d px hold no SWD patch", NEIGHBOURHOOD)
        return None
    distances = None if inception is None else InceptionDistances(inception)
    channels = max(fake.shape[0], real.shape[0])  # grey against RGB: as grey RGB
    return QualityReference((channels, *fake.shape[1:]), real.count, seed, distances)


def _as_rgb(
    sink: Callable[[torch.Tensor], None], reference: QualityReference | None
) -> Callable[[torch.Tensor], None]:
    """`sink`, with grey chunks repeated to the reference's channels (grey against RGB)."""
    channels = reference.shape[0] if reference is not None else 1
    return lambda chunk: sink(chunk.expand(-1, channels, -1, -1))


def _print_verdicts(ev: Evaluation) -> None:
    reason = ev.degenerate()
    if reason is not None:
        print(f"  the generated images are {reason}: their artifact measures are not meaningful")
    intervals = ev.intervals()["fake"]
    for p, measure, verdict in ev.verdicts():
        key = BY_NAME[measure].key(p)
        interval = intervals[key]
        real = f", real {ev.real[key]:.3g}" if ev.real else ""
        print(
            f"  p={p:<4} {measure:<12} {ev.fake[key]:.3g} "
            f"[{interval[0]:.3g}, {interval[1]:.3g}]{real}: {verdict}"
        )
    if ev.quality:
        print("  quality: " + quality_text(ev.quality, ev.quality_floor, list(ev.quality)))


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ImageSetError(f"--out {out} is a file; give a folder (new, or without an evaluation)")
    if (out / FILE).exists():
        raise ImageSetError(f"--out {out} already holds an evaluation; give another folder")


def _check_source(path: Path) -> None:
    """Folders of this tool that are not images to evaluate: a sweep, or a run's pictures."""
    if path.is_dir() and any((path / name).exists() for name in ("multirun.yaml", "summary.csv")):
        raise ImageSetError(
            f"{path} is a sweep folder: evaluate each of its run folders "
            "(python -m checkerboard_gan.evaluate SWEEP/RUN)"
        )
    run = next((up for up in path.resolve().parents if is_run_folder(up)), None)
    if run is not None:
        raise ImageSetError(
            f"{path} is inside the run folder {run}, whose PNGs are picture grids and figures, "
            f"not samples: evaluate the run folder itself, or draw samples with "
            f"python -m checkerboard_gan.generate {run} --count 2048 and evaluate the .pt"
        )


def _warn_sizes(fake: ImageSet, real: ImageSet | None) -> None:
    if fake.count < MIN_IMAGES:
        log.warning(
            "only %d generated images: intervals, SWD and its floor from fewer than %d images "
            "are rough",
            fake.count,
            MIN_IMAGES,
        )
    if real is not None and max(fake.count, real.count) > 2 * min(fake.count, real.count):
        log.warning(
            "%d generated against %d real images: FP_p of images without a stamped pattern "
            "falls as 1 / N and SWD falls as the sets grow, so their floors are comparable only "
            "for sets of similar size (--num-samples N takes the first N of each)",
            fake.count,
            real.count,
        )


def _images_main(args: argparse.Namespace) -> int:
    source = Path(args.source)
    _check_source(source)
    out = Path(args.out) if args.out else default_folder(source)
    _check_out(out)
    fake = open_image_set([args.source], args.num_samples)
    if fake.count < 2:
        raise ImageSetError(f"{fake.description}: at least 2 images are needed (intervals, FP)")
    limit = args.num_samples
    if args.real and any("=" in part for part in args.real) and limit is None:
        limit = fake.count  # a dataset's size is a setting, not a choice: match the generated
    real = open_image_set(args.real, limit) if args.real else None
    periods = plan(fake, real, args.stride or 2)
    log.info("generated: %s", fake.description)
    log.info("real: %s", real.description if real else "none given (no floor; use --real)")
    log.info("periods: %s", ", ".join(map(str, periods)))
    _warn_sizes(fake, real)
    ev = evaluate_images(fake, real, args.stride or 2, args.seed, _inception(args, real))
    sources = {"fake": fake.description, "real": real.description if real else None}
    write_folder(out, ev, sources)
    print(
        f"{args.source}: {ev.n_fake} generated / {ev.n_real} real images measured in "
        f"{ev.seconds:.1f} s"
    )
    _print_verdicts(ev)
    print(f"written to {out} (evaluation.json, evaluation.md, pictures)")
    return 0


def _inception(args: argparse.Namespace, real: ImageSet | None) -> Path | None:
    """The InceptionV3 weights file for FID and KID of images from elsewhere, or None."""
    settings = EvalConfig(fid=args.fid or "auto", inception_weights=args.inception_weights)
    if real is None:
        if settings.fid == "true":
            raise ConfigError("--fid true needs real images to compare with: give --real")
        return None
    if not fid_enabled(settings, names=COMMAND_SETTINGS):
        return None
    return inception_weights(settings.inception_weights, COMMAND_SETTINGS)


def _run_main(args: argparse.Namespace) -> int:
    if args.real or args.stride or args.out:
        raise ConfigError(
            f"{args.source} is a run folder: its real images are the run's dataset, its periods "
            "its generator's, and the result goes into its metrics.json; --real, --stride and "
            "--out apply to images from elsewhere"
        )
    if args.fid or args.inception_weights:  # checked first, so messages name the options
        settings = EvalConfig(fid=args.fid or "auto", inception_weights=args.inception_weights)
        fid_enabled(settings, explain=False, names=COMMAND_SETTINGS)
    overrides = [f"eval.fid={args.fid}"] * bool(args.fid)
    overrides += [f"eval.inception_weights={args.inception_weights}"] * bool(args.inception_weights)
    ev = evaluate_run(Path(args.source), args.num_samples, args.device, overrides)
    print(
        f"{args.source}: step {ev.step}, {ev.n_fake} generated / {ev.n_real} real images in "
        f"{ev.seconds:.1f} s; written to metrics.json"
    )
    _print_verdicts(ev)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m checkerboard_gan.evaluate",
        description=" ".join(__doc__.split("\n\n")[0].split()),  # the first paragraph
    )
    p.add_argument("source", help="a run folder, an image folder, or a .npz, .npy or .pt file")
    p.add_argument(
        "--real", nargs="+", metavar="SOURCE", help="real images: a path, or dataset=NAME ..."
    )
    p.add_argument("--out", help="the output folder (default: SOURCE_evaluation beside it)")
    p.add_argument("--stride", type=int, help="the finest period s (images; default 2)")
    p.add_argument(
        "--num-samples", type=int, help="a run's generated images; at most N of each image set"
    )
    p.add_argument(
        "--seed", type=int, default=0, help="the bootstrap's and the SWD's seed (default 0)"
    )
    p.add_argument(
        "--fid",
        choices=("auto", "true", "false"),
        help="FID and KID: auto (when the InceptionV3 weights are found; a run: its eval.fid)",
    )
    p.add_argument("--inception-weights", metavar="PATH", help="the InceptionV3 weights file")
    p.add_argument("--device", help="cpu, cuda, cuda:N, mps or auto (a run's device)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.num_samples is not None and args.num_samples < 1:
            raise ConfigError(f"--num-samples {args.num_samples}: give 1 or more")
        if args.stride is not None and args.stride < 2:
            raise ConfigError(f"--stride {args.stride}: give 2 or more")
        if is_run_folder(Path(args.source)):
            return _run_main(args)
        return _images_main(args)
    except (ConfigError, CheckpointError, FolderInUse) as err:
        print(f"checkerboard_gan.evaluate: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
