"""Claims 8 to 10, the article's last remarks: artifacts are strongest in extreme colours (8), a
final stride-1 layer dampens them (9), and what each remedy costs in sample quality, with the
article's remark that bilinear resize-convolution worked worse than nearest (10). Each is a
`TrainedClaim` declaration (report/trained.py); its own tables and figures are here."""

from __future__ import annotations

import math

from checkerboard_gan.analysis.catalogue import (
    CHECKERBOARD,
    FID,
    KID_MEAN,
    OVERLAP_UNEVENNESS,
    Periods,
)
from checkerboard_gan.pictures import plots
from checkerboard_gan.sweeps.runs import RunRow

from .document import Block, Fig, Table, fmt
from .reading import Context, Kind, ev, mean_std, probe, real_floor
from .trained import (
    TRAINED_COLUMNS,
    Bound,
    Cell,
    Ratio,
    Runs,
    TrainedClaim,
    evaluated,
)
from .trained_figures import content_bars, samples_sheet

# Claim 8: extreme colours ------------------------------------------------------------------

EXTREME_NOTE = (
    "R ({extreme}) = A_top / A_bottom over each run's evaluation: its images are ranked by e_n, "
    "the mean over pixels of the distance of the pixel's colour from mid-grey; A is the "
    "population std over the {s} × {s} phases of the mean squared high-pass residual (as in "
    "the fingerprint) of the third of the images with the largest e_n (A_top) and of the third "
    "with the smallest (A_bottom). R near 1: the pattern is as strong in muted images as in "
    "extreme ones."
)


def colour_figures(ctx: Context, runs: Runs, keys: dict[str, object]) -> list[Block]:
    """Claim 8: R at init and trained, and the samples of the first seed."""
    return [
        EXTREME_NOTE.format(**keys),
        content_bars(ctx, runs, "claim8", str(keys["extreme"])),
        samples_sheet(ctx, runs, keys, "claim8"),
    ]


CLAIM8 = TrainedClaim(
    kinds=(
        ("deconv k3", "train_colour", {"upsample": "deconv"}),
        ("nearest k3", "train_colour", {"upsample": "nearest"}),
    ),
    lead=("generator",),
    columns=(("{extreme} (R) init → trained", evaluated("extreme")), *TRAINED_COLUMNS[:2]),
    after=colour_figures,
    intro="`dataset=shapes dataset.palette=mixed upsample=deconv,nearest upsample.kernel=3`: "
    "each training image, with probability 1/2, has every colour moved 3/4 of the way to "
    "mid-grey, so that one run's samples span extreme and muted colours. {seeds} seed(s), "
    "{steps} steps. {note}",
    rule="supported when, for every seed, trained deconv k3's R ({extreme}) is at least 2 "
    "(nearest's R and the real images' R are shown beside it, not judged).",
    ratios=(Bound("deconv k3", "extreme", 2),),
    real_row=True,
    real_cells=(("extreme", "real"), ("content", "real"), ("fingerprint", "real")),
)

# Claim 9: a final stride-1 layer -----------------------------------------------------------

NO_FINAL = "no final layer"
FINALS = (3, 4)


def final(k: int, init: bool = False) -> str:
    """Claim 9's label of deconv k3 with a final k x k stride-1 conv."""
    return f"final {k} × {k}" + (", init" if init else "")


FINAL_INIT: tuple[Kind, ...] = (
    (f"{NO_FINAL}, init", "init_deconv", {"upsample.kernel": "3"}),
    *((final(k, True), "init_final", {"upsample.final_kernel": str(k)}) for k in FINALS),
)


