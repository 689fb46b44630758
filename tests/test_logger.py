"""The run logger's TensorBoard plumbing: event records checksummed in C, read back by
TensorBoard's own reader, which verifies every checksum; and the tensors a probe leaves in the
run folder."""

from __future__ import annotations

import glob
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from tensorboard.compat.tensorflow_stub import errors
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import PyRecordReader_New
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as python_crc
from tensorboard.summary.writer import record_writer

from checkerboard_gan.analysis import measures
from checkerboard_gan.analysis.catalogue import FINGERPRINT
from checkerboard_gan.analysis.evaluation import Evaluator
from checkerboard_gan.models.networks import Discriminator, Generator
from checkerboard_gan.rundir.record import RunRecord
from checkerboard_gan.rundir.tensorboard import masked_crc32c, open_writer
from checkerboard_gan.sweeps.runs import RunRow
from checkerboard_gan.training.logger import RunLogger
from checkerboard_gan.training.probes import NUM_GRAD, Probe

from .conftest import compose_config
from .test_trainer import events


@given(st.binary(max_size=4096))
def test_masked_crc32c_equals_tensorboards_python_checksum(data):
    assert masked_crc32c(data) == python_crc(data)


def test_records_are_written_with_the_c_checksum(tmp_path):
    open_writer(tmp_path).close()
    assert record_writer.masked_crc32c is masked_crc32c


def read_records(path: str) -> list[bytes]:
    reader, records = PyRecordReader_New(path), []
    while True:
        try:
            reader.GetNext()
        except errors.OutOfRangeError:
            return records
        records.append(reader.record())


def test_event_files_pass_tensorboards_checksum_check(tmp_path):
    writer = open_writer(tmp_path)
    for step in range(5):
        writer.add_scalar("loss/d", 0.5 + step, step)
    writer.close()
    (path,) = glob.glob(str(tmp_path / "events.out.tfevents.*"))
    assert len(read_records(path)) == 6  # the file-version record and five scalars
    damaged = bytearray(Path(path).read_bytes())
    damaged[-6] ^= 0xFF  # one byte of the last record's payload
    (tmp_path / "damaged").write_bytes(bytes(damaged))
    with pytest.raises(errors.DataLossError, match="crc32"):
        read_records(str(tmp_path / "damaged"))


