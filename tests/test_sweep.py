"""Multirun sweeps end in summary.csv / .md / .png; failures are rows, not lost sweeps."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from omegaconf import OmegaConf
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams.api_pb2 import DataType
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

from checkerboard_gan.config import config_dir
from checkerboard_gan.sweeps.summary import CELL, LABEL_W

from .conftest import TINY, compose_config

SMALL = [o for o in TINY if not o.startswith(("train.steps", "log.every"))]


def sweep(tmp_path, *overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "checkerboard_gan",
            "-m",
            *SMALL,
            *overrides,
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )


def job(tmp_path, override: str):
    """The one job folder of the sweep whose name (its overrides) holds `override`."""
    (found,) = [p for p in (tmp_path / "sweep").iterdir() if override in p.name.split(",")]
    return found


def test_sweep_folders_are_named_after_their_swept_overrides(tmp_path):
    result = sweep(tmp_path, "upsample=deconv,nearest", "upsample.kernel=3,4", "train.steps=0")
    assert result.returncode == 0, result.stderr[-2000:]
    names = sorted(p.name for p in (tmp_path / "sweep").iterdir() if p.is_dir())
    assert names == [
        f"upsample={u},upsample.kernel={k}" for u in ("deconv", "nearest") for k in (3, 4)
    ]


def read_rows(tmp_path) -> list[dict]:
    with open(tmp_path / "sweep" / "summary.csv") as f:
        return list(csv.DictReader(f))


def test_four_run_sweep_ends_in_a_summary(tmp_path):
    result = sweep(
        tmp_path, "upsample=deconv,nearest", "upsample.kernel=3,4", "train.steps=2", "log.every=1"
    )
    assert result.returncode == 0, result.stderr
    sweep_dir = tmp_path / "sweep"
    last = result.stdout.strip().splitlines()  # the sweep's own last word, after the runs'
    assert last[-1].endswith(
        f"look: tensorboard --logdir {sweep_dir} --samples_per_plugin images=1000"
    )
    assert last[-2] == f"  sweep folder: {sweep_dir} (summary.md, summary.csv, summary.png)"
    head = "sweep done: 4 runs (each cell: step 0 -> last, real images' floor in brackets)"
    assert last[-9].endswith(head) and last[-8].startswith("| upsample | upsample.kernel |")
    assert len([x for x in last[-8:-2] if x.startswith("| ")]) == 6  # header, rule, 4 runs
    rows = read_rows(tmp_path)
    assert [(r["upsample"], r["upsample.kernel"]) for r in rows] == [
        ("deconv", "3"),
        ("deconv", "4"),
        ("nearest", "3"),
        ("nearest", "4"),
    ]
    for row in rows:
        metrics = json.loads((tmp_path / "sweep" / row["run"] / "metrics.json").read_text())
        assert row["status"] == "completed"
        assert f"upsample={row['upsample']}" in row["overrides"].split()
        first, last = metrics["probes"][0], metrics["probes"][-1]
        for name in ("checkerboard", "spectral_peak_db", "spectral_distance", "grad_checkerboard"):
            assert float(row[f"{name}_init"]) == first[name]
            assert float(row[f"{name}_last"]) == last[name]
        assert float(row["final_loss_d"]) == metrics["final_loss_d"]
        assert float(row["wall_s"]) == metrics["wall_s"]
    md = (tmp_path / "sweep" / "summary.md").read_text(encoding="utf-8")
    assert md.count("| completed |") == 4
    header = next(line for line in md.splitlines() if line.startswith("| upsample"))
    assert header.split(" | ")[:5] == [
        "| upsample",
        "upsample.kernel",
        "status",
        "checkerboard",
        "grad_checkerboard",
    ]
    assert "overrides" not in header and "final_loss_d" not in header  # the CSV keeps those
    first_row = md.splitlines()[md.splitlines().index(header) + 2]
    cells = first_row.strip("| ").replace(" → ", " | ").replace(" (", " | ").replace(")", "")
    numbers = [c for c in cells.split(" | ")[3:] if c]
    assert " → " in first_row
    assert all(
        len(c.replace(".", "").replace("-", "").lstrip("0").split("e")[0]) <= 3 for c in numbers
    ), first_row  # 3 significant digits
    sheet = Image.open(tmp_path / "sweep" / "summary.png")
    assert sheet.height >= 4 * CELL and sheet.height < 5 * CELL
    assert sheet.width == LABEL_W + 4 * CELL  # step 0, middle, last, phase energy
    check_hparams(tmp_path / "sweep" / "upsample=deconv,upsample.kernel=3")


def check_hparams(run_dir) -> None:
    """HParams: the swept keys first and marked as differing, values in their own types, each
    measure at init beside its last value."""
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    content = acc.PluginTagToContent("hparams")
    experiment = HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    infos = [(i.name, i.differs) for i in experiment.hparam_infos]
    assert infos[:2] == [("upsample.name", True), ("upsample.kernel", True)]
    assert not any(differs for _, differs in infos[2:])
    types = {i.name: i.type for i in experiment.hparam_infos}
    assert types["disc.first_stride_only"] == DataType.DATA_TYPE_BOOL
    assert types["upsample.name"] == DataType.DATA_TYPE_STRING
    start = HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    assert start.session_start_info.group_name.startswith("deconv,3 [")  # says what the run is
    assert start.session_start_info.hparams["disc.first_stride_only"].bool_value is False
    assert start.session_start_info.hparams["disc.first_stride_only"].WhichOneof("kind") == (
        "bool_value"
    )
    tags = [m.name.tag for m in experiment.metric_infos]
    assert tags[:2] == ["init/artifacts/checkerboard", "artifacts/checkerboard"]
    assert "init/eval/fake/content_2" in tags and "eval/fake/content_2" in tags
    assert [e.step for e in acc.Scalars("init/artifacts/checkerboard")] == [0]


def test_a_failed_run_becomes_a_failed_row(tmp_path):
    """A job that passes the config checks (a bad value is refused before the sweep starts)
    but fails at run time: 8 images cannot fill a batch of 16."""
    result = sweep(tmp_path, "dataset.num_images=8,128", "train.steps=1")
    assert result.returncode == 1  # the sweep says something failed ...
    rows = {r["dataset.num_images"]: r for r in read_rows(tmp_path)}
    assert rows["128"]["status"] == "completed"  # ... but the other run ran and is summarised
    assert rows["8"]["status"] == "failed"
    assert "train.batch_size=16 is larger than the dataset (8 images)" in rows["8"]["error"]


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_sweep_through_launchers(tmp_path, launcher):
    extra = ["hydra.launcher.n_jobs=2"] if launcher == "joblib" else []
    result = sweep(
        tmp_path,
        f"hydra/launcher={launcher}",
        *extra,
        "upsample=deconv,nearest",
        "train.steps=2",
        "threads=1",  # concurrent runs share the cores instead of each taking all
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = read_rows(tmp_path)
    assert [(r["upsample"], r["status"]) for r in rows] == [
        ("deconv", "completed"),
        ("nearest", "completed"),
    ]
    for row in rows:
        metrics = json.loads((tmp_path / "sweep" / row["run"] / "metrics.json").read_text())
        assert metrics["torch_threads"] == 1


EXPERIMENTS = sorted(p.stem for p in (config_dir() / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_composes(name):
    assert compose_config(f"+experiment={name}", tiny=False).dataset.name == "shapes"


def test_init_study_runs_end_to_end_in_small(tmp_path):
    # Command-line sweeps replace the preset's values for the same keys.
    result = sweep(tmp_path, "+experiment=init_study", "seed=0", "upsample.kernel=3,4")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = read_rows(tmp_path)
    kinds = OmegaConf.load(config_dir() / "experiment" / "init_study.yaml").hydra.sweeper.params
    assert len(rows) == 2 * len(kinds.upsample.split(","))
    assert {r["last_probe_step"] for r in rows} == {"0"}
