"""The training run's logger: the one funnel through which the trainer shows what it sees.

Six calls: `declare` (config and measures to HParams, periods to the record), `probe` (a
probe's scores, pictures and sample files, with the evaluation over many samples at evaluation
steps), `losses`, `checkpoint` (pictures up to here on disk before a checkpoint), `timing`
(seconds and rates) and `close`. Pictures and sample files are written by a background thread
from CPU copies; numbers go to the run's record (metrics.json, rundir/record.py) and TensorBoard
(rundir/tensorboard.py) at once. The run folder's files are listed in docs/run_folder.md.
"""

from __future__ import annotations

import io
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch.utils.tensorboard import SummaryWriter

from checkerboard_gan.analysis import measures
from checkerboard_gan.analysis.catalogue import (
    CHECKERBOARD,
    DIVERSITY,
    OVERLAP_UNEVENNESS,
    SATURATED,
    Periods,
    of_stage,
)
from checkerboard_gan.analysis.evaluation import Evaluation
from checkerboard_gan.config import Config, flat_config
from checkerboard_gan.pictures.images import (
    gradient_grid,
    grid,
    heatmap,
    side_by_side,
    stretch,
    to_unit,
    without_zero_frequency,
)
from checkerboard_gan.pictures.plots import (
    FingerprintPanel,
    evaluation_curves_figure,
    figure_png,
    fingerprint_figure,
    map_figure,
    plt,
    radial_spectrum_figure,
)
from checkerboard_gan.rundir.background import BackgroundWriter
from checkerboard_gan.rundir.folder import write_bytes
from checkerboard_gan.rundir.record import RunRecord
from checkerboard_gan.rundir.schema import SchemaError, load_images
from checkerboard_gan.rundir.tensorboard import (
    FEW_POINTS_NOTE,
    declare_hparams,
    evaluation_table,
    init_vs_now,
    log_image,
    log_png,
    log_scalar,
    open_writer,
)
from checkerboard_gan.training.probes import NUM_GRAD_SHOWN, Observation

log = logging.getLogger(__name__)


ABSURD_LOSS = 1e6
EVEN_OVERLAP = "even overlap"  # what a flat overlap map's picture says it means


def degenerate(scores: dict[str, float], real_saturated: float) -> str | None:
    """Why a probe's samples are no images (`measures.degenerate`), or None."""
    return measures.degenerate(scores[DIVERSITY.key()], scores[SATURATED.key()], real_saturated)


def log_evaluation(
    writer: SummaryWriter, run_dir: Path, ev: Evaluation, evaluations: list[dict[str, Any]]
) -> None:
    """An evaluation's `eval/fake/*`, `eval/real/*`, `eval/quality/*` and `eval/quality_floor/*`
    scalars (each described as having few points, misdrawn by TensorBoard's default smoothing)
    and fingerprint tiles, in TensorBoard and in the run folder
    (`eval/fingerprint_step_XXXXXXX.png` and `.pt`), the first evaluation of `evaluations`
    (the run's, this one included) beside it as a table in the Text tab, and the headline
    measures of all of them (each at every period, and the quality measures) as exact curves
    from the second evaluation on (`eval/curves`, `eval/curves.png`), one row per measure."""
    writer.add_text("summary/evaluation", evaluation_table(evaluations[0], ev.entry()), ev.step)
    sides = (ev.fake, ev.real, ev.quality, ev.quality_floor)
    for side, values in zip(("fake", "real", "quality", "quality_floor"), sides, strict=True):
        for key, value in values.items():
            log_scalar(writer, f"eval/{side}/{key}", value, ev.step, FEW_POINTS_NOTE)
    log_scalar(writer, "eval/seconds", ev.seconds, ev.step, FEW_POINTS_NOTE)
    folder = Path(run_dir) / "eval"
    folder.mkdir(exist_ok=True)
    stem = folder / f"fingerprint_step_{ev.step:07d}"
    write_bytes(stem.with_suffix(".pt"), tensor_bytes(fingerprint_tiles(ev)))
    title = f"fingerprint tiles at period {ev.tile.shape[-1]}, {Path(run_dir).name}, step {ev.step}"
    png, height, width = figure_png(fingerprint_figure(evaluation_panels(ev), title, ncols=1))
    log_png(writer, "eval/fingerprint", png, height, width, ev.step)
    write_bytes(stem.with_suffix(".png"), png)
    if len(evaluations) < 2:  # one point is no curve
        return
    title = (
        f"evaluations, exact values (not smoothed), {Path(run_dir).name}, step {ev.step}; "
        "every measure: the Text tab's summary/evaluation"
    )
    headline = [m for m in of_stage("evaluation") if m.headline]
    keys = [m.key(p) for m in headline if m.per_period for p in ev.periods]
    keys += [m.key() for m in headline if not m.per_period]
    keys += [m.key() for m in of_stage("quality") if m.headline]
    png, height, width = figure_png(
        evaluation_curves_figure(evaluations, title, keys, ncols=len(ev.periods))
    )
    log_png(writer, "eval/curves", png, height, width, ev.step)
    write_bytes(folder / "curves.png", png)


