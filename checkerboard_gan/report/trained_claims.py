"""Claims 3 to 7, about trained artifacts, each a declaration rendered by one builder.

A `TrainedClaim` names the kinds of run it compares (label, study, the overrides that select
its runs), the columns of its table, the figures and notes that follow the table, its rule as a
sentence and as `Ratio`s (judged per seed), and its introduction. `render` turns it into the
report's blocks and checks. Every measure is read through the catalogue at the periods the
runs recorded (the finest period s of the generator, or of D for gradient measures), so a study
at stride 3 reads content_3 where one at stride 2 reads content_2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from checkerboard_gan.analysis.catalogue import (
    CB,
    CONTENT,
    FINGERPRINT,
    GRAD_CHECKERBOARD,
    GRAD_CONTENT,
    SPECTRAL_DISTANCE,
    Periods,
)
from checkerboard_gan.pictures import plots
from checkerboard_gan.pictures.images import sample_picture
from checkerboard_gan.pictures.plots import energy_picture, gradient_picture, spectrum_picture
from checkerboard_gan.sweeps.runs import RunRow

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
    "Trained artifacts are read from each run's evaluation over many samples (docs/design.md), "
    "at step 0 and at the last step: {n} images, the generated ones drawn as the probes draw "
    "theirs. content_p = sqrt(CB_p² − CB_p/{s}²) (CB_1 = 0) is the phase-energy variation at "
    "period p that the finer period does not explain; fingerprint_p is the energy of the mean "
    "high-pass residual folded to one period, over the images' variance: a pattern stamped at "
    "the same place in every image keeps it, content falls as 1/N. CB_P at the full period P "
    "(the probes' measure) is shown for comparison."
)
Runs = dict[str, dict[str, RunRow]]  # kind label -> seed -> run


@dataclass(frozen=True)
class Keys:
    """The keys a claim reads, at the periods its runs recorded (docs/design.md)."""

    periods: Periods

    @classmethod
    def of(cls, runs: Runs) -> Keys:
        """From the first run that recorded its periods; stride 2 at 32 px where none did (the
        tables then show every number missing)."""
        found = (r.periods for by in runs.values() for r in by.values() if r.periods)
        return cls(next(found, None) or Periods(2, 8, 2, 8))

    def names(self) -> dict[str, object]:
        """Placeholders for the claim's texts: s, the keys at s and at s²."""
        p = self.periods
        return {
            "s": p.finest,
            "content": CONTENT.key(p.finest),
            "content_sq": CONTENT.key(p.finest**2),
            "fingerprint": FINGERPRINT.key(p.finest),
            "grad_s": p.grad_finest,
            "grad_content": GRAD_CONTENT.key(p.grad_finest),
            "grad_content_label": "grad " + CONTENT.key(p.grad_finest),
        }


@dataclass(frozen=True)
class Ratio:
    """One judged comparison, per seed: `kind`'s `key` >= `factor` x `against`'s (or < when
    not `above`), at the last evaluation (or the first: `which=0`); `key` is a placeholder of
    `Keys.names`. `names` are how the check's sentence calls the two."""

    kind: str
    against: str
    factor: float
    key: str = "content"
    names: tuple[str, str] | None = None
    which: int = -1
    above: bool = True
    gradient: bool = False  # read from the probes (D's input gradient), not the evaluation

    def checks(self, seeds: list[str], runs: Runs, keys: dict[str, object]) -> list[Check]:
        a, b = self.names or (self.kind, self.against)
        getter, when = (probe, " at init" if self.which == 0 else "") if self.gradient else (ev, "")
        return per_seed_checks(
            seeds,
            (a, runs[self.kind]),
            self.factor,
            (b, runs[self.against]),
            str(keys[self.key]),
            self.which,
            self.above,
            getter=getter,
            when=when,
        )


Cell = Callable[[RunRow, dict[str, object]], str]
Columns = tuple[tuple[str, Cell], ...] | Callable[[Periods], tuple[tuple[str, Cell], ...]]
After = Callable[[Context, Runs, dict[str, object]], list[Block]]


@dataclass(frozen=True)
class TrainedClaim:
    """A trained claim as data: what `render` needs to build its section."""

    kinds: tuple[Kind, ...]
    lead: tuple[str, ...]  # the table's first headers, filled per kind by `lead_cells`
    columns: Columns  # (header template, cell of one run), or a function of the periods
    after: After  # blocks after the table (figures, notes)
    intro: str  # template: {seeds} {steps} {note} and the key placeholders
    rule: str  # template with the key placeholders
    ratios: tuple[Ratio, ...]
    real_row: bool = False  # a last row with the real images' floor
    status: bool = True  # a status column before the folder
    lead_cells: Callable[[str], list[str]] = field(default=lambda label: [label])


