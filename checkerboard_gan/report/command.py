"""Reproduce the article's argument from runs on this machine, in one command.

    python -m checkerboard_gan.report [--quick] [--out report]

Runs the studies behind the claims of docs/design.md as Hydra multiruns (one
`python -m checkerboard_gan -m +experiment=STUDY ...` per study, under OUT/runs/), then writes
OUT/index.html and OUT/report.md: per claim the figures, the numbers, the rule that decides, and
one sentence computed from the numbers saying whether they support the claim.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from checkerboard_gan.config import ConfigError
from checkerboard_gan.devices import granted_cpus, resolve_device
from checkerboard_gan.rundir.provenance import environment, revision
from checkerboard_gan.sweeps.runs import read_sweep

from .claims import CLAIMS, claim_sections
from .document import Block, Code, Section, Table, fmt, to_html, to_markdown
from .reading import Context, collapsed, without_collapsed
from .studies import PROBES, SETTINGS, Setting, Study, run_study

ARTICLE = "https://distill.pub/2016/deconv-checkerboard/"


def excluded_note(ctx: Context) -> str | None:
    """The banner naming the runs the verdicts leave out because their generator collapsed."""
    runs = [r for rows in ctx.excluded.values() for r in rows]
    if not runs:
        return None
    links = ", ".join(ctx.link(r, f"{r.path.parent.name}/{r.path.name}") for r in runs)
    return (
        f"**Excluded from the verdicts ({len(runs)} run(s), generator collapsed):** {links}. "
        "Their samples were (nearly) identical or saturated at the last probe, so their "
        "artifact measures say nothing about upsampling (metrics.json `collapse_reason`)."
    )


def intro_section(
    meta: dict[str, Any], setting: Setting, claims: list[Section], excluded: str | None = None
) -> Section:
    """Verdicts at a glance (with the runs left out as collapsed, `excluded`); the command,
    setting, running time, versions and device."""
    verdicts = [
        [f"[{s.title}](#{s.anchor})", f"**{s.verdict.status}**", s.verdict.sentence]
        if s.verdict
        else [f"[{s.title}](#{s.anchor})", "not run", ""]
        for s in claims
    ]
    size = (
        f"{setting.name}: {setting.seeds} seed(s) at init, {setting.train_seeds} seed(s) per "
        f"trained kind, {setting.steps} steps when trained"
    )
    size += f", overrides `{' '.join(setting.overrides)}`" if setting.overrides else ""
    times = f"{meta['run_seconds']:.0f} s of runs + {meta['render_seconds']:.0f} s of figures"
    facts = [["command", f"`{meta['command']}`"], ["started", meta["started"]]]
    facts += [["running time", times], ["setting", size]]
    if meta.get("together"):
        facts.append(["trained runs together", meta["together"]])
    facts += [[k, v] for k, v in meta["environment"].items()]
    banner = banners(meta, setting, excluded)
    return Section(
        "about",
        "How these numbers were made",
        [
            *banner,
            f"Each claim of the [article]({ARTICLE}) (Odena, Dumoulin & Olah, Distill 2016), as "
            "this project states it (docs/design.md), checked against runs made by this command on "
            "this machine. Every verdict is computed from the numbers by the rule stated above it.",
            Table(["claim", "verdict", "the numbers it was decided on"], verdicts),
            Table(["", ""], facts),
        ],
    )


def banners(meta: dict[str, Any], setting: Setting, excluded: str | None) -> list[Block]:
    """What a reader must know before the verdicts: runs left out as collapsed, a cut setting,
    studies stopped at the time limit, a quick run."""
    banner: list[Block] = [excluded] if excluded else []
    if cut := cut_note(setting):
        banner.append(cut)
    stopped = [st["name"] for st in meta["studies"] if st.get("stopped_at_limit")]
    if stopped:
        banner.append(
            f"**Stopped at the time limit ({meta['time_limit']} s):** the runs of "
            f"{', '.join(stopped)} were stopped before they finished; a run without its "
            "evaluation at the last step has no trained numbers (n/a), and the claims that "
            "need them are undecided."
        )
    if not setting.judged:
        banner.append(
            "**Quick run: a check of the machinery, not a result.** Its runs are too small and "
            "too short for training to have happened, so the trained claims are shown with "
            "their numbers but not judged; run without `--quick` for verdicts."
        )
    return banner


def cut_note(setting: Setting) -> str | None:
    """What this report trained less than its setting asks (fewer steps or seeds per trained
    kind), said on the page; None when nothing was cut."""
    if setting.name not in SETTINGS:
        return None
    _, seeds, steps, _ = SETTINGS[setting.name]
    cuts = [f"{setting.steps} steps instead of {steps}"] * (setting.steps < steps)
    cuts += [f"{setting.train_seeds} seed(s) per trained kind instead of {seeds}"] * (
        setting.train_seeds < seeds
    )
    if not cuts:
        return None
    return (
        f"**Cut to fit:** this run trained {' and '.join(cuts)} of the {setting.name} setting "
        "(`--steps`, `--train-seeds`); the rules that decide the claims are unchanged."
    )


def together(ctx: Context, wall_s: float) -> str:
    """The trained runs' speed together: the sum of each run's own images/s (its metrics.json
    `throughput_img_s`, over its training loop) and all their trained images over the wall
    time of all the runs (start-up of every process included). Only completed runs count (a
    stopped one has not trained its `steps`); how many were left out is said."""
    rates, images, left_out = [], 0, 0
    for study, rows in ctx.rows.items():
        if not Study.load(study).trained:
            continue
        for row in rows:
            m = row.metrics or {}
            config = row.path / ".hydra" / "config.yaml"
            if row.status != "completed" or "throughput_img_s" not in m or not config.is_file():
                left_out += 1
                continue
            rates.append(float(m["throughput_img_s"]))
            images += int(m["steps"]) * int(OmegaConf.load(config).train.batch_size)
    if not rates:
        return f"no trained run completed ({left_out} did not)" if left_out else ""
    return (
        f"{len(rates)} trained runs, {wall_s:.0f} s of wall time for all the runs; "
        f"{sum(rates):,.0f} images/s summed over the runs' own rates; {images:,} images "
        f"trained / {wall_s:.0f} s = {images / wall_s:,.0f} images/s including start-up"
        + (f" ({left_out} trained runs that did not complete left out)" if left_out else "")
    )


def runs_section(ctx: Context, meta: dict[str, Any]) -> Section:
    """Every study's command, exit code and time, and every run's overrides and config."""
    blocks: list[Block] = [
        "Each study is one Hydra multirun, run inside `runs/`; each run folder holds its composed "
        "config (`.hydra/config.yaml`), `metrics.json`, the samples of every probe and "
        "TensorBoard events (`tensorboard --logdir runs`)."
    ]
    for study in meta["studies"]:
        folder = ctx.out / "runs" / study["name"]
        files = [
            f"[{n}]({ctx.rel(folder / n)})"
            for n in ("summary.png", "summary.md")
            if (folder / n).is_file()
        ]
        files.append(f"[log]({ctx.rel(folder.with_suffix('.log'))})")
        runs = [
            [
                ctx.link(r, f"{study['name']}/{r.path.name}"),
                " ".join(f"`{k}={v}`" for k, v in r.values.items()) or "(as the command)",
                r.status + (", collapsed: excluded" if collapsed(r) else ""),
                fmt(float((r.metrics or {}).get("wall_s", "nan"))),
                f"[config.yaml]({ctx.rel(r.path)}/.hydra/config.yaml)",
            ]
            for r in ctx.rows.get(study["name"], []) + ctx.excluded.get(study["name"], [])
        ]
        blocks += [
            f"**{study['name']}**: exit code {study['returncode']}, {study['seconds']:.0f} s; "
            + ", ".join(files),
            Code(f"cd {ctx.out}/runs && {study['command']}"),
            Table(["folder", "swept values", "status", "wall s", "config"], runs),
        ]
    first = next((r for rows in ctx.rows.values() for r in rows), None)
    if first and (first.path / ".hydra" / "config.yaml").is_file():
        blocks += [
            f"The composed config of {ctx.link(first, ctx.rel(first.path))}; the other "
            "runs differ from it in their overrides only:",
            Code((first.path / ".hydra" / "config.yaml").read_text().strip()),
        ]
    return Section("runs", "Runs and their configs", blocks)


# Command line -----------------------------------------------------------------------------


def _claims(text: str) -> list[int]:
    chosen = sorted({int(c) for c in text.split(",") if c.strip().isdigit()})
    if not chosen or not set(chosen) <= set(CLAIMS):
        raise argparse.ArgumentTypeError(
            f"{text!r}: give claim numbers 1..{max(CLAIMS)}, e.g. 1,2,5"
        )
    return chosen


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer >= 1")
    return int(text)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line; contradicting options end in one usage error (exit 2)."""
    p = argparse.ArgumentParser(
        prog="python -m checkerboard_gan.report", description=__doc__.splitlines()[0]
    )
    size_options(p)
    run_options(p)
    args = p.parse_args(argv)
    if args.quick and args.setting not in (None, "quick"):
        p.error(f"--quick and --setting {args.setting}: give one")
    if args.concurrent and args.jobs:
        p.error("--jobs and --concurrent: give one (--concurrent runs everything at once)")
    return args


