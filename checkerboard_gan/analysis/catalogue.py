"""The catalogue of measures: every number the tool records is named here, once.

Each `Measure` says its key (with `_p` appended for a per-period measure), the stages that
compute it, its short label, whether it is a headline, and a one-line definition (the full
definitions are docs/design.md, "Artifact measures" and "Evaluation over many samples"). The
keys of metrics.json, the TensorBoard tags, the sweep summary's columns, the HParams metrics, the
closing block and the report's lookups are all derived from the functions below, so a reader
never types a measure's name and never guesses its period: a run records its periods
(`metrics.json` `periods`), and `Periods` turns them into keys.

Stages: `probe` (each probe's fixed-noise batch, `metrics.json` `probes[]`, TensorBoard
`artifacts/KEY`), `evaluation` (the evaluation over many samples, `evaluations[].fake` and
`.real`, TensorBoard `eval/fake/KEY` and `eval/real/KEY`), `quality` (sample quality in the same
evaluation: the generated images against the real ones, `evaluations[].quality`, TensorBoard
`eval/quality/KEY`; the floor, two disjoint halves of the real images against each other,
`evaluations[].quality_floor`, `eval/quality_floor/KEY`), `run` (once per run, top level of
metrics.json). A new measure is its function (analysis/measures.py or analysis/quality.py), one
entry here and one line where its stage computes it (training/probes.py, analysis/evaluation.py
or analysis/quality.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Stage = Literal["probe", "evaluation", "quality", "run"]
Source = Literal["samples", "gradient"]


@dataclass(frozen=True)
class Measure:
    """One measure of the catalogue.

    Attributes:
        name: the key, or its stem for a per-period measure (`content` -> `content_2`).
        label: the short label tables and figures use (`_p` appended per period).
        definition: one line; the exact one is in docs/design.md.
        stages: where it is computed (see the module docstring).
        per_period: read at every nested period p = s, s^2, ..., P (evaluation) or at the
            finest period s only (probe); otherwise at the total period P or none.
        source: `samples` (the generator's images) or `gradient` (dD/dx on real images, whose
            periods are the discriminator's).
        per_level: also recorded at every level of the SWD's Laplacian pyramid, keyed by the
            level's size in px (`swd_32`); the plain key is the mean over levels.
        headline: shown in the sweep's Markdown table and the closing block.
        of_real: also computed on the real images in an evaluation (the floor); for a quality
            measure, between two disjoint halves of them.
        needs_inception: recorded only where the InceptionV3 weights are found (`eval.fid`).
    """

    name: str
    label: str
    definition: str
    stages: tuple[Stage, ...]
    per_period: bool = False
    source: Source = "samples"
    headline: bool = False
    of_real: bool = True
    per_level: bool = False
    needs_inception: bool = False

    def key(self, period: int | None = None) -> str:
        """metrics.json's key: `name`, or `name_p` for a per-period measure at period p (or a
        per-level one at the pyramid level of p px).

        Raises:
            ValueError: a per-period measure without a period, or a period given to one that
                has none.
        """
        if (self.per_period and period is None) or not (
            self.per_period or self.per_level or period is None
        ):
            need = "needs a period" if self.per_period else "takes no period"
            raise ValueError(f"measure {self.name!r} {need} (got {period!r})")
        return self.name if period is None else f"{self.name}_{period}"


CHECKERBOARD = Measure(
    "checkerboard",
    "CB",
    "std / mean of the phase energies E_P over the P x P phases at the total period P",
    ("probe",),
    headline=True,
)
SPECTRAL_PEAK = Measure(
    "spectral_peak_db",
    "peak dB",
    "mean power at the period-P frequencies over the median of their neighbouring ring, in dB",
    ("probe",),
)
DIVERSITY = Measure(
    "diversity",
    "diversity",
    "mean over pixels of the std across the images, over the std of all values: 0 for a "
    "collapsed generator (identical images), about 1 for real ones",
    ("probe", "evaluation"),
)
SATURATED = Measure(
    "saturated",
    "saturated",
    "share of the values at |x| >= 0.99 (a generator stuck at its tanh's limits)",
    ("probe", "evaluation"),
)
SPECTRAL_DISTANCE = Measure(
    "spectral_distance",
    "spectral distance dB",
    "mean |difference| of generated and real radial log spectra over the upper half of radii",
    ("probe", "evaluation"),
    of_real=False,
)
GRAD_CHECKERBOARD = Measure(
    "grad_checkerboard",
    "grad CB",
    "CB at D's total period of dD(x)/dx on the probe's fixed real images",
    ("probe",),
    source="gradient",
    headline=True,
)
GRAD_CONTENT = Measure(
    "grad_content",
    "grad content",
    "period content of dD(x)/dx at D's finest period s (CB_s, since CB_1 = 0)",
    ("probe",),
    per_period=True,
    source="gradient",
)
CB = Measure(
    "cb",
    "CB",
    "CB at period p over the evaluation's N images",
    ("evaluation",),
    per_period=True,
)
CONTENT = Measure(
    "content",
    "cont",
    "sqrt(max(0, CB_p^2 - CB_{p/s}^2)): the phase-energy variation at p the finer period lacks",
    ("evaluation",),
    per_period=True,
    headline=True,
)
PEAK_DB = Measure(
    "peak_db",
    "peak dB",
    "spectral peak at period p of the evaluation's mean power spectrum, in dB",
    ("evaluation",),
    per_period=True,
)
FINGERPRINT = Measure(
    "fingerprint",
    "FP",
    "energy of the mean high-pass residual folded to one period p, over the pixel variance",
    ("evaluation",),
    per_period=True,
    headline=True,
)
EXTREME_COLOUR_RATIO = Measure(
    "extreme_colour_ratio",
    "R extreme",
    "period-s phase spread of the high-pass residual in the third of the images farthest from "
    "mid-grey over that in the nearest third (R = A_top / A_bottom)",
    ("evaluation",),
)
SWD = Measure(
    "swd",
    "SWD",
    "sliced Wasserstein distance x 1e3 of 7 x 7 Laplacian-pyramid patches, generated vs real, "
    "mean over the levels (swd_<px> per level; Karras et al. 2018, appendix D)",
    ("quality",),
    per_level=True,
    headline=True,
)
FID = Measure(
    "fid",
    "FID",
    "Frechet distance of InceptionV3 pool features, generated vs real (Heusel et al. 2017)",
    ("quality",),
    headline=True,
    of_real=False,
    needs_inception=True,
)
KID_MEAN = Measure(
    "kid_mean",
    "KID",
    "kernel inception distance, mean over subsets (Binkowski et al. 2018)",
    ("quality",),
    headline=True,
    of_real=False,
    needs_inception=True,
)
KID_STD = Measure(
    "kid_std",
    "KID std",
    "the KID's standard deviation over its subsets",
    ("quality",),
    of_real=False,
    needs_inception=True,
)
OVERLAP_UNEVENNESS = Measure(
    "overlap_unevenness",
    "overlap max/min",
    "max / min of the generator's composed overlap map over one period (inf with holes)",
    ("run",),
)

# Every measure, in the order tables show them.
CATALOGUE: tuple[Measure, ...] = (
    CHECKERBOARD,
    SPECTRAL_PEAK,
    DIVERSITY,
    SATURATED,
    EXTREME_COLOUR_RATIO,
    SPECTRAL_DISTANCE,
    GRAD_CHECKERBOARD,
    GRAD_CONTENT,
    CB,
    CONTENT,
    PEAK_DB,
    FINGERPRINT,
    SWD,
    FID,
    KID_MEAN,
    KID_STD,
    OVERLAP_UNEVENNESS,
)
BY_NAME: dict[str, Measure] = {m.name: m for m in CATALOGUE}


def of_stage(stage: Stage) -> list[Measure]:
    """The catalogue's measures computed at `stage`, in catalogue order."""
    return [m for m in CATALOGUE if stage in m.stages]


