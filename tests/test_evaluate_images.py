"""`python -m checkerboard_gan.evaluate` on images from anywhere: planted patterns with
hand-worked answers, every source format, a stride-3 source, and bad inputs (one message, exit 2,
no file written)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch
from PIL import Image

from checkerboard_gan.analysis import measures
from checkerboard_gan.analysis.streaming import ImageStatistics, evaluation_periods
from checkerboard_gan.data.image_sets import open_image_set
from checkerboard_gan.data.sources import photos_source
from checkerboard_gan.evaluate import evaluate_images, main
from checkerboard_gan.evaluate import parser as evaluate_parser

from .conftest import compose_config
from .test_decode import RAMP, write_png16, write_rotated


def photo_crops(n: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    """n crops of scikit-image's photographs: uint8 (n, 3, size, size)."""
    cfg = compose_config("dataset=photos", f"dataset.image_size={size}", f"dataset.num_images={n}")
    cfg.dataset.seed = seed
    return photos_source(cfg.dataset)


def unit(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 127.5 - 1


def save_pngs(images: torch.Tensor, folder, mode: str = "RGB") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(images):
        Image.fromarray(img.permute(1, 2, 0).numpy()).convert(mode).save(folder / f"{i:04d}.png")


def test_periods_run_while_an_image_holds_four_of_them():
    assert evaluation_periods(2, 256, 256) == [2, 4, 8, 16, 32, 64, 128]
    assert evaluation_periods(3, 27, 27) == [3, 9]
    assert evaluation_periods(2, 16, 40) == [2, 4, 8]
    with pytest.raises(ValueError, match="fewer than 4 periods"):
        evaluation_periods(4, 6, 6)


def test_a_period_2_energy_modulation_gives_its_hand_worked_cb():
    """Pixels at phases (0, 0) and (1, 1) times (1 + d), the others times (1 - d): the phase
    energies become E (1 +- d)^2 on crops whose energies are about equal per phase, so
    CB_2 = std / mean of {(1+d)^2, (1-d)^2, (1-d)^2, (1+d)^2} = 2d / (1 + d^2)."""
    d = 0.2
    crops = unit(photo_crops(256))
    crops = 0.4 * (crops - crops.mean(dim=(-2, -1), keepdim=True))  # |x| < 0.8: room for 1 + d
    sign = torch.tensor([[1.0, -1.0], [-1.0, 1.0]]).repeat(16, 16)
    planted = crops * (1 + d * sign)
    real, fake = _sets(crops), _sets(planted)
    ev = evaluate_images(fake, real, 2)
    assert ev.fake["cb_2"] == pytest.approx(2 * d / (1 + d * d), abs=0.03)
    assert ev.fake["content_2"] == pytest.approx(ev.fake["cb_2"])
    assert ev.real["cb_2"] < 0.05
    verdicts = {(p, m): v for p, m, v in ev.verdicts()}
    assert verdicts[(2, "content")] == "above the real floor"
    low, high = ev.intervals()["fake"]["cb_2"]
    assert low <= ev.fake["cb_2"] <= high


def test_an_additive_tile_is_found_at_its_planted_value_as_n_grows():
    """x + a t, t the +-1 checkerboard, on crops with sensor-like noise: the high-pass filter
    passes t whole and the images' own residual averages out as 1 / N, so FP_2 tends to
    a^2 / (pixel variance) and its interval narrows about as 1 / sqrt(N)."""
    a = 0.005
    crops = 0.6 * unit(photo_crops(640))
    noise = 0.1 * torch.randn(crops.shape, generator=torch.Generator().manual_seed(1))
    x_all = (
        crops + noise.clamp(-0.3, 0.3) + a * torch.tensor([[1.0, -1.0], [-1.0, 1.0]]).repeat(16, 16)
    )
    widths, errors = [], []
    for n in (40, 640):
        x = x_all[:n]
        ev = evaluate_images(_sets(x), None, 2)
        planted = a * a / measures.pixel_variance(x).item()
        low, high = ev.intervals()["fake"]["fingerprint_2"]
        assert low <= ev.fake["fingerprint_2"] <= high
        widths.append(high - low)
        errors.append(abs(ev.fake["fingerprint_2"] / planted - 1))
    assert low <= planted <= high
    assert errors[1] < 0.02 and errors[1] < errors[0]
    assert widths[1] < widths[0] / 2
    assert {v for _, _, v in ev.verdicts()} == {"no real floor (give --real)"}


def _sets(x: torch.Tensor):
    """An image set of x (float in [-1, 1]) through the .pt reader, from a file of its own (the
    reader maps the file: it must not be overwritten while read)."""
    import tempfile

    path = f"{tempfile.mkdtemp()}/images.pt"
    torch.save(x.contiguous(), path)
    return open_image_set([path])


def _reference(x: torch.Tensor, stride: int = 2) -> dict[str, float]:
    periods = evaluation_periods(stride, *x.shape[-2:])
    stats = ImageStatistics(stride, periods, tuple(x.shape[1:]), replicates=0)
    stats.add(x)
    return stats.values()


@pytest.fixture(scope="module")
def crops() -> torch.Tensor:
    return photo_crops(48, size=16)


def test_every_array_format_gives_the_values_of_the_images_themselves(crops, tmp_path):
    expected = _reference(unit(crops))
    nhwc = crops.permute(0, 2, 3, 1).numpy()
    np.savez(tmp_path / "samples.npz", nhwc)  # arr_0, as StyleGAN's and ADM's
    np.savez_compressed(tmp_path / "named.npz", images=nhwc)
    np.save(tmp_path / "nchw_float.npy", unit(crops).numpy())
    np.save(tmp_path / "nhwc.npy", nhwc)
    torch.save(crops.clone(), tmp_path / "uint8.pt")
    torch.save({"seeds": torch.arange(48), "images": unit(crops)}, tmp_path / "generated.pt")
    for name in ("samples.npz", "named.npz", "nchw_float.npy", "nhwc.npy", "uint8.pt"):
        images = open_image_set([str(tmp_path / name)])
        assert images.count == 48 and images.shape == (3, 16, 16), name
        got = evaluate_images(images, None, 2).fake
        assert got == pytest.approx(expected, rel=1e-6, abs=1e-4), name
    got = evaluate_images(open_image_set([str(tmp_path / "generated.pt")]), None, 2).fake
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-4)
    assert open_image_set([str(tmp_path / "samples.npz")], limit=10).count == 10


