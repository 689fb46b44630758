"""Datasets: the embedded shapes, and real formats written as small files in a temporary folder.

No network is touched: `dataset.download` stays false throughout.
"""

from __future__ import annotations

import logging
import math
import pickle
import struct
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from checkerboard_gan.config import ConfigError
from checkerboard_gan.data.datasets import InMemoryBatches, StreamingBatches, build_batches
from checkerboard_gan.data.sources import PALETTE, DatasetError, make_shapes
from checkerboard_gan.pictures.images import MIN_CELL_PX
from checkerboard_gan.training.run import train

from .conftest import compose_config
from .test_decode import RAMP, write_png16

RUN = ["train.steps=2", "train.batch_size=8", "log.num_samples=8", "dataset.image_size=16"]


def write_mnist(root, folder="MNIST", n=40):
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split in ("train", "t10k"):
        pixels = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        (raw / f"{split}-images-idx3-ubyte").write_bytes(
            struct.pack(">IIII", 0x803, n, 28, 28) + pixels.tobytes()
        )
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, n) + bytes(n))


def write_cifar10(root, n=40):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "labels": [0] * n}
        (folder / name).write_bytes(pickle.dumps(batch))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": ["a"] * 10}))


def write_svhn(root, n=40):
    from scipy.io import savemat

    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)  # SVHN's .mat layout: H, W, C, N
    savemat(root / "train_32x32.mat", {"X": x, "y": rng.integers(1, 11, (n, 1))})
    return x


def write_celeba(root, n=20):
    """The five list files and img_align_celeba/ as torchvision reads them; even images train."""
    folder = root / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"{i + 1:06d}.jpg" for i in range(n)]
    for name in names:
        pixels = rng.integers(0, 256, (26, 22, 3), dtype=np.uint8)  # portrait, like CelebA
        Image.fromarray(pixels).save(folder / "img_align_celeba" / name)
    partition = [f"{name} {i % 2}" for i, name in enumerate(names)]
    (folder / "list_eval_partition.txt").write_text("\n".join(partition) + "\n")
    (folder / "identity_CelebA.txt").write_text("".join(f"{n} 1\n" for n in names))
    tables = {
        "list_bbox_celeba.txt": ("image_id x_1 y_1 width height", 4),
        "list_landmarks_align_celeba.txt": ("lefteye_x lefteye_y righteye_x righteye_y", 4),
        "list_attr_celeba.txt": ("Smiling Young", 2),
    }
    for file, (header, columns) in tables.items():
        rows = [f"{name} " + " ".join(["1"] * columns) for name in names]
        (folder / file).write_text("\n".join([str(n), header, *rows]) + "\n")


def write_folder(root, n=30):
    rng = np.random.default_rng(0)
    (root / "sub").mkdir(parents=True)
    for i in range(n):
        size = (24, 20) if i % 2 else (20, 20)
        pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / ("sub" if i % 3 == 0 else "") / f"img{i}.png")
    (root / "broken.png").write_bytes(b"\x89PNG not really")
    (root / "notes.txt").write_text("not an image")


def check_samples(run_dir, channels: int) -> None:
    x = torch.load(run_dir / "samples" / "step_0000002.pt")
    assert x.shape == (8, channels, 16, 16)
    assert x.min() >= -1 and x.max() <= 1


def trains(cfg, tmp_path, channels: int = 3) -> None:
    """Two training steps on the configured data, then their samples checked."""
    train(cfg, tmp_path / "run")
    check_samples(tmp_path / "run", channels)


def accept_made_up_files(monkeypatch, module) -> None:
    """Files made in a test cannot match a torchvision set's md5 sums; everything else is
    torchvision's own reading path."""
    monkeypatch.setattr(module, "check_integrity", lambda *args, **kwargs: True)


def test_shapes_are_deterministic_and_saturated():
    a, b = make_shapes(64, 16, 3, seed=3), make_shapes(64, 16, 3, seed=3)
    assert torch.equal(a, b) and not torch.equal(a, make_shapes(64, 16, 3, seed=4))
    colours = {tuple(c) for c in a.permute(0, 2, 3, 1).reshape(-1, 3).tolist()}
    assert colours <= {tuple(int(v * 255) for v in c) for c in PALETTE.tolist()}
    assert make_shapes(8, 16, 1, seed=0).shape == (8, 1, 16, 16)


