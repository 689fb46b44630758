"""Figures people read: titled maps with colour bars (a flat map reads flat), radial spectra,
overlap bars, panels and bar charts drawn from the values given, never smoothed; fingerprint
tiles on one shared scale, so their strength matches their numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from checkerboard_gan.analysis import measures
from checkerboard_gan.pictures.plots import (
    bar_figure,
    energy_picture,
    evaluation_curves_figure,
    fingerprint_figure,
    image_panels,
    in_image_std,
    map_figure,
    overlap_figure,
    plt,
    radial_spectrum_figure,
    spectrum_picture,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_a_map_figure_has_its_title_a_colour_bar_and_a_scale_from_zero():
    fig = map_figure(torch.full((4, 4), 2.0), "overlap map\nrun, step 0", "paths", from_zero=True)
    image_ax, bar_ax = fig.axes
    assert image_ax.get_title() == "overlap map\nrun, step 0"
    assert bar_ax.get_ylabel() == "paths"
    (image,) = image_ax.get_images()
    assert image.get_clim() == pytest.approx((0.0, 2.1))  # flat: one colour, not white on white
    assert image.get_interpolation() == "nearest"
    assert np.array_equal(image.get_array(), np.full((4, 4), 2.0))


def test_a_flat_map_figure_says_it_is_flat_and_an_uneven_one_does_not():
    fig = map_figure(torch.full((4, 4), 81.0), "overlap", "paths", True, "even overlap")
    (label,) = fig.axes[0].texts
    assert label.get_text() == "flat: even overlap\nevery pixel 81"
    uneven = map_figure(torch.tensor([[1.0, 2.0], [2.0, 4.0]]), "overlap", "paths", True)
    assert not uneven.axes[0].texts


def test_a_large_flat_overlap_map_in_the_report_says_it_is_flat():
    fig = overlap_figure([("nearest", torch.full((8, 8), 9.0))])
    assert [t.get_text() for t in fig.axes[1].texts] == ["flat: even overlap\nevery pixel 9"]


def test_the_evaluation_curves_draw_every_evaluation_exactly_with_its_value_written():
    evaluations = [
        {"step": 0, "fake": {"cb_2": 0.4}, "real": {"cb_2": 0.01}, "quality": {"swd": 210.0}},
        {
            "step": 500,
            "fake": {"cb_2": 0.015},
            "real": {"cb_2": 0.01},
            "quality": {"swd": 72.6},
            "quality_floor": {"swd": 30.0},
        },
    ]
    fig = evaluation_curves_figure(evaluations, "run, step 500")
    cb, swd = fig.axes[:2]
    assert [cb.get_title(), swd.get_title()] == ["cb_2", "swd"]
    generated = swd.get_lines()[0]
    assert list(generated.get_xdata()) == [0, 500] and list(generated.get_ydata()) == [210, 72.6]
    assert [t.get_text() for t in swd.texts] == ["210", "72.6"]
    assert [t.get_text() for t in cb.texts] == ["0.4", "0.015"]
    assert list(swd.get_xticks()) == [0, 500]
    assert swd.get_lines()[1].get_ydata()[0] == 30.0  # the real floor, dashed
    # the training logger's choice: given keys in their order, one row each (ncols=1)
    chosen = evaluation_curves_figure(evaluations, "t", ["swd", "content_2", "cb_2"], ncols=1)
    assert [ax.get_title() for ax in chosen.axes] == ["swd", "cb_2"]
    assert chosen.axes[0].get_subplotspec().rowspan.start == 0
    assert chosen.axes[1].get_subplotspec().rowspan.start == 1


def test_a_stretched_map_uses_its_own_range():
    values = torch.tensor([[-30.0, -10.0], [-20.0, 0.0]])
    (image,) = map_figure(values, "spectrum", "dB", from_zero=False).axes[0].get_images()
    assert image.get_clim() == pytest.approx((-30.0, 0.0))


def test_the_radial_spectrum_figure_draws_both_curves_without_the_mean():
    fake, real = torch.linspace(0, 8, 9), torch.linspace(0, 4, 9)
    ax = radial_spectrum_figure(fake, real, "step 0").axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"real", "generated"}
    assert np.allclose(lines["generated"].get_ydata(), fake[1:].numpy())
    assert lines["real"].get_xdata()[-1] == pytest.approx(0.5)  # cycles per pixel
    assert ax.get_title() == "step 0"


def test_the_overlap_figure_shows_the_one_d_pattern_of_each_case():
    uneven = torch.tensor([[1.0, 2.0], [2.0, 4.0]])  # deconv k3 s2: a a^T with a = (1, 2)
    fig = overlap_figure([("k3 s2", uneven), ("flat", torch.ones(2, 2))])
    bars = [sorted(p.get_height() for p in ax.patches) for ax in fig.axes[:2]]
    assert bars == [[1.0, 2.0], [1.0, 1.0]]
    assert fig.axes[0].get_title() == "k3 s2"


def test_panels_and_bars():
    rgb = torch.rand(3, 4, 4, generator=torch.Generator().manual_seed(0))
    fig = image_panels([("a", rgb), ("b", torch.zeros(4, 4)), ("empty", None)], ncols=2)
    assert [ax.get_title() for ax in fig.axes[:3]] == ["a", "b", "empty"]
    assert len(fig.axes[2].get_images()) == 0
    assert fig.axes[1].get_images()[0].get_clim() == (0.0, 1.0)
    fig = bar_figure(["x", "y"], {"s": ([1.0, 2.0], None)}, "cb", line=(0.5, "real"))
    ax = fig.axes[0]
    assert sorted(p.get_height() for p in ax.patches) == [1.0, 2.0]
    assert [line.get_label() for line in ax.get_lines()] == ["real"]
    bar_figure(["x"], {"s": ([1.0], None)}, "cb", log=True, line=(math.nan, "none"))


def test_energy_and_spectrum_pictures_are_normalised():
    x = torch.randn(8, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    energy = energy_picture(x, 4)
    assert energy.shape == (4, 4) and energy.max().item() == pytest.approx(1.0)
    spec = spectrum_picture(x)
    assert spec.shape == (3, 16, 16) and spec.min() >= 0.0 and spec.max() <= 1.0


def planted_tile(channels: int = 3, period: int = 8, seed: int = 0) -> torch.Tensor:
    """A zero-mean tile (C, P, P): a +/-1 checkerboard plus noise."""
    g = torch.Generator().manual_seed(seed)
    checker = torch.tensor([[1.0, -1.0], [-1.0, 1.0]]).repeat(period // 2, period // 2)
    tile = checker + 0.3 * torch.randn(channels, period, period, generator=g)
    return tile - tile.mean(dim=(1, 2), keepdim=True)


def drawn_colours(fig) -> list[np.ndarray]:
    """The RGB colour of every drawn tile pixel, per panel with a tile (NaN gaps left out)."""
    out = []
    for ax in fig.axes:
        for image in ax.get_images():
            values = np.ma.masked_invalid(image.get_array())
            out.append(image.to_rgba(values)[..., :3][~values.mask])
    return out


GREY = np.array([128 / 255] * 3)


def test_a_tile_a_thousand_times_weaker_draws_near_grey_beside_the_strong_one():
    strong = planted_tile()
    fig = fingerprint_figure([("strong", strong, 0.25), ("weak", strong / 1000, 0.25)], "t")
    strong_rgb, weak_rgb = drawn_colours(fig)
    assert np.abs(weak_rgb - GREY).max() < 0.01  # near grey, not stretched to its own range
    assert np.abs(strong_rgb - GREY).max() > 0.4
    titles = [ax.get_title() for ax in fig.axes[:2]]
    fp = measures.fingerprint_ratio(strong.double(), torch.tensor(0.25, dtype=torch.float64))
    assert titles[0] == f"strong\nFP_8 = {fp:.3g}"
    assert titles[1] == f"weak\nFP_8 = {fp * 1e-6:.3g}"
    assert fig.get_suptitle() == "t"


@pytest.mark.parametrize("variance", [1.0, 0.0])
def test_a_zero_tile_draws_flat_grey_alone_and_beside_another(variance):
    zero = torch.zeros(3, 4, 4)
    for panels in (
        [("zero", zero, variance)],
        [("zero", zero, variance), ("b", planted_tile(), 1)],
    ):
        colours = drawn_colours(fingerprint_figure(panels, "zero"))[0]
        assert np.allclose(colours, GREY)
        plt.close("all")
    assert "FP_4 = 0" in fingerprint_figure([("zero", zero, variance)], "").axes[0].get_title()


def test_the_colour_bar_runs_over_the_largest_value_in_image_std_across_panels():
    a, b = planted_tile(seed=1), 3 * planted_tile(seed=2)
    fig = fingerprint_figure([("a", a, 4.0), ("b", b, 0.5), ("none", None, None)], "t", ncols=2)
    peak = max(a.abs().max().item() / 2.0, b.abs().max().item() / 0.5**0.5)
    images = [image for ax in fig.axes for image in ax.get_images()]
    assert len(images) == 2
    assert all(image.get_clim() == pytest.approx((-peak, peak)) for image in images)
    colour_bar = fig.axes[-1]
    assert colour_bar.get_ylim() == pytest.approx((-peak, peak))
    assert "image std" in colour_bar.get_ylabel() and "FP" in colour_bar.get_ylabel()
    assert fig.axes[2].get_title() == "none\nno tile saved"
    assert all(image.get_interpolation() == "nearest" for image in images)


@pytest.mark.parametrize("channels", [1, 3])
def test_what_is_drawn_is_the_tile_in_image_std_and_the_mean_of_its_square_is_fp(channels):
    tile, variance = planted_tile(channels), 0.3
    drawn = in_image_std(tile, variance)
    gap = 8 // 8
    assert drawn.shape == (8, channels * 8 + (channels - 1) * gap)
    for c in range(channels):  # channels side by side, NaN columns between them
        part = drawn[:, c * (8 + gap) : c * (8 + gap) + 8]
        assert np.allclose(part, tile[c].double().numpy() / variance**0.5)
    fp = measures.fingerprint_ratio(tile.double(), torch.tensor(variance, dtype=torch.float64))
    assert np.nanmean(drawn**2) == pytest.approx(fp, rel=1e-12)
    assert np.isnan(drawn).sum() == (channels - 1) * gap * 8
