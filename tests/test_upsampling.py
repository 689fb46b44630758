"""Upsampling stages: exact geometry, overlap maps, fixed filters, blur, ICNR, the registry."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from checkerboard_gan.analysis import measures
from checkerboard_gan.config import (
    ConfigError,
    DeconvConfig,
    FilteredConfig,
    SubpixelConfig,
    UpsampleConfig,
)
from checkerboard_gan.models.upsampling import (
    UPSAMPLERS,
    SameConv2d,
    build_upsample,
    deconv_padding,
    other_stage_config,
)

FAST = settings(max_examples=40, deadline=None)
TAPS = st.lists(st.floats(0.1, 4.0), min_size=1, max_size=8)


def config(kind: str, kernel: int = 3, stride: int = 2, **extra) -> UpsampleConfig:
    return UPSAMPLERS.config(kind, kernel=kernel, stride=stride, **extra)


def stack(cfg: UpsampleConfig, layers: int) -> torch.Tensor:
    geometries = [build_upsample(1, 1, cfg).geometry() for _ in range(layers)]
    return measures.overlap_map(geometries, cfg.stride**layers)


def all_ones(stage: torch.nn.Module) -> torch.nn.Module:
    """The stage with every learned weight 1 and every bias 0 (its fixed filters kept)."""
    with torch.no_grad():
        for name, param in stage.named_parameters():
            param.fill_(0.0 if name.endswith("bias") else 1.0)
    return stage


# Shapes -----------------------------------------------------------------------------------


@FAST
@given(
    kind=st.sampled_from(sorted(UPSAMPLERS)),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 4),
    in_ch=st.integers(1, 9),
    size=st.integers(1, 9),
    blur=st.booleans(),
)
def test_every_stage_multiplies_size_by_stride(kind, kernel, stride, in_ch, size, blur):
    extra = {"blur": blur} if kind in ("deconv", "subpixel") else {}
    stage = build_upsample(in_ch, 2, config(kind, kernel, stride, **extra))
    y = stage(torch.randn(2, in_ch, size, size + 1))
    assert y.shape == (2, 2, stride * size, stride * (size + 1))


@FAST
@given(taps=TAPS, kernel=st.integers(1, 7), stride=st.integers(1, 4), size=st.integers(1, 6))
def test_filtered_with_any_taps_multiplies_size_by_stride(taps, kernel, stride, size):
    stage = build_upsample(3, 2, config("filtered", kernel, stride, filter=taps))
    assert stage(torch.randn(1, 3, size, size)).shape == (1, 2, stride * size, stride * size)


@FAST
@given(
    kernel=st.integers(1, 7), stride=st.integers(1, 4), icnr=st.booleans(), size=st.integers(1, 6)
)
def test_blurred_subpixel_multiplies_size_by_stride(kernel, stride, icnr, size):
    stage = build_upsample(3, 2, config("subpixel", kernel, stride, icnr=icnr, blur=True))
    stage.after_init()
    assert stage(torch.randn(2, 3, size, size)).shape == (2, 2, stride * size, stride * size)


@FAST
@given(kernel=st.integers(1, 7), stride=st.integers(1, 4))
def test_deconv_padding_is_the_least_that_pytorch_accepts(kernel, stride):
    """The smallest padding whose output_padding is >= 0; PyTorch needs output_padding < stride,
    which only stride 1 with an odd excess misses (the stage crops instead)."""
    padding, output_padding = deconv_padding(kernel, stride)
    assert output_padding >= 0
    assert padding == 0 or deconv_padding(kernel, stride)[1] - 2 < 0
    assert output_padding < stride or (stride, output_padding) == (1, 1)


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


# Overlap ----------------------------------------------------------------------------------


def test_deconv_blur_k3_s2_overlap_is_flat():
    assert measures.unevenness(stack(config("deconv_blur"), 1)) == 1
    assert measures.unevenness(stack(config("deconv_blur"), 2)) == 1
    # The same deconv without the blur: the article's [1, 2] pattern.
    assert measures.unevenness(stack(config("deconv"), 1)) == 4


@pytest.mark.parametrize("stride", [2, 3, 4])
@pytest.mark.parametrize("kernel", range(1, 8))
def test_blurred_deconv_is_flat_for_every_kernel_even_with_holes(kernel, stride):
    assert measures.unevenness(stack(config("deconv_blur", kernel, stride), 2)) == pytest.approx(1)
    flag = config("deconv", kernel, stride, blur=True)
    assert measures.unevenness(stack(flag, 2)) == pytest.approx(1.0)


@settings(max_examples=30, deadline=None)
@given(kernel=st.integers(1, 7), stride=st.integers(1, 4))
def test_zero_insertion_overlaps_like_deconv(kernel, stride):
    zeros = measures.unevenness(stack(config("zeros", kernel, stride), 1))
    deconv = measures.unevenness(stack(config("deconv", kernel, stride), 1))
    assert zeros == pytest.approx(deconv)
    expected = math.inf if kernel < stride else math.ceil(kernel / stride) / (kernel // stride)
    assert zeros == pytest.approx(expected**2)


@pytest.mark.parametrize("stride", [1, 2, 3, 4])
@pytest.mark.parametrize("kind", ["bilinear_additive", "filtered"])
def test_bilinear_additive_and_default_filtered_are_flat(kind, stride):
    for kernel in (1, 2, 3, 4):
        assert measures.unevenness(stack(config(kind, kernel, stride), 2)) == pytest.approx(1.0)


def test_filtered_taps_with_unequal_phases_overlap_unevenly():
    cfg = config("filtered", 1, 3, filter=[1, 3, 3, 1])
    # Phases mod 3 of [1, 3, 3, 1] sum to 2, 3, 3: 1-D max/min 1.5, 2-D 2.25.
    assert measures.unevenness(stack(cfg, 1)) == pytest.approx(2.25)


@pytest.mark.parametrize("kernel", [1, 2, 3])
def test_blurred_subpixel_overlap_is_flat(kernel):
    cfg = config("subpixel", kernel, 2, blur=True)
    assert measures.unevenness(stack(cfg, 2)) == pytest.approx(1.0)


# Fixed filters and blur -------------------------------------------------------------------


def test_filtered_default_taps_are_the_stride_binomial():
    assert build_upsample(4, 4, config("filtered")).taps.tolist() == [1, 3, 3, 1]
    assert build_upsample(4, 4, config("filtered", stride=3)).taps.tolist() == [
        1,
        3,
        6,
        7,
        6,
        3,
        1,
    ]


@pytest.mark.parametrize(
    "cfg",
    [
        config("deconv_blur"),
        config("deconv", blur=True),
        config("filtered"),
        config("subpixel", blur=True),
    ],
    ids=["deconv_blur", "deconv+blur", "filtered", "subpixel+blur"],
)
def test_fixed_filters_are_buffers_not_parameters(cfg):
    stage = build_upsample(4, 4, cfg)
    assert len(list(stage.buffers())) == 1
    assert all("conv" in name for name, _ in stage.named_parameters())


@pytest.mark.parametrize("stride", [1, 2, 3, 4])
@pytest.mark.parametrize("taps", [None, [1.0, 3.0, 3.0, 1.0], [1.0, 2.0, 1.0]])
def test_filtered_keeps_a_constant_level_on_average(stride, taps):
    """Taps scaled to sum s per axis: a constant keeps its mean level (exactly, for the default).
    The stage itself runs, its 1x1 conv the identity."""
    stage = all_ones(build_upsample(1, 1, config("filtered", 1, stride, filter=taps)))
    with torch.no_grad():
        y = stage(torch.full((1, 1, 12, 12), 0.7))
    mid = y[..., 4 * stride : 8 * stride, 4 * stride : 8 * stride]  # away from the borders
    assert mid.mean().item() == pytest.approx(0.7)
    if taps is None:
        assert torch.allclose(mid, torch.full_like(mid, 0.7))


@pytest.mark.parametrize("kind", ["deconv_blur", "deconv", "subpixel"])
def test_blur_is_a_box_mean_after_the_stage_reading_beyond_the_border(kind):
    """Inside, fastai's blur (pad one row/column before, 2 x 2 mean); at the first row/column
    the box reads the stage's own output beyond the border, not a replicated edge."""
    stage = build_upsample(2, 3, config(kind, **({} if kind == "deconv_blur" else {"blur": True})))
    unblurred = stage.deconv if kind != "subpixel" else lambda x: stage.shuffle(stage.conv(x))
    x = torch.randn(1, 2, 5, 5, generator=torch.Generator().manual_seed(0))
    fastai = F.avg_pool2d(F.pad(unblurred(x), (1, 0, 1, 0), mode="replicate"), 2, stride=1)
    y = stage(x)
    assert y.shape == (1, 3, 10, 10)
    assert torch.allclose(y[..., 1:, 1:], fastai[..., 1:, 1:], atol=1e-6)
    beyond = unblurred(F.pad(x, (1, 1, 1, 1)))[..., 1:12, 1:12]  # output rows -1 .. 9
    assert torch.allclose(y, F.avg_pool2d(beyond, 2, stride=1), atol=1e-6)


