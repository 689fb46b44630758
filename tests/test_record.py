"""metrics.json has one owner: every write of the file in a real run, a failed run and the
evaluate command goes through `RunRecord` (seen by a Python audit hook on every open and
rename); and the record keeps what a resumed run continues."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import pytest

from checkerboard_gan.evaluate import evaluate_run
from checkerboard_gan.rundir.record import SCHEMA_VERSION, Diverged, RunRecord, read_record
from checkerboard_gan.training.run import train

from .conftest import compose_config

RECORD = str(Path(__file__).resolve().parents[1] / "checkerboard_gan" / "rundir" / "record.py")
WATCH: list[list[str]] = []  # while a test appends a list, the writes it sees go into it
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _writes_the_record(event: str, args: tuple) -> bool:
    if event == "open":
        path, mode, flags = args
        name = Path(str(path)).name
        if "metrics.json" not in name:
            return False
        return bool(flags & WRITE_FLAGS) if mode is None else any(c in mode for c in "wax+")
    if event == "os.rename":
        return Path(str(args[1])).name == "metrics.json"
    return False


def _hook(event: str, args: tuple) -> None:
    if WATCH and event in ("open", "os.rename") and _writes_the_record(event, args):
        WATCH[-1].append(" <- ".join(f.filename for f in reversed(traceback.extract_stack())))


sys.addaudithook(_hook)


@pytest.fixture
def writes():
    seen: list[str] = []
    WATCH.append(seen)
    yield seen
    WATCH.remove(seen)


def test_only_the_record_writes_metrics_json(tmp_path, writes):
    train(compose_config("train.steps=2"), tmp_path / "run")
    evaluate_run(tmp_path / "run", num_samples=16)
    with pytest.raises(Diverged):
        train(compose_config("train.lr_d=1e38", "train.lr_g=1e38", "train.steps=3"), tmp_path / "d")
    assert writes, "the audit hook saw no write of metrics.json"
    strangers = [w for w in writes if RECORD not in w]
    assert not strangers, strangers[0]
    assert read_record(tmp_path / "d")["status"] == "diverged"
    assert read_record(tmp_path / "run")["schema_version"] == SCHEMA_VERSION


def test_a_resumed_record_keeps_what_came_before_the_resume_step(tmp_path):
    earlier = {
        "periods": {
            "generator": {"finest": 2, "total": 8},
            "discriminator": {"finest": 2, "total": 4},
        },
        "overlap_unevenness": 4.0,
        "wall_s": 3.0,
        "probes": [{"step": 0}, {"step": 5}, {"step": 10}],
        "evaluations": [{"step": 0}, {"step": 10}],
        "resumed_at": [3],
        "final_loss_d": 1.0,
    }
    record = RunRecord.start(tmp_path, {"steps": 20}, earlier, resume_step=5)
    data = record.data
    assert [p["step"] for p in data["probes"]] == [0, 5]
    assert [e["step"] for e in data["evaluations"]] == [0]
    assert data["resumed_at"] == [3, 5] and data["overlap_unevenness"] == 4.0
    assert data["wall_s"] == 3.0 and data["final_loss_d"] == 1.0  # stands until it trains
    assert data["status"] == "running" and data["schema_version"] == SCHEMA_VERSION
    record.add_evaluation({"step": 5, "fake": {}})
    record.add_evaluation({"step": 5, "fake": {"x": 1}})  # replaces the one of the same step
    assert [e["step"] for e in read_record(tmp_path)["evaluations"]] == [0, 5]
    assert read_record(tmp_path)["evaluations"][1]["fake"] == {"x": 1}


def test_a_job_that_failed_outside_its_run_is_marked_once(tmp_path):
    record = RunRecord.open(tmp_path)
    assert record.get("status") == "missing"
    line = record.fail_unless_ended(["seed=1"], ValueError("bad\nsecond line"))
    assert line == "ValueError: bad"
    assert read_record(tmp_path)["status"] == "failed"
    RunRecord.start(tmp_path, {}).finish(wall_s=1.0)
    RunRecord.open(tmp_path).fail_unless_ended([], RuntimeError("late"))
    assert read_record(tmp_path)["status"] == "completed"  # its own ending is kept
