"""Runs that survive: kill and resume, signals, divergence, damaged or unsafe checkpoints."""

from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from io import BytesIO

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from checkerboard_gan.config import ConfigError
from checkerboard_gan.rundir.checkpoint import CheckpointError, load_checkpoint, load_latest
from checkerboard_gan.rundir.record import Diverged
from checkerboard_gan.training.losses import NonSaturatingBCE
from checkerboard_gan.training.run import train

from .conftest import TINY, compose_config, read_metrics

LONG = [o for o in TINY if not o.startswith(("train.steps", "log.every"))] + [
    "train.steps=300",
    "train.checkpoint_every=20",
    "log.every=100",
    "log.loss_every=5",
]


def start(run_dir, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "checkerboard_gan", *LONG, *extra, f"hydra.run.dir={run_dir}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path, process, timeout=120.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.005)


def scalars(run_dir, tag="loss/d") -> list[tuple[int, float]]:
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def assert_same_run(a, b) -> None:
    last_a = load_checkpoint(a / "checkpoints" / "last.pt")
    last_b = load_checkpoint(b / "checkpoints" / "last.pt")
    for net in ("generator", "discriminator"):
        assert all(torch.equal(last_a[net][k], last_b[net][k]) for k in last_a[net])
    final = "samples/step_0000300.pt"
    assert torch.equal(torch.load(a / final), torch.load(b / final))
    steps_b = [s for s, _ in scalars(b)]
    assert len(steps_b) == len(set(steps_b)), "duplicated steps in the event files"
    assert scalars(a) == scalars(b)
    assert scalars(a, "artifacts/checkerboard") == scalars(b, "artifacts/checkerboard")
    assert [p["step"] for p in read_metrics(b)["probes"]] == [0, 100, 200, 300]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("whole") / "run"
    process = start(run_dir)
    assert process.wait(300) == 0, process.stderr.read()
    return run_dir


def start_then_signal(run_dir, signum: int, *extra: str) -> subprocess.Popen:
    """Start a run and send it `signum` as soon as its first checkpoint exists."""
    process = start(run_dir, *extra)
    wait_for(run_dir / "checkpoints" / "last.pt", process)
    process.send_signal(signum)
    return process


@pytest.mark.slow
def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path, uninterrupted):
    run_dir = tmp_path / "run"
    process = start_then_signal(run_dir, signal.SIGKILL)
    process.wait(30)
    assert read_metrics(run_dir)["status"] == "running"  # killed: nothing could record it
    killed_at = load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"]
    assert killed_at < 300
    resumed = start(run_dir)
    assert resumed.wait(300) == 0, resumed.stderr.read()
    metrics = read_metrics(run_dir)
    assert metrics["status"] == "completed" and metrics["resumed_at"] == [killed_at]
    assert_same_run(uninterrupted, run_dir)


@pytest.mark.slow
def test_sigterm_writes_a_checkpoint_then_resumes(tmp_path, uninterrupted):
    run_dir = tmp_path / "run"
    process = start_then_signal(run_dir, signal.SIGTERM)
    assert process.wait(60) == 130
    metrics = read_metrics(run_dir)
    assert metrics["status"] == "interrupted"
    assert metrics["throughput_img_s"] > 0  # the rate it had, not 0
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"] == metrics["failed_step"]
    resumed = start(run_dir)
    assert resumed.wait(300) == 0, resumed.stderr.read()
    assert read_metrics(run_dir)["status"] == "completed"
    assert_same_run(uninterrupted, run_dir)


def test_resume_from_another_folder_and_extend(tmp_path):
    train(compose_config("train.steps=4", "train.checkpoint_every=2"), tmp_path / "a")
    cfg = compose_config("train.steps=6", f"train.resume={tmp_path / 'a'}")
    metrics = train(cfg, tmp_path / "b")
    assert [p["step"] for p in metrics["probes"]] == [0, 2, 4, 6] and metrics["resumed_at"] == [4]
    whole = train(compose_config("train.steps=6"), tmp_path / "c")
    assert [p["checkerboard"] for p in whole["probes"]] == pytest.approx(
        [p["checkerboard"] for p in metrics["probes"]], rel=0, abs=0
    )


