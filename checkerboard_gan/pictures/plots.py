"""Figures (matplotlib) for TensorBoard and reports; the numbers come from `measures`."""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.colors import LinearSegmentedColormap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402
from PIL import Image  # noqa: E402

from checkerboard_gan.analysis import measures  # noqa: E402
from checkerboard_gan.pictures.images import (  # noqa: E402
    flat_text,
    gradient_grid,
    without_zero_frequency,
)


def radial_spectrum_figure(
    fake: torch.Tensor, real: torch.Tensor | None, title: str = ""
) -> Figure:
    """Generated vs real radial log power spectrum (R,) in dB (real None: generated only); the
    shaded half is what spectral distance averages over."""
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
    radius = torch.arange(len(fake)) / (2 * (len(fake) - 1))  # cycles per pixel, 0..0.5
    if real is not None:  # radius 0 is the removed mean
        ax.plot(radius[1:], real[1:].cpu(), label="real", color="black")
    ax.plot(radius[1:], fake[1:].cpu(), label="generated", color="tab:red")
    ax.axvspan(radius[len(fake) // 2].item(), 0.5, color="0.9", zorder=0)
    ax.set_xlabel("spatial frequency (cycles / pixel)")
    ax.set_ylabel("mean log power (dB)")
    ax.set_title(title or "radial spectrum")
    ax.legend()
    fig.tight_layout()
    return fig


def map_figure(
    values: torch.Tensor, title: str, colorbar: str, from_zero: bool, flat_note: str = ""
) -> Figure:
    """A 2-D map with its title and a colour bar. `from_zero`: the scale runs from 0 to a bit
    above the maximum, so a flat map reads as one flat colour, not as noise stretched to fill
    the range (nor as white on white). A flat map also says so on the picture (`flat_text`:
    "flat: FLAT_NOTE, every pixel X"), so its one colour is not read as a missing picture."""
    v = values.detach().double().cpu().numpy()
    fig, ax = plt.subplots(figsize=(3.8, 3.3), dpi=100)
    limits = {"vmin": 0.0, "vmax": max(float(v.max()) * 1.05, 1e-12)} if from_zero else {}
    image = ax.imshow(v, cmap="viridis", interpolation="nearest", **limits)
    fig.colorbar(image, ax=ax, label=colorbar, shrink=0.85)
    label = flat_text(values, flat_note)
    if label is not None:
        box = {"facecolor": "white", "edgecolor": "0.5", "boxstyle": "round"}
        ax.text(0.5, 0.5, label, transform=ax.transAxes, ha="center", va="center", bbox=box)
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    return fig


def spectra_figure(fake: torch.Tensor, real: torch.Tensor | None) -> Figure:
    """Mean log power spectra (H, W) in dB, zero frequency in the middle (drawn at the median):
    generated, real and generated minus real on a diverging scale around 0 dB clipped at the
    99th percentile of |difference| (at least 1 dB), so that a few peak bins stand out
    saturated instead of washing out the rest. Real None: the generated one alone."""
    fake = without_zero_frequency(fake.double().cpu())
    panels = [("generated", fake)]
    if real is not None:
        real = without_zero_frequency(real.double().cpu())
        panels += [("real", real), ("generated - real", fake - real)]
    fig, axes = plt.subplots(1, len(panels), figsize=(max(3.6 * len(panels), 6.0), 3.3), dpi=100)
    low = min(float(v.nan_to_num(nan=math.inf).min()) for _, v in panels[:2])
    high = max(float(v.nan_to_num(nan=-math.inf).max()) for _, v in panels[:2])
    for ax, (label, values) in zip(list(axes) if len(panels) > 1 else [axes], panels, strict=True):
        diverging = label == "generated - real"
        # a few peak bins (a checkerboard's) would set the scale and wash out the rest
        bound = max(float(torch.quantile(values.abs().flatten(), 0.99)), 1.0)
        if diverging:
            label = f"generated - real (clipped at +/-{bound:.2g} dB)"
        image = ax.imshow(
            values.numpy(),
            cmap="RdBu_r" if diverging else "magma",
            vmin=-bound if diverging else low,
            vmax=bound if diverging else high,
            interpolation="nearest",
        )
        fig.colorbar(image, ax=ax, label="dB", shrink=0.8)
        ax.set_title(label, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("mean log power spectrum (zero frequency in the middle, left out)", fontsize=9)
    fig.tight_layout()
    return fig


# Fingerprint tiles on one shared scale ---------------------------------------------------------

# Diverging, mid-grey at 0 (an odd number of colours puts 0 exactly on grey): a zero tile is
# one flat grey square, visible on a white page. NaN (the gaps between channels) is white.
SIGNED = LinearSegmentedColormap.from_list(
    "signed", ["#062c80", "#2a6ff2", "#808080", "#f2552a", "#800e06"], N=257
).with_extremes(bad="white")
CHANNELS = {1: [""], 3: ["R", "G", "B"]}
STD_UNIT = "tile / image std σ\n(the mean of its square is FP)"

FingerprintPanel = tuple[str, torch.Tensor | None, float | None]  # label, tile, variance


def in_image_std(tile: torch.Tensor, variance: float | None) -> np.ndarray:
    """A fingerprint tile in units of the image standard deviation, channels side by side.

    Args:
        tile: (C, P, P), each channel zero-mean (`measures.fingerprint_tile`).
        variance: the images' pixel variance FP_p divides by (`measures.pixel_variance`).
    Returns:
        (P, C*P + (C-1)*g) float64: tile / sqrt(variance), channel c at columns c*(P+g)...,
        NaN gaps of g columns between channels; all zeros where the variance is not positive
        (FP is 0 there). The mean of the square of its numbers (gaps left out) is FP_P exactly.
    """
    t = tile.detach().double().cpu()
    t = t / math.sqrt(variance) if variance and variance > 0 else torch.zeros_like(t)
    gap = torch.full((t.shape[1], max(1, t.shape[-1] // 8)), math.nan, dtype=torch.float64)
    parts = [part for i, ch in enumerate(t) for part in ([gap] if i else []) + [ch]]
    return torch.cat(parts, dim=1).numpy()


def fingerprint_figure(
    panels: list[FingerprintPanel], title: str, ncols: int | None = None
) -> Figure:
    """Fingerprint tiles (label, (C, P, P) tile, pixel variance) drawn on ONE symmetric scale.

    Every tile is drawn as tile / sqrt(variance) (`in_image_std`), so the mean of the square of
    what a panel shows is its FP_P, printed in its title; grey is 0, and the scale's limits are
    +/- the largest |value| over all panels: a tile 1000 x weaker than another draws near grey
    beside it, and a zero tile flat grey. Channels side by side (R G B), nearest pixels, one
    colour bar, `title` above. A panel with no tile shows its label over an empty square; a
    panel with an empty label and no tile is left blank. A plain Figure, not pyplot's: safe to
    draw on one thread while another uses pyplot.
    """
    drawn = [None if t is None else in_image_std(t, v) for _, t, v in panels]
    peak = max((float(np.nanmax(np.abs(d))) for d in drawn if d is not None), default=0.0)
    limit = peak if peak > 0 else 1.0  # all zero: every panel flat grey on any scale
    ncols = max(1, min(ncols or len(panels), len(panels)))
    nrows = -(-len(panels) // ncols)
    shape = next((d.shape for d in drawn if d is not None), (1, 1))
    unit_in = min(2.4, max(1.4, 0.09 * shape[0]))  # inches per channel square
    width = unit_in * shape[1] / shape[0]
    fig = Figure(figsize=(width * ncols + 1.6, (unit_in + 0.55) * nrows + 0.6), dpi=100)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    image = None
    for ax, (label, tile, variance), d in zip(axes.flat, panels, drawn, strict=False):
        image = _fingerprint_panel(ax, label, tile, variance, d, limit) or image
    for ax in axes.flat[len(panels) :]:
        ax.set_axis_off()
    if image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), label=STD_UNIT, shrink=0.9)
    fig.suptitle(title, fontsize=10)
    fig.set_layout_engine("constrained")
    return fig


def _fingerprint_panel(
    ax: Axes,
    label: str,
    tile: torch.Tensor | None,
    variance: float | None,
    drawn: np.ndarray | None,
    limit: float,
) -> AxesImage | None:
    """One panel of `fingerprint_figure`; returns its image (None for an empty panel)."""
    if tile is None or drawn is None:
        ax.set_title(f"{label}\nno tile saved" if label else "", fontsize=8)
        ax.set_axis_off()
        return None
    variance_64 = torch.tensor(variance or 0.0, dtype=torch.float64)
    fp = measures.fingerprint_ratio(tile.double(), variance_64)
    ax.set_title(f"{label}\nFP_{tile.shape[-1]} = {fp:.3g}", fontsize=8)
    image = ax.imshow(drawn, cmap=SIGNED, vmin=-limit, vmax=limit, interpolation="nearest")
    names = CHANNELS.get(tile.shape[0], [f"c{c}" for c in range(tile.shape[0])])
    step = drawn.shape[1] + 1 if tile.shape[0] == 1 else (drawn.shape[1] + 1) / tile.shape[0]
    ax.set_xticks([c * step + (tile.shape[-1] - 1) / 2 for c in range(tile.shape[0])], names)
    ax.set_yticks([])
    ax.tick_params(length=0, labelsize=7)
    return image


def evaluation_curves_figure(
    evaluations: list[dict], title: str, keys: list[str] | None = None, ncols: int = 4
) -> Figure:
    """The evaluations' measures (`fake`, then `quality`) over steps, one small panel each, every
    point marked and labelled with its exact value, the real images' value (`real`,
    `quality_floor`) of the last evaluation as a dashed line: what TensorBoard's smoothed
    scalar charts misdraw when a run has only a few evaluations. `keys` limits and orders the
    panels (those the evaluations lack are left out), `ncols` of them per row. A plain Figure,
    not pyplot's (drawn on the training thread)."""
    last = evaluations[-1]
    sides = {k: ("fake", "real") for k in last["fake"]}
    sides |= {k: ("quality", "quality_floor") for k in last.get("quality") or {}}
    keys = [k for k in (keys or sides) if k in sides]
    ncols = max(1, min(ncols, len(keys)))
    nrows = max(1, -(-len(keys) // ncols))
    fig = Figure(figsize=(3.0 * ncols, 2.3 * nrows + 0.5), dpi=100)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, key in zip(axes.flat, keys, strict=False):
        side, floor = sides[key]
        points = [(e["step"], e[side][key]) for e in evaluations if key in (e.get(side) or {})]
        _curve_panel(ax, key, points, (last.get(floor) or {}).get(key))
    for ax in axes.flat[len(keys) :]:
        ax.set_axis_off()
    fig.suptitle(title, fontsize=9)
    fig.set_layout_engine("constrained")
    return fig


def _curve_panel(ax: Axes, key: str, points: list[tuple[int, float]], floor: float | None) -> None:
    """One measure's exact values over steps, each point labelled; `floor` dashed."""
    steps, values = [s for s, _ in points], [v for _, v in points]
    ax.plot(steps, values, marker="o", color="tab:red", label="generated")
    for s, v in points:
        ax.annotate(
            f"{v:.4g}", (s, v), textcoords="offset points", xytext=(0, 5), ha="center", fontsize=7
        )
    if floor is not None:
        ax.axhline(floor, color="0.4", linestyle="--", linewidth=1, label=f"real {floor:.4g}")
        ax.legend(fontsize=6, loc="upper right")
    ax.set_xticks(steps)
    ax.set_title(key, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.margins(x=0.15, y=0.25)


def figure_png(fig: Figure) -> tuple[bytes, int, int]:
    """A matplotlib figure as PNG bytes, its height and width. A pyplot figure is the caller's
    to close; `fingerprint_figure`'s is not pyplot's (drawn on the training thread while the
    background writer uses pyplot) and needs no closing."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    png = buffer.getvalue()
    width, height = Image.open(io.BytesIO(png)).size
    return png, height, width


# Report figures (checkerboard_gan.report) ---------------------------------------------------


def energy_picture(x: torch.Tensor, period: int) -> torch.Tensor:
    """The phase-energy map E_P / max E_P: (P, P) in [0, 1], uniform 1 = no checkerboard."""
    e = measures.phase_energy(x, period)
    return e / e.max().clamp_min(1e-30)


def gradient_picture(grad: torch.Tensor) -> torch.Tensor:
    """|dD/dx| of 8 images as a 2 x 4 grid, summed over channels, each scaled by its own max."""
    return gradient_grid(grad[:8], nrow=4, min_cell_px=32)


def spectrum_picture(x: torch.Tensor) -> torch.Tensor:
    """The mean log power spectrum (zero frequency in the middle) in magma colours: (3, H, W)."""
    spec = without_zero_frequency(measures.log_spectrum(x).float())
    spec = (spec - spec.min()) / (spec.max() - spec.min()).clamp_min(1e-9)
    return torch.from_numpy(plt.get_cmap("magma")(spec.numpy())[..., :3]).permute(2, 0, 1)


def overlap_figure(cases: list[tuple[str, torch.Tensor]]) -> Figure:
    """Per case (title, P x P overlap map): its 1-D pattern as bars above the 2-D map."""
    fig, axes = plt.subplots(
        2,
        len(cases),
        figsize=(2.5 * len(cases), 5.0),
        dpi=100,
        gridspec_kw={"height_ratios": [1, 2]},
        squeeze=False,
    )
    for col, (title, overlap) in enumerate(cases):
        m = overlap.double().cpu()
        profile = measures.overlap_profile(m).tolist()  # the 1-D pattern a of m = a a^T
        top, bottom = axes[0, col], axes[1, col]
        top.bar(range(len(profile)), profile, color="tab:orange", width=0.8)
        for i, v in enumerate(profile):
            top.text(i, v, f"{v:g}", ha="center", va="bottom", fontsize=8)
        top.set_ylim(0, max(profile) * 1.3)
        top.set_xticks(range(len(profile)))
        top.set_title(title, fontsize=10)
        top.tick_params(labelsize=7)
        bottom.imshow(m.numpy(), cmap="magma", vmin=0, interpolation="nearest")
        for r, row in enumerate(m.tolist() if m.shape[0] <= 4 else []):  # small maps: counts
            for c, v in enumerate(row):
                colour = "black" if v > 0.6 * m.max().item() else "white"
                bottom.text(c, r, f"{v:g}", ha="center", va="center", color=colour, fontsize=9)
        label = flat_text(m, "even overlap") if m.shape[0] > 4 else None  # small: counts
        if label is not None:
            bottom.text(
                0.5,
                0.5,
                label,
                transform=bottom.transAxes,
                ha="center",
                va="center",
                fontsize=8,
                bbox={"facecolor": "white", "edgecolor": "0.5"},
            )
        bottom.set_xticks([])
        bottom.set_yticks([])
    axes[0, 0].set_ylabel("1-D pattern", fontsize=8)
    axes[1, 0].set_ylabel("2-D map (one period)", fontsize=8)
    fig.tight_layout()
    return fig


def image_panels(
    panels: list[tuple[str, torch.Tensor | None]],
    ncols: int,
    cmap: str = "gray",
    unit_range: bool = True,
    panel_in: float = 2.3,
    row_labels: list[str] | None = None,
) -> Figure:
    """A grid of titled images: (3, H, W) RGB in [0, 1], or (H, W) maps drawn with `cmap`.

    Maps are drawn on [0, 1] when `unit_range` (e.g. phase energy / max), else stretched
    (e.g. dB spectra). A None panel stays empty. Pixels are never smoothed.
    """
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(panel_in * ncols, panel_in * nrows + 0.1), dpi=100, squeeze=False
    )
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    for ax, (title, img) in zip(axes.flat, panels, strict=False):
        ax.set_title(title, fontsize=8)
        if img is None:
            continue
        img = img.detach().float().cpu()
        if img.dim() == 3:
            ax.imshow(img.permute(1, 2, 0).clamp(0, 1).numpy(), interpolation="nearest")
        else:
            limits = {"vmin": 0.0, "vmax": 1.0} if unit_range else {}
            ax.imshow(img.numpy(), cmap=cmap, interpolation="nearest", **limits)
    for r, label in enumerate(row_labels or []):
        axes[r, 0].set_ylabel(label, fontsize=9)
    fig.tight_layout()
    return fig


def bar_figure(
    labels: list[str],
    series: dict[str, tuple[list[float], list[float] | None]],
    ylabel: str,
    title: str = "",
    log: bool = False,
    line: tuple[float, str] | None = None,
) -> Figure:
    """Grouped bars: per series name (values, error bars or None), one bar per label; `log`
    scale, and a dashed horizontal `line` (value, label) such as a reference floor."""
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(labels) + 1.5), 3.0), dpi=100)
    width = 0.8 / max(1, len(series))
    for i, (name, (values, errors)) in enumerate(series.items()):
        xs = [x + (i - (len(series) - 1) / 2) * width for x in range(len(labels))]
        ax.bar(xs, values, width, yerr=errors, capsize=3, label=name)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, fontsize=8, rotation=15)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    if line is not None and math.isfinite(line[0]) and (line[0] > 0 or not log):
        ax.axhline(line[0], color="k", linestyle="--", linewidth=1, label=line[1])
    if title:
        ax.set_title(title, fontsize=10)
    if len(series) > 1 or line is not None:
        ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def cost_figure(
    points: dict[str, list[tuple[float, float]]],
    xlabel: str,
    ylabel: str,
    floors: tuple[float, float],
    title: str = "",
) -> Figure:
    """A scatter of (x, y) per run, one marker and legend entry per label (its runs), log-log,
    with each axis's real-image floor as a dashed line (x floor vertical, y floor horizontal);
    points with a missing or non-positive value are left out."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    markers = "osD^v<>pP*Xh"
    for i, (label, xy) in enumerate(points.items()):
        kept = [(x, y) for x, y in xy if x > 0 and y > 0]  # False for NaN too
        if kept:
            xs, ys = zip(*kept, strict=True)
            ax.scatter(xs, ys, marker=markers[i % len(markers)], s=40, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    x_floor, y_floor = floors
    if math.isfinite(x_floor) and x_floor > 0:
        ax.axvline(x_floor, color="k", linestyle="--", linewidth=1, label="real images (floor)")
    if math.isfinite(y_floor) and y_floor > 0:
        ax.axhline(y_floor, color="k", linestyle="--", linewidth=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig
