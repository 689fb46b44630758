"""`python -m checkerboard_gan.report`: ten claim sections from real (tiny) runs, readable
HTML; a quick run judges the init claims only."""

from __future__ import annotations

import ast
import json
import math
import re
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
import torch

from checkerboard_gan.config import config_dir
from checkerboard_gan.devices import granted_cpus
from checkerboard_gan.report.claims import CLAIMS, claim_sections
from checkerboard_gan.report.command import excluded_note, studies_for
from checkerboard_gan.report.document import Section, Table, to_html
from checkerboard_gan.report.reading import Context, ev, without_collapsed
from checkerboard_gan.report.studies import SETTINGS, Setting, Study
from checkerboard_gan.report.trained import Ratio, Seeds
from checkerboard_gan.report.trained_claims import CLAIMS as TRAINED
from checkerboard_gan.report.trained_claims import trained_claim
from checkerboard_gan.report.verdicts import Check, Verdict, compare, not_judged, verdict
from checkerboard_gan.rundir.provenance import ROOT
from checkerboard_gan.sweeps.runs import RunRow, find_runs

from .conftest import run_module

VOID = {"meta", "img", "br", "hr", "link", "input"}


class Document(HTMLParser):
    """Collects every src/href and id, and checks that tags close in order."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []
        self.ids: set[str] = set()
        self.open: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.open.append(tag)
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.refs.append((tag, value))
            if name == "id" and value:
                self.ids.add(value)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.errors.append(f"</{tag}> closes nothing open")


def test_verdict_is_computed_from_the_checks():
    good = compare("k", "a", 0.6, 3, "b", 0.1)
    bad = compare("k", "a", 0.2, 3, "b", 0.1)
    assert good.ok and good.text == "k of a (0.6) ≥ 3 × that of b (0.1)"
    assert bad.ok is False and "<" in bad.text
    assert compare("k", "a", 0.2, 3, "b", 0.1, above=False).ok
    assert verdict([good]).status == "supported"
    assert verdict([bad]).status == "not supported"
    assert verdict([good, bad]).status == "partly supported"
    assert verdict([good, compare("k", "a", float("nan"), 3, "b", 0.1)]).status == "undecided"
    assert verdict([Check("x", True)]).sentence == "Supported by our numbers: x."
    assert verdict([]).status == "undecided"


def _claim_checks(number: int, runs: dict[str, float]) -> list[Check]:
    """Claim `number`'s checks over two seeds, each kind's runs with the value `runs` gives it
    (NaN where the kind is not named: the number is missing)."""
    claim = TRAINED[number]
    keys = {
        "content": "content_2",
        "content_sq": "content_4",
        "grad_content": "grad_content_2",
        "cb_full": "checkerboard",
        "extreme": "extreme_colour_ratio",
        "quality_swd": "swd",
    }
    rows = {}
    for kind in (*claim.kinds, *claim.context):
        value = runs.get(kind[0], float("nan"))
        metrics = {f"{k}/{key}": value for k in ("eval", "probe") for key in keys.values()}
        rows[kind[0]] = {s: _Run(metrics) for s in ("0", "1")}
    seeds = Seeds(["0", "1"], ["0", "1"])
    return [c for r in claim.ratios for c in r.checks(seeds, rows, keys)]


@dataclass
class _Run:
    """What the checks' getters read of a run, through `reading.ev` and `reading.probe`."""

    values: dict[str, float]


@pytest.mark.parametrize("number", sorted(TRAINED))
def test_every_verdict_sentence_of_every_claim_is_grammatical(number, monkeypatch):
    import checkerboard_gan.report.trained as trained

    def read(row, key, which=-1, side="fake"):
        return float("nan") if row is None else row.values["eval/" + key]

    monkeypatch.setattr(trained, "ev", read)
    monkeypatch.setattr(trained, "probe", read)
    claim = TRAINED[number]
    firsts = {r.kind for r in claim.ratios}
    againsts = {r.against for r in claim.ratios if isinstance(r, Ratio)}
    high = {**dict.fromkeys(againsts, 0.01), **dict.fromkeys(firsts, 1.0)}  # every ratio holds
    low = {**dict.fromkeys(againsts, 0.01), **dict.fromkeys(firsts, 0.011)}
    half = {**low, claim.ratios[0].kind: 1.0}  # the first kind's checks hold, others not
    outcomes = {
        "high": verdict(_claim_checks(number, high)),
        "low": verdict(_claim_checks(number, low)),
        "half": verdict(_claim_checks(number, half)),
        "missing": verdict(_claim_checks(number, {})),
        "not judged": not_judged(_claim_checks(number, high)),
    }
    statuses = {v.status for v in outcomes.values()}
    assert {"undecided", "not judged"} <= statuses
    assert statuses & {"supported", "not supported", "partly supported"}
    for v in outcomes.values():
        s = v.sentence
        assert not re.search(r"[<≥] \d+ × (against|that against)", s), s
        assert not re.search(r"'s( |\)|;|\.|$)", s), s  # no dangling possessive
        assert not re.search(r"([<≥×])\s*\1", s) and ", against the rule" not in s, s
        assert s.endswith(".") and not s.endswith("..") and "  " not in s, s
    if number == 7:
        _claim7_sentences(outcomes, high, low)


def _claim7_sentences(outcomes: dict[str, Verdict], high: dict, low: dict) -> None:
    """Claim 7's sentences word for word, for every outcome."""
    assert outcomes["high"].sentence == (
        "Supported by our numbers: seed 0: content_2 of deconv k3 against avgpool (1) ≥ 3 × "
        "that of deconv k3 against strided (0.01); seed 1: content_2 of deconv k3 against "
        "avgpool (1) ≥ 3 × that of deconv k3 against strided (0.01)."
    )
    low_text = (
        "content_2 of deconv k3 against avgpool (0.011) < 3 × that of deconv k3 against "
        "strided (0.01)"
    )
    assert outcomes["low"].sentence == (
        f"Not supported by our numbers: seed 0: {low_text}; seed 1: {low_text}."
    )
    assert outcomes["missing"].sentence == (
        "Undecided, for want of numbers: seed 0: content_2 of deconv k3 against avgpool and "
        "of deconv k3 against strided are missing; seed 1: content_2 of deconv k3 against "
        "avgpool and of deconv k3 against strided are missing."
    )
    assert outcomes["not judged"].sentence.endswith(
        "The numbers, shown and not judged: seed 0: content_2 of deconv k3 against avgpool "
        "(1) ≥ 3 × that of deconv k3 against strided (0.01); seed 1: content_2 of deconv k3 "
        "against avgpool (1) ≥ 3 × that of deconv k3 against strided (0.01)."
    )
    partly = verdict([*_claim_checks(7, high)[:1], *_claim_checks(7, low)[1:]])
    assert partly.sentence == (
        "Partly supported: as the rule asks, seed 0: content_2 of deconv k3 against avgpool "
        f"(1) ≥ 3 × that of deconv k3 against strided (0.01); against it, seed 1: {low_text}."
    )


def test_tables_scroll_in_their_own_box_and_verdicts_have_distinct_colours():
    wide = Table(["folder"], [["runs/" + "x" * 400]])
    sections = [
        Section(f"s{i}", "S", [wide], Verdict(status, "s."))
        for i, status in enumerate(
            ["supported", "partly supported", "not supported", "undecided", "not judged"]
        )
    ]
    page = to_html(sections, "t")
    assert page.count('<div class="table-box"><table>') == 5
    assert re.search(r"\.table-box \{[^}]*overflow-x: auto", page)
    colours = {}
    for css in ("supported", "partly-supported", "not-supported", "undecided", "not-judged"):
        assert f'class="verdict {css}"' in page
        rule = re.search(rf"\.verdict\.{css} \{{([^}}]*)\}}", page).group(1)
        colours[css] = re.search(r"background: (#\w+)", rule).group(1)
    assert len(set(colours.values())) == 5, colours
    grey = colours["not-judged"].lstrip("#")
    assert len(set(grey[i : i + 2] for i in (0, 2, 4))) == 1  # neutral: r = g = b


