"""FID and KID between generated and real images, through torchmetrics (docs/quality.md).

The features are torch-fidelity's InceptionV3 pool features (2048-d) as torchmetrics'
`FrechetInceptionDistance` builds them (`NoTrainInceptionV3`: uint8 RGB in, bilinear resize to
299 with antialiasing, `feature_extractor_weights_path` for a local file). Each chunk's features
are computed once and fed to both torchmetrics metrics, whose `update` and `compute` give the
values; the real side is kept across evaluations (`reset_real_features=False`), so real features
are computed once per run. The weights are never downloaded here: `inception_weights` finds a
file (the configured one, else torch-fidelity's download in the torch hub cache) or says none.
"""

from __future__ import annotations

import functools
import logging
import socket
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from checkerboard_gan.analysis.catalogue import FID, KID_MEAN, KID_STD
from checkerboard_gan.config import ConfigError, EvalConfig

log = logging.getLogger(__name__)

# The file torch-fidelity downloads its InceptionV3 weights to (the last part of its
# URL_INCEPTION_V3), under torch.hub.get_dir()/checkpoints; tests check the two agree.
WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
KID_MAX_SUBSET = 1000  # KID's subset size: min(this, generated images, real images)
KID_SUBSETS = 100  # subsets KID is averaged over (torch-fidelity's and torchmetrics' default)
KID_SEED = 0  # the subsets' draw, so a value is reproducible and training's RNG untouched


def cached_weights() -> Path:
    """Where torch-fidelity's first use on a connected machine leaves the weights (TORCH_HOME,
    else XDG_CACHE_HOME/torch, else ~/.cache/torch; then hub/checkpoints/)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE


@dataclass(frozen=True)
class SettingNames:
    """How a command spells the two FID settings in its messages: `fid` before `true`, `auto`
    or `false`, `weights` before a path."""

    fid: str
    weights: str


RUN_SETTINGS = SettingNames("eval.fid=", "eval.inception_weights=")
COMMAND_SETTINGS = SettingNames("--fid ", "--inception-weights ")  # python -m ...evaluate


def inception_weights(path: str | None, names: SettingNames = RUN_SETTINGS) -> Path | None:
    """The InceptionV3 weights file to use: `path` (it must exist), else the torch hub cache's
    copy of torch-fidelity's download, else None.

    Raises:
        ConfigError: `path` is not a file, or the file found is not a PyTorch state dict
            (`check_weights`).
    """
    if path is not None:
        given = Path(path).expanduser()
        if not given.is_file():
            raise ConfigError(
                f"{names.weights}{path} is not a file: give the InceptionV3 weights "
                f"torch-fidelity uses ({WEIGHTS_FILE}), or leave it out"
            )
        check_weights(given.resolve(), given.stat().st_mtime_ns, names)
        return given
    cached = cached_weights()
    if not cached.is_file():
        return None
    check_weights(cached, cached.stat().st_mtime_ns, names)
    return cached


@functools.lru_cache(maxsize=4)
def check_weights(path: Path, mtime_ns: int, names: SettingNames = RUN_SETTINGS) -> None:
    """Refuse a file that is not a state dict of tensors, read with `weights_only=True` (no code
    in it can run; torch-fidelity then reads the same bytes without that guard). Checked once
    per path and modification time.

    Raises:
        ConfigError: naming the file, what it holds instead and what to do.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        ok = (
            isinstance(state, dict)
            and state
            and all(isinstance(v, torch.Tensor) for v in state.values())
        )
        problem = "" if ok else f"it holds a {type(state).__name__}, not a dict of tensors"
    except Exception as err:  # any unreadable file: a truncated download, an HTML page, ...
        first = (str(err).splitlines() or [type(err).__name__])[0][:120]
        problem = f"it cannot be read as PyTorch weights ({first})"
    if problem:
        raise ConfigError(
            f"{path} is not InceptionV3 weights: {problem}; give torch-fidelity's "
            f"{WEIGHTS_FILE} with {names.weights}PATH, delete a broken copy in the hub cache, "
            f"or set {names.fid}false"
        )


def fid_enabled(cfg: EvalConfig, explain: bool = True, names: SettingNames = RUN_SETTINGS) -> bool:
    """Whether a run computes FID and KID (`eval.fid`). `false`: never. `auto`: when the weights
    are found, else not, with one info line (with `explain`) saying how to enable them. `true`:
    the weights found or downloaded now into torch's cache, else one ConfigError naming both
    settings as `names` spells them."""
    if cfg.fid == "false":
        return False
    if inception_weights(cfg.inception_weights, names) is not None:
        return True
    if cfg.fid == "auto":
        if explain:
            log.info(
                "FID/KID skipped: no InceptionV3 weights (no %s given and %s does not exist); to "
                "compute them, give the file with %sPATH, or run once with %strue on a connected "
                "machine (it downloads them there)",
                names.weights.rstrip("= "),
                cached_weights(),
                names.weights,
                names.fid,
            )
        return False
    download_weights(names=names)
    return True


def download_weights(timeout_s: float = 60.0, names: SettingNames = RUN_SETTINGS) -> Path:
    """Download torch-fidelity's InceptionV3 weights into torch's hub cache (`cached_weights`),
    as its own first use would; a failure is one ConfigError naming `eval.fid` and
    `eval.inception_weights`."""
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    target = cached_weights()
    log.info("%strue: downloading the InceptionV3 weights into %s", names.fid, target)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout_s)  # an unreachable network fails, not hangs
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(URL_INCEPTION_V3, str(target), progress=False)
    except OSError as err:
        raise ConfigError(
            f"{names.fid}true needs the InceptionV3 weights: {target} does not exist and the "
            f"download failed ({err}); give the file with {names.weights}PATH "
            f"({WEIGHTS_FILE}), or set {names.fid}auto or {names.fid}false"
        ) from None
    finally:
        socket.setdefaulttimeout(previous)
    return target