def test_a_mixed_folder_is_decoded_as_dataset_folder_decodes(crops, tmp_path):
    """PNG, greyscale PNG, RGBA PNG and a lossless WebP in nested folders: each decoded to RGB
    (greyscale repeated, alpha dropped), as `dataset=folder` reads them."""
    save_pngs(crops[:12], tmp_path / "a")
    save_pngs(crops[12:24], tmp_path / "b" / "grey", mode="L")
    save_pngs(crops[24:36], tmp_path / "c", mode="RGBA")
    for i, img in enumerate(crops[36:]):
        Image.fromarray(img.permute(1, 2, 0).numpy()).save(tmp_path / f"w{i}.webp", lossless=True)
    images = open_image_set([str(tmp_path)])
    assert images.count == 48 and images.shape == (3, 16, 16)
    x = torch.cat(list(images.chunks(16)))
    grey = torch.tensor([0.299, 0.587, 0.114]) @ crops[12:24].permute(0, 2, 3, 1).float().unsqueeze(
        -1
    )
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.*"))
    assert files[0].startswith("a/") and files[12].startswith("b/grey")
    assert torch.equal(x[:12], unit(crops[:12]))
    assert torch.allclose(x[12:24, 0], unit(grey.squeeze(-1).round()), atol=2 / 127.5)
    assert torch.equal(x[12:24, 0], x[12:24, 1])
    assert torch.equal(x[24:36], unit(crops[24:36]))