@pytest.mark.slow
def test_quick_report_has_ten_claims_with_numbers_and_images(tmp_path):
    out = tmp_path / "report"
    command = ["--quick", "--seeds", "1", "--steps", "10", "--jobs", "2", "--out", str(out)]
    result = subprocess.run(
        [sys.executable, "-m", "checkerboard_gan.report", *command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    check_report(out)
    md = (out / "report.md").read_text()
    assert "python -m checkerboard_gan.report --quick --seeds 1 --steps 10" in md
    assert "**Quick run: a check of the machinery, not a result.**" in md.split("## Claim 1")[0]
    assert "trained runs together" not in md  # runs one after another: no sum of their rates
    metrics = out.glob("runs/*/*/metrics.json")
    threads = {json.loads(m.read_text())["torch_threads"] for m in metrics}
    assert threads == {max(1, granted_cpus() // 2)}  # --jobs 2: each study half the cores


def check_report(out: Path) -> None:
    """Ten claim sections with tables and images, the init claims decided and the trained
    ones "not judged" (a quick run), each from numbers; HTML whose references all exist."""
    md = (out / "report.md").read_text()
    claims = [s for s in re.split(r"^## ", md, flags=re.M) if s.startswith("Claim ")]
    assert [s.split(":")[0] for s in claims] == [f"Claim {i}" for i in range(1, 11)]
    for number, section in enumerate(claims, 1):
        assert re.search(r"^\| [^|]*\| .*\d", section, flags=re.M), section[:200]  # a table
        images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", section)
        assert images and all((out / path).is_file() for path in images), section[:200]
        assert "**Rule:**" in section
        status = "not judged" if number >= 3 else "supported|partly supported|not supported"
        decided = re.findall(rf"\*\*Verdict \((?:{status})\)\.\*\* .*\d", section)
        assert len(decided) == 1, section[-600:]  # decided (or not judged), from numbers
        if number >= 3:
            assert "content_2" in section and "seed 0" in section
    for needed in ("torch", "torchvision", "hydra-core", "python", "device", "config.yaml"):
        assert needed in md

    page = Document()
    page.feed((out / "index.html").read_text())
    page.close()
    assert not page.errors and not page.open
    files = 0
    for tag, ref in page.refs:
        if ref.startswith("data:") or (tag == "a" and ref.startswith("https://")):
            continue
        if ref.startswith("#"):
            assert ref[1:] in page.ids
            continue
        assert "://" not in ref and not Path(ref).is_absolute(), ref
        assert (out / unquote(ref)).exists(), ref
        files += 1
    assert sum(tag == "img" for tag, _ in page.refs) >= 9
    assert files > 50  # figures, run folders and their configs


def _fake_run(folder: Path, overrides: list[str], content_2: float) -> None:
    """A run folder as a trained run leaves it, with only what the claims read."""
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    real = {"content_2": 0.0007, "fingerprint_2": 1e-8}
    evals = [
        {
            "step": s,
            "n_fake": 2048,
            "n_real": 2048,
            "seconds": 1.0,
            "real": real,
            "fake": {"content_2": c, "fingerprint_2": c / 10, "cb_8": 0.05},
        }
        for s, c in ((0, 0.5), (1200, content_2))
    ]
    periods = {"generator": {"finest": 2, "total": 8}, "discriminator": {"finest": 2, "total": 8}}
    metrics = {"status": "completed", "periods": periods, "evaluations": evals}
    (folder / "metrics.json").write_text(json.dumps(metrics))


def test_trained_claims_are_judged_per_seed_from_the_evaluations(tmp_path):
    values = {  # (kind, seed) -> trained content_2: seed 1's bilinear breaks the 3 x rule
        ("deconv", 0): 0.01,
        ("nearest", 0): 0.001,
        ("bilinear", 0): 0.002,
        ("deconv", 1): 0.004,
        ("nearest", 1): 0.001,
        ("bilinear", 1): 0.002,
    }
    for i, ((kind, seed), value) in enumerate(values.items()):
        overrides = [f"upsample={kind}", "upsample.kernel=3", f"seed={seed}"]
        _fake_run(tmp_path / "runs" / "train_resize" / str(i), overrides, value)
    rows = {"train_resize": find_runs(tmp_path / "runs" / "train_resize")}
    cpu = Setting("cpu", 5, 1200, (), None, 2)
    blocks, checks = trained_claim(3)(Context(tmp_path, cpu, rows))
    assert [c.ok for c in checks] == [True, True, True, False]
    assert checks[3].text == "seed 1: content_2 of deconv k3 (0.004) < 3 × that of bilinear (0.002)"
    assert verdict(checks).status == "partly supported"
    table = next(b for b in blocks if isinstance(b, Table))
    assert table.rows[-1][:4] == ["real images", "", "0.0007", "1e-08"]
    assert table.rows[0][:4] == ["deconv k3", "0", "0.5 → 0.01", "0.05 → 0.001"]

    (section,) = [s for s in claim_sections(Context(tmp_path, cpu, rows), [3]) if s.verdict]
    assert section.verdict.status == "partly supported"
    quick = Setting("quick", 1, 40, (), 20, 2)
    (section,) = [s for s in claim_sections(Context(tmp_path, quick, rows), [3]) if s.verdict]
    assert section.verdict.status == "not judged" and "(0.004) < 3" in section.verdict.sentence


def test_a_collapsed_run_is_left_out_of_the_verdicts_and_named(tmp_path):
    """Seed 1's bilinear run, which broke the 3 x rule above, collapsed: the verdict reads the
    other runs only, and the page names the one it left out."""
    values = {("deconv", 0): 0.01, ("nearest", 0): 0.001, ("bilinear", 0): 0.002}
    values |= {("deconv", 1): 0.004, ("nearest", 1): 0.001, ("bilinear", 1): 0.002}
    for i, ((kind, seed), value) in enumerate(values.items()):
        overrides = [f"upsample={kind}", "upsample.kernel=3", f"seed={seed}"]
        _fake_run(tmp_path / "runs" / "train_resize" / str(i), overrides, value)
    broken = tmp_path / "runs" / "train_resize" / "5" / "metrics.json"
    metrics = json.loads(broken.read_text())
    metrics |= {"collapsed": True, "collapsed_at": 200, "collapse_reason": "collapsed: ..."}
    broken.write_text(json.dumps(metrics))
    kept, excluded = without_collapsed(
        {"train_resize": find_runs(tmp_path / "runs" / "train_resize")}
    )
    assert [r.path.name for r in excluded["train_resize"]] == ["5"]
    cpu = Setting("cpu", 5, 1200, (), None, 2)
    ctx = Context(tmp_path, cpu, kept, excluded)
    _, checks = trained_claim(3)(ctx)
    assert not any("that of bilinear (0.002)" in c.text and "seed 1" in c.text for c in checks)
    assert all(c.ok is not False for c in checks)
    note = excluded_note(ctx)
    assert note.startswith("**Excluded from the verdicts (1 run(s), generator collapsed):**")
    assert "train_resize/5" in note


def _report(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return run_module("checkerboard_gan.report", *args, cwd=tmp_path)


def test_earlier_results_are_never_replaced_without_force(tmp_path):
    out = tmp_path / "report"
    earlier = out / "runs" / "init_deconv" / "0" / "metrics.json"
    earlier.parent.mkdir(parents=True)
    earlier.write_text("{}")
    done = _report(tmp_path, "--quick", "--claims", "2", "--out", str(out))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "already holds results of init_deconv" in done.stderr and "--force" in done.stderr
    assert earlier.read_text() == "{}"
    done = _report(tmp_path, "--quick", "--claims", "1", "--out", str(out))  # needs no runs
    assert done.returncode == 0, done.stderr[-2000:]
    assert earlier.read_text() == "{}"


@pytest.mark.slow
def test_force_replaces_earlier_results(tmp_path):
    out = tmp_path / "report"
    earlier = out / "runs" / "init_deconv" / "stale"
    earlier.mkdir(parents=True)
    args = ["--quick", "--claims", "2", "--seeds", "1", "--force", "--out", str(out)]
    done = _report(tmp_path, *args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not earlier.exists()
    assert list((out / "runs" / "init_deconv").glob("*/metrics.json"))


def test_out_naming_a_file_is_refused(tmp_path):
    (tmp_path / "taken").write_text("keep me")
    done = _report(tmp_path, "--claims", "1", "--out", str(tmp_path / "taken"))
    assert done.returncode == 2 and "is a file, not a folder" in done.stderr
    assert "Traceback" not in done.stderr and (tmp_path / "taken").read_text() == "keep me"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
def test_a_device_the_machine_lacks_is_refused_before_any_folder(tmp_path):
    done = _report(tmp_path, "--device", "cuda", "--claims", "1", "--out", str(tmp_path / "r"))
    assert done.returncode == 2 and "no CUDA GPU" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "r").exists()


def test_studies_are_the_experiment_configs_the_report_runs():
    quick = Setting("quick", 2, 40, SETTINGS["quick"][3], 20, 1)
    for name in studies_for(list(CLAIMS)):
        study = Study.load(name)
        assert (config_dir() / "experiment" / f"{name}.yaml").is_file()
        args = study.command(quick)
        assert args[:4] == ["-m", "checkerboard_gan", "-m", f"+experiment={name}"]
        assert args[-1] == f"hydra.sweep.dir={name}"
        assert ("seed=0" if study.trained else "seed=0,1") in args
        assert study.trained == name.startswith(("train_", "grad_", "last_n"))
        assert ("train.steps=40" in args) == study.trained
    with pytest.raises(FileNotFoundError, match="no experiment config"):
        Study.load("no_such_study")


def test_the_report_reads_results_and_never_rebuilds_models():
    """report/ imports neither the trainer nor Hydra's compose API: it reads run folders."""
    package = Path(__file__).resolve().parents[1] / "checkerboard_gan" / "report"
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = {a.name for a in node.names}
                assert not (node.module or "").endswith(("trainer", "run", "checkpoint")), path
                assert not (node.module == "hydra" and names & {"compose", "initialize"}), path
                assert not names & {"initialize_config_dir", "compose"}, path
    code = "import sys, checkerboard_gan.report.command; print(sorted(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    for module in (
        "checkerboard_gan.training.trainer",
        "checkerboard_gan.training.run",
        "checkerboard_gan.models.networks",
    ):
        assert f"'{module}'" not in loaded.stdout


def test_the_source_is_recorded_where_the_runs_start_and_a_change_during_them_is_said(
    tmp_path, monkeypatch
):
    from checkerboard_gan.report import command

    monkeypatch.setattr(command, "environment", lambda device: {"source": "aaa1111"})
    monkeypatch.setattr(command, "revision", lambda: "bbb2222")
    args = command.parse_args(["--claims", "1", "--out", str(tmp_path)])
    recorded = command.run_all(args, ["--claims", "1"], tmp_path)
    assert recorded["studies"] == []  # claim 1 runs nothing
    assert recorded["environment"]["source"] == (
        "aaa1111 at the start, bbb2222 at the end (the checkout changed during the runs)"
    )
    monkeypatch.setattr(command, "revision", lambda: "aaa1111")
    assert command.run_all(args, [], tmp_path)["environment"]["source"] == "aaa1111"


TINY_GPU = [  # the GPU setting shrunk to a CPU check, unchanged but for device and size
    "--setting",
    "gpu",
    "--device",
    "cpu",
    "--train-seeds",
    "1",
    "--steps",
    "4",
    "dataset.image_size=16",
    "dataset.num_images=256",
    "model.g_channels=8",
    "model.d_channels=8",
    "eval.num_samples=64",
]


def test_the_gpu_setting_is_chosen_by_name_whatever_the_device():
    from checkerboard_gan.report.command import choose_setting, parse_args

    setting = choose_setting(parse_args(["--setting", "gpu", "--device", "cpu", "--steps", "40"]))
    assert setting.name == "gpu" and setting.steps == 40 and setting.train_seeds == 2
    assert setting.overrides[:3] == ("dataset=photos", "dataset.image_size=64", "device=cpu")
    assert setting.log_every == 4  # ten probes per run; the claims read the first and last
    assert choose_setting(parse_args(["--device", "cuda:1"])).log_every == 500
    assert choose_setting(parse_args(["--device", "cuda"])).name == "gpu"
    assert choose_setting(parse_args(["--quick"])).log_every == 20
    assert choose_setting(parse_args([])).log_every is None


def test_concurrent_studies_launch_every_run_at_once_with_few_threads():
    gpu = Setting("gpu", 5, 5000, SETTINGS["gpu"][3], 500, 2)
    resize, disc = Study.load("train_resize"), Study.load("train_disc")
    assert (resize.runs(gpu), disc.runs(gpu)) == (6, 8)  # claims 3 and 7: 14 runs
    args = disc.command(gpu, threads=1)
    assert args[4:7] == ["hydra/launcher=joblib", "hydra.launcher.n_jobs=8", "threads=1"]
    assert "hydra/launcher=joblib" not in disc.command(gpu)
    assert Study.load("init_deconv").runs(gpu) == 5 * Study.load("init_deconv").per_seed


@pytest.mark.parametrize(
    "args, message",
    [
        (["--quick", "--setting", "gpu"], "--quick and --setting gpu: give one"),
        (["--jobs", "2", "--concurrent"], "--jobs and --concurrent: give one"),
        (["--setting", "tpu"], "invalid choice: 'tpu'"),
        (["--time-limit", "0"], "'0' is not an integer >= 1"),
    ],
)
def test_bad_setting_options_are_one_error_line_and_exit_2(tmp_path, args, message):
    done = _report(tmp_path, *args, "--out", str(tmp_path / "report"))
    assert done.returncode == 2 and message in done.stderr.splitlines()[-1], done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "report").exists()


@pytest.mark.slow
def test_the_gpu_setting_runs_concurrently_records_its_speed_and_packs(tmp_path):
    """Claim 3's study in the GPU setting at a tiny size, all its runs at once through the
    joblib launcher: the page records the runs' speed together and the cut; the packed
    archive holds the page, the figures and every run's metrics.json, and no tensors."""
    out = tmp_path / "report"
    done = _report(tmp_path, "--claims", "3", "--concurrent", *TINY_GPU, "--out", str(out))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 studies, all 3 runs at once (1 CPU thread(s) each), setting gpu" in done.stdout
    meta = json.loads((out / "runs" / "report.json").read_text())
    assert meta["concurrent"] and meta["threads"] == 1
    log = (out / "runs" / "train_resize.log").read_text()
    assert "Joblib.Parallel(n_jobs=3" in log
    runs = sorted((out / "runs" / "train_resize").glob("*/metrics.json"))
    metrics = [json.loads(p.read_text()) for p in runs]
    assert len(runs) == 3 and {m["status"] for m in metrics} == {"completed"}
    assert {m["torch_threads"] for m in metrics} == {1}
    md = (out / "report.md").read_text()
    rates = sum(m["throughput_img_s"] for m in metrics)
    assert f"3 trained runs, {meta['run_seconds']:.0f} s of wall time for all the runs" in md
    assert f"{rates:,.0f} images/s summed over the runs' own rates" in md
    assert f"{3 * 4 * 64:,} images trained" in md  # 3 runs x 4 steps x batch 64
    assert "**Cut to fit:** this run trained 4 steps instead of 5000 and 1 seed(s) per " in md
    claim3 = md.split("## Claim 3")[1].split("## Claim 4")[0]
    assert re.search(r"\*\*Verdict \((supported|partly supported|not supported)\)", claim3)

    archive = tmp_path / "report.tar.gz"
    packed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "pack_report.py"), str(out), str(archive)],
        capture_output=True,
        text=True,
    )
    assert packed.returncode == 0, packed.stderr
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert {"report/index.html", "report/report.md", "report/PACKED.txt"} <= set(names)
    figures = [n for n in names if n.startswith("report/figures/")]
    assert figures and all(f"report/{n}" in names for n in re.findall(r"\((figures/[^)]+)\)", md))
    assert sum(n.endswith("/metrics.json") for n in names) == 3
    assert not [n for n in names if n.endswith(".pt") or "/checkpoints/" in n]


