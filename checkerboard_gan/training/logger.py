"""Everything a run writes for people and tools: TensorBoard events, sample files, metrics.json.

The run folder describes itself: `samples/step_XXXXXXX.{png,pt}` and
`gradients/step_XXXXXXX.pt` from step 0 on, `metrics.json` (one entry per probe, rewritten
atomically), and TensorBoard event files beside them.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
from dataclasses import replace
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
from tensorboard.summary.writer import record_writer
from torch.utils.tensorboard import SummaryWriter

from checkerboard_gan.analysis import measures
from checkerboard_gan.analysis.evaluation import Evaluation
from checkerboard_gan.config import Config, flat_config
from checkerboard_gan.pictures.images import (
    fingerprint_picture,
    gradient_grid,
    grid,
    heatmap,
    side_by_side,
    stretch,
    to_uint8_hwc,
    to_unit,
    without_zero_frequency,
)
from checkerboard_gan.pictures.plots import map_figure, plt, radial_spectrum_figure
from checkerboard_gan.rundir.background import BackgroundWriter
from checkerboard_gan.rundir.record import write_bytes, write_metrics_file
from checkerboard_gan.training.probes import MEASURES, NUM_GRAD_SHOWN, Observation

log = logging.getLogger(__name__)


def masked_crc32c(data: bytes) -> int:
    """The masked CRC-32C that frames every TensorBoard event record, computed in C.

    Without TensorFlow, TensorBoard's writer checksums each record in pure Python (about 12 MB/s
    on this project's CPU, holding the GIL): a probe's ~1 MB of images cost its writer thread
    ~90 ms of interpreter time that the training loop, launching GPU kernels, waits for. The
    same value as `tensorboard.compat.tensorflow_stub.pywrap_tensorflow.masked_crc32c`.
    """
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


record_writer.masked_crc32c = masked_crc32c  # the name RecordWriter.write looks up


def encode_png(img: torch.Tensor) -> bytes:
    """(3, H, W) float [0, 1] -> lossless PNG bytes (fast zlib level: probes stay cheap)."""
    buffer = io.BytesIO()
    Image.fromarray(to_uint8_hwc(img).numpy()).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def log_image(
    writer: SummaryWriter, tag: str, img: torch.Tensor, step: int, png: bytes | None = None
) -> bytes:
    """Log a (3, H, W) image in [0, 1] as lossless PNG; returns the bytes so a file can reuse
    them."""
    png = png or encode_png(img)
    log_png(writer, tag, png, img.shape[1], img.shape[2], step)
    return png


def log_png(
    writer: SummaryWriter, tag: str, png: bytes, height: int, width: int, step: int
) -> None:
    """Log encoded PNG bytes as a TensorBoard image."""
    value = Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=png)
    writer._get_file_writer().add_summary(
        Summary(value=[Summary.Value(tag=tag, image=value)]), step
    )


def log_evaluation(
    writer: SummaryWriter, run_dir: Path, ev: Evaluation, evaluations: list[dict[str, Any]]
) -> None:
    """An evaluation's `eval/fake/*`, `eval/real/*` scalars and fingerprint tile, in TensorBoard
    and as `eval/fingerprint_step_XXXXXXX.png` in the run folder, and the first evaluation of
    `evaluations` (the run's, this one included) beside it as a table in the Text tab."""
    writer.add_text("summary/evaluation", evaluation_table(evaluations[0], ev.entry()), ev.step)
    for side, values in (("fake", ev.fake), ("real", ev.real)):
        for key, value in values.items():
            writer.add_scalar(f"eval/{side}/{key}", value, ev.step)
    writer.add_scalar("eval/seconds", ev.seconds, ev.step)
    png = log_image(writer, "eval/fingerprint", fingerprint_picture(ev.tile), ev.step)
    folder = Path(run_dir) / "eval"
    folder.mkdir(exist_ok=True)
    write_bytes(folder / f"fingerprint_step_{ev.step:07d}.png", png)


def with_evaluation(evaluations: list[dict[str, Any]], entry: dict[str, Any]) -> list[dict]:
    """The evaluations list with `entry` in step order, replacing one of the same step."""
    kept = [e for e in evaluations if e["step"] != entry["step"]]
    return sorted([*kept, entry], key=lambda e: e["step"])


def evaluation_table(first: dict[str, Any], now: dict[str, Any]) -> str:
    """A Markdown table of the evaluation measures at the first evaluation's step and now, with
    the real images' values (the floor): the trained-artifact comparison at a glance."""
    table = init_vs_now(
        {"step": first["step"], **first["fake"]}, {"step": now["step"], **now["fake"]}, now["real"]
    )
    return f"{now['n_fake']} samples, {now['n_real']} real images\n\n" + table


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


def hparam_measures(cfg: Config) -> list[str]:
    """The scalar tags HParams compares: the probes' measures and the evaluation's content and
    fingerprint at the finest period (the stride)."""
    s = cfg.upsample.stride
    return [f"artifacts/{k}" for k in MEASURES] + [
        f"eval/fake/{k}_{s}" for k in ("content", "fingerprint")
    ]


def on_cpu(obs: Observation) -> Observation:
    """The observation with its tensors on the CPU (a no-op there): what a picture job needs."""
    return replace(
        obs,
        samples=obs.samples.detach().cpu(),
        phase_energy=obs.phase_energy.cpu(),
        log_spectrum=obs.log_spectrum.cpu(),
        radial=obs.radial.cpu(),
        d_input_grad=obs.d_input_grad.cpu(),
        overlap=None if obs.overlap is None else obs.overlap.cpu(),
    )


# Rarely varied keys left out of the HParams tab, which shows the first few columns by name.
HPARAM_HIDDEN = (
    "dataset.channels",
    "dataset.num_images",
    "dataset.seed",
    "device",
    "log.",
    "eval.",
    "threads",
)


CARRIED_ON_RESUME = (
    "overlap_unevenness",
    "checkerboard_period",
    "grad_period",
    "wall_s",
    "probe_s",
)


class RunLogger:
    """TensorBoard writer, sample files and the run's metrics.json, all under `run_dir`."""

    def __init__(
        self,
        run_dir: Path,
        summary: dict[str, Any],
        resume_step: int | None = None,
        earlier: dict[str, Any] | None = None,
        earlier_dir: Path | None = None,
        background: bool = True,
    ) -> None:
        """`resume_step`: continue a run whose checkpoint is at that step; TensorBoard drops
        what was logged after it (purge_step) and `earlier` (its metrics.json) gives the probes
        up to it. `earlier_dir` is that run's folder (this one, or another when resuming into a
        new folder): its step-0 samples stay the "init" of the comparison grids. With
        `background`, pictures and sample files are written by a BackgroundWriter thread."""
        self.run_dir = Path(run_dir)
        self.later = BackgroundWriter(background)
        self.samples_dir = self.run_dir / "samples"
        self.samples_dir.mkdir(parents=True, exist_ok=True)
        purge = None if resume_step is None else resume_step + 1
        self.writer = SummaryWriter(log_dir=str(self.run_dir), purge_step=purge)
        self.metrics: dict[str, Any] = {
            "status": "running",
            **summary,
            "probes": [],
            "evaluations": [],
        }
        self._init_grid: torch.Tensor | None = None
        self._log_init = resume_step is None  # a resumed run never takes a later grid as init
        if resume_step is not None:
            before = earlier or {}
            kept = [p for p in before.get("probes", []) if p["step"] <= resume_step]
            evals = [e for e in before.get("evaluations", []) if e["step"] <= resume_step]
            carried = {k: v for k, v in before.items() if k in CARRIED_ON_RESUME}
            self.metrics.update(
                carried,
                probes=kept,
                evaluations=evals,
                resumed_at=[*(earlier or {}).get("resumed_at", []), resume_step],
            )
            self._resume_init(Path(earlier_dir or self.run_dir))
        self._wall_before = float(self.metrics.get("wall_s", 0.0))

    def _resume_init(self, earlier_dir: Path) -> None:
        """Take the resumed run's step-0 grid as init; log it at step 0 when resuming into a
        new folder. Without a readable step-0 file no init grid is shown at all."""
        init = earlier_dir / "samples" / "step_0000000.pt"
        if not init.is_file():
            return
        try:
            samples = torch.load(init, weights_only=True, map_location="cpu")
        except Exception as err:  # a truncated or foreign file: show no init rather than fail
            log.warning("%s cannot be read (%s); no init grid is shown", init, err)
            return
        self._init_grid = grid(stretch(samples))
        if earlier_dir.resolve() != self.run_dir.resolve():
            self.image("samples/init", grid(to_unit(samples)), 0)
            self.image("samples/init_contrast", self._init_grid, 0)

    @property
    def event_file(self) -> Path:
        """The TensorBoard event file this logger writes."""
        return Path(self.writer._get_file_writer().event_writer._file_name)

    def hparams(self, cfg: Config, first: list[str], differs: set[str]) -> None:
        """Declare this run's config and measures to TensorBoard's HParams tab.

        Keys in `first` (what the sweep varies) lead the columns, and those in `differs` are
        marked as differing; values keep their types (booleans as booleans). Each measure is
        declared at init (`init/...`, logged once at step 0) beside its last value. Written into
        the run's own event file (SummaryWriter.add_hparams would make a sub-run per call).
        The trial's name (the table's first, narrow column) is the values of `first` with a
        digest of all values, so runs with the same overrides but other settings stay apart.
        """
        values = {k: v for k, v in flat_config(cfg).items() if not k.startswith(HPARAM_HIDDEN)}
        order = [k for k in first if k in values] + [k for k in values if k not in first]
        infos = [
            HParamInfo(name=k, type=_hparam_type(values[k]), differs=k in differs) for k in order
        ]
        metrics = [tag for name in hparam_measures(cfg) for tag in (f"init/{name}", name)]
        metrics += ["loss/d", "loss/g"]
        experiment = Experiment(
            hparam_infos=infos, metric_infos=[MetricInfo(name=MetricName(tag=m)) for m in metrics]
        )
        content = HParamsPluginData(experiment=experiment, version=PLUGIN_DATA_VERSION)
        writer = self.writer._get_file_writer()
        writer.add_summary(_plugin_summary(EXPERIMENT_TAG, content))
        hparams = {k: values[k] for k in order}
        digest = hashlib.sha256(json.dumps(hparams, sort_keys=True, default=str).encode())
        label = ",".join(str(values[k]) for k in first if k in values)
        trial = f"{label} [{digest.hexdigest()[:8]}]" if label else digest.hexdigest()[:8]
        writer.add_summary(hparams_pb(hparams, trial_id=trial))

    def init_values(self, step: int, values: dict[str, float]) -> None:
        """The step-0 value of each HParams measure, under `init/`, once."""
        self.scalars(step, {f"init/{k}": v for k, v in values.items()})

    def scalars(self, step: int, values: dict[str, float]) -> None:
        for tag, value in values.items():
            self.writer.add_scalar(tag, value, step)

    def image(self, tag: str, img: torch.Tensor, step: int, png: bytes | None = None) -> bytes:
        return log_image(self.writer, tag, img, step, png)

    def samples(self, step: int, samples: torch.Tensor) -> None:
        """Write one probe's fixed-noise samples: raw tensor, raw and stretched grids, TB images."""
        stem = self.samples_dir / f"step_{step:07d}"
        buffer = io.BytesIO()
        torch.save(samples.detach().cpu(), buffer)
        write_bytes(stem.with_suffix(".pt"), buffer.getvalue())
        raw, contrast = grid(to_unit(samples)), grid(stretch(samples))
        raw_png = self.image("samples/fixed", raw, step)
        contrast_png = self.image("samples/fixed_contrast", contrast, step)
        write_bytes(stem.with_suffix(".png"), raw_png)
        write_bytes(stem.parent / f"{stem.name}_contrast.png", contrast_png)
        if self._log_init:
            # Logged once, so TensorBoard's reservoir of 10 images per tag always keeps step 0.
            self._log_init = False
            self._init_grid = contrast
            self.image("samples/init", raw, step, raw_png)
            self.image("samples/init_contrast", contrast, step, contrast_png)
        if self._init_grid is not None:
            self.image("samples/init_vs_current", side_by_side(self._init_grid, contrast), step)

    def observation(self, obs: Observation) -> None:
        """Write one probe: its scores and metrics.json entry now; its samples and maps through
        the background writer (from CPU copies, so training may go on)."""
        obs = on_cpu(obs)
        self.later.submit(self._pictures, obs)
        self.scalars(obs.step, {f"artifacts/{k}": v for k, v in obs.scores.items()})
        self.probe({"step": obs.step, **obs.scores})

    def input_gradient(self, step: int, grad: torch.Tensor) -> None:
        """Write one probe's dD(x)/dx on the fixed real images as `gradients/step_XXXXXXX.pt`
        (what the report draws), and the first few as a TensorBoard image."""
        folder = self.run_dir / "gradients"
        folder.mkdir(exist_ok=True)
        buffer = io.BytesIO()
        torch.save(grad.detach().cpu(), buffer)
        write_bytes(folder / f"step_{step:07d}.pt", buffer.getvalue())
        self.image("gradients/d_input", gradient_grid(grad[:NUM_GRAD_SHOWN]), step)

    def _pictures(self, obs: Observation) -> None:
        self.samples(obs.step, obs.samples)
        self.image("artifacts/phase_energy", heatmap(obs.phase_energy), obs.step)
        spectrum = without_zero_frequency(obs.log_spectrum)
        self.image("artifacts/spectrum", heatmap(spectrum, relative_to_max=False), obs.step)
        self.input_gradient(obs.step, obs.d_input_grad)

    def evaluation(self, ev: Evaluation) -> None:
        """Write one evaluation over many samples: TensorBoard, fingerprint PNG, metrics.json."""
        self.metrics["evaluations"] = with_evaluation(self.metrics["evaluations"], ev.entry())
        log_evaluation(self.writer, self.run_dir, ev, self.metrics["evaluations"])
        self.write_metrics()
        self.writer.flush()

    def figure(self, name: str, fig: Any, step: int) -> None:
        """A titled matplotlib figure as `figures/NAME.png` in the run folder and in TensorBoard
        (`figures/NAME`)."""
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
        png = buffer.getvalue()
        (self.run_dir / "figures").mkdir(exist_ok=True)
        write_bytes(self.run_dir / "figures" / f"{name}.png", png)
        width, height = Image.open(io.BytesIO(png)).size
        log_png(self.writer, f"figures/{name.split('_step_')[0]}", png, height, width, step)

    def maps(self, obs: Observation, period: int) -> None:
        """The probe's phase-energy map and spectrum as titled figures with colour bars (at
        evaluation steps: step 0 and the last), drawn by the background writer."""
        self.later.submit(self._maps, on_cpu(obs), period)

    def _maps(self, obs: Observation, period: int) -> None:
        run, step = self.run_dir.name, obs.step
        energy = obs.phase_energy / obs.phase_energy.mean().clamp_min(1e-30)
        cb = obs.scores["checkerboard"]
        title = f"phase energy E_{period} / mean (1 = even), CB {cb:.3g}\n{run}, step {step}"
        self.figure(
            f"phase_energy_step_{step:07d}", map_figure(energy, title, "E / mean", True), step
        )
        spectrum = without_zero_frequency(obs.log_spectrum)
        title = f"mean log power spectrum (zero frequency centred)\n{run}, step {step}"
        self.figure(f"spectrum_step_{step:07d}", map_figure(spectrum, title, "dB", False), step)

    def run_start(self, obs: Observation, real_radial: torch.Tensor, real: torch.Tensor) -> None:
        """Step-0 pictures: the probe's composed overlap map and its unevenness, generated vs
        real radial spectra, and a grid of real images as the samples' grid shows them
        (`samples/real`, once)."""
        assert obs.overlap is not None, "the step-0 probe carries the overlap map"
        overlap = obs.overlap.cpu()
        unevenness = measures.unevenness(overlap)
        self.metrics["overlap_unevenness"] = unevenness
        real = real[: obs.samples.shape[0]].detach().cpu()
        self.later.submit(
            self._start_pictures, overlap, unevenness, on_cpu(obs), real_radial.cpu(), real
        )

    def _start_pictures(
        self,
        overlap: torch.Tensor,
        unevenness: float,
        obs: Observation,
        real_radial: torch.Tensor,
        real: torch.Tensor,
    ) -> None:
        self.image("artifacts/overlap", heatmap(overlap), obs.step)
        flat = " (flat)" if unevenness == 1 else ""
        title = f"overlap map, max/min {unevenness:.3g}{flat}\n{self.run_dir.name}, step {obs.step}"
        self.figure("overlap", map_figure(overlap, title, "kernel-tap paths", True), obs.step)
        png = self.image("samples/real", grid(to_unit(real)), obs.step)
        write_bytes(self.samples_dir / "real.png", png)
        figure = radial_spectrum_figure(obs.radial, real_radial, f"step {obs.step}")
        self.writer.add_figure("artifacts/radial_spectrum", figure, obs.step)

    def probe(self, entry: dict[str, Any]) -> None:
        """Append one probe's entry to metrics.json (rewritten atomically), its init-vs-now
        table to TensorBoard's Text tab, and flush events."""
        self.metrics["probes"].append(entry)
        self.write_metrics()
        first = self.metrics["probes"][0]
        if entry["step"] > first["step"]:
            self.writer.add_text("summary/init_vs_now", init_vs_now(first, entry), entry["step"])
        self.writer.flush()

    def write_metrics(self, **fields: Any) -> None:
        self.metrics.update(fields)
        write_metrics_file(self.run_dir, self.metrics)

    @property
    def wall_before(self) -> float:
        """Seconds the run spent before this process (earlier parts of a resumed run)."""
        return self._wall_before

    @property
    def last_losses(self) -> tuple[float, float]:
        """The latest averaged (d, g) losses of this process; nan before the first."""
        m = self.metrics
        return m.get("final_loss_d", math.nan), m.get("final_loss_g", math.nan)

    def periods(self, generator: int, discriminator: int) -> None:
        """The periods the measures are read at: the generator's and D's gradient's."""
        self.metrics.update(checkerboard_period=generator, grad_period=discriminator)

    def probe_time(self, seconds: float) -> None:
        """Add one probe's seconds (evaluation included) to `probe_s`."""
        self.metrics["probe_s"] = self.metrics.get("probe_s", 0.0) + seconds

    def losses(self, step: int, d: float, g: float) -> None:
        """The losses averaged since the last call: TensorBoard scalars and the final values."""
        self.scalars(step, {"loss/d": d, "loss/g": g})
        self.metrics.update(final_loss_d=d, final_loss_g=g)

    def rate(self, images_per_s: float, loop_s: float | None = None) -> None:
        """Training images per second (probes included, the step-0 one not) and the loop's
        seconds."""
        self.metrics["throughput_img_s"] = images_per_s
        if loop_s is not None:
            self.metrics["loop_s"] = loop_s

    def flush_pictures(self) -> None:
        """Wait for the background writer (before a checkpoint, so the folder matches it)."""
        self.later.flush()

    def close(self) -> None:
        """Finish the pictures, then close the event file (also when a picture failed)."""
        try:
            self.later.close()
        finally:
            self.writer.close()
