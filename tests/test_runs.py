"""Reading run folders: jobs and their overrides, never-started jobs, swept keys, and the tensors
and periods each run saved."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from checkerboard_gan.sweeps.runs import RunRow, find_runs, read_sweep, sort_by_swept_keys


def _run(folder: Path, overrides: list[str], metrics: dict | None = None) -> Path:
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if metrics is not None:
        (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder


def test_runs_are_found_sorted_by_their_swept_keys(tmp_path):
    for name, kernel, seed in (("a", 4, 0), ("b", 3, 1), ("c", 3, 0)):
        overrides = ["+experiment=x", f"upsample.kernel={kernel}", f"seed={seed}"]
        _run(tmp_path / name, overrides, {"status": "completed"})
    rows = find_runs(tmp_path)
    assert [r.path.name for r in rows] == ["a", "b", "c"]
    assert sort_by_swept_keys(rows) == ["upsample.kernel", "seed"]
    assert [r.path.name for r in rows] == ["c", "b", "a"]
    assert rows[0].values == {"upsample.kernel": "3", "seed": "0"}
    assert [r.path.name for r in read_sweep(tmp_path)] == ["c", "b", "a"]
    assert [r.seed for r in rows] == ["0", "1", "0"] and rows[0].status == "completed"


def test_a_job_that_never_started_is_a_missing_row(tmp_path):
    (tmp_path / "multirun.yaml").write_text(
        "hydra:\n  sweeper:\n    _target_: hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
        "\n    params: {}\n  overrides:\n    task: ['seed=0,1']\n"
    )
    _run(tmp_path / "seed=0", ["seed=0"], {"status": "completed"})
    rows = find_runs(tmp_path)
    assert [(r.overrides, r.status) for r in rows] == [
        (["seed=0"], "completed"),
        (["seed=1"], "missing"),
    ]


def test_saved_tensors_and_periods_are_read_back(tmp_path):
    folder = _run(tmp_path / "r", ["seed=3"], {"checkerboard_period": 8, "grad_period": 4})
    row = RunRow(folder, ["seed=3"], json.loads((folder / "metrics.json").read_text()))
    samples, grad = torch.ones(2, 1, 4, 4), torch.full((3, 1, 4, 4), 0.5)
    for sub, tensor in (("samples", samples), ("gradients", grad)):
        (folder / sub).mkdir()
        for step in (0, 10):
            torch.save(tensor * (step + 1), folder / sub / f"step_{step:07d}.pt")
    (folder / "samples" / "step_0000010_contrast.png").write_bytes(b"")
    assert row.sample_steps == row.gradient_steps == [0, 10]
    assert torch.equal(row.samples(10), samples * 11)
    assert torch.equal(row.gradient(0), grad)
    assert row.gradient(5) is None
    assert (row.period, row.grad_period, row.seed) == (8, 4, "3")
    assert RunRow(folder, [], None).period is None and RunRow(folder, [], None).seed == "0"
