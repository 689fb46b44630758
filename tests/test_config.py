"""Config schema: every group option composes and builds; bad values fail early, clearly."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from hydra.errors import ConfigCompositionException

from checkerboard_gan.config import (
    BlurPoolConfig,
    ConfigError,
    DeconvConfig,
    FilteredConfig,
    SubpixelConfig,
    UpsampleConfig,
    config_dir,
    flat_config,
    num_stages,
    with_defaults,
)
from checkerboard_gan.data.sources import SOURCES
from checkerboard_gan.models.downsampling import build_downsample
from checkerboard_gan.models.upsampling import build_upsample

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
def test_every_group_option_composes_and_builds_through_its_registry(group, option, tmp_path):
    """The YAML's `name` is a registry key and its schema the one that kind reads: stages are
    built; a dataset's source is looked up (building it would read files)."""
    extra = [f"dataset.root={tmp_path}"] if option == "folder" else []
    cfg = compose_config(f"{group}={option}", *extra, tiny=group != "dataset")
    node = getattr(cfg, group)
    assert node.name == option
    if group == "upsample":
        assert build_upsample(4, 3, node)(torch.randn(1, 4, 4, 4)).shape[-1] == 4 * node.stride
    elif group == "disc":
        assert build_downsample(3, 4, node)(torch.randn(1, 3, 8, 8)).shape[-1] == 8 // node.stride
    else:
        assert callable(SOURCES.check(node))


def test_kinds_compose_with_their_defaults():
    up = compose_config("upsample=filtered").upsample
    assert isinstance(up, FilteredConfig) and up.filter is None and (up.kernel, up.stride) == (3, 2)
    up = compose_config("upsample=filtered", "upsample.filter=[1,4,6,4,1]").upsample
    assert up.filter == [1, 4, 6, 4, 1]
    disc = compose_config("disc=blurpool").disc
    assert isinstance(disc, BlurPoolConfig) and disc.filter is None
    assert (disc.kernel, disc.stride, disc.first_stride_only) == (3, 2, False)
    assert disc.other == "avgpool"
    for kind in ("deconv", "subpixel"):
        assert compose_config(f"upsample={kind}", "upsample.blur=true").upsample.blur is True
        assert compose_config(f"upsample={kind}").upsample.blur is False
    assert type(compose_config("upsample=deconv_blur").upsample) is UpsampleConfig
    up = compose_config().upsample
    assert type(up) is DeconvConfig and up.last_n is None
    assert (up.other, up.other_kernel) == ("nearest", 3)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["upsample=filtered", "upsample.filter=[]"], "upsample.filter=[]"),
        (["upsample=filtered", "upsample.filter=[1,-1]"], "upsample.filter=[1.0, -1.0]"),
        (["disc=blurpool", "disc.filter=[0]"], "disc.filter=[0.0]"),
    ],
)
def test_bad_taps_fail_naming_the_key(overrides, expected):
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        compose_config(*overrides)


@pytest.mark.parametrize(
    "overrides",
    [
        ["upsample=nearest", "upsample.icnr=true"],
        ["upsample=deconv_blur", "upsample.blur=false"],
        ["upsample=nearest", "upsample.filter=[1,1]"],
        ["disc=strided", "disc.filter=[1,1]"],
    ],
)
def test_a_field_another_kind_declares_fails_at_compose(overrides):
    """Refused by Hydra's struct mode, and with a forced `+key=` by `validate`."""
    key = overrides[1].split("=")[0]
    with pytest.raises(ConfigCompositionException, match=f"Could not override '{key}'"):
        compose_config(*overrides)
    with pytest.raises(ConfigError, match=f"unknown config key\\(s\\): {key}"):
        compose_config(overrides[0], "+" + overrides[1])


def test_num_stages():
    assert num_stages(32, 2) == 3
    assert num_stages(64, 4) == 2
    assert num_stages(32, 3) is None
    assert num_stages(32, 1) is None


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
        ("upsample.other_kernel=0", "upsample.other_kernel=0"),
        ("+model.foo=1", "model.foo"),
        ("device=tpu", "device='tpu'"),
        ("train.betas=[0.5]", "train.betas"),
    ],
)
def test_bad_values_name_the_key_and_value(override, expected):
    with pytest.raises(ConfigError, match=expected.replace("+", r"\+")):
        compose_config(override)


def test_a_saved_config_gets_the_fields_added_since_at_their_defaults():
    """A checkpoint saved before `upsample.other` existed compares equal to today's defaults,
    and a changed value still differs."""
    cfg = compose_config("upsample.last_n=1")
    saved = dataclasses.asdict(cfg)
    for key in ("other", "other_kernel", "blur"):
        del saved["upsample"][key]
    del saved["disc"]["other"]
    assert flat_config(with_defaults(saved, cfg)) == flat_config(cfg)
    changed = compose_config("upsample.last_n=1", "upsample.other=bilinear")
    assert flat_config(with_defaults(saved, changed))["upsample.other"] == "nearest"
