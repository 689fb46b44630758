"""The real `tensorboard` server, default flags, over a run with more probes than it keeps."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
from PIL import Image

from checkerboard_gan.training.run import train

from .conftest import compose_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read()


def _images(base: str, run: str, tag: str, deadline: float) -> list[dict]:
    query = urllib.parse.urlencode({"run": run, "tag": tag, "sample": 0})
    while True:
        try:
            entries = json.loads(_get(f"{base}/data/plugin/images/images?{query}"))
            if entries:
                return entries
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"tensorboard served no images for {tag}")
        time.sleep(0.5)


@pytest.mark.slow
def test_server_keeps_step_zero_and_the_last_step(tmp_path):
    steps = 14
    train(compose_config(f"train.steps={steps}", "log.every=1"), tmp_path / "run")
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tensorboard.main",
            "--logdir",
            str(tmp_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        fixed = _images(base, "run", "samples/fixed", deadline)
        init = _images(base, "run", "samples/init", deadline)
        pairs = _images(base, "run", "samples/init_vs_current", deadline)
        # More probes than the server keeps: it samples the tag down, keeping the last step.
        assert len(fixed) <= 10 < steps + 1
        assert fixed[-1]["step"] == steps and pairs[-1]["step"] == steps
        assert [e["step"] for e in init] == [0]
        for entry in (init[0], fixed[-1]):
            png = _get(f"{base}/data/plugin/images/individualImage?{entry['query']}")
            assert Image.open(io.BytesIO(png)).size[0] > 64
    finally:
        server.terminate()
        server.wait(10)
