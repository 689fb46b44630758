"""FID and KID (analysis/inception.py): the torchmetrics path against hand computations, the
local-weights path, and `eval.fid` / `eval.inception_weights` refused with one message."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import linalg

from checkerboard_gan.analysis import catalogue, inception
from checkerboard_gan.analysis.inception import (
    InceptionDistances,
    fid_enabled,
    inception_weights,
)
from checkerboard_gan.config import ConfigError, EvalConfig

from .conftest import compose_config, run_module

ROOT = Path(__file__).resolve().parents[1]
FID, KID_MEAN, KID_STD = (m.key() for m in (catalogue.FID, catalogue.KID_MEAN, catalogue.KID_STD))


@pytest.fixture(autouse=True)
def no_weights_cache(tmp_path, monkeypatch):
    """An empty torch home, so a cached download on this machine changes nothing; no network."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # a download fails at once


def distances(*real: torch.Tensor, kid_subsets: int = 100) -> InceptionDistances:
    """Distances whose features are the images flattened (a custom extractor)."""
    d = InceptionDistances(extractor=torch.nn.Flatten(), kid_subsets=kid_subsets)
    for chunk in real:
        d.add_real(chunk)
    return d


def closed_form_fid(x: np.ndarray, y: np.ndarray) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 sqrt(S1 S2)), sample covariances (n - 1)."""
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    root = linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * root))


def test_fid_of_two_gaussian_feature_sets_is_the_closed_form():
    gen = torch.Generator().manual_seed(0)
    d, n = 4, 4000
    a = torch.randn(d, d, generator=gen, dtype=torch.float64)
    real = torch.randn(n, d, generator=gen, dtype=torch.float64)
    fake = torch.randn(n, d, generator=gen, dtype=torch.float64) @ a.T + 0.5
    # chunks shaped like images (n, C, 1, 1), through the metric in three pieces
    dist = distances(*real.float().reshape(n, d, 1, 1).split(1500), kid_subsets=1)
    result = dist.measure(fake.float().reshape(n, d, 1, 1).split(1000))
    sample = closed_form_fid(real.float().double().numpy(), fake.float().double().numpy())
    assert result[FID] == pytest.approx(sample, rel=1e-4)
    # and near the population's: N(0, I) against N(0.5, A A^T)
    s2 = (a @ a.T).numpy()
    population = d * 0.25 + np.trace(np.eye(d) + s2 - 2 * linalg.sqrtm(s2).real)
    assert result[FID] == pytest.approx(population, rel=0.05)


def hand_kid(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with k(u, v) = (u.v / d + 1)^3, every pair written out."""
    m, d = len(x), x.shape[1]

    def k(u, v):
        return (float(np.dot(u, v)) / d + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_is_the_unbiased_mmd_of_the_cubic_kernel_and_keeps_the_real_side():
    gen = torch.Generator().manual_seed(1)
    real = torch.randn(6, 3, 1, 1, generator=gen)
    fakes = [torch.randn(6, 3, 1, 1, generator=gen) + s for s in (0.0, 1.0)]
    dist = distances(real)
    for fake in fakes:  # the subset size is all 6: every subset is the whole set
        result = dist.measure([fake])
        expected = hand_kid(real.flatten(1).double().numpy(), fake.flatten(1).double().numpy())
        assert result[KID_MEAN] == pytest.approx(expected, rel=1e-4, abs=1e-6)
        assert result[KID_STD] == pytest.approx(0.0, abs=1e-5)  # float32 sums in any order
    assert dist.num_real == 6 and dist.fid.fake_features_num_samples == 0


def test_kid_subsets_are_reproducible_and_leave_the_global_rng_alone():
    gen = torch.Generator().manual_seed(2)
    real, fake = torch.randn(40, 5, 1, 1, generator=gen), torch.randn(30, 5, 1, 1, generator=gen)
    dist = InceptionDistances(extractor=torch.nn.Flatten(), kid_subsets=5)
    dist.add_real(real)
    dist.kid.subset_size = 0  # set again by measure: min(1000, 30, 40)
    torch.manual_seed(123)
    first = dist.measure([fake])
    after = torch.rand(1)
    torch.manual_seed(123)
    assert dist.measure([fake]) == first and torch.equal(torch.rand(1), after)
    assert dist.kid.subset_size == 30 and first[KID_STD] > 0


def test_fewer_than_two_images_is_an_error_and_images_are_converted_for_inception():
    with pytest.raises(ValueError, match="at least 2"):
        distances(torch.zeros(1, 1, 2, 2)).measure([torch.zeros(5, 1, 2, 2)])
    grey = torch.tensor([-1.0, -0.2, 0.0, 1.0]).reshape(1, 1, 2, 2)
    rgb = inception.to_uint8_rgb(grey)
    assert rgb.dtype == torch.uint8 and rgb.shape == (1, 3, 2, 2)
    assert rgb[0, :, 0].tolist() == [[0, 102]] * 3 and rgb[0, :, 1].tolist() == [[128, 255]] * 3


def random_inception_weights(path: Path, monkeypatch) -> Path:
    """A randomly initialised torch-fidelity InceptionV3 state dict (nothing downloaded)."""
    from torch_fidelity import feature_extractor_inceptionv3 as tf

    with monkeypatch.context() as patch:
        patch.setattr(tf, "load_state_dict_from_url", lambda *a, **k: None)
        patch.setattr(tf.FeatureExtractorInceptionV3, "load_state_dict", lambda *a, **k: None)
        torch.manual_seed(0)
        model = tf.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    torch.save(model.state_dict(), path)
    return path


@pytest.mark.slow  # 20-50 s on 2 CPU cores, most of it torchmetrics' FID at d = 2048
def test_local_weights_load_through_torchmetrics_and_give_finite_values(tmp_path, monkeypatch):
    weights = random_inception_weights(tmp_path / "inception.pth", monkeypatch)
    cfg = EvalConfig(fid="true", inception_weights=str(weights))
    assert inception_weights(cfg.inception_weights) == weights and fid_enabled(cfg)
    torch.manual_seed(0)
    dist = InceptionDistances(weights)
    loaded = dist.extractor.state_dict()
    saved = torch.load(weights)
    assert all(torch.equal(loaded[k], saved[k]) for k in saved)  # these weights, not others
    dist.add_real(torch.rand(2, 1, 16, 16) * 2 - 1)  # grey, 16 px: made RGB, resized to 299
    result = dist.measure([torch.rand(2, 1, 16, 16) * 2 - 1])
    assert set(result) == {FID, KID_MEAN, KID_STD}
    assert all(np.isfinite(v) for v in result.values()), result


def test_weights_are_looked_for_where_torch_fidelity_downloads_them(tmp_path):
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    assert URL_INCEPTION_V3.endswith("/" + inception.WEIGHTS_FILE)
    cached = tmp_path / "torch_home" / "hub" / "checkpoints" / inception.WEIGHTS_FILE
    assert inception.cached_weights() == cached and inception_weights(None) is None
    cached.parent.mkdir(parents=True)
    torch.save({"conv.weight": torch.zeros(1)}, cached)
    assert inception_weights(None) == cached and fid_enabled(EvalConfig(fid="true"))


@pytest.mark.parametrize(
    ("content", "holds"),
    [
        (b"<html>404 Not Found</html>", "cannot be read as PyTorch weights"),
        (b"", "cannot be read as PyTorch weights"),
        (torch.zeros(3), "holds a Tensor, not a dict of tensors"),
        ({"epoch": 3}, "holds a dict, not a dict of tensors"),
    ],
)
def test_a_file_that_is_not_weights_is_one_message_naming_it(tmp_path, content, holds):
    """A truncated download, an HTML error page or another torch file: refused before
    torch-fidelity reads it (it unpickles without `weights_only`)."""
    path = tmp_path / f"weights_{len(holds)}.pth"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    for names, key in (
        (inception.RUN_SETTINGS, "eval.inception_weights=PATH"),
        (inception.COMMAND_SETTINGS, "--inception-weights PATH"),
    ):
        with pytest.raises(ConfigError) as err:
            fid_enabled(EvalConfig(inception_weights=str(path)), names=names)
        message = str(err.value)
        assert str(path) in message and holds in message and key in message, message


def test_eval_fid_auto_false_and_true_without_weights(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger=inception.__name__):
        assert not fid_enabled(EvalConfig())
    (line,) = caplog.messages
    assert "FID/KID skipped" in line and "eval.inception_weights=PATH" in line
    assert not fid_enabled(EvalConfig(fid="false", inception_weights=str(tmp_path / "none")))
    with pytest.raises(ConfigError) as err:
        fid_enabled(EvalConfig(fid="true"))
    assert "eval.fid=true" in str(err.value) and "eval.inception_weights=PATH" in str(err.value)
    with pytest.raises(ConfigError, match=r"eval.inception_weights=\S+ is not a file"):
        fid_enabled(EvalConfig(inception_weights=str(tmp_path / "none.pth")))


def test_eval_fid_values():
    assert compose_config("eval.fid=true").eval.fid == "true"
    assert compose_config("eval.fid=false").eval.fid == "false"
    with pytest.raises(ConfigError, match="eval.fid='maybe' is invalid: valid are auto, true"):
        compose_config("eval.fid=maybe")


CLI = [
    "dataset.image_size=16",
    "model.g_channels=8",
    "model.d_channels=8",
    "train.batch_size=16",
    "train.steps=2",
    "eval.num_samples=32",
    "device=cpu",
]


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("eval.fid=true", ["eval.fid=true", "eval.inception_weights=PATH"]),
        ("eval.fid=maybe", ["eval.fid='maybe' is invalid: valid are auto, true, false"]),
        ("eval.inception_weights=" + __file__, ["is not InceptionV3 weights", "test_inception"]),
    ],
)
def test_the_command_line_refuses_eval_fid_before_any_run_folder(tmp_path, override, expected):
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {"PYTHONPATH": path, "HYDRA_FULL_ERROR": "0"}  # TORCH_HOME, HTTPS_PROXY: the fixture's
    run_dir = tmp_path / "run"
    result = run_module(
        "checkerboard_gan", *CLI, override, f"hydra.run.dir={run_dir}", cwd=tmp_path, env=env
    )
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith("checkerboard_gan: error: "), result.stderr
    assert all(text in errors[0] for text in expected), errors[0]
    assert "Traceback" not in result.stderr
    assert not run_dir.exists()
