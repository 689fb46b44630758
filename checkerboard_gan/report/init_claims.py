"""Claims 1 and 2, read at random initialisation: overlap geometry and artifacts at init."""

from __future__ import annotations

import math

import torch

from checkerboard_gan.analysis import measures
from checkerboard_gan.analysis.catalogue import CHECKERBOARD, OVERLAP_UNEVENNESS, SPECTRAL_PEAK
from checkerboard_gan.config import DeconvConfig
from checkerboard_gan.models.upsampling import build_upsample
from checkerboard_gan.pictures import plots
from checkerboard_gan.pictures.images import sample_picture
from checkerboard_gan.pictures.plots import energy_picture

from .document import Block, Fig, Table, fmt, rule
from .reading import Context, Kind, mean_std, probe, samples_at
from .verdicts import Check, compare


def claim1(ctx: Context) -> tuple[list[Block], list[Check]]:
    cases, rows, u, worst = [], [], {}, 0.0
    for k, n in ((3, 1), (3, 2), (4, 1), (4, 2)):
        stage = DeconvConfig(name="deconv", kernel=k, stride=2)
        m = measures.overlap_map([build_upsample(1, 1, stage).geometry() for _ in range(n)], 2**n)
        a = measures.overlap_profile(m)
        error = (m - torch.outer(a, a)).abs().max().item()
        u[k, n], worst = measures.unevenness(m), max(worst, error)
        cases.append((f"deconv k{k} s2, {n} layer{'s' * (n > 1)}", m))
        pattern = " / ".join(" ".join(f"{v:g}" for v in r) for r in m.tolist())
        rows.append([cases[-1][0], " ".join(f"{v:g}" for v in a.tolist()), pattern])
        rows[-1] += [f"{u[k, n]:g}", f"{error:.1g}"]
    flat, uneven = max(u[4, 1], u[4, 2]) < 1 + 1e-9, u[3, 1] > 1 + 1e-9
    more = u[3, 2] > u[3, 1] + 1e-9
    checks = [
        Check(f"k3 one layer max/min {u[3, 1]:g} {'>' if uneven else '≤'} 1", uneven),
        Check(f"k3 two layers {u[3, 2]:g} {'>' if more else '≤'} one layer {u[3, 1]:g}", more),
        Check(f"k4 max/min {u[4, 1]:g} and {u[4, 2]:g} {'=' if flat else '≠'} 1", flat),
        Check(
            f"largest |m − a aᵀ| {worst:.1g} {'≤' if worst <= 1e-9 else '>'} 1e-9", worst <= 1e-9
        ),
    ]
    header = ["stack", "1-D pattern a", "2-D map m (rows)", "max/min", "max |m − a aᵀ|"]
    return [
        "No training: `measures.overlap_map` runs each stage's own operation with all-ones "
        "kernels on an all-ones input and keeps one period from the middle; the 1-D pattern a is "
        "`measures.overlap_profile` (m = a aᵀ when the map is separable).",
        Fig(
            ctx.save(plots.overlap_figure(cases), "claim1_overlap"),
            "Overlap over one period (brighter = more kernel taps reach the pixel), as in the "
            "article's figures.",
        ),
        Table(header, rows),
        rule(
            "supported when k3 s2 is uneven (max/min > 1), two k3 layers are more uneven than "
            "one, k4 s2 is flat (max/min = 1 within 1e-9, one and two layers) and every 2-D map "
            "is the outer product of its 1-D pattern within 1e-9."
        ),
    ], checks


INIT_KINDS: list[Kind] = [
    ("deconv k3", "init_deconv", {"upsample.kernel": "3"}),
    ("deconv k4", "init_deconv", {"upsample.kernel": "4"}),
    ("nearest k3", "init_resize", {"upsample": "nearest"}),
    ("bilinear k3", "init_resize", {"upsample": "bilinear"}),
    ("sub-pixel k3", "init_subpixel", {"upsample.icnr": "false"}),
    ("sub-pixel k3 + ICNR", "init_subpixel", {"upsample.icnr": "true"}),
]


def claim2(ctx: Context) -> tuple[list[Block], list[Check]]:
    table, cb, top, bottom, links = [], {}, [], [], []
    for kind in INIT_KINDS:
        label, runs = kind[0], ctx.pick(kind)
        cb[label] = mean_std([probe(r, CHECKERBOARD.key(), 0) for r in runs])
        peak = mean_std([probe(r, SPECTRAL_PEAK.key(), 0) for r in runs])
        uneven = (
            float((runs[0].metrics or {}).get(OVERLAP_UNEVENNESS.key(), "nan"))
            if runs
            else math.nan
        )
        seeds = " ".join(ctx.link(r, r.values.get("seed", r.path.name)) for r in runs)
        table.append([label, fmt(uneven), f"{fmt(cb[label][0])} ± {fmt(cb[label][1], 2)}"])
        table[-1] += [f"{fmt(peak[0])} ± {fmt(peak[1], 2)}", seeds or "missing"]
        first = samples_at(runs[0] if runs else None, 0)
        period = runs[0].period if runs else None
        top.append((f"{label}\nCB {fmt(cb[label][0])}", first and sample_picture(first[1])))
        energy = first and period and energy_picture(first[1], period)
        bottom.append((f"phase energy P={period}" if period else "phase energy", energy))
        links += [(label, ctx.rel(runs[0].path))] if runs else []
    labels = list(cb)
    series = {"CB at init": ([cb[k][0] for k in labels], [cb[k][1] for k in labels])}
    bars = plots.bar_figure(labels, series, "checkerboard CB_P")
    sheet = plots.image_panels(top + bottom, len(labels))
    plain, icnr = cb["sub-pixel k3"][0], cb["sub-pixel k3 + ICNR"][0]
    lower = plain / icnr if icnr else math.nan
    seeds = f"seeds 0..{ctx.setting.seeds - 1}" if ctx.setting.seeds > 1 else "seed 0"
    header = ["generator", "overlap max/min", "CB at init, mean ± std", "spectral peak dB", "runs"]
    return [
        f"Every kind at `train.steps=0` (probes at step 0 only), {seeds}. CB_P = std / mean of "
        "the phase-energy map E_P over one period P (the generator's total upsampling factor); "
        "about 0 for a shift-invariant generator.",
        Table(header, table),
        Fig(ctx.save(bars, "claim2_cb"), "Checkerboard score at init, mean ± std over seeds."),
        Fig(
            ctx.save(sheet, "claim2_samples"),
            "The first seed at init: 16 samples, each stretched to its own range (top); "
            "phase-energy map E_P / max, white = even (bottom).",
            links,
        ),
        f"ICNR init (the sub-pixel part of claim 3 in docs/design.md): sub-pixel's CB at init is "
        f"{fmt(plain)} without it and {fmt(icnr)} with it ({fmt(lower, 2)} × lower).",
        rule(
            "supported when the mean CB at init of deconv k3 is at least 3 × that of nearest "
            "resize-convolution."
        ),
    ], [cb_check(cb)]


def cb_check(cb: dict[str, tuple[float, float]]) -> Check:
    """Claim 2's rule: deconv k3's mean CB at init against nearest's."""
    return compare(
        "mean CB at init", "deconv k3", cb["deconv k3"][0], 3, "nearest k3", cb["nearest k3"][0]
    )
