"""The import graph of memprop/: dependencies point one way (circuits <- netgen <- cosim <- api <-
the CLI) and no two modules import each other, directly or around a loop. Every import counts,
those inside functions too: a function-level import hides a cycle, it does not remove it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import memprop

PACKAGE = Path(memprop.__file__).parent

#: cosim's rooms, lowest first (memprop/cosim/__init__.py says what each holds).
ROOMS = ("data", "config", "simulator", "programming", "engines", "learning", "runs", "bench")
#: Layers, lowest first: a module may import only from its own layer or below. The root package
#: (`memprop`: __version__ and the lazy re-export of the API) stands outside the order.
LAYERS = ("memprop.templates", "memprop.circuits", "memprop.netgen", "memprop.cosim",
          *(f"memprop.cosim.{room}" for room in ROOMS), "memprop.api", "memprop.cosim.cli")


def _module_names() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("memprop",) + path.relative_to(PACKAGE).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _module_names()


def _imported(name: str, path: Path) -> set[str]:
    """The memprop modules this module imports anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                stem = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(stem + ([base] if base else []))
            found.update([base] + [f"{base}.{a.name}" for a in node.names])
    return {m for m in found if m in MODULES and m not in (name, "memprop")}


GRAPH = {name: _imported(name, path) for name, path in MODULES.items() if name != "memprop"}


def layer(name: str) -> int:
    """The highest layer whose prefix the module name carries."""
    hits = [k for k, prefix in enumerate(LAYERS) if name == prefix or name.startswith(prefix + ".")]
    return max(hits) if hits else -1


def _cycle_from(start: str) -> list[str] | None:
    """A path of imports from `start` back to itself, if there is one (depth-first)."""
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for nxt in sorted(GRAPH.get(node, ())):
            if nxt == start:
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, path + [nxt]))
    return None


def test_the_walk_sees_every_kind_of_import():
    """The graph is not empty by accident: module-level, function-level and relative imports."""
    assert "memprop.cosim.engines.perphase" in GRAPH["memprop.cosim.engines.batched"]
    assert "memprop.cosim.engines.serial" in GRAPH["memprop.cosim.engines.parallel"]  # inside a function
    assert "memprop.cosim.simulator.session" in GRAPH["memprop.cosim.simulator.cells"]
    assert all(layer(name) >= 0 for name in GRAPH), [n for n in GRAPH if layer(n) < 0]


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_imports_point_down_the_layers(name):
    upward = sorted(m for m in GRAPH[name] if layer(m) > layer(name))
    assert not upward, f"{name} (layer {LAYERS[layer(name)]}) imports from above: {upward}"


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_no_module_is_part_of_an_import_cycle(name):
    cycle = _cycle_from(name)
    assert cycle is None, " -> ".join(cycle)


def test_the_check_catches_a_cycle_and_an_upward_import(monkeypatch):
    """The two checks can fail: a planted loop and a planted upward edge are found."""
    monkeypatch.setitem(GRAPH, "memprop.cosim.engines.perphase", GRAPH["memprop.cosim.engines.perphase"] | {"memprop.cosim.engines.batched"})
    assert _cycle_from("memprop.cosim.engines.batched") is not None
    assert layer("memprop.cosim.simulator.session") > layer("memprop.netgen.testbench")
