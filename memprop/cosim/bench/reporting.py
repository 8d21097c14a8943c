"""The report.md text of every bench: jinja templates in memprop/templates/reports, one environment.

The templates hold the words; the bench modules hand them the results dictionary. A few filters and
globals keep the figures' formatting exactly Python's (format specs, round-half-even), so a report
regenerated from the same results is the same bytes.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jinja2

from memprop.circuits.validation import one_safe_line


def pct(x: float | None) -> str:
    """A fraction as a percentage with one decimal; a missing or NaN figure as a dash."""
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}"


def num(x: float | None, spec: str) -> str:
    """A figure in a format spec; a missing or NaN figure as a dash."""
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def fmt_seconds(s: float) -> str:
    """Seconds below two minutes, minutes above."""
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


@functools.lru_cache(maxsize=None)
def environment() -> jinja2.Environment:
    """The report templates' environment (built once: the templates compile once)."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("memprop", "templates/reports"),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    env.filters.update(fmt=format, num=num, pct=pct, seconds=fmt_seconds, oneline=one_safe_line,
                       iround=lambda x: int(round(x)))
    return env


def render(template: str, **context: Any) -> str:
    """The text of one report template (memprop/templates/reports/<template>)."""
    return environment().get_template(template).render(**context)
