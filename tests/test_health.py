"""A generator that no longer makes images never reads as "no checkerboard": the diversity and
saturation measures on planted batches with hand-worked values, and the field example (learning
rates of 1e6) marked collapsed in metrics.json, TensorBoard, the log, the closing block and the
sweep summary."""

from __future__ import annotations

import logging

import pytest
import torch

from checkerboard_gan.analysis import measures
from checkerboard_gan.analysis.streaming import ImageStatistics
from checkerboard_gan.sweeps.summary import summarize
from checkerboard_gan.training.logger import degenerate
from checkerboard_gan.training.run import final_block, train

from .conftest import compose_config, read_metrics
from .test_trainer import events


def test_diversity_is_0_for_identical_images_1_for_opposite_ones_and_scale_free():
    g = torch.Generator().manual_seed(0)
    one = torch.rand(1, 3, 8, 8, generator=g) * 2 - 1
    assert measures.diversity(one.expand(16, -1, -1, -1)) == 0.0
    assert measures.diversity(torch.full((8, 3, 8, 8), 0.3)) == 0.0  # constant: no images
    board = (torch.arange(8)[:, None] + torch.arange(8)) % 2 * 2.0 - 1  # +-1, mean 0
    plus_minus = torch.cat([board.expand(4, 3, 8, 8), -board.expand(4, 3, 8, 8)])
    assert measures.diversity(plus_minus) == pytest.approx(1.0)  # per-pixel std 1, total std 1
    colours = torch.rand(8, 3, 1, 1, generator=g).expand(8, 3, 8, 8)
    assert measures.diversity(colours) == 0.0  # flat images of any colours: no structure
    noise = torch.randn(64, 3, 8, 8, generator=g, dtype=torch.float64)
    assert measures.diversity(0.001 * noise) == pytest.approx(measures.diversity(noise))
    assert measures.diversity(noise) == pytest.approx(1.0, abs=0.05)
    two = torch.cat([noise[:1].expand(32, -1, -1, -1), noise[1:2].expand(32, -1, -1, -1)])
    # two images a, b half each: per-pixel std |a - b| / 2, total std about 1: E|a - b| / 2
    # = 1 / sqrt(pi) for independent standard normal pixels
    assert measures.diversity(two) == pytest.approx(1 / torch.pi**0.5, rel=0.1)


def test_the_evaluation_streams_the_same_diversity_as_the_whole_batch():
    x = torch.rand(40, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1
    x[:, 0] += 0.5 * torch.linspace(-1, 1, 16)  # structure in the mean image
    stats = ImageStatistics(2, [2, 4], (3, 16, 16), 0)
    for chunk in x.split(7):
        stats.add(chunk)
    assert stats.values()["diversity"] == pytest.approx(measures.diversity(x), rel=1e-5)
    same = ImageStatistics(2, [2], (3, 16, 16), 0)
    same.add(x[:1].expand(10, -1, -1, -1))
    assert same.values()["diversity"] == 0.0


def test_a_saturated_generator_is_marked_only_where_the_real_images_are_not():
    scores = {"diversity": 0.8, "saturated": 0.995}
    assert degenerate(scores, real_saturated=0.3).startswith("saturated: 99.5%")
    assert degenerate(scores, real_saturated=1.0) is None  # shapes are saturated themselves
    assert degenerate({"diversity": 0.01, "saturated": 0.0}, 0.3).startswith("collapsed")


@pytest.mark.slow
def test_a_collapsed_generator_is_marked_wherever_its_measures_are_shown(tmp_path, caplog):
    """The field example: learning rates of 1e6, no normalisation; from step 5 every sample is
    the same image of -1 and +1, losses reach 1e22, and CB reads 0."""
    overrides = (
        "dataset.num_images=256",
        "train.lr_d=1e6",
        "train.lr_g=1e6",
        "model.norm=none",
        "train.steps=40",
        "log.every=5",
    )
    with caplog.at_level(logging.WARNING):
        train(compose_config(*overrides), tmp_path / "run")
    m = read_metrics(tmp_path / "run")
    assert m["status"] == "completed" and m["collapsed"] is True and m["collapsed_at"] == 5
    assert m["probes"][0]["diversity"] > 0.3 and m["probes"][-1]["diversity"] < 0.05
    assert m["evaluations"][-1]["fake"]["diversity"] < 0.05
    assert m["absurd_loss_at"] is not None
    warned = [r.message for r in caplog.records if "collapsed" in r.message]
    assert len(warned) == 1 and "step 5" in warned[0]
    assert any("losses this large" in r.message for r in caplog.records)
    block = final_block(m, tmp_path / "run")
    assert "not meaningful (collapsed)" in block and "CB_4 at init" not in block
    tags = events(tmp_path / "run").Tags()["scalars"]
    assert {"artifacts/diversity", "artifacts/saturated", "eval/fake/diversity"} <= set(tags)
    train(compose_config("train.steps=4"), tmp_path / "healthy")
    assert read_metrics(tmp_path / "healthy")["collapsed"] is False
    (tmp_path / "sweep").mkdir()
    for name, lr in (("run", "1e6"), ("healthy", "5e-4")):  # a sweep folder of the two
        (tmp_path / name / ".hydra").mkdir()
        (tmp_path / name / ".hydra" / "overrides.yaml").write_text(f"- train.lr_g={lr}\n")
        (tmp_path / name).rename(tmp_path / "sweep" / name)
    summarize(tmp_path / "sweep")
    lines = (tmp_path / "sweep" / "summary.md").read_text().splitlines()
    collapsed = next(line for line in lines if "collapsed at 5" in line)
    healthy = next(line for line in lines if "| completed |" in line)
    assert "not meaningful (collapsed)" in collapsed and "not meaningful" not in healthy