def test_runs_stopped_at_the_time_limit_are_said_and_not_judged(tmp_path):
    """A limit shorter than the runs' start-up: the multirun is stopped, the page is still
    written, says so, and the claim is undecided rather than judged on step-0 numbers."""
    out = tmp_path / "report"
    args = ["--claims", "3", "--concurrent", "--time-limit", "1", *TINY_GPU, "--out", str(out)]
    done = _report(tmp_path, *args)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "train_resize: exit" in done.stdout and "(stopped at the time limit)" in done.stdout
    md = (out / "report.md").read_text()
    assert "**Stopped at the time limit (1 s):** the runs of train_resize were stopped" in md
    assert "**Verdict (undecided).**" in md.split("## Claim 3")[1]
    assert "images trained" not in md  # no speed is claimed from runs that did not finish
    assert "could not be built" not in md  # figures without numbers are still drawn


def test_a_run_without_an_evaluation_at_its_last_step_has_no_trained_numbers(tmp_path):
    _fake_run(tmp_path / "stopped", ["upsample=deconv", "seed=0"], 0.01)
    metrics = json.loads((tmp_path / "stopped" / "metrics.json").read_text())
    done = RunRow(tmp_path / "stopped", [], metrics | {"steps": 1200})
    assert ev(done, "content_2") == 0.01 and ev(done, "content_2", 0) == 0.5
    metrics["evaluations"] = metrics["evaluations"][:1]  # stopped before its last step
    stopped = RunRow(tmp_path / "stopped", [], metrics | {"steps": 1200, "status": "interrupted"})
    assert math.isnan(ev(stopped, "content_2")) and ev(stopped, "content_2", 0) == 0.5
    init_only = RunRow(tmp_path / "stopped", [], metrics | {"steps": 0})
    assert ev(init_only, "content_2") == 0.5  # a study read at init: its last is step 0
