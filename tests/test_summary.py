"""The sweep summary: summary.csv with every field, a narrow summary.md to 3 significant
digits, the contact sheet, and rows for runs that failed, were killed or never started."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import torch
from PIL import Image

from checkerboard_gan.sweeps.summary import (
    CELL,
    LABEL_W,
    PICTURE,
    _thumbnail,
    markdown_columns,
    summarize,
    write_tables,
)

from .test_sweep import job, sweep


def test_the_markdown_table_is_narrow_and_the_csv_keeps_everything(tmp_path):
    rows = [
        {"upsample.name": "deconv", "status": "completed", "checkerboard_init": 0.123456,
         "checkerboard_last": 12345.678, "content_2_init": 1e-5, "content_2_last": 1e-5,
         "content_2_real": 7e-4, "final_loss_d": 1.2345,
         "throughput_img_s": 512.25},
        {"upsample.name": "a|b", "status": "failed", "error": "boom"},
    ]  # fmt: skip
    write_tables(rows, tmp_path, ["upsample.name"])
    md = (tmp_path / "summary.md").read_text(encoding="utf-8")
    header = "| upsample.name | status | checkerboard | content_2 | throughput_img_s |"
    assert header in md  # one column per measure, init and last in one cell
    assert "| deconv | completed | 0.123 → 1.23e+04 | 1e-05 (0.0007) | 512 |" in md
    assert "| a\\|b | failed: boom |" in md  # the first error line beside the status
    (table_header,) = [line for line in md.splitlines() if line.startswith("| upsample.name")]
    assert "final_loss_d" not in table_header
    csv_text = (tmp_path / "summary.csv").read_text()
    assert "final_loss_d" in csv_text and "1.2345" in csv_text and "boom" in csv_text
    columns = ["status", "x", "checkerboard_last", "grad_checkerboard_init", "throughput_img_s"]
    assert markdown_columns(columns, ["x"]) == [
        "x", "status", "checkerboard", "grad_checkerboard", "throughput_img_s"
    ]  # fmt: skip


def test_an_init_only_sweep_sheet_has_no_empty_columns_and_integer_thumbnails(tmp_path):
    assert sweep(tmp_path, "upsample=deconv,nearest", "train.steps=0").returncode == 0
    sheet = Image.open(tmp_path / "sweep" / "summary.png")
    assert sheet.width == LABEL_W + 2 * CELL  # step 0 and its phase energy
    x = torch.rand(16, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    thumb = _thumbnail(x, PICTURE)
    assert thumb.shape[-1] == 2 * (4 * 16 + 2 * 5)  # the 16 px grid enlarged 2 x, exactly
    assert torch.equal(thumb[:, ::2, ::2], thumb[:, 1::2, 1::2])


def test_summary_of_a_partial_sweep(tmp_path):
    assert sweep(tmp_path, "upsample=deconv,nearest", "train.steps=0").returncode == 0
    (job(tmp_path, "upsample=nearest") / "metrics.json").unlink()  # killed before writing it
    rows = summarize(tmp_path / "sweep")
    assert [r.status for r in rows] == ["completed", "missing"]
    script = Path(__file__).resolve().parents[1] / "scripts" / "summarize.py"  # the checkout's
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "sweep")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "missing" in out


def test_a_killed_sweep_shows_killed_and_never_started_runs(tmp_path):
    assert sweep(tmp_path, "upsample=deconv,nearest,bilinear", "train.steps=0").returncode == 0
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    killed = job(tmp_path, "upsample=nearest")
    metrics = json.loads((killed / "metrics.json").read_text()) | {"status": "running"}
    (killed / "metrics.json").write_text(json.dumps(metrics))
    (killed / ".lock").write_text(dead.stdout)  # its process is gone
    shutil.rmtree(job(tmp_path, "upsample=bilinear"))  # never started
    rows = {r.values["upsample"]: r.status for r in summarize(tmp_path / "sweep")}
    assert rows == {"deconv": "completed", "nearest": "killed", "bilinear": "missing"}
    table = (tmp_path / "sweep" / "summary.md").read_text(encoding="utf-8")
    assert "| killed |" in table and "| missing |" in table
