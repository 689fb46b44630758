"""The command line as a user types it: a subprocess from another folder, and bad input."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import TINY, read_metrics


def run_cli(*args: str, cwd, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "checkerboard_gan", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


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
    assert result.returncode != 0
    for text in expected:
        assert text in result.stderr
    assert "Traceback" not in result.stderr
    if (tmp_path / "run").exists():  # validation errors are recorded; compose errors make no run
        metrics = read_metrics(tmp_path / "run")
        assert metrics["status"] == "failed" and metrics["probes"] == []


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
