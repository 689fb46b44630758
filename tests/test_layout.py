"""The house rules, read from the source: rooms by stage of the data flow with imports only
downwards and no cycle, entry points never imported, one writer of metrics.json, no measure
key typed outside the catalogue, and no function over 50 lines."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from checkerboard_gan.analysis.catalogue import CATALOGUE

PACKAGE = Path(__file__).resolve().parents[1] / "checkerboard_gan"
# Rooms from the bottom up: a module may import its own room and those below it.
ROOMS = [
    ("config", "devices", "registry"),
    ("models",),
    ("data",),
    ("analysis",),
    ("pictures",),
    ("rundir",),
    ("training",),
    ("sweeps",),
    ("report",),
]
ENTRY_POINTS = {"cli", "evaluate", "generate", "__main__", "report.__main__", "report.command"}


def modules() -> dict[str, Path]:
    """Dotted name under the package (`training.run`) -> file."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            found[".".join(parts)] = path
    return found


def imports(name: str, path: Path) -> set[str]:
    """The package modules `name` imports (absolute or relative), as dotted names."""
    found = set()
    package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            elif node.module and node.module.startswith("checkerboard_gan"):
                target = node.module.removeprefix("checkerboard_gan").lstrip(".")
            else:
                continue
            found.add(target)
            found |= {f"{target}.{a.name}".lstrip(".") for a in node.names}
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("checkerboard_gan."):
                    found.add(a.name.removeprefix("checkerboard_gan."))
    known = modules()
    return {t for t in found if t in known and t != name}


def room(name: str) -> int:
    top = name.split(".")[0]
    for rank, members in enumerate(ROOMS):
        if top in members:
            return rank
    return len(ROOMS)  # an entry point at the top level


GRAPH = {name: imports(name, path) for name, path in modules().items()}


def test_every_module_lives_in_a_room_or_is_an_entry_point():
    loose = [n for n in GRAPH if room(n) == len(ROOMS) and n not in ENTRY_POINTS | {""}]
    assert not loose, f"modules outside the rooms: {loose}"


def test_imports_go_downwards_only():
    upward = [
        f"{a} -> {b}"
        for a, targets in GRAPH.items()
        for b in targets
        if a not in ENTRY_POINTS and room(b) > room(a)
    ]
    assert not upward, upward


def test_entry_points_are_never_imported():
    used = [
        f"{a} -> {b}"
        for a, targets in GRAPH.items()
        for b in targets
        if b in ENTRY_POINTS
        and (a, b) != ("report.__main__", "report.command")
        and not (a == "__main__" and b == "cli")
    ]
    assert not used, used


def test_the_import_graph_has_no_cycle():
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in GRAPH.get(node, ()):
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join([*path, node, nxt]))
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for name in GRAPH:
        if name not in state:
            visit(name, [])


def _code_strings(path: Path) -> list[str]:
    """String constants of a module, docstrings left out."""
    tree = ast.parse(path.read_text())
    docs = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }
    return [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs
    ]


INDEXED = "|".join(m.name for m in CATALOGUE if m.per_period or m.per_level)
WHOLE = "|".join(m.name for m in CATALOGUE if not m.per_period)  # stems are words of their own
MEASURE_KEY = re.compile(rf"^({INDEXED})_\d|^({WHOLE})$")


# Words that are a measure's key and also, in these modules, something else: the shapes
# dataset's default palette (`dataset.palette=saturated`) is not the `saturated` measure.
NOT_MEASURES = {("config", "saturated"), ("data.sources", "saturated")}


def test_no_measure_key_is_typed_outside_the_catalogue():
    typed = [
        f"{name}: {s!r}"
        for name, path in modules().items()
        if name != "analysis.catalogue"
        for s in _code_strings(path)
        if MEASURE_KEY.match(s) and (name, s) not in NOT_MEASURES
    ]
    assert not typed, typed


def test_no_function_is_longer_than_50_lines():
    long = [
        f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for name, path in modules().items()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > 50
    ]
    assert not long, long
