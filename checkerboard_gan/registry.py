"""Kinds found by name: one small registry type for upsamplers, downsamplers, datasets, losses.

Each registry is named after the config key that selects from it (e.g. `upsample.name`), so an
unknown name fails with that key, the value and the valid names. An entry may also name the
typed config (schema) its kind reads; a config of another schema then fails the same way, since
the kind would read fields that config does not declare.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from checkerboard_gan.config import ConfigError

T = TypeVar("T")


class Registry(dict[str, T], Generic[T]):
    """name -> entry (a class or a function), filled by `register`; `key` is the config key."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        self.schemas: dict[str, type] = {}

    def register(self, name: str, schema: type | None = None) -> Callable[[T], T]:
        """Decorator adding the entry under `name`; `schema`: the config dataclass it reads."""

        def add(entry: T) -> T:
            if name in self:
                raise ValueError(f"{self.key}: {name!r} is registered twice")
            self[name] = entry
            if schema is not None:
                self.schemas[name] = schema
            return entry

        return add

    def lookup(self, name: str, key: str | None = None) -> T:
        """The entry of `name`; an unknown one fails naming `key` (default: the registry's)."""
        if name not in self:
            raise ConfigError(
                f"{key or self.key}={name!r} is unknown: valid are {', '.join(sorted(self))}"
            )
        return self[name]

    def check(self, cfg: Any) -> T:
        """The entry of `cfg.name`, after checking that `cfg` is of the schema that kind reads."""
        entry = self.lookup(cfg.name)
        schema = self.schemas.get(cfg.name)
        if schema is not None and type(cfg) is not schema:
            group = self.key.split(".")[0]
            raise ConfigError(
                f"{self.key}={cfg.name!r} reads the fields of {schema.__name__}, but this config "
                f"is a {type(cfg).__name__}: choose the kind with `{group}={cfg.name}` rather "
                f"than by overriding `{self.key}`"
            )
        return entry

    def config(self, name: str, key: str | None = None, **fields: Any) -> Any:
        """A config of kind `name` in the schema it reads, `fields` set and the rest defaults."""
        self.lookup(name, key)
        return self.schemas[name](name=name, **fields)
