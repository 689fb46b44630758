"""Provenance: the source revision and environment every run and report records."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import torch

import checkerboard_gan
from checkerboard_gan.rundir import provenance
from checkerboard_gan.training.run import train

from .conftest import compose_config


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_revision_is_the_commit_and_says_when_tracked_files_changed(tmp_path, monkeypatch):
    monkeypatch.setattr(provenance, "ROOT", tmp_path)
    assert provenance.revision() == "not a git checkout"
    _git(tmp_path, "init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    _git(tmp_path, "add", "code.py")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    head = _git(tmp_path, "rev-parse", "--short", "HEAD")
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "run.txt").write_text("a run's files are not a change of the code")
    assert provenance.revision() == head
    (tmp_path / "code.py").write_text("x = 2\n")
    assert provenance.revision() == f"{head} with local changes"


def test_a_run_records_the_code_and_machine_that_made_it(tmp_path):
    metrics = train(compose_config("train.steps=0"), tmp_path)
    env = metrics["environment"]
    project = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    declared = re.search(r'^version = "(.+)"', project, re.M)
    assert env["torch"] == torch.__version__ and env["checkerboard_gan"] == declared.group(1)
    assert env["package"] == str(Path(checkerboard_gan.__file__).resolve().parent)
    kind = env["device"].split(":")[0]
    assert kind in ("cpu", "cuda") and ("torch threads" in env["device"]) == (kind == "cpu")
    assert env["source"] == provenance.revision()
