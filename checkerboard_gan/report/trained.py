"""The one builder of the trained claims (3 to 7): a claim is a `TrainedClaim` declaration
(report/trained_claims.py) that `render` turns into the report's blocks and checks.

A declaration names the kinds of run it compares (label, study, the overrides that select its
runs), the columns of its table, what follows the table (report/trained_figures.py), its rule
as a sentence and as `Ratio`s judged per seed, and its introduction. Every measure is read
through the catalogue at the periods the runs recorded (the generator's finest period s, or
D's for gradient measures), so a study at stride 3 reads content_3 where one at stride 2 reads
content_2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from checkerboard_gan.analysis.catalogue import (
    CB,
    CHECKERBOARD,
    CONTENT,
    EXTREME_COLOUR_RATIO,
    FINGERPRINT,
    GRAD_CONTENT,
    SPECTRAL_DISTANCE,
    SWD,
    Periods,
)
from checkerboard_gan.sweeps.runs import RunRow

from .document import Block, Table, fmt, rule
from .reading import (
    Context,
    Kind,
    all_seeds,
    ev,
    eval_size,
    per_seed,
    probe,
    real_floor,
)
from .verdicts import Check, at_least, per_seed_checks

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
            "cb_full": CHECKERBOARD.key(),
            "extreme": EXTREME_COLOUR_RATIO.key(),
            "quality_swd": SWD.key(),
        }


@dataclass(frozen=True)
class Seeds:
    """The seeds a claim's rules are judged over: its table's kinds' (trained) and its context
    kinds' (the init studies', where it reads any)."""

    trained: list[str]
    init: list[str]


def _reader(probed: bool, side: str, which: int) -> tuple[Callable, str]:
    """How a rule reads a run: from its probes (" at init" for the first) or its evaluations'
    `side` block (fake, real, quality, quality_floor)."""
    if probed:
        return probe, " at init" if which == 0 else ""
    return (lambda row, key, w: ev(row, key, w, side)), ""


@dataclass(frozen=True)
class Ratio:
    """One judged comparison, per seed: `kind`'s `key` >= `factor` x `against`'s (or < when
    not `above`), at the last evaluation (or the first: `which=0`); `key` is a placeholder of
    `Keys.names`. `names` are how the check's sentence calls the two. `probed` reads the
    probes (D's input gradient, the probes' CB) instead of the evaluation, `side` the
    evaluation's block, `init` judges over the init studies' seeds."""

    kind: str
    against: str
    factor: float
    key: str = "content"
    names: tuple[str, str] | None = None
    which: int = -1
    above: bool = True
    probed: bool = False
    side: str = "fake"
    init: bool = False

    def checks(self, seeds: Seeds, runs: Runs, keys: dict[str, object]) -> list[Check]:
        a, b = self.names or (self.kind, self.against)
        getter, when = _reader(self.probed, self.side, self.which)
        return per_seed_checks(
            seeds.init if self.init else seeds.trained,
            (a, runs[self.kind]),
            self.factor,
            (b, runs[self.against]),
            str(keys[self.key]),
            self.which,
            self.above,
            getter=getter,
            when=when,
        )


@dataclass(frozen=True)
class Bound:
    """One judged bound, per seed: `kind`'s `key` >= `least` at its last evaluation; `key` is a
    placeholder of `Keys.names`, `name` how the check's sentence calls the kind."""

    kind: str
    key: str
    least: float
    name: str | None = None

    def checks(self, seeds: Seeds, runs: Runs, keys: dict[str, object]) -> list[Check]:
        key, name = str(keys[self.key]), self.name or self.kind
        got = runs[self.kind]
        return [
            at_least(f"seed {s}: {key}", name, ev(got.get(s), key), self.least)
            for s in seeds.trained
        ]


Rule = Ratio | Bound


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
    ratios: tuple[Rule, ...]
    real_row: bool = False  # a last row with the real images' floor
    status: bool = True  # a status column before the folder
    lead_cells: Callable[[str], list[str]] = field(default=lambda label: [label])
    # the real images' cells after the seed: (placeholder or key, evaluation block)
    real_cells: tuple[tuple[str, str], ...] = (("content", "real"), ("fingerprint", "real"))
    context: tuple[Kind, ...] = ()  # kinds read by the rules and `after`, not in the table


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
        rows.append(real_row(runs, keys, claim.real_cells, len(columns) + claim.status + 1))
    header = [*claim.lead, "seed", *(h.format(**keys) for h, _ in columns)]
    header += ["status"] * claim.status + ["folder"]
    every = [r for by in runs.values() for r in by.values()]
    texts = {**keys, "seeds": ctx.setting.train_seeds, "steps": ctx.setting.steps}
    texts["note"] = EVAL_NOTE.format(n=eval_size(every), s=keys["s"])
    texts["init_seeds"] = ctx.setting.seeds
    context = {kind[0]: per_seed(ctx, kind) for kind in claim.context}
    seeds = Seeds(all_seeds(runs), all_seeds(context))
    runs |= context
    blocks: list[Block] = [claim.intro.format(**texts), Table(header, rows)]
    blocks += claim.after(ctx, runs, keys)
    blocks.append(rule(claim.rule.format(**keys)))
    return blocks, [c for ratio in claim.ratios for c in ratio.checks(seeds, runs, keys)]


def real_row(
    runs: Runs, keys: dict[str, object], cells: tuple[tuple[str, str], ...], after_seed: int
) -> list[str]:
    """The real images' values (`cells`: placeholder or key, and the evaluation block it is
    read from) in the first columns after the seed, the other `after_seed` cells empty."""
    every = [r for by in runs.values() for r in by.values()]
    floors = [fmt(real_floor(every, str(keys.get(k, k)), side)) for k, side in cells]
    return ["real images", "", *floors] + [""] * (after_seed - len(cells))


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
