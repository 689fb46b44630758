"""The evaluation's measures of an image set streamed in chunks, with bootstrap intervals, in
memory that does not grow with the number of images (docs/design.md, "Evaluation over many
samples"; docs/measures.md).

`ImageStatistics.add` takes chunks (n, C, H, W) and keeps only sums: per phase of every period
the phase energies, the folded high-pass residual, the power spectrum, per-pixel means and
variances (Chan et al.'s pairwise update of Welford's), and the same phase sums once per bootstrap
replicate. The values equal `measures`' functions on the whole set at once (checkerboard_score,
period_content, coherent_fingerprint, peak_db of power_spectrum, radial_spectrum), to rounding.

Intervals: a Poisson bootstrap over images (Hanley & MacGibbon 2006; Chamandy et al. 2012,
"Estimating uncertainty for massive data streams"): replicate b weights image n by
w_bn ~ Poisson(1), which is the multinomial resample of the classic bootstrap in the limit of
many images and can be accumulated as the images stream past. CB_p, content_p and FP_p are
recomputed from each replicate's weighted phase sums; the 95% interval is the 2.5th to 97.5th
percentile over the replicates, moved by the bootstrap's bias estimate (replicate mean minus the
value: a resample repeats images, which raises CB and FP as fewer images would) and kept >= 0.
FP_p's denominator, the pixel variance, is taken from all images in every replicate (its
relative error, about sqrt(2 / N), is far below the tile's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from checkerboard_gan.analysis import measures
from checkerboard_gan.analysis.catalogue import (
    CB,
    CONTENT,
    DIVERSITY,
    EXTREME_COLOUR_RATIO,
    FINGERPRINT,
    PEAK_DB,
    SATURATED,
)

REPLICATES = 200  # bootstrap replicates: percentiles at 2.5 and 97.5 fall between ranks
LEVEL = 0.95

_BLUR = torch.tensor([1.0, 2.0, 1.0], dtype=torch.float64) / 4


def evaluation_periods(stride: int, height: int, width: int) -> list[int]:
    """p = s, s^2, ... while an image holds at least 4 whole periods ((H // p) (W // p) >= 4).

    Raises:
        ValueError: stride < 2, or an image too small to hold 4 periods of s.
    """
    if stride < 2:
        raise ValueError(f"the stride must be >= 2, got {stride}")
    found, p = [], stride
    while (height // p) * (width // p) >= 4:
        found.append(p)
        p *= stride
    if not found:
        raise ValueError(
            f"images of {height} x {width} hold fewer than 4 periods of {stride}: "
            "nothing to measure"
        )
    return found


ZERO_VARIANCE = 1e-9  # relative to the mean squared value: float32 rounding is ~1e-7 per value
FLUSH_IMAGES = 2048  # images summed in float32 by the replicates before a float64 flush
SLICE_VALUES = 1 << 22  # float32 values worked on at once (16 MB a copy)


def _centred32(x: torch.Tensor) -> torch.Tensor:
    """Each image-channel minus its own mean, in float32; a constant image-channel gives exactly
    0 (its float32 mean need not equal its value)."""
    x = x.float()
    low, high = torch.aminmax(x.flatten(2), dim=2)
    mean = torch.where(low == high, low, x.mean(dim=(-2, -1)))
    return x - mean[..., None, None]


def _phase_energy(square: torch.Tensor, q: int) -> torch.Tensor:
    """Per image, the squared values summed over channels and whole periods q: (n, q, q)."""
    n, c, h, w = square.shape
    hq, wq = h // q, w // q
    rows = square[:, :, : hq * q, : wq * q].reshape(n, c * hq, q, wq * q).sum(1)
    return rows.reshape(n, q, wq, q).sum(2)


def _fold_halo(x: torch.Tensor, q: int, dim: int) -> torch.Tensor:
    """Sum x along `dim` onto the q phases of its whole periods, with one more phase before and
    after (the neighbours -1 and q of each period, reflected at the border as the high-pass
    filter pads): size q + 2 along `dim`."""
    size = x.shape[dim]
    starts = torch.arange(size // q) * q
    inner = x.narrow(dim, 0, starts.numel() * q)
    inner = inner.unflatten(dim, (starts.numel(), q)).sum(dim)
    before = x.index_select(dim, _reflect(starts - 1, size)).sum(dim, keepdim=True)
    after = x.index_select(dim, _reflect(starts + q, size)).sum(dim, keepdim=True)
    return torch.cat([before, inner, after], dim)


def _residual_tile(c: torch.Tensor, q: int) -> torch.Tensor:
    """Per image, the high-pass residual (`measures.high_pass`) summed over whole periods q:
    (n, C, q, q). Folding is linear, so the 3 x 3 blur runs on the folded sums with their halo."""
    halo = _fold_halo(_fold_halo(c, q, 2), q, 3)  # (n, C, q + 2, q + 2)
    taps = _BLUR.float()
    blurred = sum(taps[i] * halo[:, :, i : i + q] for i in range(3))
    blurred = sum(taps[j] * blurred[..., j : j + q] for j in range(3))
    return halo[:, :, 1:-1, 1:-1] - blurred


def _reflect(index: torch.Tensor, size: int) -> torch.Tensor:
    index = index.abs()
    return torch.where(index > size - 1, 2 * (size - 1) - index, index)


def _fold(grid: torch.Tensor, period: int) -> torch.Tensor:
    """Sum a (..., Q, Q) phase grid onto the (..., p, p) phases of a period p dividing Q."""
    q = grid.shape[-1]
    shape = (*grid.shape[:-2], q // period, period, q // period, period)
    return grid.reshape(shape).sum(dim=(-4, -2))


def _bases(periods: list[int], height: int, width: int) -> dict[int, int]:
    """Each period's base: the largest period Q it divides whose whole-period crop is the same,
    so its phase sums are Q's folded. Powers of 2 on images of 2^k share one base."""

    def crop(p: int) -> tuple[int, int]:
        return height // p * p, width // p * p

    largest_first = sorted(periods, reverse=True)
    return {p: next(q for q in largest_first if q % p == 0 and crop(q) == crop(p)) for p in periods}


@dataclass
class Interval:
    """A 95% bootstrap interval [low, high]."""

    low: float
    high: float

    def pair(self) -> list[float]:
        return [self.low, self.high]


class ImageStatistics:
    """The evaluation's sums over an image set, chunk by chunk.

    Args:
        stride: s, the finest period; `periods` are s, s^2, ... (each a multiple of s).
        periods: the periods to measure at.
        shape: (C, H, W) of every image.
        seed: the bootstrap's weights depend only on it and the order of the images.
        replicates: bootstrap replicates (0: no intervals).

    Raises:
        ValueError: a chunk of another shape than `shape`.
    """

    def __init__(
        self,
        stride: int,
        periods: list[int],
        shape: tuple[int, int, int],
        seed: int = 0,
        replicates: int = REPLICATES,
    ) -> None:
        self.stride, self.periods, self.shape = stride, list(periods), tuple(shape)
        c, h, w = self.shape
        self.base = _bases(self.periods, h, w)
        self.n = 0
        self._saturated = 0  # values at |x| >= measures.SATURATION_LEVEL
        self.replicates = replicates
        self._weights = torch.Generator().manual_seed(seed)
        self._energy: dict[int, torch.Tensor] = {}  # base -> (Q, Q) sums over n, c, i, j
        self._tile: dict[int, torch.Tensor] = {}  # base -> (C, Q, Q) residual sums over n, i, j
        # base -> the replicates' weighted phase energies (B, Q*Q) and residual tiles (B, C*Q*Q)
        self._boot: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self._boot32: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self._unflushed = 0
        self._boot_count = torch.zeros(replicates, dtype=torch.float64)
        self._power = torch.zeros(h, w // 2 + 1, dtype=torch.float64)
        self._mean = torch.zeros(c, h, w, dtype=torch.float64)
        self._m2 = torch.zeros(c, h, w, dtype=torch.float64)
        self._energy_total = 0.0
        self._extremeness: list[torch.Tensor] = []  # per image e_n, for R
        self._residual_phases: list[torch.Tensor] = []  # per image (s, s) residual energies

    @torch.no_grad()
    def add(self, x: torch.Tensor) -> None:
        """Accumulate a chunk (n, C, H, W), float in [-1, 1] (any device; sums stay on the CPU).

        Each chunk is worked on in float32 in slices of at most `SLICE_VALUES` values (memory
        stays bounded whatever the chunk); the sums across slices are float64.
        """
        if tuple(x.shape[1:]) != self.shape:
            raise ValueError(f"images of shape {tuple(x.shape[1:])}, expected {self.shape}")
        per_slice = max(1, SLICE_VALUES // max(1, x[0].numel()))
        for part in x.detach().split(per_slice):
            part = part.cpu()
            self._saturated += int((part.abs() >= measures.SATURATION_LEVEL).sum())
            self._extremeness.append(measures.colour_extremeness(part))
            self._add(_centred32(part))

    def _add(self, c: torch.Tensor) -> None:
        n = c.shape[0]
        weights = self._draw_weights(n)
        square = c.square()
        self._residual_phases.append(measures.residual_phase_energy(c, self.stride))
        for q in sorted(set(self.base.values())):
            self._accumulate(q, _phase_energy(square, q), _residual_tile(c, q), weights)
        self._boot_count += weights.sum(dim=1)
        self._power += torch.view_as_real(torch.fft.rfft2(c)).square().sum((0, 1, -1)).double()
        self._update_moments(c, square)
        self.n += n
        self._unflushed += n
        if self._unflushed >= FLUSH_IMAGES:
            self._flush()

    def _draw_weights(self, n: int) -> torch.Tensor:
        rates = torch.ones(n, self.replicates)
        return torch.poisson(rates, generator=self._weights).T.contiguous()  # (B, n)

    def _accumulate(
        self, q: int, energy: torch.Tensor, tile: torch.Tensor, weights: torch.Tensor
    ) -> None:
        if q not in self._energy:
            self._energy[q] = torch.zeros(energy.shape[1:], dtype=torch.float64)
            self._tile[q] = torch.zeros(tile.shape[1:], dtype=torch.float64)
            for store, dtype in ((self._boot, torch.float64), (self._boot32, torch.float32)):
                store[q] = (
                    torch.zeros(self.replicates, energy[0].numel(), dtype=dtype),
                    torch.zeros(self.replicates, tile[0].numel(), dtype=dtype),
                )
        self._energy[q] += energy.double().sum(0)
        self._tile[q] += tile.double().sum(0)
        if self.replicates:
            boot_energy, boot_tile = self._boot32[q]
            boot_energy.addmm_(weights, energy.flatten(1))
            boot_tile.addmm_(weights, tile.flatten(1))

    def _flush(self) -> None:
        """Move the replicates' float32 sums into their float64 ones (every `FLUSH_IMAGES`
        images, and before results), so float32 never sums more than that many images."""
        for q, parts in self._boot32.items():
            for total, part in zip(self._boot[q], parts, strict=True):
                total += part.double()
                part.zero_()
        self._unflushed = 0

    def _update_moments(self, c: torch.Tensor, square: torch.Tensor) -> None:
        """Chan et al.'s pairwise update of the per-pixel mean and sum of squared deviations,
        the slice's own in float32 (deviations from its mean, not a difference of sums, so that
        images all the same give about 0), float64 across slices."""
        n = c.shape[0]
        mean32 = c.mean(0)
        m2 = (c - mean32).square_().sum(0).double()
        mean = mean32.double()
        total = self.n + n
        delta = mean - self._mean
        self._m2 += m2 + delta.square() * (self.n * n / total)
        self._mean += delta * (n / total)
        self._energy_total += square.sum().item()

    # Results --------------------------------------------------------------------------------

    def _require(self) -> None:
        if self.n == 0:
            raise ValueError("no images were added")

    def variance(self) -> float:
        """The mean per-pixel variance over the images (population): FP_p's denominator. Below
        `ZERO_VARIANCE` times the mean squared value it is float32 rounding of images that are
        all the same, and 0 (FP_p is then 0, as for a batch without variance)."""
        self._require()
        variance = (self._m2 / self.n).mean().item()
        mean_square = self._energy_total / (self.n * self._mean.numel())
        return 0.0 if variance <= ZERO_VARIANCE * mean_square else variance

    def energy(self, p: int) -> torch.Tensor:
        """E_p: (p, p), the mean phase energies over images, channels and whole periods."""
        self._require()
        c, h, w = self.shape
        return _fold(self._energy[self.base[p]], p) / (self.n * c * (h // p) * (w // p))

    def tile(self, p: int) -> torch.Tensor:
        """The fingerprint tile at period p: (C, p, p), float64, each channel zero-mean."""
        self._require()
        _, h, w = self.shape
        t = _fold(self._tile[self.base[p]], p) / (self.n * (h // p) * (w // p))
        return t - t.mean(dim=(1, 2), keepdim=True)

    def power_spectrum(self) -> torch.Tensor:
        """The mean power spectrum over images and channels: (H, W), float64, unshifted; the
        transform runs in float32 (relative error about 1e-6, far below any dB shown)."""
        self._require()
        c, h, w = self.shape
        full = self._hermitian(self._power / (self.n * c))
        full[0, 0] = 0.0  # centred images: what the float32 transform leaves there is rounding
        return full

    def _hermitian(self, half: torch.Tensor) -> torch.Tensor:
        h, w = self.shape[1:]
        u = (-torch.arange(h)) % h
        v = (-torch.arange(w)) % w
        full = torch.empty(h, w, dtype=half.dtype)
        full[:, : half.shape[1]] = half
        rest = torch.arange(half.shape[1], w)
        full[:, rest] = half[u][:, v[rest]]
        return full

    def radial(self) -> torch.Tensor:
        """The radial spectrum (`measures.radial_spectrum`): (min(H, W) // 2 + 1,), dB."""
        return measures.radial_mean(measures.log_power(self.power_spectrum()))

    def values(self) -> dict[str, float]:
        """cb_p, content_p, peak_db_p and fingerprint_p for every period, diversity, saturated
        and extreme_colour_ratio (catalogue keys)."""
        spectrum = self.power_spectrum()
        variance = torch.tensor(self.variance(), dtype=torch.float64)
        cb = {p: _cb(self.energy(p)) for p in self.periods}
        content = measures.content_of(cb, self.periods, self.stride)
        out: dict[str, float] = {}
        for p in self.periods:
            out[CB.key(p)] = cb[p]
            out[CONTENT.key(p)] = content[p]
            out[PEAK_DB.key(p)] = measures.peak_db(spectrum, p)
            out[FINGERPRINT.key(p)] = measures.fingerprint_ratio(self.tile(p), variance)
        out[DIVERSITY.key()] = self.diversity()
        out[SATURATED.key()] = self._saturated / (self.n * math.prod(self.shape))
        out[EXTREME_COLOUR_RATIO.key()] = measures.ratio_of_thirds(
            torch.cat(self._extremeness), torch.cat(self._residual_phases)
        )
        return out

    def diversity(self) -> float:
        """`measures.diversity` of all the images added, from the per-pixel moments."""
        self._require()
        per_pixel = (self._m2 / self.n).clamp_min(0)
        total = per_pixel.mean() + (self._mean - self._mean.mean()).square().mean()
        if self.variance() == 0.0:  # identical images: rounding only
            per_pixel = torch.zeros_like(per_pixel)
        return measures.diversity_of(per_pixel.sqrt(), float(total.sqrt()))

    def intervals(self, values: dict[str, float] | None = None) -> dict[str, Interval]:
        """95% bootstrap intervals of cb_p, content_p and fingerprint_p (empty without
        replicates), around `values` (this set's `values()`, computed if not given)."""
        if not self.replicates:
            return {}
        self._require()
        self._flush()
        c, h, w = self.shape
        count = self._boot_count.clamp(min=1)[:, None, None]
        cb, fp = {}, {}
        variance = self.variance()
        for p in self.periods:
            q = self.base[p]
            energy = _fold(self._boot[q][0].reshape(-1, q, q), p)
            cb[p] = _cb_rows(energy.flatten(1))
            tiles = _fold(self._boot[q][1].reshape(-1, c, q, q), p) / (h // p * (w // p))
            tiles = tiles / count[..., None]
            tiles = tiles - tiles.mean(dim=(-2, -1), keepdim=True)
            energy_of_tiles = tiles.pow(2).mean(dim=(1, 2, 3))
            fp[p] = energy_of_tiles / variance if variance > 0 else energy_of_tiles * 0
        out: dict[str, Interval] = {}
        points = values or self.values()
        for p in self.periods:
            finer = cb.get(p // self.stride, torch.zeros_like(cb[p]))
            content = (cb[p].pow(2) - finer.pow(2)).clamp(min=0).sqrt()
            out[CB.key(p)] = _interval(cb[p], points[CB.key(p)])
            out[CONTENT.key(p)] = _interval(content, points[CONTENT.key(p)])
            out[FINGERPRINT.key(p)] = _interval(fp[p], points[FINGERPRINT.key(p)])
        return out


def _cb(energy: torch.Tensor) -> float:
    mean = energy.mean()
    return (energy.std(correction=0) / mean).item() if mean > 0 else 0.0


def _cb_rows(energy: torch.Tensor) -> torch.Tensor:
    mean = energy.mean(dim=1)
    std = energy.std(dim=1, correction=0)
    return torch.where(mean > 0, std / mean.clamp(min=1e-300), torch.zeros_like(mean))


def _interval(replicates: torch.Tensor, point: float) -> Interval:
    """The replicates' 2.5th and 97.5th percentiles, moved by the bootstrap's estimate of the
    bias (their mean minus the point value) and kept at or above 0: a resample repeats images,
    which adds to CB and FP as fewer distinct images would, so plain percentiles sit above the
    value they are to bracket."""
    tail = (1 - LEVEL) / 2
    low, high = torch.quantile(replicates, torch.tensor([tail, 1 - tail], dtype=replicates.dtype))
    bias = replicates.mean().item() - point
    return Interval(_finite(max(low.item() - bias, 0.0)), _finite(max(high.item() - bias, 0.0)))


def _finite(value: float) -> float:
    return value if math.isfinite(value) else math.nan
