"""Claims 3 to 7 (and 8 to 10, from report/remedy_claims.py), about trained artifacts, each a
declaration (`TrainedClaim`, report/trained.py) of the kinds it compares, its table, figures and
rule, rendered by `trained.render`."""

from __future__ import annotations

from collections.abc import Callable

from checkerboard_gan.analysis.catalogue import (
    CONTENT,
    GRAD_CHECKERBOARD,
    Periods,
)

from .document import Block
from .reading import (
    Context,
    Kind,
)
from .remedy_claims import CLAIM8, CLAIM9, CLAIM10
from .trained import (
    TRAINED_COLUMNS,
    Cell,
    Ratio,
    TrainedClaim,
    evaluated,
    probed,
    render,
)
from .trained_figures import (
    DISC_KINDS,
    discriminator_figures,
    distances_note,
    gradient_panels,
    icnr_note,
    pair,
    period_panels,
    trained_figures,
)
from .verdicts import Check

# The claims -------------------------------------------------------------------------------


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
        Ratio("strided k3", pool, 2, "grad_content", which=which, probed=True)
        for which in (0, -1)
        for pool in ("avgpool k3", "blurpool k3")
    ),
)

LAST_N = {"2": "deconv in the last two stages", "1": "deconv in the last stage", "0": "no deconv"}
NO_DECONV = "the generator without deconv"  # how claim 6's checks name the last_n=0 runs


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
        Ratio(LAST_N["2"], LAST_N["0"], 3, names=(LAST_N["2"], NO_DECONV)),
        Ratio(LAST_N["2"], LAST_N["0"], 3, "content_sq", names=(LAST_N["2"], NO_DECONV)),
        Ratio(LAST_N["1"], LAST_N["0"], 3, names=(LAST_N["1"], NO_DECONV)),
        Ratio(
            LAST_N["1"], LAST_N["0"], 2, "content_sq", names=(LAST_N["1"], NO_DECONV), above=False
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
            names=("deconv k3 against avgpool", "deconv k3 against strided"),
        ),
    ),
    lead_cells=lambda label: label.split(" / "),
)

CLAIMS = {3: CLAIM3, 4: CLAIM4, 5: CLAIM5, 6: CLAIM6, 7: CLAIM7, 8: CLAIM8, 9: CLAIM9, 10: CLAIM10}
TRAINED_CLAIMS = tuple(CLAIMS)  # a quick run shows their numbers without judging them


def trained_claim(number: int) -> Callable[[Context], tuple[list[Block], list[Check]]]:
    """The builder of trained claim `number` (3..10)."""
    return lambda ctx: render(ctx, CLAIMS[number])