def final_figures(ctx: Context, runs: Runs, keys: dict[str, object]) -> list[Block]:
    """Claim 9: the init table, whether the 4 x 4 removes more than the 3 x 3, the bars and
    samples of the trained runs."""
    key = CHECKERBOARD.key()
    rows = []
    for label, _, _ in FINAL_INIT:
        by_seed = runs[label]
        values = [probe(by_seed[s], key, 0) for s in sorted(by_seed, key=int)]
        mean, std = mean_std(values)
        first = next(iter(by_seed.values()), None)
        uneven = (first.metrics or {}).get(OVERLAP_UNEVENNESS.key()) if first else None
        rows.append(
            [
                label.removesuffix(", init"),
                fmt(math.nan if uneven is None else float(uneven)),
                " ".join(fmt(v) for v in values) or "missing",
                f"{fmt(mean)} ± {fmt(std, 2)}",
            ]
        )
    header = ["generator (deconv k3)", "overlap max/min", f"{key} at init, per seed", "mean ± std"]
    trained = [k[0] for k in CLAIM9.kinds]
    return [
        f"At init ({ctx.setting.seeds} seed(s), `train.steps=0`), the probes' CB_P at the full "
        "period P:",
        Table(header, rows),
        four_against_three(runs, keys),
        content_bars(ctx, {k: runs[k] for k in trained}, "claim9", str(keys["content"])),
        samples_sheet(ctx, {k: runs[k] for k in trained}, keys, "claim9"),
    ]


def four_against_three(runs: Runs, keys: dict[str, object]) -> str:
    """Whether the 4 x 4 (period 2 divides it) removes more than the 3 x 3, per seed, at init
    and trained: stated, not judged."""
    parts = []
    for what, kinds, key, getter, which in (
        ("at init", (final(4, True), final(3, True)), CHECKERBOARD.key(), probe, 0),
        ("trained", (final(4), final(3)), str(keys["content"]), ev, -1),
    ):
        four, three = runs[kinds[0]], runs[kinds[1]]
        pairs = [
            (getter(four.get(s), key, which), getter(three.get(s), key, which))
            for s in sorted(set(four) | set(three), key=int)
        ]
        known = [(a, b) for a, b in pairs if not (math.isnan(a) or math.isnan(b))]
        lower = sum(a < b for a, b in known)
        listed = ", ".join(f"{fmt(a)} against {fmt(b)}" for a, b in known) or "no numbers"
        parts.append(
            f"{what}, {key} is lower with the 4 × 4 for {lower} of {len(known)} seed(s) ({listed})"
        )
    return (
        "Stated, not judged: does the 4 × 4 (whose size period 2 divides) remove more than the "
        "3 × 3? " + "; ".join(parts) + "."
    )


CLAIM9 = TrainedClaim(
    kinds=(
        (NO_FINAL, "train_resize", {"upsample": "deconv"}),
        *((final(k), "train_final", {"upsample.final_kernel": str(k)}) for k in FINALS),
    ),
    lead=("generator (deconv k3)",),
    columns=TRAINED_COLUMNS[:2],
    after=final_figures,
    intro="`upsample=deconv upsample.kernel=3 upsample.final_conv=true "
    "upsample.final_kernel=3,4`: a stride-1 conv of 3 × 3 or 4 × 4 after the last stage (its "
    "output the image), against deconv k3 without one (claim 3's runs, and claim 2's at init). "
    "{seeds} seed(s), {steps} steps; {init_seeds} seed(s) at init. {note}",
    rule="supported when, for each final kernel (3 × 3 and 4 × 4) and every seed, CB at the full "
    "period at init ({cb_full}, the probes' measure, over the init seeds) is at most 0.5 × that "
    "of the run without a final layer, and the trained {content} is at most 0.5 × that of the "
    "run without one. Whether the 4 × 4 removes more than the 3 × 3 is stated, not judged.",
    ratios=tuple(
        rule
        for k in FINALS
        for rule in (
            Ratio(
                final(k, True),
                f"{NO_FINAL}, init",
                0.5,
                "cb_full",
                names=(final(k), NO_FINAL),
                which=0,
                above=False,
                probed=True,
                init=True,
            ),
            Ratio(final(k), NO_FINAL, 0.5, above=False),
        )
    ),
    real_row=True,
    context=FINAL_INIT,
)

# Claim 10: what each remedy costs ----------------------------------------------------------

BILINEAR, NEAREST = "bilinear k3", "nearest k3"
REMEDIES: tuple[Kind, ...] = (
    ("deconv k3 (the problem)", "train_resize", {"upsample": "deconv"}),
    (NEAREST, "train_resize", {"upsample": "nearest"}),
    (BILINEAR, "train_resize", {"upsample": "bilinear"}),
    ("sub-pixel k3", "train_subpixel", {"upsample.icnr": "false"}),
    ("sub-pixel k3 + ICNR", "train_subpixel", {"upsample.icnr": "true"}),
    ("deconv_blur k3", "train_remedies", {"upsample": "deconv_blur"}),
    ("filtered k3", "train_remedies", {"upsample": "filtered"}),
    ("deconv k3 + final 3 × 3", "train_final", {"upsample.final_kernel": "3"}),
    ("deconv k3, blurpool D", "train_disc", {"upsample": "deconv", "disc": "blurpool"}),
)