def inception_extractor(weights: Path) -> nn.Module:
    """torchmetrics' InceptionV3 (pool features, 2048-d) with weights read from `weights`."""
    from torchmetrics.image.fid import NoTrainInceptionV3

    return NoTrainInceptionV3(
        name="inception-v3-compat",
        features_list=["2048"],
        feature_extractor_weights_path=str(weights),
    )


def to_uint8_rgb(chunk: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1], (n, C, H, W) with C = 1 or 3 -> uint8 (n, 3, H, W), as Inception takes."""
    if chunk.dim() != 4 or chunk.shape[1] not in (1, 3):
        raise ValueError(f"expected images (n, 1 or 3, H, W), got {tuple(chunk.shape)}")
    pixels = ((chunk.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return pixels.expand(-1, 3, -1, -1) if pixels.shape[1] == 1 else pixels


class _Given(nn.Module):
    """The features themselves: what the torchmetrics metrics receive (computed once)."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


class InceptionDistances:
    """FID and KID of generated images against real ones fixed for a run.

    `add_real` accumulates the real side once; `add_fake` then `compute` (or `measure` at once)
    take a generated set, return {fid, kid_mean, kid_std} and forget that set. `extractor`
    replaces InceptionV3 (tests): it receives the chunks as given and must return (n, d)
    features; InceptionV3 receives them as uint8 RGB. Features are computed on `device`; the
    metrics live there on CUDA, else on the CPU.
    """

    def __init__(
        self,
        weights: Path | None = None,
        device: torch.device | str = "cpu",
        extractor: nn.Module | None = None,
        kid_subsets: int = KID_SUBSETS,
    ) -> None:
        if (weights is None) == (extractor is None):
            raise ValueError("give either the Inception weights or a feature extractor")
        self.device = torch.device(device)
        self.inception = extractor is None
        module = inception_extractor(weights) if extractor is None else extractor
        self.extractor = module.to(self.device).eval()
        self.kid_subsets = kid_subsets
        self.metrics_device = self.device if self.device.type == "cuda" else torch.device("cpu")
        self.fid: Any = None  # torchmetrics metrics, made at the first chunk (its feature size)
        self.kid: Any = None
        self.num_real = self.num_fake = 0

    @torch.no_grad()
    def features(self, chunk: torch.Tensor) -> torch.Tensor:
        """(n, d) features of one chunk of images, on the metrics' device."""
        chunk = chunk.to(self.device)
        out = self.extractor(to_uint8_rgb(chunk) if self.inception else chunk)
        return out.reshape(out.shape[0], -1).float().to(self.metrics_device)

    def _update(self, chunk: torch.Tensor, real: bool) -> int:
        features = self.features(chunk)
        if self.fid is None:
            self._make_metrics(features.shape[1])
        self.fid.update(features, real=real)
        self.kid.update(features, real=real)
        return features.shape[0]

    def _make_metrics(self, num_features: int) -> None:
        from torchmetrics.image.fid import FrechetInceptionDistance
        from torchmetrics.image.kid import KernelInceptionDistance

        given = _Given(num_features)
        self.fid = FrechetInceptionDistance(feature=given, reset_real_features=False)
        with warnings.catch_warnings():  # it keeps every feature: 8 kB an image at d = 2048
            warnings.filterwarnings("ignore", message="Metric `Kernel Inception Distance`")
            self.kid = KernelInceptionDistance(
                feature=given, subsets=self.kid_subsets, reset_real_features=False
            )
        self.fid.to(self.metrics_device)
        self.kid.to(self.metrics_device)

    def add_real(self, chunk: torch.Tensor) -> None:
        """Add one chunk of real images (n, C, H, W) in [-1, 1] to the real side, kept for good."""
        self.num_real += self._update(chunk, real=True)

    def add_fake(self, chunk: torch.Tensor) -> None:
        """Add one chunk of generated images (n, C, H, W) in [-1, 1] to the generated side."""
        self.num_fake += self._update(chunk, real=False)

    def compute(self) -> dict[str, float]:
        """FID and KID (mean and std over subsets) of the generated images added since the last
        `compute` against the real ones; the generated side is then reset.

        Raises:
            ValueError: fewer than 2 generated or 2 real images.
        """
        num_fake, self.num_fake = self.num_fake, 0
        if min(num_fake, self.num_real) < 2:
            self._reset_fake()
            raise ValueError(
                f"FID/KID need at least 2 generated and 2 real images, got {num_fake} and "
                f"{self.num_real}"
            )
        self.kid.subset_size = min(KID_MAX_SUBSET, num_fake, self.num_real)
        try:
            fid = self.fid.compute()
            with torch.random.fork_rng(devices=[]):  # its subsets: torch.randperm, on the CPU
                torch.default_generator.manual_seed(KID_SEED)
                kid_mean, kid_std = self.kid.compute()
        finally:
            self._reset_fake()
        return {
            FID.key(): float(fid),
            KID_MEAN.key(): float(kid_mean),
            KID_STD.key(): float(kid_std),
        }

    def measure(self, fake_chunks: Iterable[torch.Tensor]) -> dict[str, float]:
        """`add_fake` for each chunk of `fake_chunks`, then `compute`."""
        for chunk in fake_chunks:
            self.add_fake(chunk)
        return self.compute()

    def _reset_fake(self) -> None:
        if self.fid is not None:
            self.fid.reset()
            self.kid.reset()
