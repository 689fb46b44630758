"""The registry helper: lookup by name, the schema check, configs of a kind."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from checkerboard_gan.config import ConfigError
from checkerboard_gan.registry import Registry


@dataclass
class Plain:
    name: str = "plain"


@dataclass
class Fancy(Plain):
    depth: int = 1


def registry() -> Registry:
    kinds: Registry = Registry("thing.name")
    kinds.register("plain", Plain)(len)
    kinds.register("fancy", Fancy)(abs)
    kinds.register("free")(min)
    return kinds


def test_lookup_returns_the_entry_and_names_the_key_when_unknown():
    kinds = registry()
    assert kinds.lookup("plain") is len and sorted(kinds) == ["fancy", "free", "plain"]
    with pytest.raises(ConfigError, match=r"thing.name='nope' is unknown: valid are fancy, free"):
        kinds.lookup("nope")
    with pytest.raises(ConfigError, match=r"thing.other='nope'"):
        kinds.lookup("nope", "thing.other")


def test_check_refuses_a_config_of_another_schema():
    kinds = registry()
    assert kinds.check(Fancy(name="fancy")) is abs
    assert kinds.check(Plain(name="free")) is min  # no schema: any config
    with pytest.raises(ConfigError, match="reads the fields of Fancy, but this config is a Plain"):
        kinds.check(Plain(name="fancy"))
    with pytest.raises(ConfigError, match="choose the kind with `thing=plain`"):
        kinds.check(Fancy(name="plain"))  # a subclass is another schema too


def test_config_builds_the_kinds_schema_with_its_defaults():
    assert registry().config("fancy", depth=3) == Fancy(name="fancy", depth=3)
    assert registry().config("plain") == Plain(name="plain")


def test_a_name_registered_twice_fails():
    kinds = registry()
    with pytest.raises(ValueError, match="'plain' is registered twice"):
        kinds.register("plain")(max)
