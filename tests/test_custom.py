"""Your own upsampling stage and generator (docs/custom.md): built, checked, trained, probed,
evaluated and swept like a built-in kind; bad classes end in one message, exit 2."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from checkerboard_gan.analysis import measures
from checkerboard_gan.config import ConfigError
from checkerboard_gan.models.custom import OverlapUnavailable
from checkerboard_gan.models.networks import build_generator
from checkerboard_gan.models.upsampling import CustomUpsample
from checkerboard_gan.rundir.restore import load_run, saved_config
from checkerboard_gan.training.probes import Probe

from .conftest import TINY, compose_config, read_metrics, run_module

ROOT = Path(__file__).resolve().parents[1]
MOD = "tests.custom_modules"
STAGE = ["upsample=custom", f"upsample.target={MOD}.TransposedStage"]
GENERATOR = f"model.generator={MOD}.TinyGenerator"
RUN = [o for o in TINY if not o.startswith(("train.steps", "log.every"))]
RUN += ["train.steps=20", "log.every=10", "threads=1"]


def cli(*args: str, cwd: Path):
    """`python -m checkerboard_gan ARGS` from `cwd`, with this checkout on PYTHONPATH (so that
    `tests.custom_modules` imports, as a user's own package would)."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {"PYTHONPATH": path, "HYDRA_FULL_ERROR": "0"}
    return run_module("checkerboard_gan", *args, cwd=cwd, env=env, timeout=600)


def overlap(*overrides: str) -> torch.Tensor:
    g = build_generator(compose_config(*overrides))
    return measures.overlap_map(g.geometries(), g.period)


# Building and the overlap map -------------------------------------------------------------


def test_a_custom_stage_builds_every_stage_and_gets_the_all_ones_overlap():
    g = build_generator(compose_config(*STAGE))
    stages = [m for m in g.stages if isinstance(m, CustomUpsample)]
    assert len(stages) == 2 and g.period == 4  # 16 px from 4 x 4 at stride 2
    assert [s.module.conv.in_channels for s in stages] == [16, 8]
    assert g(torch.randn(3, 16)).shape == (3, 3, 16, 16)
    # the same geometry as the built-in deconv: two k3 s2 stages 9, k4 flat
    assert measures.unevenness(overlap(*STAGE)) == 9.0
    assert measures.unevenness(overlap(*STAGE, "upsample.kernel=4")) == 1.0
    assert torch.equal(overlap(*STAGE), overlap("upsample=deconv"))


def test_the_example_stage_reads_its_kwargs_and_is_flat():
    cfg = compose_config("upsample=custom", "+upsample.kwargs.mode=bilinear")
    assert cfg.upsample.target == "checkerboard_gan.models.examples.ResizeConvStage"
    g = build_generator(cfg)
    assert {m.module.mode for m in g.stages if isinstance(m, CustomUpsample)} == {"bilinear"}
    assert measures.unevenness(overlap("upsample=custom")) == 1.0


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("ParameterFree", "has no parameters to set to ones"),
        ("RectifiedStage", "is not linear with all-ones weights and zero biases"),
    ],
)
def test_overlap_not_available_says_why(target, reason):
    cfg = compose_config("upsample=custom", f"upsample.target={MOD}.{target}")
    g = build_generator(cfg)
    with pytest.raises(OverlapUnavailable, match=reason):
        g.geometries()
    probe = Probe(cfg, torch.zeros(8, 3, 16, 16), g.period, 4)
    (why,) = probe.overlap(g).values()
    assert why.startswith(f"upsample.target={MOD}.{target} {reason}")


def test_a_custom_generator_with_its_period_declared_or_given():
    g = build_generator(compose_config(GENERATOR))
    assert g.period == 4 and g(torch.randn(2, 16)).shape == (2, 3, 16, 16)
    undeclared = "+model.generator_kwargs.declare=false"
    assert build_generator(compose_config(GENERATOR, undeclared, "model.period=4")).period == 4
    example = "model.generator=checkerboard_gan.models.examples.ExampleGenerator"
    g = build_generator(compose_config(example, "+model.generator_kwargs.width=4"))
    assert g.period == 4 and g(torch.randn(2, 16)).shape == (2, 3, 16, 16)
    with pytest.raises(OverlapUnavailable, match="is a whole generator"):
        g.geometries()


def test_a_saved_config_keeps_the_keyword_arguments_of_custom_classes():
    """What evaluate, generate and resume read back from a checkpoint (its config as a dict)."""
    kwargs = ["+upsample.kwargs.mode=bilinear", "+model.generator_kwargs.width=4"]
    cfg = compose_config("upsample=custom", GENERATOR, *kwargs)
    again = saved_config(OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True))
    assert again.upsample.kwargs == {"mode": "bilinear"}
    assert again.model.generator_kwargs == {"width": 4} and again == cfg