def test_a_stride_3_source_is_read_at_periods_3_and_9(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(64, 1, 27, 27, generator=g) * 0.5 - 0.25
    tile = torch.zeros(3, 3)
    tile[0, 0] = 0.5
    x = x + tile.repeat(9, 9) - tile.mean()
    np.save(tmp_path / "s3.npy", x.numpy())
    ev = evaluate_images(open_image_set([str(tmp_path / "s3.npy")]), None, 3)
    assert ev.periods == [3, 9]
    assert set(ev.fake) == {
        f"{m}_{p}" for m in ("cb", "content", "peak_db", "fingerprint") for p in (3, 9)
    } | {"diversity", "saturated", "extreme_colour_ratio"}
    assert ev.fake["diversity"] == pytest.approx(measures.diversity(x), rel=1e-5)
    assert ev.fake["cb_3"] == pytest.approx(measures.checkerboard_score(x, 3), rel=1e-5)
    assert ev.fake["content_9"] < 0.2 * ev.fake["content_3"]


def test_the_command_writes_its_folder_beside_the_source(crops, tmp_path, capsys):
    np.savez(tmp_path / "samples.npz", crops.permute(0, 2, 3, 1).numpy())
    save_pngs(crops, tmp_path / "real")
    assert main([str(tmp_path / "samples.npz"), "--real", str(tmp_path / "real")]) == 0
    out = tmp_path / "samples_evaluation"
    printed = capsys.readouterr().out
    assert str(out) in printed and "p=2" in printed
    record = json.loads((out / "evaluation.json").read_text())
    assert record["n_fake"] == 48 and record["n_real"] == 48 and record["periods"] == [2, 4, 8]
    assert set(record["fake"]) == set(record["real"]) | {"spectral_distance"}
    assert record["fake"] == pytest.approx(record["real"] | {"spectral_distance": 0.0}, abs=1e-4)
    assert set(record["intervals"]["fake"]) == {
        f"{m}_{p}" for m in ("cb", "content", "fingerprint") for p in (2, 4, 8)
    }
    assert {v["verdict"] for v in record["verdicts"]} == {"within the floor"}
    assert set(record["quality"]) == set(record["quality_floor"]) == {"swd", "swd_16"}
    # the same images: each generated half is the real half it is not compared with, so the
    # value is the floor's distance over fewer directions (a generator as good as the data
    # reads at the floor)
    assert record["quality"] == pytest.approx(record["quality_floor"], rel=0.15)
    swd, floor = record["quality"]["swd"], record["quality_floor"]["swd"]
    assert f"quality: swd {swd:.3g} (real halves {floor:.3g})" in printed
    for name in ("evaluation.md", "fingerprint.png", "spectrum.png", "radial_spectrum.png"):
        assert (out / name).stat().st_size > 0
    assert main([str(tmp_path / "samples.npz")]) == 0
    assert (tmp_path / "samples_evaluation_2" / "evaluation.json").exists()
    text = (tmp_path / "samples_evaluation_2" / "evaluation.md").read_text()
    assert "no floor" in text and "Sample quality (SWD, FID, KID): n/a" in text
    record = json.loads((tmp_path / "samples_evaluation_2" / "evaluation.json").read_text())
    assert record["quality"] == {} and record["quality_floor"] == {}


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (lambda d: (d / "empty").mkdir(), ["empty"], "holds no image files"),
        (lambda d: np.save(d / "rank2.npy", np.zeros((4, 4))), ["rank2.npy"], "valid are N x H"),
        (lambda d: np.save(d / "big.npy", np.full((2, 3, 8, 8), 3.0)), ["big.npy"], "[-1, 1]"),
        (lambda d: np.savez(d / "two.npz", a=np.zeros(1), b=np.zeros(1)), ["two.npz"], "arr_0"),
        (lambda d: (d / "notes.txt").write_text("x"), ["notes.txt"], "not an image folder"),
        (lambda d: None, ["missing.npz"], "does not exist"),
        (
            lambda d: np.save(d / "ok.npy", np.zeros((2, 8, 8, 3), np.uint8)),
            ["ok.npy", "--real", "dataset.image_size=8"],
            "dataset=NAME",
        ),
        (
            lambda d: np.save(d / "ok.npy", np.zeros((2, 8, 8, 3), np.uint8)),
            ["ok.npy", "--stride", "8"],
            "fewer than 4 periods",
        ),
    ],
)
def test_bad_inputs_are_one_message_and_exit_2_writing_nothing(
    make, args, message, tmp_path, capsys
):
    make(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    argv = [str(tmp_path / args[0]), *args[1:]]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("checkerboard_gan.evaluate: error:") and message in err
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert sorted(tmp_path.rglob("*")) == before


def test_a_folder_of_mixed_sizes_is_refused_naming_them(crops, tmp_path, capsys):
    save_pngs(crops[:3], tmp_path / "imgs")
    Image.new("RGB", (20, 16)).save(tmp_path / "imgs" / "odd.png")
    assert main([str(tmp_path / "imgs")]) == 2
    err = capsys.readouterr().err
    assert "16 x 16 (3 files)" in err and "20 x 16 (1 files)" in err


def test_real_images_of_another_size_are_refused(crops, tmp_path, capsys):
    np.save(tmp_path / "f.npy", crops.permute(0, 2, 3, 1).numpy())
    argv = [str(tmp_path / "f.npy"), "--real", "dataset=photos", "dataset.image_size=32"]
    assert main(argv) == 2
    assert "dataset.image_size=16" in capsys.readouterr().err


def test_the_help_names_every_source_kind():
    text = evaluate_parser().format_help()
    for kind in ("run folder", "image folder", ".npz", ".npy", ".pt", "dataset="):
        assert kind in text


def _png_folder(images: torch.Tensor, folder) -> None:
    """Float images in [-1, 1] saved as 8-bit PNGs by PIL, as another program would."""
    save_pngs(((images + 1) * 127.5).round().clamp(0, 255).to(torch.uint8), folder)


@pytest.mark.slow
def test_png_files_of_a_runs_images_give_the_run_folders_numbers(tmp_path):
    """A trained generator's images drawn with other latents and saved as 8-bit PNGs, against
    the run's real photographs saved as PNGs: each content and fingerprint value's interval
    overlaps the one the run folder's own evaluation gives, generated and real."""
    from checkerboard_gan.generate import generate
    from checkerboard_gan.training.run import train

    n = 512
    cfg = compose_config(
        "dataset=photos",
        f"dataset.num_images={n}",
        "upsample.kernel=3",
        "train.steps=30",
        f"eval.num_samples={n}",
    )
    train(cfg, tmp_path / "run")
    assert main([str(tmp_path / "run")]) == 0
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())["evaluations"][-1]
    generate(tmp_path / "run", list(range(10_000, 10_000 + n)), tmp_path / "drawn", None)
    drawn = torch.load(next((tmp_path / "drawn").glob("*.pt")))["images"]
    _png_folder(drawn, tmp_path / "fake_png")
    save_pngs(photos_source(cfg.dataset), tmp_path / "real_png")
    fake, real = (
        open_image_set([str(tmp_path / "fake_png")]),
        open_image_set([str(tmp_path / "real_png")]),
    )
    ev = evaluate_images(fake, real, 2)
    run_periods = [int(k.split("_")[1]) for k in record["fake"] if k.startswith("content_")]
    assert ev.periods[: len(run_periods)] == run_periods
    for side in ("fake", "real"):
        for p in run_periods:
            for key in (f"content_{p}", f"fingerprint_{p}"):
                low, high = ev.intervals()[side][key]
                run_low, run_high = record["intervals"][side][key]
                assert low <= run_high and run_low <= high, (side, key)
    assert record["fake"]["content_2"] > 3 * record["real"]["content_2"]
    verdicts = {(p, m): v for p, m, v in ev.verdicts()}
    assert verdicts[(2, "content")] == "above the real floor"