def test_divergence_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    calls = {"n": 0}
    original = NonSaturatingBCE.g

    def poisoned(self, fake):
        calls["n"] += 1
        loss = original(self, fake)
        return loss * float("nan") if calls["n"] >= 5 else loss

    monkeypatch.setattr(NonSaturatingBCE, "g", poisoned)
    cfg = compose_config("train.steps=10", "train.checkpoint_every=2", "log.loss_every=1")
    with pytest.raises(Diverged, match="step 5"):
        train(cfg, tmp_path)
    metrics = read_metrics(tmp_path)
    assert metrics["status"] == "diverged" and metrics["failed_step"] == 5
    kept = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert kept["step"] == 4
    assert all(torch.isfinite(v).all() for v in kept["generator"].values())


def test_truncated_checkpoint_falls_back_to_the_previous_one(tmp_path):
    train(compose_config("train.steps=4", "train.checkpoint_every=2"), tmp_path)
    last = tmp_path / "checkpoints" / "last.pt"
    last.write_bytes(last.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match=f"checkpoint {last} cannot be read"):
        load_checkpoint(last)
    state, used = load_latest(last)
    assert state["step"] == 2 and used.name == "previous.pt"
    (tmp_path / "checkpoints" / "previous.pt").unlink()
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        train(compose_config("train.steps=6"), tmp_path)


class Payload:
    """Stands for any object a pickled checkpoint could smuggle in."""


def test_checkpoint_with_pickled_object_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"step": 1, "payload": Payload()}, path)
    with pytest.raises(CheckpointError, match="pickled Python objects"):
        load_checkpoint(path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "checkerboard_gan",
            *TINY,
            f"train.resume={path}",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HYDRA_FULL_ERROR": ""},
    )
    assert result.returncode == 2
    assert "pickled Python objects" in result.stderr and "Traceback" not in result.stderr


def test_resume_with_a_different_config_is_refused(tmp_path):
    train(compose_config("train.steps=2"), tmp_path)
    with pytest.raises(CheckpointError, match="upsample.kernel: 3 -> 4"):
        train(compose_config("train.steps=4", "upsample.kernel=4"), tmp_path)


def test_bad_paths_fail_before_training(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        compose_config(f"train.resume={tmp_path / 'nope'}")
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="cannot write to the run folder"):
        train(compose_config(), tmp_path / "file" / "run")


def flip_in_entry(data: bytes, index: int) -> bytes:
    """`data`, a zip file, with the middle byte of its entry `index` (in file order) flipped."""
    info = zipfile.ZipFile(BytesIO(data)).infolist()[index]
    header = data[info.header_offset : info.header_offset + 30]
    start = (
        info.header_offset + 30 + sum(int.from_bytes(header[o : o + 2], "little") for o in (26, 28))
    )
    at = start + info.compress_size // 2
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


@pytest.mark.parametrize(
    "damage",
    [
        *(lambda b, seed=seed: random.Random(seed).randbytes(len(b)) for seed in range(4)),
        lambda b: bytes([b[0] ^ 0xFF]) + b[1:],
        *(lambda b, i=i: flip_in_entry(b, i) for i in (1, 10, -5)),
    ],
    ids=[
        *(f"random-bytes-{seed}" for seed in range(4)),
        "flipped-first-byte",
        *(f"flipped-byte-in-entry-{i}" for i in (1, 10, -5)),
    ],
)
def test_a_corrupt_last_checkpoint_is_corrupt_not_pickled_and_previous_is_used(
    damage, tmp_path, caplog
):
    train(compose_config("train.steps=4", "train.checkpoint_every=2"), tmp_path)
    last = tmp_path / "checkpoints" / "last.pt"
    last.write_bytes(damage(last.read_bytes()))
    with pytest.raises(CheckpointError, match="truncated or corrupt") as err:
        load_checkpoint(last)
    assert "pickled" not in str(err.value)
    with caplog.at_level(logging.INFO):
        metrics = train(compose_config("train.steps=6", "train.checkpoint_every=2"), tmp_path)
    assert metrics["status"] == "completed" and metrics["resumed_at"] == [2]
    assert f"{last} cannot be read" in caplog.text
    assert f"resuming from {last.with_name('previous.pt')} at step 2" in caplog.text


