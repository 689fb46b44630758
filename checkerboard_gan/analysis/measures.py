"""Artifact measures of docs/design.md ("Artifact measures"), as pure, batched tensor functions.

x is a batch (N, C, H, W); every measure first removes each image-channel's own mean. P is a
period: an upsampling stride or a product of strides. Plotting and logging live elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

# An upsampling stage's geometry: (1, 1, H, W) -> (1, 1, s*H, s*W) with all-ones kernels.
Geometry = Callable[[torch.Tensor], torch.Tensor]


def centered(x: torch.Tensor) -> torch.Tensor:
    """Each image-channel minus its own spatial mean."""
    return x - x.mean(dim=(-2, -1), keepdim=True)


# Overlap ----------------------------------------------------------------------------------


def overlap_map(geometries: Sequence[Geometry], period: int, base: int = 0) -> torch.Tensor:
    """How many kernel-tap paths reach each output pixel of a stack of stages: (P, P), float64.

    Runs each stage's own op with all-ones kernels on an all-ones input large enough that
    borders do not matter, and keeps one period from the middle, aligned to the period.

    Args:
        geometries: the stages' geometry functions, first stage first.
        period: P, the stack's total upsampling factor (the crop's side).
        base: input side; 0 picks one large enough for kernels up to 16 per stage.
    """
    side = base or 4 + 2 * 16 * max(1, len(geometries))
    y = torch.ones(1, 1, side, side, dtype=torch.float64)
    with torch.no_grad():
        for geometry in geometries:
            y = geometry(y)
    mid = (y.shape[-1] // 2) // period * period
    return y[0, 0, mid : mid + period, mid : mid + period]


def overlap_profile(overlap: torch.Tensor) -> torch.Tensor:
    """The 1-D pattern a of a separable 2-D overlap map m = a a^T: (P,)."""
    return overlap.sum(0) / overlap.sum().sqrt()


def unevenness(overlap: torch.Tensor) -> float:
    """max / min of an overlap map; infinite where some pixel is reached by no path (holes)."""
    low, high = overlap.min().item(), overlap.max().item()
    return math.inf if low <= 0 else high / low


# Checkerboard -----------------------------------------------------------------------------


def phase_energy(x: torch.Tensor, period: int) -> torch.Tensor:
    """E_P[a, b] = mean of x[n, c, P*i + a, P*j + b]^2 over n, c, i, j: (P, P).

    Rows and columns beyond the last whole period are left out.
    """
    n, c, h, w = x.shape
    hp, wp = h // period, w // period
    e = centered(x.double())[..., : hp * period, : wp * period].pow(2)
    return e.reshape(n, c, hp, period, wp, period).mean(dim=(0, 1, 2, 4))


def checkerboard_score(x: torch.Tensor, period: int) -> float:
    """CB_P = std(E_P) / mean(E_P) (population std over the P*P phases); ~0 if shift-invariant."""
    e = phase_energy(x, period)
    mean = e.mean()
    return (e.std(correction=0) / mean).item() if mean > 0 else 0.0


def periods_of(stride: int, period: int) -> list[int]:
    """A generator's nested periods s, s^2, ..., P (P = s^n, its total upsampling factor)."""
    if stride < 2:
        raise ValueError(f"periods_of: stride must be >= 2, got {stride}")
    found, p = [], stride
    while p <= period:
        found.append(p)
        p *= stride
    if not found or found[-1] != period:
        raise ValueError(f"periods_of: period {period} is not a power of stride {stride}")
    return found


def period_content(x: torch.Tensor, periods: Sequence[int], stride: int = 2) -> dict[int, float]:
    """content_p = sqrt(max(0, CB_p^2 - CB_{p/s}^2)) per p, CB_1 = 0: the phase-energy variation
    at period p that period p/s does not explain.

    E_{p/s} is E_p averaged over the s^2 phases that fold onto each of its own, so the variance
    of E_p splits into that of its fold plus the rest (orthogonal parts, same mean). Each p must
    be a multiple of s (s >= 2) and divide H and W.
    """
    bad = [p for p in periods if stride < 2 or p < stride or p % stride]
    if bad:
        raise ValueError(
            f"period_content: periods must be multiples of the stride {stride} (>= 2), got {bad}"
        )
    cb = {1: 0.0} | {p: checkerboard_score(x, p) for p in periods}
    cb |= {
        p // stride: checkerboard_score(x, p // stride) for p in periods if p // stride not in cb
    }
    return content_of(cb, periods, stride)