def nested_periods(stride: int, total: int) -> list[int]:
    """p = s, s^2, ..., P: the periods of a stack of stride-s stages with total period P.

    Raises:
        ValueError: P is not a power of s (s >= 2).
    """
    if stride < 2:
        raise ValueError(f"a stride >= 2 is needed for nested periods, got {stride}")
    periods = [stride]
    while periods[-1] < total:
        periods.append(periods[-1] * stride)
    if periods[-1] != total:
        raise ValueError(f"period {total} is not a power of the stride {stride}")
    return periods


@dataclass(frozen=True)
class Periods:
    """What a run's measures are read at, as metrics.json `periods` records it: the generator's
    finest (its stride s) and total (P = s^n) period, the discriminator's stride and total
    stride, the SWD's pyramid levels (px, finest first) and whether FID and KID are computed."""

    finest: int
    total: int
    grad_finest: int
    grad_total: int
    levels: tuple[int, ...] = ()
    fid: bool = False

    def record(self) -> dict[str, Any]:
        """The `periods` block of metrics.json."""
        return {
            "generator": {"finest": self.finest, "total": self.total},
            "discriminator": {"finest": self.grad_finest, "total": self.grad_total},
            "swd_levels": list(self.levels),
            "fid": self.fid,
        }

    @classmethod
    def from_record(cls, metrics: Mapping[str, Any]) -> Periods | None:
        """The periods a run recorded; for a run made before `periods` existed (schema 1), read
        from `checkerboard_period`, `grad_period` and its evaluations' keys. None where the run
        recorded too little to say. A run made before the quality measures has no levels."""
        block = metrics.get("periods")
        if block:
            g, d = block["generator"], block["discriminator"]
            levels = tuple(block.get("swd_levels") or ())
            return cls(
                g["finest"], g["total"], d["finest"], d["total"], levels, block.get("fid", False)
            )
        total, grad_total = metrics.get("checkerboard_period"), metrics.get("grad_period")
        evaluations = metrics.get("evaluations") or []
        if total is None or grad_total is None or not evaluations:
            return None
        stem = CONTENT.name + "_"
        finest = min(int(k[len(stem) :]) for k in evaluations[0]["fake"] if k.startswith(stem))
        probes = metrics.get("probes") or [{}]
        stem = GRAD_CONTENT.name + "_"
        grad = [int(k[len(stem) :]) for k in probes[0] if k.startswith(stem)]
        return cls(finest, total, grad[0] if grad else finest, grad_total)

    def quality_measures(self) -> list[Measure]:
        """The quality measures this run records: SWD where it has levels, FID and KID where
        it computes them."""
        return [
            m for m in of_stage("quality") if (self.fid if m.needs_inception else bool(self.levels))
        ]

    def quality_keys(self, floor: bool = False) -> list[str]:
        """The keys of an evaluation's `quality` block (or, with `floor`, `quality_floor`)."""
        keys = []
        for m in self.quality_measures():
            if floor and not m.of_real:
                continue
            keys.append(m.key())
            keys += [m.key(level) for level in self.levels] if m.per_level else []
        return keys

    @property
    def generator(self) -> list[int]:
        """The generator's nested periods s, s^2, ..., P."""
        return nested_periods(self.finest, self.total)

    def probe_keys(self) -> list[str]:
        """The keys of each `probes[]` entry besides `step`, in table order."""
        return [m.key(self.grad_finest if m.per_period else None) for m in of_stage("probe")]

    def evaluation_keys(self, side: str = "fake") -> list[str]:
        """The keys of an evaluation's `fake` (or `real`) block, period by period."""
        per_period = [m for m in of_stage("evaluation") if m.per_period]
        keys = [m.key(p) for p in self.generator for m in per_period]
        once = [m for m in of_stage("evaluation") if not m.per_period]
        return keys + [m.key() for m in once if side == "fake" or m.of_real]

    def finest_key(self, measure: Measure) -> str:
        """`measure`'s key at its source's finest period (content_s, grad_content_s)."""
        return measure.key(self.grad_finest if measure.source == "gradient" else self.finest)

    def tensorboard_tags(self) -> list[str]:
        """Every measure's scalar tag a run writes (besides losses and timings)."""
        tags = [f"artifacts/{k}" for k in self.probe_keys()]
        tags += [
            f"eval/{side}/{k}" for side in ("fake", "real") for k in self.evaluation_keys(side)
        ]
        tags += [f"eval/quality/{k}" for k in self.quality_keys()]
        return tags + [f"eval/quality_floor/{k}" for k in self.quality_keys(floor=True)]

    def hparam_tags(self) -> list[str]:
        """The scalar tags the HParams tab compares (each also logged at init as `init/TAG`)."""
        return [_tag(stage, key) for stage, _, key in compared(self)]


