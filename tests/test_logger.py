"""The run logger's TensorBoard plumbing: event records checksummed in C, read back by
TensorBoard's own reader, which verifies every checksum."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tensorboard.compat.tensorflow_stub import errors
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import PyRecordReader_New
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as python_crc
from tensorboard.summary.writer import record_writer
from torch.utils.tensorboard import SummaryWriter

from checkerboard_gan.logger import masked_crc32c


@given(st.binary(max_size=4096))
def test_masked_crc32c_equals_tensorboards_python_checksum(data):
    assert masked_crc32c(data) == python_crc(data)


def test_records_are_written_with_the_c_checksum():
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
    writer = SummaryWriter(log_dir=str(tmp_path))
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
