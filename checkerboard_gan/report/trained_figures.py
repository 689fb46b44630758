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
    """The first seed of each kind: samples at init and trained, fingerprint tiles at both."""
    fp = str(keys["fingerprint"])
    panels: tuple[list, list, list, list] = ([], [], [], [])
    links = []
    for label, by_seed in runs.items():
        first = first_seed(by_seed)
        samples = [samples_at(first, w) for w in (0, -1)]
        for row, s in zip(panels, samples, strict=False):
            row.append((f"{label}, step {s[0]}" if s else label, s and sample_picture(s[1])))
        init_fp, last_fp = fmt(ev(first, fp, 0)), fmt(ev(first, fp))
        short = fp.replace("fingerprint", "FP")
        panels[2].append((f"fingerprint at init, {short} {init_fp}", fingerprint_at(first, 0)))
        panels[3].append((f"trained, {short} {last_fp}", fingerprint_at(first, -1)))
        links += [(label, ctx.rel(first.path))] if first else []
    sheet = plots.image_panels([p for row in panels for p in row], len(runs))
    return Fig(
        ctx.save(sheet, f"{name}_samples"),
        "The first seed: samples at init and after training (each stretched to its own "
        "range); the fingerprint tile at the full period at init and after training "
        "(mean high-pass residual folded to one period; grey = 0, each tile on its own "
        "scale).",
        links,
    )


def trained_figures(name: str, note: After) -> After:
    """Claims 3 and 4: the content bars, the samples sheet, then the claim's note."""

    def after(ctx: Context, runs: Runs, keys: dict[str, object]) -> list[Block]:
        bars = content_bars(ctx, runs, name, str(keys["content"]))
        return [bars, samples_sheet(ctx, runs, keys, name), *note(ctx, runs, keys)]

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
    """Claim 6: per generator, samples, fingerprint tiles at init and trained, spectrum."""
    fp = str(keys["fingerprint"])
    short = fp.replace("fingerprint", "FP")
    panels, links = [], []
    for name, by_seed in runs.items():
        run = first_seed(by_seed)
        last = samples_at(run, -1)
        if run is None or last is None:
            panels += [(f"{name}: missing", None)] + [("", None)] * 3
            continue
        panels += [
            (f"{name}, step {last[0]}", sample_picture(last[1])),
            (f"fingerprint at init, {short} {fmt(ev(run, fp, 0))}", fingerprint_at(run, 0)),
            (f"step {last[0]}, {short} {fmt(ev(run, fp))}", fingerprint_at(run, -1)),
            (f"log power spectrum, step {last[0]}", spectrum_picture(last[1])),
        ]
        links.append((name, ctx.rel(run.path)))
    return [
        Fig(
            ctx.save(plots.image_panels(panels, 4), "claim6_periods"),
            "The first seed: samples after training (stretched), the fingerprint tile at the "
            "full period at init and after training (grey = 0), and the samples' mean log power "
            "spectrum after training (zero frequency in the middle; period 2 puts peaks on the "
            "edges, period 4 half-way to them).",
            links,
        )
    ]


def discriminator_figures(ctx: Context, runs: Runs, keys: dict[str, object]) -> list[Block]:
    """Claim 7: the ratio table per seed, and samples with fingerprint tiles per pairing."""
    content, fp = str(keys["content"]), str(keys["fingerprint"])
    ratios = []
    for s in all_seeds(runs):
        avg = ev(runs[pair("deconv", "avgpool")].get(s), content)
        cells = [fmt(avg / ev(runs[pair("deconv", d)].get(s), content)) for d in DISC_KINDS[1:]]
        ratios.append([s, *cells])
    panels, links = [], []
    for label, by_seed in runs.items():
        run, short = first_seed(by_seed), label.replace(" k3", "")
        last = samples_at(run, -1)
        fingerprint = f"fingerprint, {fp.replace('fingerprint', 'FP')} {fmt(ev(run, fp))}"
        panels += [(short, last and sample_picture(last[1]))]
        panels += [(fingerprint, fingerprint_at(run, -1))]
        links += [(short, ctx.rel(run.path))] if run else []
    header = ["seed", "deconv: avgpool / strided", "deconv: avgpool / blurpool"]
    return [
        Table(header, ratios),
        Fig(
            ctx.save(plots.image_panels(panels, 4), "claim7_discriminators"),
            "The first seed after training: samples (stretched) and the fingerprint tile (grey = "
            "0) per generator and discriminator.",
            links,
        ),
    ]
