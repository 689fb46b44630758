"""Artifact measures against values worked out by hand from the definitions of docs/design.md."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from checkerboard_gan.analysis import measures
from checkerboard_gan.models.upsampling import UPSAMPLERS, build_upsample


def stack(kind: str, kernel: int, stride: int, layers: int) -> torch.Tensor:
    cfg = UPSAMPLERS.config(kind, kernel=kernel, stride=stride)
    geometries = [build_upsample(1, 1, cfg).geometry() for _ in range(layers)]
    return measures.overlap_map(geometries, stride**layers)


def test_deconv_k3_s2_overlap_alternates_1_2():
    m = stack("deconv", 3, 2, 1)
    assert measures.overlap_profile(m).tolist() == [1.0, 2.0]
    assert m.tolist() == [[1.0, 2.0], [2.0, 4.0]]


def test_two_layers_compound_to_1_3_2_3():
    assert measures.overlap_profile(stack("deconv", 3, 2, 2)).tolist() == [1.0, 3.0, 2.0, 3.0]


@pytest.mark.parametrize(
    ("kernel", "stride", "layers", "expected"),
    [
        (3, 2, 1, 4.0),
        (3, 2, 2, 9.0),
        (3, 2, 3, 25.0),
        (4, 2, 1, 1.0),
        (2, 2, 2, 1.0),
        (5, 2, 1, 2.25),
        (1, 2, 1, math.inf),
        (3, 4, 1, math.inf),
    ],
)
def test_deconv_unevenness_worked_examples(kernel, stride, layers, expected):
    assert measures.unevenness(stack("deconv", kernel, stride, layers)) == expected


@settings(max_examples=30, deadline=None)
@given(kernel=st.integers(1, 7), stride=st.integers(1, 4))
def test_one_layer_map_is_outer_product_of_1d_pattern(kernel, stride):
    m = stack("deconv", kernel, stride, 1)
    a = measures.overlap_profile(m)
    assert torch.allclose(torch.outer(a, a), m)
    # Distill: max/min of the 1-D pattern is ceil(k/s) / floor(k/s).
    expected = math.inf if kernel < stride else math.ceil(kernel / stride) / (kernel // stride)
    assert measures.unevenness(m) == pytest.approx(expected**2)


@pytest.mark.parametrize("kind", sorted(set(UPSAMPLERS) - {"deconv", "zeros"}))  # zeros = deconv
@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5])
def test_resize_conv_and_subpixel_are_flat(kind, kernel):
    assert measures.unevenness(stack(kind, kernel, 2, 2)) == pytest.approx(1.0)


def test_cb2_of_planted_alternating_checkerboard_is_zero():
    """+/-a around a constant: every phase has energy a^2, so E_2 is flat and CB_2 = 0."""
    a, c = 0.3, 0.7
    i = torch.arange(16)
    x = (c + a * (-1.0) ** (i[:, None] + i[None, :])).expand(2, 3, 16, 16)
    assert torch.allclose(
        measures.phase_energy(x, 2), torch.full((2, 2), a**2, dtype=torch.float64)
    )
    assert measures.checkerboard_score(x, 2) == pytest.approx(0.0, abs=1e-12)


def test_cb2_of_planted_one_phase_pattern():
    """+a on phase (0, 0) only: centred values 3a/4, -a/4 (x3) give CB_2 = 2 / sqrt(3)."""
    a, c = 0.5, -0.2
    x = torch.full((1, 1, 16, 16), c)
    x[..., ::2, ::2] += a
    e = measures.phase_energy(x, 2)
    expected = torch.tensor([[9, 1], [1, 1]], dtype=torch.float64) * a**2 / 16
    assert torch.allclose(e, expected)
    assert measures.checkerboard_score(x, 2) == pytest.approx(2 / math.sqrt(3))


def test_cb_of_stationary_noise_is_near_zero_and_shrinks_with_batch():
    g = torch.Generator().manual_seed(0)
    small = measures.checkerboard_score(torch.randn(2, 3, 32, 32, generator=g), 8)
    large = measures.checkerboard_score(torch.randn(256, 3, 32, 32, generator=g), 8)
    assert large < 0.02
    assert large < small / 4


def test_spectral_peak_of_period_2_pattern_is_at_nyquist():
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(16, 3, 32, 32, generator=g)
    i = torch.arange(32)
    pattern = (-1.0) ** (i[:, None] + i[None, :])
    spec = measures.power_spectrum(noise * 0.1 + pattern)
    assert divmod(int(spec.argmax()), 32) == (16, 16)
    assert measures.spectral_peak_db(noise * 0.1 + pattern, 2) > 20
    assert abs(measures.spectral_peak_db(noise, 2)) < 3


def test_spectral_distance_of_batch_with_itself_is_zero():
    x = torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert measures.spectral_distance(x, x) == 0.0
    assert measures.spectral_distance(x, x.cumsum(-1)) > 1.0


def test_radial_spectrum_of_white_noise_is_flat():
    noise = torch.randn(64, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    r = measures.radial_spectrum(noise)
    assert r.shape == (17,)
    assert (r[1:] - r[1:].mean()).abs().max() < 1.5


def test_period_content_tells_period_2_from_period_4():
    noise = torch.randn(64, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    rows = torch.arange(32)
    gain2 = torch.where(rows % 2 == 0, 2.0, 1.0)
    gain4 = torch.where(rows % 4 == 0, 2.0, 1.0)
    two = measures.period_content(noise * gain2[:, None] * gain2[None, :], [2, 4, 8])
    four = measures.period_content(noise * gain4[:, None] * gain4[None, :], [2, 4, 8])
    plain = measures.period_content(noise, [2, 4, 8])
    assert two[2] > 10 * plain[2] and two[4] < 3 * plain[4] + 0.02
    assert four[4] > 10 * plain[4] and four[8] < 3 * plain[8] + 0.02


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([2, 4, 8]))
def test_period_content_splits_cb_squared_across_periods(seed, top):
    """CB_P^2 = sum of the squared contents at P, P/2, ..., 2: the fold is orthogonal."""
    x = torch.rand(4, 2, 16, 16, generator=torch.Generator().manual_seed(seed)) ** 3
    periods = [p for p in (2, 4, 8) if p <= top]
    content = measures.period_content(x, periods)
    total = sum(content[p] ** 2 for p in periods)
    assert total == pytest.approx(measures.checkerboard_score(x, top) ** 2, rel=1e-9, abs=1e-12)


def test_period_content_refuses_periods_off_the_stride():
    with pytest.raises(ValueError, match="multiples of the stride 2"):
        measures.period_content(torch.zeros(1, 1, 6, 6), [3])
    with pytest.raises(ValueError, match="multiples of the stride 3"):
        measures.period_content(torch.zeros(1, 1, 6, 6), [2], stride=3)


def test_periods_of_a_generator_are_the_powers_of_its_stride():
    assert measures.periods_of(2, 8) == [2, 4, 8]
    assert measures.periods_of(3, 27) == [3, 9, 27]
    assert measures.periods_of(2, 2) == [2]
    with pytest.raises(ValueError, match="not a power"):
        measures.periods_of(2, 12)


def test_content_of_a_planted_period_4_pattern_without_a_period_2_part():
    """E_4[a, b] = 1 + d s(a) s(b), s = [1, 1, -1, -1]: the fold onto period 2 is flat, so
    content_2 = 0 and content_4 = CB_4 = d (the std of s(a) s(b) over 16 phases is 1); the
    pattern repeats at period 8, so content_8 = 0."""
    d = 0.5
    s = torch.tensor([1.0, 1.0, -1.0, -1.0])
    energy = (1 + d * torch.outer(s, s)).double()  # (4, 4)
    i = torch.arange(32)
    amplitude = energy.sqrt()[i[:, None] % 4, i[None, :] % 4]
    sign = (-1.0) ** ((i[:, None] // 4) + (i[None, :] // 4))  # zero mean over 4x4 blocks
    x = (amplitude * sign).expand(2, 3, 32, 32)
    content = measures.period_content(x, [2, 4, 8])
    assert content[2] == pytest.approx(0.0, abs=1e-12)
    assert content[4] == pytest.approx(d, rel=1e-12)
    assert content[8] == pytest.approx(0.0, abs=1e-6)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_period_content_splits_cb_squared_at_stride_3(seed):
    x = torch.rand(3, 2, 27, 27, generator=torch.Generator().manual_seed(seed)) ** 3
    content = measures.period_content(x, [3, 9, 27], stride=3)
    total = sum(v**2 for v in content.values())
    assert total == pytest.approx(measures.checkerboard_score(x, 27) ** 2, rel=1e-9, abs=1e-12)


@settings(max_examples=20, deadline=None)
@given(st.floats(-5, 5), st.integers(1, 3), st.sampled_from([4, 5, 16]))
def test_high_pass_of_a_constant_is_zero(value, channels, size):
    x = torch.full((2, channels, size, size), value, dtype=torch.float64)
    assert measures.high_pass(x).abs().max().item() <= 1e-12


def test_high_pass_keeps_the_one_pixel_checkerboard_whole():
    i = torch.arange(16)
    board = ((-1.0) ** (i[:, None] + i[None, :])).expand(1, 1, 16, 16).double()
    assert torch.allclose(measures.high_pass(board), board)


def test_fingerprint_keeps_a_stamped_pattern_and_averages_content_away():
    """+/-a at period 2 on unit-variance noise: FP_2 -> a^2 (the residual keeps the pattern,
    the noise's variance is 1) whatever N; the same noise alone falls about as 1/N (its tile
    has only 9 degrees of freedom, so the plain values are averaged over 16 draws)."""
    a = 0.1
    i = torch.arange(32)
    pattern = a * (-1.0) ** (i[:, None] + i[None, :])
    g = torch.Generator().manual_seed(0)
    plain, stamped = {}, {}
    for n in (16, 64, 256):
        draws = [torch.randn(n, 3, 32, 32, generator=g) for _ in range(16)]
        plain[n] = sum(measures.coherent_fingerprint(x, 2) for x in draws) / len(draws)
        stamped[n] = measures.coherent_fingerprint(draws[0] + pattern, 2)
    for n in (64, 256):
        assert stamped[n] == pytest.approx(a**2, rel=0.15)
    assert 8 < plain[16] / plain[256] < 32  # 16 x more images: about 16 x lower
    assert 2 < plain[16] / plain[64] < 8
    assert plain[256] < a**2 / 100


def test_fingerprint_tile_is_the_stamped_pattern():
    i = torch.arange(16)
    pattern = 0.2 * (-1.0) ** (i[:, None] + i[None, :])
    x = torch.randn(512, 1, 16, 16, generator=torch.Generator().manual_seed(1)) * 0.01 + pattern
    tile = measures.fingerprint_tile(x, 2)
    assert tile.shape == (1, 2, 2)
    assert torch.allclose(tile[0], pattern[:2, :2].double(), atol=2e-3)


def test_fingerprint_of_a_batch_without_variance_is_zero():
    assert measures.coherent_fingerprint(torch.ones(8, 3, 16, 16), 2) == 0.0


# Extreme colours (claim 8) ------------------------------------------------------------------


def dot_grid(amplitude: float, size: int = 8) -> torch.Tensor:
    """(1, 1, size, size): `amplitude` at the (even, even) phase, 0 elsewhere: energy at one of
    the four period-2 phases."""
    x = torch.zeros(1, 1, size, size, dtype=torch.float64)
    x[..., ::2, ::2] = amplitude
    return x


def test_extreme_colour_ratio_of_a_planted_case_is_the_amplitude_ratio_squared():
    # Thirds of 3 images: colour 0.8 with dots of 0.1, colour 0.4 with anything, colour 0.02
    # with dots of 0.05. Centring removes the colour, so each third's phase energies are its
    # dots' energies, which scale with the amplitude squared: R = (0.1 / 0.05)^2 = 4.
    noise = torch.Generator().manual_seed(0)
    top = [0.8 + dot_grid(0.1) for _ in range(3)]
    middle = [0.4 + 0.3 * torch.rand(1, 1, 8, 8, generator=noise).double() for _ in range(3)]
    bottom = [0.02 + dot_grid(0.05) for _ in range(3)]
    x = torch.cat(top + middle + bottom).expand(-1, 3, -1, -1)
    shuffled = x[torch.randperm(9, generator=noise)]
    assert measures.extreme_colour_ratio(shuffled, 2) == pytest.approx(4.0, rel=1e-9)


def test_colour_extremeness_is_the_distance_from_mid_grey():
    x = torch.zeros(2, 3, 4, 4)
    x[0] = 0.5  # every pixel at distance sqrt(3 * 0.25)
    x[1, 0, :2] = -1.0  # half the pixels at distance 1, half at 0
    e = measures.colour_extremeness(x)
    assert e.tolist() == pytest.approx([math.sqrt(0.75), 0.5])


def test_extreme_colour_ratio_is_one_for_one_pattern_at_every_colour():
    x = torch.cat([c + dot_grid(0.2) for c in (-0.9, -0.5, 0.0, 0.3, 0.6, 0.9)])
    assert measures.extreme_colour_ratio(x, 2) == pytest.approx(1.0, rel=1e-9)


def test_extreme_colour_ratio_needs_three_images_and_a_pattern():
    assert math.isnan(measures.extreme_colour_ratio(torch.zeros(2, 1, 8, 8), 2))
    assert math.isnan(measures.extreme_colour_ratio(torch.zeros(6, 1, 8, 8), 2))
    flat_bottom = torch.cat([0.9 + dot_grid(0.1)] * 2 + [torch.zeros(1, 1, 8, 8)] * 4)
    assert measures.extreme_colour_ratio(flat_bottom, 2) == math.inf
