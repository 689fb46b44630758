"""DESIGN.md's six claims: each reads its studies' runs, returns the blocks that show it and the
checks its verdict is computed from."""

from __future__ import annotations

import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra import compose, initialize_config_dir
from PIL import Image

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


# Trained claims: read from each run's evaluation over many samples (metrics.json) ----------

TRAINED_CLAIMS = (3, 4, 5, 6, 7)
EVAL_NOTE = (
    "Trained artifacts are read from each run's evaluation over many samples (DESIGN.md): "
    "{n} generated images drawn as the probes draw them and as many real images, at step 0 and "
    "at the last step. content_p = sqrt(CB_p² − CB_p/2²) (CB_1 = 0) is the phase-energy "
    "variation at period p that the finer period does not explain; fingerprint_p is the "
    "energy of the mean high-pass residual folded to one period, over the images' variance: a "
    "pattern stamped at the same place in every image keeps it, content falls as 1/N. CB_P at "
    "the full period P (the probes' measure) is shown for comparison."
)


def seed_of(row: RunRow) -> str:
    return dict(o.split("=", 1) for o in row.overrides if "=" in o).get("seed", "0")


def per_seed(ctx: Context, kind: Kind) -> dict[str, RunRow]:
    """A kind's runs keyed by seed."""
    return {seed_of(r): r for r in ctx.pick(kind)}


def all_seeds(runs: dict[str, dict[str, RunRow]]) -> list[str]:
    return sorted({s for by_seed in runs.values() for s in by_seed}, key=int) or ["0"]


def ev(row: RunRow | None, key: str, which: int = -1, side: str = "fake") -> float:
    """A measure of a run's first (0) or last (-1) evaluation; NaN when missing."""
    evals = (row.metrics or {}).get("evaluations") if row else None
    return float(evals[which].get(side, {}).get(key, math.nan)) if evals else math.nan


def eval_size(rows: list[RunRow | None]) -> str:
    for row in rows:
        evals = (row.metrics or {}).get("evaluations") if row else None
        if evals:
            return f"{evals[-1]['n_fake']} generated / {evals[-1]['n_real']} real"
    return "no evaluation found"


def real_floor(rows: list[RunRow | None], key: str) -> float:
    """`key` on the real images (the same reference for every run of one dataset)."""
    return next((v for r in rows if not math.isnan(v := ev(r, key, side="real"))), math.nan)


def init_to_last(row: RunRow | None, key: str) -> str:
    return f"{fmt(ev(row, key, 0))} → {fmt(ev(row, key, -1))}"


def fingerprint_at(row: RunRow | None, which: int) -> torch.Tensor | None:
    """The fingerprint tile picture a run wrote at its first (0) or last (-1) evaluation."""
    steps = [e["step"] for e in (row.metrics or {}).get("evaluations", [])] if row else []
    path = row.path / "eval" / f"fingerprint_step_{steps[which]:07d}.png" if steps else None
    if path is None or not path.is_file():
        return None
    return torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1) / 255


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
    fig = plots.bar_figure(labels, series, key, log=True, line=(floor, "real images"))
    return Fig(
        ctx.save(fig, f"{name}_{key}"),
        f"{key} at step 0 and after training (mean ± std over seeds, log scale); the dashed "
        "line is the real images' value.",
    )


def trained(ctx: Context, kinds: list[Kind], name: str) -> tuple[list[Block], dict]:
    """Per kind and seed: content_2 and fingerprint_2 at init and trained, the full-period CB,
    samples and fingerprint tiles; returns the blocks and each kind's runs by seed."""
    runs = {kind[0]: per_seed(ctx, kind) for kind in kinds}
    table, panels, links = [], ([], [], [], []), []
    for label, by_seed in runs.items():
        for seed, run in sorted(by_seed.items(), key=lambda kv: int(kv[0])):
            p = period_of(run)
            table.append(
                [label, seed, init_to_last(run, "content_2"), init_to_last(run, "fingerprint_2")]
                + [init_to_last(run, f"cb_{p}"), fmt(ev(run, "spectral_distance"))]
                + [run.status, ctx.link(run)]
            )
        first = by_seed.get(min(by_seed, key=int)) if by_seed else None
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
        f"{ctx.setting.train_seeds} seed(s) per kind, {ctx.setting.steps} steps, evaluation "
        f"over {eval_size(all_rows)} images. " + EVAL_NOTE.format(n=eval_size(all_rows)),
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


