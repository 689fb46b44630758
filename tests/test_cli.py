"""The command line as a user types it: a subprocess from another folder, and bad input."""

from __future__ import annotations

import subprocess

import pytest

from .conftest import TINY, read_metrics, run_module


def run_cli(*args: str, cwd, env: dict | None = None) -> subprocess.CompletedProcess:
    return run_module("checkerboard_gan", *args, cwd=cwd, env=env, timeout=300)


def test_runs_from_any_folder(tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli(*TINY, "upsample=nearest", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    metrics = read_metrics(run_dir)
    assert metrics["status"] == "completed"
    assert "upsample=nearest" in metrics["overrides"]
    assert (run_dir / ".hydra" / "config.yaml").is_file()
    assert (run_dir / "samples" / "step_0000004.pt").is_file()


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("upsample=nope", ["Could not find 'upsample/nope'", "deconv", "nearest", "subpixel"]),
        ("upsample.kernel=0", ["upsample.kernel=0", ">= 1"]),
        ("upsample.kernel=abc", ["upsample.kernel", "abc"]),
        ("+model.foo=1", ["model.foo"]),
        ("upsample.stride=3", ["upsample.stride=3", "dataset.image_size=32"]),
    ],
)
def test_bad_input_fails_with_one_clear_message(tmp_path, override, expected):
    result = run_cli(
        override,
        "train.steps=0",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
        env={"HYDRA_FULL_ERROR": "0"},
    )
    assert result.returncode == 2
    for text in expected:
        assert text in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()  # a refused run leaves no folder behind


def test_a_read_only_run_or_sweep_folder_is_one_message_before_any_work(tmp_path, tmpfs):
    disk = tmpfs("1m", read_only=True)
    for args, folder, key in (
        ([], disk / "run", "hydra.run.dir"),
        (["-m", "upsample=deconv,nearest"], disk / "sweep", "hydra.sweep.dir"),
    ):
        result = run_cli(*args, "train.steps=0", f"{key}={folder}", cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [
            f"checkerboard_gan: error: cannot write to the run folder {folder}: "
            f"read-only file system; choose another with {key}=..."
        ]


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("train.lr_g=nan", "train.lr_g=nan is invalid: it must be a finite number > 0"),
        ("train.lr_d=inf", "train.lr_d=inf is invalid: it must be a finite number > 0"),
        ("device=cuda:x", "device='cuda:x' is invalid: valid are auto, cpu, cuda, cuda:N, mps"),
        ("device=gpu", "device='gpu' is invalid"),
        ("-m upsample=bogus,nearest", "Could not find 'upsample/bogus'"),
    ],
)
def test_bad_values_end_in_one_message_and_exit_2(tmp_path, override, expected):
    result = run_cli(
        *override.split(),
        "train.steps=0",
        f"hydra.run.dir={tmp_path / 'run'}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        cwd=tmp_path,
    )
    assert result.returncode == 2 and expected in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU")
def test_cuda_on_a_machine_without_one_is_a_clear_error(tmp_path):
    result = run_cli("device=cuda", "train.steps=0", f"hydra.run.dir={tmp_path}", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "device=cuda: this machine has no CUDA GPU" in result.stderr


def test_resume_from_a_file_that_is_not_a_checkpoint(tmp_path):
    (tmp_path / "notes.pt").write_text("not a checkpoint")
    result = run_cli(
        *TINY,
        f"train.resume={tmp_path / 'notes.pt'}",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{tmp_path / 'notes.pt'} holds plain text (YAML or similar), not a checkpoint" in (
        result.stderr
    )


def test_a_diverged_run_ends_in_one_line(tmp_path):
    huge = ["train.lr_g=1e38", "train.lr_d=1e38", "train.steps=20"]
    result = run_cli(*TINY, *huge, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("checkerboard_gan:")]
    assert "diverged at step" in line and "status 'diverged'" in line
    assert read_metrics(tmp_path / "run")["status"] == "diverged"


def test_a_single_run_folder_is_named_after_its_overrides(tmp_path):
    from checkerboard_gan.cli import run_suffix

    assert run_suffix([]) == ""  # the quickstart: outputs/DATE/TIME
    assert run_suffix(["train.steps=2", "upsample=nearest", "+experiment=x"]) == (
        "_upsample=nearest,train.steps=2"
    )  # group choices first, the preset left out
    assert run_suffix([f"dataset.root=/a/{'b' * 200}"]).endswith("..")
    result = run_cli(*TINY, "upsample=nearest", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    (run_dir,) = (tmp_path / "outputs").glob("*/*")
    time, rest = run_dir.name.split("_", 1)
    assert len(time) == 8 and rest.startswith("upsample=nearest,dataset.image_size=16")
    assert read_metrics(run_dir)["status"] == "completed"
