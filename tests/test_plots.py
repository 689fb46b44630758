"""Figures people read: titled maps with colour bars (a flat map reads flat), radial spectra,
overlap bars, panels and bar charts drawn from the values given, never smoothed."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from checkerboard_gan.pictures.plots import (
    bar_figure,
    energy_picture,
    image_panels,
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
