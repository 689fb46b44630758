"""DESIGN.md's six claims: each reads its studies' runs, returns the blocks that show it and the
checks its verdict is computed from."""

from __future__ import annotations

import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hydra import compose, initialize_config_dir

from .. import measures, plots
from ..checkpoint import find_checkpoint, load_checkpoint
from ..cli import config_dir
from ..config import UpsampleConfig, validate
from ..images import sample_picture
from ..plots import energy_picture, gradient_picture, spectrum_picture
from ..summary import RunRow
from ..trainer import build
from ..upsampling import build_upsample
from .document import Block, Fig, Section, Table, Verdict
from .studies import Setting

# claim -> (title, the claim, the studies it reads)
CLAIMS: dict[int, tuple[str, str, tuple[str, ...]]] = {
    1: (
        "Transposed convolution overlaps unevenly",
        "Deconvolution with a kernel size not divisible by its stride overlaps unevenly; the "
        "2-D pattern is the product of two 1-D patterns; stacked layers compound it.",
        (),
    ),
    2: (
        "Artifacts at random initialisation",
        "The artifacts are visible in a generator at random initialisation, before any "
        "training: they come from the architecture, not from GAN training.",
        ("init_deconv", "init_resize", "init_subpixel"),
    ),
    3: (
        "Resize-convolution removes them",
        "Nearest-neighbour resize-convolution removes the artifacts, and so does bilinear "
        "resize-convolution (which worked worse in the article's GAN).",
        ("train_resize",),
    ),
    4: (
        "Even overlap still learns artifacts",
        "Deconvolution with a kernel divisible by its stride, and sub-pixel convolution (its "
        "equivalent), overlap evenly yet still learn artifacts during training.",
        ("train_even", "train_subpixel", "train_resize"),
    ),
    5: (
        "Checkerboards in the gradient",
        "Strided convolutions in the discriminator put checkerboard patterns into the gradient "
        "that reaches the generator.",
        ("train_resize", "train_disc", "grad_strided_k4"),
    ),
    6: (
        "The article's GAN figure: which periods show up",
        "Deconvolution in the last two generator stages gives artifacts of period 2 and 4, in "
        "the last stage only of period 2, resize-convolution everywhere none.",
        ("last_n",),
    ),
    7: (
        "The discriminator decides what survives",
        "(Beyond the article.) The same deconvolution generator keeps several times more "
        "period-2 content after training against an average-pooling discriminator than against "
        "a strided one.",
        ("train_resize", "train_disc"),
    ),
}


@dataclass
class Check:
    """One comparison of a claim's rule, written out with the numbers it was decided on."""

    text: str
    ok: bool | None  # None: a number is missing


def compare(a_name: str, a: float, k: float, b_name: str, b: float, above: bool = True) -> Check:
    """Whether `a >= k * b` (`above`) or `a < k * b` (not `above`)."""
    if math.isnan(a) or math.isnan(b):
        return Check(f"{a_name} or {b_name} missing", None)
    holds = a >= k * b
    return Check(
        f"{a_name} {a:.3g} {'≥' if holds else '<'} {k:g} × {b_name} {b:.3g}", holds == above
    )


def verdict(checks: list[Check]) -> Verdict:
    """One sentence from the checks: all hold, none hold, some hold, or numbers missing."""
    if any(c.ok is None for c in checks):
        missing = "; ".join(c.text for c in checks if c.ok is None)
        return Verdict("undecided", f"Undecided: numbers are missing ({missing}).")
    good = "; ".join(c.text for c in checks if c.ok)
    bad = "; ".join(c.text for c in checks if not c.ok)
    if not bad:
        return Verdict("supported", f"Supported by our numbers: {good}.")
    if not good:
        return Verdict("not supported", f"Not supported by our numbers: {bad}.")
    return Verdict("partly supported", f"Partly supported: {good}; but {bad}, against the rule.")


# Reading runs -----------------------------------------------------------------------------

Kind = tuple[str, str, dict[str, str]]  # label, study, overrides that select its runs