def test_folders_that_are_not_samples_and_an_out_file_are_refused_before_reading(
    crops, tmp_path, capsys
):
    np.save(tmp_path / "f.npy", crops.permute(0, 2, 3, 1).numpy())
    (tmp_path / "notes.txt").write_text("mine")
    sweep = tmp_path / "sweep"
    save_pngs(crops[:4], sweep / "0_upsample=deconv" / "samples")
    (sweep / "multirun.yaml").write_text("hydra: {}\n")
    (sweep / "0_upsample=deconv" / "metrics.json").write_text("{}")
    cases = [
        ([str(tmp_path / "f.npy"), "--out", str(tmp_path / "notes.txt")], "is a file"),
        ([str(sweep)], "is a sweep folder"),
        ([str(sweep / "0_upsample=deconv" / "samples")], "is inside the run folder"),
        ([str(tmp_path / "f.npy"), "--num-samples", "1"], "at least 2 images"),
    ]
    before = sorted(tmp_path.rglob("*"))
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, argv
    assert sorted(tmp_path.rglob("*")) == before
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_float_images_without_a_negative_value_are_warned_about(crops, tmp_path, caplog):
    np.save(tmp_path / "unit.npy", (crops.float() / 255).numpy())
    with caplog.at_level(logging.WARNING):
        assert main([str(tmp_path / "unit.npy")]) == 0
    assert "x * 2 - 1" in caplog.text


