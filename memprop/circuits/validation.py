"""Validation shared by every circuit dataclass.

Every value that ends up in a netlist passes through here, so a bad value is rejected where it
is created, with the field named, instead of surfacing later as a broken (or hostile) deck.
"""

from __future__ import annotations

import math
import re
from typing import Any, Sequence

#: Names that reach a netlist: letters, digits and underscores, starting with a letter.
#: This excludes whitespace, newlines, dots, quotes, `=`, `{`, `*` and `;`, so no user-written
#: name can start a new SPICE line, a comment, a `.control` block or a parameter expression.
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")

#: Parameter names ngspice or other dialects treat specially (ngspice's PSPICE mode reserves `vt`).
RESERVED_NAMES = frozenset({"vt", "temp", "time", "pi", "e", "gnd", "end", "ends", "control", "endc"})


#: Longest error message; a hostile value (a megabyte-long string) is cut, not echoed whole.
MAX_MESSAGE_CHARS = 1000


def one_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Text safe to print as one line: line breaks and other non-printable characters escaped
    (a key like "a\\n.control" stays visibly one string), and cut after `limit` characters."""
    out = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
    if len(out) > limit:
        out = f"{out[:limit]}... ({len(out) - limit} more characters)"
    return out


def comment_lines(text: str | Sequence[str]) -> list[str]:
    """Free text made safe for any file we write (netlist and Verilog-A comments, reports, plot
    titles): split on every kind of line break, other control characters replaced by '?', so no
    text can start a line of its own (a `.control` block, a `shell` command, a new section)."""
    lines = text.splitlines() if isinstance(text, str) else [part for item in text for part in str(item).splitlines()]
    return ["".join(ch if ch.isprintable() else "?" for ch in line) for line in lines]


def one_safe_line(text: str) -> str:
    """Free text as one safe line (its non-blank lines joined by ' / '): for titles and table cells."""
    return " / ".join(line for line in comment_lines(text) if line.strip())


class ConfigError(ValueError):
    """A bad configuration value: says where (file and field) and why."""

    def __init__(self, field: str, reason: str, source: str | None = None) -> None:
        self.field = field
        self.reason = reason
        self.source = source
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"{self.source}: " if self.source else ""
        return one_line(f"{where}{self.field}: {self.reason}")

    def located(self, source: str, prefix: str = "") -> "ConfigError":
        """The same error, placed in a file and under a section prefix."""
        field = f"{prefix}.{self.field}" if prefix and not self.field.startswith(prefix + ".") else self.field
        return ConfigError(field, self.reason, source)


def memory_budget() -> int:
    """Bytes one computation may ask for: half of this machine's memory, or of the process's
    address-space or data limit when one is set (so a capped process refuses instead of failing)."""
    import os
    import resource

    limits = [os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")]
    for which in (resource.RLIMIT_AS, resource.RLIMIT_DATA):
        soft = resource.getrlimit(which)[0]
        if soft != resource.RLIM_INFINITY:
            limits.append(soft)
    return min(limits) // 2


def check_memory(field: str, what: str, n_bytes: float) -> None:
    """Refuse, with the estimate, what would need more memory than `memory_budget()`: before allocating."""
    budget = memory_budget()
    if n_bytes > budget:
        raise ConfigError(field, f"{what} needs ~{n_bytes / 2**30:.1f} GiB of memory, more than the "
                                 f"{budget / 2**30:.1f} GiB (half the machine's memory, or of the process's "
                                 "limit) memprop allows itself")


def check_finite(field: str, value: Any, *, positive: bool = False, nonnegative: bool = False,
                 low: float | None = None, high: float | None = None) -> float:
    """A real, finite number within bounds, or a ConfigError naming the field."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(field, f"must be a number, got {type(value).__name__} {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ConfigError(field, f"must be finite, got {value!r}")
    if positive and number <= 0:
        raise ConfigError(field, f"must be > 0, got {value!r}")
    if nonnegative and number < 0:
        raise ConfigError(field, f"must be >= 0, got {value!r}")
    if low is not None and number < low:
        raise ConfigError(field, f"must be >= {low:g}, got {value!r}")
    if high is not None and number > high:
        raise ConfigError(field, f"must be <= {high:g}, got {value!r}")
    return number


def check_int(field: str, value: Any, *, low: int, high: int) -> int:
    """An integer (not a bool, not a float) within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(field, f"must be an integer, got {type(value).__name__} {value!r}")
    if not low <= value <= high:
        raise ConfigError(field, f"must be between {low} and {high}, got {value}")
    return value


def check_name(field: str, value: Any) -> str:
    """A SPICE-safe identifier (see NAME_PATTERN), not a reserved word."""
    if not isinstance(value, str):
        raise ConfigError(field, f"must be a string, got {type(value).__name__}")
    if not NAME_PATTERN.match(value):
        raise ConfigError(field, f"{value!r} is not a safe name: use 1-32 letters, digits or '_', "
                                 "starting with a letter")
    if value.lower() in RESERVED_NAMES:
        raise ConfigError(field, f"{value!r} is reserved in SPICE dialects")
    return value


def check_choice(field: str, value: Any, choices: tuple[str, ...] | list[str]) -> str:
    """One of a fixed set of strings."""
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(field, f"must be one of {', '.join(map(str, choices))}; got {value!r}")
    return value