def render(ctx: Context, claim: TrainedClaim) -> tuple[list[Block], list[Check]]:
    """The section's blocks (introduction, table, what follows it, rule) and its checks."""
    runs = {kind[0]: per_seed(ctx, kind) for kind in claim.kinds}
    found = Keys.of(runs)
    keys = found.names()
    columns = claim.columns(found.periods) if callable(claim.columns) else claim.columns
    rows = []
    for label, by_seed in runs.items():
        for seed, run in sorted(by_seed.items(), key=lambda kv: int(kv[0])):
            cells = [cell(run, keys) for _, cell in columns]
            cells += [run.status] * claim.status + [ctx.link(run)]
            rows.append([*claim.lead_cells(label), seed, *cells])
    if claim.real_row:
        rows.append(real_row(runs, keys, len(columns) + claim.status + 1))
    header = [*claim.lead, "seed", *(h.format(**keys) for h, _ in columns)]
    header += ["status"] * claim.status + ["folder"]
    every = [r for by in runs.values() for r in by.values()]
    texts = {**keys, "seeds": ctx.setting.train_seeds, "steps": ctx.setting.steps}
    texts["note"] = EVAL_NOTE.format(n=eval_size(every), s=keys["s"])
    blocks: list[Block] = [claim.intro.format(**texts), Table(header, rows)]
    blocks += claim.after(ctx, runs, keys)
    blocks.append(rule(claim.rule.format(**keys)))
    seeds = all_seeds(runs)
    return blocks, [c for ratio in claim.ratios for c in ratio.checks(seeds, runs, keys)]


def real_row(runs: Runs, keys: dict[str, object], after_seed: int) -> list[str]:
    """The real images' content and fingerprint at the finest period (the first two columns
    after the seed), the other `after_seed` cells empty."""
    every = [r for by in runs.values() for r in by.values()]
    floors = [fmt(real_floor(every, str(keys[k]))) for k in ("content", "fingerprint")]
    return ["real images", "", *floors] + [""] * (after_seed - 2)


# Cells ------------------------------------------------------------------------------------


def init_to_last(row: RunRow | None, key: str) -> str:
    return f"{fmt(ev(row, key, 0))} → {fmt(ev(row, key, -1))}"


def evaluated(name: str) -> Cell:
    """A measure of the evaluation at init and trained; `name` a placeholder of `Keys.names`
    or a key."""
    return lambda run, keys: init_to_last(run, str(keys.get(name, name)))


def probed(name: str) -> Cell:
    """A probe measure at the first and the last probe; `name` a placeholder or a key."""

    def cell(run: RunRow, keys: dict[str, object]) -> str:
        key = str(keys.get(name, name))
        return f"{fmt(probe(run, key, 0))} → {fmt(probe(run, key, -1))}"

    return cell


def full_period_cb(run: RunRow, keys: dict[str, object]) -> str:
    return init_to_last(run, CB.key(run.period)) if run.period else "n/a → n/a"


def spectral_distance(run: RunRow, keys: dict[str, object]) -> str:
    return fmt(ev(run, SPECTRAL_DISTANCE.key()))


TRAINED_COLUMNS: tuple[tuple[str, Cell], ...] = (
    ("{content} init → trained", evaluated("content")),
    ("{fingerprint} init → trained", evaluated("fingerprint")),
    ("CB_P (full period) init → trained", full_period_cb),
    ("spectral distance dB", spectral_distance),
)