def test_mnist_idx_files(tmp_path):
    write_mnist(tmp_path / "data")
    cfg = compose_config("dataset=mnist", f"dataset.root={tmp_path / 'data'}", *RUN)
    assert cfg.dataset.channels == 1
    trains(cfg, tmp_path, 1)


def test_fashion_mnist_as_rgb(tmp_path):
    write_mnist(tmp_path / "data", folder="FashionMNIST")
    cfg = compose_config(
        "dataset=fashion_mnist", f"dataset.root={tmp_path / 'data'}", "dataset.channels=3", *RUN
    )
    trains(cfg, tmp_path)


def test_cifar10_batch(tmp_path, monkeypatch):
    import torchvision.datasets.cifar as tv_cifar

    accept_made_up_files(monkeypatch, tv_cifar)
    write_cifar10(tmp_path / "data")
    cfg = compose_config("dataset=cifar10", f"dataset.root={tmp_path / 'data'}", *RUN)
    trains(cfg, tmp_path)


def test_svhn_mat_file(tmp_path, monkeypatch):
    import torchvision.datasets.svhn as tv_svhn

    from checkerboard_gan.data.sources import torchvision_source

    accept_made_up_files(monkeypatch, tv_svhn)
    x = write_svhn(tmp_path / "data")
    root = f"dataset.root={tmp_path / 'data'}"
    stored = compose_config("dataset=svhn", root, "dataset.image_size=32").dataset
    images = torchvision_source(stored)
    assert torch.equal(images, torch.from_numpy(x).permute(3, 2, 0, 1))  # N, C, H, W
    cfg = compose_config("dataset=svhn", root, *RUN)
    trains(cfg, tmp_path)


def test_celeba_list_files_and_jpegs(tmp_path, monkeypatch):
    import torchvision.datasets.celeba as tv_celeba

    accept_made_up_files(monkeypatch, tv_celeba)
    write_celeba(tmp_path / "data")
    cfg = compose_config("dataset=celeba", f"dataset.root={tmp_path / 'data'}", *RUN)
    batches = build_batches(cfg.dataset, 8, 0, torch.device("cpu"))
    assert isinstance(batches, InMemoryBatches)  # decoded once: 10 small JPEGs fit in memory
    assert batches.images.shape == (10, 3, 16, 16)  # the train split: rows marked 0
    trains(cfg, tmp_path)


def test_image_folder_skips_a_corrupt_file_naming_it(tmp_path, caplog):
    """One log warning (no Python warning) names the file and why it failed."""
    write_folder(tmp_path / "imgs")
    cfg = compose_config(
        "dataset=folder", f"dataset.root={tmp_path / 'imgs'}", "dataset.workers=0", *RUN
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batches = build_batches(cfg.dataset, 8, 0, torch.device("cpu"))
    assert isinstance(batches, InMemoryBatches) and batches.images.shape == (30, 3, 16, 16)
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert [r.levelno for r in caplog.records if "skipped" in r.getMessage()] == [logging.WARNING]
    assert skipped[0].endswith(
        "skipped 1 of 31 files that could not be decoded: broken.png (cannot identify image file)"
    )
    train(cfg, tmp_path / "run")
    check_samples(tmp_path / "run", 3)


def test_skipped_files_are_named_up_to_five_then_counted(tmp_path, caplog):
    """7 undecodable files among 10 (and a stream's header-unreadable ones): the first 5 by path
    named with why, then "and 2 more"."""
    folder = tmp_path / "imgs"
    (folder / "sub").mkdir(parents=True)
    for i in range(3):
        Image.new("L", (16, 16), 40 * i).save(folder / f"ok{i}.png")
    for i in range(7):
        (folder / "sub" / f"bad{i}.png").write_bytes(b"not an image")
    listed = "; ".join(f"sub/bad{i}.png (cannot identify image file)" for i in range(5))
    for extra in ([], ["dataset.max_memory_mb=0"]):
        caplog.clear()
        cfg = compose_config(
            "dataset=folder", f"dataset.root={folder}", "dataset.workers=0", *RUN, *extra
        )
        build_batches(cfg.dataset, 2, 0, torch.device("cpu"))
        lines = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
        assert lines == [
            f"dataset=folder ({folder}): skipped 7 of 10 files that could not be decoded: "
            f"{listed}; and 2 more"
        ]


def test_large_data_streams_through_workers(tmp_path):
    write_folder(tmp_path / "imgs")
    cfg = compose_config(
        "dataset=folder",
        f"dataset.root={tmp_path / 'imgs'}",
        "dataset.max_memory_mb=0",
        "dataset.workers=2",
        *RUN,
    )
    batches = build_batches(cfg.dataset, 8, 0, torch.device("cpu"))
    assert isinstance(batches, StreamingBatches)
    first = batches.batch(0)
    assert first.shape[1:] == (3, 16, 16) and first.shape[0] <= 8
    assert torch.equal(batches.batch(5), build_batches(cfg.dataset, 8, 0, "cpu").batch(5))
    trains(cfg, tmp_path)


def test_photos_are_real_photograph_crops(tmp_path):
    pytest.importorskip("skimage")
    cfg = compose_config("dataset=photos", "dataset.num_images=64", *RUN)
    images = build_batches(cfg.dataset, 8, 0, torch.device("cpu")).images
    assert images.shape == (64, 3, 16, 16) and images.float().std() > 20
    trains(cfg, tmp_path)


def test_photos_without_scikit_image_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "skimage", None)
    monkeypatch.setitem(sys.modules, "skimage.data", None)
    cfg = compose_config("dataset=photos", "dataset.num_images=8")
    with pytest.raises(DatasetError, match="scikit-image"):
        build_batches(cfg.dataset, 8, 0, torch.device("cpu"))


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10", "svhn", "celeba"])
def test_missing_torchvision_files_name_path_and_download_override(tmp_path, name):
    cfg = compose_config(f"dataset={name}", f"dataset.root={tmp_path}")
    with pytest.raises(DatasetError) as info:
        build_batches(cfg.dataset, 8, 0, torch.device("cpu"))
    message = str(info.value)
    assert f"dataset={name}" in message and str(tmp_path) in message
    assert "dataset.download=true" in message or "pip install" in message