@dataclass
class Context:
    out: Path
    setting: Setting
    rows: dict[str, list[RunRow]]  # study -> its runs, sorted by the swept keys

    def pick(self, kind: Kind) -> list[RunRow]:
        """The kind's runs: those of its study whose overrides hold all its key=value pairs."""
        _, study, want = kind
        found = []
        for row in self.rows.get(study, []):
            given = {k: v.lower() for k, v in (o.split("=", 1) for o in row.overrides if "=" in o)}
            if all(given.get(k) == v for k, v in want.items()):
                found.append(row)
        return found

    def one(self, kind: Kind) -> RunRow | None:
        return next(iter(self.pick(kind)), None)

    def rel(self, path: Path) -> str:
        return path.resolve().relative_to(self.out.resolve()).as_posix()

    def link(self, row: RunRow | None, label: str = "run") -> str:
        return f"[{label}]({self.rel(row.path)}/)" if row else "missing"

    def save(self, fig: Any, name: str) -> str:
        path = self.out / "figures" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
        plots.plt.close(fig)
        return self.rel(path)


def probe(row: RunRow | None, key: str, which: int) -> float:
    """A measure at a run's first (0) or last (-1) probe; NaN when missing."""
    probes = (row.metrics or {}).get("probes") if row else None
    return float(probes[which].get(key, math.nan)) if probes else math.nan


def samples_at(row: RunRow | None, which: int) -> tuple[int, torch.Tensor] | None:
    """(step, samples) of a run's first (0) or last (-1) saved probe."""
    if not row or not row.sample_steps:
        return None
    step = row.sample_steps[which]
    return step, row.samples(step)


def period_of(row: RunRow | None) -> int:
    return int((row.metrics or {}).get("checkerboard_period") or 8) if row else 8


def fmt(value: float, digits: int = 3) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}g}"


def mean_std(values: list[float]) -> tuple[float, float]:
    values = [v for v in values if not math.isnan(v)]
    return (statistics.mean(values), statistics.pstdev(values)) if values else (math.nan,) * 2


def rule(text: str) -> str:
    return f"**Rule:** {text}"


# The claims: each returns its blocks and the checks its verdict is computed from ----------


def claim1(ctx: Context) -> tuple[list[Block], list[Check]]:
    cases, rows, u, worst = [], [], {}, 0.0
    for k, n in ((3, 1), (3, 2), (4, 1), (4, 2)):
        stage = UpsampleConfig(name="deconv", kernel=k, stride=2)
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
        cb[label] = mean_std([probe(r, "checkerboard", 0) for r in runs])
        peak = mean_std([probe(r, "spectral_peak_db", 0) for r in runs])
        uneven = (
            float((runs[0].metrics or {}).get("overlap_unevenness", "nan")) if runs else math.nan
        )
        seeds = " ".join(ctx.link(r, r.values.get("seed", r.path.name)) for r in runs)
        table.append([label, fmt(uneven), f"{fmt(cb[label][0])} ± {fmt(cb[label][1], 2)}"])
        table[-1] += [f"{fmt(peak[0])} ± {fmt(peak[1], 2)}", seeds or "missing"]
        first = samples_at(runs[0] if runs else None, 0)
        period = period_of(runs[0] if runs else None)
        top.append((f"{label}\nCB {fmt(cb[label][0])}", first and sample_picture(first[1])))
        bottom.append((f"phase energy P={period}", first and energy_picture(first[1], period)))
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
        f"ICNR init (the sub-pixel part of DESIGN.md's claim 3): sub-pixel's CB at init is "
        f"{fmt(plain)} without it and {fmt(icnr)} with it ({fmt(lower, 2)} × lower).",
        rule(
            "supported when the mean CB at init of deconv k3 is at least 3 × that of nearest "
            "resize-convolution."
        ),
    ], [compare("deconv k3 CB at init", cb["deconv k3"][0], 3, "nearest's", cb["nearest k3"][0])]


PERIOD2 = (
    "Period-2 content = sqrt(CB_2² − CB_1²) with CB_1 = 0, i.e. CB_2: the finest checkerboard "
    "alone (`measures.period_content`); shown for reading the verdict, not part of its rule."
)


def period2(x: torch.Tensor | None) -> float:
    """Period-2 content of a batch (CB_2, since CB_1 = 0); NaN when missing."""
    return measures.checkerboard_score(x, 2) if x is not None else math.nan


