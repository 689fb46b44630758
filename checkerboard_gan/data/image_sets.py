"""Image sets from anywhere, for `python -m checkerboard_gan.evaluate`: an image folder, a
.npz / .npy array file, a .pt tensor, or one of the tool's own datasets given by overrides
(`dataset=photos dataset.image_size=64`), each streamed in chunks so that memory does not grow
with the number of images.

Every set says how many images it holds and their shape (C, H, W) before it streams, and yields
float32 chunks (n, C, H, W) in [-1, 1]: uint8 values v become v / 127.5 - 1, float values are
taken as they are and must lie in [-1, 1].

Array layouts: uint8 (N, H, W, C), as StyleGAN's, ADM's and guided-diffusion's sample files
are; float (N, C, H, W); (N, H, W) is greyscale. An alpha channel (C = 4) is dropped, as the
image folder's decoding (`data.decode`) drops it. A .npz gives its `arr_0`, or its only array;
a .pt a tensor, or a dict's `images` (as `python -m checkerboard_gan.generate` writes) or its only
tensor.
"""

from __future__ import annotations

import logging
import math
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from checkerboard_gan.config import ConfigError, compose_config, config_dir, validate
from checkerboard_gan.data.datasets import to_signed
from checkerboard_gan.data.decode import (
    convert_channels,
    decode_file,
    read_headers,
    report_changes,
    report_skipped,
)
from checkerboard_gan.data.sources import SOURCES, image_files, settle_channels

log = logging.getLogger(__name__)

ARRAY_SUFFIXES = (".npz", ".npy", ".pt")
TOLERANCE = 1e-3  # float images may overshoot [-1, 1] by this much (rounding of a tanh output)


class ImageSetError(ConfigError):
    """An image set that cannot be read; the message names it and says what is valid."""


@dataclass
class ImageSet:
    """A stream of images of one shape.

    Attributes:
        description: what it is, for the log and evaluation.json (`folder x (120 files)`).
        count: the images it will yield (after `limit`).
        shape: (C, H, W).
        read: chunk size -> the chunks (n, C, H, W), float32 in [-1, 1], `count` images in all.
    """

    description: str
    count: int
    shape: tuple[int, int, int]
    read: Callable[[int], Iterator[torch.Tensor]]

    def chunks(self, size: int = 64) -> Iterator[torch.Tensor]:
        """The images in chunks of `size` (the last one smaller)."""
        return self.read(size)


def open_image_set(spec: list[str], limit: int | None = None) -> ImageSet:
    """The image set `spec` names: one path, or dataset overrides (`dataset=NAME ...`).

    Args:
        spec: [PATH] (a folder of images, .npz, .npy or .pt) or overrides of the tool's config.
        limit: at most this many images (the first ones); None for all.

    Raises:
        ImageSetError: a path that does not exist or is of no known kind, an empty folder, an
            array of the wrong rank, type or range, overrides that do not name a dataset.
    """
    if any("=" in part for part in spec):
        return _dataset_set(spec, limit)
    if len(spec) != 1:
        raise ImageSetError(f"give one path or dataset overrides, got {' '.join(spec)!r}")
    path = Path(spec[0]).expanduser()
    if path.is_dir():
        return _folder_set(path, limit)
    if not path.exists():
        raise ImageSetError(f"{path} does not exist")
    readers = {".npz": _npz_set, ".npy": _npy_set, ".pt": _pt_set}
    if path.suffix.lower() not in readers:
        raise ImageSetError(
            f"{path}: not an image folder nor an array file; valid are a folder of images, "
            f"{', '.join(ARRAY_SUFFIXES)}, or dataset overrides (dataset=photos ...)"
        )
    return readers[path.suffix.lower()](path, limit)


def _count(total: int, limit: int | None) -> int:
    return total if limit is None else min(total, limit)


# Folders ----------------------------------------------------------------------------------


