"""A run's folder and record belong to that run (issue 26, kind 3): a refused command changes no
byte and makes no folder, a finished run is not run again, no two sweep jobs share a folder, a
sweep Hydra accepts gets its summary, and paths are stored absolute. Real CLI runs."""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from checkerboard_gan.config import absolute_paths, path_keys, same_path, sweep_jobs
from checkerboard_gan.rundir.admission import HeldFileHandler, first_missing
from checkerboard_gan.rundir.record import AlreadyComplete
from checkerboard_gan.sweeps.callback import SweepSummary
from checkerboard_gan.sweeps.runs import never_started
from checkerboard_gan.training.run import train

from .conftest import TINY, compose_config, read_metrics, run_module

SHORT = [o for o in TINY if not o.startswith(("train.steps=", "log.every="))] + [
    "train.steps=2",
    "log.every=1",
]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_module("checkerboard_gan", *args, cwd=cwd, timeout=300)


def tree(folder: Path) -> dict[str, str]:
    """Every file under `folder` (hidden ones too) and the hash of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished 2-step run made by the CLI (lr_g 5e-4, the default)."""
    run_dir = tmp_path_factory.mktemp("finished") / "run1"
    done = cli(*SHORT, f"hydra.run.dir={run_dir}", cwd=run_dir.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    return run_dir


def test_a_refused_resume_leaves_every_byte_of_the_folder(finished):
    before = tree(finished)
    assert {".hydra/config.yaml", ".hydra/overrides.yaml", "cli.log", ".lock"} <= set(before)
    done = cli(*SHORT, f"hydra.run.dir={finished}", "train.lr_g=1e-4", cwd=finished.parent)
    assert done.returncode == 2
    assert "different config (train.lr_g: 0.0005 -> 0.0001)" in done.stderr
    assert tree(finished) == before


def test_running_a_finished_run_again_does_nothing(finished):
    before = tree(finished)
    done = cli(*SHORT, f"hydra.run.dir={finished}", cwd=finished.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"run {finished} is already complete at step 2; nothing to do" in done.stdout
    assert tree(finished) == before
    assert read_metrics(finished)["throughput_img_s"] > 0


def test_a_refused_run_in_its_folder_from_before_changes_nothing(finished):
    """A member not listed: refused for a reason other than the config (FID's weights)."""
    before = tree(finished)
    done = cli(
        *SHORT, f"hydra.run.dir={finished}", "train.steps=4", "eval.fid=true",
        "eval.inception_weights=nowhere.pth", cwd=finished.parent,
    )  # fmt: skip
    assert done.returncode == 2
    assert str(finished.parent / "nowhere.pth") in done.stderr  # the absolute path tried
    assert tree(finished) == before


def test_resuming_a_finished_run_into_a_new_folder_is_refused(finished, tmp_path):
    new = tmp_path / "new"
    done = cli(*SHORT, f"train.resume={finished}", f"hydra.run.dir={new}", cwd=tmp_path)
    assert done.returncode == 2
    assert "is already at step 2 = train.steps, so there is nothing to train" in done.stderr
    assert not new.exists()


def test_a_refused_evaluate_leaves_every_byte_of_the_run(finished):
    """A member not listed: `evaluate RUN` took the lock (rewriting `.lock`) before its checks."""
    before = tree(finished)
    done = run_module(
        "checkerboard_gan.evaluate", str(finished), "--fid", "true", "--inception-weights",
        str(finished / "nowhere.pth"), cwd=finished.parent, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2 and "nowhere.pth" in done.stderr
    assert tree(finished) == before


def test_a_run_refused_before_training_creates_nothing(tmp_path):
    done = cli(*SHORT, "dataset.num_images=50", "train.batch_size=64", cwd=tmp_path)
    assert done.returncode == 2
    assert "train.batch_size=64 is larger than the dataset (50 images)" in done.stderr
    assert list(tmp_path.iterdir()) == []  # not even outputs/ (nor its date folder)


def test_a_finished_run_given_to_train_again_in_process_raises_nothing_to_do(finished):
    cfg = compose_config("train.steps=2", "log.every=1")
    before = tree(finished)
    with pytest.raises(AlreadyComplete, match="already complete at step 2; nothing to do"):
        train(cfg, finished)
    assert tree(finished) == before


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["upsample.kernel=3,3"], "the same settings (upsample.kernel=3)"),
        (["seed=1,2,1"], "jobs 0 and 2 of this sweep have the same settings (seed=1)"),
        (["dataset=folder", "dataset.root=a/b,a_b"], "name one folder, dataset.root=a_b"),
    ],
)
def test_no_two_jobs_of_a_sweep_share_a_folder(tmp_path, values, expected):
    args = [o for o in SHORT if "dataset=folder" not in values or "num_images" not in o]
    done = cli("-m", *args, *values, f"hydra.sweep.dir={tmp_path}/sweep", cwd=tmp_path)
    assert done.returncode == 2
    assert expected in done.stderr and "each job needs its own run folder" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_sweep_job_refused_in_its_folder_from_before_leaves_it(tmp_path):
    """A member not listed: the same sweep again with another config refuses its one job,
    which keeps its folder as it was, and the sweep ends non-zero; the same sweep unchanged
    has nothing to do and ends in its summary."""
    sweep = tmp_path / "sweep"
    args = ["-m", *SHORT, f"hydra.sweep.dir={sweep}", "hydra.sweep.subdir=job"]
    assert cli(*args, cwd=tmp_path).returncode == 0
    job = sweep / "job"
    before = tree(job)
    done = cli(*args, "train.lr_g=1e-4", cwd=tmp_path)
    assert done.returncode == 1
    assert f"run {job} refused, its folder left as it was" in done.stdout + done.stderr
    assert "1 of 1 runs did not complete: job (refused)" in done.stdout + done.stderr
    assert tree(job) == before
    done = cli(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "already complete at step 2; nothing to do" in done.stdout
    assert tree(job) == before and (sweep / "summary.csv").is_file()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["upsample=nearest,bogus"], "job 1 of this sweep (upsample=bogus): In 'config': Could "
         "not find 'upsample/bogus'; valid: bilinear, bilinear_additive, custom, deconv"),
        (["upsample.kernel=3,0"], "job 1 of this sweep (upsample.kernel=0): upsample.kernel=0 is "
         "invalid: it must be an integer >= 1"),
        (["upsample.kernal=3,4"], "Key 'kernal' not in 'DeconvConfig'"),
    ],
)  # fmt: skip
def test_a_sweep_with_a_bad_job_is_refused_before_any_folder(tmp_path, values, expected):
    done = cli("-m", *SHORT, *values, cwd=tmp_path)
    assert done.returncode == 2
    assert expected in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert list(tmp_path.iterdir()) == []


