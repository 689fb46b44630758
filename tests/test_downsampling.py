"""Downsampling stages: exact geometry, blur pooling's filter and gradient, the registry."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from checkerboard_gan.config import BlurPoolConfig, ConfigError, DiscConfig
from checkerboard_gan.models.downsampling import DOWNSAMPLERS, build_downsample, other_stage_config

FAST = settings(max_examples=40, deadline=None)
TAPS = st.lists(st.floats(0.1, 4.0), min_size=1, max_size=8)


@FAST
@given(
    kind=st.sampled_from(sorted(DOWNSAMPLERS)),
    kernel=st.integers(1, 7),
    stride=st.integers(2, 4),
    blocks=st.integers(1, 4),
)
def test_every_stage_divides_size_by_stride(kind, kernel, stride, blocks):
    stage = build_downsample(3, 2, DOWNSAMPLERS.config(kind, kernel=kernel, stride=stride))
    size = stride * blocks
    assert stage(torch.randn(2, 3, size, size)).shape == (2, 2, blocks, blocks)


@FAST
@given(
    taps=st.one_of(st.none(), TAPS),
    kernel=st.integers(1, 7),
    stride=st.integers(2, 4),
    blocks=st.integers(1, 4),
)
def test_blurpool_with_any_taps_divides_size_by_stride(taps, kernel, stride, blocks):
    stage = build_downsample(
        3, 2, BlurPoolConfig(name="blurpool", kernel=kernel, stride=stride, filter=taps)
    )
    size = stride * blocks
    assert stage(torch.randn(2, 3, size, size)).shape == (2, 2, blocks, blocks)


@pytest.mark.parametrize("stride", [2, 3, 4])
@pytest.mark.parametrize("taps", [None, [1.0, 2.0, 1.0], [1.0, 4.0, 6.0, 4.0, 1.0], [2.0]])
def test_blurpool_filter_sums_to_one(stride, taps):
    stage = build_downsample(
        3, 4, BlurPoolConfig(name="blurpool", kernel=3, stride=stride, filter=taps)
    )
    assert stage.filter2d().sum().item() == pytest.approx(1.0)
    assert stage.taps.sum().item() == pytest.approx(1.0)


def test_blurpool_filter_is_a_buffer():
    pool = build_downsample(4, 4, BlurPoolConfig(name="blurpool", kernel=3, stride=2))
    assert [name for name, _ in pool.named_buffers()] == ["taps"]


@pytest.mark.parametrize("stride", [2, 3, 4])
def test_blurpool_default_is_zhangs_binomial_and_spreads_the_gradient_evenly(stride):
    """The stage itself runs, its 1x1 conv the identity (weight 1, bias 0) on a positive input,
    where the LeakyReLU is the identity too."""
    stage = build_downsample(1, 1, BlurPoolConfig(name="blurpool", kernel=1, stride=stride))
    if stride == 2:
        binomial = torch.tensor([1.0, 2.0, 1.0]) / 4
        assert torch.allclose(stage.filter2d(), torch.outer(binomial, binomial))
    with torch.no_grad():
        stage.conv.weight.fill_(1.0)
        stage.conv.bias.zero_()
    x = torch.ones(1, 1, 12 * stride, 12 * stride, requires_grad=True)
    stage(x).sum().backward()
    mid = x.grad[0, 0, 4 * stride : 8 * stride, 4 * stride : 8 * stride]
    assert torch.allclose(mid, torch.full_like(mid, 1.0 / stride**2))


def test_strided_conv_with_kernel_3_spreads_the_gradient_unevenly():
    """The contrast to blurpool and avgpool: k3 s2's input gradient alternates 1, 2 per axis."""
    stage = build_downsample(1, 1, DiscConfig(name="strided", kernel=3, stride=2))
    with torch.no_grad():
        stage.conv.weight.fill_(1.0)
        stage.conv.bias.zero_()
    x = torch.ones(1, 1, 16, 16, requires_grad=True)
    stage(x).sum().backward()
    assert {x.grad[0, 0, 6:10, 6:10].min().item(), x.grad[0, 0, 6:10, 6:10].max().item()} == {
        1.0,
        4.0,
    }


# Registry ---------------------------------------------------------------------------------


def test_every_kind_declares_the_schema_it_reads():
    assert set(DOWNSAMPLERS.schemas) == set(DOWNSAMPLERS)
    assert DOWNSAMPLERS.schemas["blurpool"] is BlurPoolConfig


@pytest.mark.parametrize(
    ("cfg", "expected"),
    [
        (DiscConfig(name="nope"), "disc.name='nope' is unknown: valid are avgpool, blurpool"),
        (DiscConfig(name="blurpool"), "disc.name='blurpool' reads the fields of BlurPoolConfig"),
        (BlurPoolConfig(name="strided", filter=[1, 1]), "choose the kind with `disc=strided`"),
    ],
)
def test_a_config_of_another_kind_fails_naming_the_key(cfg, expected):
    with pytest.raises(ConfigError, match=expected):
        build_downsample(3, 4, cfg)


def test_later_stages_are_of_kind_other_with_the_same_kernel_and_stride():
    later = other_stage_config(DiscConfig(name="strided", kernel=5, stride=3))
    assert later == DiscConfig(name="avgpool", kernel=5, stride=3)
    cfg = DiscConfig(name="strided", kernel=3, other="blurpool")
    assert other_stage_config(cfg) == BlurPoolConfig(name="blurpool", kernel=3, stride=2)
    with pytest.raises(ConfigError, match="disc.other='nope' is unknown"):
        other_stage_config(DiscConfig(name="strided", other="nope"))