# Bad input: one message each ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["upsample=custom", "upsample.target=nowhere.layers.Up"], "cannot be imported: module "),
        (["upsample=custom", f"upsample.target={MOD}.Nope"], "has no class 'Nope'"),
        (["upsample=custom", "upsample.target=Up"], "give the class as PKG.MODULE.CLASS"),
        (
            ["upsample=custom", f"upsample.target={MOD}.Shrink"],
            "Shrink must multiply height and width by exactly upsample.stride=2: on an input of "
            "shape (2, 16, 4, 4) it returned (2, 8, 4, 4), expected (2, 8, 8, 8)",
        ),
        (["upsample=custom", f"upsample.target={MOD}.NeedsArg"], "missing 1 required"),
        ([*STAGE, "+upsample.kwargs.kernel=5"], "upsample.kwargs.kernel is given by the program"),
        ([GENERATOR, "+model.generator_kwargs.declare=false"], "declares no `period` attribute"),
        ([GENERATOR, "model.period=3"], "its period 3 must be a power of upsample.stride=2"),
        (["model.period=4"], "model.period=4 applies to a generator of your own"),
        (
            [f"model.generator={MOD}.HalfSizeGenerator"],
            "returned (2, 3, 8, 8), expected (2, 3, 16, 16)",
        ),
    ],
)
def test_bad_custom_code_fails_with_one_clear_message(overrides, expected):
    with pytest.raises(ConfigError) as err:
        build_generator(compose_config(*overrides))
    assert expected in str(err.value)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            ["upsample=custom", "upsample.target=nowhere.layers.Up"],
            "upsample.target=nowhere.layers.Up cannot be imported: module 'nowhere.layers' "
            "failed with ModuleNotFoundError: No module named 'nowhere' (the module must be "
            "importable from the folder the command is started in or PYTHONPATH)",
        ),
        (["upsample=custom", f"upsample.target={MOD}.Shrink"], "it returned (2, 8, 4, 4)"),
        ([f"model.generator={MOD}.HalfSizeGenerator"], "expected (2, 3, 16, 16)"),
    ],
)
def test_the_command_line_refuses_bad_custom_code_before_any_run_folder(
    tmp_path, overrides, expected
):
    result = cli(*TINY, *overrides, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("checkerboard_gan: error: ")
    assert not (tmp_path / "run").exists()


# Runs and sweeps ----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_custom_stage_trains_probes_evaluates_and_reloads(tmp_path):
    run_dir = tmp_path / "run"
    result = cli(*RUN, *STAGE, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    m = read_metrics(run_dir)
    assert m["status"] == "completed" and m["overlap_unevenness"] == 9.0
    assert [p["step"] for p in m["probes"]] == [0, 10, 20]
    assert [e["step"] for e in m["evaluations"]] == [0, 20]
    assert (run_dir / "figures" / "overlap.png").is_file()
    cfg, g, step = load_run(run_dir / "checkpoints" / "last.pt", ["device=cpu"])
    assert step == 20 and cfg.upsample.target == f"{MOD}.TransposedStage"
    assert g(torch.randn(2, 16)).shape == (2, 3, 16, 16)


@pytest.mark.slow
def test_a_custom_generator_trains_with_its_overlap_not_available(tmp_path):
    run_dir = tmp_path / "run"
    result = cli(*RUN, GENERATOR, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    m = read_metrics(run_dir)
    assert m["status"] == "completed" and m["periods"]["generator"]["total"] == 4
    assert m["overlap_unevenness"] is None
    assert "is a whole generator" in m["overlap_unavailable"]
    assert "overlap map not available" in (run_dir / "cli.log").read_text()
    assert not (run_dir / "figures" / "overlap.png").exists()
    assert len(m["evaluations"]) == 2


@pytest.mark.slow
def test_a_two_point_sweep_over_a_custom_stage_ends_in_a_summary(tmp_path):
    sweep = tmp_path / "sweep"
    result = cli(
        "-m", *RUN, *STAGE, "upsample.kernel=3,4", f"hydra.sweep.dir={sweep}", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(sweep / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["upsample.kernel"], r["status"]) for r in rows] == [
        ("3", "completed"),
        ("4", "completed"),
    ]
    for row, uneven in zip(rows, (9.0, 1.0), strict=True):
        m = read_metrics(sweep / row["run"])
        assert m["overlap_unevenness"] == uneven
        assert float(row["checkerboard_last"]) == m["probes"][-1]["checkerboard"]
    assert "| completed |" in (sweep / "summary.md").read_text(encoding="utf-8")