def test_jobs_are_matched_to_folders_on_the_values_their_sweep_varies():
    jobs = [["upsample=a", "train.lr_g=1"], ["upsample=b", "train.lr_g=1"]]
    assert never_started(jobs, [["upsample=a"], ["upsample=b", "seed=2"]]) == []
    assert never_started(jobs, [["upsample=a", "train.lr_g=2"]]) == [jobs[1]]
    assert never_started([["seed=1"]], []) == [["seed=1"]]


def test_a_glob_sweep_gets_its_summary(tmp_path):
    sweep = tmp_path / "sweep"
    done = cli("-m", *SHORT, "upsample=glob(n*)", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ConfigLoader" not in done.stderr
    csv = (sweep / "summary.csv").read_text()
    assert "upsample=nearest" in csv and "completed" in csv
    assert (sweep / "summary.md").is_file() and (sweep / "summary.png").is_file()
    assert sweep_jobs(OmegaConf.load(sweep / "multirun.yaml").hydra) == [
        [*SHORT, "upsample=nearest"]
    ]


def test_a_summary_that_cannot_be_written_ends_in_one_line(tmp_path, caplog):
    sweep = tmp_path / "sweep"
    job = sweep / "a"
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("- seed: [unclosed\n")
    script = Path(__file__).parents[1] / "scripts" / "summarize.py"
    done = subprocess.run(
        [sys.executable, str(script), str(sweep)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"summarize.py: error: cannot summarize {sweep}")
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep)}}})
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit) as stop:
        SweepSummary().on_multirun_end(config)
    assert stop.value.code == 1
    assert f"could not write the sweep summary of {sweep}" in caplog.text


