"""Checkpoints: tensors and plain data only, written atomically, read without unpickling code.

A run folder keeps `checkpoints/last.pt` and the one before it, `checkpoints/previous.pt`, so
a checkpoint damaged by a crash or a full disk never leaves the run without one to resume from.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import random
import re
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch

from checkerboard_gan.config import ConfigError
from checkerboard_gan.rundir.folder import atomic_write_bytes
from checkerboard_gan.rundir.schema import SchemaError, check_checkpoint, sniff

log = logging.getLogger(__name__)

LAST, PREVIOUS = "last.pt", "previous.pt"
# torch's refusal of a global outside tensors and plain data, naming a real dotted name (random
# bytes that happen to hold a GLOBAL opcode name garbage, and are corrupt, not pickled)
PICKLED = re.compile(r"Unsupported global: GLOBAL [A-Za-z_][\w.]*\.[A-Za-z_]\w* was not")
WHAT = "a torch zip file written by this tool: checkpoints/last.pt"
FOLDER = 0x10  # an entry's MS-DOS folder bit: torch writes none, and reads such an entry as empty
SNIFFED = 512  # the leading bytes that say what a file that is not a zip archive holds
REASON_CHARS = 120  # a reason quoted from zipfile or torch is cut to its first sentence and this


class CheckpointError(ConfigError):
    """A checkpoint that cannot be used; the message names the file and why."""


def save_checkpoint(folder: Path, state: dict[str, Any]) -> Path:
    """Write `state` as folder/last.pt (temporary file, fsync, rename); the former last.pt
    becomes previous.pt."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    folder = Path(folder)
    tmp = folder / f".next.{os.getpid()}.pt"
    atomic_write_bytes(tmp, buffer.getvalue())
    if (folder / LAST).exists():
        os.replace(folder / LAST, folder / PREVIOUS)
    os.replace(tmp, folder / LAST)
    return folder / LAST


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read one checkpoint onto the CPU with `weights_only=True` and check its structure.
    load_state_dict moves weights and optimiser state to the models' device.

    The file is opened once; before torch parses it, its first bytes must be a zip archive's and
    every entry must match the CRC-32 the zip stores for it (`verify_archive`), so a flipped
    byte anywhere in the data is "corrupt", never weights that differ in silence. Only a
    readable file that names a global outside the allowed tensors and plain data is "pickled".

    Raises:
        CheckpointError: the file is pickled, or corrupt (empty, unrecognised bytes, cut off,
            an entry whose CRC-32 does not match, bytes torch cannot parse).
        SchemaError: it holds something else: JSON or other text, an image, an old-format
            pickle (`verify_archive`), or a parsed value that is not a checkpoint (a sample
            file's tensor, a dict without the generator, ...).
    """
    return check_checkpoint(_read(path), path)


def verify_archive(file: BinaryIO, path: Path) -> None:
    """Check that `file`, the checkpoint file `path` open for reading, is a whole zip archive
    whose every entry matches its stored CRC-32 (reads them all: about 3 ms for 5 MB), and that
    no entry is marked a folder (torch would read such an entry as empty).

    Raises:
        CheckpointError: the file is empty, unrecognised bytes, not a whole zip archive, or an
            entry's bytes do not match its CRC-32 (the message: `checkpoint PATH cannot be
            read (truncated or corrupt: REASON)`, one line).
        SchemaError: the file is something else, said from its first bytes: JSON text, plain
            text, a PNG or JPEG image, a pickle, ...
    """
    head = file.read(SNIFFED)
    what = sniff(head)
    if what in ("an empty file", "unrecognised bytes"):
        raise _corrupt(path, "the file is empty" if not head else "unrecognised bytes")
    if what != "a zip archive":
        raise SchemaError(f"{path} holds {what}, not a checkpoint ({WHAT})")
    try:
        with zipfile.ZipFile(file) as archive:
            damaged = archive.testzip() or next(
                (i.filename for i in archive.infolist() if i.external_attr & FOLDER), None
            )
    except Exception as err:  # a damaged archive structure breaks zipfile in many ways
        reason = f"a damaged zip structure: {_reason(err)}"
        if str(err) == "File is not a zip file":  # the zip's index, at its end, is not found
            reason = "the end of the zip archive (its central directory) is missing or damaged"
        raise _corrupt(path, reason) from err
    if damaged is not None:
        raise _corrupt(path, f"its entry {damaged} does not match its stored CRC-32 or attributes")


def _read(path: Path) -> Any:
    """The checkpoint's contents, the file opened once: verified, then parsed by torch."""
    try:
        with open(path, "rb") as file:
            verify_archive(file, path)
            file.seek(0)
            return _parse(file, path)
    except OSError as err:
        raise CheckpointError(f"checkpoint {path} cannot be read ({err.strerror})") from err


def _parse(file: BinaryIO, path: Path) -> Any:
    try:
        return torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if PICKLED.search(str(err)):
            raise CheckpointError(
                f"checkpoint {path} holds pickled Python objects, not only tensors and plain "
                "data; refusing to load it, since unpickling could run code from whoever made "
                "the file"
            ) from err
        raise _corrupt(path, "its bytes are not a checkpoint's data") from err
    except Exception as err:  # arbitrary bytes can break the unpickler in any way: corrupt
        raise _corrupt(path, _reason(err)) from err


def _corrupt(path: Path, reason: str) -> CheckpointError:
    return CheckpointError(f"checkpoint {path} cannot be read (truncated or corrupt: {reason})")


def _reason(err: Exception) -> str:
    """The first sentence of an exception's message, on one line and at most REASON_CHARS
    long (torch appends paragraphs of advice to its miniz errors)."""
    text = " ".join(str(err).split()) or type(err).__name__
    first = re.split(r"(?<=[a-z)\]'])\. ", text, maxsplit=1)[0].rstrip(".")
    return first if len(first) <= REASON_CHARS else first[: REASON_CHARS - 3].rstrip() + "..."


def find_checkpoint(target: Path) -> Path | None:
    """The checkpoint a path designates: a file itself, or a run folder's checkpoints/last.pt
    (previous.pt if last.pt is missing)."""
    target = Path(target).expanduser()
    if target.is_file():
        return target
    folder = target / "checkpoints" if (target / "checkpoints").is_dir() else target
    for name in (LAST, PREVIOUS):
        if (folder / name).is_file():
            return folder / name
    return None


def load_latest(path: Path) -> tuple[dict[str, Any], Path]:
    """Load `path`, or, if it is corrupt and a previous checkpoint sits beside it, that one
    (with a warning naming both); returns the state and the file it came from. A pickled
    checkpoint, or one of the wrong structure, is refused, never skipped.

    Raises:
        CheckpointError: pickled, or corrupt without a readable previous.pt.
        SchemaError: the file holds something other than a checkpoint.
    """
    try:
        return load_checkpoint(path), path
    except CheckpointError as err:
        fallback = path.with_name(PREVIOUS)
        if path.name != LAST or not fallback.is_file() or "pickled" in str(err):
            raise
        log.warning("%s; using the previous checkpoint %s", err, fallback)
        return load_checkpoint(fallback), fallback


def rng_states() -> dict[str, Any]:
    """Every global RNG: torch CPU and CUDA, numpy, python (as tensors and plain data)."""
    np_state = np.random.get_state(legacy=False)
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            **np_state,
            "state": {
                "key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
                "pos": np_state["state"]["pos"],
            },
        },
        "python": random.getstate(),
    }


def set_rng_states(states: dict[str, Any]) -> None:
    """Restore `rng_states()` from a checkpoint loaded on the CPU (RNG states are CPU tensors)."""
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    np_state = dict(states["numpy"])
    np_state["state"] = {
        "key": np_state["state"]["key"].numpy().astype(np.uint32),
        "pos": np_state["state"]["pos"],
    }
    np.random.set_state(np_state)
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
