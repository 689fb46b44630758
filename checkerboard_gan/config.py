"""Typed schema of the Hydra config: dataclasses registered in Hydra's ConfigStore.

The YAML files under configs/ start from these schemas (their defaults lists name
`/schema/<group>/<name>`), so a typo or a wrong type fails at compose time. Range checks
that Hydra cannot express run in `__post_init__`, when `validate` builds the objects.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf


class ConfigError(ValueError):
    """A config value that cannot work; the message names the key, the value and what is valid."""


PATH = {"path": True}  # metadata of a field naming a file or folder (see `absolute_paths`)


def _positive(key: str, value: float) -> None:
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{key}={value} is invalid: it must be a finite number > 0")


def _at_least(key: str, value: int, low: int) -> None:
    if value < low:
        raise ConfigError(f"{key}={value} is invalid: it must be an integer >= {low}")


@dataclass
class UpsampleConfig:
    """Generator upsampling: `name` is a key of `upsampling.UPSAMPLERS`.

    With `last_n` only the last N stages are of kind `name`; the earlier ones are of kind
    `other` (a key of the same registry) with kernel `other_kernel`, in that kind's defaults.
    """

    name: str = MISSING
    kernel: int = 4
    stride: int = 2
    final_conv: bool = False
    final_kernel: int = 3
    last_n: int | None = None
    other: str = "nearest"
    other_kernel: int = 3

    def __post_init__(self) -> None:
        _at_least("upsample.kernel", self.kernel, 1)
        _at_least("upsample.stride", self.stride, 1)
        _at_least("upsample.other_kernel", self.other_kernel, 1)
        _at_least("upsample.final_kernel", self.final_kernel, 1)
        if self.last_n is not None:
            _at_least("upsample.last_n", self.last_n, 0)


@dataclass
class DeconvConfig(UpsampleConfig):
    """`deconv`: `blur` adds a fixed stride x stride box mean after the transposed conv."""

    blur: bool = False


@dataclass
class SubpixelConfig(UpsampleConfig):
    """`subpixel`: `icnr` starts all sub-kernels equal; `blur` adds a fixed stride x stride box
    mean after the pixel shuffle."""

    icnr: bool = False
    blur: bool = False


def _check_taps(key: str, taps: list[float] | None) -> None:
    """FIR taps: null (the kind's default) or a non-empty list of finite numbers, sum > 0."""
    if taps is None:
        return
    if not taps or not all(math.isfinite(t) for t in taps) or sum(taps) <= 0:
        raise ConfigError(
            f"{key}={list(taps)} is invalid: null or a non-empty list of finite taps whose sum "
            f"is > 0 (e.g. [1, 3, 3, 1])"
        )


@dataclass
class FilteredConfig(UpsampleConfig):
    """`filtered`: 1-D low-pass taps used along H and W; null = the stride's default."""

    filter: list[float] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_taps("upsample.filter", self.filter)


# What a class your code defines is named by in the config (docs/custom.md).
TARGET = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")
EXAMPLE_STAGE = "checkerboard_gan.models.examples.ResizeConvStage"
EXAMPLE_GENERATOR = "checkerboard_gan.models.examples.ExampleGenerator"


def _check_target(key: str, target: str, example: str) -> None:
    """`PKG.MODULE.CLASS`: a dotted path of at least a module and a name in it."""
    if not TARGET.fullmatch(target):
        raise ConfigError(
            f"{key}={target!r} is invalid: give the class as PKG.MODULE.CLASS, importable from "
            f"the folder the command is started in or PYTHONPATH (e.g. {key}={example})"
        )


@dataclass
class CustomUpsampleConfig(UpsampleConfig):
    """`custom`: every stage is your class `target`, called with `in_channels`, `out_channels`,
    `kernel`, `stride` and `kwargs` (docs/custom.md); it must multiply H and W by the stride."""

    target: str = EXAMPLE_STAGE
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_target("upsample.target", self.target, EXAMPLE_STAGE)


@dataclass
class DiscConfig:
    """Discriminator downsampling: `name` is a key of `downsampling.DOWNSAMPLERS`."""

    name: str = MISSING
    kernel: int = 4
    stride: int = 2
    first_stride_only: bool = False  # only D's first stage is `name`; later ones are `other`
    other: str = "avgpool"  # a key of the same registry, same kernel and stride, its defaults

    def __post_init__(self) -> None:
        _at_least("disc.kernel", self.kernel, 1)
        _at_least("disc.stride", self.stride, 2)


@dataclass
class BlurPoolConfig(DiscConfig):
    """`blurpool`: 1-D blur taps used along H and W, normalised to sum 1; null = the default."""

    filter: list[float] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_taps("disc.filter", self.filter)


@dataclass
class DatasetConfig:
    """Training images: `name` is a key of `data.sources.SOURCES`."""

    name: str = MISSING
    image_size: int = 32
    channels: int = 3
    FOLLOWS_DATA: ClassVar[bool] = False  # True: `channels` may be null (follow the data)

    def __post_init__(self) -> None:
        _at_least("dataset.image_size", self.image_size, 4)
        if self.channels not in (1, 3) and not self.FOLLOWS_DATA:
            raise ConfigError(f"dataset.channels={self.channels} is invalid: valid are 1 or 3")


@dataclass
class ShapesConfig(DatasetConfig):
    """The embedded generated dataset: `num_images` images made from `dataset.seed`, in the
    colours of `palette` (a key of `PALETTES`)."""

    num_images: int = 8192
    seed: int = 0
    palette: str = "saturated"

    PALETTES: ClassVar[dict[str, str]] = {
        "saturated": "every image in the colour cube's corners",
        "mixed": "each image, with probability 1/2, with every colour moved 3/4 of the way to "
        "mid-grey",
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        _at_least("dataset.num_images", self.num_images, 1)
        if self.palette not in self.PALETTES:
            valid = ", ".join(self.PALETTES)
            raise ConfigError(f"dataset.palette={self.palette} is invalid: valid are {valid}")


@dataclass
class FileDatasetConfig(DatasetConfig):
    """Images read from disk (torchvision sets, an image folder).

    `root`: where the files are (for `folder`, the folder itself); `download`: let torchvision
    download a missing set; data up to `max_memory_mb` decoded is kept in memory on the device,
    larger data streams through a DataLoader with `workers` processes.
    """

    root: str = field(default="~/.cache/checkerboard_gan", metadata=PATH)
    download: bool = False
    max_memory_mb: int = 4096
    workers: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        _at_least("dataset.max_memory_mb", self.max_memory_mb, 0)
        _at_least("dataset.workers", self.workers, 0)


@dataclass
class FolderConfig(FileDatasetConfig):
    """`folder`: your own images; `root` has no default, since no folder is everyone's.

    `channels` null (the default) follows the images: 1 where every readable one is greyscale,
    else 3 (`data.sources.settle_channels` decides it and the log says so).
    """

    root: str = field(default=MISSING, metadata=PATH)
    channels: int | None = None
    FOLLOWS_DATA: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.channels not in (1, 3, None):
            raise ConfigError(
                f"dataset.channels={self.channels} is invalid: valid are 1, 3 or null (follow "
                "the images)"
            )


@dataclass
class PhotosConfig(ShapesConfig):
    """Random crops of the photographs scikit-image ships in its wheel."""

    min_crop: int = 48
    max_crop: int = 192

    def __post_init__(self) -> None:
        super().__post_init__()
        _at_least("dataset.min_crop", self.min_crop, 1)
        _at_least("dataset.max_crop", self.max_crop, self.min_crop)


@dataclass
class ModelConfig:
    z_dim: int = 100
    g_channels: int = 32
    d_channels: int = 32
    norm: str = "batch"
    generator: str | None = None
    generator_kwargs: dict[str, Any] = field(default_factory=dict)
    period: int | None = None

    def __post_init__(self) -> None:
        if self.generator is not None:
            _check_target("model.generator", self.generator, EXAMPLE_GENERATOR)
        if self.period is not None:
            _at_least("model.period", self.period, 2)
            if self.generator is None:
                raise ConfigError(
                    f"model.period={self.period} applies to a generator of your own "
                    "(model.generator=PKG.MODULE.CLASS); the built-in generator's period follows "
                    "from upsample.stride and the image size"
                )
        _at_least("model.z_dim", self.z_dim, 1)
        _at_least("model.g_channels", self.g_channels, 1)
        _at_least("model.d_channels", self.d_channels, 1)
        if self.norm not in ("batch", "none"):
            raise ConfigError(f"model.norm={self.norm!r} is invalid: valid are 'batch', 'none'")


@dataclass
class TrainConfig:
    steps: int = 1200
    batch_size: int = 64
    lr_g: float = 5e-4
    lr_d: float = 5e-4
    betas: tuple[float, float] = (0.5, 0.999)
    loss: str = "bce"
    label_smoothing: float = 0.1
    checkpoint_every: int = 500  # also at the end; 0 = only at the end
    resume: str | None = field(default=None, metadata=PATH)  # a checkpoint or a run folder
    # bf16 autocast and NHWC memory: off, since at the default size both made training slower
    # on an H100 (6,467 -> 4,687 img/s) as on the CPU; try them for wide models or large images
    amp: bool = False
    channels_last: bool = False
    compile: bool = False  # torch.compile of G and D for the training step

    def __post_init__(self) -> None:
        _at_least("train.steps", self.steps, 0)
        _at_least("train.checkpoint_every", self.checkpoint_every, 0)
        if self.resume is not None and not Path(self.resume).expanduser().exists():
            raise ConfigError(
                f"train.resume={self.resume} does not exist: give a checkpoint "
                "file (checkpoints/last.pt) or a run folder"
            )
        _at_least("train.batch_size", self.batch_size, 1)
        _positive("train.lr_g", self.lr_g)
        _positive("train.lr_d", self.lr_d)
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ConfigError(
                f"train.betas={list(self.betas)} is invalid: two values, each in [0, 1)"
            )
        if not (math.isfinite(self.label_smoothing) and 0 <= self.label_smoothing < 1):
            raise ConfigError(
                f"train.label_smoothing={self.label_smoothing} is invalid: it must be in [0, 1)"
            )


@dataclass
class LogConfig:
    every: int = 100
    num_samples: int = 64
    loss_every: int = 10
    # pictures and sample files written by a thread beside training; null = on for CUDA, off
    # elsewhere (on this project's 2-core CPU the thread took cores from training: slower)
    background: bool | None = None

    def __post_init__(self) -> None:
        _at_least("log.every", self.every, 1)
        _at_least("log.num_samples", self.num_samples, 1)
        _at_least("log.loss_every", self.loss_every, 1)


@dataclass
class EvalConfig:
    """The evaluation over many samples (docs/design.md): at step 0, the last step and every `every`
    steps (0 = only those two), `num_samples` generated and as many real images."""

    every: int = 0
    num_samples: int = 2048
    fid: str = "auto"
    inception_weights: str | None = field(default=None, metadata=PATH)

    def __post_init__(self) -> None:
        _at_least("eval.every", self.every, 0)
        _at_least("eval.num_samples", self.num_samples, 1)
        self.fid = str(self.fid).lower()  # `eval.fid=true` arrives as the YAML boolean's "True"
        if self.fid not in ("auto", "true", "false"):
            raise ConfigError(f"eval.fid={self.fid!r} is invalid: valid are auto, true, false")


@dataclass
class Config:
    upsample: Any = MISSING
    disc: Any = MISSING
    dataset: Any = MISSING
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    log: LogConfig = field(default_factory=LogConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    seed: int = 0
    device: str = "auto"
    # CPU threads of this run (torch.set_num_threads); null = OMP_NUM_THREADS where set, else
    # the CPUs granted (affinity, CPU quota). Set it when several runs share one machine, e.g. a
    # joblib sweep with n_jobs=4 on 16 cores: threads=4.
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.threads is not None:
            _at_least("threads", self.threads, 1)
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", self.device):
            raise ConfigError(
                f"device={self.device!r} is invalid: valid are auto, cpu, cuda, cuda:N, mps"
            )


def register_configs() -> None:
    """Put the schemas into Hydra's ConfigStore under `schema/...` (kept out of user choices)."""
    cs = ConfigStore.instance()
    cs.store(name="config_schema", node=Config)
    cs.store(group="schema/upsample", name="base", node=UpsampleConfig)
    cs.store(group="schema/upsample", name="deconv", node=DeconvConfig)
    cs.store(group="schema/upsample", name="subpixel", node=SubpixelConfig)
    cs.store(group="schema/upsample", name="filtered", node=FilteredConfig)
    cs.store(group="schema/upsample", name="custom", node=CustomUpsampleConfig)
    cs.store(group="schema/disc", name="base", node=DiscConfig)
    cs.store(group="schema/disc", name="blurpool", node=BlurPoolConfig)
    cs.store(group="schema/dataset", name="base", node=DatasetConfig)
    cs.store(group="schema/dataset", name="shapes", node=ShapesConfig)
    cs.store(group="schema/dataset", name="files", node=FileDatasetConfig)
    cs.store(group="schema/dataset", name="folder", node=FolderConfig)
    cs.store(group="schema/dataset", name="photos", node=PhotosConfig)


OPEN_DICTS = ("upsample.kwargs", "model.generator_kwargs")  # the user's classes' arguments


def open_dicts(cfg: DictConfig) -> DictConfig:
    """`cfg` with the keyword-argument dictionaries of the user's classes open to any key, so
    that a saved config's entries merge into them (Hydra's struct mode refuses new keys)."""
    for key in OPEN_DICTS:
        node = OmegaConf.select(cfg, key)
        if isinstance(node, DictConfig):
            OmegaConf.set_struct(node, False)
    return cfg


def _unknown_keys(node: Any, obj: Any, prefix: str = "") -> list[str]:
    """Keys present in the composed config that the built dataclasses do not have."""
    if not isinstance(node, dict) or not dataclasses.is_dataclass(obj):
        return []
    names = {f.name for f in dataclasses.fields(obj)}
    found = []
    for key, value in node.items():
        if key not in names:
            found.append(f"{prefix}{key}")
        else:
            found += _unknown_keys(value, getattr(obj, key), f"{prefix}{key}.")
    return found


def validate(cfg: DictConfig) -> Config:
    """Build the typed config, run the range checks and refuse keys the schema does not know.

    `+section.key=...` overrides bypass Hydra's struct mode and `OmegaConf.to_object` would
    drop them silently, so they are compared here.
    """
    missing = sorted(k for k in OmegaConf.missing_keys(cfg) if not k.startswith("hydra."))
    if missing:
        raise ConfigError(f"{', '.join(missing)} must be given (no default): {missing[0]}=...")
    container = OmegaConf.to_container(cfg, resolve=True)
    container.pop("hydra", None)
    try:
        obj = OmegaConf.to_object(cfg)
    except Exception as err:
        cause = err.__cause__ if isinstance(err.__cause__, ConfigError) else err
        raise ConfigError(str(cause).splitlines()[0]) from err
    if not isinstance(obj, Config):
        raise ConfigError("the config was not composed from the checkerboard_gan schema")
    unknown = _unknown_keys(container, obj)
    if unknown:
        raise ConfigError(
            f"unknown config key(s): {', '.join(unknown)}; see `--cfg job` for the valid keys"
        )
    _check_geometry(obj)
    return obj


def num_stages(image_size: int, stride: int) -> int | None:
    """Number of stages that grow a 4x4 base to `image_size` at `stride`, or None if impossible."""
    if stride < 2 or image_size % 4:
        return None
    size, n = 4, 0
    while size < image_size:
        size, n = size * stride, n + 1
    return n if size == image_size and n >= 1 else None


def _valid_sizes(stride: int) -> str:
    return ", ".join(str(4 * stride**n) for n in range(1, 6 if stride == 2 else 4))


def _check_geometry(cfg: Config) -> None:
    size = cfg.dataset.image_size
    for group, stride in (("upsample", cfg.upsample.stride), ("disc", cfg.disc.stride)):
        if num_stages(size, stride) is None:
            raise ConfigError(
                f"{group}.stride={stride} cannot meet dataset.image_size={size}: the image must "
                f"be 4 * stride^n pixels (n >= 1) from the 4x4 base"
                + (
                    f"; with stride {stride} valid sizes are {_valid_sizes(stride)}, ..."
                    if stride >= 2
                    else "; stride must be >= 2 to grow the base"
                )
            )
    n = num_stages(size, cfg.upsample.stride)
    last_n = cfg.upsample.last_n
    if last_n is not None and last_n > n:
        raise ConfigError(
            f"upsample.last_n={last_n} is invalid: the generator has {n} upsampling stages "
            f"at upsample.stride={cfg.upsample.stride} for {size} px; valid are 0..{n} or null"
        )


def with_defaults(saved: dict[str, Any], cfg: Any) -> dict[str, Any]:
    """A saved config (a dict) with the fields it lacks taken at their defaults in the schema of
    `cfg`'s node there: fields added since a checkpoint was made (e.g. `upsample.other`) then
    compare equal to a config that leaves them at their defaults."""
    out = dict(saved)
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if f.name not in saved:
            if f.default is not dataclasses.MISSING:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            else:
                continue
            out[f.name] = (
                dataclasses.asdict(default) if dataclasses.is_dataclass(default) else default
            )
        elif dataclasses.is_dataclass(value) and isinstance(saved[f.name], dict):
            out[f.name] = with_defaults(saved[f.name], value)
    return out


def flat_config(cfg: Config | dict[str, Any]) -> dict[str, str | int | float | bool]:
    """A config (dataclass or its saved dict) as dotted keys with scalar values (None -> "null",
    lists -> text), for TensorBoard's HParams and for comparing configs."""
    out: dict[str, str | int | float | bool] = {}

    def walk(node: Any, prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            elif value is None or isinstance(value, list | tuple):
                out[f"{prefix}{key}"] = "null" if value is None else str(list(value))
            else:
                out[f"{prefix}{key}"] = value

    walk(cfg if isinstance(cfg, dict) else dataclasses.asdict(cfg), "")
    return out


def sweep_overrides(hydra_cfg: DictConfig, config_loader: Any = None) -> list[Any]:
    """A multirun's overrides as Hydra's basic sweeper reads them: the sweeper's `params`, then
    the command line's (hydra.overrides.task), parsed (hydra's Override objects; a `glob()`
    among them expands only with a `config_loader`)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = hydra_cfg.sweeper.get("params") or {}
    args = [f"{k}={v}" for k, v in params.items()] + [str(o) for o in hydra_cfg.overrides.task]
    return OverridesParser.create(config_loader=config_loader).parse_overrides(args)


def sweep_jobs(hydra_cfg: DictConfig, loader: Any = None) -> list[list[str]] | None:
    """Each job's overrides as Hydra's basic sweeper expands a multirun (its `hydra` node, live
    or from multirun.yaml), e.g. `k=1,2` -> [["k=1"], ["k=2"]]; `glob(...)` is read from the
    config sources the run was composed from. None for another sweeper, or where the sweep
    cannot be expanded again (a config source that is gone). `loader`: a `config_loader` over
    those sources, where the caller has one already."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.errors import HydraException

    if not str(hydra_cfg.sweeper.get("_target_", "")).endswith("BasicSweeper"):
        return None
    try:
        loader = loader or config_loader(
            OmegaConf.select(hydra_cfg, "runtime.config_sources") or []
        )
        parsed = sweep_overrides(hydra_cfg, loader)
        jobs = [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]
    except (HydraException, OSError, ValueError):
        return None
    swept = [o for o in parsed if o.is_sweep_override()]
    return jobs if all(len(job) >= len(swept) for job in jobs) else None


def config_loader(sources: Any) -> Any:
    """A Hydra config loader over `sources` (`hydra.runtime.config_sources`), which `glob()`
    sweeps need to list a group's options."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.config_search_path_impl import ConfigSearchPathImpl
    from hydra.core.plugins import Plugins

    Plugins.instance()  # registers the config source types (file, pkg, structured)
    register_configs()
    search_path = ConfigSearchPathImpl()
    for source in sources:
        search_path.append(str(source.provider), f"{source.schema}://{source.path}")
    return ConfigLoaderImpl(config_search_path=search_path)


def path_keys(cfg: Any, prefix: str = "") -> set[str]:
    """Dotted keys of `cfg`'s (a typed `Config`'s) fields marked `PATH`."""
    found = set()
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            found |= path_keys(value, f"{prefix}{f.name}.")
        elif f.metadata.get("path"):
            found.add(f"{prefix}{f.name}")
    return found


def same_path(saved: Any, given: Any) -> bool:
    """Whether a path a checkpoint saved names the file `given` (absolute) names: equal, or a
    relative path saved before paths were stored absolute that `given` ends with."""
    if saved == given or not isinstance(saved, str) or not isinstance(given, str):
        return saved == given
    old, new = Path(saved).parts, Path(given).parts
    return not Path(saved).is_absolute() and 0 < len(old) <= len(new) and new[-len(old) :] == old


def absolute_paths(cfg: DictConfig, start: Path) -> None:
    """Make every relative file or folder that `cfg` names (the schema's fields marked `PATH`:
    dataset.root, train.resume, eval.inception_weights) absolute against `start`, the folder
    the command was started from, in place: the run's stored config then names the same files
    from any folder, and with `hydra.job.chdir=true`. `~/...` and absolute paths are kept."""
    for key in list(cfg.keys()):
        node = cfg._get_node(key)
        if isinstance(node, DictConfig):
            absolute_paths(node, start)
            continue
        kind = OmegaConf.get_type(cfg)
        marked = dataclasses.is_dataclass(kind) and any(
            f.name == key and f.metadata.get("path") for f in dataclasses.fields(kind)
        )
        if not marked or OmegaConf.is_missing(cfg, str(key)):
            continue
        value = cfg[key]
        if isinstance(value, str) and value and not value.startswith("~"):
            cfg[key] = os.path.normpath(os.path.join(start, value))


def config_dir() -> Path:
    """The shipped configs: in the installed package, or the top-level configs/ of a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "configs", here.parent / "configs"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"checkerboard_gan configs not found next to {here}")


def compose_config(overrides: list[str]) -> DictConfig:
    """configs/config.yaml composed with `overrides` as the CLI composes it (schema registered),
    not yet validated: `validate` turns it into the typed `Config`.

    Raises:
        hydra.errors.HydraException, omegaconf.errors.OmegaConfBaseException: overrides that
            name no group option or key.
    """
    from hydra import compose, initialize_config_dir

    register_configs()
    with initialize_config_dir(version_base="1.3", config_dir=str(config_dir())):
        return compose("config", overrides=overrides)
