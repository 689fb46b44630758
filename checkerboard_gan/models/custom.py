"""Your own classes in the model (docs/custom.md): import the class a config key names, call it,
check what it returns, and build its all-ones geometry where its parameters allow one.

Every failure of your code at build is one `ConfigError` naming the key, the class and what went
wrong, so the command line exits 2 with that message before any run folder is written.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from checkerboard_gan.config import ConfigError

IMPORTABLE = "the module must be importable from the folder the command is started in or PYTHONPATH"


class OverlapUnavailable(Exception):
    """A stage or generator whose overlap map cannot be built; the message says why."""


def import_target(target: str, key: str) -> type:
    """The class `PKG.MODULE.CLASS` names; an import failure names `key` (the config key and
    its value, e.g. `upsample.target=PKG.MODULE.CLASS`) and the cause."""
    module_name, _, name = target.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # ImportError, or an error inside the user's module
        raise ConfigError(
            f"{key} cannot be imported: module {module_name!r} failed with "
            f"{type(err).__name__}: {err} ({IMPORTABLE})"
        ) from err
    found = getattr(module, name, None)
    if not callable(found):
        raise ConfigError(f"{key} cannot be imported: module {module_name!r} has no class {name!r}")
    return found


def instantiate(
    target: str, key: str, given: dict[str, Any], extra: dict[str, Any], extra_key: str
) -> nn.Module:
    """`target` called with the keyword arguments the program gives (`given`) and the user's
    `extra` ones (config key `extra_key`); it must return an nn.Module."""
    clash = sorted(set(given) & set(extra))
    if clash:
        raise ConfigError(
            f"{extra_key}.{clash[0]} is given by the program already ({', '.join(given)}): "
            f"remove it from {extra_key}"
        )
    cls = import_target(target, key)
    kwargs = {**given, **extra}
    called = f"{target}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
    try:
        module = cls(**kwargs)
    except Exception as err:
        raise ConfigError(f"{key}: {called} failed with {type(err).__name__}: {err}") from err
    if not isinstance(module, nn.Module):
        raise ConfigError(f"{key}: {called} returned a {type(module).__name__}, not an nn.Module")
    return module


def check_output(
    module: nn.Module, x: torch.Tensor, expected: tuple[int, ...], what: str, key: str
) -> None:
    """Run `module` once on `x` (eval mode, no gradient: its state is unchanged) and refuse an
    output whose shape is not `expected`. `what` says what the output must be."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            y = module(x)
    except Exception as err:
        raise ConfigError(
            f"{key}: {type(module).__name__} failed on an input of shape {tuple(x.shape)}: "
            f"{type(err).__name__}: {err}"
        ) from err
    finally:
        module.train(was_training)
    shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
    if shape != expected:
        raise ConfigError(
            f"{key}: {type(module).__name__} must {what}: on an input of shape "
            f"{tuple(x.shape)} it returned {shape}, expected {expected}"
        )


Geometry = Callable[[torch.Tensor], torch.Tensor]


def all_ones_geometry(build: Callable[[], nn.Module], label: str) -> Geometry:
    """The geometry of a stage `build` makes with one channel in and out: in float64, eval
    mode, parameters named `*bias` set to 0 and every other parameter to 1, on all-ones inputs.

    Raises OverlapUnavailable (saying why) where it cannot be built, has no parameters, raises,
    or is not linear (an odd and homogeneous response to the all-ones input is checked);
    the returned function raises it where the stage fails on a larger input."""
    try:
        stage = build().double().eval()
    except Exception as err:
        raise OverlapUnavailable(f"{label} cannot be built with one channel: {err}") from err
    params = list(stage.named_parameters())
    if not params:
        raise OverlapUnavailable(f"{label} has no parameters to set to ones")
    with torch.no_grad():
        for name, param in params:
            param.fill_(0.0 if name.endswith("bias") else 1.0)

    def geometry(y: torch.Tensor) -> torch.Tensor:
        try:
            with torch.no_grad():
                return stage(y)
        except Exception as err:
            raise OverlapUnavailable(
                f"{label} failed on an all-ones input with all-ones weights: "
                f"{type(err).__name__}: {err}"
            ) from err

    ones = torch.ones(1, 1, 8, 8, dtype=torch.float64)
    once = geometry(ones)
    linear = torch.allclose(geometry(-ones), -once) and torch.allclose(geometry(2 * ones), 2 * once)
    if not linear:
        raise OverlapUnavailable(
            f"{label} is not linear with all-ones weights and zero biases (f(-x) != -f(x) or "
            "f(2x) != 2 f(x)), so kernel-tap paths do not count its output"
        )
    return geometry