def test_relative_paths_are_resolved_where_the_command_started(tmp_path):
    from PIL import Image

    (tmp_path / "imgs").mkdir()
    for i in range(20):
        Image.new("RGB", (16, 16), (10 * i, 0, 255 - 10 * i)).save(tmp_path / "imgs" / f"{i}.png")
    run_dir = tmp_path / "run"
    args = [*SHORT, "dataset=folder", "hydra.job.chdir=true", f"hydra.run.dir={run_dir}"]
    args = [a for a in args if not a.startswith("dataset.num_images")]
    done = cli(*args, "dataset.root=imgs", "train.batch_size=8", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    stored = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    assert stored.dataset.root == str(tmp_path / "imgs")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run_module("checkerboard_gan.evaluate", str(run_dir), cwd=elsewhere, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_absolute_paths_marks_every_path_field_and_keeps_home_and_absolute(tmp_path):
    from hydra import compose, initialize_config_dir

    from checkerboard_gan.config import config_dir

    overrides = ["dataset=folder", "dataset.root=data/x", "train.resume=../runs/r",
                 "eval.inception_weights='~/w.pth'", "upsample=custom"]  # fmt: skip
    with initialize_config_dir(version_base="1.3", config_dir=str(config_dir())):
        cfg = compose("config", overrides=overrides)
    absolute_paths(cfg, tmp_path / "start")
    assert cfg.dataset.root == str(tmp_path / "start" / "data" / "x")
    assert cfg.train.resume == str(tmp_path / "runs" / "r")
    assert cfg.eval.inception_weights == "~/w.pth"
    assert cfg.upsample.target == "checkerboard_gan.models.examples.ResizeConvStage"  # no path
    cfg.dataset.root = "/abs/data"
    absolute_paths(cfg, tmp_path)
    assert cfg.dataset.root == "/abs/data"


def test_the_held_log_writes_nothing_until_the_run_is_admitted(tmp_path):
    path = tmp_path / "cli.log"
    handler = HeldFileHandler(str(path))
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("test_admission.held")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("before admission")
        assert not path.exists()
        handler.write_held()
        logger.info("after")
        handler.flush()
        assert path.read_text() == "before admission\nafter\n"
    finally:
        logger.removeHandler(handler)
        handler.close()


def test_first_missing_is_the_outermost_folder_a_command_would_make(tmp_path):
    assert first_missing(tmp_path / "a" / "b" / "c") == tmp_path / "a"
    assert first_missing(tmp_path) is None


def test_a_relative_path_saved_before_paths_were_absolute_still_resumes():
    """Checkpoints made before this change hold `dataset.root=imgs`; the same folder now
    arrives absolute, and must compare equal (a new user's old runs stay resumable)."""
    assert path_keys(compose_config()) == {"train.resume", "eval.inception_weights"}  # shapes
    assert "dataset.root" in path_keys(compose_config("dataset=mnist"))
    assert same_path("imgs", "/home/u/data/imgs") and same_path("data/imgs", "/x/data/imgs")
    assert not same_path("imgs", "/home/u/other") and not same_path("/a/imgs", "/b/imgs")
    assert same_path(None, None) and not same_path(None, "/x")