# Figures and notes ------------------------------------------------------------------------


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
    fig = plots.bar_figure(list(runs), series, key, log=True, line=(floor, "real images"))
    return Fig(
        ctx.save(fig, f"{name}_{key}"),
        f"{key} at step 0 and after training (mean ± std over seeds, log scale); the dashed "
        "line is the real images' value.",
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


# The claims -------------------------------------------------------------------------------

DISC_KINDS = ("avgpool", "strided", "blurpool")


def pair(g: str, d: str) -> str:
    """Claim 7's label of a generator against a discriminator."""
    return f"{g} k3 / {d}"


def _pair_kind(g: str, d: str) -> Kind:
    if d == "avgpool":  # the average-pooling runs are claim 3's
        return (pair(g, d), "train_resize", {"upsample": g})
    return (pair(g, d), "train_disc", {"upsample": g, "disc": d})


TRAINED_INTRO = "{seeds} seed(s) per kind, {steps} steps. {note}"

CLAIM3 = TrainedClaim(
    kinds=tuple(
        (f"{k} k3", "train_resize", {"upsample": k}) for k in ("deconv", "nearest", "bilinear")
    ),
    lead=("generator",),
    columns=TRAINED_COLUMNS,
    after=trained_figures("claim3", distances_note),
    intro=TRAINED_INTRO,
    rule="supported when, for every seed, trained deconv k3's {content} is at least 3 × that "
    "of nearest and 3 × that of bilinear resize-convolution.",
    ratios=(
        Ratio("deconv k3", "nearest k3", 3, names=("deconv k3", "nearest")),
        Ratio("deconv k3", "bilinear k3", 3, names=("deconv k3", "bilinear")),
    ),
    real_row=True,
)

CLAIM4 = TrainedClaim(
    kinds=(
        ("deconv k4", "train_even", {}),
        ("sub-pixel k3", "train_subpixel", {"upsample.icnr": "false"}),
        ("sub-pixel k3 + ICNR", "train_subpixel", {"upsample.icnr": "true"}),
        ("nearest k3 (claim 3)", "train_resize", {"upsample": "nearest"}),
    ),
    lead=("generator",),
    columns=TRAINED_COLUMNS,
    after=trained_figures("claim4", icnr_note),
    intro=TRAINED_INTRO,
    rule="supported when, for every seed, the trained {content} of deconv k4 and of "
    "sub-pixel (without ICNR) are each at least 2 × that of nearest resize-convolution.",
    ratios=tuple(
        Ratio(k, "nearest k3 (claim 3)", 2, names=(k, "nearest"))
        for k in ("deconv k4", "sub-pixel k3")
    ),
    real_row=True,
)

CLAIM5 = TrainedClaim(
    kinds=(
        ("strided k3", "train_disc", {"upsample": "nearest", "disc": "strided"}),
        ("avgpool k3", "train_resize", {"upsample": "nearest"}),
        ("blurpool k3", "train_disc", {"upsample": "nearest", "disc": "blurpool"}),
        ("strided k4", "grad_strided_k4", {}),
    ),
    lead=("discriminator",),
    columns=(
        ("{grad_content_label} init → trained", probed("grad_content")),
        ("grad CB_P (D's full period) init → trained", probed(GRAD_CHECKERBOARD.key())),
    ),
    after=gradient_panels,
    intro="{seeds} seed(s), {steps} steps, a nearest resize-conv k3 generator (the same runs as "
    "claims 3 and 7). `{grad_content}` is the period-{grad_s} content of dD(x)/dx over 64 fixed "
    "real images at each probe (CB_{grad_s}, since CB_1 = 0): the finest checkerboard alone, "
    "which D's own coarse structure does not mask.",
    rule="supported when, for every seed, the {grad_content_label} of the strided k3 "
    "discriminator is at least 2 × that of avgpool and of blurpool, at init and after training.",
    ratios=tuple(
        Ratio("strided k3", pool, 2, "grad_content", which=which, gradient=True)
        for which in (0, -1)
        for pool in ("avgpool k3", "blurpool k3")
    ),
)

LAST_N = {"2": "deconv in the last two stages", "1": "deconv in the last stage", "0": "no deconv"}


def period_columns(periods: Periods) -> tuple[tuple[str, Cell], ...]:
    """Claim 6's table: content at each of the generator's periods, then the fingerprint."""
    contents = [CONTENT.key(p) for p in periods.generator]
    columns = [(f"{key} init → trained", evaluated(key)) for key in contents]
    return (*columns, ("{fingerprint} init → trained", evaluated("fingerprint")))


CLAIM6 = TrainedClaim(
    kinds=tuple((name, "last_n", {"upsample.last_n": n}) for n, name in LAST_N.items()),
    lead=("generator",),
    columns=period_columns,
    after=period_panels,
    intro="`upsample=deconv upsample.kernel=3 upsample.last_n=2,1,0` (earlier stages are nearest "
    "resize-conv k3), {seeds} seed(s), {steps} steps. {note}",
    rule="supported when, for every seed, after training deconv in the last two stages has "
    "{content} and {content_sq} each at least 3 × those of the run without deconvolution, "
    "and deconv in the last stage only has {content} at least 3 × and {content_sq} less "
    "than 2 × those of the run without deconvolution.",
    ratios=(
        Ratio(LAST_N["2"], LAST_N["0"], 3, names=("last two", "no deconv")),
        Ratio(LAST_N["2"], LAST_N["0"], 3, "content_sq", names=("last two", "no deconv")),
        Ratio(LAST_N["1"], LAST_N["0"], 3, names=("last only", "no deconv")),
        Ratio(
            LAST_N["1"], LAST_N["0"], 2, "content_sq", names=("last only", "no deconv"), above=False
        ),
    ),
    status=False,
)

CLAIM7 = TrainedClaim(
    kinds=tuple(_pair_kind(g, d) for g in ("deconv", "nearest") for d in DISC_KINDS),
    lead=("generator", "discriminator"),
    columns=TRAINED_COLUMNS[:2],
    after=discriminator_figures,
    intro="`upsample=deconv,nearest upsample.kernel=3 disc=avgpool,strided,blurpool "
    "disc.kernel=3`, {seeds} seed(s), {steps} steps; the avgpool runs are claim 3's. G's and "
    "D's initial weights come from their own seeds, so for one seed every deconv run starts "
    "from the same generator.",
    rule="supported when, for every seed, trained deconv k3's {content} against the avgpool "
    "discriminator is at least 3 × its {content} against the strided one (the blurpool ratio "
    "is shown, not judged).",
    ratios=(
        Ratio(
            pair("deconv", "avgpool"),
            pair("deconv", "strided"),
            3,
            names=("deconv k3 against avgpool", "against strided"),
        ),
    ),
    lead_cells=lambda label: label.split(" / "),
)

CLAIMS = {3: CLAIM3, 4: CLAIM4, 5: CLAIM5, 6: CLAIM6, 7: CLAIM7}


def trained_claim(number: int) -> Callable[[Context], tuple[list[Block], list[Check]]]:
    """The builder of trained claim `number` (3..7)."""
    return lambda ctx: render(ctx, CLAIMS[number])
