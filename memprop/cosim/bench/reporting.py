"""What every bench's report shares: report.md text from jinja templates (memprop/templates/reports,
one environment), results.json, PNG figures, and a clock that prints each stage as it runs.

The templates hold the words; the bench modules hand them the results dictionary. A few filters and
globals keep the figures' formatting exactly Python's (format specs, round-half-even), so a report
regenerated from the same results is the same bytes.
"""

from __future__ import annotations

import functools
import math
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import jinja2

from memprop.circuits.validation import one_safe_line
from memprop.cosim.runs.rundir import json_safe, write_results

__all__ = ["Clock", "Log", "MAX_RESULTS_BYTES", "fmt_seconds", "json_safe", "num", "pct", "pyplot", "render", "save_png",
           "single_thread", "write_results"]

#: Where a bench prints its progress (print, or a test's collector).
Log = Callable[[str], Any]
#: results.json of a benchmark is a few megabytes; a larger one is not read back.
MAX_RESULTS_BYTES = 256 * 2**20


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
    """The report templates' environment (built once, from the templates as they were then:
    netgen.deck.template_environment)."""
    from memprop.netgen.deck import template_environment

    env = template_environment("templates/reports")
    env.filters.update(fmt=format, num=num, pct=pct, seconds=fmt_seconds, oneline=one_safe_line,
                       iround=lambda x: int(round(x)))
    return env


def render(template: str, **context: Any) -> str:
    """The text of one report template (memprop/templates/reports/<template>)."""
    return environment().get_template(template).render(**context)


@contextmanager
def single_thread() -> Iterator[None]:
    """One BLAS thread: the matrices are small, and on a shared 2-core machine threads only contend."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        yield
        return
    with threadpool_limits(1):
        yield


class Clock:
    """Wall-clock timer per stage, printed as it goes."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self.t0 = time.perf_counter()
        self.stages: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        self.log(f"[{time.perf_counter() - self.t0:7.1f} s] {name} ...")
        try:
            yield
        finally:
            dt = time.perf_counter() - t
            self.stages[name] = self.stages.get(name, 0.0) + dt
            self.log(f"[{time.perf_counter() - self.t0:7.1f} s] {name}: {dt:.1f} s")

    @property
    def total(self) -> float:
        return time.perf_counter() - self.t0


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (files only, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, path: Path) -> str:
    """Save and close a figure; its file name, as the report links it."""
    from memprop.cosim.runs.plots import save_figure

    return save_figure(fig, path).name