def trained_value(name: str, side: str = "fake") -> Cell:
    """A measure at the last evaluation only; `name` a placeholder or a key."""
    return lambda run, keys: fmt(ev(run, str(keys.get(name, name)), -1, side))


def seconds_per_step(run: RunRow, keys: dict[str, object]) -> str:
    """The training loop's wall seconds per step, its probes and evaluations included."""
    m = run.metrics or {}
    loop, steps = m.get("loop_s"), m.get("steps")
    return fmt(loop / steps, 2) if loop and steps else "n/a"


def cost_columns(periods: Periods) -> tuple[tuple[str, Cell], ...]:
    """Claim 10's table: artifacts, quality (FID and KID where the runs computed them), time."""
    inception = [(m.label, trained_value(m.key(), "quality")) for m in (FID, KID_MEAN)]
    return (
        ("{content} trained", trained_value("content")),
        ("{fingerprint} trained", trained_value("fingerprint")),
        ("SWD ({quality_swd}) trained", trained_value("quality_swd", "quality")),
        *(inception if periods.fid else ()),
        ("s/step", seconds_per_step),
    )


def cost_figures(ctx: Context, runs: Runs, keys: dict[str, object]) -> list[Block]:
    """Claim 10: trained content against SWD, one point per run, both against their floors."""
    content, swd = str(keys["content"]), str(keys["quality_swd"])
    points = {
        label: [(ev(r, swd, -1, "quality"), ev(r, content)) for r in by_seed.values()]
        for label, by_seed in runs.items()
    }
    every = [r for by in runs.values() for r in by.values()]
    floors = (real_floor(every, swd, "quality_floor"), real_floor(every, content))
    fig = plots.cost_figure(
        points, f"SWD ({swd}), lower is closer to the real images", f"{content} (artifact)", floors
    )
    means = {
        label: (mean_std([x for x, _ in xy])[0], mean_std([y for _, y in xy])[0])
        for label, xy in points.items()
    }
    known = {k: v for k, v in means.items() if not any(math.isnan(x) for x in v)}
    lines = []
    if known:
        best_swd = min(known, key=lambda k: known[k][0])
        best_content = min(known, key=lambda k: known[k][1])
        lines.append(
            f"Lowest mean SWD: {best_swd} ({fmt(known[best_swd][0])}); lowest mean {content}: "
            f"{best_content} ({fmt(known[best_content][1])}). Real images: SWD floor (two halves "
            f"of the real images) {fmt(floors[0])}, {content} {fmt(floors[1])}."
        )
    return [
        Fig(
            ctx.save(fig, "claim10_cost"),
            f"Each run's trained {content} against its SWD, log-log; the dashed lines are the "
            "real images' floors. Down is fewer artifacts, left is closer to the real images: "
            "the remedies nearest the lower left remove the artifact at least cost.",
        ),
        *lines,
    ]


CLAIM10 = TrainedClaim(
    kinds=REMEDIES,
    lead=("remedy",),
    columns=cost_columns,
    after=cost_figures,
    intro="Every remedy trained alike ({seeds} seed(s), {steps} steps, the avgpool "
    "discriminator unless named), its artifacts beside its sample quality: SWD, the sliced "
    "Wasserstein distance of Laplacian-pyramid patches to the real images (docs/quality.md; "
    "FID and KID where the InceptionV3 weights were found), and the training loop's seconds "
    "per step (probes included; runs that share the machine share its cores). {note}",
    rule="supported when, for every seed, trained bilinear resize-convolution's SWD "
    "({quality_swd}) is greater than nearest resize-convolution's (the article: bilinear "
    '"worked worse" in its GAN); the rest of the table is shown, not judged.',
    ratios=(Ratio(BILINEAR, NEAREST, 1, "quality_swd", side="quality"),),
    real_row=True,
    real_cells=(("content", "real"), ("fingerprint", "real"), ("quality_swd", "quality_floor")),
)
