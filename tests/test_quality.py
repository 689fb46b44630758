"""SWD over Laplacian-pyramid patches (Karras et al. 2018): about 0 for a set against itself,
near the sampling floor for a disjoint split, larger for noisier, shifted or blurred copies
(monotone in the noise and in the shift), invariant to the order of the images, reproducible for
a seed."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from checkerboard_gan.analysis.quality import (
    PatchDescriptors,
    QualityReference,
    laplacian_pyramid,
    pyramid_levels,
    swd,
)
from checkerboard_gan.config import PhotosConfig
from checkerboard_gan.data.sources import photos_source


@pytest.fixture(scope="module")
def photos() -> torch.Tensor:
    cfg = PhotosConfig(name="photos", image_size=32, num_images=1024, seed=0)
    return photos_source(cfg).float() / 127.5 - 1


def descriptors(x: torch.Tensor, seed: int = 0) -> PatchDescriptors:
    d = PatchDescriptors(tuple(x.shape[1:]), x.shape[0], seed)
    for chunk in x.split(100):
        d.add(chunk)
    return d


def test_levels_run_down_to_16_px_and_the_pyramid_sums_back_to_the_image():
    assert pyramid_levels(64) == [64, 32, 16]
    assert pyramid_levels(16) == [16]
    assert pyramid_levels(24) == [24]
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    fine, coarse = laplacian_pyramid(x, 2)
    assert fine.shape == (2, 3, 32, 32) and coarse.shape == (2, 3, 16, 16)
    flat = torch.full((1, 1, 32, 32), 0.3, dtype=torch.float64)
    band, _ = laplacian_pyramid(flat, 2)
    assert band.abs().max() < 1e-12  # a flat image has no detail


def test_swd_of_a_set_against_itself_is_zero_and_a_split_is_near_its_floor(photos):
    a, b = descriptors(photos[:512]), descriptors(photos[512:])
    assert swd(a, a, 0)["swd"] == 0.0
    split = swd(a, b, 0)
    assert set(split) == {"swd", "swd_32", "swd_16"}
    first, second = a.halves()
    floor = swd(first, second, 0)["swd"]
    assert 0 < split["swd"] < 2 * floor


def test_swd_grows_with_added_noise_monotonically_and_with_blur(photos):
    """A spatial shift leaves the distribution of random patches as it is, and the per-set
    normalisation removes a colour offset, so neither moves SWD by construction; noise of
    growing strength and a blur do."""
    real = descriptors(photos[:512])
    others = photos[512:]
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(others.shape, generator=g)
    values = [swd(descriptors(others + a * noise), real, 0)["swd"] for a in (0.0, 0.05, 0.2)]
    assert values[0] < values[1] < values[2]
    blurred = F.avg_pool2d(F.pad(others, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    clean, soft = swd(descriptors(others), real, 0), swd(descriptors(blurred), real, 0)
    assert soft["swd_32"] > 1.3 * clean["swd_32"]  # the finest band loses its detail
    assert soft["swd_16"] == pytest.approx(clean["swd_16"], rel=0.2)  # the coarse one hardly


def shifted(x: torch.Tensor, k: int) -> torch.Tensor:
    """x moved k px right and down, the uncovered border filled with mid-grey."""
    out = torch.zeros_like(x)
    out[..., k:, k:] = x[..., : x.shape[-2] - k, : x.shape[-1] - k]
    return out


def test_swd_grows_with_a_shift_monotonically(photos):
    """A shift moves content out of the frame and a flat border in: the patch distribution
    departs from the real one more the larger the shift."""
    real = descriptors(photos[:512])
    others = photos[512:]
    values = [swd(descriptors(shifted(others, k)), real, 0)["swd"] for k in (0, 2, 4, 8)]
    assert values == sorted(values) and values[-1] > 2 * values[0], values


def test_swd_does_not_depend_on_the_order_of_the_images_and_repeats_for_a_seed(photos):
    real = descriptors(photos[:512])
    x = photos[512:]
    once = swd(descriptors(x), real, 0)
    assert swd(descriptors(x[torch.randperm(512)]), real, 0) == pytest.approx(once, rel=1e-6)
    assert swd(descriptors(x), real, 0) == once
    assert swd(descriptors(x, seed=1), real, 0) != once


def evaluation_swd(fake: torch.Tensor, real: torch.Tensor) -> tuple[float, float]:
    """(value, floor) as an evaluation reads them: generated halves against real halves."""
    reference = QualityReference(tuple(real.shape[1:]), real.shape[0], 0)
    for chunk in real.split(100):
        reference.add_real(chunk)
    generated = reference.generated(fake.shape[0])
    for chunk in fake.split(100):
        generated.add(chunk)
    return generated.values()["swd"], reference.floor["swd"]


def test_a_set_of_the_real_distribution_reads_at_the_floor_and_degraded_ones_above(photos):
    """Whole sets against whole sets would read below a floor of half sets (SWD falls with
    more descriptors); the evaluation compares halves with halves, so other photographs read
    at the floor and a blurred or noisier copy of them above it."""
    real, others = photos[:512], photos[512:]
    value, floor = evaluation_swd(others, real)
    assert 0.85 < value / floor < 1.2, (value, floor)
    first, second = PatchDescriptors((3, 32, 32), 512, 0), PatchDescriptors((3, 32, 32), 512, 0)
    first.add(others)
    second.add(real)
    assert swd(first, second, 0)["swd"] < 0.85 * floor  # whole sets: below the floor
    blurred = F.avg_pool2d(F.pad(others, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    noisy = others + 0.1 * torch.randn(others.shape, generator=torch.Generator().manual_seed(1))
    assert evaluation_swd(blurred, real)[0] > 1.15 * max(value, floor)  # 77.9 against 64.8
    assert evaluation_swd(noisy, real)[0] > 2 * floor  # 139 against 62.9


def test_the_halves_are_disjoint_about_even_and_do_not_depend_on_the_order(photos):
    d = descriptors(photos)
    a, b = d.halves()
    assert a.count + b.count == 1024 and 400 < a.count < 624
    shuffled = descriptors(photos[torch.randperm(1024)]).halves()
    assert shuffled[0].count == a.count
    assert swd(*shuffled, 0) == pytest.approx(swd(a, b, 0), rel=1e-9)


def reference_of(real: torch.Tensor) -> QualityReference:
    reference = QualityReference(tuple(real.shape[1:]), real.shape[0], 0)
    reference.add_real(real)
    return reference


def test_swd_is_skipped_with_one_line_where_a_half_of_the_real_images_is_empty(photos, caplog):
    """Each image falls into a half by its hash: one image always leaves a half empty, two do
    about half the time, identical images always; SWD is then skipped (no value, no floor, no
    ValueError) with one line saying why and what N is needed. Two images in different halves
    are the least that work."""
    pairs = [photos[[0, i]] for i in range(1, 40)]
    apart = next(p for p in pairs if reference_of(p).swd_skipped is None)
    together = next(p for p in pairs if reference_of(p).swd_skipped is not None)
    cases = {
        "1 real image leaves a half empty": photos[:1],
        "2 real images leave a half empty": together,
        "the 8 real images all fall into one half (are they identical?)": photos[:1].repeat(
            8, 1, 1, 1
        ),
    }
    for said, real in cases.items():
        caplog.clear()
        reference = reference_of(real)
        for _ in range(2):  # a run's every evaluation reads the same reference
            generated = reference.generated(3)
            generated.add(photos[100:103])
            assert generated.result()[:2] == ({}, {})
        (line,) = [r.getMessage() for r in caplog.records if "SWD skipped" in r.getMessage()]
        assert line.startswith(f"SWD skipped: {said}")
        if "leave" in said:
            assert "it needs eval.num_samples (evaluate: --num-samples) >= 8" in line
    generated = reference_of(apart).generated(1)
    generated.add(photos[100:101])
    values, floor, _ = generated.result()
    assert values["swd"] > 0 and floor["swd"] > 0
