"""Every file handed to the tool is checked before it is used: a checkpoint, a sample file and
metrics.json of the wrong structure are one message naming the file, what it holds and what
was expected (exit 2, nothing written); readers of many runs show such a run as unreadable."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import zipfile
from pathlib import Path

import pytest
import torch

from checkerboard_gan.config import ConfigError
from checkerboard_gan.evaluate import evaluate_run, parser
from checkerboard_gan.generate import generate
from checkerboard_gan.generate import main as generate_main
from checkerboard_gan.report.reading import fingerprint_at, samples_at
from checkerboard_gan.rundir.checkpoint import CheckpointError, load_checkpoint, load_latest
from checkerboard_gan.rundir.record import Diverged, read_record
from checkerboard_gan.rundir.schema import SchemaError, load_fingerprint, load_images
from checkerboard_gan.sweeps.runs import RunRow, find_runs
from checkerboard_gan.sweeps.summary import summarize
from checkerboard_gan.training.losses import NonSaturatingBCE
from checkerboard_gan.training.run import train

from .conftest import TINY, compose_config, read_metrics, run_module

SAMPLE = "samples/step_0000002.pt"
LAST = "checkpoints/last.pt"


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One finished tiny run (2 steps, probes at 0 and 2), copied by the tests that change it."""
    run_dir = tmp_path_factory.mktemp("trained") / "run"
    train(compose_config("train.steps=2"), run_dir)
    return run_dir


@pytest.fixture
def run(trained, tmp_path) -> Path:
    return Path(shutil.copytree(trained, tmp_path / "run"))


