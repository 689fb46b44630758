"""Figures (matplotlib) for TensorBoard and reports; the numbers come from `measures`."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def radial_spectrum_figure(fake: torch.Tensor, real: torch.Tensor, title: str = "") -> Figure:
    """Generated vs real radial log power spectrum; the shaded half is what spectral distance
    averages over."""
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
    radius = torch.arange(len(fake)) / (2 * (len(fake) - 1))  # cycles per pixel, 0..0.5
    ax.plot(radius[1:], real[1:].cpu(), label="real", color="black")  # radius 0: removed mean
    ax.plot(radius[1:], fake[1:].cpu(), label="generated", color="tab:red")
    ax.axvspan(radius[len(fake) // 2].item(), 0.5, color="0.9", zorder=0)
    ax.set_xlabel("spatial frequency (cycles / pixel)")
    ax.set_ylabel("mean log power (dB)")
    ax.set_title(title or "radial spectrum")
    ax.legend()
    fig.tight_layout()
    return fig
