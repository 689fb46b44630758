"""Image files decoded as a viewer shows them (`data.decode`): 16-bit, 32-bit integer,
floating-point, greyscale, palette, alpha, CMYK and EXIF-rotated files written small (16 px) in a
temporary folder, each with the values it must decode to, the one log line per kind of change,
and the one warning naming skipped files."""

from __future__ import annotations

import logging
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from checkerboard_gan.data.decode import (
    decode_file,
    read_header,
    read_headers,
    report_changes,
    report_skipped,
)

RAMP = np.tile(np.linspace(0, 65535, 16).round().astype(np.uint16), (16, 1))  # left to right


def write_png16(path: Path, samples: np.ndarray) -> Path:
    """A 16-bit PNG of uint16 (H, W, C), C = 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA (PIL writes
    16-bit greyscale only)."""
    h, w, c = samples.shape
    rows = b"".join(b"\0" + samples[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", w, h, 16, {1: 0, 2: 4, 3: 2, 4: 6}[c], 0, 0, 0)
    png = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png)
    return path


def write_rotated(path: Path) -> Path:
    """A 16 x 8 (W x H) image, left half white, whose EXIF orientation 6 shows it turned a
    quarter clockwise: 8 x 16, top half white."""
    pixels = np.zeros((8, 16, 3), np.uint8)
    pixels[:, :8] = 255
    img = Image.fromarray(pixels)
    exif = img.getexif()
    exif[0x0112] = 6
    img.save(path, exif=exif.tobytes(), **({"quality": 100} if path.suffix == ".jpg" else {}))
    return path


def decoded(path: Path) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no PIL or torchvision warning on any kind
        x = decode_file(path)
    assert x is not None and x.dtype == torch.uint8
    return x


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_a_16_bit_ramp_is_scaled_to_8_bit_not_clipped(tmp_path, channels):
    """Grey, grey + alpha, RGB and RGBA at 16 bit: the high byte of each sample (0..65535 ->
    0..255), so the ramp's middle is mid-grey (it decoded as white from column 1 on)."""
    samples = np.stack([RAMP] * channels, -1)
    if channels in (2, 4):
        samples[..., -1] = 65535  # opaque
    x = decoded(write_png16(tmp_path / "ramp.png", samples))
    assert x.shape == ((1 if channels <= 2 else 3), 16, 16)
    expected = torch.from_numpy((RAMP >> 8).astype(np.uint8))
    assert torch.equal(x[0], expected) and torch.equal(x[-1], expected)
    assert x[:, :, 7:9].float().mean() == pytest.approx(128, abs=1)


def test_16_bit_greyscale_from_pil_and_tiff_reads_the_same(tmp_path):
    Image.fromarray(RAMP).save(tmp_path / "ramp.png")  # PIL's I;16
    Image.fromarray(RAMP).save(tmp_path / "ramp.tif")
    png, tif = decoded(tmp_path / "ramp.png"), decoded(tmp_path / "ramp.tif")
    assert png.shape == (1, 16, 16) and torch.equal(png, tif)
    assert png[0, 0].tolist() == (RAMP[0] >> 8).tolist()


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif"])
def test_an_exif_rotated_file_is_decoded_upright(tmp_path, suffix):
    path = write_rotated(tmp_path / f"rotated{suffix}")
    x = decoded(path)
    assert x.shape == (3, 16, 8)
    assert x[:, :7].float().mean() > 250 and x[:, 9:].float().mean() < 5  # top half white
    header = read_header(path)
    assert header is not None and header.size == (8, 16) and "rotated" in header.changes


def test_a_palette_image_with_transparency_gives_its_palette_colours(tmp_path):
    indices = np.tile(np.arange(16, dtype=np.uint8) % 4, (16, 1))
    img = Image.fromarray(indices, "P")
    img.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9] + [0] * 756)
    img.save(tmp_path / "p.png", transparency=3)
    x = decoded(tmp_path / "p.png")
    assert x.shape == (3, 16, 16)
    assert x[:, 0, :4].T.tolist() == [[255, 0, 0], [0, 255, 0], [0, 0, 255], [9, 9, 9]]
    assert read_header(tmp_path / "p.png").changes == {"palette", "alpha"}


def test_a_palette_of_greys_is_greyscale(tmp_path):
    img = Image.fromarray(np.tile(np.arange(16, dtype=np.uint8), (16, 1)), "P")
    img.putpalette([v for i in range(256) for v in (i * 10 % 256,) * 3])
    img.save(tmp_path / "p.png")
    x = decoded(tmp_path / "p.png")
    assert x.shape == (1, 16, 16) and x[0, 0, :3].tolist() == [0, 10, 20]


def test_alpha_is_dropped_keeping_the_stored_colours(tmp_path):
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, np.tile(np.arange(16) * 17, (16, 1))  # 0 to 255 alpha
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(rgba[..., [0, 3]], "LA").save(tmp_path / "la.png")
    colour, grey = decoded(tmp_path / "rgba.png"), decoded(tmp_path / "la.png")
    assert colour.shape == (3, 16, 16) and colour[:, 0, 0].tolist() == [200, 0, 0]
    assert torch.equal(colour[0], torch.full((16, 16), 200, dtype=torch.uint8))
    assert grey.shape == (1, 16, 16) and bool((grey == 200).all())