def content_of(cb: dict[int, float], periods: Sequence[int], stride: int) -> dict[int, float]:
    """`period_content` from CB scores already computed at every p and p / s (CB_1 = 0)."""
    cb = {1: 0.0} | cb
    return {p: math.sqrt(max(cb[p] ** 2 - cb[p // stride] ** 2, 0.0)) for p in periods}


# Coherent fingerprint ---------------------------------------------------------------------

_BINOMIAL = torch.tensor([1.0, 2.0, 1.0], dtype=torch.float64) / 4


def high_pass(x: torch.Tensor) -> torch.Tensor:
    """r = x - B(x), B the 3 x 3 binomial blur per channel with reflect padding 1: (N, C, H, W).

    A constant image, and any content smooth over 3 pixels, gives about 0; a one-pixel pattern
    passes (the period-2 checkerboard passes whole).
    """
    n, c, h, w = x.shape
    taps = _BINOMIAL.to(device=x.device, dtype=x.dtype)
    kernel = torch.outer(taps, taps).expand(c, 1, 3, 3)
    blurred = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), kernel, groups=c)
    return x - blurred


def fingerprint_tile(x: torch.Tensor, period: int) -> torch.Tensor:
    """The pattern stamped on every image at period p: (C, p, p), each channel zero-mean.

    t[c, a, b] = mean over i, j (whole periods only) of m[c, p*i + a, p*j + b], m the mean of the
    high-pass residual over the N images.
    """
    return tile_of(mean_residual(x), period)


def mean_residual(x: torch.Tensor) -> torch.Tensor:
    """m: the mean over the N images of the high-pass residual of each centred image: (C, H, W),
    float64. The same for every period, so an evaluation computes it once."""
    return high_pass(centered(x.double())).mean(dim=0)


def tile_of(m: torch.Tensor, period: int) -> torch.Tensor:
    """`fingerprint_tile` from the mean residual `m` (`mean_residual`)."""
    c, h, w = m.shape
    hp, wp = h // period, w // period
    t = m[:, : hp * period, : wp * period].reshape(c, hp, period, wp, period).mean(dim=(1, 3))
    return t - t.mean(dim=(1, 2), keepdim=True)


def coherent_fingerprint(x: torch.Tensor, period: int) -> float:
    """FP_p = mean of the fingerprint tile squared over the mean per-pixel variance of x over the
    N images (population variance); 0 for a batch without variance.

    A pattern stamped at the same place in every image keeps its value as N grows; content
    without one falls about as 1/N.
    """
    return fingerprint_ratio(fingerprint_tile(x, period), pixel_variance(x))


def pixel_variance(x: torch.Tensor) -> torch.Tensor:
    """The mean per-pixel variance of the centred images over the N images (population)."""
    return centered(x.double()).var(dim=0, correction=0).mean()


def fingerprint_ratio(tile: torch.Tensor, variance: torch.Tensor) -> float:
    """`coherent_fingerprint` from its tile and `pixel_variance`; 0 without variance."""
    if variance <= 0:
        return 0.0
    return (tile.pow(2).mean() / variance).item()


# Extreme colours --------------------------------------------------------------------------


def colour_extremeness(x: torch.Tensor) -> torch.Tensor:
    """e_n: per image, the mean over pixels of the Euclidean distance of the pixel's colour (its
    C channels) from mid-grey (0 in [-1, 1]): (N,), float64, 0 to sqrt(C)."""
    return x.detach().double().square().sum(dim=1).sqrt().mean(dim=(-2, -1))


def residual_phase_energy(x: torch.Tensor, period: int) -> torch.Tensor:
    """Per image, E_n[a, b] = mean over channels and whole periods of r[n, c, p*i + a, p*j + b]^2,
    r the high-pass residual of the centred image as in the fingerprint: (N, p, p), float64."""
    r = high_pass(centered(x.detach().double()))
    n, c, h, w = r.shape
    hp, wp = h // period, w // period
    r = r[..., : hp * period, : wp * period].reshape(n, c, hp, period, wp, period)
    return r.square().mean(dim=(1, 2, 4))


def extreme_colour_ratio(x: torch.Tensor, period: int) -> float:
    """R = A_top / A_bottom: how much stronger the period-p pattern is in the images of the most
    extreme colours than in those of the least (Odena et al. 2016, "Overlap & Learning": the
    artifacts are most prominent where the generator outputs extreme colours).

    The images' top and bottom thirds by `colour_extremeness` (N // 3 images each); for each,
    A = the population std over the p x p phases of E[a, b], the mean of
    `residual_phase_energy` over the third's images. NaN for N < 3 or both A = 0; inf when only
    A_bottom is 0. x: (N, C, H, W) in [-1, 1].
    """
    return ratio_of_thirds(colour_extremeness(x), residual_phase_energy(x, period))


def ratio_of_thirds(extremeness: torch.Tensor, energies: torch.Tensor) -> float:
    """`extreme_colour_ratio` from each image's e_n (N,) and phase energies E_n (N, p, p); ties
    in e_n are broken by image order."""
    third = extremeness.shape[0] // 3
    if third == 0:
        return math.nan
    order = torch.sort(extremeness.double(), stable=True).indices
    spread = [
        energies[rows].double().mean(dim=0).std(correction=0).item()
        for rows in (order[-third:], order[:third])
    ]
    top, bottom = spread
    if bottom > 0:
        return top / bottom
    return math.inf if top > 0 else math.nan


# Spectra ----------------------------------------------------------------------------------


def power_spectrum(x: torch.Tensor) -> torch.Tensor:
    """Mean power spectrum |FFT2(x)|^2 over the batch and channels: (H, W), float64, unshifted."""
    return torch.fft.fft2(centered(x.double())).abs().pow(2).mean(dim=(0, 1))


_RING = [(du, dv) for du in (-1, 0, 1) for dv in (-1, 0, 1) if (du, dv) != (0, 0)]


def spectral_peak_db(x: torch.Tensor, period: int) -> float:
    """Power at the frequencies (u*H/P, v*W/P), (u, v) != (0, 0), over the median power of their
    ring of 8 neighbouring bins (peak bins left out of the ring), in dB.

    Where P does not divide the size, the nearest bins are used.
    """
    return peak_db(power_spectrum(x), period)


def peak_db(spec: torch.Tensor, period: int) -> float:
    """`spectral_peak_db` from the mean power spectrum (`power_spectrum`)."""
    h, w = spec.shape
    phases = torch.arange(period, device=spec.device)
    uu, vv = torch.meshgrid(phases, phases, indexing="ij")
    keep = (uu + vv) > 0
    rows = torch.round(uu[keep] * h / period).long() % h
    cols = torch.round(vv[keep] * w / period).long() % w
    is_peak = torch.zeros(h, w, dtype=torch.bool, device=spec.device)
    is_peak[rows, cols] = True
    offsets = torch.tensor(_RING, device=spec.device)
    ring_r = (rows[:, None] + offsets[None, :, 0]) % h
    ring_c = (cols[:, None] + offsets[None, :, 1]) % w
    ring = spec[ring_r, ring_c][~is_peak[ring_r, ring_c]]
    if ring.numel() == 0:
        return math.nan
    peak, floor = spec[rows, cols].mean(), ring.median()
    if floor <= 0:
        return math.inf if peak > 0 else 0.0
    return (10 * torch.log10(peak / floor)).item()


def log_spectrum(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """10 log10 of the mean power spectrum, zero frequency in the middle: (H, W), for display."""
    return log_power(power_spectrum(x), eps)


def log_power(spec: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """`log_spectrum` from the mean power spectrum (`power_spectrum`)."""
    return torch.fft.fftshift(10 * torch.log10(spec + eps))


def radial_spectrum(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Azimuthal mean of the log mean power spectrum over integer radii 0..min(H, W)//2: (R,), dB.

    The power is averaged over the batch before the log (as the spectral peak's spectrum is),
    so channels that happen to be constant in some images do not drag the mean towards log(eps).
    Radius 0 (the zero frequency) is removed by the centring and carries no information.
    """
    return radial_mean(log_spectrum(x, eps))


def radial_mean(log_power: torch.Tensor) -> torch.Tensor:
    """Azimuthal mean of a centred (H, W) map (`log_spectrum`) over integer radii: (R,)."""
    h, w = log_power.shape
    fy = torch.arange(h, dtype=torch.float64, device=log_power.device) - h // 2
    fx = torch.arange(w, dtype=torch.float64, device=log_power.device) - w // 2
    radius = torch.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2).round().long()
    bins = min(h, w) // 2 + 1
    inside = radius < bins
    sums = log_power.new_zeros(bins).index_add_(0, radius[inside], log_power[inside])
    counts = torch.bincount(radius[inside], minlength=bins).double()
    return sums / counts


def radial_distance(ra: torch.Tensor, rb: torch.Tensor) -> float:
    """Mean absolute difference of two radial spectra over the upper half of frequencies (dB)."""
    upper = slice(len(ra) // 2, None)
    return (ra[upper] - rb[upper]).abs().mean().item()


def spectral_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spectral distance between two batches: `radial_distance` of their radial spectra."""
    return radial_distance(radial_spectrum(a), radial_spectrum(b))


COLLAPSED_BELOW = 0.05  # diversity under which a generator's images are (nearly) all the same
SATURATION_LEVEL = 0.99  # |x| at or above it counts as saturated


def diversity_of(per_pixel_std: torch.Tensor, total_std: float) -> float:
    """Mean over pixels of the std across images, over the std of all values: 0 where there
    is no total variation (a constant batch)."""
    return float(per_pixel_std.mean()) / total_std if total_std > 0 else 0.0


def diversity(x: torch.Tensor) -> float:
    """How much a batch x (N, C, H, W) varies across its images, each image first centred (its
    per-channel mean removed, as for every artifact measure): the mean over pixels of the std
    across the batch, over the std of all its values (population stds, float64). 1 for
    independent images of a distribution whose pixels share one mean, lower where the mean
    image has structure; about 0.7 for two distinct images repeated; 0 for identical images or
    a constant batch (a collapsed generator: below `COLLAPSED_BELOW`). Scale-free, so a
    generator whose outputs are small at initialisation is not taken for a collapsed one; flat
    images of any colours also read 0 (no structure at all)."""
    x = centered(x.detach().double())
    return diversity_of(x.std(dim=0, unbiased=False), float(x.std(unbiased=False)))


def degenerate(
    diversity: float, saturated: float | None = None, real_saturated: float | None = None
) -> str | None:
    """Why a set of generated images is no set of images, or None: collapsed (`diversity`
    under `COLLAPSED_BELOW`: (nearly) identical images) or saturated (a share >= 0.99 of the
    values at |x| >= `SATURATION_LEVEL` where the real images have < 0.9; judged only with both
    shares). Artifact measures on such a set say nothing about upsampling."""
    if diversity < COLLAPSED_BELOW:
        return f"collapsed: its samples are (nearly) identical (diversity {diversity:.3f})"
    if saturated is None or real_saturated is None or saturated < 0.99 or real_saturated >= 0.9:
        return None
    return (
        f"saturated: {100 * saturated:.1f}% of its values at +/-1 (real images "
        f"{100 * real_saturated:.0f}%)"
    )


def saturated_share(x: torch.Tensor) -> float:
    """The share of the values of x with |x| >= `SATURATION_LEVEL` (0 to 1)."""
    return float((x.detach().abs() >= SATURATION_LEVEL).double().mean())
