"""Pack a report folder into one .tar.gz small enough to come back from a lent machine.

    python scripts/pack_report.py REPORT_DIR OUT.tar.gz [--max-mb 15]

A device run returns at most 8 files of 16 MiB each, so the report comes back as one archive:
the page (index.html, report.md, figures/), runs/report.json and every study's log, summary and
multirun.yaml, and of every run its metrics.json, .hydra/ configs, cli.log, evaluation tile
pictures (eval/*.png) and figures/. Never tensors or checkpoints (*.pt: samples, gradients,
raw fingerprint tiles, checkpoints).
Then, while the archive stays under --max-mb, the first and last probe's sample pictures of
each run and the TensorBoard event files; what did not fit is listed in the archive's
PACKED.txt and on stdout.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tarfile
from pathlib import Path

STEP = re.compile(r"step_(\d+)(?:_contrast)?\.png$")


def run_folders(runs: Path) -> list[Path]:
    """Every run folder under runs/<study>/ (one holding .hydra/)."""
    return sorted(p.parent for p in runs.glob("*/*/.hydra"))


def essential(report: Path) -> list[Path]:
    """What the page and the numbers need: never a tensor or a checkpoint."""
    files = [report / n for n in ("index.html", "report.md")]
    files += sorted((report / "figures").glob("*"))
    runs = report / "runs"
    files += sorted(runs.glob("*.log")) + sorted(runs.glob("*.json"))
    for study in sorted(p for p in runs.glob("*") if p.is_dir()):
        files += sorted(p for p in study.glob("*") if p.is_file())  # summaries, multirun.yaml
    for run in run_folders(runs):
        files += [run / "metrics.json", run / "cli.log", *sorted((run / ".hydra").glob("*"))]
        files += sorted((run / "eval").glob("*.png")) + sorted((run / "figures").glob("*"))
    return [f for f in files if f.is_file()]


def optional(report: Path) -> list[Path]:
    """Kept while they fit: the first and last probe's sample pictures, then event files."""
    pictures, events = [], []
    for run in run_folders(report / "runs"):
        steps = sorted(
            {int(m[1]) for p in (run / "samples").glob("*.png") if (m := STEP.search(p.name))}
        )
        keep = {steps[0], steps[-1]} if steps else set()
        for p in sorted((run / "samples").glob("*.png")):
            m = STEP.search(p.name)
            if m is None or int(m[1]) in keep:
                pictures.append(p)
        events += sorted(run.glob("events.out.tfevents.*"))
    return pictures + events


def pack(report: Path, archive: Path, max_mb: float) -> list[Path]:
    """Write the archive; returns the optional files left out for size."""
    base = report.resolve().parent
    must, extra = essential(report), optional(report)
    budget = max_mb * 2**20 - sum(f.stat().st_size for f in must)
    kept, left = [], []
    for f in extra:  # sizes before compression: PNGs and events hardly compress
        size = f.stat().st_size
        (kept if size <= budget else left).append(f)
        budget -= size if size <= budget else 0
    names = [f.resolve().relative_to(base).as_posix() for f in left]
    note = (
        f"{len(must) + len(kept)} files from {report.name}; left out for size "
        f"({max_mb:g} MB cap), besides every *.pt: {len(left)}\n" + "".join(f"{n}\n" for n in names)
    ).encode()
    with tarfile.open(archive, "w:gz") as tar:
        for f in must + kept:
            tar.add(f, arcname=f.resolve().relative_to(base).as_posix(), recursive=False)
        info = tarfile.TarInfo(f"{report.resolve().name}/PACKED.txt")
        info.size = len(note)
        tar.addfile(info, io.BytesIO(note))
    return left


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("report", type=Path, help="the report's --out folder")
    p.add_argument("archive", type=Path, help="the .tar.gz to write")
    p.add_argument("--max-mb", type=float, default=15.0, help="size cap before compression")
    args = p.parse_args(argv)
    if not (args.report / "runs").is_dir():
        p.error(f"{args.report}: no runs/ folder; give a report's --out folder")
    left = pack(args.report, args.archive, args.max_mb)
    metrics = len(list((args.report / "runs").glob("*/*/metrics.json")))
    size = args.archive.stat().st_size / 2**20
    print(f"packed {args.archive} ({size:.1f} MiB, {metrics} metrics.json); {len(left)} left out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
