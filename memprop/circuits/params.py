"""A field helper that gives every circuit parameter a unit and a docstring.

`memprop models` and the config dump read these, so the documentation of a parameter lives
next to its default and cannot drift from it.
"""

from __future__ import annotations

import dataclasses
from typing import Any


def param(default: Any, doc: str, unit: str = "") -> Any:
    """A dataclass field carrying its documentation and unit."""
    return dataclasses.field(default=default, metadata={"doc": doc, "unit": unit})


def describe(obj: Any) -> list[tuple[str, Any, str, str]]:
    """(name, value, unit, doc) for each field of a parameter dataclass, in declaration order."""
    rows = []
    for f in dataclasses.fields(obj):
        rows.append((f.name, getattr(obj, f.name), f.metadata.get("unit", ""), f.metadata.get("doc", "")))
    return rows
