"""Evaluate any run folder again from its last checkpoint (DESIGN.md, "Evaluation over many
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
from typing import Any

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from torch.utils.tensorboard import SummaryWriter

from .checkpoint import CheckpointError, find_checkpoint, load_latest
from .cli import config_dir
from .config import Config, ConfigError, validate
from .data import build_batches
from .devices import resolve_device
from .evaluation import Evaluation, Evaluator, headline
from .logger import log_evaluation, with_evaluation
from .models import Generator
from .run_status import FolderInUse, read_metrics_file, run_lock, write_metrics_file

log = logging.getLogger("checkerboard_gan.evaluate")


def saved_config(saved: dict[str, Any], overrides: list[str] | None = None) -> Config:
    """The typed config a checkpoint was made with: the schema of each group it names, with
    the saved values on top (and `overrides`, e.g. `eval.num_samples=512`)."""
    groups = [f"{g}={saved[g]['name']}" for g in ("upsample", "disc", "dataset")]
    with initialize_config_dir(version_base="1.3", config_dir=str(config_dir())):
        base = compose("config", overrides=groups)
    merged = OmegaConf.merge(base, saved, OmegaConf.from_dotlist(overrides or []))
    return validate(merged)


def run_checkpoint(run_dir: Path, what: str) -> Path:
    """RUN_DIR's last checkpoint, or a ConfigError saying there is nothing to `what`."""
    run_dir = Path(run_dir)
    path = find_checkpoint(run_dir / "checkpoints") if (run_dir / "checkpoints").is_dir() else None
    if path is None:
        raise ConfigError(f"{run_dir} holds no checkpoint (checkpoints/last.pt): nothing to {what}")
    return path


def load_run(path: Path, overrides: list[str]) -> tuple[Config, Generator, int]:
    """The config, the generator with its trained weights on the config's device, and the
    step of the checkpoint at `path` (or of previous.pt where that one is corrupt)."""
    state, path = load_latest(path)
    cfg = saved_config(state["config"], overrides)
    generator = Generator(cfg).to(resolve_device(cfg.device))
    generator.load_state_dict(state["generator"])
    return cfg, generator, state["step"]


def evaluate_run(
    run_dir: Path, num_samples: int | None = None, device: str | None = None
) -> Evaluation:
    """Evaluate RUN_DIR's last checkpoint and record the result in the run folder."""
    run_dir = Path(run_dir)
    path = run_checkpoint(run_dir, "evaluate")
    with run_lock(run_dir):
        return _evaluate(run_dir, path, num_samples, device)


def _evaluate(run_dir: Path, path: Path, num_samples: int | None, device: str | None) -> Evaluation:
    extra = [f"eval.num_samples={num_samples}"] * bool(num_samples)
    extra += [f"device={device}"] * bool(device)
    cfg, generator, step = load_run(path, extra)
    dev = next(generator.parameters()).device
    data = build_batches(cfg.dataset, cfg.train.batch_size, cfg.seed, dev)
    evaluation = Evaluator.for_run(cfg, data, generator.period).evaluate(step, generator)
    metrics = read_metrics_file(run_dir) or {"status": "missing", "probes": []}
    metrics["evaluations"] = with_evaluation(metrics.get("evaluations", []), evaluation.entry())
    writer = SummaryWriter(log_dir=str(run_dir))
    try:
        log_evaluation(writer, run_dir, evaluation, metrics["evaluations"])
    finally:
        writer.close()
    write_metrics_file(run_dir, metrics)
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
        f"{ev.seconds:.1f} s: {headline(ev.fake, ev.real)}; written to metrics.json"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
