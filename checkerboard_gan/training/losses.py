"""GAN losses by name in `LOSSES`: D's loss on (real, fake) logits and G's loss on fake ones."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from checkerboard_gan.registry import Registry


@dataclass(frozen=True)
class NonSaturatingBCE:
    """The DCGAN loss (Goodfellow et al. 2014, non-saturating G); real targets 1 - smoothing."""

    label_smoothing: float = 0.0

    def d(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        target = torch.full_like(real, 1.0 - self.label_smoothing)
        return F.binary_cross_entropy_with_logits(real, target) + F.softplus(fake).mean()

    def g(self, fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(-fake).mean()


@dataclass(frozen=True)
class Hinge:
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018); label smoothing does not apply."""

    label_smoothing: float = 0.0

    def d(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()

    def g(self, fake: torch.Tensor) -> torch.Tensor:
        return -fake.mean()


LOSSES: Registry[type[NonSaturatingBCE | Hinge]] = Registry("train.loss")
LOSSES.register("bce")(NonSaturatingBCE)
LOSSES.register("hinge")(Hinge)


def build_loss(name: str, label_smoothing: float) -> NonSaturatingBCE | Hinge:
    """The loss `train.loss` names; an unknown name lists the valid ones."""
    return LOSSES.lookup(name)(label_smoothing)