def size_options(p: argparse.ArgumentParser) -> None:
    """What runs: the setting, its seeds and steps, the claims, the device."""
    p.add_argument(
        "--quick",
        action="store_true",
        help="a check of the machinery, trained claims not judged: small runs (16 px, widths "
        "8, 512 images, 2 seeds at init, 40 steps), about 2 minutes on a 2-core CPU",
    )
    p.add_argument("--seeds", type=_positive, help="seeds at init (5; quick 2)")
    p.add_argument(
        "--train-seeds", type=_positive, help="seeds per trained kind (cpu 2, gpu 2, quick 1)"
    )
    p.add_argument(
        "--steps", type=_positive, help="steps when trained (cpu 1200, gpu 5000, quick 40)"
    )
    p.add_argument("--claims", type=_claims, default=list(CLAIMS), help="e.g. 1,2,5 (all)")
    p.add_argument(
        "--device",
        help="device= for every run (default: the project's auto); cuda or cuda:N selects the "
        "GPU setting (photos at 64 px, 5000 steps, 2 seeds per trained kind)",
    )
    p.add_argument(
        "--setting",
        choices=sorted(SETTINGS),
        help="the setting whatever the device (default: quick with --quick, gpu with a cuda "
        "--device, else cpu); e.g. --setting gpu --device cpu rehearses the GPU setting",
    )


