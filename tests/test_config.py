"""Config schema: every group option composes; bad values fail early with a clear message."""

from __future__ import annotations

import pytest

from checkerboard_gan.cli import config_dir
from checkerboard_gan.config import ConfigError, SubpixelConfig

from .conftest import compose_config

GROUP_OPTIONS = [
    (group.name, path.stem)
    for group in sorted(config_dir().iterdir())
    if group.is_dir() and group.name != "experiment"  # presets: tests/test_sweep.py
    for path in sorted(group.glob("*.yaml"))
]


def test_groups_hold_the_documented_kinds():
    names = {(g, o) for g, o in GROUP_OPTIONS}
    for kind in ("deconv", "nearest", "bilinear", "subpixel"):
        assert ("upsample", kind) in names
    assert {("disc", "strided"), ("disc", "avgpool"), ("dataset", "shapes")} <= names


@pytest.mark.parametrize(("group", "option"), GROUP_OPTIONS)
def test_every_group_option_composes(group, option, tmp_path):
    extra = [f"dataset.root={tmp_path}"] if option == "folder" else []
    cfg = compose_config(f"{group}={option}", *extra, tiny=group != "dataset")
    assert getattr(cfg, group).name == option


def test_defaults_match_the_documentation():
    cfg = compose_config(tiny=False)
    assert (cfg.upsample.name, cfg.upsample.kernel, cfg.upsample.stride) == ("deconv", 3, 2)
    assert (cfg.disc.name, cfg.disc.kernel, cfg.disc.stride) == ("avgpool", 3, 2)
    strided = compose_config("disc=strided").disc
    assert (strided.kernel, strided.stride) == (4, 2)
    assert (cfg.dataset.name, cfg.dataset.image_size, cfg.dataset.channels) == ("shapes", 32, 3)
    assert (cfg.model.z_dim, cfg.model.norm, cfg.train.batch_size) == (100, "batch", 64)
    assert tuple(cfg.train.betas) == (0.5, 0.999) and cfg.train.loss == "bce"
    assert cfg.log.num_samples == 64 and cfg.device == "auto"
    assert compose_config("upsample=nearest").upsample.kernel == 3
    sub = compose_config("upsample=subpixel", "upsample.icnr=true").upsample
    assert isinstance(sub, SubpixelConfig) and sub.icnr and sub.kernel == 3


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("upsample.kernel=0", "upsample.kernel=0"),
        ("upsample.stride=0", "upsample.stride=0"),
        ("disc.kernel=-1", "disc.kernel=-1"),
        ("dataset.image_size=0", "dataset.image_size=0"),
        ("train.lr_g=0", "train.lr_g=0"),
        ("train.batch_size=0", "train.batch_size=0"),
        ("log.every=0", "log.every=0"),
        ("upsample.stride=3", "dataset.image_size=16"),
        ("disc.stride=3", "disc.stride=3"),
        ("upsample.last_n=7", "upsample.last_n=7"),
        ("+model.foo=1", "model.foo"),
        ("device=tpu", "device='tpu'"),
        ("train.betas=[0.5]", "train.betas"),
    ],
)
def test_bad_values_name_the_key_and_value(override, expected):
    with pytest.raises(ConfigError, match=expected.replace("+", r"\+")):
        compose_config(override)