def trained(ctx: Context, kinds: list[Kind], name: str) -> tuple[list[Block], dict[str, tuple]]:
    """Table, CB bars and samples at init and after training of single trained runs; returns
    the blocks and each kind's CB at (init, last probe)."""
    keys = ("checkerboard", "spectral_peak_db", "spectral_distance")
    table, cb, rows_of_panels, links = [], {}, ([], [], []), []
    for kind in kinds:
        label, run = kind[0], ctx.one(kind)
        got = {key: (probe(run, key, 0), probe(run, key, -1)) for key in keys}
        cb[label] = got["checkerboard"]
        m = (run.metrics or {}) if run else {}
        losses = " / ".join(fmt(float(m.get(f"final_loss_{n}", "nan"))) for n in "dg")
        first, last = samples_at(run, 0), samples_at(run, -1)
        fine = " → ".join(fmt(period2(s[1] if s else None)) for s in (first, last))
        table.append([label] + [f"{fmt(a)} → {fmt(b)}" for a, b in got.values()] + [fine])
        table[-1] += [losses, run.status if run else "missing", ctx.link(run)]
        for panels, s in zip(rows_of_panels, (first, last), strict=False):
            panels.append((f"{label}, step {s[0]}" if s else label, s and sample_picture(s[1])))
        energy = last and energy_picture(last[1], period_of(run))
        rows_of_panels[2].append((f"phase energy P={period_of(run)}, last", energy))
        links += [(label, ctx.rel(run.path))] if run else []
    series = {"at init": ([cb[k][0] for k in cb], None), "trained": ([cb[k][1] for k in cb], None)}
    bars = plots.bar_figure(list(cb), series, "checkerboard CB_P")
    sheet = plots.image_panels([p for r in rows_of_panels for p in r], len(kinds))
    header = ["generator", "CB init → trained", "spectral peak dB", "spectral distance dB"]
    header += ["period-2 content"]
    return [
        f"One seed, {ctx.setting.steps} steps, the default `disc=avgpool`. {PERIOD2}",
        Table(header + ["final loss D / G", "status", "folder"], table),
        Fig(ctx.save(bars, f"{name}_cb"), "Checkerboard score at step 0 and at the last probe."),
        Fig(
            ctx.save(sheet, f"{name}_samples"),
            "Samples at init (top) and after training (middle), each stretched to its own "
            "range; phase-energy map after training, white = even (bottom).",
            links,
        ),
    ], cb


def claim3(ctx: Context) -> tuple[list[Block], list[Check]]:
    kinds = [
        (f"{k} k3", "train_resize", {"upsample": k}) for k in ("deconv", "nearest", "bilinear")
    ]
    blocks, cb = trained(ctx, kinds, "claim3")
    checks = [
        compare(f"deconv k3 CB {when}", cb["deconv k3"][i], 3, f"{other}'s", cb[f"{other} k3"][i])
        for i, when in ((0, "at init"), (1, "trained"))
        for other in ("nearest", "bilinear")
    ]
    dist = {k[0]: probe(ctx.one(k), "spectral_distance", -1) for k in kinds}
    return blocks + [
        "Spectral distance to the real images after training (dB, lower is closer): "
        + ", ".join(f"{k} {fmt(v)}" for k, v in dist.items())
        + " (the article found bilinear resize-convolution worse than nearest in its GAN).",
        rule(
            "supported when deconv k3's CB is at least 3 × that of nearest and of bilinear "
            "resize-convolution, both at init and after training."
        ),
    ], checks


def claim4(ctx: Context) -> tuple[list[Block], list[Check]]:
    kinds: list[Kind] = [
        ("deconv k4", "train_even", {}),
        ("sub-pixel k3", "train_subpixel", {"upsample.icnr": "false"}),
        ("sub-pixel k3 + ICNR", "train_subpixel", {"upsample.icnr": "true"}),
        ("nearest k3 (claim 3)", "train_resize", {"upsample": "nearest"}),
    ]
    blocks, cb = trained(ctx, kinds, "claim4")
    base = cb["nearest k3 (claim 3)"][1]
    checks = [compare(f"{k} CB trained", cb[k][1], 2, "nearest's", base) for k in list(cb)[:2]]
    icnr, plain = cb["sub-pixel k3 + ICNR"], cb["sub-pixel k3"]
    return blocks + [
        f"Sub-pixel's CB with ICNR init goes {fmt(icnr[0])} → {fmt(icnr[1])} in training "
        f"(without: {fmt(plain[0])} → {fmt(plain[1])}). Nearest resize-conv, trained alike in "
        "claim 3, is the baseline.",
        rule(
            "supported when, after training, the CB of deconv k4 and of sub-pixel (without "
            "ICNR) are each at least 2 × the CB of nearest resize-convolution."
        ),
    ], checks