def run_options(p: argparse.ArgumentParser) -> None:
    """How they run and where the report goes."""
    p.add_argument("--out", type=Path, default=Path("report"), help="output folder (report)")
    p.add_argument(
        "--jobs",
        type=_positive,
        help="studies run at once, each as its own process with cores/N CPU threads (1); on a "
        "GPU 4-8 fill the card, one small GAN leaves most of it idle",
    )
    p.add_argument(
        "--concurrent",
        action="store_true",
        help="every run of every study at once (each study a multirun with Hydra's joblib "
        "launcher, the studies side by side), each run with cores/runs CPU threads (at least "
        "1): the GPU setting's way to fill one GPU",
    )
    p.add_argument(
        "--time-limit",
        type=_positive,
        metavar="SECONDS",
        help="stop the runs (SIGTERM, then SIGKILL 20 s later) this many seconds after they "
        "start and render what finished; the page says so",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace the results of studies already in OUT/runs (otherwise refused)",
    )
    p.add_argument(
        "--render-only",
        action="store_true",
        help="rebuild index.html and report.md from the runs already in OUT/runs",
    )
    p.add_argument(
        "overrides",
        nargs="*",
        help="Hydra overrides for every run, e.g. dataset=mnist (not the keys a study sweeps)",
    )


def choose_setting(args: argparse.Namespace) -> Setting:
    """--setting, else quick (--quick), gpu (a cuda device) or cpu, with --seeds,
    --train-seeds and --steps applied."""
    gpu = bool(args.device) and args.device.startswith("cuda")
    name = args.setting or ("quick" if args.quick else "gpu" if gpu else "cpu")
    seeds, train_seeds, steps, overrides = SETTINGS[name]
    steps = args.steps or steps
    device = (f"device={args.device}",) * bool(args.device)
    log_every = max(1, steps // PROBES[name]) if name in PROBES else None
    return Setting(
        name,
        args.seeds or seeds,
        steps,
        overrides + device + tuple(args.overrides),
        log_every,
        args.train_seeds or train_seeds,
    )


def run_all(args: argparse.Namespace, argv: list[str], runs_dir: Path) -> dict[str, Any]:
    """Run the studies the chosen claims read, `--jobs` at a time; returns what the report
    records about them."""
    setting = choose_setting(args)
    started = datetime.now().astimezone()
    needed = [Study.load(name) for name in studies_for(args.claims)]
    cores = granted_cpus()
    if args.concurrent:
        jobs = max(1, len(needed))
        runs = sum(study.runs(setting) for study in needed)
        threads: int | None = max(1, cores // max(1, runs))
        print(
            f"{len(needed)} studies, all {runs} runs at once ({threads} CPU thread(s) each), "
            f"setting {setting.name}",
            flush=True,
        )
    else:
        jobs = args.jobs or 1
        threads = max(1, cores // jobs) if jobs > 1 else None
        each = f" ({threads} CPU thread(s) each)" if threads else ""
        print(f"{len(needed)} studies, {jobs} at a time{each}, setting {setting.name}", flush=True)
    deadline = time.monotonic() + args.time_limit if args.time_limit else None

    def one(study: Study) -> dict[str, Any]:
        done = run_study(study, setting, runs_dir, threads, args.concurrent, deadline)
        stopped = " (stopped at the time limit)" * done["stopped_at_limit"]
        took = f"exit {done['returncode']}, {done['seconds']:.0f} s{stopped}"
        print(f"{study.name}: {took}", flush=True)
        return done

    env = environment(args.device)  # the source the runs start from
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        studies = list(pool.map(one, needed))
    if (now := revision()) != env["source"]:
        env["source"] += f" at the start, {now} at the end (the checkout changed during the runs)"
    return {
        "command": "python -m checkerboard_gan.report " + shlex.join(argv),
        "started": started.isoformat(timespec="seconds"),
        "setting": asdict(setting),
        "claims": args.claims,
        "environment": env,
        "studies": studies,
        "jobs": jobs,
        "concurrent": args.concurrent,
        "threads": threads,
        "time_limit": args.time_limit,
        "run_seconds": time.perf_counter() - began,
    }


def studies_for(claims: list[int]) -> list[str]:
    """The studies the chosen claims read, each once, in claim order."""
    return list(dict.fromkeys(name for c in claims for name in CLAIMS[c][2]))


def check_out(args: argparse.Namespace) -> str | None:
    """Why the command cannot run as asked, or None: a device this machine lacks, a file in the
    way of --out, nothing to render, or earlier results that running again would replace (only
    with --force)."""
    out, runs_dir = args.out, args.out / "runs"
    for path in (out, runs_dir):
        if path.exists() and not path.is_dir():
            return f"--out {out}: {path} is a file, not a folder; give a folder"
    if args.device and not args.render_only:
        try:
            resolve_device(args.device)
        except ConfigError as err:  # before any folder is made or run started
            return f"--device {args.device}: {err}"
    if args.render_only:
        if not (runs_dir / "report.json").is_file():
            return f"--render-only: {runs_dir / 'report.json'} not found; run the report first"
        return None
    needed = studies_for(args.claims)
    kept = [n for n in needed if (runs_dir / n).is_dir() and any((runs_dir / n).iterdir())]
    if kept and not args.force:
        return (
            f"{runs_dir} already holds results of {', '.join(kept)}; running again would "
            "replace them. Give another --out, rebuild the page from them with --render-only, "
            "or pass --force to replace them"
        )
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    out, runs_dir = args.out, args.out / "runs"
    problem = check_out(args)
    if problem:
        print(f"checkerboard_gan.report: error: {problem}", file=sys.stderr)
        return 2
    if args.render_only:
        meta = json.loads((runs_dir / "report.json").read_text())
    else:
        runs_dir.mkdir(parents=True, exist_ok=True)
        meta = run_all(args, argv, runs_dir)
        (runs_dir / "report.json").write_text(json.dumps(meta, indent=2))
    s = meta["setting"]
    setting = Setting(**{**s, "overrides": tuple(s["overrides"])})
    rows = {st["name"]: read_sweep(runs_dir / st["name"]) for st in meta["studies"]}
    ctx = Context(out, setting, *without_collapsed(rows))
    began = time.perf_counter()
    claims = claim_sections(ctx, meta["claims"])
    meta["render_seconds"] = time.perf_counter() - began
    # a sum of rates means something only for runs that trained at the same time
    meta["together"] = together(ctx, meta["run_seconds"]) if meta.get("concurrent") else ""
    intro = intro_section(meta, setting, claims, excluded_note(ctx))
    sections = [intro, *claims, runs_section(ctx, meta)]
    title = "Deconvolution and checkerboard artifacts, reproduced"
    (out / "report.md").write_text(to_markdown(sections, title))
    (out / "index.html").write_text(to_html(sections, title))
    print(f"wrote {out / 'index.html'} and {out / 'report.md'}")
    for section in claims:
        if section.verdict:
            print(f"{section.title}: {section.verdict.status}")
    if meta["together"]:
        print(f"trained runs together: {meta['together']}")
    failed = [st["name"] for st in meta["studies"] if st["returncode"] != 0]
    if failed:
        print(f"runs that did not complete, in: {', '.join(failed)} (see the report)")
    return 1 if failed else 0
