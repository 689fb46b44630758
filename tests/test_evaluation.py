"""The evaluation over many samples: measures, drawing, training runs, `python -m
checkerboard_gan.evaluate`, and G and D seeded from their own streams."""

from __future__ import annotations

import logging

import pytest
import torch
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData
from torch import nn

from checkerboard_gan.analysis import measures
from checkerboard_gan.analysis.catalogue import Periods, summary_measure_columns
from checkerboard_gan.analysis.evaluation import Evaluator, batch_measures
from checkerboard_gan.analysis.inception import InceptionDistances
from checkerboard_gan.analysis.streaming import ImageStatistics
from checkerboard_gan.models.networks import batch_statistics
from checkerboard_gan.training.run import train
from checkerboard_gan.training.trainer import build

from .conftest import compose_config, read_metrics, run_module
from .test_trainer import events


class Constant(nn.Module):
    """A generator whose every image is the same flat colour."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.full((z.shape[0], 3, 16, 16), 0.3)


def test_a_constant_generator_has_no_content_and_no_fingerprint():
    real = torch.rand(32, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    ev = Evaluator(real, 48, 16, 8, 0, 2, 4).evaluate(7, Constant())
    assert ev.step == 7 and ev.n_fake == 48 and ev.n_real == 32
    assert set(ev.fake) == {
        f"{m}_{p}" for m in ("cb", "content", "peak_db", "fingerprint") for p in (2, 4)
    } | {"spectral_distance", "diversity", "saturated", "extreme_colour_ratio"}
    assert ev.fake["diversity"] == 0.0  # every image the same: a collapsed generator
    for key, value in ev.fake.items():
        if key.startswith(("cb_", "content_", "fingerprint_")):
            assert value == 0.0, key
    assert ev.tile.shape == (3, 4, 4) and ev.tile.abs().max() == 0
    # zero content is no result here: every verdict says so (a new user read "within the floor")
    assert ev.degenerate().startswith("collapsed: its samples are (nearly) identical")
    assert {v for _, _, v in ev.verdicts()} == {"not meaningful (collapsed)"}


class Signs(nn.Module):
    """A generator stuck at its tanh's limits: every value -1 or +1, the images all different."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        g = torch.Generator().manual_seed(int(z.abs().sum() * 1e3) % 2**31)
        return torch.randint(0, 2, (z.shape[0], 3, 16, 16), generator=g).float() * 2 - 1


def test_a_saturated_set_is_not_meaningful_against_unsaturated_real_images():
    g = torch.Generator().manual_seed(0)
    real = torch.rand(64, 3, 16, 16, generator=g) * 2 - 1  # share at |x| >= 0.99: about 1%
    ev = Evaluator(real, 48, 16, 8, 0, 2, 4).evaluate(3, Signs())
    assert ev.fake["saturated"] == 1.0 and ev.real["saturated"] == pytest.approx(0.01, abs=0.005)
    assert ev.fake["diversity"] > 0.9  # distinct images: not collapsed, saturated
    assert ev.degenerate() == "saturated: 100.0% of its values at +/-1 (real images 1%)"
    assert {v for _, _, v in ev.verdicts()} == {"not meaningful (saturated)"}
    binary = torch.sign(real)  # real images as saturated as the generated: the rule stays quiet
    assert Evaluator(binary, 48, 16, 8, 0, 2, 4).evaluate(3, Signs()).degenerate() is None


