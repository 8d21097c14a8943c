"""The shape memprop/ keeps: no function over 60 lines (jinja templates carry the long texts), so
each reads on one screen. Nested functions count on their own and inside their parent."""

from __future__ import annotations

import ast
from pathlib import Path

import memprop

PACKAGE = Path(memprop.__file__).parent
MAX_LINES = 60


def long_functions(source: str, where: str = "<text>", limit: int = MAX_LINES) -> list[str]:
    """'where:line name (n lines)' for every function of `source` longer than `limit` lines."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines = node.end_lineno - node.lineno + 1
            if lines > limit:
                out.append(f"{where}:{node.lineno} {node.name} ({lines} lines)")
    return out


def test_no_function_in_the_package_is_over_60_lines():
    found = [hit for path in sorted(PACKAGE.rglob("*.py"))
             for hit in long_functions(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE)))]
    assert not found, "\n".join(found)


def test_the_check_sees_a_long_function_and_passes_a_short_one():
    body = "\n".join(f"    x{k} = {k}" for k in range(MAX_LINES))
    assert long_functions(f"def long():\n{body}\n") == ["<text>:1 long (61 lines)"]
    assert long_functions(f"def short():\n{body[:-len('    x59 = 59') - 1]}\n") == []
