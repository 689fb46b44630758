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


def compare(
    key: str, a_name: str, a: float, k: float, b_name: str, b: float, above: bool = True
) -> Check:
    """Whether `key` of `a_name` is at least `k` x that of `b_name` (`above`) or less (not
    `above`), written as one clause: "content_2 of deconv k3 (0.6) ≥ 3 × that of nearest
    (0.1)"; the names are noun phrases, never possessives."""
    gone = [name for name, value in ((a_name, a), (b_name, b)) if math.isnan(value)]
    if gone:
        which = " and of ".join(gone)
        return Check(f"{key} of {which} {'is' if len(gone) == 1 else 'are'} missing", None)
    holds = a >= k * b
    sign = "≥" if holds else "<"
    return Check(
        f"{key} of {a_name} ({a:.3g}) {sign} {k:g} × that of {b_name} ({b:.3g})", holds == above
    )


def at_least(key: str, name: str, value: float, least: float) -> Check:
    """Whether `key` of `name` is at least `least`, written as one clause: "seed 0:
    extreme_colour_ratio of deconv k3 (2.4) ≥ 2"."""
    if math.isnan(value):
        return Check(f"{key} of {name} is missing", None)
    holds = value >= least
    return Check(f"{key} of {name} ({value:.3g}) {'≥' if holds else '<'} {least:g}", holds)


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
            f"seed {s}: {key}{when}",
            a[0],
            getter(a[1].get(s), key, which),
            k,
            b[0],
            getter(b[1].get(s), key, which),
            above,
        )
        for s in seeds
    ]


def verdict(checks: list[Check]) -> Verdict:
    """One sentence from the checks: all hold, none hold, some hold, or numbers missing."""
    if not checks:
        return Verdict("undecided", "Undecided: there were no numbers to decide on.")
    if any(c.ok is None for c in checks):
        missing = "; ".join(c.text for c in checks if c.ok is None)
        return Verdict("undecided", f"Undecided, for want of numbers: {missing}.")
    good = "; ".join(c.text for c in checks if c.ok)
    bad = "; ".join(c.text for c in checks if not c.ok)
    if not bad:
        return Verdict("supported", f"Supported by our numbers: {good}.")
    if not good:
        return Verdict("not supported", f"Not supported by our numbers: {bad}.")
    return Verdict(
        "partly supported", f"Partly supported: as the rule asks, {good}; against it, {bad}."
    )


def not_judged(checks: list[Check]) -> Verdict:
    """A trained claim in a quick run: its numbers, no verdict (training has not happened)."""
    numbers = "; ".join(c.text for c in checks) or "none"
    return Verdict(
        "not judged",
        "Not judged (quick run): a check of the machinery, too small and short for training to "
        f"have happened. The numbers, shown and not judged: {numbers}.",
    )


def unbuilt() -> Verdict:
    """A claim whose section could not be built."""
    return Verdict("undecided", "Undecided: the section could not be built.")
