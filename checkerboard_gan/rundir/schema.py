"""The structure of every file this tool reads back, checked in one place before it is used: a
checkpoint, a probe's samples or input gradient, an evaluation's fingerprint tiles, and
metrics.json.

A file that parses but holds something else (a sample file given as a checkpoint, a list as
metrics.json, a checkpoint without its generator) is one SchemaError naming the file, what it
holds and what was expected, never an IndexError or KeyError deep inside a reader. Commands end
on it with exit 2; readers of many runs (the sweep summary, the report) show that run as
unreadable.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checkerboard_gan.config import ConfigError

if TYPE_CHECKING:
    import torch


class SchemaError(ConfigError):
    """A file of the wrong structure, or one that cannot be parsed; the message names the file,
    what it holds and what was expected."""


Field = tuple[str, Callable[[Any], bool]]  # what is expected, in words; its test


def describe(value: Any) -> str:
    """What a value is, in a few words: `a float32 tensor of shape (16, 3, 16, 16)`, `a dict
    with keys seeds, images`, `a list of 3 items`, `an int`."""
    if _tensor(value):
        return f"a {str(value.dtype).removeprefix('torch.')} tensor of shape {tuple(value.shape)}"
    if isinstance(value, dict):
        keys = ", ".join(str(k) for k in list(value)[:8]) + (", ..." if len(value) > 8 else "")
        return f"a dict with keys {keys}" if value else "an empty dict"
    if isinstance(value, list | tuple):
        return f"a {type(value).__name__} of {len(value)} items"
    if value is None:
        return "null"
    name = type(value).__name__
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


# What a file's first bytes are -----------------------------------------------------------

ZIP_MAGIC = b"PK\x03\x04"
_SIGNATURES = {  # leading bytes -> what a file starting with them holds
    b"\x89PNG\r\n\x1a\n": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x93NUMPY": "a NumPy array file (.npy)",
    b"\x1f\x8b": "gzip-compressed data",
    **{
        b"\x80" + bytes([v]): "a pickle (a torch file of the old, non-zip format)"
        for v in (2, 3, 4, 5)
    },
}
_TEXT_CONTROLS = set(range(32)) - {9, 10, 12, 13}


def sniff(head: bytes) -> str:
    """What a file starting with `head` (its first few hundred bytes) holds, in a few words:
    `a zip archive`, `an empty file`, `JSON text`, `plain text (YAML or similar)`, `a PNG
    image`, `a JPEG image`, `a pickle (...)`, ..., else `unrecognised bytes`."""
    if not head:
        return "an empty file"
    if head.startswith(ZIP_MAGIC) or ZIP_MAGIC.startswith(head):  # a whole or cut-off zip
        return "a zip archive"
    for signature, what in _SIGNATURES.items():
        if head.startswith(signature):
            return what
    if not _text(head):
        return "unrecognised bytes"
    return "JSON text" if head.lstrip()[:1] in (b"{", b"[") else "plain text (YAML or similar)"


def _text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:  # a character cut by the end of `head` is still text
        if err.start < len(head) - 3 or err.reason != "unexpected end of data":
            return False
    return not _TEXT_CONTROLS.intersection(head)


# Tests of one value each ------------------------------------------------------------------


def _tensor(v: Any) -> bool:
    # No value is a tensor before torch is imported: the command line reads metrics.json
    # through here, and imports torch only once the config is known good.
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(v, torch.Tensor)


def _integer(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _number(v: Any) -> bool:
    return v is None or (isinstance(v, int | float) and not isinstance(v, bool))


def _uint8(v: Any) -> bool:
    return _tensor(v) and str(v.dtype) == "torch.uint8"


def _has(v: Any, *keys: str) -> bool:
    return isinstance(v, dict) and all(k in v for k in keys)


def _image(v: Any, dims: int) -> bool:
    return _tensor(v) and v.dim() == dims and v.is_floating_point()


def _state_dict(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(k, str) and _tensor(t) for k, t in v.items())


def _optimiser(v: Any) -> bool:
    return (
        isinstance(v, dict)
        and isinstance(v.get("state"), dict)
        and isinstance(v.get("param_groups"), list)
    )


def _config(v: Any) -> bool:
    return isinstance(v, dict) and all(
        isinstance(v.get(g), dict) and isinstance(v[g].get("name"), str)
        for g in ("upsample", "disc", "dataset")
    )


def _entries(test: Callable[[dict[str, Any]], bool]) -> Callable[[Any], bool]:
    """A list of dicts, each with an integer `step` and passing `test`."""
    return lambda v: (
        isinstance(v, list)
        and all(isinstance(e, dict) and _integer(e.get("step")) and test(e) for e in v)
    )


def _evaluation(e: dict[str, Any]) -> bool:
    blocks = ("fake", "real", "intervals", "quality", "quality_floor")
    return all(isinstance(e.get(b) or {}, dict) for b in blocks)


def _periods(v: Any) -> bool:
    return not v or (
        isinstance(v, dict)
        and all(
            isinstance(v.get(n), dict) and all(_integer(v[n].get(k)) for k in ("finest", "total"))
            for n in ("generator", "discriminator")
        )
    )


CHECKPOINT: dict[str, Field] = {
    "generator": ("the generator's state dict (names -> tensors)", _state_dict),
    "discriminator": ("the discriminator's state dict (names -> tensors)", _state_dict),
    "opt_g": ("an optimiser state (state, param_groups)", _optimiser),
    "opt_d": ("an optimiser state (state, param_groups)", _optimiser),
    "step": ("an integer >= 0", _integer),
    "losses": ("the 2 loss sums", lambda v: _tensor(v) and v.shape == (2,)),
    "noise": ("an RNG state (a uint8 tensor)", _uint8),
    "rng": ("the RNG states (torch, cuda, numpy, python)", lambda v: _has(v, "torch", "python")),
    "config": ("the run's config (upsample, disc and dataset with their names, ...)", _config),
}

RECORD: dict[str, Field] = {  # every key optional: readers take what is there
    "status": ("a status (running, completed, ...)", lambda v: isinstance(v, str)),
    "steps": ("an integer >= 0 or null", lambda v: v is None or _integer(v)),
    "probes": ("a list of probes (each a dict with an integer step)", _entries(lambda e: True)),
    "evaluations": (
        "a list of evaluations (each a dict with an integer step and fake, real, ... blocks)",
        _entries(_evaluation),
    ),
    "periods": ("the periods (generator and discriminator: finest, total)", _periods),
    "resumed_at": ("a list of steps", lambda v: isinstance(v, list) and all(map(_integer, v))),
    "overrides": ("a list of overrides", lambda v: isinstance(v, list)),
    "error": ("an error line", lambda v: isinstance(v, str)),
    **{
        k: ("a number", _number)
        for k in ("wall_s", "probe_s", "loop_s", "throughput_img_s", "final_loss_d", "final_loss_g")
    },
}

FINGERPRINT: dict[str, Field] = {
    "step": ("an integer >= 0", _integer),
    "fake": ("a tile (C, P, P)", lambda v: _image(v, 3)),
    "fake_variance": ("a number", _number),
    "real": ("a tile (C, P, P) or null", lambda v: v is None or _image(v, 3)),
    "real_variance": ("a number or null", _number),
}


# The checks ---------------------------------------------------------------------------------


def check(
    value: Any, fields: Mapping[str, Field], path: Path, kind: str, required: bool = True
) -> dict[str, Any]:
    """`value` as a dict whose keys pass `fields` (all present unless not `required`).

    Raises:
        SchemaError: not a dict, a key missing, or a key holding something else; the message
            names `path`, what it holds and what `kind` holds.
    """
    expected = f"{kind} (a dict of {', '.join(fields)})" if required else f"{kind} (a dict)"
    if not isinstance(value, dict):
        raise SchemaError(f"{path} holds {describe(value)}, not {expected}")
    missing = [k for k in fields if required and k not in value]
    if missing:
        raise SchemaError(
            f"{path} is not {kind}: it lacks {', '.join(missing)} (it holds {describe(value)})"
        )
    for key, (what, test) in fields.items():
        if key in value and not test(value[key]):
            raise SchemaError(
                f"{path} is not {kind}: its {key!r} holds {describe(value[key])}, where {what} "
                "was expected"
            )
    return value


def check_checkpoint(state: Any, path: Path) -> dict[str, Any]:
    """A loaded checkpoint, checked: models, optimisers, step, loss sums, RNG states, config.

    Raises:
        SchemaError: `state` is not a checkpoint (a sample file's tensor, a dict without the
            generator, ...).
    """
    return check(state, CHECKPOINT, path, "a checkpoint")


def check_record(data: Any, path: Path) -> dict[str, Any]:
    """A parsed metrics.json, checked: a dict whose known keys hold what readers index.

    Raises:
        SchemaError: not a dict (a list, a number), or a known key of another type.
    """
    return check(data, RECORD, path, "a run record", required=False)


def _load(path: Path, kind: str) -> Any:
    """torch.load with `weights_only=True` onto the CPU.

    Raises:
        SchemaError: the file cannot be read (truncated, corrupt, or pickled objects).
    """
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many kinds for a file it cannot read
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise SchemaError(f"{path} cannot be read as {kind} ({first})") from err


def load_images(path: Path, kind: str = "samples") -> torch.Tensor:
    """A probe's samples or input gradient file: a floating tensor (N, C, H, W).

    Raises:
        SchemaError: unreadable, or holding anything else (a dict, a tensor of other rank).
    """
    value = _load(path, kind)
    if not _image(value, 4):
        raise SchemaError(f"{path} holds {describe(value)}, not {kind} (a float tensor N, C, H, W)")
    return value


def load_fingerprint(path: Path) -> dict[str, Any]:
    """An evaluation's fingerprint tiles (`eval/fingerprint_step_XXXXXXX.pt`), checked.

    Raises:
        SchemaError: unreadable, or not a dict of step, fake, fake_variance, real, real_variance.
    """
    return check(_load(path, "fingerprint tiles"), FINGERPRINT, path, "fingerprint tiles")
