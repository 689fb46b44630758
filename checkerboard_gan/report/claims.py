"""The design's ten claims (docs/design.md): each reads its studies' runs, returns the blocks
that show it and the checks its verdict is computed from (claims 1-2 in `init_claims`, 3-10 in
`trained_claims` and `remedy_claims`)."""

from __future__ import annotations

import sys

from .document import Block, Section
from .init_claims import claim1, claim2
from .reading import Context
from .trained_claims import TRAINED_CLAIMS, trained_claim
from .verdicts import not_judged, unbuilt, verdict

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
    8: (
        "Extreme colours show the artifacts most",
        "The artifacts are most prominent where the generator outputs unusual, extreme colours: "
        "its biases make the average colour easy, and an extreme one needs a large "
        "contribution from the deconvolution.",
        ("train_colour",),
    ),
    9: (
        "A final stride-1 layer dampens them",
        "Stride-1 layers, often the last layer of successful models, are quite effective at "
        "dampening artifacts: they can remove artifacts whose period divides their size and "
        "reduce others.",
        ("init_deconv", "init_final", "train_resize", "train_final"),
    ),
    10: (
        "What each remedy costs",
        "Each remedy's artifacts beside its sample quality; bilinear resize-convolution "
        '"worked worse" than nearest in the article\'s GAN.',
        ("train_resize", "train_subpixel", "train_remedies", "train_final", "train_disc"),
    ),
}


BUILDERS = {1: claim1, 2: claim2, **{n: trained_claim(n) for n in TRAINED_CLAIMS}}


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
                blocks = blocks + more
                judged = number not in TRAINED_CLAIMS or ctx.setting.judged
                result = verdict(checks) if judged else not_judged(checks)
            except Exception as err:  # one broken section must not lose the others
                print(f"claim {number}: {type(err).__name__}: {err}", file=sys.stderr)
                blocks.append(f"This section could not be built: `{type(err).__name__}: {err}`.")
                result = unbuilt()
        sections.append(Section(f"claim-{number}", f"Claim {number}: {title}", blocks, result))
    return sections
