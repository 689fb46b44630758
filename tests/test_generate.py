"""`python -m checkerboard_gan.generate`: images from a run folder's checkpoint, by seed."""

from __future__ import annotations

import argparse

import pytest
import torch
from PIL import Image

from checkerboard_gan.generate import generate, latents, parse_seeds
from checkerboard_gan.training.run import train

from .conftest import compose_config, run_module


def test_seeds_parse_as_ranges_and_lists():
    assert parse_seeds("0-3,7") == [0, 1, 2, 3, 7]
    assert parse_seeds("5") == [5]
    for bad in ("a", "-1", "3-x", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="0-15,20"):
            parse_seeds(bad)


def test_a_seed_is_the_same_latent_whatever_else_is_drawn():
    assert torch.equal(latents([3, 4], 16)[1], latents([4], 16)[0])
    assert not torch.equal(latents([3], 16), latents([4], 16))


def test_generate_draws_from_the_last_checkpoint(tmp_path):
    train(compose_config("train.steps=2"), tmp_path / "run")
    png = generate(tmp_path / "run", list(range(16)), None, "cpu")
    assert png == tmp_path / "run" / "generated" / "step_0000002_seeds_0-15.png"
    saved = torch.load(png.with_suffix(".pt"), weights_only=True)
    assert saved["seeds"].tolist() == list(range(16)) and saved["images"].shape == (16, 3, 16, 16)
    assert saved["images"].abs().max() <= 1
    again = generate(tmp_path / "run", list(range(16)), tmp_path / "other", "cpu")
    assert torch.equal(torch.load(again.with_suffix(".pt"))["images"], saved["images"])
    assert Image.open(png).size == Image.open(png.parent / f"{png.stem}_contrast.png").size


def test_generate_command_and_its_errors(tmp_path):
    train(compose_config("train.steps=2"), tmp_path / "run")
    done = run_module("checkerboard_gan.generate", str(tmp_path / "run"), "--count", "4")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "step_0000002_seeds_0-3.png" in done.stdout
    done = run_module("checkerboard_gan.generate", str(tmp_path))
    assert done.returncode == 2 and "holds no checkpoint" in done.stderr
    assert "Traceback" not in done.stderr
