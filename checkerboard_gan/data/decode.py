"""Image files decoded as an image viewer shows them: the one path by which the tool reads an
image file (`dataset=folder`, and `python -m checkerboard_gan.evaluate` on a folder).

A file becomes uint8 (C, H, W), C = 1 for a greyscale file (L, 1-bit, 16-bit grey, grey with
alpha, a palette of greys) and 3 for any other:
- upright: its EXIF orientation applied (H and W swap for a quarter turn);
- 16-bit samples scaled to 8 bit by their high byte, v >> 8 (65535 -> 255, 32768 -> 128),
  never clipped: the rule PIL itself applies to 16-bit colour PNGs, within 1 of v / 257;
- palette (P) images converted to their palette's colours;
- alpha (RGBA, LA, a palette's or a colour key's transparency) dropped: the stored colours are
  kept, those of transparent pixels included, as an array's 4th channel is dropped and as
  StyleGAN's and ADM's dataset tools read files;
- CMYK converted to RGB.

Every format is decoded by PIL (`ImageOps.exif_transpose`, then the conversions above), with
its decompression-bomb limit. Not torchvision's `decode_image`: torchvision 0.29 deprecates its
image decoding (a DeprecationWarning on every call, removal announced, TorchCodec its
successor), and one decoder gives every format the same rules.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)

LUMA = torch.tensor([0.299, 0.587, 0.114])  # ITU-R 601, as PIL's convert("L")
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
ORIENTATION = 0x0112  # the EXIF tag
# What decoding does that changes the pixels a file holds, by kind, as the log says it.
CHANGES = {
    "16-bit": "are 16-bit, scaled to 8 bit (their high byte)",
    "alpha": "have transparency (alpha), dropped: their stored colours are kept",
    "palette": "are palette images, converted to their palette's colours",
    "rotated": "have an EXIF orientation, turned upright as a viewer shows them",
    "CMYK": "are CMYK, converted to RGB",
}


@dataclass(frozen=True)
class Header:
    """What a file's header says.

    Attributes:
        size: (W, H) in pixels as decoded, after its EXIF orientation.
        grey: decoded with 1 channel, not 3.
        changes: the keys of CHANGES that decoding applies to it.
    """

    size: tuple[int, int]
    grey: bool
    changes: frozenset[str]


def _rawmode(img) -> str:
    """The sample layout in the file (PNG's `I;16B`, `LA;16B`, `RGB;16B`), else PIL's mode."""
    args = img.tile[0].args if img.tile else None
    if isinstance(args, tuple):
        args = args[0] if args else None
    return args if isinstance(args, str) else img.mode


def _orientation(img) -> int:
    """The EXIF orientation (1 upright, 2-8 mirrored or turned), read without decoding: a PNG's
    eXIf chunk before its pixels (one after them is read only by decoding, and so not counted)."""
    if img.format == "PNG" and "exif" not in img.info:
        return 1
    return int(img.getexif().get(ORIENTATION, 1) or 1)


def _grey_palette(img) -> bool:
    colours = np.asarray(img.getpalette() or [0, 0, 1]).reshape(-1, 3)
    return bool((colours == colours[:, :1]).all())


def _describe(img) -> Header:
    raw, mode, orientation = _rawmode(img), img.mode, _orientation(img)
    grey = mode in GREY_MODES or raw.startswith(("L;", "LA;", "I;"))
    grey = grey or (mode == "P" and _grey_palette(img))
    alpha = mode in ALPHA_MODES or raw.startswith(("LA;", "RGBA;")) or "transparency" in img.info
    changes = {
        "16-bit": ";16" in raw or mode.startswith("I"),
        "alpha": alpha,
        "palette": mode in ("P", "PA"),
        "rotated": orientation not in (0, 1),
        "CMYK": mode == "CMYK",
    }
    # the size as stored: Pillow's TIFF reader reports the upright one and keeps this apart
    w, h = getattr(img, "_tile_size", img.size)
    if orientation in (5, 6, 7, 8):  # a quarter turn
        w, h = h, w
    return Header((w, h), grey, frozenset(k for k, v in changes.items() if v))


def read_header(path: Path) -> Header | None:
    """The file's Header, or None where PIL cannot read it (or it is over PIL's size limit)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return _describe(img)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None


@functools.lru_cache(maxsize=4)
def _headers(files: tuple[tuple[str, int, int], ...]) -> tuple[Header | None, ...]:
    return tuple(read_header(Path(name)) for name, _, _ in files)


def read_headers(files: list[Path]) -> list[Header | None]:
    """Each file's Header (None where unreadable); cached by path, size and modification time,
    so the run that decides its channels and then reads its data opens each header once."""
    return list(_headers(tuple(_identity(f) for f in files)))


def _identity(path: Path) -> tuple[str, int, int]:
    try:
        stat = path.stat()
    except OSError:  # gone or unreadable: its header reads as None
        return str(path), -1, -1
    return str(path), stat.st_size, stat.st_mtime_ns


def report_changes(headers: list[Header | None], what: str) -> None:
    """Log once per kind of change how many of the files decoding changes (`what: 12 of 40
    files are 16-bit, scaled to 8 bit`): they change what the images measure."""
    readable = [h for h in headers if h is not None]
    for kind, says in CHANGES.items():
        count = sum(kind in h.changes for h in readable)
        if count:
            log.info("%s: %d of %d files %s", what, count, len(readable), says)


def _pixels(img, grey: bool) -> torch.Tensor:
    """uint8 (C, H, W) of an open PIL image, upright, as the module's docstring says."""
    from PIL import ImageOps

    img = ImageOps.exif_transpose(img)
    if img.mode in ("P", "PA"):
        img = img.convert("RGBA")  # the palette's colours, its transparency as alpha
    if img.mode.startswith("I"):  # 16-bit (and 32-bit integer) greyscale: the high byte
        high = np.asarray(img).astype(np.int64).clip(0, 65535) >> 8
        return torch.from_numpy(high.astype(np.uint8))[None]
    if grey:
        return torch.from_numpy(np.array(img.convert("L")))[None]
    return torch.from_numpy(np.array(img.convert("RGB"))).permute(2, 0, 1).contiguous()


def decode_file(path: Path) -> torch.Tensor | None:
    """The image in `path` as uint8 (C, H, W), C = 1 for greyscale and 3 for colour, decoded
    as the module's docstring says; None (with a warning for one over PIL's size limit) where
    it cannot be decoded."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return _pixels(img, _describe(img).grey)
    except Image.DecompressionBombError as err:
        log.warning("skipping %s: %s", path, str(err).splitlines()[0])
        return None
    except (OSError, ValueError, SyntaxError):
        return None


def convert_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """uint8 (N, C, H, W) -> uint8 (N, channels, H, W): grey repeated, or RGB to luma."""
    if images.shape[1] == channels:
        return images
    if channels == 3:
        return images.expand(-1, 3, -1, -1)
    luma = (images.float() * LUMA.view(1, 3, 1, 1)).sum(1, keepdim=True)
    return luma.round_().clamp_(0, 255).to(torch.uint8)
