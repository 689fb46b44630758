"""The catalogue of measures is the one source of every key: a real sweep's metrics.json keys,
its TensorBoard tags and its summary.csv header are exactly what the catalogue derives from
the periods the runs recorded, at stride 2 and at stride 3."""

from __future__ import annotations

import csv
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from checkerboard_gan.analysis.catalogue import (
    BY_NAME,
    CATALOGUE,
    CONTENT,
    FINGERPRINT,
    Periods,
    nested_periods,
    summary_measure_columns,
)
from checkerboard_gan.report.reading import Context
from checkerboard_gan.report.studies import Setting
from checkerboard_gan.report.trained_claims import trained_claim
from checkerboard_gan.sweeps.runs import find_runs

from .test_sweep import job, sweep

STRIDE_3 = ("upsample.stride=3", "disc.stride=3", "dataset.image_size=36")


def test_every_measure_is_named_once_with_a_definition():
    assert len(BY_NAME) == len(CATALOGUE)
    assert all(m.definition and m.label and m.stages for m in CATALOGUE)


def test_keys_of_per_period_measures_need_a_period():
    assert CONTENT.key(3) == "content_3" and BY_NAME["checkerboard"].key() == "checkerboard"
    assert BY_NAME["swd"].key() == "swd" and BY_NAME["swd"].key(32) == "swd_32"
    with pytest.raises(ValueError, match="needs a period"):
        CONTENT.key()
    with pytest.raises(ValueError, match="takes no period"):
        BY_NAME["checkerboard"].key(2)


@given(st.integers(2, 5), st.integers(1, 4))
def test_nested_periods_are_the_powers_of_the_stride(stride, n):
    periods = nested_periods(stride, stride**n)
    assert periods == [stride**i for i in range(1, n + 1)]
    with pytest.raises(ValueError):
        nested_periods(stride, stride**n + 1)


def _scalar_tags(run_dir) -> set[str]:
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return set(acc.Tags()["scalars"])


@pytest.mark.slow
@pytest.mark.parametrize("stride", [2, 3])
def test_a_sweeps_keys_tags_and_summary_header_are_the_catalogues(tmp_path, stride):
    extra = STRIDE_3 if stride == 3 else ()
    done = sweep(
        tmp_path,
        "upsample=deconv,nearest",
        "upsample.kernel=3",
        "train.steps=4",
        "log.every=2",
        *extra,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    run = job(tmp_path, "upsample=deconv")
    m = json.loads((run / "metrics.json").read_text())
    periods = Periods.from_record(m)
    assert m["schema_version"] == 2 and periods is not None
    total = 4 if stride == 2 else 9  # 16 px (the tiny config) and 36 px from a 4 x 4 base
    levels = (16,) if stride == 2 else (36, 18)  # the SWD pyramid down to 16 px
    assert periods == Periods(stride, total, stride, total, levels, fid=False)
    for probe in m["probes"]:
        assert list(probe) == ["step", *periods.probe_keys()]
    for ev in m["evaluations"]:
        assert list(ev["fake"]) == periods.evaluation_keys("fake")
        assert list(ev["real"]) == periods.evaluation_keys("real")
        assert list(ev["quality"]) == periods.quality_keys()
        assert list(ev["quality_floor"]) == periods.quality_keys(floor=True)
    assert "overlap_unevenness" in m
    tags = _scalar_tags(run)
    measured = {
        t for t in tags if t.startswith(("artifacts/", "eval/fake/", "eval/real/", "eval/q"))
    }
    assert measured == set(periods.tensorboard_tags())
    assert {t for t in tags if t.startswith("init/")} == {
        f"init/{t}" for t in periods.hparam_tags()
    }
    with open(tmp_path / "sweep" / "summary.csv", newline="") as f:
        header = next(csv.reader(f))
    columns = summary_measure_columns(periods)
    assert [c for c in header if c in columns] == columns
    named = {c for c in header if c.endswith(("_init", "_last", "_real"))}
    assert named == {c for c in columns if c.endswith(("_init", "_last", "_real"))}
    assert {"swd_init", "swd_last", "swd_real"} <= named
    content, fingerprint = CONTENT.key(stride), FINGERPRINT.key(stride)
    md = (tmp_path / "sweep" / "summary.md").read_text(encoding="utf-8")
    assert f"| {content} | {fingerprint} | swd |" in md
    with open(tmp_path / "sweep" / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert all(float(r[f"{content}_last"]) >= 0 for r in rows)  # numbers, not blanks or NaN
    if stride == 3:
        _report_reads_stride_3(tmp_path)


def _report_reads_stride_3(tmp_path):
    """The report's claim 3 over the stride-3 runs reads content_3, never a NaN at period 2."""
    rows = {"train_resize": find_runs(tmp_path / "sweep")}
    blocks, checks = trained_claim(3)(Context(tmp_path, Setting("cpu", 1, 4, (), None, 1), rows))
    header = next(b for b in blocks if hasattr(b, "header")).header
    assert "content_3 init → trained" in header
    deconv_vs_nearest = checks[0]
    assert deconv_vs_nearest.ok is not None and "content_3" in deconv_vs_nearest.text