def test_folder_needs_its_root(tmp_path):

    with pytest.raises(ConfigError, match="dataset.root must be given"):
        compose_config("dataset=folder")


def test_missing_or_empty_folder(tmp_path):
    with pytest.raises(DatasetError, match="is not a folder"):
        build_batches(
            compose_config("dataset=folder", f"dataset.root={tmp_path / 'no'}").dataset, 8, 0, "cpu"
        )
    with pytest.raises(DatasetError, match="holds no image files"):
        build_batches(
            compose_config("dataset=folder", f"dataset.root={tmp_path}").dataset, 8, 0, "cpu"
        )


def test_missing_data_exits_with_one_message(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "checkerboard_gan",
            "dataset=mnist",
            f"dataset.root={tmp_path}",
            "train.steps=1",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "dataset.download=true" in result.stderr and "Traceback" not in result.stderr


def test_an_image_over_the_decompression_bomb_limit_is_skipped_by_name(
    tmp_path, monkeypatch, caplog
):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(20):
        Image.new("RGB", (16, 16), (12 * i, 40, 200 - 9 * i)).save(folder / f"{i:02d}.png")
    Image.new("RGB", (64, 64), "red").save(folder / "huge.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300)  # 64 x 64 is over twice the limit
    cfg = compose_config("dataset=folder", f"dataset.root={folder}", "dataset.workers=0", *RUN)
    batches = build_batches(cfg.dataset, 8, 0, torch.device("cpu"))
    assert batches.images.shape == (20, 3, 16, 16)
    assert "skipped 1 of 21 files that could not be decoded: huge.png (Image size" in caplog.text
    assert "decompression bomb" in caplog.text.lower()


def test_streaming_a_folder_of_only_undecodable_files_is_one_clear_error(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(20):
        (folder / f"{i:02d}.png").write_bytes(b"not an image")
    cfg = compose_config(
        "dataset=folder",
        f"dataset.root={folder}",
        "dataset.max_memory_mb=0",
        "dataset.workers=0",
        *RUN,
    )
    with pytest.raises(DatasetError, match="none of 20 images read could be decoded"):
        train(cfg, tmp_path / "run")


def test_a_folder_of_only_undecodable_files_decides_no_channels(tmp_path, caplog):
    """No "0 of 0 readable images" channel line: the named skip, then the one error."""
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.png").write_bytes(b"not an image")
    cfg = compose_config("dataset=folder", f"dataset.root={folder}", "dataset.workers=0", *RUN)
    with caplog.at_level(logging.INFO), pytest.raises(DatasetError, match="none of its 3 files"):
        train(cfg, tmp_path / "run")
    assert "dataset.channels" not in caplog.text and "readable images" not in caplog.text
    assert "skipped 3 of 3 files that could not be decoded: 0.png (cannot identify" in caplog.text


def test_a_16_bit_folder_trains_on_its_values_scaled_to_8_bit(tmp_path, caplog):
    """16-bit greyscale ramps (0..65535, left to right): the data, the run's fixed real batch
    and its real-image tile hold the ramp's high byte (mid-grey in the middle), not white."""
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(16):
        write_png16(folder / f"{i:02d}.png", RAMP[..., None])
    cfg = compose_config("dataset=folder", f"dataset.root={folder}", "dataset.workers=0", *RUN)
    with caplog.at_level(logging.INFO, logger="checkerboard_gan.data"):
        train(cfg, tmp_path / "run")
    assert caplog.text.count("16 of 16 files are 16-bit, scaled to 8 bit") == 1
    assert "all 16 readable images are greyscale, so dataset.channels=1" in caplog.text
    fixed = build_batches(cfg.dataset, 8, 0, "cpu").fixed(8)  # the run's fixed real batch
    assert fixed.shape == (8, 1, 16, 16)
    middle = (fixed[..., 7:9].mean() + 1) * 127.5
    assert middle.item() == pytest.approx(128, abs=1)
    factor = math.ceil(MIN_CELL_PX / 16)
    pad = 2 * factor
    tile = np.asarray(Image.open(tmp_path / "run" / "samples" / "real.png"))[pad:, pad:, 0]
    columns = tile[: 16 * factor : factor, : 16 * factor : factor].mean(0)  # one per pixel
    assert columns.tolist() == pytest.approx((RAMP[0] >> 8).tolist())
    assert columns[7:9].mean() == pytest.approx(128, abs=1)


def test_a_greyscale_folder_trains_with_one_channel_unless_set(tmp_path, caplog):
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(16):
        Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8), "L").save(
            folder / f"{i:02d}.png"
        )
    cfg = compose_config("dataset=folder", f"dataset.root={folder}", "dataset.workers=0", *RUN)
    assert cfg.dataset.channels is None  # not set: it follows the images
    caplog.set_level(logging.INFO, logger="checkerboard_gan.data")
    trains(cfg, tmp_path, 1)
    assert "all 16 readable images are greyscale, so dataset.channels=1" in caplog.text
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=False)
    assert state["config"]["dataset"]["channels"] == 1  # the config the run used
    assert build_batches(cfg.dataset, 8, 0, "cpu").images.shape == (16, 1, 16, 16)
    cfg = compose_config(
        "dataset=folder", f"dataset.root={folder}", "dataset.channels=3", "dataset.workers=0", *RUN
    )
    assert build_batches(cfg.dataset, 8, 0, "cpu").images.shape == (16, 3, 16, 16)
    Image.new("RGB", (16, 16), "red").save(folder / "red.png")  # one colour image: RGB
    cfg = compose_config("dataset=folder", f"dataset.root={folder}", "dataset.workers=0", *RUN)
    assert build_batches(cfg.dataset, 8, 0, "cpu").images.shape == (17, 3, 16, 16)
    assert "1 of 17 readable images are in colour, so dataset.channels=3" in caplog.text