def test_a_dataset_floor_matches_the_generated_count_and_unequal_sets_are_warned(
    crops, tmp_path, caplog
):
    np.save(tmp_path / "f.npy", crops.permute(0, 2, 3, 1).numpy())
    save_pngs(crops[:12], tmp_path / "few")
    argv = [str(tmp_path / "f.npy"), "--real", "dataset=photos", "dataset.image_size=16"]
    assert main(argv) == 0
    record = json.loads((tmp_path / "f_evaluation" / "evaluation.json").read_text())
    assert record["n_fake"] == record["n_real"] == 48
    with caplog.at_level(logging.WARNING):
        assert main([str(tmp_path / "f.npy"), "--real", str(tmp_path / "few")]) == 0
    assert "48 generated against 12 real images" in caplog.text
    assert "fewer than 100 images are rough" in caplog.text


def test_a_value_inside_the_real_interval_is_within_the_floor_and_one_above_it_undecided():
    from checkerboard_gan.analysis.evaluation import floor_verdict
    from checkerboard_gan.analysis.streaming import Interval

    real = Interval(0.010, 0.020)
    assert floor_verdict(Interval(0.021, 0.03), real, 0.025) == "above the real floor"
    assert floor_verdict(Interval(0.012, 0.024), real, 0.018) == "within the floor"
    assert floor_verdict(Interval(0.0, 0.001), real, 0.0005) == "within the floor"
    assert floor_verdict(Interval(0.015, 0.04), real, 0.025).startswith("undecided")
    assert floor_verdict(Interval(0.015, 0.04), None, 0.025) == "no real floor (give --real)"


def test_grey_images_are_compared_with_rgb_ones_as_grey_rgb(crops, tmp_path):
    grey = crops.float().mean(dim=1).round().to(torch.uint8)  # (N, H, W): a greyscale array
    np.save(tmp_path / "grey.npy", grey.numpy())
    np.savez(tmp_path / "rgb.npz", crops.permute(0, 2, 3, 1).numpy())
    assert main([str(tmp_path / "grey.npy"), "--real", str(tmp_path / "rgb.npz")]) == 0
    record = json.loads((tmp_path / "grey_evaluation" / "evaluation.json").read_text())
    assert record["quality"]["swd"] > record["quality_floor"]["swd"]  # colour lost: further
    assert main([str(tmp_path / "rgb.npz"), "--real", str(tmp_path / "grey.npy")]) == 0
    again = json.loads((tmp_path / "rgb_evaluation" / "evaluation.json").read_text())
    assert again["quality"]["swd"] > again["quality_floor"]["swd"]


def test_images_under_7_px_say_why_they_have_no_quality_measure(tmp_path):
    tiny = photo_crops(40, size=16)[..., :6, :6].contiguous()
    np.save(tmp_path / "a.npy", tiny[:20].permute(0, 2, 3, 1).numpy())
    np.save(tmp_path / "b.npy", tiny[20:].permute(0, 2, 3, 1).numpy())
    assert main([str(tmp_path / "a.npy"), "--real", str(tmp_path / "b.npy"), "--stride", "2"]) == 0
    text = (tmp_path / "a_evaluation" / "evaluation.md").read_text()
    assert "n/a, images under 7 x 7 px hold no SWD patch" in text


