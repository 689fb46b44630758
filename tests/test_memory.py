"""The memory estimate made before anything is allocated, and the refusal it leads to."""

from __future__ import annotations

import pytest
import torch

from checkerboard_gan.models.networks import Discriminator, Generator
from checkerboard_gan.training.memory import GB, estimate

from .conftest import compose_config, run_module


@pytest.mark.parametrize(
    "overrides",
    [[], ["upsample=subpixel", "upsample.blur=true"], ["disc=blurpool"], ["upsample=bilinear"]],
    ids=lambda o: ",".join(o) or "default",
)
def test_model_memory_is_weights_grads_and_adam_moments_of_the_real_models(overrides):
    cfg = compose_config(*overrides)
    params = sum(p.numel() for m in (Generator(cfg), Discriminator(cfg)) for p in m.parameters())
    need = estimate(cfg)
    assert need.models == 16 * params
    assert need.data == 128 * 3 * 16 * 16 + 2 * 64 * 3 * 16 * 16 * 4
    g = Generator(cfg)
    assert need.activations >= 16 * 3 * 16 * 16 * 4  # at least G's output batch
    assert need.activations < 100 * sum(p.numel() for p in g.parameters()) * 4 + 10 * GB


def test_the_estimate_grows_with_the_image_and_is_made_without_allocating():
    small, large = (estimate(compose_config(f"dataset.image_size={s}")) for s in (16, 4096))
    assert large.total > 1000 * small.total
    assert torch.empty(0).device.type == "cpu"  # the meta device was left behind


def test_an_impossible_size_is_refused_with_its_estimate_before_any_allocation(tmp_path):
    done = run_module(
        "checkerboard_gan",
        "dataset.image_size=4096",
        f"hydra.run.dir={tmp_path / 'run'}",
        timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "this run needs about" in done.stderr and "GB is free; lower" in done.stderr
    assert "dataset.image_size" in done.stderr and "train.batch_size" in done.stderr
    assert not (tmp_path / "run" / "checkpoints").exists()
