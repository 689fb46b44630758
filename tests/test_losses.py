"""The GAN losses by name: their values against the formulas, label smoothing, unknown names."""

from __future__ import annotations

import math

import pytest
import torch

from checkerboard_gan.config import ConfigError
from checkerboard_gan.training.losses import LOSSES, Hinge, NonSaturatingBCE, build_loss


def test_bce_is_the_dcgan_loss_with_smoothed_real_targets():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    loss = NonSaturatingBCE(label_smoothing=0.1)
    sig = torch.sigmoid
    expected_d = (
        -(0.9 * torch.log(sig(real)) + 0.1 * torch.log(1 - sig(real))).mean()
        - torch.log(1 - sig(fake)).mean()
    )
    assert loss.d(real, fake).item() == pytest.approx(expected_d.item(), rel=1e-6)
    assert loss.g(fake).item() == pytest.approx(-torch.log(sig(fake)).mean().item(), rel=1e-6)


def test_the_generator_loss_does_not_saturate_where_d_is_sure():
    fake = torch.tensor([-20.0], requires_grad=True)  # D certain the sample is fake
    NonSaturatingBCE().g(fake).backward()
    assert fake.grad.abs().item() == pytest.approx(1.0, rel=1e-6)


def test_hinge_values():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.25])
    loss = Hinge()
    assert loss.d(real, fake).item() == pytest.approx((0.0 + 0.5) / 2 + (0.0 + 1.25) / 2)
    assert loss.g(fake).item() == pytest.approx(0.875)


def test_losses_by_name_and_an_unknown_name_lists_the_valid_ones():
    assert set(LOSSES) == {"bce", "hinge"}
    assert build_loss("bce", 0.2) == NonSaturatingBCE(0.2)
    assert isinstance(build_loss("hinge", 0.0), Hinge)
    with pytest.raises(ConfigError, match="train.loss='wgan'.*bce, hinge"):
        build_loss("wgan", 0.0)
    assert math.isfinite(build_loss("bce", 0.0).d(torch.zeros(1), torch.zeros(1)).item())