def test_fid_options_are_named_as_the_command_spells_them(crops, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # a download fails at once
    np.save(tmp_path / "a.npy", crops.permute(0, 2, 3, 1).numpy())
    real = ["--real", str(tmp_path / "a.npy")]
    assert main([str(tmp_path / "a.npy"), *real, "--fid", "true"]) == 2
    err = capsys.readouterr().err
    assert "--fid true needs the InceptionV3 weights" in err and "--inception-weights PATH" in err
    assert "eval." not in err
    assert main([str(tmp_path / "a.npy"), *real, "--inception-weights", str(tmp_path)]) == 2
    assert "--inception-weights " in capsys.readouterr().err
    assert not (tmp_path / "a_evaluation").exists()


def test_a_16_bit_greyscale_folder_is_evaluated_on_its_values_scaled_to_8_bit(tmp_path, caplog):
    """16-bit greyscale ramps read as 1-channel images holding each sample's high byte
    (mid-grey in the middle; they read as white, repeated to RGB), by the command too."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "ramps"
    folder.mkdir()
    for i in range(8):
        noise = rng.integers(0, 2048, RAMP.shape)
        write_png16(folder / f"{i}.png", (RAMP * 0.96 + noise).astype(np.uint16)[..., None])
    images = open_image_set([str(folder)])
    assert images.shape == (1, 16, 16) and images.count == 8
    x = torch.cat(list(images.chunks(4)))
    assert ((x[..., 7:9].mean() + 1) * 127.5).item() == pytest.approx(128, abs=3)
    assert x[..., 0].max() < -0.9 and x[..., 15].min() > 0.9
    with caplog.at_level(logging.INFO):
        assert main([str(folder)]) == 0
    assert caplog.text.count("8 of 8 files are 16-bit, scaled to 8 bit") == 1
    assert (tmp_path / "ramps_evaluation" / "evaluation.json").exists()


def test_exif_rotated_files_are_measured_upright(tmp_path):
    """A file stored 16 x 8 whose EXIF turns it to 8 x 16 has the size of 8 x 16 files (the
    folder was refused as mixed sizes), and reads upright."""
    write_rotated(tmp_path / "rotated.jpg")
    for i in range(3):
        Image.new("RGB", (8, 16), (60 * i, 0, 0)).save(tmp_path / f"plain{i}.png")
    images = open_image_set([str(tmp_path)])
    assert images.shape == (3, 16, 8)
    x = torch.cat(list(images.chunks(4)))
    rotated = x[3]  # sorted: plain0..2, rotated
    assert rotated[:, :7].mean() > 0.95 and rotated[:, 9:].mean() < -0.95


def test_a_folder_names_its_skipped_files_and_reads_float_tiffs(tmp_path, caplog):
    """A float TIFF of 0.5 reads as 128 (it read as 0); a file that is no image and one whose
    pixels are cut short are each named with why, in one warning per stage that finds them."""
    for i in range(3):
        Image.fromarray(np.full((16, 16), 0.5, np.float32)).save(tmp_path / f"{i}.tif")
    (tmp_path / "text.png").write_bytes(b"not an image")
    noise = np.random.default_rng(0).integers(0, 256, (16, 16), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "cut.png")
    whole = (tmp_path / "cut.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(whole[: len(whole) // 2])
    with caplog.at_level(logging.INFO):
        images = open_image_set([str(tmp_path)])
        x = torch.cat(list(images.chunks(8)))
    assert x.shape == (3, 1, 16, 16) and bool((((x + 1) * 127.5).round() == 128).all())
    skipped = [m for m in caplog.messages if "skipped" in m]
    assert skipped == [
        f"folder {tmp_path}: skipped 1 of 5 files that could not be decoded: text.png (cannot "
        "identify image file)",
        f"folder {tmp_path}: skipped 1 of 5 files that could not be decoded: cut.png (image file "
        "is truncated)",
    ]
    assert "3 of 4 files are floating-point" in caplog.text