def _one_size(root: Path, sizes: list[tuple[int, int]]) -> tuple[int, int]:
    """The one (W, H) of a folder's images, or an ImageSetError naming the sizes found."""
    found: dict[tuple[int, int], int] = {}
    for size in sizes:
        found[size] = found.get(size, 0) + 1
    if len(found) > 1:
        listed = ", ".join(f"{w} x {h} ({n} files)" for (w, h), n in sorted(found.items()))
        raise ImageSetError(
            f"{root}: its images differ in size ({listed}); the measures need one size "
            "(resizing would change the very patterns measured): evaluate each size apart"
        )
    return next(iter(found))


def _folder_set(root: Path, limit: int | None) -> ImageSet:
    """The folder's images at their own (upright) size, with 1 channel where every readable
    one is greyscale and 3 otherwise, decoded as `dataset=folder` decodes them."""
    files = image_files(root)
    if not files:
        raise ImageSetError(f"{root} holds no image files (.png, .jpg, ...), nor in its folders")
    headers = dict(zip(files, read_headers(files), strict=True))
    readable = [f for f in files if headers[f] is not None]
    if not readable:
        raise ImageSetError(f"{root}: none of its {len(files)} image files could be read")
    w, h = _one_size(root, [headers[f].size for f in readable])
    channels = 1 if all(headers[f].grey for f in readable) else 3
    report_changes(list(headers.values()), f"folder {root}")
    unreadable = [f for f in files if headers[f] is None]
    report_skipped(unreadable, len(files), f"folder {root}", root)
    total, files = len(files), readable[: _count(len(readable), limit)]
    note = f", {len(unreadable)} unreadable skipped" if unreadable else ""
    return ImageSet(
        f"folder {root} ({len(files)} images{note})",
        len(files),
        (channels, h, w),
        lambda size: _decode_files(files, channels, size, (root, total)),
    )


class _Files(torch.utils.data.Dataset):
    def __init__(self, files: list[Path], channels: int) -> None:
        self.files, self.channels = files, channels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor | Path:
        """The file decoded as uint8 (channels, H, W), or its path where it cannot be."""
        img = decode_file(self.files[i])
        return self.files[i] if img is None else convert_channels(img[None], self.channels)[0]


def _stack(items: list[torch.Tensor | Path]) -> tuple[torch.Tensor, list[Path]]:
    """A worker's batch as one uint8 tensor (undecodable files left out, their paths beside):
    one shared buffer to the main process instead of one per image, a quarter of the bytes of
    float32."""
    good = [x for x in items if isinstance(x, torch.Tensor)]
    failed = [x for x in items if isinstance(x, Path)]
    return (torch.stack(good) if good else torch.empty(0, dtype=torch.uint8)), failed


def _decode_files(
    files: list[Path], channels: int, size: int, folder: tuple[Path, int]
) -> Iterator[torch.Tensor]:
    """The files decoded as `dataset=folder` decodes them, as `channels`, in 2 worker
    processes; those whose header read but whose pixels do not decode are skipped, and named
    in one warning at the end. `folder` is (its root, the image files it holds)."""
    workers = 2 if len(files) > size else 0
    loader = torch.utils.data.DataLoader(
        _Files(files, channels), batch_size=size, num_workers=workers, collate_fn=_stack
    )
    skipped: list[Path] = []
    for batch, failed in loader:
        skipped += failed
        if batch.numel():
            yield _to_unit(batch)
    root, total = folder
    report_skipped(skipped, total, f"folder {root}", root)


# Arrays -----------------------------------------------------------------------------------


