"""What follows a trained claim's table: its figures (bars, sample sheets, gradient and period
panels, the discriminator comparison) and notes, each a function of the claim's runs and keys
that `trained.render` calls."""

from __future__ import annotations

import math

import torch

from checkerboard_gan.analysis.catalogue import (
    SPECTRAL_DISTANCE,
)
from checkerboard_gan.pictures import plots
from checkerboard_gan.pictures.images import sample_picture
from checkerboard_gan.pictures.plots import energy_picture, gradient_picture, spectrum_picture

from .document import Block, Fig, Table, fmt
from .reading import (
    Context,
    all_seeds,
    ev,
    fingerprint_at,
    first_seed,
    gradient_at,
    mean_std,
    real_floor,
    samples_at,
)
from .trained import After, Runs

DISC_KINDS = ("avgpool", "strided", "blurpool")


def pair(g: str, d: str) -> str:
    """Claim 7's label of a generator against a discriminator."""
    return f"{g} k3 / {d}"


def content_bars(ctx: Context, runs: Runs, name: str, key: str) -> Fig:
    """`key` at init and trained, mean ± std over seeds, log scale, real images' as a line."""
    pairs = [
        [mean_std([ev(r, key, w) for r in by.values()]) for by in runs.values()] for w in (0, -1)
    ]
    series = {
        when: ([m for m, _ in got], [sd for _, sd in got])
        for when, got in zip(("at init", "trained"), pairs, strict=True)
    }
    floor = real_floor([r for by in runs.values() for r in by.values()], key)
    # log scale needs a positive number: runs stopped before any evaluation have none
    log = any(v > 0 for means, _ in series.values() for v in means if not math.isnan(v))
    fig = plots.bar_figure(list(runs), series, key, log=log, line=(floor, "real images"))
    return Fig(
        ctx.save(fig, f"{name}_{key}"),
        f"{key} at step 0 and after training (mean ± std over seeds"
        + (", log scale" if log else ", no numbers")
        + "); the dashed line is the real images' value.",
    )


def samples_sheet(ctx: Context, runs: Runs, keys: dict[str, object], name: str) -> Fig:
    """The first seed of each kind: samples at init and trained."""
    panels: tuple[list, list] = ([], [])
    links = []
    for label, by_seed in runs.items():
        first = first_seed(by_seed)
        samples = [samples_at(first, w) for w in (0, -1)]
        for row, s in zip(panels, samples, strict=True):
            row.append((f"{label}, step {s[0]}" if s else label, s and sample_picture(s[1])))
        links += [(label, ctx.rel(first.path))] if first else []
    sheet = plots.image_panels([p for row in panels for p in row], len(runs))
    return Fig(
        ctx.save(sheet, f"{name}_samples"),
        "The first seed: samples at init and after training (each stretched to its own range).",
        links,
    )


def fingerprint_sheet(ctx: Context, runs: Runs, name: str, which: tuple[int, ...] = (0, -1)) -> Fig:
    """The first seed of every kind: its fingerprint tiles at the first (0) and last (-1)
    evaluation (`which`), and the real images', all on one shared scale."""
    panels: list[plots.FingerprintPanel] = []
    real: dict | None = None
    links = []
    for label, by_seed in runs.items():
        run = first_seed(by_seed)
        for w in which:
            saved = fingerprint_at(run, w)
            if saved is None:
                panels.append((f"{label}, {'init' if w == 0 else 'trained'}", None, None))
                continue
            panels.append((f"{label}, step {saved['step']}", saved["fake"], saved["fake_variance"]))
            real = real or (saved if saved.get("real") is not None else None)
        links += [(label, ctx.rel(run.path))] if run else []
    if real is not None:
        panels.append(("real images", real["real"], real["real_variance"]))
    period = next((t.shape[-1] for _, t, _ in panels if t is not None), "P")
    title = f"{name}: fingerprint tiles at period {period}, first seed, one shared scale"
    fig = plots.fingerprint_figure(panels, title, ncols=len(which) if len(which) > 1 else 2)
    return Fig(
        ctx.save(fig, f"{name}_fingerprints"),
        "The fingerprint tile of the first seed (the mean high-pass residual folded to one "
        f"period {period}), each channel divided by its run's image standard deviation σ and "
        "all drawn on one colour scale, grey = 0: the mean of the square of a tile is the "
        f"FP_{period} in its title, and a tile ten times weaker in FP looks about three times "
        "paler. The table's fingerprint is read at the finest period; the tile holds every "
        "finer period's pattern too. A panel without a tile is a run evaluated before tiles "
        "were saved (`python -m checkerboard_gan.evaluate RUN_DIR` saves one).",
        links,
    )


def trained_figures(name: str, note: After) -> After:
    """Claims 3 and 4: the content bars, the samples sheet, then the claim's note."""

    def after(ctx: Context, runs: Runs, keys: dict[str, object]) -> list[Block]:
        bars = content_bars(ctx, runs, name, str(keys["content"]))
        sheets = [samples_sheet(ctx, runs, keys, name), fingerprint_sheet(ctx, runs, name)]
        return [bars, *sheets, *note(ctx, runs, keys)]

    return after


