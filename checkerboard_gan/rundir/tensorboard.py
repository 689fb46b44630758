"""TensorBoard's wire format, as this project writes it: fast record checksums, lossless PNG
images from encoded bytes, the HParams declaration in the run's own event file, and the Text
tab's Markdown tables. What to write and when is the logger's (training/logger.py); how it
looks in the event file is here.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import google_crc32c
import torch
from PIL import Image
from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
from tensorboard.plugins.hparams.api_pb2 import (
    DataType,
    Experiment,
    HParamInfo,
    MetricInfo,
    MetricName,
)
from tensorboard.plugins.hparams.metadata import EXPERIMENT_TAG, PLUGIN_DATA_VERSION, PLUGIN_NAME
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData
from tensorboard.plugins.hparams.summary_v2 import hparams_pb
from tensorboard.plugins.scalar import metadata as scalar_metadata
from tensorboard.summary.writer import record_writer
from torch.utils.tensorboard import SummaryWriter

from checkerboard_gan.pictures.images import to_uint8_hwc


def masked_crc32c(data: bytes) -> int:
    """The masked CRC-32C that frames every TensorBoard event record, computed in C.

    Without TensorFlow, TensorBoard's writer checksums each record in pure Python (about 12 MB/s
    on this project's CPU, holding the GIL): a probe's ~1 MB of images cost its writer thread
    ~90 ms of interpreter time that the training loop, launching GPU kernels, waits for. The
    same value as `tensorboard.compat.tensorflow_stub.pywrap_tensorflow.masked_crc32c`.
    """
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def install_fast_checksums() -> None:
    """Make TensorBoard's record writer use `masked_crc32c` (the name `RecordWriter.write`
    looks up); called by every writer this project opens, before its first record."""
    record_writer.masked_crc32c = masked_crc32c


def open_writer(run_dir: Path, purge_step: int | None = None) -> SummaryWriter:
    """The run folder's event writer (fast checksums installed); `purge_step` hides what a
    crashed run logged at and after that step (on resume)."""
    install_fast_checksums()
    return SummaryWriter(log_dir=str(run_dir), purge_step=purge_step)


def _events(writer: SummaryWriter) -> Any:
    """The writer's event file writer (torch's public `file_writer`, open until close)."""
    if writer.file_writer is None:
        raise ValueError("the TensorBoard writer is closed")
    return writer.file_writer


def event_file(run_dir: Path) -> Path:
    """The newest event file of a run folder (the one a writer there appends to)."""
    files = sorted(Path(run_dir).glob("events.out.tfevents.*"), key=lambda p: p.stat().st_mtime)
    return files[-1] if files else Path(run_dir) / "events.out.tfevents"


def encode_png(img: torch.Tensor) -> bytes:
    """(3, H, W) float [0, 1] -> lossless PNG bytes (fast zlib level: probes stay cheap)."""
    buffer = io.BytesIO()
    Image.fromarray(to_uint8_hwc(img).numpy()).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def log_png(
    writer: SummaryWriter, tag: str, png: bytes, height: int, width: int, step: int
) -> None:
    """Log encoded PNG bytes as a TensorBoard image (no re-encoding: one-pixel patterns stay)."""
    value = Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=png)
    _events(writer).add_summary(Summary(value=[Summary.Value(tag=tag, image=value)]), step)


def log_image(
    writer: SummaryWriter, tag: str, img: torch.Tensor, step: int, png: bytes | None = None
) -> bytes:
    """Log a (3, H, W) image in [0, 1] as lossless PNG; returns the bytes so a file can reuse
    them."""
    png = png or encode_png(img)
    log_png(writer, tag, png, img.shape[1], img.shape[2], step)
    return png


FEW_POINTS_NOTE = (
    "Evaluation curves have few points (one per evaluation: at step 0 and the last step unless "
    "`eval.every` is set). TensorBoard's default smoothing (0.6) draws such short curves at "
    "wrong values: set Smoothing to 0, or read the exact values in the Text tab's "
    "`summary/evaluation` table or the Images tab's `eval/curves` chart."
)  # every `eval/*` scalar's description, and the evaluation table's first line


def log_scalar(
    writer: SummaryWriter, tag: str, value: float, step: int, description: str = ""
) -> None:
    """A scalar with a description (the scalar plugin's `SummaryMetadata.summary_description`),
    which TensorBoard's scalar cards show beside the chart when it reads with
    `--load_fast=false`; its default fast loader drops the description of a simple value. Kept
    a simple value all the same, so the event file's readers (EventAccumulator.Scalars) find it
    where they find every other scalar; the Text tab's table and the `eval/curves` image say
    the same under any loader."""
    metadata = scalar_metadata.create_summary_metadata(display_name=tag, description=description)
    entry = Summary.Value(tag=tag, simple_value=float(value), metadata=metadata)
    _events(writer).add_summary(Summary(value=[entry]), step)


def _hparam_type(value: object) -> int:
    if isinstance(value, bool):
        return DataType.DATA_TYPE_BOOL
    if isinstance(value, int | float):
        return DataType.DATA_TYPE_FLOAT64
    return DataType.DATA_TYPE_STRING


def _plugin_summary(tag: str, content: HParamsPluginData) -> Summary:
    metadata = SummaryMetadata(
        plugin_data=SummaryMetadata.PluginData(
            plugin_name=PLUGIN_NAME, content=content.SerializeToString()
        )
    )
    return Summary(value=[Summary.Value(tag=tag, metadata=metadata)])


def declare_hparams(
    writer: SummaryWriter,
    values: dict[str, Any],
    first: list[str],
    differs: set[str],
    metrics: list[str],
) -> None:
    """Declare a run's config `values` and its `metrics` (scalar tags) to the HParams tab.

    Keys in `first` lead the columns, those in `differs` are marked as differing; values keep
    their types (booleans as booleans). Written into the run's own event file
    (SummaryWriter.add_hparams would make a sub-run per call). The trial's name (the table's
    first, narrow column) is the values of `first` with a digest of all values, so runs with
    the same overrides but other settings stay apart.
    """
    order = [k for k in first if k in values] + [k for k in values if k not in first]
    infos = [HParamInfo(name=k, type=_hparam_type(values[k]), differs=k in differs) for k in order]
    experiment = Experiment(
        hparam_infos=infos, metric_infos=[MetricInfo(name=MetricName(tag=m)) for m in metrics]
    )
    content = HParamsPluginData(experiment=experiment, version=PLUGIN_DATA_VERSION)
    events = _events(writer)
    events.add_summary(_plugin_summary(EXPERIMENT_TAG, content))
    hparams = {k: values[k] for k in order}
    digest = hashlib.sha256(json.dumps(hparams, sort_keys=True, default=str).encode())
    label = ",".join(str(values[k]) for k in first if k in values)
    trial = f"{label} [{digest.hexdigest()[:8]}]" if label else digest.hexdigest()[:8]
    events.add_summary(hparams_pb(hparams, trial_id=trial))


def init_vs_now(
    first: dict[str, Any], now: dict[str, Any], floor: dict[str, float] | None = None
) -> str:
    """A Markdown table of every measure at step 0 and now with their ratio (only the first
    column when both are the same step), and `floor`'s value where given: the comparison the
    tool is for, readable in TensorBoard whatever its chart settings (smoothing, outliers)."""
    same = first["step"] == now["step"]
    columns = [f"step {first['step']}"] + ([] if same else [f"step {now['step']}", "ratio"])
    columns += ["real"] * (floor is not None)
    rows = ["| measure | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for key, value in now.items():
        if key == "step" or key not in first:
            continue
        cells = [f"{first[key]:.4g}"]
        if not same:
            cells += [f"{value:.4g}", f"{value / first[key] if first[key] else float('nan'):.3g}"]
        if floor is not None:
            cells.append(f"{floor[key]:.4g}" if key in floor else "")
        rows.append(f"| {key} |" + "".join(f" {c} |" if c else " |" for c in cells))
    return "\n".join(rows)


def evaluation_table(first: dict[str, Any], now: dict[str, Any]) -> str:
    """A Markdown table of the evaluation and quality measures at the first evaluation's step and
    now, with the real images' values (the floor; for SWD, two halves of the real images against
    each other): the trained-artifact comparison and its cost at a glance, under the note that
    the `eval/*` charts have few points (`FEW_POINTS_NOTE`)."""
    table = init_vs_now(
        {"step": first["step"], **first["fake"], **(first.get("quality") or {})},
        {"step": now["step"], **now["fake"], **(now.get("quality") or {})},
        now["real"] | (now.get("quality_floor") or {}),
    )
    note = "; SWD's real value: one half of the real images against the other" * bool(
        now.get("quality_floor")
    )
    head = f"{now['n_fake']} samples, {now['n_real']} real images{note}"
    return f"{FEW_POINTS_NOTE}\n\n{head}\n\n{table}"
