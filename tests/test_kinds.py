"""Up/downsampling kinds from the literature (issue 8): geometry, overlap, filters, training."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from checkerboard_gan import measures
from checkerboard_gan.config import (
    BlurPoolConfig,
    ConfigError,
    DiscConfig,
    FilteredConfig,
    SubpixelConfig,
    UpsampleConfig,
)
from checkerboard_gan.downsampling import build_downsample
from checkerboard_gan.models import Discriminator, Generator
from checkerboard_gan.upsampling import (
    bilinear_filter,
    bilinear_taps,
    box_taps,
    build_upsample,
    separable_fir,
    zero_insert,
)

from .conftest import compose_config

FAST = settings(max_examples=40, deadline=None)
NEW_UPSAMPLERS = ["zeros", "bilinear_additive", "deconv_blur", "filtered"]
TAPS = st.lists(st.floats(0.1, 4.0), min_size=1, max_size=8)


def upsample_config(kind: str, kernel: int, stride: int, **extra) -> UpsampleConfig:
    if kind == "filtered":
        return FilteredConfig(name=kind, kernel=kernel, stride=stride, **extra)
    if kind == "subpixel":
        return SubpixelConfig(name=kind, kernel=kernel, stride=stride, **extra)
    return UpsampleConfig(name=kind, kernel=kernel, stride=stride)


def stack(cfg: UpsampleConfig, layers: int) -> torch.Tensor:
    geometries = [build_upsample(1, 1, cfg).geometry() for _ in range(layers)]
    return measures.overlap_map(geometries, cfg.stride**layers)


# Shapes -----------------------------------------------------------------------------------


@FAST
@given(
    kind=st.sampled_from(NEW_UPSAMPLERS),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 4),
    in_ch=st.integers(1, 9),
    size=st.integers(1, 6),
)
def test_new_upsampling_kinds_multiply_size_by_stride(kind, kernel, stride, in_ch, size):
    stage = build_upsample(in_ch, 2, upsample_config(kind, kernel, stride))
    y = stage(torch.randn(2, in_ch, size, size + 1))
    assert y.shape == (2, 2, stride * size, stride * (size + 1))


@FAST
@given(taps=TAPS, kernel=st.integers(1, 7), stride=st.integers(1, 4), size=st.integers(1, 6))
def test_filtered_with_any_taps_multiplies_size_by_stride(taps, kernel, stride, size):
    stage = build_upsample(
        3, 2, FilteredConfig(name="filtered", kernel=kernel, stride=stride, filter=taps)
    )
    assert stage(torch.randn(1, 3, size, size)).shape == (1, 2, stride * size, stride * size)


@FAST
@given(
    kernel=st.integers(1, 7), stride=st.integers(1, 4), icnr=st.booleans(), size=st.integers(1, 6)
)
def test_blurred_subpixel_multiplies_size_by_stride(kernel, stride, icnr, size):
    cfg = SubpixelConfig(name="subpixel", kernel=kernel, stride=stride, icnr=icnr, blur=True)
    stage = build_upsample(3, 2, cfg)
    stage.after_init()
    assert stage(torch.randn(2, 3, size, size)).shape == (2, 2, stride * size, stride * size)


@FAST
@given(
    taps=st.one_of(st.none(), TAPS),
    kernel=st.integers(1, 7),
    stride=st.integers(2, 4),
    blocks=st.integers(1, 4),
)
def test_blurpool_divides_size_by_stride(taps, kernel, stride, blocks):
    stage = build_downsample(
        3, 2, BlurPoolConfig(name="blurpool", kernel=kernel, stride=stride, filter=taps)
    )
    size = stride * blocks
    assert stage(torch.randn(2, 3, size, size)).shape == (2, 2, blocks, blocks)


# Overlap ----------------------------------------------------------------------------------


def test_deconv_blur_k3_s2_overlap_is_flat():
    cfg = UpsampleConfig(name="deconv_blur", kernel=3, stride=2)
    assert measures.unevenness(stack(cfg, 1)) == 1
    assert measures.unevenness(stack(cfg, 2)) == 1
    # The same deconv without the blur: the article's [1, 2] pattern.
    assert measures.unevenness(stack(UpsampleConfig(name="deconv", kernel=3, stride=2), 1)) == 4


@pytest.mark.parametrize("stride", [2, 3, 4])
@pytest.mark.parametrize("kernel", range(1, 8))
def test_deconv_blur_is_flat_for_every_kernel_even_with_holes(kernel, stride):
    cfg = UpsampleConfig(name="deconv_blur", kernel=kernel, stride=stride)
    assert measures.unevenness(stack(cfg, 2)) == pytest.approx(1.0)


@settings(max_examples=30, deadline=None)
@given(kernel=st.integers(1, 7), stride=st.integers(1, 4))
def test_zero_insertion_overlaps_like_deconv(kernel, stride):
    zeros = measures.unevenness(
        stack(UpsampleConfig(name="zeros", kernel=kernel, stride=stride), 1)
    )
    deconv = measures.unevenness(
        stack(UpsampleConfig(name="deconv", kernel=kernel, stride=stride), 1)
    )
    assert zeros == pytest.approx(deconv)
    expected = math.inf if kernel < stride else math.ceil(kernel / stride) / (kernel // stride)
    assert zeros == pytest.approx(expected**2)


@pytest.mark.parametrize("stride", [1, 2, 3, 4])
@pytest.mark.parametrize("kind", ["bilinear_additive", "filtered"])
def test_bilinear_additive_and_default_filtered_are_flat(kind, stride):
    for kernel in (1, 2, 3, 4):
        cfg = upsample_config(kind, kernel, stride)
        assert measures.unevenness(stack(cfg, 2)) == pytest.approx(1.0)


def test_filtered_taps_with_unequal_phases_overlap_unevenly():
    cfg = FilteredConfig(name="filtered", kernel=1, stride=3, filter=[1, 3, 3, 1])
    # Phases mod 3 of [1, 3, 3, 1] sum to 2, 3, 3: 1-D max/min 1.5, 2-D 2.25.
    assert measures.unevenness(stack(cfg, 1)) == pytest.approx(2.25)


@pytest.mark.parametrize("kernel", [1, 2, 3])
def test_blurred_subpixel_overlap_is_flat(kernel):
    cfg = SubpixelConfig(name="subpixel", kernel=kernel, stride=2, blur=True)
    assert measures.unevenness(stack(cfg, 2)) == pytest.approx(1.0)


# Fixed filters ----------------------------------------------------------------------------


def test_default_taps_are_the_binomials_at_stride_2():
    assert box_taps(2, 3) == [1, 3, 3, 1]
    assert box_taps(2, 2) == [1, 2, 1]
    assert box_taps(3, 2) == [1, 2, 3, 2, 1]
    assert box_taps(1, 3) == [1]
    stage = build_upsample(4, 4, FilteredConfig(name="filtered", kernel=3, stride=2))
    assert stage.taps.tolist() == [1, 3, 3, 1]


def test_fixed_filters_are_buffers_not_parameters():
    for cfg in (
        UpsampleConfig(name="deconv_blur", kernel=3, stride=2),
        FilteredConfig(name="filtered", kernel=3, stride=2),
        SubpixelConfig(name="subpixel", kernel=3, stride=2, blur=True),
    ):
        stage = build_upsample(4, 4, cfg)
        assert len(list(stage.buffers())) == 1
        assert all("conv" in name for name, _ in stage.named_parameters())
    pool = build_downsample(4, 4, BlurPoolConfig(name="blurpool", kernel=3, stride=2))
    assert [name for name, _ in pool.named_buffers()] == ["taps"]


@pytest.mark.parametrize("stride", [1, 2, 3, 4])
@pytest.mark.parametrize("taps", [None, [1.0, 3.0, 3.0, 1.0], [1.0, 2.0, 1.0]])
def test_filtered_keeps_a_constant_level_on_average(stride, taps):
    """Taps scaled to sum s per axis: a constant keeps its mean level (exactly, for the default)."""
    stage = build_upsample(
        1, 1, FilteredConfig(name="filtered", kernel=1, stride=stride, filter=taps)
    )
    scaled = stage.taps * (stride / stage.taps.sum())
    y = separable_fir(zero_insert(torch.full((1, 1, 12, 12), 0.7), stride), scaled, stage.left)
    mid = y[..., 4 * stride : 8 * stride, 4 * stride : 8 * stride]  # away from the borders
    assert mid.mean().item() == pytest.approx(0.7)
    if taps is None:
        assert torch.allclose(mid, torch.full_like(mid, 0.7))


def test_zero_insertion_puts_each_pixel_top_left():
    x = torch.arange(1.0, 5.0).view(1, 1, 2, 2)
    y = zero_insert(x, 3)
    assert y.shape == (1, 1, 6, 6)
    assert torch.equal(y[..., ::3, ::3], x)
    assert y.sum() == x.sum()


@pytest.mark.parametrize("kind", ["deconv_blur", "subpixel"])
def test_blur_is_a_box_mean_after_the_stage_reading_beyond_the_border(kind):
    """Inside, fastai's blur (pad one row/column before, 2 x 2 mean); at the first row/column
    the box reads the stage's own output beyond the border, not a replicated edge."""
    stage = build_upsample(
        2, 3, upsample_config(kind, 3, 2, **({"blur": True} if kind == "subpixel" else {}))
    )
    unblurred = stage.conv if kind == "deconv_blur" else lambda x: stage.shuffle(stage.conv(x))
    x = torch.randn(1, 2, 5, 5)
    fastai = F.avg_pool2d(F.pad(unblurred(x), (1, 0, 1, 0), mode="replicate"), 2, stride=1)
    y = stage(x)
    assert y.shape == (1, 3, 10, 10)
    assert torch.allclose(y[..., 1:, 1:], fastai[..., 1:, 1:], atol=1e-6)
    beyond = unblurred(F.pad(x, (1, 1, 1, 1)))[..., 1:12, 1:12]  # output rows -1 .. 9
    assert torch.allclose(y, F.avg_pool2d(beyond, 2, stride=1), atol=1e-6)


