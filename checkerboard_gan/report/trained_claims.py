"""Claims 3 to 7, about trained artifacts: judged per seed on each run's evaluation over many
samples (metrics.json `evaluations`) and, for the gradient, on the probes' `grad_content_2`."""

from __future__ import annotations

import math

import torch

from .. import plots
from ..images import sample_picture
from ..plots import energy_picture, gradient_picture, spectrum_picture
from ..runs import RunRow
from .document import Block, Fig, Table, fmt, rule
from .reading import (
    Context,
    Kind,
    all_seeds,
    ev,
    eval_size,
    fingerprint_at,
    first_seed,
    gradient_at,
    mean_std,
    per_seed,
    probe,
    real_floor,
    samples_at,
)
from .verdicts import Check, per_seed_checks

TRAINED_CLAIMS = (3, 4, 5, 6, 7)
EVAL_NOTE = (
    "Trained artifacts are read from each run's evaluation over many samples (DESIGN.md), at "
    "step 0 and at the last step: {n} images, the generated ones drawn as the probes draw "
    "theirs. content_p = sqrt(CB_p² − CB_p/2²) (CB_1 = 0) is the phase-energy variation at "
    "period p that the finer period does not explain; fingerprint_p is the energy of the mean "
    "high-pass residual folded to one period, over the images' variance: a pattern stamped at "
    "the same place in every image keeps it, content falls as 1/N. CB_P at the full period P "
    "(the probes' measure) is shown for comparison."
)


def init_to_last(row: RunRow | None, key: str) -> str:
    return f"{fmt(ev(row, key, 0))} → {fmt(ev(row, key, -1))}"


def content_bars(
    ctx: Context, labels: list[str], runs: list[dict[str, RunRow]], name: str, key: str
) -> Fig:
    """`key` at init and trained, mean ± std over seeds, log scale, real images' as a line."""
    pairs = [[mean_std([ev(r, key, w) for r in by.values()]) for by in runs] for w in (0, -1)]
    series = {
        when: ([m for m, _ in got], [sd for _, sd in got])
        for when, got in zip(("at init", "trained"), pairs, strict=True)
    }
    floor = real_floor([r for by in runs for r in by.values()], key)
    # log scale needs a positive number: runs stopped before any evaluation have none
    log = any(v > 0 for means, _ in series.values() for v in means if not math.isnan(v))
    fig = plots.bar_figure(labels, series, key, log=log, line=(floor, "real images"))
    return Fig(
        ctx.save(fig, f"{name}_{key}"),
        f"{key} at step 0 and after training (mean ± std over seeds"
        + (", log scale" if log else ", no numbers")
        + "); the dashed line is the real images' value.",
    )


def trained(ctx: Context, kinds: list[Kind], name: str) -> tuple[list[Block], dict]:
    """Per kind and seed: content_2 and fingerprint_2 at init and trained, the full-period CB,
    samples and fingerprint tiles; returns the blocks and each kind's runs by seed."""
    runs = {kind[0]: per_seed(ctx, kind) for kind in kinds}
    table, panels, links = [], ([], [], [], []), []
    for label, by_seed in runs.items():
        for seed, run in sorted(by_seed.items(), key=lambda kv: int(kv[0])):
            table.append(
                [label, seed, init_to_last(run, "content_2"), init_to_last(run, "fingerprint_2")]
                + [init_to_last(run, f"cb_{run.period}"), fmt(ev(run, "spectral_distance"))]
                + [run.status, ctx.link(run)]
            )
        first = first_seed(by_seed)
        samples = [samples_at(first, w) for w in (0, -1)]
        for row, s in zip(panels, samples, strict=False):
            row.append((f"{label}, step {s[0]}" if s else label, s and sample_picture(s[1])))
        panels[2].append(
            (
                f"fingerprint at init, FP_2 {fmt(ev(first, 'fingerprint_2', 0))}",
                fingerprint_at(first, 0),
            )
        )
        panels[3].append(
            (f"trained, FP_2 {fmt(ev(first, 'fingerprint_2'))}", fingerprint_at(first, -1))
        )
        links += [(label, ctx.rel(first.path))] if first else []
    all_rows = [r for by in runs.values() for r in by.values()]
    table.append(
        [
            "real images",
            "",
            fmt(real_floor(all_rows, "content_2")),
            fmt(real_floor(all_rows, "fingerprint_2")),
            "",
            "",
            "",
            "",
        ]
    )
    header = ["generator", "seed", "content_2 init → trained", "fingerprint_2 init → trained"]
    header += ["CB_P (full period) init → trained", "spectral distance dB", "status", "folder"]
    sheet = plots.image_panels([p for row in panels for p in row], len(kinds))
    return [
        f"{ctx.setting.train_seeds} seed(s) per kind, {ctx.setting.steps} steps. "
        + EVAL_NOTE.format(n=eval_size(all_rows)),
        Table(header, table),
        content_bars(ctx, list(runs), list(runs.values()), name, "content_2"),
        Fig(
            ctx.save(sheet, f"{name}_samples"),
            "The first seed: samples at init and after training (each stretched to its own "
            "range); the fingerprint tile at the full period at init and after training "
            "(mean high-pass residual folded to one period; grey = 0, each tile on its own "
            "scale).",
            links,
        ),
    ], runs


