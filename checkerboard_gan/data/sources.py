"""Where training images come from, by name in `SOURCES`: each gives uint8 images at the
configured size and channels, either all at once (a tensor) or one at a time (a Dataset, for
data too large to keep in memory).

`shapes` is generated (no files, no network) and deterministic for its seed: one saturated shape
(disc, square or triangle, rotated) with sharp edges on a saturated background, the extreme
colours at which the article saw the strongest artifacts. The torchvision sets read their files
through torchvision; `folder` reads any image folder (as `data.decode` decodes a file, with the
channels of its images unless `dataset.channels` is set); `photos` crops scikit-image's
photographs.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from checkerboard_gan.config import (
    ConfigError,
    DatasetConfig,
    FileDatasetConfig,
    FolderConfig,
    PhotosConfig,
    ShapesConfig,
)
from checkerboard_gan.data.decode import (
    LUMA,
    convert_channels,
    decode_file,
    read_headers,
    report_changes,
    report_skipped,
)
from checkerboard_gan.registry import Registry

log = logging.getLogger(__name__)


class DatasetError(ConfigError):
    """Training data that cannot be read; the message says where it looked and what to do."""


# Saturated RGB corners of the colour cube.
PALETTE = torch.tensor(
    [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1], [0, 0, 0]],
    dtype=torch.float32,
)


MUTED = 0.25  # a muted image's colours: 1/4 of their distance from mid-grey (moved 3/4 to it)


@functools.lru_cache(maxsize=2)
def make_shapes(
    num: int, size: int, channels: int, seed: int, palette: str = "saturated"
) -> torch.Tensor:
    """Generate `num` shape images as a uint8 tensor (num, channels, size, size).

    `palette="mixed"`: each image independently, with probability 1/2, has every colour moved
    3/4 of the way to mid-grey (x -> x / 4 in [-1, 1]); its shape and the other images are those
    of the saturated palette (the coins are drawn after everything else). Cached: the runs of a
    sweep in one process share the same (read-only) images.
    """
    g = torch.Generator().manual_seed(seed)
    bg = torch.randint(len(PALETTE), (num,), generator=g)
    fg = (bg + torch.randint(1, len(PALETTE), (num,), generator=g)) % len(PALETTE)
    kind = torch.randint(3, (num,), generator=g)
    cx, cy = (0.3 + 0.4 * torch.rand(2, num, 1, 1, generator=g)) * size
    radius = (0.18 + 0.14 * torch.rand(num, 1, 1, generator=g)) * size
    angle = torch.rand(num, 1, 1, generator=g) * (2 * math.pi)
    coords = torch.arange(size, dtype=torch.float32) + 0.5
    dx, dy = coords.view(1, 1, -1) - cx, coords.view(1, -1, 1) - cy  # (num, 1, S), (num, S, 1)
    u = dx * torch.cos(angle) + dy * torch.sin(angle)
    v = -dx * torch.sin(angle) + dy * torch.cos(angle)
    disc = u**2 + v**2 <= radius**2
    square = torch.maximum(u.abs(), v.abs()) <= 0.8 * radius
    sides = [u * math.cos(a) + v * math.sin(a) for a in (0.0, 2 * math.pi / 3, 4 * math.pi / 3)]
    triangle = torch.stack(sides).amax(0) <= 0.5 * radius
    k = kind.view(-1, 1, 1)
    mask = torch.where(k == 0, disc, torch.where(k == 1, square, triangle))  # (num, S, S)
    colours = PALETTE if channels == 3 else (PALETTE @ LUMA).unsqueeze(1)
    img = torch.where(
        mask.unsqueeze(1), colours[fg].view(num, -1, 1, 1), colours[bg].view(num, -1, 1, 1)
    )
    if palette == "mixed":
        muted = torch.rand(num, generator=g) < 0.5
        img[muted] = 0.5 + (img[muted] - 0.5) * MUTED
    return (img * 255).round().to(torch.uint8)


def fit(images: torch.Tensor, size: int, channels: int, chunk: int = 1024) -> torch.Tensor:
    """uint8 (N, C, H, W) -> uint8 (N, channels, size, size): centre crop to a square, resize
    with antialiasing, grey <-> RGB."""
    h, w = images.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    images = images[..., top : top + side, left : left + side]
    if images.shape[1] != channels:
        images = convert_channels(images, channels)
    if side == size:
        return images.contiguous()
    out = torch.empty(images.shape[0], channels, size, size, dtype=torch.uint8)
    for i in range(0, images.shape[0], chunk):
        part = images[i : i + chunk].float()
        resized = F.interpolate(
            part, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
        out[i : i + chunk] = resized.round_().clamp_(0, 255).to(torch.uint8)
    return out


# torchvision sets ---------------------------------------------------------------------------


def _root(cfg: FileDatasetConfig) -> Path:
    return Path(cfg.root).expanduser()


def _torchvision_set(cfg: FileDatasetConfig):
    import torchvision.datasets as tvd

    root, download = str(_root(cfg)), cfg.download
    factories = {
        "mnist": lambda: tvd.MNIST(root, train=True, download=download),
        "fashion_mnist": lambda: tvd.FashionMNIST(root, train=True, download=download),
        "cifar10": lambda: tvd.CIFAR10(root, train=True, download=download),
        "svhn": lambda: tvd.SVHN(root, split="train", download=download),
        "celeba": lambda: tvd.CelebA(root, split="train", download=download),
    }
    try:
        return factories[cfg.name]()
    except (RuntimeError, OSError, ImportError) as err:
        if isinstance(err, ImportError):
            raise DatasetError(
                f"dataset={cfg.name} needs {err.name}: pip install {err.name}"
            ) from err
        hint = (
            "add the override dataset.download=true to download it"
            if not download
            else "the download failed; check the network or fetch the files by hand"
        )
        raise DatasetError(
            f"dataset={cfg.name}: no usable files in {root} ({str(err).splitlines()[0]}); {hint}"
        ) from err


def _array_images(ds) -> torch.Tensor:
    """The uint8 image array a torchvision set holds in memory, as (N, C, H, W)."""
    data = torch.as_tensor(ds.data)
    if data.ndim == 3:  # MNIST family: (N, H, W)
        return data.unsqueeze(1)
    return data if data.shape[1] in (1, 3) else data.permute(0, 3, 1, 2)  # CIFAR: NHWC


class _TransformedSet(Dataset):
    """Items of a PIL-returning set as uint8 (C, S, S) tensors."""

    def __init__(self, base, size: int, channels: int) -> None:
        self.base, self.size, self.channels = base, size, channels

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int) -> torch.Tensor:
        from torchvision.transforms.functional import pil_to_tensor

        item = self.base[i]
        img = pil_to_tensor(item[0] if isinstance(item, tuple) else item)
        return fit(img.unsqueeze(0), self.size, self.channels)[0]


def torchvision_source(cfg: FileDatasetConfig) -> torch.Tensor | Dataset:
    ds = _torchvision_set(cfg)
    if hasattr(ds, "data"):
        return fit(_array_images(ds), cfg.image_size, cfg.channels)
    return _TransformedSet(ds, cfg.image_size, cfg.channels)


# Image folders ------------------------------------------------------------------------------


def image_files(root: Path) -> list[Path]:
    """The files under `root` (sub-folders included) with an image suffix, sorted by path."""
    from torchvision.datasets.folder import IMG_EXTENSIONS

    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMG_EXTENSIONS)


class _FolderSet(Dataset):
    """The images of a folder as uint8 (C, S, S); undecodable files give None."""

    def __init__(self, files: list[Path], size: int, channels: int, root: Path) -> None:
        self.files, self.size, self.channels, self.root = files, size, channels, root

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor | None:
        img = decode_file(self.files[i])
        return None if img is None else fit(img.unsqueeze(0), self.size, self.channels)[0]


def _folder_files(cfg: FileDatasetConfig) -> list[Path]:
    root = _root(cfg)
    if not root.is_dir():
        raise DatasetError(f"dataset=folder: dataset.root={root} is not a folder")
    files = image_files(root)
    if not files:
        raise DatasetError(f"dataset=folder: {root} holds no image files (.png, .jpg, ...)")
    return files


def settle_channels(cfg: DatasetConfig) -> DatasetConfig:
    """`cfg` with its channels decided: a folder's unset `dataset.channels` (null) follows its
    images, 1 where every readable one is greyscale and 3 otherwise, and the log says which and
    why (3, unsaid, where none is readable: reading the data then names the files and stops).
    Other configs are returned as they are.

    Raises:
        DatasetError: `dataset.root` is not a folder or holds no image files.
    """
    if not isinstance(cfg, FolderConfig) or cfg.channels is not None:
        return cfg
    headers = [h for h in read_headers(_folder_files(cfg)) if h is not None]
    if not headers:  # nothing to decide from: reading the data says which files failed and why
        return replace(cfg, channels=3)
    colour = sum(not h.grey for h in headers)
    channels = 1 if not colour else 3
    found = (
        f"all {len(headers)} readable images are greyscale"
        if channels == 1
        else f"{colour} of {len(headers)} readable images are in colour"
    )
    log.info(
        "dataset folder %s: %s, so dataset.channels=%d (it was not set; set it to choose)",
        _root(cfg),
        found,
        channels,
    )
    return replace(cfg, channels=channels)


def folder_source(cfg: FileDatasetConfig) -> torch.Tensor | Dataset:
    """Every image file under `dataset.root` as uint8 (channels, S, S), decoded by
    `data.decode.decode_file`; the log says once what decoding changed (16-bit, alpha, ...)."""
    channels = settle_channels(cfg).channels
    files = _folder_files(cfg)
    report_changes(read_headers(files), f"dataset folder {_root(cfg)}")
    return _FolderSet(files, cfg.image_size, channels, _root(cfg))


def decode_all(dataset: Dataset, workers: int, what: str) -> torch.Tensor:
    """Decode every item once (in worker processes) into one uint8 tensor; the files that could
    not be decoded are skipped, and one warning names them and says why (`report_skipped`).

    Raises:
        DatasetError: none could be decoded.
    """
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=64, num_workers=workers, collate_fn=list
    )
    images, bad = [], []
    for items in loader:
        start = len(images) + len(bad)
        bad += [start + i for i, x in enumerate(items) if x is None]
        images += [x for x in items if x is not None]
    if isinstance(dataset, _FolderSet):
        report_skipped([dataset.files[i] for i in bad], len(dataset), what, dataset.root)
    elif bad:
        log.warning(
            "%s: skipped %d of %d items that could not be read", what, len(bad), len(dataset)
        )
    if not images:
        raise DatasetError(f"{what}: none of its {len(dataset)} files could be decoded")
    return torch.stack(images)


def report_unreadable(dataset: Dataset, what: str) -> None:
    """For data streamed rather than decoded at once: one warning naming the folder files whose
    header cannot be read (they are skipped as each batch is decoded)."""
    if isinstance(dataset, _FolderSet):
        headers = read_headers(dataset.files)
        unreadable = [f for f, h in zip(dataset.files, headers, strict=True) if h is None]
        report_skipped(unreadable, len(dataset), what, dataset.root)


# Photographs --------------------------------------------------------------------------------

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "camera", "hubble_deep_field")


def photos_source(cfg: PhotosConfig) -> torch.Tensor:
    """`num_images` random square crops (side in [min_crop, max_crop]) of the photographs."""
    try:
        import skimage.data
    except ImportError as err:
        raise DatasetError(
            'dataset=photos needs scikit-image: pip install "checkerboard_gan[photos]"'
        ) from err
    photos = []
    for name in PHOTOS:
        img = torch.as_tensor(getattr(skimage.data, name)())
        photos.append((img.unsqueeze(0) if img.ndim == 2 else img.permute(2, 0, 1)).contiguous())
    g = torch.Generator().manual_seed(cfg.seed)
    out = torch.empty(
        cfg.num_images, cfg.channels, cfg.image_size, cfg.image_size, dtype=torch.uint8
    )
    which = torch.randint(len(photos), (cfg.num_images,), generator=g)
    for i in range(cfg.num_images):
        photo = photos[which[i]]
        h, w = photo.shape[-2:]
        side = int(torch.randint(cfg.min_crop, min(cfg.max_crop, h, w) + 1, (1,), generator=g))
        top = int(torch.randint(h - side + 1, (1,), generator=g))
        left = int(torch.randint(w - side + 1, (1,), generator=g))
        crop = photo[None, :, top : top + side, left : left + side]
        out[i] = fit(crop, cfg.image_size, cfg.channels)[0]
    return out


def _shapes(cfg: ShapesConfig) -> torch.Tensor:
    return make_shapes(cfg.num_images, cfg.image_size, cfg.channels, cfg.seed, cfg.palette)


SOURCES: Registry[Callable[..., torch.Tensor | Dataset]] = Registry("dataset.name")
SOURCES.register("shapes", ShapesConfig)(_shapes)
for _name in ("mnist", "fashion_mnist", "cifar10", "svhn", "celeba"):
    SOURCES.register(_name, FileDatasetConfig)(torchvision_source)
SOURCES.register("folder", FolderConfig)(folder_source)
SOURCES.register("photos", PhotosConfig)(photos_source)


def estimated_mb(num: int, cfg: DatasetConfig) -> float:
    return num * cfg.channels * cfg.image_size**2 / 2**20
