"""Claims 8 to 10 (extreme colours, a final stride-1 layer, what each remedy costs) judged from
run folders with planted numbers, each verdict and sentence worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

from checkerboard_gan.report.claims import claim_sections
from checkerboard_gan.report.document import Fig, Table
from checkerboard_gan.report.reading import Context
from checkerboard_gan.report.studies import Setting
from checkerboard_gan.report.trained_claims import trained_claim
from checkerboard_gan.report.verdicts import verdict
from checkerboard_gan.sweeps.runs import find_runs

CPU = Setting("cpu", 2, 1200, (), None, 2)
PERIODS = {"generator": {"finest": 2, "total": 8}, "discriminator": {"finest": 2, "total": 8}}
REAL = {"content_2": 0.0007, "fingerprint_2": 1e-8, "extreme_colour_ratio": 1.1}


def fake_run(folder: Path, overrides: list[str], trained: dict, init_cb: float = 0.5) -> None:
    """A run folder with what the claims read: its step-0 probe's CB, its evaluations at step
    0 and 1200 (`trained` holds the last one's fake values and `swd`), the loop's seconds."""
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    fake = {k: v for k, v in trained.items() if k != "swd"}
    evaluations = [
        {
            "step": step,
            "n_fake": 2048,
            "n_real": 2048,
            "seconds": 1.0,
            "real": REAL,
            "fake": values,
            "quality": {"swd": swd},
            "quality_floor": {"swd": 2.5},
        }
        for step, values, swd in ((0, {"content_2": 0.5}, 90.0), (1200, fake, trained.get("swd")))
    ]
    metrics = {
        "status": "completed",
        "steps": 1200,
        "loop_s": 96.0,
        "periods": PERIODS,
        "overlap_unevenness": 25.0,
        "probes": [{"step": 0, "checkerboard": init_cb}],
        "evaluations": evaluations,
    }
    (folder / "metrics.json").write_text(json.dumps(metrics))


def context(tmp_path: Path, studies: dict[str, list[tuple[list[str], dict, float]]]) -> Context:
    for study, runs in studies.items():
        for i, (overrides, trained, init_cb) in enumerate(runs):
            fake_run(tmp_path / "runs" / study / str(i), overrides, trained, init_cb)
    rows = {study: find_runs(tmp_path / "runs" / study) for study in studies}
    return Context(tmp_path, CPU, rows)


def test_claim_8_judges_deconv_r_against_2_per_seed(tmp_path):
    runs = [
        (["upsample=deconv", "seed=0"], {"extreme_colour_ratio": 3.0, "content_2": 0.02}, 0.5),
        (["upsample=deconv", "seed=1"], {"extreme_colour_ratio": 1.5, "content_2": 0.02}, 0.5),
        (["upsample=nearest", "seed=0"], {"extreme_colour_ratio": 1.2, "content_2": 0.002}, 0.5),
        (["upsample=nearest", "seed=1"], {"extreme_colour_ratio": 0.9, "content_2": 0.002}, 0.5),
    ]
    blocks, checks = trained_claim(8)(context(tmp_path, {"train_colour": runs}))
    assert [c.text for c in checks] == [
        "seed 0: extreme_colour_ratio of deconv k3 (3) ≥ 2",
        "seed 1: extreme_colour_ratio of deconv k3 (1.5) < 2",
    ]
    assert verdict(checks).status == "partly supported"
    table = next(b for b in blocks if isinstance(b, Table))
    assert table.rows[-1][:5] == ["real images", "", "1.1", "0.0007", "1e-08"]
    assert table.rows[2][:3] == ["nearest k3", "0", "n/a → 1.2"]  # shown, not judged


def test_claim_9_judges_each_final_kernel_at_init_and_trained(tmp_path):
    def final(k: int, seed: int, content: float, cb: float) -> tuple:
        overrides = ["upsample=deconv", "upsample.kernel=3", f"seed={seed}"]
        overrides += [f"upsample.final_kernel={k}"] if k else []
        return overrides, {"content_2": content}, cb

    studies = {  # seed 1's trained 4 x 4 keeps 0.006 > 0.5 x 0.01: the one check that fails
        "init_deconv": [final(0, s, 0.0, 0.6) for s in (0, 1)],
        "init_final": [final(3, s, 0.0, 0.2) for s in (0, 1)]
        + [final(4, s, 0.0, 0.1) for s in (0, 1)],
        "train_resize": [final(0, s, 0.01, 0.6) for s in (0, 1)],
        "train_final": [final(3, s, 0.004, 0.2) for s in (0, 1)]
        + [final(4, 0, 0.003, 0.1), final(4, 1, 0.006, 0.1)],
    }
    ctx = context(tmp_path, studies)
    blocks, checks = trained_claim(9)(ctx)
    texts = [c.text for c in checks]
    assert texts[0] == (
        "seed 0: checkerboard at init of final 3 × 3 (0.2) < 0.5 × that of no final layer (0.6)"
    )
    assert (
        texts[2] == "seed 0: content_2 of final 3 × 3 (0.004) < 0.5 × that of no final layer (0.01)"
    )
    assert len(checks) == 8 and [c.ok for c in checks].count(False) == 1
    assert (
        texts[7] == "seed 1: content_2 of final 4 × 4 (0.006) ≥ 0.5 × that of no final layer (0.01)"
    )
    assert verdict(checks).status == "partly supported"
    init_table = [b for b in blocks if isinstance(b, Table)][1]
    assert init_table.rows[1][2:] == ["0.2 0.2", "0.2 ± 0"]
    stated = next(b for b in blocks if isinstance(b, str) and b.startswith("Stated, not judged"))
    assert "at init, checkerboard is lower with the 4 × 4 for 2 of 2 seed(s)" in stated
    assert "trained, content_2 is lower with the 4 × 4 for 1 of 2 seed(s)" in stated


def test_claim_10_tables_every_remedy_and_judges_bilinear_against_nearest(tmp_path):
    def run(kind: str, seed: int, swd: float, *more: str) -> tuple:
        values = {"content_2": 0.01, "fingerprint_2": 0.001, "swd": swd}
        return [f"upsample={kind}", "upsample.kernel=3", f"seed={seed}", *more], values, 0.5

    studies = {
        "train_resize": [
            run(k, s, {"bilinear": 20.0}.get(k, 10.0))
            for k in ("deconv", "nearest", "bilinear")
            for s in (0, 1)
        ],
        "train_subpixel": [
            run("subpixel", s, 12.0, f"upsample.icnr={i}")
            for i in ("false", "true")
            for s in (0, 1)
        ],
        "train_remedies": [run(k, s, 11.0) for k in ("deconv_blur", "filtered") for s in (0, 1)],
        "train_final": [run("deconv", s, 9.0, "upsample.final_kernel=3") for s in (0, 1)],
        "train_disc": [run("deconv", s, 13.0, "disc=blurpool") for s in (0, 1)],
    }
    ctx = context(tmp_path, studies)
    blocks, checks = trained_claim(10)(ctx)
    assert [c.text for c in checks] == [
        f"seed {s}: swd of bilinear k3 (20) ≥ 1 × that of nearest k3 (10)" for s in (0, 1)
    ]
    assert verdict(checks).status == "supported"
    table = next(b for b in blocks if isinstance(b, Table))
    assert len(table.rows) == 9 * 2 + 1
    assert table.rows[0][:6] == ["deconv k3 (the problem)", "0", "0.01", "0.001", "10", "0.08"]
    assert table.rows[-1][:5] == ["real images", "", "0.0007", "1e-08", "2.5"]
    figure = next(b for b in blocks if isinstance(b, Fig))
    assert (tmp_path / figure.path).is_file()
    assert any(
        isinstance(b, str) and b.startswith("Lowest mean SWD: deconv k3 + final 3 × 3 (9)")
        for b in blocks
    )
    (section,) = [s for s in claim_sections(ctx, [10]) if s.verdict]
    assert section.verdict.status == "supported"