def digest(folder: Path) -> dict[str, str]:
    """Every file under `folder` and its hash (the lock file aside: taking the folder writes
    the taker's PID into it, whatever it then does)."""
    return {
        str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def edit_checkpoint(path: Path, change) -> None:
    state = torch.load(path, weights_only=True)
    change(state)
    torch.save(state, path)


# train.resume -----------------------------------------------------------------------------


def test_a_sample_file_given_as_train_resume_is_one_message_exit_2_and_writes_nothing(run):
    before = digest(run)
    new = run.parent / "resumed"
    done = run_module(
        "checkerboard_gan",
        *TINY,
        f"train.resume={run / SAMPLE}",
        f"hydra.run.dir={new}",
        env={"HYDRA_FULL_ERROR": ""},
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert (
        f"checkerboard_gan: error: {run / SAMPLE} holds a float32 tensor of shape "
        "(16, 3, 16, 16), not a checkpoint (a dict of generator, discriminator" in done.stderr
    )
    assert not new.exists() and digest(run) == before


def _drop_generator(state):
    del state["generator"]


def _step_as_text(state):
    state["step"] = "two"


MEMBERS = {
    # name: (damage to a copy of last.pt given the run, the message's tail after the file)
    "sample-file": (lambda p, run: shutil.copy(run / SAMPLE, p), " holds a float32 tensor"),
    "no-generator": (
        lambda p, run: edit_checkpoint(p, _drop_generator),
        " is not a checkpoint: it lacks generator",
    ),
    "step-as-text": (
        lambda p, run: edit_checkpoint(p, _step_as_text),
        " is not a checkpoint: its 'step' holds a str, where an integer >= 0 was expected",
    ),
    "generate-output": (
        lambda p, run: torch.save(
            {"seeds": torch.arange(2), "images": torch.zeros(2, 3, 16, 16)}, p
        ),
        " is not a checkpoint: it lacks generator, discriminator",
    ),
    "list": (lambda p, run: torch.save([1, 2], p), " holds a list of 2 items, not a checkpoint"),
    "truncated": (lambda p, run: p.write_bytes(p.read_bytes()[:500]), " cannot be read (truncated"),
}


@pytest.mark.parametrize("member", MEMBERS)
def test_a_resume_from_a_file_that_is_not_a_checkpoint_is_refused_before_any_write(
    member, run, tmp_path
):
    damage, message = MEMBERS[member]
    given = tmp_path / "given.pt"
    shutil.copy(run / LAST, given)
    damage(given, run)
    before = digest(run)
    cfg = compose_config("train.steps=4", f"train.resume={given}")
    with pytest.raises((SchemaError, CheckpointError)) as err:
        train(cfg, tmp_path / "new")
    assert str(err.value).removeprefix("checkpoint ").startswith(f"{given}{message}")
    assert not (tmp_path / "new").exists() and digest(run) == before


def test_a_run_folder_whose_metrics_json_is_a_list_is_refused_on_resume(run):
    (run / "metrics.json").write_text("[1, 2]")
    with pytest.raises(SchemaError, match=r"metrics.json holds a list of 2 items, not a run rec"):
        train(compose_config("train.steps=4"), run)
    assert (run / "metrics.json").read_text() == "[1, 2]"  # left as it was


def test_a_sample_dict_as_the_init_file_shows_no_init_grid_on_resume(run, caplog):
    init = run / "samples" / "step_0000000.pt"
    torch.save({"x": torch.zeros(1)}, init)
    with caplog.at_level(logging.WARNING):
        metrics = train(compose_config("train.steps=4"), run)
    assert metrics["status"] == "completed"
    assert f"{init} holds a dict with keys x, not samples" in caplog.text


# a checkpoint's bytes ---------------------------------------------------------------------


def flipped(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def entries(path: Path) -> list[tuple[str, int, int]]:
    """(name, offset of its data, size) of every entry of a zip file: the bytes its CRC-32
    covers (the data begins past the local header, the name and the extra field)."""
    data = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    found = []
    for info in infos:
        header = data[info.header_offset : info.header_offset + 30]
        skip = (
            30 + int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")
        )
        found.append((info.filename, info.header_offset + skip, info.compress_size))
    return found


def test_a_flipped_byte_in_any_entry_of_a_checkpoint_is_corrupt(trained, tmp_path):
    """A byte flipped in the middle of each entry's data (the pickle, every tensor's storage,
    the version records) is caught by the entry's CRC-32 before torch reads the file."""
    given = tmp_path / "last.pt"
    assert len(entries(trained / LAST)) > 10
    for name, start, size in entries(trained / LAST):
        shutil.copy(trained / LAST, given)
        flipped(given, start + size // 2)
        with pytest.raises(CheckpointError) as err:
            load_checkpoint(given)
        assert str(err.value) == (
            f"checkpoint {given} cannot be read (truncated or corrupt: its entry {name} does not "
            "match its stored CRC-32 or attributes)"
        )


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5, 0.75, 0.9])
def test_a_flipped_byte_in_last_pt_warns_and_previous_pt_is_used(fraction, run, caplog):
    """A byte at `fraction` of the file's data (the bytes of all its entries, in order)."""
    last = run / LAST
    shutil.copy(last, last.with_name("previous.pt"))
    spans = entries(last)
    left = int(sum(size for _, _, size in spans) * fraction)
    for _, start, size in spans:
        if left < size:
            flipped(last, start + left)
            break
        left -= size
    with caplog.at_level(logging.WARNING):
        state, used = load_latest(last)
    assert used == last.with_name("previous.pt") and state["step"] == 2
    assert f"checkpoint {last} cannot be read (truncated or corrupt: its entry " in caplog.text
    assert f"using the previous checkpoint {used}" in caplog.text


@pytest.mark.parametrize("keep", [0, 1, 500, 0.5, -10])
def test_a_truncated_checkpoint_is_one_short_line(keep, run):
    last = run / LAST
    data = last.read_bytes()
    last.write_bytes(data[: int(len(data) * keep) if isinstance(keep, float) else keep])
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(last)
    message = str(err.value)
    assert message.startswith(f"checkpoint {last} cannot be read (truncated or corrupt: ")
    assert "\n" not in message and "miniz" not in message and len(message) < len(str(last)) + 140


NOT_CHECKPOINTS = {
    # name: (a file the test writes given the run, what the message says it holds)
    "metrics.json": (lambda run: run / "metrics.json", "holds JSON text, not a checkpoint"),
    "png": (lambda run: next((run / "figures").glob("*.png")), "holds a PNG image, not a"),
    "yaml": (lambda run: _written(run / "c.yaml", b"train:\n  steps: 4\n"), "holds plain text"),
    "old-torch": (lambda run: _old_format(run / "old.pt"), "holds a pickle (a torch file of the"),
    "jpeg": (lambda run: _written(run / "a.jpg", b"\xff\xd8\xff\xe0" + bytes(64)), "a JPEG im"),
    "empty": (lambda run: _written(run / "e.pt", b""), "cannot be read (truncated or corrupt: the"),
    "random": (lambda run: _written(run / "r.pt", bytes(range(7, 256))), "corrupt: unrecognised"),
}


def _written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _old_format(path: Path) -> Path:
    torch.save({"step": 1}, path, _use_new_zipfile_serialization=False)
    return path


@pytest.mark.parametrize("kind", NOT_CHECKPOINTS)
def test_a_file_that_is_not_a_checkpoint_is_said_to_be_what_it_is(kind, run, tmp_path):
    make, message = NOT_CHECKPOINTS[kind]
    given = make(run)
    before = digest(run)
    cfg = compose_config("train.steps=4", f"train.resume={given}")
    with pytest.raises((SchemaError, CheckpointError)) as err:
        train(cfg, tmp_path / "new")
    assert str(err.value).removeprefix("checkpoint ").startswith(f"{given} ")
    assert message in str(err.value) and "\n" not in str(err.value)
    if isinstance(err.value, SchemaError):
        assert str(err.value).endswith(
            "not a checkpoint (a torch zip file written by this tool: checkpoints/last.pt)"
        )
    assert not (tmp_path / "new").exists() and digest(run) == before


def test_a_run_whose_last_pt_holds_json_is_refused_not_skipped(run):
    """The wrong file is refused by every reader, even with a previous.pt beside it (only a
    damaged checkpoint falls back to it)."""
    shutil.copy(run / LAST, run / "checkpoints" / "previous.pt")
    shutil.copy(run / "metrics.json", run / LAST)
    before = digest(run)
    expected = f"{run / LAST} holds JSON text, not a checkpoint (a torch zip file written by"
    with pytest.raises(SchemaError, match=re.escape(expected)):
        train(compose_config("train.steps=4"), run)
    for module in ("checkerboard_gan.evaluate", "checkerboard_gan.generate"):
        done = run_module(module, str(run))
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert f"{module}: error: {expected}" in done.stderr
    assert digest(run) == before


# evaluate and generate --------------------------------------------------------------------


@pytest.mark.parametrize("module", ["checkerboard_gan.evaluate", "checkerboard_gan.generate"])
def test_a_checkpoint_without_its_generator_is_one_message_and_exit_2(module, run):
    edit_checkpoint(run / LAST, _drop_generator)
    before = digest(run)
    done = run_module(module, str(run))
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert f"{run / LAST} is not a checkpoint: it lacks generator (it holds a dict" in done.stderr
    assert digest(run) == before


def test_evaluate_refuses_a_run_whose_metrics_json_is_a_list(run):
    (run / "metrics.json").write_text("[1, 2]")
    before = digest(run)
    done = run_module("checkerboard_gan.evaluate", str(run))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{run / 'metrics.json'} holds a list of 2 items, not a run record" in done.stderr
    assert digest(run) == before


def test_weights_that_do_not_fit_the_saved_config_are_refused(run):
    edit_checkpoint(run / LAST, lambda s: s["config"]["model"].update(g_channels=16))
    with pytest.raises(CheckpointError, match="its generator weights do not fit"):
        generate(run, [0, 1], None, "cpu")
    assert not (run / "generated").exists()


@pytest.mark.parametrize("module", ["checkerboard_gan.evaluate", "checkerboard_gan.generate"])
def test_a_folder_that_does_not_exist_is_said_so(module, tmp_path):
    done = run_module(module, str(tmp_path / "nowhere"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{tmp_path / 'nowhere'} does not exist" in done.stderr
    assert "holds no checkpoint" not in done.stderr
    with pytest.raises(ConfigError, match="does not exist"):
        evaluate_run(tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()


def test_help_descriptions_are_whole_sentences(capsys):
    assert parser().description.endswith("against real ones (docs/evaluate.md).")
    with pytest.raises(SystemExit):
        generate_main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "looked at again without training (after StyleGAN's gen_images.py)." in text


# metrics.json, samples and fingerprints read back -----------------------------------------


@pytest.mark.parametrize(
    "content, message",
    [
        ("[1, 2]", "holds a list of 2 items, not a run record"),
        ('{"status": "comp', "cannot be read as a run record (JSONDecodeError"),
        ('{"probes": {"step": 0}}', "its 'probes' holds a dict with keys step, where a list"),
        ('{"evaluations": [{"fake": {}}]}', "its 'evaluations' holds a list of 1 items"),
        ('{"steps": "ten"}', "its 'steps' holds a str, where an integer >= 0 or null"),
    ],
)
def test_a_metrics_json_of_the_wrong_structure_names_itself(content, message, tmp_path):
    (tmp_path / "metrics.json").write_text(content)
    with pytest.raises(SchemaError, match=f"^{tmp_path / 'metrics.json'}") as err:
        read_record(tmp_path)
    assert message in str(err.value)
    assert read_record(tmp_path / "none") is None  # no file: a run that never wrote one


def test_the_sweep_summary_shows_a_bad_run_as_unreadable_and_goes_on(trained, tmp_path, caplog):
    sweep = tmp_path / "sweep"
    for seed in (0, 1, 2):
        job = Path(shutil.copytree(trained, sweep / f"seed={seed}"))
        (job / ".hydra").mkdir()
        (job / ".hydra" / "overrides.yaml").write_text(f"- seed={seed}\n")
    (sweep / "seed=1" / "metrics.json").write_text(json.dumps([1, 2]))
    torch.save({"x": torch.zeros(1)}, sweep / "seed=2" / SAMPLE)
    with caplog.at_level(logging.WARNING):
        rows = summarize(sweep)
    assert [r.status for r in rows] == ["completed", "unreadable", "completed"]
    assert "holds a list of 2 items, not a run record" in rows[1].error
    table = (sweep / "summary.md").read_text(encoding="utf-8")
    assert "| unreadable: " in table and (sweep / "summary.png").is_file()
    assert "left out of the contact sheet" in caplog.text
    assert samples_at(find_runs(sweep)[2], -1) is None  # the report leaves it out too


def test_sample_and_fingerprint_files_are_checked(trained, tmp_path, caplog):
    assert load_images(trained / SAMPLE).shape == (16, 3, 16, 16)
    tiles = load_fingerprint(trained / "eval" / "fingerprint_step_0000002.pt")
    assert tiles["step"] == 2
    torch.save(torch.zeros(3, 4, 4), tmp_path / "flat.pt")
    with pytest.raises(SchemaError, match=r"holds a float32 tensor of shape \(3, 4, 4\), not s"):
        load_images(tmp_path / "flat.pt")
    with pytest.raises(
        SchemaError, match=r"holds a float32 tensor of shape \(3, 4, 4\), not fingerprint tiles"
    ):
        load_fingerprint(tmp_path / "flat.pt")
    run = Path(shutil.copytree(trained, tmp_path / "run"))
    (run / "eval" / "fingerprint_step_0000002.pt").write_bytes(b"not a torch file")
    row = RunRow(run, [], read_record(run))
    with caplog.at_level(logging.WARNING):
        assert fingerprint_at(row, -1) is None
    assert "fingerprint_step_0000002.pt cannot be read as fingerprint tiles" in caplog.text


# divergence -------------------------------------------------------------------------------


def test_divergence_names_the_steps_since_the_last_look(tmp_path, monkeypatch):
    original = NonSaturatingBCE.g
    monkeypatch.setattr(NonSaturatingBCE, "g", lambda self, fake: original(self, fake) * torch.nan)
    cfg = compose_config("train.steps=10", "log.every=10", "log.loss_every=10")
    with pytest.raises(Diverged, match="^diverged between steps 1 and 10: the loss is not finite"):
        train(cfg, tmp_path)
    metrics = read_metrics(tmp_path)
    assert metrics["failed_step"] == 10 and "between steps 1 and 10" in metrics["error"]
    assert str(Diverged(5, "the loss", 5)) == "diverged at step 5: the loss is not finite"
    assert str(Diverged(5, "the loss")) == "diverged at step 5: the loss is not finite"
    assert "between steps 3 and 4" in str(Diverged(4, "the generator's output", 3))