def distances_note(ctx: Context, runs: Runs, keys: dict[str, object]) -> list[Block]:
    key = SPECTRAL_DISTANCE.key()
    dist = {k: mean_std([ev(r, key) for r in v.values()]) for k, v in runs.items()}
    return [
        "Spectral distance to the real images after training (dB, lower is closer; mean over "
        "seeds): "
        + ", ".join(f"{k} {fmt(v[0])}" for k, v in dist.items())
        + " (the article found bilinear resize-convolution worse than nearest in its GAN)."
    ]


def icnr_note(ctx: Context, runs: Runs, keys: dict[str, object]) -> list[Block]:
    key = str(keys["content"])
    icnr = mean_std([ev(r, key) for r in runs["sub-pixel k3 + ICNR"].values()])[0]
    return [
        f"Sub-pixel with ICNR init (display only) ends with {key} {fmt(icnr)}. Nearest "
        "resize-conv, trained alike in claim 3, is the baseline."
    ]


def gradient_energy(grad: torch.Tensor | None, period: int | None) -> torch.Tensor | None:
    """The phase-energy picture of a saved input gradient at D's period; None when missing."""
    return None if grad is None or period is None else energy_picture(grad, period)


def gradient_panels(ctx: Context, runs: Runs, keys: dict[str, object]) -> list[Block]:
    """Claim 5: |dD/dx| of the first seed at init and trained, and its phase-energy maps."""
    panels, links = [], []
    for label, by_seed in runs.items():
        run = first_seed(by_seed)
        if run is None:
            panels += [(f"{label}: missing", None)] + [("", None)] * 3
            continue
        init, last, period = gradient_at(run, 0), gradient_at(run, -1), run.grad_period
        step = run.sample_steps[-1] if run.sample_steps else "last"
        panels += [
            (f"{label}: |dD/dx| at init", None if init is None else gradient_picture(init)),
            (f"|dD/dx| at step {step}", None if last is None else gradient_picture(last)),
            (f"phase energy P={period}, init", gradient_energy(init, period)),
            (f"phase energy, step {step}", gradient_energy(last, period)),
        ]
        links.append((label, ctx.rel(run.path)))
    return [
        Fig(
            ctx.save(plots.image_panels(panels, 4), "claim5_gradients"),
            "The first seed: |dD/dx| of 8 real images, each scaled to its own max (as each "
            "probe saved it, `gradients/step_*.pt` in the run folder), and the gradient's "
            "phase-energy map, white = even.",
            links,
        )
    ]


def period_panels(ctx: Context, runs: Runs, keys: dict[str, object]) -> list[Block]:
    """Claim 6: per generator, samples and spectrum trained; fingerprint tiles at init and
    trained on one scale."""
    panels, links = [], []
    for name, by_seed in runs.items():
        run = first_seed(by_seed)
        last = samples_at(run, -1)
        if run is None or last is None:
            panels += [(f"{name}: missing", None), ("", None)]
            continue
        panels += [
            (f"{name}, step {last[0]}", sample_picture(last[1])),
            (f"log power spectrum, step {last[0]}", spectrum_picture(last[1])),
        ]
        links.append((name, ctx.rel(run.path)))
    return [
        Fig(
            ctx.save(plots.image_panels(panels, 2), "claim6_periods"),
            "The first seed: samples after training (stretched) and their mean log power "
            "spectrum (zero frequency in the middle; period 2 puts peaks on the edges, period 4 "
            "half-way to them).",
            links,
        ),
        fingerprint_sheet(ctx, runs, "claim6"),
    ]


def discriminator_figures(ctx: Context, runs: Runs, keys: dict[str, object]) -> list[Block]:
    """Claim 7: the ratio table per seed, samples per pairing, and their fingerprint tiles on
    one scale."""
    content = str(keys["content"])
    ratios = []
    for s in all_seeds(runs):
        avg = ev(runs[pair("deconv", "avgpool")].get(s), content)
        cells = [fmt(avg / ev(runs[pair("deconv", d)].get(s), content)) for d in DISC_KINDS[1:]]
        ratios.append([s, *cells])
    panels, links = [], []
    for label, by_seed in runs.items():
        run, short = first_seed(by_seed), label.replace(" k3", "")
        last = samples_at(run, -1)
        panels += [(short, last and sample_picture(last[1]))]
        links += [(short, ctx.rel(run.path))] if run else []
    header = ["seed", "deconv: avgpool / strided", "deconv: avgpool / blurpool"]
    return [
        Table(header, ratios),
        Fig(
            ctx.save(plots.image_panels(panels, 4), "claim7_discriminators"),
            "The first seed after training: samples (stretched) per generator and discriminator.",
            links,
        ),
        fingerprint_sheet(ctx, runs, "claim7", which=(-1,)),
    ]