def test_real_measures_use_the_same_definitions():
    real = torch.rand(64, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    ev = Evaluator(real, 16, 16, 8, 0, 2, 4)
    assert ev.real == pytest.approx(batch_measures(real, 2, 4), rel=1e-5, abs=1e-4)
    assert ev.real["content_2"] == pytest.approx(ev.real["cb_2"])


def test_samples_are_drawn_in_chunks_with_each_chunks_batch_statistics():
    g = nn.Sequential(nn.Linear(8, 3 * 16), nn.Unflatten(1, (3, 4, 4)), nn.BatchNorm2d(3))
    evaluator = Evaluator(torch.zeros(4, 3, 4, 4), 40, 16, 8, 0, 2, 4)
    x = evaluator.draw(g)
    with batch_statistics(g), torch.no_grad():
        chunks = [g(z) for z in evaluator.z.split(16)]
    assert x.shape == (40, 3, 4, 4) and [c.shape[0] for c in chunks] == [16, 16, 8]
    assert torch.equal(x, torch.cat(chunks))
    assert torch.equal(g[2].running_mean, torch.zeros(3))  # running statistics untouched


@pytest.mark.parametrize("kind", ["deconv", "nearest"])
def test_a_run_writes_its_evaluations_to_metrics_and_tensorboard(kind, tmp_path):
    cfg = compose_config(f"upsample={kind}", "upsample.kernel=3", "train.steps=4", "eval.every=2")
    metrics = train(cfg, tmp_path)
    evals = read_metrics(tmp_path)["evaluations"]
    assert evals == metrics["evaluations"]
    assert [e["step"] for e in evals] == [0, 2, 4]
    for e in evals:
        assert e["n_fake"] == 64 and e["n_real"] == 64 and e["seconds"] > 0
        assert set(e["real"]) == {
            f"{m}_{p}" for m in ("cb", "content", "peak_db", "fingerprint") for p in (2, 4)
        } | {"diversity", "saturated", "extreme_colour_ratio"}
        assert set(e["fake"]) == set(e["real"]) | {"spectral_distance"}
    acc = events(tmp_path)
    for e in evals:  # SWD against the real images, and one half of them against the other
        assert set(e["quality"]) == {"swd", "swd_16"} and set(e["quality_floor"]) == {
            "swd",
            "swd_16",
        }
        assert e["quality"]["swd"] > 0 and 0 < e["quality_seconds"] < e["seconds"]
    assert len({e["quality_floor"]["swd"] for e in evals}) == 1  # computed once per run
    for side in ("fake", "real", "quality", "quality_floor"):
        for key in evals[0][side]:
            logged = [(s.step, s.value) for s in acc.Scalars(f"eval/{side}/{key}")]
            assert [s for s, _ in logged] == [0, 2, 4]
            wanted = [e[side][key] for e in evals]
            assert [v for _, v in logged] == pytest.approx(wanted, rel=1e-5, abs=1e-30)
    assert [i.step for i in acc.Images("eval/fingerprint")] == [0, 2, 4]
    tables = [
        (t.step, t.tensor_proto.string_val[0].decode())
        for t in acc.Tensors("summary/evaluation/text_summary")
    ]
    assert [step for step, _ in tables] == [0, 2, 4]
    last = tables[-1][1]  # the first evaluation beside the last, with the real floor
    assert "| measure | step 0 | step 4 | ratio | real |" in last
    init, end = evals[0]["fake"]["content_2"], evals[-1]["fake"]["content_2"]
    assert (
        f"| content_2 | {init:.4g} | {end:.4g} |" in last
        and f"{evals[-1]['real']['content_2']:.4g} |" in last
    )
    for step in (0, 2, 4):
        png = tmp_path / "eval" / f"fingerprint_step_{step:07d}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    experiment = HParamsPluginData.FromString(
        acc.PluginTagToContent("hparams")["_hparams_/experiment"]
    ).experiment
    declared = {m.name.tag for m in experiment.metric_infos}
    assert {"eval/fake/content_2", "eval/fake/fingerprint_2", "eval/quality/swd"} <= declared
    assert f"| swd | {evals[0]['quality']['swd']:.4g} |" in last
    if kind == "deconv":  # uneven overlap: the architecture's period-2 checkerboard at init
        assert evals[0]["fake"]["content_2"] > 3 * evals[0]["real"]["content_2"]


