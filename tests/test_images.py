"""Pictures of sample batches: stretch, integer enlargement, grids, heat maps."""

from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st

from checkerboard_gan.pictures.images import (
    enlarge,
    flat_text,
    grid,
    heatmap,
    side_by_side,
    stretch,
    to_uint8_hwc,
    to_unit,
    without_zero_frequency,
)


def seeded(*shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(0))


def test_stretch_maps_each_image_to_its_own_full_range():
    x = seeded(4, 3, 8, 8) * torch.tensor([0.01, 0.1, 1.0, 10.0]).view(4, 1, 1, 1) - 0.5
    s = stretch(x)
    assert torch.allclose(s.flatten(1).amin(1), torch.zeros(4))
    assert torch.allclose(s.flatten(1).amax(1), torch.ones(4))
    assert torch.equal(stretch(torch.zeros(2, 3, 4, 4)), torch.zeros(2, 3, 4, 4))  # flat: no nan


@given(st.integers(1, 5), st.integers(1, 9), st.integers(1, 9))
def test_enlarge_repeats_every_pixel_factor_by_factor_times(factor, h, w):
    img = seeded(3, h, w)
    big = enlarge(img, factor)
    assert big.shape == (3, factor * h, factor * w)
    for dy in range(factor):
        for dx in range(factor):
            assert torch.equal(big[:, dy::factor, dx::factor], img)


def test_a_one_pixel_checkerboard_stays_sharp_in_the_grid():
    board = (torch.arange(16)[:, None] + torch.arange(16)[None, :]) % 2
    x = board.float().expand(4, 3, 16, 16)
    g = grid(x, nrow=2, min_cell_px=64)  # 16 px cells enlarged 4 x, padding 8
    assert g.shape == (3, 2 * 64 + 3 * 8, 2 * 64 + 3 * 8)
    cell = g[:, 8 : 8 + 64, 8 : 8 + 64]
    assert torch.equal(cell, enlarge(x[0], 4))
    assert set(cell.unique().tolist()) == {0.0, 1.0}  # no interpolated greys


def test_grey_images_become_rgb_and_raw_view_clamps():
    assert grid(seeded(2, 1, 8, 8)).shape[0] == 3
    assert torch.equal(
        to_unit(torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0])), torch.tensor([0, 0, 0.5, 1, 1])
    )


def test_side_by_side_and_uint8_conversion():
    a, b = torch.zeros(3, 5, 4), torch.ones(3, 5, 6)
    both = side_by_side(a, b, gap=2)
    assert both.shape == (3, 5, 12) and torch.equal(both[:, :, 4:6], torch.ones(3, 5, 2))
    pixels = to_uint8_hwc(both)
    assert pixels.shape == (5, 12, 3) and pixels.dtype == torch.uint8
    assert pixels[0, 0].tolist() == [0, 0, 0] and pixels[0, -1].tolist() == [255, 255, 255]


def test_a_flat_map_is_labelled_flat_on_mid_grey_and_an_uneven_one_shows_contrast():
    """A flat map (an evenly overlapping upsampling's overlap map) is no blank square: mid-grey,
    with "flat: ..., every pixel X" written on a white box in black."""
    flat = heatmap(torch.full((4, 4), 3.0), flat_note="even overlap")
    inside = flat[:, 2:-2, 2:-2]
    assert flat.shape == (3, 132, 132)
    assert flat[:, :2].eq(0.5).all() and flat[:, :, -2:].eq(0.5).all()  # visible on white
    grey = (inside - 0.5).abs() <= 1 / 255  # mid-grey (as 8-bit), not white
    assert grey[:, :8].all() and grey[:, -8:].all()
    assert inside.eq(0.0).any() and inside.eq(1.0).any()  # the label: black text on white
    assert flat_text(torch.full((4, 4), 3.0), "even overlap") == (
        "flat: even overlap\nevery pixel 3"
    )
    assert flat_text(torch.full((2, 2), 81.0)) == "flat\nevery pixel 81"
    uneven = heatmap(torch.tensor([[1.0, 2.0], [2.0, 4.0]]), min_px=2, frame=0)
    assert uneven[0].tolist() == [[0.25, 0.5], [0.5, 1.0]]
    assert flat_text(torch.tensor([[1.0, 2.0], [2.0, 4.0]])) is None


def test_the_zero_frequency_bin_does_not_set_the_colour_scale():
    spec = torch.arange(25.0).view(5, 5)
    spec[2, 2] = -1e6
    out = without_zero_frequency(spec)
    assert out[2, 2] == out.median() and spec[2, 2] == -1e6  # the input is left alone