def test_blurred_subpixel_with_icnr_is_blockwise_nearest_smoothed():
    """ICNR + blur at init: conv, nearest upsampling, then the 2 x 2 mean (fastai's recipe)."""
    cfg = SubpixelConfig(name="subpixel", kernel=3, stride=2, icnr=True, blur=True)
    stage = build_upsample(2, 3, cfg)
    torch.nn.init.normal_(stage.conv.weight)
    stage.after_init()
    x = torch.randn(1, 2, 5, 5)
    low = F.conv2d(F.pad(x, (2, 2, 2, 2)), stage.conv.weight[::4], stage.conv.bias[::4])
    near = F.interpolate(low, scale_factor=2, mode="nearest")[..., 1:12, 1:12]
    assert torch.allclose(stage(x), F.avg_pool2d(near, 2, stride=1), atol=1e-5)


@pytest.mark.parametrize(("channels", "stride"), [(8, 2), (32, 2), (18, 3), (32, 4), (5, 1)])
def test_bilinear_additive_sums_groups_of_stride_squared_channels(channels, stride):
    stage = build_upsample(
        channels, 3, UpsampleConfig(name="bilinear_additive", kernel=3, stride=stride)
    )
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
    stage = build_upsample(6, 3, UpsampleConfig(name="bilinear_additive", kernel=3, stride=2))
    assert stage.adapt.out_channels == 8 and stage.conv.in_channels == 2
    stage = build_upsample(32, 3, UpsampleConfig(name="bilinear_additive", kernel=3, stride=3))
    assert stage.adapt.out_channels == 36 and stage.conv.in_channels == 4


