"""Image files decoded as an image viewer shows them: the one path by which the tool reads an
image file (`dataset=folder`, and `python -m checkerboard_gan.evaluate` on a folder).

A file becomes uint8 (C, H, W), C = 1 for a greyscale file (L, 1-bit, 16-bit grey, grey with
alpha, a palette of greys) and 3 for any other:
- upright: its EXIF orientation applied (H and W swap for a quarter turn);
- 16-bit samples scaled to 8 bit by their high byte, v >> 8 (65535 -> 255, 32768 -> 128),
  never clipped: the rule PIL itself applies to 16-bit colour PNGs, within 1 of v / 257;
- 32-bit integer samples (PIL's mode I) the same where the file's largest value fits in 16 bits
  (0..65535); a file with larger values is scaled by the bit depth its largest value needs,
  v >> (b - 8) for b bits (a maximum of 100000, 17 bits: v >> 9); negative values read as 0;
- floating-point samples (PIL's mode F, a float TIFF) as a viewer shows them: a file whose
  values all lie within [0, 1] is scaled by 255 (0.5 -> 128), any other is clipped to [0, 255];
  rounded to the nearest integer; non-finite values (nan, inf) read as 0;
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
    "32-bit": (
        "are 32-bit integer, scaled to 8 bit (their high byte of 16 bits where their largest "
        "value fits in 16 bits, else of the bits it needs; negative values read as 0)"
    ),
    "float": "are floating-point",  # the line is FLOAT_LINE's
    "alpha": "have transparency (alpha), dropped: their stored colours are kept",
    "palette": "are palette images, converted to their palette's colours",
    "rotated": "have an EXIF orientation, turned upright as a viewer shows them",
    "CMYK": "are CMYK, converted to RGB",
}
FLOAT_LINE = (
    "are floating-point, read as a viewer shows them: %d with values within [0, 1], scaled by "
    "255, %d with others, clipped to [0, 255]"
)
NON_FINITE = "; %d with non-finite values (nan, inf), read as 0"
SKIPPED_NAMED = 5  # the skipped files a warning names; the rest it counts


@dataclass(frozen=True)
class Header:
    """What a file's header says (and, for a floating-point file, its pixels).

    Attributes:
        size: (W, H) in pixels as decoded, after its EXIF orientation.
        grey: decoded with 1 channel, not 3.
        changes: the keys of CHANGES that decoding applies to it; a floating-point file's also
            "float-unit" where its values lie within [0, 1] and "non-finite" where it holds nan
            or inf.
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


def _grey(img) -> bool:
    raw, mode = _rawmode(img), img.mode
    grey = mode in GREY_MODES or raw.startswith(("L;", "LA;", "I;"))
    return grey or (mode == "P" and _grey_palette(img))