def claim3(ctx: Context) -> tuple[list[Block], list[Check]]:
    kinds = [
        (f"{k} k3", "train_resize", {"upsample": k}) for k in ("deconv", "nearest", "bilinear")
    ]
    blocks, runs = trained(ctx, kinds, "claim3")
    seeds = all_seeds(runs)
    deconv = ("deconv k3", runs["deconv k3"])
    checks = per_seed_checks(seeds, deconv, 3, ("nearest", runs["nearest k3"]), "content_2")
    checks += per_seed_checks(seeds, deconv, 3, ("bilinear", runs["bilinear k3"]), "content_2")
    dist = {k: mean_std([ev(r, "spectral_distance") for r in v.values()]) for k, v in runs.items()}
    return blocks + [
        "Spectral distance to the real images after training (dB, lower is closer; mean over "
        "seeds): "
        + ", ".join(f"{k} {fmt(v[0])}" for k, v in dist.items())
        + " (the article found bilinear resize-convolution worse than nearest in its GAN).",
        rule(
            "supported when, for every seed, trained deconv k3's content_2 is at least 3 × that "
            "of nearest and 3 × that of bilinear resize-convolution."
        ),
    ], checks


def claim4(ctx: Context) -> tuple[list[Block], list[Check]]:
    kinds: list[Kind] = [
        ("deconv k4", "train_even", {}),
        ("sub-pixel k3", "train_subpixel", {"upsample.icnr": "false"}),
        ("sub-pixel k3 + ICNR", "train_subpixel", {"upsample.icnr": "true"}),
        ("nearest k3 (claim 3)", "train_resize", {"upsample": "nearest"}),
    ]
    blocks, runs = trained(ctx, kinds, "claim4")
    seeds, nearest = all_seeds(runs), ("nearest", runs["nearest k3 (claim 3)"])
    checks = [
        c
        for label in ("deconv k4", "sub-pixel k3")
        for c in per_seed_checks(seeds, (label, runs[label]), 2, nearest, "content_2")
    ]
    icnr = mean_std([ev(r, "content_2") for r in runs["sub-pixel k3 + ICNR"].values()])[0]
    return blocks + [
        f"Sub-pixel with ICNR init (display only) ends with content_2 {fmt(icnr)}. Nearest "
        "resize-conv, trained alike in claim 3, is the baseline.",
        rule(
            "supported when, for every seed, the trained content_2 of deconv k4 and of "
            "sub-pixel (without ICNR) are each at least 2 × that of nearest resize-convolution."
        ),
    ], checks


DISCS: list[Kind] = [
    ("strided k3", "train_disc", {"upsample": "nearest", "disc": "strided"}),
    ("avgpool k3", "train_resize", {"upsample": "nearest"}),
    ("blurpool k3", "train_disc", {"upsample": "nearest", "disc": "blurpool"}),
    ("strided k4", "grad_strided_k4", {}),
]


def gradient_energy(grad: torch.Tensor | None, period: int | None) -> torch.Tensor | None:
    """The phase-energy picture of a saved input gradient at D's period; None when missing."""
    return None if grad is None or period is None else energy_picture(grad, period)