DISCS: list[Kind] = [
    ("strided k3", "grad_strided", {"disc.kernel": "3"}),
    ("strided k4", "grad_strided", {"disc.kernel": "4"}),
    ("avgpool k3", "grad_pool", {"disc": "avgpool"}),
    ("blurpool k3", "grad_pool", {"disc": "blurpool"}),
]


def input_gradients(row: RunRow) -> tuple[torch.Tensor, torch.Tensor | None, int]:
    """D's input gradient on the run's fixed real images at init and at its last checkpoint
    (`Probe.input_gradient`, recomputed on the CPU), and D's period."""
    overrides = [o for o in row.overrides if not o.startswith("device=")] + ["device=cpu"]
    with initialize_config_dir(version_base="1.3", config_dir=str(config_dir())):
        cfg = validate(compose("config", overrides=overrides))
    setup = build(cfg, torch.device("cpu"))  # the run's seed: the same D at init
    d, probe_ = setup.discriminator, setup.probe
    init, checkpoint = probe_.input_gradient(d), find_checkpoint(row.path)
    if checkpoint is None:
        return init, None, d.period
    d.load_state_dict(load_checkpoint(checkpoint)["discriminator"])
    return init, probe_.input_gradient(d), d.period


def claim5(ctx: Context) -> tuple[list[Block], list[Check]]:
    table, cb, panels, links = [], {}, [], []
    for kind in DISCS:
        label, run = kind[0], ctx.one(kind)
        cb[label] = (probe(run, "grad_checkerboard", 0), probe(run, "grad_checkerboard", -1))
        init, last, period = input_gradients(run) if run else (None, None, 0)
        fine = " → ".join(fmt(period2(g)) for g in (init, last))
        table.append([label, fmt(cb[label][0]), fmt(cb[label][1]), fine])
        table[-1] += [run.status if run else "missing", ctx.link(run)]
        if run is None:
            panels += [(f"{label}: missing", None)] + [("", None)] * 3
            continue
        step = run.sample_steps[-1] if run.sample_steps else "last"
        panels += [
            (f"{label}: |dD/dx| at init", gradient_picture(init)),
            (f"|dD/dx| at step {step}", None if last is None else gradient_picture(last)),
            (f"phase energy P={period}, init", energy_picture(init, period)),
            (f"phase energy, step {step}", None if last is None else energy_picture(last, period)),
        ]
        links.append((label, ctx.rel(run.path)))
    checks = [
        compare(f"strided k3 grad CB {when}", cb["strided k3"][i], 2, f"{p}'s", cb[f"{p} k3"][i])
        for i, when in ((0, "at init"), (1, "trained"))
        for p in ("avgpool", "blurpool")
    ]
    header = ["discriminator", "grad CB at init", "grad CB trained", "period-2 content"]
    header += ["status", "folder"]
    return [
        f"One seed, {ctx.setting.steps} steps, a nearest resize-conv generator (a deconv "
        "generator collapses against `disc=strided` on the embedded dataset). `grad_checkerboard` "
        "is CB_P of dD(x)/dx over 64 fixed real images, P = D's total stride. " + PERIOD2,
        Table(header, table),
        Fig(
            ctx.save(plots.image_panels(panels, 4), "claim5_gradients"),
            "|dD/dx| of 8 real images, each scaled to its own max (recomputed with "
            "`Probe.input_gradient` from the run's config and last checkpoint), and the "
            "gradient's phase-energy map, white = even.",
            links,
        ),
        f"Strided k4 (even overlap): grad CB {fmt(cb['strided k4'][0])} at init, "
        f"{fmt(cb['strided k4'][1])} trained.",
        rule(
            "supported when the grad CB of the strided k3 discriminator is at least 2 × that of "
            "avgpool and of blurpool, at init and after training."
        ),
    ], checks


