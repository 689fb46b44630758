"""The rules that decide a claim: checks, each written out with the numbers it was decided on,
and the verdict computed from them. No figures or tables here (those are the claims')."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from checkerboard_gan.sweeps.runs import RunRow

from .reading import ev


@dataclass
class Verdict:
    status: str  # supported | partly supported | not supported | undecided | not judged
    sentence: str


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


def per_seed_checks(
    seeds: list[str],
    a: tuple[str, dict[str, RunRow]],
    k: float,
    b: tuple[str, dict[str, RunRow]],
    key: str,
    which: int = -1,
    above: bool = True,
    getter: Callable[[RunRow | None, str, int], float] = ev,
    when: str = "",
) -> list[Check]:
    """`a`'s key >= k x `b`'s key (or < when not `above`), one check per seed; `getter` reads a
    run's value (default: its evaluation), `when` qualifies the key in the text."""
    return [
        compare(
            f"seed {s}: {a[0]} {key}{when}",
            getter(a[1].get(s), key, which),
            k,
            f"{b[0]}'s",
            getter(b[1].get(s), key, which),
            above,
        )
        for s in seeds
    ]


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


def not_judged(checks: list[Check]) -> Verdict:
    """A trained claim in a quick run: its numbers, no verdict (training has not happened)."""
    numbers = "; ".join(c.text for c in checks)
    return Verdict(
        "not judged",
        "Not judged (quick run): a check of the machinery, too small and short for training to "
        f"have happened. Its numbers: {numbers}.",
    )


def unbuilt() -> Verdict:
    """A claim whose section could not be built."""
    return Verdict("undecided", "Undecided: the section could not be built.")
