"""The studies behind the claims: each a Hydra experiment config, `configs/experiment/NAME.yaml`
(its `hydra.sweeper.params` say what it sweeps), run as one multirun
(`python -m checkerboard_gan -m +experiment=NAME ...`) under OUT/runs with the seeds, steps and
overrides of a Setting."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from checkerboard_gan.config import config_dir
from checkerboard_gan.rundir.provenance import ROOT
from checkerboard_gan.sweeps.runs import expand_sweep

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
# Probes per trained run where the setting fixes log.every (steps // PROBES): the quick run's
# two; the GPU setting's ten, whose 14 concurrent runs of claims 3 and 7 share 16 CPU cores (the
# claims read only the first and last probe, so 10 instead of the default 50 lose nothing).
PROBES = {"quick": 2, "gpu": 10}
STOP_GRACE_S = 20  # after SIGTERM at the time limit, seconds before the runs are killed


@dataclass(frozen=True)
class Study:
    """One Hydra multirun: the experiment config `configs/experiment/NAME.yaml`, run into
    OUT/runs/NAME. An experiment that sets `train.steps: 0` is read at init only."""

    name: str
    trained: bool = True
    per_seed: int = 1  # runs per seed: the product of the sweep's value counts

    @classmethod
    def load(cls, name: str) -> Study:
        """The study defined by `configs/experiment/NAME.yaml`."""
        path = config_dir() / "experiment" / f"{name}.yaml"
        if not path.is_file():
            raise FileNotFoundError(f"study {name}: no experiment config {path}")
        cfg = OmegaConf.load(path)
        params = OmegaConf.select(cfg, "hydra.sweeper.params") or {}
        swept = [f"{k}={v}" for k, v in params.items() if k != "seed"]  # the setting gives seeds
        per_seed = len(expand_sweep(swept))
        return cls(name, OmegaConf.select(cfg, "train.steps") != 0, per_seed)

    def runs(self, s: Setting) -> int:
        """How many runs the multirun makes under setting `s` (its sweep times the seeds)."""
        return self.per_seed * (s.train_seeds if self.trained else s.seeds)

    def command(self, s: Setting, threads: int | None = None) -> list[str]:
        """The multirun's arguments after `python`, run inside OUT/runs: the experiment, then
        the setting's seeds (and steps when trained) and overrides. With `threads`, every run
        of the study runs at once (Hydra's joblib launcher, one worker per run), each with that
        many CPU threads."""
        if not self.trained:
            size = ["seed=" + ",".join(map(str, range(s.seeds)))]
        else:
            size = [f"train.steps={s.steps}", "seed=" + ",".join(map(str, range(s.train_seeds)))]
            size += [f"log.every={s.log_every}"] * bool(s.log_every)
        together = []
        if threads:
            together = [
                "hydra/launcher=joblib",
                f"hydra.launcher.n_jobs={self.runs(s)}",
                f"threads={threads}",
            ]
        hydra = [f"hydra.sweep.dir={self.name}"]
        experiment = f"+experiment={self.name}"
        return ["-m", "checkerboard_gan", "-m", experiment, *together, *size, *s.overrides, *hydra]


def run_study(
    study: Study,
    setting: Setting,
    runs_dir: Path,
    threads: int | None = None,
    concurrent: bool = False,
    deadline: float | None = None,
) -> dict[str, Any]:
    """One `python -m checkerboard_gan -m ...` inside OUT/runs, its output in <study>.log;
    `threads` caps its CPU threads (when several studies share the machine); `concurrent` runs
    all of the study's runs at once, each with `threads` threads.

    At `deadline` (a `time.monotonic()` instant) the multirun and its runs get SIGTERM (each
    run then saves a checkpoint and records itself `interrupted`), and SIGKILL STOP_GRACE_S
    later: a bound on the whole report, so whatever finished by then is still rendered.

    A sweep folder left there by an earlier report is replaced (the command asks for --force
    before it gets here).
    """
    if (runs_dir / study.name).exists():
        shutil.rmtree(runs_dir / study.name)
    args = study.command(setting, threads if concurrent else None)
    start = time.perf_counter()
    stopped = False
    with open(runs_dir / f"{study.name}.log", "w") as log:
        # its own process group: the joblib launcher's workers are stopped with it
        proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=runs_dir,
            env=_environment(threads),
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        try:
            proc.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            stopped = True
            _stop_group(proc)
        finally:
            if proc.poll() is None:  # the report itself was interrupted: take the runs along
                _stop_group(proc)
    return {
        "name": study.name,
        "command": "python " + shlex.join(args),
        "returncode": proc.returncode,
        "seconds": time.perf_counter() - start,
        "stopped_at_limit": stopped,
    }


def _environment(threads: int | None) -> dict[str, str]:
    """The runs' environment: the package importable from OUT/runs (also from a plain
    checkout), and `threads` CPU threads where given."""
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    if threads:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    return env


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the multirun's process group, then SIGKILL to what is left of it once the
    group is gone or STOP_GRACE_S have passed. The multirun's own process dies at once, but the
    joblib launcher's workers first finish their step, save a checkpoint and write their
    `interrupted` metrics.json, and then idle on (loky keeps workers for reuse, with the GPU
    memory they hold): the SIGKILL ends them."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    end = time.monotonic() + STOP_GRACE_S
    while time.monotonic() < end and _group_alive(proc):
        time.sleep(0.5)
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _group_alive(proc: subprocess.Popen) -> bool:
    """Whether any process of the multirun's group is left (idle loky workers count too, so
    a stopped multirun with workers waits the whole grace time: time for them to write)."""
    proc.poll()  # reap the multirun's own process once it has ended
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return False
    return True