def claim6(ctx: Context) -> tuple[list[Block], list[Check]]:
    names = {
        "2": "deconv in the last two stages",
        "1": "deconv in the last stage",
        "0": "no deconv",
    }
    runs = {n: ctx.one(("", "last_n", {"upsample.last_n": n})) for n in names}
    period = period_of(runs["2"])
    periods = [p for p in (2, 4, 8) if p <= period]
    content, panels, table, links = {}, [], [], []
    for n, name in names.items():
        got = [samples_at(runs[n], w) for w in (0, -1)]
        nan = dict.fromkeys(periods, math.nan)
        content[n] = [measures.period_content(g[1], periods) if g else nan for g in got]
        cells = [" → ".join(fmt(content[n][w][p]) for w in (0, 1)) for p in periods]
        table.append([name, *cells, ctx.link(runs[n])])
        if None in got:
            panels += [(f"{name}: missing", None)] + [("", None)] * 3
            continue
        (s0, x0), (s1, x1) = got
        panels += [
            (f"{name}, step {s1}", sample_picture(x1)),
            (f"phase energy P={period}, step {s0}", energy_picture(x0, period)),
            (f"phase energy P={period}, step {s1}", energy_picture(x1, period)),
            (f"log power spectrum, step {s1}", spectrum_picture(x1)),
        ]
        links.append((name, ctx.rel(runs[n].path)))

    def shown(n: str, w: int) -> str:
        return ", ".join(str(p) for p in periods if content[n][w][p] >= 3 * content["0"][w][p])

    last, none = {n: content[n][1] for n in names}, content["0"][1]
    checks = [
        compare(f"last-two period-{p} content", last["2"][p], 3, "no deconv's", none[p])
        for p in (2, 4)
    ]
    checks += [
        compare("last-only period-2 content", last["1"][2], 3, "no deconv's", none[2]),
        compare("last-only period-4 content", last["1"][4], 3, "no deconv's", none[4], above=False),
    ]
    found = [f"{names[n]}: {shown(n, w) or 'none'}" for w in (1, 0) for n in ("2", "1")]
    header = ["generator", *(f"period-{p} content, init → trained" for p in periods), "folder"]
    return [
        "`upsample=deconv upsample.kernel=3 upsample.last_n=2,1,0` (earlier stages are nearest "
        f"resize-conv k3), one seed, {ctx.setting.steps} steps. Period-P content = "
        "sqrt(CB_P² − CB_P/2²), CB_1 = 0: the phase-energy variation at period P that period P/2 "
        "does not explain.",
        Table(header, table),
        Fig(
            ctx.save(plots.image_panels(panels, 4), "claim6_periods"),
            f"Samples after training (stretched), phase-energy maps at P={period} at init and "
            "after training (white = even), and the samples' mean log power spectrum after "
            "training (zero frequency in the middle; period 2 puts peaks on the edges, period 4 "
            "half-way to them).",
            links,
        ),
        f"Periods that show up after training: {'; '.join(found[:2])}; at init: "
        f"{'; '.join(found[2:])}.",
        rule(
            "period P shows up in a run when its period-P content is at least 3 × that of the "
            "run without deconvolution (its noise floor). Supported when, after training, "
            "deconv in the last two stages shows periods 2 and 4, and deconv in the last stage "
            "only shows period 2 but not 4."
        ),
    ], checks


BUILDERS = {1: claim1, 2: claim2, 3: claim3, 4: claim4, 5: claim5, 6: claim6}


def claim_sections(ctx: Context, chosen: list[int]) -> list[Section]:
    """The six claim sections; a claim not in `chosen` says it was not run."""
    sections = []
    for number, (title, text, _) in CLAIMS.items():
        blocks: list[Block] = [f"**Claim.** {text}"]
        result = None
        if number not in chosen:
            blocks.append("Not run this time (`--claims`).")
        else:
            try:
                more, checks = BUILDERS[number](ctx)
                blocks, result = blocks + more, verdict(checks)
            except Exception as err:  # one broken section must not lose the others
                print(f"claim {number}: {type(err).__name__}: {err}", file=sys.stderr)
                blocks.append(f"This section could not be built: `{type(err).__name__}: {err}`.")
                result = Verdict("undecided", "Undecided: the section could not be built.")
        sections.append(Section(f"claim-{number}", f"Claim {number}: {title}", blocks, result))
    return sections