@pytest.mark.slow
def test_a_second_process_is_refused_a_live_run_folder_but_not_a_dead_ones(tmp_path):
    run_dir = tmp_path / "run"
    first = start(run_dir, "train.steps=1000000")  # still running when the second one starts
    wait_for(run_dir / "checkpoints" / "last.pt", first)
    second = start(run_dir)
    assert second.wait(120) == 2
    message = second.stderr.read()
    assert f"run folder {run_dir} is in use by process {first.pid}" in message
    assert "Traceback" not in message
    assert read_metrics(run_dir)["status"] == "running"  # the first run's record is untouched
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    done = load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"]
    third = start(run_dir, f"train.steps={done + 10}")  # a dead run's lock does not block it
    assert third.wait(300) == 0, third.stderr.read()
    assert read_metrics(run_dir)["status"] == "completed"


@pytest.mark.slow
def test_a_full_disk_ends_in_one_message_and_keeps_the_checkpoints(tmpfs):
    run_dir = tmpfs("900k") / "run"  # step 0's pictures and tensors fit, and a checkpoint or two
    process = start(run_dir)
    assert process.wait(300) == 2
    message = process.stderr.read()
    assert "Traceback" not in message and "Logging error" not in message
    (line,) = [x for x in message.splitlines() if "error" in x]
    assert line.startswith("checkerboard_gan: error: cannot write ")
    assert "no space left on device" in line
    metrics = read_metrics(run_dir)
    assert metrics["status"] == "failed" and "no space left" in metrics["error"]
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"] > 0


def _images(run_dir, tag: str) -> list[tuple[int, bytes]]:
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return [(e.step, e.encoded_image_string) for e in acc.Images(tag)]


def test_resuming_into_a_new_folder_keeps_the_old_runs_init_grids(tmp_path):
    train(compose_config("train.steps=4", "train.checkpoint_every=2"), tmp_path / "a")
    cfg = compose_config("train.steps=6", f"train.resume={tmp_path / 'a'}")
    train(cfg, tmp_path / "b")
    for tag in ("samples/init", "samples/init_contrast"):
        assert _images(tmp_path / "b", tag) == _images(tmp_path / "a", tag)  # step 0 of run a
    assert [s for s, _ in _images(tmp_path / "b", "samples/init_vs_current")] == [6]
    current = dict(_images(tmp_path / "b", "samples/fixed_contrast"))[6]
    assert current not in {png for _, png in _images(tmp_path / "b", "samples/init_contrast")}


def test_a_truncated_init_sample_file_shows_no_init_grid_on_resume(tmp_path, caplog):
    train(compose_config("train.steps=4", "train.checkpoint_every=2"), tmp_path)
    init = tmp_path / "samples" / "step_0000000.pt"
    init.write_bytes(init.read_bytes()[:100])
    with caplog.at_level(logging.WARNING):
        metrics = train(compose_config("train.steps=6"), tmp_path)
    assert metrics["status"] == "completed"
    assert f"{init} cannot be read" in caplog.text
    assert [s for s, _ in _images(tmp_path, "samples/init_vs_current")] == [0, 2, 4]


def test_leftover_temporary_files_are_removed_at_the_next_start(tmp_path, caplog):
    train(compose_config("train.steps=2"), tmp_path)
    leftovers = [
        tmp_path / ".metrics.json.abc123.tmp",
        tmp_path / "checkpoints" / ".next.999.pt",
        tmp_path / "checkpoints" / ".next.pt",
        tmp_path / "checkpoints" / "..next.999.pt.x1y2.tmp",
    ]
    for path in leftovers:
        path.write_bytes(b"half a write")
    with caplog.at_level(logging.INFO):
        train(compose_config("train.steps=4"), tmp_path)
    assert not any(p.exists() for p in leftovers)
    assert "left by an unfinished write" in caplog.text


