"""Generator and discriminator: exact image size, `last_n` and `first_stride_only` stages."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from checkerboard_gan.analysis import measures
from checkerboard_gan.config import ConfigError
from checkerboard_gan.models.downsampling import AvgPoolConv, BlurPool, Downsample, StridedConv
from checkerboard_gan.models.networks import Discriminator, Generator
from checkerboard_gan.models.upsampling import (
    UPSAMPLERS,
    Deconv,
    FilteredConv,
    NearestConv,
    Upsample,
)

from .conftest import compose_config

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


def upsamplers(g: Generator) -> list[Upsample]:
    return [m for m in g.stages if isinstance(m, Upsample)]


def downsamplers(d: Discriminator) -> list[Downsample]:
    return [m for m in d.stages if isinstance(m, Downsample)]


def test_last_n_keeps_earlier_stages_nearest_k3_by_default():
    cfg = compose_config(
        "upsample=deconv", "upsample.kernel=4", "upsample.last_n=1", "dataset.image_size=32"
    )
    stages = upsamplers(Generator(cfg))
    assert [type(m) for m in stages] == [NearestConv, NearestConv, Deconv]
    assert [m.kernel for m in stages] == [3, 3, 4]


def test_last_n_earlier_stages_follow_upsample_other():
    cfg = compose_config(
        "upsample=deconv",
        "upsample.last_n=2",
        "upsample.other=filtered",
        "upsample.other_kernel=5",
        "dataset.image_size=32",
    )
    stages = upsamplers(Generator(cfg))
    assert [type(m) for m in stages] == [FilteredConv, Deconv, Deconv]
    assert [m.kernel for m in stages] == [5, 3, 3]
    assert stages[0].taps.tolist() == [1, 3, 3, 1]  # filtered's own default


def test_an_unknown_other_kind_fails_even_where_unused():
    with pytest.raises(ConfigError, match="upsample.other='nope' is unknown"):
        Generator(compose_config("upsample.other=nope"))
    with pytest.raises(ConfigError, match="disc.other='nope' is unknown"):
        Discriminator(compose_config("disc.other=nope"))


@pytest.mark.parametrize(("size", "stride"), [(16, 2), (32, 2), (64, 4)])
def test_first_stride_only_makes_later_stages_avgpool(size, stride):
    base = ["disc=strided", "disc.kernel=3", f"disc.stride={stride}", f"dataset.image_size={size}"]
    base.append(f"upsample.stride={stride}")
    plain = Discriminator(compose_config(*base))
    d = Discriminator(compose_config(*base, "disc.first_stride_only=true"))
    stages = downsamplers(d)
    assert all(type(m) is StridedConv for m in downsamplers(plain))
    assert [type(m) for m in stages] == [StridedConv] + [AvgPoolConv] * (len(stages) - 1)
    assert len(stages) == len(downsamplers(plain)) > 1
    assert all((m.kernel, m.stride) == (3, stride) for m in stages)
    assert d.period == plain.period
    assert d(torch.randn(2, 3, size, size)).shape == (2,)


def test_first_stride_only_later_stages_follow_disc_other():
    cfg = compose_config("disc=strided", "disc.first_stride_only=true", "disc.other=blurpool")
    assert [type(m) for m in downsamplers(Discriminator(cfg))] == [StridedConv, BlurPool]


def overlap_of(*overrides: str) -> torch.Tensor:
    cfg = compose_config("upsample=deconv", "upsample.kernel=3", "model.g_channels=2", *overrides)
    g = Generator(cfg)
    return measures.overlap_map(g.geometries(), g.period)


@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5])
def test_final_kernel_sets_the_final_stride_1_conv(kernel):
    cfg = compose_config(
        "upsample.final_conv=true", f"upsample.final_kernel={kernel}", "model.g_channels=2"
    )
    g = Generator(cfg)
    final = [m for m in g.stages if isinstance(m, torch.nn.Conv2d)][-1]
    assert final.kernel_size == (kernel, kernel) and final.stride == (1, 1)
    size = cfg.dataset.image_size
    assert g(torch.randn(2, cfg.model.z_dim)).shape == (2, 3, size, size)


def test_final_kernel_geometry_on_one_deconv_k3_stage():
    # Deconv k3 s2 overlaps 1, 2 along each axis (outer product 1, 2, 2, 4). A final 3 x 3 box
    # sums 1 + 2 + 1 = 4 and 2 + 1 + 2 = 5 (outer product 16, 20, 20, 25): max / min 25 / 16. A
    # final 4 x 4 sums two whole periods, 2 x (1 + 2) = 6, at every phase: flat.
    size = "dataset.image_size=8"
    assert overlap_of(size).tolist() == [[1.0, 2.0], [2.0, 4.0]]
    three = overlap_of(size, "upsample.final_conv=true")
    assert sorted(three.flatten().tolist()) == [16.0, 20.0, 20.0, 25.0]
    assert measures.unevenness(three) == pytest.approx(25 / 16)
    four = overlap_of(size, "upsample.final_conv=true", "upsample.final_kernel=4")
    assert four.tolist() == [[36.0, 36.0], [36.0, 36.0]]


def fold(m: torch.Tensor, period: int) -> torch.Tensor:
    p = m.shape[-1]
    return m.reshape(p // period, period, p // period, period).mean(dim=(0, 2))


def test_a_final_4x4_removes_the_periods_that_divide_it_and_not_the_others():
    # Three deconv k3 stages (period 8): a 4 x 4 box sums whole periods of 2 and 4, so the map
    # folded to period 4 is flat, while period 8 stays uneven; a 3 x 3 only reduces it.
    plain = overlap_of("dataset.image_size=32")
    four = overlap_of(
        "dataset.image_size=32", "upsample.final_conv=true", "upsample.final_kernel=4"
    )
    three = overlap_of("dataset.image_size=32", "upsample.final_conv=true")
    assert measures.unevenness(fold(plain, 4)) > 1.5
    assert measures.unevenness(fold(four, 4)) == pytest.approx(1.0)
    assert measures.unevenness(four) > 1.0
    assert 1.0 < measures.unevenness(fold(three, 4)) < measures.unevenness(fold(plain, 4))


def test_final_kernel_below_1_is_refused():
    with pytest.raises(ConfigError, match="upsample.final_kernel=0 is invalid"):
        compose_config("upsample.final_conv=true", "upsample.final_kernel=0")
