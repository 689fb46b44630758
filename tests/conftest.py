"""Shared fixtures: the real Hydra config composed with tiny overrides (8 channels, 16 px)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from checkerboard_gan.config import Config, config_dir, register_configs, validate
from checkerboard_gan.devices import granted_cpus

TINY = [
    "dataset.image_size=16",
    "dataset.num_images=128",
    "model.z_dim=16",
    "model.g_channels=8",
    "model.d_channels=8",
    "train.batch_size=16",
    "train.steps=4",
    "log.every=2",
    "log.loss_every=1",
    "log.num_samples=16",
    "eval.num_samples=64",
    # CPU unless a GPU machine asks: CHECKERBOARD_GAN_TEST_DEVICE=cuda python -m pytest ...
    "device=" + os.environ.get("CHECKERBOARD_GAN_TEST_DEVICE", "cpu"),
]

GENERATED = ("dataset=shapes", "dataset=photos")  # datasets with a dataset.num_images key

register_configs()

# pytest-xdist's workers share the cores: each worker and the runs it starts take its share of
# them (OMP_NUM_THREADS, which runs honour), not all of them, so that N workers do not run N
# times the cores' threads. A run's results are bit-identical for one thread count only, and
# every comparison in the suite is between runs of one worker.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    os.environ["OMP_NUM_THREADS"] = str(max(1, granted_cpus() // _WORKERS))
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def compose_config(*overrides: str, tiny: bool = True) -> Config:
    """Compose configs/config.yaml as the CLI does and build the typed config."""
    base = TINY if tiny else []
    if any(o.startswith("dataset=") and o not in GENERATED for o in overrides):
        base = [o for o in base if not o.startswith("dataset.num_images")]
    with initialize_config_dir(version_base="1.3", config_dir=str(config_dir())):
        cfg = compose("config", overrides=[*base, *overrides])
    return validate(cfg)


def read_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


@pytest.fixture
def tmpfs(tmp_path):
    """mount(size, read_only=False) -> a fresh tmpfs folder: a small disk that fills up, or a
    read-only one. Needs mount rights (root, as on this project's CI); skips where refused."""
    mounted: list[Path] = []

    def mount(size: str, read_only: bool = False) -> Path:
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        command = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(folder)
        if read_only:
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=False)


def run_module(
    module: str, *args: str, cwd=None, env: dict | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    """`python -m MODULE ARGS` as a user types it, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
