"""The studies behind the claims: each a Hydra experiment config, `configs/experiment/NAME.yaml`
(its `hydra.sweeper.params` say what it sweeps), run as one multirun
(`python -m checkerboard_gan -m +experiment=NAME ...`) under OUT/runs with the seeds, steps and
overrides of a Setting."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from checkerboard_gan.config import config_dir
from checkerboard_gan.rundir.provenance import ROOT

QUICK = (  # --quick: every run this small
    "dataset.image_size=16",
    "dataset.num_images=512",
    "model.g_channels=8",
    "model.d_channels=8",
)


@dataclass(frozen=True)
class Setting:
    """How big the runs are: seeds at init and when trained, steps, overrides for every run."""

    name: str  # quick | cpu | gpu
    seeds: int
    steps: int
    overrides: tuple[str, ...]
    log_every: int | None  # None: the project's default
    train_seeds: int = 1

    @property
    def judged(self) -> bool:
        """Whether trained claims get a verdict: not for `--quick`, a check of the machinery."""
        return self.name != "quick"


SETTINGS = {  # name -> (init seeds, trained seeds, steps, overrides for every run)
    "quick": (2, 1, 40, QUICK),
    "cpu": (5, 2, 1200, ()),
    "gpu": (5, 2, 5000, ("dataset=photos", "dataset.image_size=64")),
}


@dataclass(frozen=True)
class Study:
    """One Hydra multirun: the experiment config `configs/experiment/NAME.yaml`, run into
    OUT/runs/NAME. An experiment that sets `train.steps: 0` is read at init only."""

    name: str
    trained: bool = True

    @classmethod
    def load(cls, name: str) -> Study:
        """The study defined by `configs/experiment/NAME.yaml`."""
        path = config_dir() / "experiment" / f"{name}.yaml"
        if not path.is_file():
            raise FileNotFoundError(f"study {name}: no experiment config {path}")
        return cls(name, OmegaConf.select(OmegaConf.load(path), "train.steps") != 0)

    def command(self, s: Setting) -> list[str]:
        """The multirun's arguments after `python`, run inside OUT/runs: the experiment, then
        the setting's seeds (and steps when trained) and overrides."""
        if not self.trained:
            size = ["seed=" + ",".join(map(str, range(s.seeds)))]
        else:
            size = [f"train.steps={s.steps}", "seed=" + ",".join(map(str, range(s.train_seeds)))]
            size += [f"log.every={s.log_every}"] * bool(s.log_every)
        hydra = [f"hydra.sweep.dir={self.name}"]
        experiment = f"+experiment={self.name}"
        return ["-m", "checkerboard_gan", "-m", experiment, *size, *s.overrides, *hydra]


def run_study(
    study: Study, setting: Setting, runs_dir: Path, threads: int | None = None
) -> dict[str, Any]:
    """One `python -m checkerboard_gan -m ...` inside OUT/runs, its output in <study>.log;
    `threads` caps its CPU threads (when several studies share the machine).

    A sweep folder left there by an earlier report is replaced (the command asks for --force
    before it gets here).
    """
    if (runs_dir / study.name).exists():
        shutil.rmtree(runs_dir / study.name)
    args = study.command(setting)
    env = os.environ.copy()  # the package must import from OUT/runs, also from a plain checkout
    root = str(ROOT)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    if threads:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    start = time.perf_counter()
    with open(runs_dir / f"{study.name}.log", "w") as log:
        done = subprocess.run(
            [sys.executable, *args], cwd=runs_dir, env=env, stdout=log, stderr=log
        )
    return {
        "name": study.name,
        "command": "python " + shlex.join(args),
        "returncode": done.returncode,
        "seconds": time.perf_counter() - start,
    }