def test_deconv_blur_is_deconv_with_the_blur_flag():
    """The kind `deconv_blur` and `deconv` with `blur` are one stage: same parameters, buffers
    and output for the same seed."""
    torch.manual_seed(0)
    kind = build_upsample(4, 3, config("deconv_blur"))
    torch.manual_seed(0)
    flag = build_upsample(4, 3, config("deconv", blur=True))
    assert kind.state_dict().keys() == flag.state_dict().keys()
    for key, value in kind.state_dict().items():
        assert torch.equal(value, flag.state_dict()[key])
    x = torch.randn(2, 4, 5, 5)
    assert torch.equal(kind(x), flag(x))
    assert build_upsample(4, 3, config("deconv")).blur is None


# ICNR -------------------------------------------------------------------------------------


@pytest.mark.parametrize("stride", [2, 3])
def test_icnr_subpixel_starts_as_nearest_upsampling(stride):
    stage = build_upsample(4, 3, config("subpixel", 3, stride, icnr=True))
    torch.nn.init.normal_(stage.conv.weight)
    torch.nn.init.normal_(stage.conv.bias)
    stage.after_init()
    y = stage(torch.randn(2, 4, 5, 5))
    blocks = y.unfold(2, stride, stride).unfold(3, stride, stride)  # (N, C, 5, 5, s, s)
    assert torch.allclose(blocks, blocks[..., :1, :1].expand_as(blocks))