def _float_values(img) -> np.ndarray:
    """float64 (H, W) of a mode-F image as the module's docstring reads it, in [0, 255]."""
    values = np.nan_to_num(np.asarray(img, np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if values.size and values.min() >= 0 and values.max() <= 1:
        values = values * 255
    return values.clip(0, 255)


def _float_kinds(img) -> set[str]:
    """A mode-F image's kinds of change: "float", and "float-unit" (its finite values within
    [0, 1]) and "non-finite" (nan or inf) where they apply, read from its pixels."""
    values = np.asarray(img, np.float64)
    finite = np.isfinite(values)
    inside = values[finite]
    unit = not inside.size or (inside.min() >= 0 and inside.max() <= 1)
    return (
        {"float"}
        | ({"float-unit"} if unit else set())
        | (set() if finite.all() else {"non-finite"})
    )


def _describe(img) -> Header:
    raw, mode, orientation = _rawmode(img), img.mode, _orientation(img)
    alpha = mode in ALPHA_MODES or raw.startswith(("LA;", "RGBA;")) or "transparency" in img.info
    sixteen = ";16" in raw or mode.startswith("I;16")
    changes = {
        "16-bit": sixteen,
        "32-bit": mode == "I" and not sixteen,
        "alpha": alpha,
        "palette": mode in ("P", "PA"),
        "rotated": orientation not in (0, 1),
        "CMYK": mode == "CMYK",
    }
    # the size as stored: Pillow's TIFF reader reports the upright one and keeps this apart
    w, h = getattr(img, "_tile_size", img.size)
    if orientation in (5, 6, 7, 8):  # a quarter turn
        w, h = h, w
    found = {k for k, v in changes.items() if v} | (_float_kinds(img) if mode == "F" else set())
    return Header((w, h), _grey(img), frozenset(found))


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
        if count and kind == "float":
            unit, bad = (
                sum(k in h.changes for h in readable) for k in ("float-unit", "non-finite")
            )
            says = FLOAT_LINE % (unit, count - unit) + (NON_FINITE % bad if bad else "")
        if count:
            log.info("%s: %d of %d files %s", what, count, len(readable), says)


def report_skipped(skipped: list[Path], total: int, what: str, root: Path | None = None) -> None:
    """One warning for the files of `total` that could not be decoded: the first SKIPPED_NAMED
    named (relative to `root` where under it) with why, the first line of the error decoding
    each raises; the rest counted. Nothing where none was skipped."""
    if not skipped:
        return
    named = [
        f"{_relative(path, root)} ({why_undecodable(path)})" for path in skipped[:SKIPPED_NAMED]
    ]
    more = len(skipped) - len(named)
    listed = "; ".join(named) + (f"; and {more} more" if more else "")
    log.warning(
        "%s: skipped %d of %d files that could not be decoded: %s",
        what,
        len(skipped),
        total,
        listed,
    )


def _relative(path: Path, root: Path | None) -> Path:
    return path.relative_to(root) if root is not None and path.is_relative_to(root) else path


def _pixels(img, grey: bool) -> torch.Tensor:
    """uint8 (C, H, W) of an open PIL image, upright, as the module's docstring says."""
    from PIL import ImageOps

    img = ImageOps.exif_transpose(img)
    if img.mode in ("P", "PA"):
        img = img.convert("RGBA")  # the palette's colours, its transparency as alpha
    if img.mode == "F":
        values = np.floor(_float_values(img) + 0.5)
        return torch.from_numpy(values.astype(np.uint8))[None]
    if img.mode.startswith("I"):  # 16-bit, 32-bit integer: the high byte of 16 bits or more
        values = np.asarray(img).astype(np.int64).clip(0, None)
        bits = max(16, int(values.max(initial=0)).bit_length())
        return torch.from_numpy((values >> (bits - 8)).astype(np.uint8))[None]
    if grey:
        return torch.from_numpy(np.array(img.convert("L")))[None]
    return torch.from_numpy(np.array(img.convert("RGB"))).permute(2, 0, 1).contiguous()


def _decode(path: Path) -> tuple[torch.Tensor | None, str]:
    """(the decoded image, "") or (None, the first line of the error, less the path it names)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return _pixels(img, _grey(img)), ""
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        lines = str(err).replace(f" {str(path)!r}", "").strip().splitlines()
        return None, (lines[0] if lines else type(err).__name__)


def decode_file(path: Path) -> torch.Tensor | None:
    """The image in `path` as uint8 (C, H, W), C = 1 for greyscale and 3 for colour, decoded
    as the module's docstring says; None where it cannot be decoded (corrupt, not an image,
    over PIL's size limit): `report_skipped` names such files and says why."""
    return _decode(path)[0]


def why_undecodable(path: Path) -> str:
    """The first line of the error decoding `path` raises ("decoded" where none is raised)."""
    return _decode(path)[1] or "decoded"


def convert_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """uint8 (N, C, H, W) -> uint8 (N, channels, H, W): grey repeated, or RGB to luma."""
    if images.shape[1] == channels:
        return images
    if channels == 3:
        return images.expand(-1, 3, -1, -1)
    luma = (images.float() * LUMA.view(1, 3, 1, 1)).sum(1, keepdim=True)
    return luma.round_().clamp_(0, 255).to(torch.uint8)