def per_seed_checks(
    seeds: list[str],
    a: tuple[str, dict[str, RunRow]],
    k: float,
    b: tuple[str, dict[str, RunRow]],
    key: str,
    which: int = -1,
    above: bool = True,
    getter: Any = None,
) -> list[Check]:
    """`a`'s key >= k x `b`'s key (or < when not `above`), one check per seed."""
    get = getter or ev
    return [
        compare(
            f"seed {s}: {a[0]} {key}",
            get(a[1].get(s), key, which),
            k,
            f"{b[0]}'s",
            get(b[1].get(s), key, which),
            above,
        )
        for s in seeds
    ]


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


def input_gradients(row: RunRow) -> tuple[torch.Tensor, torch.Tensor | None, int]:
    """D's input gradient on the run's fixed real images at init and at its last checkpoint
    (`Probe.input_gradient`, recomputed on the CPU), and D's period."""
    overrides = [o for o in row.overrides if not o.startswith("device=")] + ["device=cpu"]
    with initialize_config_dir(version_base="1.3", config_dir=str(config_dir())):
        cfg = validate(compose("config", overrides=overrides + ["eval.num_samples=1"]))
    setup = build(cfg, torch.device("cpu"))  # the run's seed: the same D at init
    d, probe_ = setup.discriminator, setup.probe
    init, checkpoint = probe_.input_gradient(d), find_checkpoint(row.path)
    if checkpoint is None:
        return init, None, d.period
    d.load_state_dict(load_checkpoint(checkpoint)["discriminator"])
    return init, probe_.input_gradient(d), d.period


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
        run = by_seed.get(min(by_seed, key=int)) if by_seed else None
        if run is None:
            panels += [(f"{label}: missing", None)] + [("", None)] * 3
            continue
        init, last, period = input_gradients(run)
        step = run.sample_steps[-1] if run.sample_steps else "last"
        panels += [
            (f"{label}: |dD/dx| at init", gradient_picture(init)),
            (f"|dD/dx| at step {step}", None if last is None else gradient_picture(last)),
            (f"phase energy P={period}, init", energy_picture(init, period)),
            (f"phase energy, step {step}", None if last is None else energy_picture(last, period)),
        ]
        links.append((label, ctx.rel(run.path)))
    strided = ("strided k3", runs["strided k3"])
    checks = [
        c
        for which, when in ((0, "at init"), (-1, "trained"))
        for pool in ("avgpool k3", "blurpool k3")
        for c in per_seed_checks(
            seeds, strided, 2, (pool, runs[pool]), "grad_content_2", which, getter=probe
        )
    ]
    for c in checks[: len(checks) // 2]:
        c.text = c.text.replace("grad_content_2", "grad_content_2 at init")
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
            "The first seed: |dD/dx| of 8 real images, each scaled to its own max (recomputed "
            "with `Probe.input_gradient` from the run's config and last checkpoint), and the "
            "gradient's phase-energy map, white = even.",
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
    first = {n: by.get(min(by, key=int)) if by else None for n, by in runs.items()}
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
        run = by_seed.get(min(by_seed, key=int)) if by_seed else None
        last = samples_at(run, -1)
        panels.append((f"{g} / {d}", last and sample_picture(last[1])))
        fp = fmt(ev(run, "fingerprint_2"))
        panels.append((f"{g} / {d}: fingerprint, FP_2 {fp}", fingerprint_at(run, -1)))
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


BUILDERS = {1: claim1, 2: claim2, 3: claim3, 4: claim4, 5: claim5, 6: claim6, 7: claim7}


def claim_sections(ctx: Context, chosen: list[int]) -> list[Section]:
    """The claim sections; a claim not in `chosen` says it was not run."""
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
                if number in TRAINED_CLAIMS and not ctx.setting.judged:
                    numbers = "; ".join(c.text for c in checks)
                    result = Verdict(
                        "not judged",
                        "Not judged (quick run): a check of the machinery, too small and short "
                        f"for training to have happened. Its numbers: {numbers}.",
                    )
            except Exception as err:  # one broken section must not lose the others
                print(f"claim {number}: {type(err).__name__}: {err}", file=sys.stderr)
                blocks.append(f"This section could not be built: `{type(err).__name__}: {err}`.")
                result = Verdict("undecided", "Undecided: the section could not be built.")
        sections.append(Section(f"claim-{number}", f"Claim {number}: {title}", blocks, result))
    return sections