def _to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 or float (n, C, H, W) -> float32 in [-1, 1]."""
    if images.dtype == torch.uint8:
        return to_signed(images)
    x = images.float()
    low, high = x.min().item(), x.max().item()
    if low < -1 - TOLERANCE or high > 1 + TOLERANCE or not (math.isfinite(low + high)):
        raise ImageSetError(
            f"float images span [{low:.4g}, {high:.4g}]; valid are floats in [-1, 1] or uint8 "
            "in 0..255 (scale [0, 1] floats with x * 2 - 1)"
        )
    return x.clamp(-1.0, 1.0)  # a new tensor: x may be a read-only view of a mapped file


def _layout(shape: tuple[int, ...], dtype: Any, where: str) -> tuple[str, tuple[int, int, int]]:
    """('nhwc' | 'nchw' | 'nhw', (C, H, W)) of an array of `shape`; C = 4 counts as 3."""
    kind = np.dtype(dtype) if not isinstance(dtype, torch.dtype) else dtype
    is_uint8 = kind in (np.uint8, torch.uint8)
    is_float = kind in (
        np.float16,
        np.float32,
        np.float64,
        torch.float16,
        torch.float32,
        torch.float64,
        torch.bfloat16,
    )
    if not (is_uint8 or is_float):
        raise ImageSetError(f"{where}: values of type {kind}; valid are uint8 (0..255) or float")
    if len(shape) == 3:
        return "nhw", (1, shape[1], shape[2])
    if len(shape) == 4:
        last, second = shape[3], shape[1]
        nhwc = last in (1, 3, 4) and (is_uint8 or second not in (1, 3, 4))
        if nhwc:
            return "nhwc", (min(last, 3), shape[1], shape[2])
        if second in (1, 3, 4):
            return "nchw", (min(second, 3), shape[2], shape[3])
    raise ImageSetError(
        f"{where}: an array of shape {tuple(shape)}; valid are N x H x W x C (uint8, C 1, 3 or "
        "4), N x C x H x W (float or uint8) or N x H x W (greyscale)"
    )


def _as_nchw(chunk: torch.Tensor, layout: str) -> torch.Tensor:
    if layout == "nhw":
        chunk = chunk.unsqueeze(1)
    elif layout == "nhwc":
        chunk = chunk.permute(0, 3, 1, 2)
    return _to_unit(chunk[:, :3].contiguous())


def _signed(read: Callable, what: str, dtype: Any) -> Callable:
    """`read`, saying once when a float array's first chunk holds no negative value: such
    images are most likely in [0, 1], which CB, content, FP and the peak do not mind but the
    spectral distance (it compares log powers), SWD and FID/KID (they compare pixel values with
    the real images') do."""
    is_uint8 = dtype in (np.uint8, torch.uint8)

    def checked(size: int) -> Iterator[torch.Tensor]:
        for i, chunk in enumerate(read(size)):
            if i == 0 and not is_uint8 and chunk.numel() and chunk.min() >= 0:
                log.warning(
                    "%s: float values with no negative one in the first %d images: if these "
                    "are [0, 1] images, give x * 2 - 1 (the spectral distance, SWD and FID/KID "
                    "against real images depend on the scale; CB, content, FP and the peak do "
                    "not)",
                    what,
                    chunk.shape[0],
                )
            yield chunk

    return checked


def _array_set(what: str, shape: tuple[int, ...], dtype: Any, rows: Callable, limit: int | None):
    layout, image_shape = _layout(shape, dtype, what)
    count = _count(shape[0], limit)
    if count == 0:
        raise ImageSetError(f"{what}: holds no images (its first axis is 0)")

    def read(size: int) -> Iterator[torch.Tensor]:
        for start in range(0, count, size):
            yield _as_nchw(rows(start, min(start + size, count)), layout)

    return ImageSet(f"{what} ({count} images)", count, image_shape, _signed(read, what, dtype))


def _npy_set(path: Path, limit: int | None) -> ImageSet:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ImageSetError(f"{path}: not a readable .npy array ({err})") from err
    return _array_set(
        str(path),
        array.shape,
        array.dtype,
        lambda a, b: torch.from_numpy(np.array(array[a:b])),  # a copy: the map is read-only
        limit,
    )


def _npz_member(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith(".npy")]
    except (OSError, zipfile.BadZipFile) as err:
        raise ImageSetError(f"{path}: not a readable .npz archive ({err})") from err
    if "arr_0.npy" in names:
        return "arr_0.npy"
    if len(names) == 1:
        return names[0]
    listed = ", ".join(n.removesuffix(".npy") for n in names) or "none"
    raise ImageSetError(f"{path}: holds no `arr_0` and not exactly one array (found: {listed})")


def _npy_header(stream: IO[bytes], where: str) -> tuple[tuple[int, ...], np.dtype]:
    version = np.lib.format.read_magic(stream)
    header = {
        (1, 0): np.lib.format.read_array_header_1_0,
        (2, 0): np.lib.format.read_array_header_2_0,
    }
    if version not in header:
        raise ImageSetError(f"{where}: .npy format version {version} is not supported (1.0, 2.0)")
    shape, fortran, dtype = header[version](stream)
    if fortran:
        raise ImageSetError(f"{where}: a Fortran-ordered array; save it C-ordered")
    return shape, dtype


def _npz_set(path: Path, limit: int | None) -> ImageSet:
    """The archive's array, read row by row from the (possibly compressed) member, so a file of
    50,000 images is never held whole."""
    member = _npz_member(path)
    where = f"{path}:{member.removesuffix('.npy')}"
    with zipfile.ZipFile(path) as archive, archive.open(member) as stream:
        shape, dtype = _npy_header(stream, where)
    layout, image_shape = _layout(shape, dtype, where)
    count = _count(shape[0], limit)
    row = int(np.prod(shape[1:])) * dtype.itemsize

    def read(size: int) -> Iterator[torch.Tensor]:
        with zipfile.ZipFile(path) as archive, archive.open(member) as stream:
            _npy_header(stream, where)
            for start in range(0, count, size):
                n = min(size, count - start)
                data = np.frombuffer(stream.read(n * row), dtype=dtype).reshape(n, *shape[1:])
                yield _as_nchw(torch.from_numpy(data.copy()), layout)

    if count == 0:
        raise ImageSetError(f"{where}: holds no images (its first axis is 0)")
    return ImageSet(f"{where} ({count} images)", count, image_shape, _signed(read, where, dtype))


def _pt_set(path: Path, limit: int | None) -> ImageSet:
    try:
        loaded = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
    except Exception as err:  # torch raises many kinds for a file it cannot read
        raise ImageSetError(f"{path}: not a readable torch file ({err})") from err
    if isinstance(loaded, dict):  # `generate`'s files: {"seeds": ..., "images": ...}
        tensors = [v for v in loaded.values() if isinstance(v, torch.Tensor)]
        loaded = loaded.get("images", tensors[0] if len(tensors) == 1 else loaded)
    if not isinstance(loaded, torch.Tensor):
        raise ImageSetError(
            f"{path}: holds a {type(loaded).__name__}; valid is a tensor, or a dict with an "
            "`images` tensor (as `generate` writes) or with one tensor"
        )
    return _array_set(str(path), tuple(loaded.shape), loaded.dtype, lambda a, b: loaded[a:b], limit)


# The tool's own datasets ------------------------------------------------------------------


def _dataset_set(overrides: list[str], limit: int | None) -> ImageSet:
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    if not any(o.startswith("dataset=") for o in overrides):
        raise ImageSetError(
            f"{' '.join(overrides)!r}: dataset overrides start with dataset=NAME "
            "(dataset=photos dataset.image_size=64)"
        )
    try:
        cfg = validate(compose_config(overrides)).dataset
    except (HydraException, OmegaConfBaseException) as err:
        names = sorted(f.stem for f in (config_dir() / "dataset").glob("*.yaml"))
        raise ImageSetError(
            f"{' '.join(overrides)}: {str(err).splitlines()[0]} (datasets: {', '.join(names)}; "
            "their keys: docs/configuration.md)"
        ) from err
    cfg = settle_channels(cfg)  # a folder's unset channels follow its images
    source = SOURCES.check(cfg)(cfg)
    total = len(source)
    count = _count(total, limit)
    shape = (cfg.channels, cfg.image_size, cfg.image_size)

    def read(size: int) -> Iterator[torch.Tensor]:
        for start in range(0, count, size):
            stop = min(start + size, count)
            if isinstance(source, torch.Tensor):
                yield _to_unit(source[start:stop])
            else:
                items = [source[i] for i in range(start, stop)]
                yield _to_unit(torch.stack([x for x in items if x is not None]))

    return ImageSet(f"dataset {' '.join(overrides)} ({count} images)", count, shape, read)