def test_resuming_with_fewer_steps_than_done_is_refused(tmp_path):
    train(compose_config("train.steps=4"), tmp_path)
    with pytest.raises(ConfigError, match="train.steps=2 is below step 4"):
        train(compose_config("train.steps=2"), tmp_path)
    assert read_metrics(tmp_path)["status"] == "completed"
    assert [p["step"] for p in read_metrics(tmp_path)["probes"]] == [0, 2, 4]


TIMINGS = (
    "wall_s",
    "probe_s",
    "loop_s",
    "throughput_img_s",
    "resumed_at",
    "seconds",
    "quality_seconds",
    "overrides",
)


def _strip_timings(node):
    if isinstance(node, dict):
        return {k: _strip_timings(v) for k, v in node.items() if k not in TIMINGS}
    if isinstance(node, list):
        return [_strip_timings(v) for v in node]
    return node


def _folder(run_dir) -> dict:
    """What a run folder holds, less timings: files (event files by count), sample and
    picture bytes, metrics.json, every TensorBoard tag with its steps."""
    files = sorted(
        str(p.relative_to(run_dir))
        for p in run_dir.rglob("*")
        if p.is_file()
        and "tfevents" not in p.name
        and p.name != ".lock"
        and ".hydra" not in p.parts
        and p.name != "cli.log"
    )
    pictures = {f: (run_dir / f).read_bytes() for f in files if f.endswith(".png")}
    samples = {
        f: torch.load(run_dir / f) for f in files if f.startswith("samples/") and f.endswith(".pt")
    }
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    acc.Reload()
    tags = {
        tag: sorted({e.step for e in getattr(acc, kind)(tag)})
        for kind, key in (("Scalars", "scalars"), ("Images", "images"), ("Tensors", "tensors"))
        for tag in acc.Tags()[key]
    }
    return {
        "files": files,
        "pictures": pictures,
        "samples": samples,
        "metrics": _strip_timings(read_metrics(run_dir)),
        "tags": tags,
    }


@pytest.mark.slow
def test_the_background_writer_leaves_the_same_folder_also_after_sigterm_and_resume(tmp_path):
    synchronous = tmp_path / "sync"
    process = start(synchronous, "log.background=false")  # as before: no writer thread
    assert process.wait(300) == 0, process.stderr.read()
    background = tmp_path / "background"
    process = start_then_signal(background, signal.SIGTERM, "log.background=true")
    assert process.wait(60) == 130
    resumed = start(background, "log.background=true")
    assert resumed.wait(300) == 0, resumed.stderr.read()
    a, b = _folder(synchronous), _folder(background)
    assert a["files"] == b["files"]
    assert a["pictures"].keys() == b["pictures"].keys()
    differ = [k for k in a["pictures"] if a["pictures"][k] != b["pictures"][k]]
    # only their titles differ, which name the run folder
    assert all(k.startswith(("figures/", "eval/fingerprint", "eval/curves")) for k in differ)
    assert all(torch.equal(a["samples"][k], b["samples"][k]) for k in a["samples"])
    assert a["metrics"] == b["metrics"]
    assert a["tags"] == b["tags"]


def test_the_closing_line_of_a_resumed_run_gives_the_last_part_its_own_rate(tmp_path):
    """1200 steps in 925 s over two parts is not '170 img/s': that is the resumed part's."""
    from checkerboard_gan.training.run import final_block

    m = {"steps": 1200, "wall_s": 925.0, "throughput_img_s": 170.0, "resumed_at": [600]}
    assert final_block(m, tmp_path).splitlines()[0] == (
        "done: 1200 steps, 925 s over 2 parts; the last part, steps 600 to 1200, trained at "
        "170 img/s"
    )
    fresh = {"steps": 1200, "wall_s": 150.0, "throughput_img_s": 520.0, "probe_s": 15.0}
    assert final_block(fresh, tmp_path).splitlines()[0] == (
        "done: 1200 steps in 150 s, 520 img/s (probes and evaluations 10%)"
    )