@pytest.mark.parametrize("stride", [2, 3, 4])
@pytest.mark.parametrize("taps", [None, [1.0, 2.0, 1.0], [1.0, 4.0, 6.0, 4.0, 1.0], [2.0]])
def test_blurpool_filter_sums_to_one(stride, taps):
    stage = build_downsample(
        3, 4, BlurPoolConfig(name="blurpool", kernel=3, stride=stride, filter=taps)
    )
    assert stage.filter2d().sum().item() == pytest.approx(1.0)
    assert stage.taps.sum().item() == pytest.approx(1.0)


def test_blurpool_default_is_zhangs_binomial_and_spreads_the_gradient_evenly():
    stage = build_downsample(1, 1, BlurPoolConfig(name="blurpool", kernel=3, stride=2))
    assert torch.allclose(stage.filter2d(), torch.outer(*[torch.tensor([1.0, 2.0, 1.0]) / 4] * 2))
    for stride in (2, 3, 4):
        stage = build_downsample(1, 1, BlurPoolConfig(name="blurpool", kernel=1, stride=stride))
        x = torch.ones(1, 1, 12 * stride, 12 * stride, requires_grad=True)
        separable_fir(x, stage.taps, (stage.taps.numel() - 1) // 2, stride).sum().backward()
        mid = x.grad[0, 0, 4 * stride : 8 * stride, 4 * stride : 8 * stride]
        assert torch.allclose(mid, torch.full_like(mid, 1.0 / stride**2))


# Discriminator ----------------------------------------------------------------------------


def strided_convs(d: torch.nn.Module) -> list[torch.nn.Conv2d]:
    return [m for m in d.modules() if isinstance(m, torch.nn.Conv2d) and m.stride != (1, 1)]


@pytest.mark.parametrize(("size", "stride"), [(16, 2), (32, 2), (64, 4)])
def test_first_stride_only_builds_one_strided_conv(size, stride):
    base = ["disc=strided", "disc.kernel=3", f"disc.stride={stride}", f"dataset.image_size={size}"]
    base.append(f"upsample.stride={stride}")
    plain = Discriminator(compose_config(*base))
    assert len(strided_convs(plain)) > 1
    cfg = compose_config(*base, "disc.first_stride_only=true")
    d = Discriminator(cfg)
    assert len(strided_convs(d)) == 1
    assert strided_convs(d)[0] is d.stages[0].conv
    assert (
        sum(isinstance(m, torch.nn.AvgPool2d) for m in d.modules()) == len(strided_convs(plain)) - 1
    )
    assert d.period == plain.period
    assert d(torch.randn(2, 3, size, size)).shape == (2,)


def test_first_stride_only_defaults_to_false():
    assert compose_config("disc=strided").disc.first_stride_only is False
    assert DiscConfig(name="strided").first_stride_only is False


# Config -----------------------------------------------------------------------------------


def test_new_kinds_compose_with_their_defaults():
    up = compose_config("upsample=filtered").upsample
    assert isinstance(up, FilteredConfig) and up.filter is None and (up.kernel, up.stride) == (3, 2)
    up = compose_config("upsample=filtered", "upsample.filter=[1,4,6,4,1]").upsample
    assert up.filter == [1, 4, 6, 4, 1]
    disc = compose_config("disc=blurpool").disc
    assert (
        isinstance(disc, BlurPoolConfig)
        and disc.filter is None
        and (disc.kernel, disc.stride) == (3, 2)
    )
    assert compose_config("upsample=subpixel", "upsample.blur=true").upsample.blur is True
    assert compose_config("upsample=subpixel").upsample.blur is False
    for kind in ("zeros", "bilinear_additive", "deconv_blur"):
        assert compose_config(f"upsample={kind}").upsample.name == kind


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["upsample=filtered", "upsample.filter=[]"], "upsample.filter=[]"),
        (["upsample=filtered", "upsample.filter=[1,-1]"], "upsample.filter=[1.0, -1.0]"),
        (["disc=blurpool", "disc.filter=[0]"], "disc.filter=[0.0]"),
    ],
)
def test_bad_taps_fail_naming_the_key(overrides, expected):
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        compose_config(*overrides)