def test_each_probe_saves_ds_input_gradient_as_the_probe_computed_it(tmp_path):
    cfg = compose_config()
    torch.manual_seed(0)
    g, d = Generator(cfg), Discriminator(cfg)
    real = torch.rand(NUM_GRAD + 4, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    probe = Probe(cfg, real, g.period, d.period)
    logger = RunLogger(tmp_path, RunRecord.start(tmp_path, {}), background=False)
    logger.probe(probe.observe(0, g, d))
    logger.close()
    row = RunRow(tmp_path, [], None)
    assert row.gradient_steps == row.sample_steps == [0]
    assert torch.equal(row.gradient(0), probe.input_gradient(d))
    assert row.gradient(0).shape == (NUM_GRAD, 3, 16, 16)


def tiny_probe_and_evaluator() -> tuple[Generator, Discriminator, Probe, Evaluator]:
    """The tiny config's G and D (seed 0), a probe and a 64-sample evaluator on 64 uniform
    real images."""
    cfg = compose_config()
    torch.manual_seed(0)
    g, d = Generator(cfg), Discriminator(cfg)
    real = torch.rand(64, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    probe = Probe(cfg, real, g.period, d.period)
    return g, d, probe, Evaluator(real, 64, 16, cfg.model.z_dim, cfg.seed, 2, g.period)


def test_an_evaluation_writes_its_fingerprint_figure_and_raw_tiles(tmp_path):
    """`eval/fingerprint_step_*.png` (the same bytes as TensorBoard's `eval/fingerprint`): the
    generated tile beside the real one on one scale; `.pt` beside it keeps the raw tiles."""
    g, d, probe, evaluator = tiny_probe_and_evaluator()
    evaluation = evaluator.evaluate(0, g)
    logger = RunLogger(tmp_path, RunRecord.start(tmp_path, {}), background=False)
    logger.probe(probe.observe(0, g, d), evaluation)
    logger.close()
    png = (tmp_path / "eval" / "fingerprint_step_0000000.png").read_bytes()
    (logged,) = events(tmp_path).Images("eval/fingerprint")
    assert logged.encoded_image_string == png
    width, height = Image.open(io.BytesIO(png)).size
    assert (logged.width, logged.height) == (width, height) and width > height > 200
    saved = torch.load(tmp_path / "eval" / "fingerprint_step_0000000.pt", weights_only=True)
    assert saved["step"] == 0 and torch.equal(saved["fake"], evaluation.tile)
    assert torch.equal(saved["real"], evaluation.real_tile)
    assert saved["fake_variance"] == evaluation.fake_variance
    assert saved["real_variance"] == evaluation.real_variance
    variance = torch.tensor(saved["fake_variance"], dtype=torch.float64)
    fp = measures.fingerprint_ratio(saved["fake"].double(), variance)
    assert fp == pytest.approx(evaluation.fake[FINGERPRINT.key(g.period)], rel=1e-4)


def test_few_evaluations_are_drawn_exactly_and_their_scalars_warn_about_smoothing(tmp_path):
    """Two evaluations (step 0 and the last, the default `eval.every=0`): TensorBoard's default
    smoothing misdraws such curves, so the Text tab's table and every `eval/*` scalar's
    description say so, and `eval/curves` (also `eval/curves.png`) draws the exact values over
    steps."""
    g, d, probe, evaluator = tiny_probe_and_evaluator()
    logger = RunLogger(tmp_path, RunRecord.start(tmp_path, {}), background=False)
    for step in (0, 7):
        logger.probe(probe.observe(step, g, d), evaluator.evaluate(step, g))
    logger.close()
    acc = events(tmp_path)
    curves = acc.Images("eval/curves")
    assert [c.step for c in curves] == [7]  # from the second evaluation on: one point is no curve
    png = curves[-1].encoded_image_string
    assert png == (tmp_path / "eval" / "curves.png").read_bytes()
    picture = Image.open(io.BytesIO(png))
    assert picture.format == "PNG" and picture.size == (curves[-1].width, curves[-1].height)
    tags = [t for t in acc.Tags()["scalars"] if t.startswith("eval/")]
    assert tags and "eval/seconds" in tags
    for tag in tags:
        assert [s.step for s in acc.Scalars(tag)] == [0, 7]
        described = acc.SummaryMetadata(tag).summary_description
        assert "smoothing" in described and "eval/curves" in described
    (text,) = [t for t in acc.Tensors("summary/evaluation/text_summary") if t.step == 7]
    assert "Smoothing to 0" in text.tensor_proto.string_val[0].decode()


def test_a_flat_overlap_map_is_labelled_flat_in_tensorboard_and_the_figure(tmp_path):
    """Nearest upsampling overlaps evenly: its overlap map is one value (81 paths), which drawn
    plainly is a blank square; TensorBoard's `artifacts/overlap` shows it mid-grey with a
    label, the figure says "flat: even overlap, every pixel 81"."""
    cfg = compose_config("upsample=nearest")
    torch.manual_seed(0)
    g, d = Generator(cfg), Discriminator(cfg)
    real = torch.rand(NUM_GRAD + 4, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    probe = Probe(cfg, real, g.period, d.period)
    obs = probe.observe(0, g, d)
    assert obs.overlap is not None and measures.unevenness(obs.overlap) == 1.0
    logger = RunLogger(tmp_path, RunRecord.start(tmp_path, {}), background=False)
    logger.probe(obs)
    logger.close()
    (logged,) = events(tmp_path).Images("artifacts/overlap")
    pixels = torch.from_numpy(
        np.array(Image.open(io.BytesIO(logged.encoded_image_string)).convert("L"))
    )
    assert pixels[10, 10] == 128 and (pixels == 0).any() and (pixels == 255).any()
    figure = (tmp_path / "figures" / "overlap.png").read_bytes()
    assert Image.open(io.BytesIO(figure)).format == "PNG"