def claim5(ctx: Context) -> tuple[list[Block], list[Check]]:
    runs = {kind[0]: per_seed(ctx, kind) for kind in DISCS}
    seeds = all_seeds(runs)
    table, panels, links = [], [], []
    for label, by_seed in runs.items():
        for seed, run in sorted(by_seed.items(), key=lambda kv: int(kv[0])):
            cells = [
                f"{fmt(probe(run, key, 0))} → {fmt(probe(run, key, -1))}"
                for key in ("grad_content_2", "grad_checkerboard")
            ]
            table.append([label, seed, *cells, run.status, ctx.link(run)])
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
    strided = ("strided k3", runs["strided k3"])
    checks = [
        c
        for which, when in ((0, " at init"), (-1, ""))
        for pool in ("avgpool k3", "blurpool k3")
        for c in per_seed_checks(
            seeds, strided, 2, (pool, runs[pool]), "grad_content_2", which, getter=probe, when=when
        )
    ]
    header = ["discriminator", "seed", "grad content_2 init → trained"]
    header += ["grad CB_P (D's full period) init → trained", "status", "folder"]
    return [
        f"{ctx.setting.train_seeds} seed(s), {ctx.setting.steps} steps, a nearest resize-conv "
        "k3 generator (the same runs as claims 3 and 7). `grad_content_2` is the period-2 "
        "content of dD(x)/dx over 64 fixed real images at each probe (CB_2, since CB_1 = 0): "
        "the finest checkerboard alone, which D's own coarse structure does not mask.",
        Table(header, table),
        Fig(
            ctx.save(plots.image_panels(panels, 4), "claim5_gradients"),
            "The first seed: |dD/dx| of 8 real images, each scaled to its own max (as each "
            "probe saved it, `gradients/step_*.pt` in the run folder), and the gradient's "
            "phase-energy map, white = even.",
            links,
        ),
        rule(
            "supported when, for every seed, the grad content_2 of the strided k3 discriminator "
            "is at least 2 × that of avgpool and of blurpool, at init and after training."
        ),
    ], checks


def claim6(ctx: Context) -> tuple[list[Block], list[Check]]:
    names = {
        "2": "deconv in the last two stages",
        "1": "deconv in the last stage",
        "0": "no deconv",
    }
    runs = {n: per_seed(ctx, ("", "last_n", {"upsample.last_n": n})) for n in names}
    seeds = all_seeds(runs)
    first = {n: first_seed(by) for n, by in runs.items()}
    periods = [p for p in (2, 4, 8, 16) if not math.isnan(ev(first["0"], f"content_{p}"))]
    periods = periods or [2, 4]
    table, panels, links = [], [], []
    for n, name in names.items():
        for seed, run in sorted(runs[n].items(), key=lambda kv: int(kv[0])):
            cells = [init_to_last(run, f"content_{p}") for p in periods]
            table.append([name, seed, *cells, init_to_last(run, "fingerprint_2"), ctx.link(run)])
        run, last = first[n], samples_at(first[n], -1)
        if run is None or last is None:
            panels += [(f"{name}: missing", None)] + [("", None)] * 3
            continue
        panels += [
            (f"{name}, step {last[0]}", sample_picture(last[1])),
            (
                f"fingerprint at init, FP_2 {fmt(ev(run, 'fingerprint_2', 0))}",
                fingerprint_at(run, 0),
            ),
            (f"step {last[0]}, FP_2 {fmt(ev(run, 'fingerprint_2'))}", fingerprint_at(run, -1)),
            (f"log power spectrum, step {last[0]}", spectrum_picture(last[1])),
        ]
        links.append((name, ctx.rel(run.path)))
    two, one, none = (("last two", runs["2"]), ("last only", runs["1"]), ("no deconv", runs["0"]))
    checks = per_seed_checks(seeds, two, 3, none, "content_2")
    checks += per_seed_checks(seeds, two, 3, none, "content_4")
    checks += per_seed_checks(seeds, one, 3, none, "content_2")
    checks += per_seed_checks(seeds, one, 2, none, "content_4", above=False)
    header = ["generator", "seed", *(f"content_{p} init → trained" for p in periods)]
    header += ["fingerprint_2 init → trained", "folder"]
    return [
        "`upsample=deconv upsample.kernel=3 upsample.last_n=2,1,0` (earlier stages are nearest "
        f"resize-conv k3), {ctx.setting.train_seeds} seed(s), {ctx.setting.steps} steps. "
        + EVAL_NOTE.format(n=eval_size(list(first.values()))),
        Table(header, table),
        Fig(
            ctx.save(plots.image_panels(panels, 4), "claim6_periods"),
            "The first seed: samples after training (stretched), the fingerprint tile at the "
            "full period at init and after training (grey = 0), and the samples' mean log power "
            "spectrum after training (zero frequency in the middle; period 2 puts peaks on the "
            "edges, period 4 half-way to them).",
            links,
        ),
        rule(
            "supported when, for every seed, after training deconv in the last two stages has "
            "content_2 and content_4 each at least 3 × those of the run without deconvolution, "
            "and deconv in the last stage only has content_2 at least 3 × and content_4 less "
            "than 2 × those of the run without deconvolution."
        ),
    ], checks


