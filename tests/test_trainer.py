"""Real training runs through the composed Hydra config: files, TensorBoard events, determinism."""

from __future__ import annotations

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from checkerboard_gan.rundir.checkpoint import load_checkpoint
from checkerboard_gan.training.run import train

from .conftest import compose_config, read_metrics


def events(run_dir) -> EventAccumulator:
    acc = EventAccumulator(str(run_dir), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    return acc


@pytest.mark.parametrize(
    "overrides",
    [
        ["upsample=deconv"],
        ["upsample=deconv", "upsample.kernel=4"],
        ["upsample=nearest"],
        ["upsample=bilinear"],
        ["upsample=subpixel", "upsample.icnr=true"],
        ["upsample=deconv", "upsample.kernel=3", "upsample.final_conv=true", "upsample.last_n=1"],
        ["disc=avgpool"],
        ["disc=strided", "disc.kernel=3", "train.loss=hinge"],
        ["upsample=zeros"],
        ["upsample=bilinear_additive"],
        ["upsample=deconv_blur"],
        ["upsample=filtered", "upsample.filter=[1,2,1]"],
        ["upsample=subpixel", "upsample.blur=true", "upsample.icnr=true"],
        ["disc=blurpool"],
        ["disc=strided", "disc.kernel=3", "disc.first_stride_only=true"],
    ],
    ids=lambda o: ",".join(o),
)
def test_each_kind_trains_and_logs_samples_from_init(overrides, tmp_path):
    cfg = compose_config(*overrides, "train.steps=3")
    metrics = train(cfg, tmp_path, overrides)
    assert metrics["status"] == "completed" and metrics["steps"] == 3
    assert [p["step"] for p in metrics["probes"]] == [0, 2, 3]
    assert metrics == read_metrics(tmp_path)
    assert metrics["overrides"] == overrides and metrics["throughput_img_s"] > 0

    acc = events(tmp_path)
    assert [e.step for e in acc.Images("samples/fixed")] == [0, 2, 3]
    assert [e.step for e in acc.Images("samples/fixed_contrast")] == [0, 2, 3]
    assert [e.step for e in acc.Images("samples/init")] == [0]
    assert [e.step for e in acc.Images("samples/real")] == [0]
    figures = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert figures == [
        "overlap.png",
        "phase_energy_step_0000000.png",
        "phase_energy_step_0000003.png",
        "spectrum_step_0000000.png",
        "spectrum_step_0000003.png",
    ]
    assert [e.step for e in acc.Images("figures/phase_energy")] == [0, 3]
    assert [e.step for e in acc.Images("figures/overlap")] == [0]
    texts = acc.Tensors("summary/init_vs_now/text_summary")
    assert [t.step for t in texts] == [2, 3]
    table = texts[-1].tensor_proto.string_val[0].decode()
    first = metrics["probes"][0]["checkerboard"]
    assert f"| checkerboard | {first:.4g} | {metrics['probes'][-1]['checkerboard']:.4g} |" in table
    assert (tmp_path / "samples" / "real.png").read_bytes() == (
        acc.Images("samples/real")[0].encoded_image_string
    )
    assert [e.step for e in acc.Scalars("loss/d")] == [1, 2, 3]
    for tag in ("checkerboard", "spectral_peak_db", "spectral_distance", "grad_checkerboard"):
        logged = [(e.step, e.value) for e in acc.Scalars(f"artifacts/{tag}")]
        expected = [(p["step"], p[tag]) for p in metrics["probes"]]
        assert [s for s, _ in logged] == [s for s, _ in expected]
        assert [v for _, v in logged] == pytest.approx([v for _, v in expected], rel=1e-6)
    for tag in ("artifacts/phase_energy", "artifacts/spectrum", "gradients/d_input"):
        assert [e.step for e in acc.Images(tag)] == [0, 2, 3]
    for tag in ("artifacts/overlap", "artifacts/radial_spectrum"):
        assert [e.step for e in acc.Images(tag)] == [0]
    # uneven overlap only where a k3 s2 transposed conv (or zero insertion) is left unfiltered
    # (the default generator is deconv k3); resize-convolution, k4 and the blur kinds are flat
    uneven = "upsample.kernel=4" not in overrides and all(
        o in ("upsample=deconv", "upsample=zeros") for o in overrides if o.startswith("upsample=")
    )
    assert (metrics["overlap_unevenness"] > 1.0) == uneven
    assert (metrics["overlap_unevenness"] == 1.0) == (not uneven)

    samples = torch.load(tmp_path / "samples" / "step_0000003.pt")
    assert samples.shape == (16, 3, 16, 16) and samples.dtype == torch.float32
    assert samples.abs().max() <= 1.0
    for name in ("step_0000000.png", "step_0000000_contrast.png", "step_0000003.png"):
        assert (tmp_path / "samples" / name).stat().st_size > 0

    ckpt = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert ckpt["step"] == 3 and {"generator", "discriminator", "opt_g", "opt_d"} <= set(ckpt)


def test_probe_measures_the_saved_batch(tmp_path):
    """metrics.json's checkerboard is CB_P of the very batch saved as samples/step_*.pt."""
    from checkerboard_gan.analysis import measures

    metrics = train(compose_config("upsample.kernel=3", "train.steps=2"), tmp_path)
    assert metrics["overlap_unevenness"] == 9.0  # two deconv k3 s2 stages for 16 px
    for probe in metrics["probes"]:
        x = torch.load(tmp_path / "samples" / f"step_{probe['step']:07d}.pt")
        assert probe["checkerboard"] == pytest.approx(measures.checkerboard_score(x, 4))
        assert probe["spectral_peak_db"] == pytest.approx(measures.spectral_peak_db(x, 4))


def test_step_zero_probe_is_taken_before_any_update(tmp_path):
    cfg = compose_config("train.steps=2", "log.every=100")
    train(cfg, tmp_path / "a")
    train(compose_config("train.steps=0"), tmp_path / "b")
    first = torch.load(tmp_path / "a" / "samples" / "step_0000000.pt")
    init_only = torch.load(tmp_path / "b" / "samples" / "step_0000000.pt")
    last = torch.load(tmp_path / "a" / "samples" / "step_0000002.pt")
    assert torch.equal(first, init_only)
    assert not torch.equal(first, last)


def test_zero_steps_is_an_init_only_run(tmp_path):
    metrics = train(compose_config("train.steps=0"), tmp_path)
    assert metrics["status"] == "completed"
    assert [p["step"] for p in metrics["probes"]] == [0]
    assert [e.step for e in events(tmp_path).Images("samples/fixed")] == [0]


def test_same_seed_same_samples(tmp_path):
    for name in ("a", "b"):
        train(compose_config("train.steps=3", "seed=5"), tmp_path / name)
    for step in (0, 2, 3):
        f = f"samples/step_{step:07d}.pt"
        assert torch.equal(torch.load(tmp_path / "a" / f), torch.load(tmp_path / "b" / f))
    train(compose_config("train.steps=0", "seed=6"), tmp_path / "c")
    assert not torch.equal(
        torch.load(tmp_path / "a" / "samples/step_0000000.pt"),
        torch.load(tmp_path / "c" / "samples/step_0000000.pt"),
    )


def test_probes_do_not_change_the_training(tmp_path):
    """Probing (batch statistics, no running-stat update) must not alter what training does."""
    train(compose_config("train.steps=4", "log.every=1"), tmp_path / "a")
    train(compose_config("train.steps=4", "log.every=100"), tmp_path / "b")
    a = load_checkpoint(tmp_path / "a" / "checkpoints" / "last.pt")["generator"]
    b = load_checkpoint(tmp_path / "b" / "checkpoints" / "last.pt")["generator"]
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("option", ["train.amp=true", "train.channels_last=true"])
def test_speed_options_train_on_cpu(tmp_path, option):
    metrics = train(compose_config("train.steps=2", option), tmp_path)
    assert metrics["status"] == "completed"
    assert torch.load(tmp_path / "samples" / "step_0000002.pt").isfinite().all()


@pytest.mark.slow
def test_compile_trains_a_tiny_model(tmp_path):
    metrics = train(compose_config("train.steps=2", "train.compile=true"), tmp_path)
    assert metrics["status"] == "completed"
    ckpt = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert not any(k.startswith("_orig_mod") for k in ckpt["generator"])  # plain module saved


def test_the_console_shows_init_measures_progress_and_a_final_block(tmp_path, caplog, monkeypatch):
    import logging

    from checkerboard_gan.training import run, trainer

    monkeypatch.setattr(trainer, "PROGRESS_EVERY_S", 0.0)  # a progress line after every step
    with caplog.at_level(logging.INFO):
        metrics = train(compose_config("train.steps=3"), tmp_path)
    text = caplog.text
    assert "step 0/3 (random init): CB_4 " in text and "grad CB_4 " in text
    assert "step 2/3 (67%), " in text and " img/s, about 0 min " in text  # not a terminal
    final = run.final_block(metrics, tmp_path)
    assert final in text
    assert f"run folder: {tmp_path}" in final
    assert f"tensorboard --logdir {tmp_path} --samples_per_plugin images=1000" in final
    first, last = metrics["probes"][0], metrics["probes"][-1]
    assert f"CB_4 at init {first['checkerboard']:.3g} -> step 3 {last['checkerboard']:.3g}" in final
    assert "evaluation at init: content_2 " in final


def test_map_figures_are_titled_with_a_colour_bar_and_a_flat_map_reads_flat():
    from checkerboard_gan.pictures.plots import map_figure, plt

    fig = map_figure(
        torch.full((4, 4), 9.0), "overlap map, max/min 1 (flat)\nrun, step 0", "n", True
    )
    image_ax, colour_bar = fig.axes
    assert image_ax.get_title().startswith("overlap map") and "step 0" in image_ax.get_title()
    assert colour_bar.get_ylabel() == "n"
    assert image_ax.images[0].get_clim() == (0.0, pytest.approx(9.45))  # from 0: flat is flat
    plt.close(fig)