def test_plain_subpixel_is_not_blockwise_constant():
    torch.manual_seed(0)
    stage = build_upsample(4, 3, config("subpixel"))
    y = stage(torch.randn(1, 4, 5, 5))
    assert not torch.allclose(y[..., ::2, ::2], y[..., 1::2, 1::2])


def test_blurred_subpixel_with_icnr_is_blockwise_nearest_smoothed():
    """ICNR + blur at init: conv, nearest upsampling, then the 2 x 2 mean (fastai's recipe)."""
    stage = build_upsample(2, 3, config("subpixel", icnr=True, blur=True))
    torch.nn.init.normal_(stage.conv.weight)
    stage.after_init()
    x = torch.randn(1, 2, 5, 5)
    low = F.conv2d(F.pad(x, (2, 2, 2, 2)), stage.conv.weight[::4], stage.conv.bias[::4])
    near = F.interpolate(low, scale_factor=2, mode="nearest")[..., 1:12, 1:12]
    assert torch.allclose(stage(x), F.avg_pool2d(near, 2, stride=1), atol=1e-5)


# Bilinear additive ------------------------------------------------------------------------


@pytest.mark.parametrize(("channels", "stride"), [(8, 2), (32, 2), (18, 3), (32, 4), (5, 1)])
def test_bilinear_additive_sums_groups_of_stride_squared_channels(channels, stride):
    stage = build_upsample(channels, 3, config("bilinear_additive", 3, stride))
    seen = []
    stage.conv.register_forward_pre_hook(lambda _, args: seen.append(args[0].shape))
    x = torch.randn(2, channels, 4, 4)
    assert stage(x).shape == (2, 3, 4 * stride, 4 * stride)
    assert seen == [(2, channels // stride**2, 4 * stride, 4 * stride)]
    assert isinstance(stage.adapt, torch.nn.Identity)
    up = F.interpolate(x, scale_factor=stride, mode="bilinear")
    expected = up.view(2, channels // stride**2, stride**2, 4 * stride, 4 * stride).sum(2)
    assert torch.allclose(stage.upsample(x), expected, atol=1e-5)


def test_bilinear_additive_maps_other_widths_to_the_next_multiple():
    stage = build_upsample(6, 3, config("bilinear_additive", 3, 2))
    assert stage.adapt.out_channels == 8 and stage.conv.in_channels == 2
    stage = build_upsample(32, 3, config("bilinear_additive", 3, 3))
    assert stage.adapt.out_channels == 36 and stage.conv.in_channels == 4


# Registry ---------------------------------------------------------------------------------


def test_every_kind_declares_the_schema_it_reads():
    assert set(UPSAMPLERS.schemas) == set(UPSAMPLERS)
    assert UPSAMPLERS.schemas["deconv"] is DeconvConfig
    assert UPSAMPLERS.schemas["subpixel"] is SubpixelConfig
    assert UPSAMPLERS.schemas["filtered"] is FilteredConfig


@pytest.mark.parametrize(
    ("cfg", "expected"),
    [
        (UpsampleConfig(name="nope"), "upsample.name='nope' is unknown: valid are bilinear,"),
        (UpsampleConfig(name="subpixel"), "upsample.name='subpixel' reads the fields of Subpixel"),
        (SubpixelConfig(name="deconv", icnr=True), "choose the kind with `upsample=deconv`"),
    ],
)
def test_a_config_of_another_kind_fails_naming_the_key(cfg, expected):
    with pytest.raises(ConfigError, match=expected):
        build_upsample(4, 3, cfg)


def test_other_stages_are_of_kind_other_with_other_kernel_in_its_schema():
    early = other_stage_config(DeconvConfig(name="deconv", kernel=4, stride=3))
    assert early == UpsampleConfig(name="nearest", kernel=3, stride=3)
    cfg = DeconvConfig(name="deconv", stride=2, other="filtered", other_kernel=5)
    assert other_stage_config(cfg) == FilteredConfig(name="filtered", kernel=5, stride=2)
    with pytest.raises(ConfigError, match="upsample.other='nope' is unknown"):
        other_stage_config(DeconvConfig(name="deconv", other="nope"))
