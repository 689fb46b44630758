"""Build summary.csv, summary.md and summary.png for any sweep folder (also a partial one).

python scripts/summarize.py multirun/2026-11-26/10-00-00
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from checkerboard_gan.sweeps.summary import summarize


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path)
    args = parser.parse_args(argv)
    if not args.sweep_dir.is_dir():
        parser.error(f"{args.sweep_dir} is not a folder")
    try:
        rows = summarize(args.sweep_dir)
    except FileNotFoundError as err:
        parser.error(str(err))
    except Exception as err:  # one line, never a traceback; the runs themselves are untouched
        first = (str(err).splitlines() or [""])[0]
        what = f"{type(err).__name__}: {first}"
        sys.exit(f"summarize.py: error: cannot summarize {args.sweep_dir}: {what}")
    for row in rows:
        print(f"{row.status:11s} {row.path.name}: {' '.join(row.overrides)}")
    print(f"wrote {args.sweep_dir / 'summary.md'}, summary.csv, summary.png")


if __name__ == "__main__":
    main()