class Pooled(nn.Module):
    """A small feature extractor for FID and KID: 4 x 4 average colours, 48 features."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.adaptive_avg_pool2d(x, 4).flatten(1)


def test_fid_and_kid_go_into_the_evaluation_with_real_features_computed_once():
    gen = torch.Generator().manual_seed(0)
    real = torch.rand(96, 3, 16, 16, generator=gen) * 2 - 1
    g = nn.Sequential(nn.Linear(8, 3 * 16 * 16), nn.Tanh(), nn.Unflatten(1, (3, 16, 16)))
    distances = InceptionDistances(extractor=Pooled(), kid_subsets=10)
    evaluator = Evaluator(real, 64, 32, 8, 0, 2, 4, distances)
    first, second = evaluator.evaluate(0, g), evaluator.evaluate(1, g)
    assert distances.num_real == 96  # the real side once, for both evaluations
    wanted = InceptionDistances(extractor=Pooled(), kid_subsets=10)
    wanted.add_real(real)
    expected = wanted.measure([evaluator.draw(g)])
    for ev in (first, second):
        assert set(ev.quality) == {"swd", "swd_16", "fid", "kid_mean", "kid_std"}
        assert {k: ev.quality[k] for k in expected} == pytest.approx(expected, rel=1e-5)
        assert set(ev.quality_floor) == {"swd", "swd_16"}  # FID and KID have no floor here
    periods = Periods(2, 4, 2, 4, (16,), fid=True)
    assert periods.quality_keys() == list(first.quality)
    columns = summary_measure_columns(periods)
    assert {"swd_real", "fid_init", "fid_last", "kid_mean_last"} <= set(columns)
    assert "fid_real" not in columns and "kid_std_last" not in columns
    assert {"eval/quality/fid", "eval/quality/swd"} <= set(periods.hparam_tags())


def test_a_small_dataset_gives_fewer_real_images_and_says_so(tmp_path, caplog):
    cfg = compose_config("train.steps=0", "eval.num_samples=200")
    with caplog.at_level(logging.WARNING):
        metrics = train(cfg, tmp_path)
    (entry,) = metrics["evaluations"]
    assert (entry["n_fake"], entry["n_real"]) == (200, 128)
    assert "fewer than eval.num_samples=200" in caplog.text


@pytest.mark.slow
def test_evaluate_command_reproduces_and_replaces_the_last_evaluation(tmp_path):
    cfg = compose_config("upsample.kernel=3", "train.steps=3")
    last = train(cfg, tmp_path)["evaluations"][-1]
    done = run_module("checkerboard_gan.evaluate", str(tmp_path), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "step 3, 64 generated / 64 real" in done.stdout
    again = read_metrics(tmp_path)["evaluations"]
    assert [e["step"] for e in again] == [0, 3]
    assert again[-1]["fake"] == last["fake"] and again[-1]["real"] == last["real"]

    done = run_module("checkerboard_gan.evaluate", str(tmp_path), "--num-samples", "32")
    assert done.returncode == 0, done.stderr[-2000:]
    replaced = read_metrics(tmp_path)["evaluations"]
    assert [(e["step"], e["n_fake"]) for e in replaced] == [(0, 64), (3, 32)]
    assert read_metrics(tmp_path)["status"] == "completed"

    done = run_module("checkerboard_gan.evaluate", str(tmp_path), "--num-samples", "0")
    assert done.returncode == 2 and "--num-samples 0: give 1 or more" in done.stderr
    assert read_metrics(tmp_path)["evaluations"] == replaced  # a refused command changes nothing

    empty = tmp_path / "empty"  # inside the run folder: not samples
    empty.mkdir()
    done = run_module("checkerboard_gan.evaluate", str(empty), timeout=300)
    assert done.returncode == 2 and "is inside the run folder" in done.stderr
    empty = tmp_path.parent / f"{tmp_path.name}_empty"
    empty.mkdir()
    done = run_module("checkerboard_gan.evaluate", str(empty), timeout=300)
    assert done.returncode == 2 and "holds no image files" in done.stderr
    assert "Traceback" not in done.stderr


def _weights(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_d_at_init_does_not_depend_on_g_nor_g_on_d():
    cpu = torch.device("cpu")
    ds = [
        _weights(build(compose_config(f"upsample={u}", "upsample.kernel=3"), cpu).discriminator)
        for u in ("deconv", "nearest", "subpixel")
    ]
    assert _same(ds[0], ds[1]) and _same(ds[0], ds[2])
    gs = [
        _weights(build(compose_config(f"disc={d}", "disc.kernel=3"), cpu).generator)
        for d in ("avgpool", "strided", "blurpool")
    ]
    assert _same(gs[0], gs[1]) and _same(gs[0], gs[2])
    other_seed = build(compose_config("upsample=nearest", "seed=1"), cpu).discriminator
    assert not _same(ds[0], _weights(other_seed))


@pytest.mark.parametrize("shape", [(3, 16, 16), (1, 20, 24), (3, 17, 15)])
def test_streamed_chunks_give_each_measures_own_value_on_the_whole_batch(shape):
    """The evaluation streams chunks and keeps sums (float32 per chunk, float64 across); the
    values are those of the measures computed one by one from the whole batch in float64, to
    float32 rounding, whether or not the periods share one crop."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(40, *shape, generator=g) + 0.3 * torch.rand(1, *shape, generator=g)
    periods = [2, 4] if min(shape[1:]) < 16 else [2, 4, 8]
    content = measures.period_content(x, periods, 2)
    stats = ImageStatistics(2, periods, shape, replicates=20)
    for chunk in x.split(7):
        stats.add(chunk)
    values = stats.values()
    for p in periods:
        assert values[f"cb_{p}"] == pytest.approx(measures.checkerboard_score(x, p), rel=1e-5)
        assert values[f"content_{p}"] == pytest.approx(content[p], rel=1e-5)
        assert values[f"peak_db_{p}"] == pytest.approx(measures.spectral_peak_db(x, p), abs=1e-4)
        fp = measures.coherent_fingerprint(x, p)
        assert values[f"fingerprint_{p}"] == pytest.approx(fp, rel=1e-5)
        assert torch.allclose(stats.tile(p), measures.fingerprint_tile(x, p), atol=1e-7)
    assert stats.variance() == pytest.approx(measures.pixel_variance(x).item(), rel=1e-6)
    assert torch.allclose(stats.radial(), measures.radial_spectrum(x), atol=1e-4)
    ratio = measures.extreme_colour_ratio(x, 2)
    assert values["extreme_colour_ratio"] == pytest.approx(ratio, rel=1e-5)
    assert batch_measures(x, 2, periods[-1]) == pytest.approx(values, rel=1e-5, abs=1e-4)