DISC_KINDS = ("avgpool", "strided", "blurpool")


def claim7(ctx: Context) -> tuple[list[Block], list[Check]]:
    def kind(g: str, d: str) -> Kind:
        if d == "avgpool":
            return (f"{g} k3 / {d}", "train_resize", {"upsample": g})
        return (f"{g} k3 / {d}", "train_disc", {"upsample": g, "disc": d})

    runs = {(g, d): per_seed(ctx, kind(g, d)) for g in ("deconv", "nearest") for d in DISC_KINDS}
    seeds = all_seeds({f"{g}/{d}": v for (g, d), v in runs.items()})
    table, panels, links = [], [], []
    for (g, d), by_seed in runs.items():
        for seed, run in sorted(by_seed.items(), key=lambda kv: int(kv[0])):
            cells = [init_to_last(run, k) for k in ("content_2", "fingerprint_2")]
            table.append([f"{g} k3", d, seed, *cells, run.status, ctx.link(run)])
        run = first_seed(by_seed)
        last = samples_at(run, -1)
        panels.append((f"{g} / {d}", last and sample_picture(last[1])))
        fp = fmt(ev(run, "fingerprint_2"))
        panels.append((f"fingerprint, FP_2 {fp}", fingerprint_at(run, -1)))
        links += [(f"{g} / {d}", ctx.rel(run.path))] if run else []
    ratios = []
    for s in seeds:
        avg = ev(runs["deconv", "avgpool"].get(s), "content_2")
        cells = [fmt(avg / ev(runs["deconv", d].get(s), "content_2")) for d in DISC_KINDS[1:]]
        ratios.append([s, *cells])
    checks = per_seed_checks(
        seeds,
        ("deconv k3 against avgpool", runs["deconv", "avgpool"]),
        3,
        ("against strided", runs["deconv", "strided"]),
        "content_2",
    )
    header = ["generator", "discriminator", "seed", "content_2 init → trained"]
    header += ["fingerprint_2 init → trained", "status", "folder"]
    order = [p for pair in zip(panels[0::2], panels[1::2], strict=True) for p in pair]
    return [
        f"`upsample=deconv,nearest upsample.kernel=3 disc=avgpool,strided,blurpool "
        f"disc.kernel=3`, {ctx.setting.train_seeds} seed(s), {ctx.setting.steps} steps; the "
        "avgpool runs are claim 3's. G's and D's initial weights come from their own seeds, so "
        "for one seed every deconv run starts from the same generator.",
        Table(header, table),
        Table(["seed", "deconv: avgpool / strided", "deconv: avgpool / blurpool"], ratios),
        Fig(
            ctx.save(plots.image_panels(order, 4), "claim7_discriminators"),
            "The first seed after training: samples (stretched) and the fingerprint tile (grey = "
            "0) per generator and discriminator.",
            links,
        ),
        rule(
            "supported when, for every seed, trained deconv k3's content_2 against the avgpool "
            "discriminator is at least 3 × its content_2 against the strided one (the blurpool "
            "ratio is shown, not judged)."
        ),
    ], checks
