"""The SPICE form of a crossbar write through its lines (memprop.circuits.crossbar_write is the twin).

Every device of a (rows, cols) array is a dynamic memristor (its state equation live) between its
row line and its column line; each line is driven by a PWL source that plays the whole write:
pulse k of the sequence is a trapezoid that rises in `edge`, holds, and falls in `edge`, with the
same area as the twin's rectangle of the pulse's width, followed by `edge` at 0 V. The deck runs
as-is with `ngspice -b` (its `.tran ... uic` and `.print` lines are in it); in a session the
analysis is issued as a command with the timing of `write_timing`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memprop import __version__
from memprop.circuits.crossbar_write import WriteSequence, line_voltages, pulse_shape
from memprop.circuits.devices import MemristorModel
from memprop.circuits.programming import ResolvedPulses
from memprop.circuits.validation import ConfigError
from memprop.netgen import names
from memprop.netgen.deck import device_text, environment, number

#: Each edge of a pulse (rise, fall, and the 0 V gap after it), as a fraction of the pulse width.
EDGE = 0.01
#: The transient's largest step, as a fraction of the shortest pulse width.
STEP = 1.0 / 16.0
#: Relative tolerance of the transient (as the device testbench: states compared against RK4).
RELTOL = 1e-5
#: PWL points per continuation line, and vectors per .print line (short lines for every reader).
POINTS_PER_LINE = 4
PRINTS_PER_LINE = 8


@dataclass(frozen=True)
class WriteTiming:
    """Start time of every pulse, the transient's stop time and largest step (seconds)."""

    starts: np.ndarray
    widths: np.ndarray
    stop: float
    max_step: float


def write_timing(sequence: WriteSequence, pulses: ResolvedPulses) -> WriteTiming:
    """Pulses back to back, each `width` plus two edges long (rise/fall inside, the gap after)."""
    widths = np.array([pulse_shape(pulses, int(s))[1] for s in sequence.signs])
    slots = widths * (1.0 + 2.0 * EDGE)
    starts = np.concatenate([[0.0], np.cumsum(slots)[:-1]]) if len(widths) else np.zeros(0)
    shortest = float(widths.min()) if len(widths) else 1e-9
    return WriteTiming(starts, widths, float(slots.sum()) or 1e-9, STEP * shortest)


def _levels(sequence: WriteSequence, pulses: ResolvedPulses, half_select: str,
            shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Every line's voltage during every pulse: (pulses, rows) and (pulses, cols)."""
    rows, cols = np.zeros((len(sequence), shape[0])), np.zeros((len(sequence), shape[1]))
    for k, (row, sign, selected) in enumerate(zip(sequence.rows, sequence.signs, sequence.selected)):
        rows[k], cols[k] = line_voltages(half_select, pulse_shape(pulses, int(sign))[0], int(row), selected, shape[0])
    return rows, cols


def pwl_points(levels: np.ndarray, timing: WriteTiming) -> list[tuple[float, float]]:
    """One line's PWL corners: 0 V at t = 0, then a trapezoid for each pulse that drives it."""
    points = [(0.0, 0.0)]
    for level, start, width in zip(levels, timing.starts, timing.widths):
        if level != 0.0:
            edge = EDGE * width
            points += [(start, 0.0), (start + edge, level), (start + width, level), (start + width + edge, 0.0)]
    if points[1:] and points[1][0] == 0.0:
        points.pop(0)  # the first pulse starts at t = 0 from 0 V itself
    return points


def _chunks(points: list[tuple[float, float]]) -> list[str]:
    text = [f"{number(t)} {number(v)}" for t, v in points]
    return [" ".join(text[i:i + POINTS_PER_LINE]) for i in range(0, len(text), POINTS_PER_LINE)]


def crossbar_write_deck(device: MemristorModel, x0: np.ndarray, sequence: WriteSequence, pulses: ResolvedPulses,
                        half_select: str, scale: np.ndarray | None = None, xspice: bool = False) -> str:
    """The deck of one array's write: devices from states x0 (rows, cols), lines driven by `sequence`;
    scale: each device's switching-voltage factor (threshold variation; None: nominal devices);
    xspice: whether the devices may use XSPICE code models (netgen.deck.device_text; off for a
    written deck, the session's detection when it runs here)."""
    if not isinstance(device, MemristorModel):
        raise ConfigError("device", f"must be a MemristorModel, got {type(device).__name__}")
    x0 = np.asarray(x0, dtype=float)
    if x0.ndim != 2 or np.any(x0 < device.x_lo) or np.any(x0 > device.x_hi):
        raise ConfigError("x0", f"must be a (rows, cols) array of states within [{device.x_lo:g}, {device.x_hi:g}]")
    timing = write_timing(sequence, pulses)
    row_levels, col_levels = _levels(sequence, pulses, half_select, x0.shape)
    (n_rows, n_cols), env = x0.shape, environment("ngspice")
    drivers = [_driver(names.write_row(r, n_rows), row_levels[:, r], timing) for r in range(n_rows)]
    drivers += [_driver(names.write_col(c, n_cols), col_levels[:, c], timing) for c in range(n_cols)]
    devices = [{"name": names.write_device(r, c, n_rows, n_cols), "row": names.write_row(r, n_rows),
                "col": names.write_col(c, n_cols), "x0": number(x0[r, c]),
                "vs": None if scale is None else number(scale[r, c])}
               for r in range(n_rows) for c in range(n_cols)]
    states = [f"v({names.device_state(d['name'])})" for d in devices]
    return env.get_template("crossbar_write.cir.j2").render(
        rows=n_rows, cols=n_cols, kind=device.kind, half_select=half_select, version=__version__,
        pulses=len(sequence), device_text=device_text(env, device, scale is not None, xspice).rstrip("\n"),
        drivers=drivers, devices=devices,
        reltol=number(RELTOL), step=number(timing.max_step), stop=number(timing.stop),
        max_step=number(timing.max_step),
        prints=[" ".join(states[i:i + PRINTS_PER_LINE]) for i in range(0, len(states), PRINTS_PER_LINE)])


def _driver(node: str, levels: np.ndarray, timing: WriteTiming) -> dict[str, object]:
    return {"name": names.write_driver(node), "node": node, "chunks": _chunks(pwl_points(levels, timing))}


def state_vectors(shape: tuple[int, int]) -> list[str]:
    """The session vector names of the devices' states, row by row (ngspice: `<device>.xs`)."""
    return [names.device_state(names.write_device(r, c, *shape)) for r in range(shape[0]) for c in range(shape[1])]