def test_identical_images_have_no_variance_and_no_fingerprint_ratio():
    """A collapsed generator's images are all the same: their pixel variance is 0, not the
    float32 rounding of the chunk arithmetic, so FP_p is 0 as for any batch without variance."""
    x = (torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1).repeat(
        50, 1, 1, 1
    )
    stats = ImageStatistics(2, [2, 4, 8], (3, 16, 16))
    for chunk in x.split(16):
        stats.add(chunk)
    assert stats.variance() == 0.0
    assert all(stats.values()[f"fingerprint_{p}"] == 0.0 for p in (2, 4, 8))


def test_too_few_images_for_swd_skip_it_in_training_and_evaluate_with_one_line(tmp_path, caplog):
    """eval.num_samples=1 (or evaluate --num-samples 1) leaves a half of the real images
    empty: SWD is skipped with one line saying what N it needs; the artifact measures are
    recorded; no traceback."""
    with caplog.at_level(logging.WARNING):
        metrics = train(compose_config("train.steps=2", "eval.num_samples=1"), tmp_path)
    assert metrics["status"] == "completed" and len(metrics["evaluations"]) == 2
    for entry in metrics["evaluations"]:
        assert not entry.get("quality") and not entry.get("quality_floor")
        assert "cb_2" in entry["fake"] and "cb_2" in entry["real"]
    said = "SWD skipped: 1 real image leaves a half empty"
    assert caplog.text.count(said) == 1 and ">= 8" in caplog.text
    done = run_module("checkerboard_gan.evaluate", str(tmp_path), "--num-samples", "1")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.stderr.count(said) == 1 and "1 generated / 1 real" in done.stdout
    assert "cb_2" in read_metrics(tmp_path)["evaluations"][-1]["fake"]
