"""Fixed filters: box taps, zero insertion, separable FIR and the bilinear triangle."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from checkerboard_gan.models.filters import (
    bilinear_filter,
    bilinear_taps,
    box_taps,
    separable_fir,
    zero_insert,
)

FAST = settings(max_examples=40, deadline=None)


def test_box_taps_are_the_binomials_at_stride_2():
    assert box_taps(2, 3) == [1, 3, 3, 1]
    assert box_taps(2, 2) == [1, 2, 1]
    assert box_taps(3, 2) == [1, 2, 3, 2, 1]
    assert box_taps(1, 3) == [1]


@pytest.mark.parametrize("stride", [2, 3, 4])
@pytest.mark.parametrize("times", [1, 2, 3])
def test_box_taps_sum_the_same_in_every_phase(stride, times):
    taps = box_taps(stride, times)
    assert len(taps) == times * (stride - 1) + 1
    sums = {sum(taps[p::stride]) for p in range(stride)}
    assert sums == {stride ** (times - 1)}


def test_zero_insertion_puts_each_pixel_top_left():
    x = torch.arange(1.0, 5.0).view(1, 1, 2, 2)
    y = zero_insert(x, 3)
    assert y.shape == (1, 1, 6, 6)
    assert torch.equal(y[..., ::3, ::3], x)
    assert y.sum() == x.sum()


@FAST
@given(
    taps=st.lists(st.floats(-2.0, 2.0), min_size=1, max_size=6),
    stride=st.integers(1, 3),
    h=st.integers(1, 8),
    w=st.integers(1, 8),
    data=st.data(),
)
def test_separable_fir_is_the_2d_correlation_with_the_outer_product(taps, stride, h, w, data):
    left = data.draw(st.integers(0, len(taps) - 1))
    g = torch.Generator().manual_seed(len(taps) * 100 + h * 10 + w)
    x = torch.randn(2, 3, h, w, dtype=torch.float64, generator=g)
    t = torch.tensor(taps, dtype=torch.float64)
    right = len(taps) - 1 - left
    kernel = torch.outer(t, t).flip(0, 1).expand(3, 1, -1, -1)
    expected = F.conv2d(F.pad(x, (left, right, left, right)), kernel, stride=stride, groups=3)
    assert torch.allclose(separable_fir(x, t, left, stride), expected, atol=1e-12)


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