def _tag(stage: str, key: str) -> str:
    return {"probe": "artifacts", "quality": "eval/quality"}.get(stage, "eval/fake") + "/" + key


def compared(periods: Periods | None) -> list[tuple[Stage, Measure, str]]:
    """(stage, measure, key) of what a sweep compares across runs (summary.csv, HParams): every
    probe measure read at a total period, the evaluation's headline measures at the finest
    period and the headline quality measures the run records; without recorded periods (a run
    that never got that far) the probe's only."""
    found: list[tuple[Stage, Measure, str]] = [
        ("probe", m, m.key()) for m in of_stage("probe") if not m.per_period
    ]
    if periods is not None:
        headline = [m for m in of_stage("evaluation") if m.headline]
        found += [("evaluation", m, periods.finest_key(m)) for m in headline]
        found += [("quality", m, m.key()) for m in periods.quality_measures() if m.headline]
    return found


def summary_measure_columns(periods: Periods | None) -> list[str]:
    """summary.csv's measure columns for a run with `periods` (None: a run without an
    evaluation): each compared probe measure at the first and last probe (`_init`, `_last`),
    `last_probe_step`; each compared evaluation and quality measure at the first and last
    evaluation and on the real images (`_real`, the floor, where the measure has one),
    `eval_samples`; then the run measures."""
    columns: list[str] = []
    for stage, _, key in compared(periods):
        if stage == "probe":
            columns += [f"{key}_init", f"{key}_last"]
    columns.append("last_probe_step")
    if periods is not None:
        for stage, measure, key in compared(periods):
            if stage != "probe":
                columns += [f"{key}_init", f"{key}_last"] + [f"{key}_real"] * measure.of_real
        columns.append("eval_samples")
    return columns + [m.key() for m in of_stage("run")]