@pytest.mark.parametrize("channels", [3, 1])
def test_mixed_palette_mutes_about_half_the_images_three_quarters_to_mid_grey(channels):
    saturated = make_shapes(512, 16, channels, seed=5)
    mixed = make_shapes(512, 16, channels, seed=5, palette="mixed")
    to_unit = lambda x: x.double() / 127.5 - 1  # noqa: E731  [0, 255] -> [-1, 1]
    same = (mixed == saturated).flatten(1).all(1)
    muted = ~same
    # A muted image is its saturated twin (same shape, same colours) at 1/4 of its distance
    # from mid-grey: 3/4 of the way there, to within the rounding to 8 bits.
    expected = to_unit(saturated[muted]) / 4
    assert (to_unit(mixed[muted]) - expected).abs().max() <= 0.5 / 127.5 + 1e-12
    assert 0.4 < muted.double().mean() < 0.6  # probability 1/2: 512 coins, 4.5 standard errors
    if channels == 3:  # a muted colour is 1/4 as far from grey: sqrt(3) / 4 for a cube corner
        distance = to_unit(mixed[muted]).square().sum(1).sqrt()
        assert distance.sub(math.sqrt(3) / 4).abs().max() < 0.01


def test_palette_refuses_an_unknown_name():
    with pytest.raises(ConfigError, match="dataset.palette=pastel is invalid: valid are"):
        compose_config("dataset.palette=pastel")