def test_generator_of_each_new_kind_outputs_the_image_size():
    for kind in NEW_UPSAMPLERS:
        for stride, size in ((2, 32), (4, 16), (3, 12)):
            cfg = compose_config(
                f"upsample={kind}",
                f"upsample.stride={stride}",
                f"dataset.image_size={size}",
                f"disc.stride={stride}",
            )
            x = Generator(cfg)(torch.randn(2, cfg.model.z_dim))
            assert x.shape == (2, 3, size, size)


@settings(max_examples=30, deadline=None)
@given(
    stride=st.sampled_from([2, 3, 4]),
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    seed=st.integers(0, 2**31 - 1),
)
def test_bilinear_filter_equals_interpolate_forward_and_backward(stride, h, w, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, h, w, dtype=torch.float64, generator=g)
    out_grad = torch.randn(2, 3, stride * h, stride * w, dtype=torch.float64, generator=g)
    a, b = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya = bilinear_filter(a, stride)
    yb = F.interpolate(b, scale_factor=stride, mode="bilinear", align_corners=False)
    assert ya.shape == yb.shape == (2, 3, stride * h, stride * w)
    assert torch.allclose(ya, yb, atol=1e-12)
    ya.backward(out_grad)
    yb.backward(out_grad)
    assert torch.allclose(a.grad, b.grad, atol=1e-12)


def test_bilinear_taps_are_the_triangle_after_zero_insertion():
    assert bilinear_taps(2) == ((0.25, 0.75, 0.75, 0.25), 0)
    taps, _ = bilinear_taps(3)
    assert taps == pytest.approx([1 / 3, 2 / 3, 1, 2 / 3, 1 / 3])
    for s in (2, 3, 4, 5):  # every output phase sums to 1: a constant stays constant
        taps, _ = bilinear_taps(s)
        assert sum(taps) == pytest.approx(s)
