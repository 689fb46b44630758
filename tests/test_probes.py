"""Probes on real generators at random init: the article's claims 2 and 5 in small."""

from __future__ import annotations

import statistics

import torch

from checkerboard_gan.models.networks import Discriminator, Generator, batch_statistics
from checkerboard_gan.training.probes import Probe

from .conftest import compose_config


def init_scores(*overrides: str, seeds=range(3)) -> dict[str, float]:
    runs = []
    for seed in seeds:
        cfg = compose_config(
            *overrides, f"seed={seed}", "dataset.image_size=32", "log.num_samples=32"
        )
        torch.manual_seed(seed)
        g, d = Generator(cfg), Discriminator(cfg)
        real = torch.rand(64, 3, 32, 32) * 2 - 1
        runs.append(Probe(cfg, real, g.period, d.period).observe(0, g, d).scores)
    return {k: statistics.mean(r[k] for r in runs) for k in runs[0]}


def test_deconv_k3_checkerboards_at_init_where_nearest_does_not():
    deconv = init_scores("upsample=deconv", "upsample.kernel=3")["checkerboard"]
    nearest = init_scores("upsample=nearest", "upsample.kernel=3")["checkerboard"]
    assert deconv > 3 * nearest


def test_strided_k3_discriminator_checkerboards_its_input_gradient():
    strided = init_scores("disc=strided", "disc.kernel=3")["grad_checkerboard"]
    pooled = init_scores("disc=avgpool")["grad_checkerboard"]
    assert strided > 2 * pooled


def test_batch_statistics_leaves_running_stats_alone():
    g = Generator(compose_config())
    before = {k: v.clone() for k, v in g.state_dict().items()}
    g.eval()
    with batch_statistics(g):
        assert g.training
        g(torch.randn(8, 16))
    assert not g.training
    assert all(torch.equal(before[k], v) for k, v in g.state_dict().items())
