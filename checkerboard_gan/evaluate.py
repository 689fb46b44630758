"""Evaluate any run folder again from its last checkpoint (docs/design.md, "Evaluation over many
samples"), so older runs and runs cut short get the same numbers as a finished one.

    python -m checkerboard_gan.evaluate RUN_DIR [--num-samples N] [--device cpu]

Writes the `evaluations` entry for the checkpoint's step into RUN_DIR/metrics.json (replacing
one of the same step), its `eval/` scalars and fingerprint tile to TensorBoard, and
`eval/fingerprint_step_XXXXXXX.png`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from checkerboard_gan.analysis.evaluation import Evaluation, Evaluator, headline
from checkerboard_gan.config import ConfigError
from checkerboard_gan.data.datasets import build_batches
from checkerboard_gan.rundir.checkpoint import CheckpointError
from checkerboard_gan.rundir.folder import FolderInUse, run_lock
from checkerboard_gan.rundir.record import RunRecord
from checkerboard_gan.rundir.restore import load_run, run_checkpoint
from checkerboard_gan.rundir.tensorboard import open_writer
from checkerboard_gan.training.logger import log_evaluation

log = logging.getLogger("checkerboard_gan.evaluate")


def evaluate_run(
    run_dir: Path, num_samples: int | None = None, device: str | None = None
) -> Evaluation:
    """Evaluate RUN_DIR's last checkpoint and record the result in the run folder."""
    run_dir = Path(run_dir)
    path = run_checkpoint(run_dir, "evaluate")
    with run_lock(run_dir):
        return _evaluate(run_dir, path, num_samples, device)


def _evaluate(run_dir: Path, path: Path, num_samples: int | None, device: str | None) -> Evaluation:
    extra = [f"eval.num_samples={num_samples}"] * (num_samples is not None)
    extra += [f"device={device}"] * bool(device)
    cfg, generator, step = load_run(path, extra)
    dev = next(generator.parameters()).device
    data = build_batches(cfg.dataset, cfg.train.batch_size, cfg.seed, dev)
    evaluation = Evaluator.for_run(cfg, data, generator.period).evaluate(step, generator)
    record = RunRecord.open(run_dir)
    evaluations = record.add_evaluation(evaluation.entry())
    writer = open_writer(run_dir)
    try:
        log_evaluation(writer, run_dir, evaluation, evaluations)
    finally:
        writer.close()
    return evaluation


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m checkerboard_gan.evaluate", description=__doc__.splitlines()[0]
    )
    p.add_argument("run_dir", type=Path, help="a run folder (holding checkpoints/last.pt)")
    p.add_argument("--num-samples", type=int, help="generated images (the run's eval.num_samples)")
    p.add_argument("--device", help="cpu, cuda, cuda:N, mps or auto (the run's device)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        ev = evaluate_run(args.run_dir, args.num_samples, args.device)
    except (ConfigError, CheckpointError, FolderInUse) as err:
        print(f"checkerboard_gan.evaluate: error: {err}", file=sys.stderr)
        return 2
    print(
        f"{args.run_dir}: step {ev.step}, {ev.n_fake} generated / {ev.n_real} real images in "
        f"{ev.seconds:.1f} s: {headline(ev.fake, ev.real, ev.finest)}; written to metrics.json"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
