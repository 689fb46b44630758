"""Geometry of the up/downsampling stages and the networks (property tests over kernel, stride)."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from checkerboard_gan.config import DiscConfig, SubpixelConfig, UpsampleConfig, num_stages
from checkerboard_gan.downsampling import DOWNSAMPLERS, build_downsample
from checkerboard_gan.models import Discriminator, Generator
from checkerboard_gan.upsampling import UPSAMPLERS, SameConv2d, build_upsample, deconv_padding

from .conftest import compose_config

FAST = settings(max_examples=40, deadline=None)


@FAST
@given(
    kind=st.sampled_from(sorted(UPSAMPLERS)),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 4),
    size=st.integers(1, 9),
)
def test_every_upsampling_stage_multiplies_size_by_stride(kind, kernel, stride, size):
    stage = build_upsample(3, 2, SubpixelConfig(name=kind, kernel=kernel, stride=stride))
    y = stage(torch.randn(2, 3, size, size + 1))
    assert y.shape == (2, 2, stride * size, stride * (size + 1))


@FAST
@given(
    kind=st.sampled_from(sorted(DOWNSAMPLERS)),
    kernel=st.integers(1, 7),
    stride=st.integers(2, 4),
    blocks=st.integers(1, 4),
)
def test_every_downsampling_stage_divides_size_by_stride(kind, kernel, stride, blocks):
    stage = build_downsample(3, 2, DiscConfig(name=kind, kernel=kernel, stride=stride))
    size = stride * blocks
    assert stage(torch.randn(2, 3, size, size)).shape == (2, 2, blocks, blocks)


@FAST
@given(kernel=st.integers(1, 7), stride=st.integers(1, 4))
def test_deconv_padding_follows_the_design(kernel, stride):
    padding, output_padding = deconv_padding(kernel, stride)
    assert padding == max(0, math.ceil((kernel - stride) / 2))
    assert output_padding == stride - kernel + 2 * padding


SIZES = [(s, 4 * s**n) for s in (2, 3, 4) for n in (1, 2, 3) if 4 * s**n <= 64]


@settings(max_examples=30, deadline=None)
@given(
    kind=st.sampled_from(sorted(UPSAMPLERS)),
    kernel=st.integers(1, 7),
    stride_size=st.sampled_from(SIZES),
    final_conv=st.booleans(),
)
def test_generator_outputs_exactly_image_size(kind, kernel, stride_size, final_conv):
    stride, size = stride_size
    cfg = compose_config(
        f"upsample={kind}",
        f"upsample.kernel={kernel}",
        f"upsample.stride={stride}",
        f"upsample.final_conv={final_conv}",
        f"dataset.image_size={size}",
        "model.g_channels=2",
        f"disc.stride={stride}",
    )
    x = Generator(cfg)(torch.randn(3, cfg.model.z_dim))
    assert x.shape == (3, 3, size, size)
    assert x.abs().max() <= 1
    assert Discriminator(cfg)(x).shape == (3,)


def test_num_stages():
    assert num_stages(32, 2) == 3
    assert num_stages(64, 4) == 2
    assert num_stages(32, 3) is None
    assert num_stages(32, 1) is None


def test_last_n_keeps_earlier_stages_nearest():
    cfg = compose_config(
        "upsample=deconv", "upsample.kernel=3", "upsample.last_n=1", "dataset.image_size=32"
    )
    stages = [m for m in Generator(cfg).modules() if type(m).__name__ in ("Deconv", "NearestConv")]
    assert [type(m).__name__ for m in stages] == ["NearestConv", "NearestConv", "Deconv"]
    assert [m.kernel for m in stages] == [3, 3, 3]


@pytest.mark.parametrize("stride", [2, 3])
def test_icnr_subpixel_starts_as_nearest_upsampling(stride):
    cfg = SubpixelConfig(name="subpixel", kernel=3, stride=stride, icnr=True)
    stage = build_upsample(4, 3, cfg)
    torch.nn.init.normal_(stage.conv.weight)
    torch.nn.init.normal_(stage.conv.bias)
    stage.after_init()
    y = stage(torch.randn(2, 4, 5, 5))
    blocks = y.unfold(2, stride, stride).unfold(3, stride, stride)  # (N, C, 5, 5, s, s)
    assert torch.allclose(blocks, blocks[..., :1, :1].expand_as(blocks))


def test_plain_subpixel_is_not_blockwise_constant():
    stage = build_upsample(4, 3, UpsampleConfig(name="subpixel", kernel=3, stride=2))
    y = stage(torch.randn(1, 4, 5, 5))
    assert not torch.allclose(y[..., ::2, ::2], y[..., 1::2, 1::2])


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 9), st.integers(1, 9), st.integers(0, 2**31 - 1))
def test_same_conv_keeps_the_size_and_equals_padding_same_without_its_warning(k, h, w, seed):
    torch.manual_seed(seed)
    conv = SameConv2d(2, 3, k)
    x = torch.randn(2, 2, h, w)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns for even kernels with padding='same'
        y = conv(x)
    assert y.shape == (2, 3, h, w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = F.conv2d(x, conv.weight, conv.bias, padding="same")
    assert torch.allclose(y, expected, atol=1e-6)
