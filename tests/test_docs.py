"""The documentation: a short README, every docs page linked, links that resolve, nothing that
points outside the repository, and generated pages that match the code (no training)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]

QUICKSTART = ['pip install ".[dev]" && python -m checkerboard_gan', "python -m pytest -q"]
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def prose(path: Path) -> str:
    """The page without code blocks and inline code (where brackets are not links)."""
    return INLINE_CODE.sub("", FENCE.sub("", path.read_text()))


def links(path: Path) -> list[str]:
    return LINK.findall(prose(path))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found, seen = set(), {}
    for line in FENCE.sub("", path.read_text()).splitlines():
        m = re.match(r"#{1,6}\s+(.*)", line)
        if m:
            base = slug(m.group(1))
            n = seen.get(base, 0)
            found.add(base if n == 0 else f"{base}-{n}")
            seen[base] = n + 1
    return found


def load_make_docs():
    spec = importlib.util.spec_from_file_location("make_docs", ROOT / "scripts" / "make_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_readme_is_short():
    assert len(README.read_text().splitlines()) < 200


def test_quickstart_commands_are_the_two_ci_runs():
    text = README.read_text()
    quickstart = text.split("## Quickstart", 1)[1]
    block = re.search(r"```bash\n(.*?)```", quickstart, re.S)
    assert block is not None
    assert block.group(1).splitlines() == QUICKSTART


def test_every_docs_page_is_linked_from_the_readme_or_the_index():
    linked = set()
    for page in (README, DOCS / "index.md"):
        for target in links(page):
            path = (page.parent / target.split("#")[0]).resolve()
            linked.add(path)
    unlinked = [
        p.name for p in DOCS.glob("*.md") if p.resolve() not in linked | {DOCS / "index.md"}
    ]
    assert not unlinked, f"docs pages linked from neither README.md nor docs/index.md: {unlinked}"
    assert (DOCS / "index.md").resolve() in linked


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_and_anchors_resolve_inside_the_repository(page):
    broken = []
    for target in links(page):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page.resolve()
        if not path.is_relative_to(ROOT) or not path.exists():
            broken.append(target)
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{page.name}: broken links {broken}"


SOURCES = sorted((ROOT / "checkerboard_gan").rglob("*.py")) + sorted((ROOT / "scripts").glob("*"))


@pytest.mark.parametrize("page", PAGES + SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_reference_to_a_file_outside_the_repository(page):
    text = page.read_text()
    for outside in ("../shared", "DESIGN.md", "/work/"):  # docstrings cite docs/ pages
        assert outside not in text, f"{page.name} mentions {outside}"


def test_generated_pages_match_the_code():
    make_docs = load_make_docs()
    assert "docs/configuration.md" in make_docs.PAGES
    assert make_docs.stale_pages() == [], "run: python scripts/make_docs.py"


def test_the_configuration_page_has_every_key_of_the_schema():
    import dataclasses

    from checkerboard_gan import config

    text = (DOCS / "configuration.md").read_text()
    for cls in (config.ModelConfig, config.TrainConfig, config.LogConfig, config.EvalConfig):
        section = next(f.name for f in dataclasses.fields(config.Config) if f.type == cls.__name__)
        for f in dataclasses.fields(cls):
            assert f"`{section}.{f.name}`" in text
    for option in (ROOT / "configs" / "upsample").glob("*.yaml"):
        assert f"| `{option.stem}` |" in text