def test_cmyk_becomes_rgb_and_greyscale_kinds_one_channel(tmp_path):
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(tmp_path / "red.jpg", quality=100)
    assert decoded(tmp_path / "red.jpg")[:, 8, 8].tolist() == [255, 0, 0]
    Image.new("L", (16, 16), 100).save(tmp_path / "l.png")
    Image.fromarray(np.tile(np.arange(16) % 2 == 0, (16, 1))).save(tmp_path / "bits.png")
    assert decoded(tmp_path / "l.png").shape == (1, 16, 16)
    assert decoded(tmp_path / "bits.png")[0, 0, :4].tolist() == [255, 0, 255, 0]


def test_each_kind_of_change_is_logged_once_counting_the_files(tmp_path, caplog):
    for i in range(3):
        write_png16(tmp_path / f"ramp{i}.png", RAMP[..., None])
    write_rotated(tmp_path / "rotated.jpg")
    Image.new("RGB", (16, 16)).save(tmp_path / "plain.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    files = sorted(tmp_path.glob("*.*"))
    with caplog.at_level(logging.INFO, logger="checkerboard_gan.data.decode"):
        report_changes(read_headers(files), "folder x")
    lines = caplog.text.splitlines()
    assert sum("16-bit" in line for line in lines) == 1
    assert "folder x: 3 of 5 files are 16-bit, scaled to 8 bit" in caplog.text
    assert "folder x: 1 of 5 files have an EXIF orientation, turned upright" in caplog.text
    assert "alpha" not in caplog.text and "palette" not in caplog.text
    assert decode_file(tmp_path / "broken.png") is None


def test_a_float_tiff_is_read_as_a_viewer_shows_it(tmp_path, caplog):
    """Values within [0, 1] times 255, rounded (0.17 -> 43, 0.5 -> 128, 0.81 -> 207: it read
    all black); others clipped to [0, 255]; nan and inf read as 0; one line counts them."""
    unit = np.full((16, 16), 0.5, np.float32)
    unit[0, :3] = [0.17, 0.81, 1.0]
    Image.fromarray(unit).save(tmp_path / "unit.tif")
    wide = np.full((16, 16), 100.4, np.float32)
    wide[0, :4] = [-3.0, 254.6, 300.0, np.nan]
    Image.fromarray(wide).save(tmp_path / "wide.tif")
    holes = unit.copy()
    holes[0, :2] = [np.inf, np.nan]
    Image.fromarray(holes).save(tmp_path / "holes.tif")
    x = decoded(tmp_path / "unit.tif")
    assert x.shape == (1, 16, 16) and x[0, 0, :4].tolist() == [43, 207, 255, 128]
    assert decoded(tmp_path / "wide.tif")[0, 0, :5].tolist() == [0, 255, 255, 0, 100]
    assert decoded(tmp_path / "holes.tif")[0, 0, :4].tolist() == [0, 0, 255, 128]
    Image.new("L", (16, 16)).save(tmp_path / "plain.png")
    files = sorted(tmp_path.glob("*.*"))
    with caplog.at_level(logging.INFO, logger="checkerboard_gan.data.decode"):
        report_changes(read_headers(files), "folder x")
    assert caplog.messages == [
        "folder x: 3 of 4 files are floating-point, read as a viewer shows them: 2 with values "
        "within [0, 1], scaled by 255, 1 with others, clipped to [0, 255]; 2 with non-finite "
        "values (nan, inf), read as 0"
    ]


def test_a_32_bit_integer_file_is_scaled_by_the_bits_its_largest_value_needs(tmp_path, caplog):
    """Largest value 65535: v >> 8 as 16-bit (32768 -> 128); largest 131071 (17 bits): v >> 9
    (65536 -> 128, 131071 -> 255); negative -> 0. Logged as 32-bit, not 16-bit."""
    small = np.zeros((16, 16), np.int32)
    small[0, :4] = [65535, 32768, 255, -5]
    large = np.zeros((16, 16), np.int32)
    large[0, :4] = [131071, 65536, 511, -70000]
    Image.fromarray(small).save(tmp_path / "small.tif")
    Image.fromarray(large).save(tmp_path / "large.tif")
    assert decoded(tmp_path / "small.tif")[0, 0, :4].tolist() == [255, 128, 0, 0]
    assert decoded(tmp_path / "large.tif")[0, 0, :4].tolist() == [255, 128, 0, 0]
    with caplog.at_level(logging.INFO, logger="checkerboard_gan.data.decode"):
        report_changes(read_headers(sorted(tmp_path.glob("*.tif"))), "folder x")
    assert len(caplog.messages) == 1 and "16-bit" not in caplog.text
    assert caplog.messages[0].startswith("folder x: 2 of 2 files are 32-bit integer, scaled")


def test_skipped_files_are_named_with_why(tmp_path, caplog):
    (tmp_path / "text.png").write_bytes(b"not an image")
    noise = np.random.default_rng(0).integers(0, 256, (16, 16), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "cut.png")
    whole = (tmp_path / "cut.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(whole[: len(whole) // 2])  # its header reads
    bad = [tmp_path / "text.png", tmp_path / "cut.png"]
    assert decode_file(bad[0]) is None and decode_file(bad[1]) is None
    report_skipped(bad, 9, "folder x", tmp_path)
    report_skipped([], 9, "folder y", tmp_path)
    assert caplog.messages == [
        "folder x: skipped 2 of 9 files that could not be decoded: text.png (cannot identify "
        "image file); cut.png (image file is truncated)"
    ]