def fingerprint_tiles(ev: Evaluation) -> dict[str, Any]:
    """What `eval/fingerprint_step_XXXXXXX.pt` holds: the raw tiles (C, P, P) of the generated
    and real images and the pixel variances FP_p divides by (the report draws from these)."""
    return {
        "step": ev.step,
        "fake": ev.tile,
        "fake_variance": ev.fake_variance,
        "real": ev.real_tile,
        "real_variance": ev.real_variance,
    }


def evaluation_panels(ev: Evaluation) -> list[FingerprintPanel]:
    """The generated images' tile, and the real images' beside it where there are any."""
    panels: list[FingerprintPanel] = [("generated", ev.tile, ev.fake_variance)]
    if ev.real_tile is not None:
        panels.append(("real images", ev.real_tile, ev.real_variance))
    return panels


def tensor_bytes(value: Any) -> bytes:
    """`torch.save` of a tensor (or a dict of them) into bytes, for an atomic write."""
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


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
        real=None if obs.real is None else obs.real.detach().cpu(),
        real_radial=None if obs.real_radial is None else obs.real_radial.cpu(),
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


class RunLogger:
    """TensorBoard events, pictures and sample files of one run under `run_dir`, and its
    numbers into `record` (metrics.json)."""

    def __init__(
        self,
        run_dir: Path,
        record: RunRecord,
        resume_step: int | None = None,
        earlier_dir: Path | None = None,
        background: bool = True,
    ) -> None:
        """`resume_step`: continue a run whose checkpoint is at that step; TensorBoard drops
        what was logged after it (purge_step). `earlier_dir` is that run's folder (this one, or
        another when resuming into a new folder): its step-0 samples stay the "init" of the
        comparison grids. With `background`, pictures and sample files are written by a
        BackgroundWriter thread."""
        self.run_dir = Path(run_dir)
        self.record = record
        self.later = BackgroundWriter(background)
        self.samples_dir = self.run_dir / "samples"
        self.samples_dir.mkdir(parents=True, exist_ok=True)
        purge = None if resume_step is None else resume_step + 1
        self.writer = open_writer(self.run_dir, purge)
        self.periods: Periods | None = None
        self._init_grid: torch.Tensor | None = None
        self._log_init = resume_step is None  # a resumed run never takes a later grid as init
        if resume_step is not None:
            self._resume_init(Path(earlier_dir or self.run_dir))

    # The funnel -------------------------------------------------------------------------

    def declare(
        self, cfg: Config, periods: Periods, first: list[str], differs: set[str], fresh: bool
    ) -> None:
        """Record the run's periods; for a fresh run (`fresh`) also declare its config and
        measures to TensorBoard's HParams tab: keys in `first` (what the sweep varies) lead
        the columns, those in `differs` are marked as differing, and each measure is declared
        at init (`init/...`, logged once at step 0) beside its last value."""
        self.periods = periods
        self.record.note(periods=periods.record())
        if not fresh:
            return
        values = {k: v for k, v in flat_config(cfg).items() if not k.startswith(HPARAM_HIDDEN)}
        tags = [t for name in periods.hparam_tags() for t in (f"init/{name}", name)]
        declare_hparams(self.writer, values, first, differs, [*tags, "loss/d", "loss/g"])

    def probe(self, obs: Observation, evaluation: Evaluation | None = None) -> None:
        """One probe: its scores and metrics.json entry now, its samples and maps through the
        background writer; at step 0 the overlap map and real images; with `evaluation` (at
        evaluation steps) the maps as titled figures and the evaluation over many samples."""
        obs = on_cpu(obs)
        if obs.real is not None:  # the step-0 probe
            self._run_start(obs)
        self.later.submit(self._pictures, obs)
        self._scalars(obs.step, {f"artifacts/{k}": v for k, v in obs.scores.items()})
        self._probe_entry({"step": obs.step, **obs.scores})
        if evaluation is None:
            return
        self.later.submit(self._maps, obs, obs.phase_energy.shape[-1])
        self._evaluation(evaluation)
        if obs.step == 0 and self.periods is not None:
            now = {f"artifacts/{k}": v for k, v in obs.scores.items()}
            now |= {f"eval/fake/{k}": v for k, v in evaluation.fake.items()}
            now |= {f"eval/quality/{k}": v for k, v in evaluation.quality.items()}
            tags = [t for t in self.periods.hparam_tags() if t in now]
            self._scalars(0, {f"init/{t}": now[t] for t in tags})

    def losses(self, step: int, d: float, g: float) -> None:
        """The losses averaged since the last call: TensorBoard scalars and the final values; a
        finite loss above `ABSURD_LOSS` in size is warned about once (`absurd_loss_at`)."""
        self._scalars(step, {"loss/d": d, "loss/g": g})
        self.record.note(final_loss_d=d, final_loss_g=g)
        if max(abs(d), abs(g)) > ABSURD_LOSS and self.record.get("absurd_loss_at") is None:
            self.record.note(absurd_loss_at=step)
            log.warning(
                "step %d: loss_d %.3g, loss_g %.3g: losses this large mean training has broken "
                "down (learning rates too high?), though the values are still finite",
                step,
                d,
                g,
            )

    def health(self, step: int, scores: dict[str, float], real_saturated: float) -> None:
        """Mark a generator that no longer makes images, from a probe's `scores`: collapsed
        (diversity under `measures.COLLAPSED_BELOW`: its samples are all the same) or saturated
        (at least 99% of its values at |x| >= 0.99 where under 90% of the real images' are).
        metrics.json keeps `collapsed_at` (the first such probe), `collapsed` (whether the last
        probe is) and `collapse_reason`; the first is warned about once."""
        reason = degenerate(scores, real_saturated)
        self.record.note(collapsed=reason is not None)
        if reason is None or self.record.get("collapsed_at") is not None:
            return
        self.record.note(collapsed_at=step, collapse_reason=reason)
        log.warning(
            "step %d: the generator has %s; its artifact measures are not meaningful while it "
            "stays so (metrics.json collapsed_at)",
            step,
            reason,
        )

    def checkpoint(self) -> None:
        """Wait for the background writer, so the folder matches the checkpoint about to be
        written."""
        self.later.flush()

    def timing(
        self,
        probe_s: float | None = None,
        images_per_s: float | None = None,
        loop_s: float | None = None,
    ) -> None:
        """Add a probe's seconds (evaluation included) to `probe_s`; set the training images per
        second (probes included, the step-0 one not) and the loop's seconds."""
        if probe_s is not None:
            self.record.add_seconds("probe_s", probe_s)
        if images_per_s is not None:
            self.record.note(throughput_img_s=images_per_s)
        if loop_s is not None:
            self.record.note(loop_s=loop_s)

    def close(self) -> None:
        """Finish the pictures, then close the event file (also when a picture failed)."""
        try:
            self.later.close()
        finally:
            self.writer.close()

    # What the funnel writes -------------------------------------------------------------

    def _resume_init(self, earlier_dir: Path) -> None:
        """Take the resumed run's step-0 grid as init; log it at step 0 when resuming into a
        new folder. Without a readable step-0 file no init grid is shown at all."""
        init = earlier_dir / "samples" / "step_0000000.pt"
        if not init.is_file():
            return
        try:
            samples = load_images(init)
        except SchemaError as err:  # a truncated or foreign file: show no init rather than fail
            log.warning("%s; no init grid is shown", err)
            return
        self._init_grid = grid(stretch(samples))
        if earlier_dir.resolve() != self.run_dir.resolve():
            self._image("samples/init", grid(to_unit(samples)), 0)
            self._image("samples/init_contrast", self._init_grid, 0)

    def _scalars(self, step: int, values: dict[str, float]) -> None:
        for tag, value in values.items():
            self.writer.add_scalar(tag, value, step)

    def _image(self, tag: str, img: torch.Tensor, step: int, png: bytes | None = None) -> bytes:
        return log_image(self.writer, tag, img, step, png)

    def _samples(self, step: int, samples: torch.Tensor) -> None:
        """Write one probe's fixed-noise samples: raw tensor, raw and stretched grids, TB images."""
        stem = self.samples_dir / f"step_{step:07d}"
        write_bytes(stem.with_suffix(".pt"), tensor_bytes(samples.detach().cpu()))
        raw, contrast = grid(to_unit(samples)), grid(stretch(samples))
        raw_png = self._image("samples/fixed", raw, step)
        contrast_png = self._image("samples/fixed_contrast", contrast, step)
        write_bytes(stem.with_suffix(".png"), raw_png)
        write_bytes(stem.parent / f"{stem.name}_contrast.png", contrast_png)
        if self._log_init:
            # Logged once, so TensorBoard's reservoir of 10 images per tag always keeps step 0.
            self._log_init = False
            self._init_grid = contrast
            self._image("samples/init", raw, step, raw_png)
            self._image("samples/init_contrast", contrast, step, contrast_png)
        if self._init_grid is not None:
            self._image("samples/init_vs_current", side_by_side(self._init_grid, contrast), step)

    def _input_gradient(self, step: int, grad: torch.Tensor) -> None:
        """Write one probe's dD(x)/dx on the fixed real images as `gradients/step_XXXXXXX.pt`
        (what the report draws), and the first few as a TensorBoard image."""
        folder = self.run_dir / "gradients"
        folder.mkdir(exist_ok=True)
        write_bytes(folder / f"step_{step:07d}.pt", tensor_bytes(grad.detach().cpu()))
        self._image("gradients/d_input", gradient_grid(grad[:NUM_GRAD_SHOWN]), step)

    def _pictures(self, obs: Observation) -> None:
        self._samples(obs.step, obs.samples)
        self._image("artifacts/phase_energy", heatmap(obs.phase_energy), obs.step)
        spectrum = without_zero_frequency(obs.log_spectrum)
        self._image("artifacts/spectrum", heatmap(spectrum, relative_to_max=False), obs.step)
        self._input_gradient(obs.step, obs.d_input_grad)

    def _evaluation(self, ev: Evaluation) -> None:
        """One evaluation over many samples: metrics.json, TensorBoard, fingerprint PNG."""
        evaluations = self.record.add_evaluation(ev.entry())
        log_evaluation(self.writer, self.run_dir, ev, evaluations)
        self.writer.flush()

    def _figure(self, name: str, fig: Any, step: int) -> None:
        """A titled matplotlib figure as `figures/NAME.png` in the run folder and in TensorBoard
        (`figures/NAME`)."""
        png, height, width = figure_png(fig)
        plt.close(fig)
        (self.run_dir / "figures").mkdir(exist_ok=True)
        write_bytes(self.run_dir / "figures" / f"{name}.png", png)
        log_png(self.writer, f"figures/{name.split('_step_')[0]}", png, height, width, step)

    def _maps(self, obs: Observation, period: int) -> None:
        run, step = self.run_dir.name, obs.step
        energy = obs.phase_energy / obs.phase_energy.mean().clamp_min(1e-30)
        cb = obs.scores[CHECKERBOARD.key()]
        title = f"phase energy E_{period} / mean (1 = even), CB {cb:.3g}\n{run}, step {step}"
        self._figure(
            f"phase_energy_step_{step:07d}", map_figure(energy, title, "E / mean", True), step
        )
        spectrum = without_zero_frequency(obs.log_spectrum)
        title = f"mean log power spectrum (zero frequency centred)\n{run}, step {step}"
        self._figure(f"spectrum_step_{step:07d}", map_figure(spectrum, title, "dB", False), step)

    def _run_start(self, obs: Observation) -> None:
        """Step-0 pictures: the probe's composed overlap map and its unevenness, generated vs
        real radial spectra, and a grid of real images as the samples' grid shows them
        (`samples/real`, once)."""
        unevenness = None if obs.overlap is None else measures.unevenness(obs.overlap)
        self.record.note(**{OVERLAP_UNEVENNESS.key(): unevenness})
        if obs.overlap_unavailable is not None:
            log.warning("overlap map not available: %s", obs.overlap_unavailable)
            self.record.note(overlap_unavailable=obs.overlap_unavailable)
        assert obs.real is not None and obs.real_radial is not None
        real = obs.real[: obs.samples.shape[0]]
        self.later.submit(self._start_pictures, obs.overlap, unevenness, obs, obs.real_radial, real)

    def _start_pictures(
        self,
        overlap: torch.Tensor | None,
        unevenness: float | None,
        obs: Observation,
        real_radial: torch.Tensor,
        real: torch.Tensor,
    ) -> None:
        if overlap is not None and unevenness is not None:
            self._overlap_pictures(overlap, unevenness, obs.step)
        png = self._image("samples/real", grid(to_unit(real)), obs.step)
        write_bytes(self.samples_dir / "real.png", png)
        figure = radial_spectrum_figure(obs.radial, real_radial, f"step {obs.step}")
        self.writer.add_figure("artifacts/radial_spectrum", figure, obs.step)

    def _overlap_pictures(self, overlap: torch.Tensor, unevenness: float, step: int) -> None:
        self._image("artifacts/overlap", heatmap(overlap, flat_note=EVEN_OVERLAP), step)
        flat = " (flat)" if unevenness == 1 else ""
        title = f"overlap map, max/min {unevenness:.3g}{flat}\n{self.run_dir.name}, step {step}"
        figure = map_figure(overlap, title, "kernel-tap paths", True, EVEN_OVERLAP)
        self._figure("overlap", figure, step)

    def _probe_entry(self, entry: dict[str, Any]) -> None:
        """Append one probe's entry to metrics.json, its init-vs-now table to TensorBoard's
        Text tab, and flush events."""
        self.record.add_probe(entry)
        probes = self.record.get("probes")
        first = probes[0]
        if entry["step"] > first["step"]:
            self.writer.add_text("summary/init_vs_now", init_vs_now(first, entry), entry["step"])
        self.writer.flush()
