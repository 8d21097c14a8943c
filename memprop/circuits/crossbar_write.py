"""Programming a crossbar through its lines: the numpy twin of a half-select write (V/2, V/3).

On a chip a device is not pulsed on its own: its row and its column line are driven, and every
other device on those lines sees part of the pulse. The two standard half-select schemes, for a
pulse of signed amplitude V on row r with a set S of columns selected:

- ``v2``: row r at +V/2, the columns in S at -V/2, every other line at 0. Selected devices see V;
  the other devices of row r and of the columns in S see V/2 (half-selected); the rest see 0.
- ``v3``: row r at V, the columns in S at 0, the other rows at V/3, the other columns at 2V/3.
  Selected devices see V; every other device sees +V/3 or -V/3.

A device whose voltage passes its model's threshold moves: for a half-selected device that is the
write disturb (on a threshold-less model such as HP every half-selected device moves). V/2 loads
fewer devices; V/3 keeps every unselected device at a third of the pulse, so it tolerates pulses
up to 3x the threshold instead of 2x.

The order of a write (row-serial, the usual way through the lines): row by row from the top, first
the SET pulses, then the RESET pulses. Within a phase pulse k selects the columns whose count
exceeds k, so each device gets exactly the pulses its programming scheme asked for, and the
half-selected ones get what the lines give them. Drivers are ideal (no line or driver
resistance), so every device sees its lines' voltages exactly; the SPICE form of the same write
(memprop.netgen.crossbar_write) drives the same lines with PWL sources.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memprop.circuits.devices import MemristorModel
from memprop.circuits.programming import SUBSTEPS, Programmed, ResolvedPulses, _rk4_pulse, _train, requested_counts


@dataclass(frozen=True)
class WriteSequence:
    """The pulses of a crossbar write in time order: the driven row, the polarity (+1 SET,
    -1 RESET) and the selected columns of each."""

    rows: np.ndarray
    signs: np.ndarray
    selected: np.ndarray

    def __len__(self) -> int:
        return int(self.rows.size)


def write_sequence(counts: np.ndarray, up: np.ndarray) -> WriteSequence:
    """Row-serial pulses for a (rows, cols) array of pulse counts; `up` picks SET for a device."""
    counts, up = np.asarray(counts, dtype=int), np.asarray(up, dtype=bool)
    rows, signs, selected = [], [], []
    for row in range(counts.shape[0]):
        for sign, wants in ((1, up[row]), (-1, ~up[row])):
            phase = np.where(wants, counts[row], 0)
            for k in range(int(phase.max(initial=0))):
                rows.append(row)
                signs.append(sign)
                selected.append(phase > k)
    cols = counts.shape[1]
    return WriteSequence(np.array(rows, dtype=int), np.array(signs, dtype=int),
                         np.array(selected, dtype=bool).reshape(-1, cols))


def line_voltages(half_select: str, v: float, row: int, selected: np.ndarray,
                  n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The row and column driver voltages of one pulse of amplitude v on `row`, columns `selected`."""
    if half_select == "v2":
        rows = np.zeros(n_rows)
        rows[row] = 0.5 * v
        return rows, np.where(selected, -0.5 * v, 0.0)
    if half_select == "v3":
        rows = np.full(n_rows, v / 3.0)
        rows[row] = v
        return rows, np.where(selected, 0.0, 2.0 * v / 3.0)
    raise ValueError(f"unknown half-select scheme {half_select!r}; known: v2, v3")


def pulse_shape(pulses: ResolvedPulses, sign: int) -> tuple[float, float]:
    """Amplitude and width of one pulse of polarity `sign` (+1 SET, -1 RESET)."""
    up = np.asarray(sign > 0)
    return float(pulses.amplitude(up)), float(pulses.widths(up))


@dataclass
class CrossbarWrite:
    """What a write through the lines did to one array: new states, the pulses each device was
    selected for, the energy each device took (selected and half-selected), and the disturb: the
    state change each device got from pulses it was not selected for."""

    x: np.ndarray
    counts: np.ndarray
    energy: np.ndarray
    disturb: np.ndarray
    pulses: int


def program_crossbar(device: MemristorModel, x: np.ndarray, counts: np.ndarray, up: np.ndarray,
                     pulses: ResolvedPulses, half_select: str, scale: np.ndarray | None = None) -> CrossbarWrite:
    """Write one (rows, cols) array through its lines with a half-select scheme (see the module).
    scale: each device's switching-voltage factor (threshold variation; None: nominal devices).
    Where no unselected device can move (see quiet) the states are those of pulsing every device
    on its own, computed so (bit for bit the same), and the half-selected devices' energy is
    counted in closed form: the pulse-by-pulse walk gives the same to rounding."""
    if quiet(device, pulses, half_select, scale):
        return _quiet_write(device, x, counts, up, pulses, half_select, scale)
    sequence = write_sequence(counts, up)
    x = np.array(x, dtype=float)
    energy, disturb = np.zeros_like(x), np.zeros_like(x)
    for row, sign, selected in zip(sequence.rows, sequence.signs, sequence.selected):
        v, width = pulse_shape(pulses, int(sign))
        rows, cols = line_voltages(half_select, v, int(row), selected, x.shape[0])
        chosen = np.zeros(x.shape, dtype=bool)
        chosen[row] = selected
        _apply(device, x, rows[:, None] - cols[None, :], width, chosen, energy, disturb, scale)
    return CrossbarWrite(x, np.asarray(counts, dtype=int).copy(), energy, disturb, len(sequence))


def half_select_voltages(half_select: str, v: float) -> np.ndarray:
    """Every voltage an unselected device sees during a pulse of amplitude v (the same arithmetic
    as the lines: a 2 x 2 array with one device selected)."""
    rows, cols = line_voltages(half_select, v, 0, np.array([True, False]), 2)
    seen = rows[:, None] - cols[None, :]
    return np.array([seen[0, 1], seen[1, 0], seen[1, 1]])


def quiet(device: MemristorModel, pulses: ResolvedPulses, half_select: str, scale: np.ndarray | None) -> bool:
    """No unselected device can move: every share of a pulse it sees is within every device's
    read limit (the moving test of _apply, for the worst device)."""
    limit = device.read_limit * (1.0 if scale is None else float(np.min(scale, initial=1.0)))
    shares = [half_select_voltages(half_select, pulse_shape(pulses, sign)[0]) for sign in (1, -1)]
    return bool(np.max(np.abs(np.concatenate(shares))) <= limit)


def _quiet_write(device: MemristorModel, x: np.ndarray, counts: np.ndarray, up: np.ndarray,
                 pulses: ResolvedPulses, half_select: str, scale: np.ndarray | None) -> CrossbarWrite:
    """A write in which only selected devices move: their own pulses (pulse_train), and the read
    energy of every exposure to a share of a pulse, in the state the device then has (before
    its own pulses or after them: nothing else moves it). No pulse sequence is built: its length
    is the sum over rows and phases of the phase's largest count."""
    counts, up = np.asarray(counts, dtype=int), np.asarray(up, dtype=bool)
    x0 = np.array(x, dtype=float)
    x1, energy = _train(device, x0, pulses.amplitude(up), pulses.widths(up), counts, scale)
    slots = 0
    for sign, wants in ((1, up), (-1, ~up)):
        phase = np.where(wants, counts, 0)
        slots += int(phase.max(axis=1, initial=0).sum())
        v, width = pulse_shape(pulses, sign)
        for share, before, after in _exposures(phase, wants, sign, half_select):
            u = np.full_like(x0, share * v)
            energy += (before * u * device.current(u, x0) + after * u * device.current(u, x1)) * width
    return CrossbarWrite(x1, counts.copy(), energy, np.zeros_like(x0), slots)


def _exposures(c: np.ndarray, wants: np.ndarray, sign: int,
               half_select: str) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """For one polarity's phase of every row (c: its pulses per device): (share of the pulse,
    exposures before the device's own pulses, exposures after them). Rows are written top down,
    so a device is exposed before its own pulses by the rows above it, after them by the rows
    below; in its own row it waits (if it is written in the other phase, SET coming first) or
    has finished."""
    slots = c.max(axis=1, initial=0)
    own = slots[:, None] - c  # the row's slots this device is not selected in
    own_before = np.where(wants, 0, own) if sign > 0 else np.zeros_like(own)
    above = np.cumsum(c, axis=0) - c  # slots of earlier rows that select this column
    below = c.sum(axis=0) - above - c
    third = 1.0 / 3.0
    if half_select == "v2":  # the row's others and the selected columns' others see V/2
        return [(0.5, own_before + above, own - own_before + below)]
    rows_above = (np.cumsum(slots) - slots)[:, None]
    rows_below = slots.sum() - rows_above - slots[:, None]
    return [(third, own_before + above, own - own_before + below),       # +V/3: own row, selected column
            (-third, rows_above - above, rows_below - below)]             # -V/3: the rest


def _apply(device: MemristorModel, x: np.ndarray, v: np.ndarray, width: float, chosen: np.ndarray,
           energy: np.ndarray, disturb: np.ndarray, scale: np.ndarray | None) -> None:
    """One pulse in place: devices past the read limit move (RK4 as in programming.pulse), the
    others only dissipate v*i for the pulse's width. Skipping them is exact: below the read limit
    a model's rate is 0 (at 0 V every model's rate is 0); a device with switching factor s sees
    v / s, so its limit is s times the model's."""
    limit = device.read_limit if scale is None else device.read_limit * scale
    moving = np.abs(v) > limit
    still = ~moving & (v != 0)
    energy[still] += v[still] * device.current(v[still], x[still]) * width
    if not moving.any():
        return
    before = x[moving]
    after, e = _rk4_pulse(device, before, v[moving], width, SUBSTEPS, None if scale is None else scale[moving])
    x[moving] = after
    energy[moving] += e
    disturbed = moving & ~chosen
    disturb[disturbed] += (after - before)[~chosen[moving]]


def program_through_lines(device: MemristorModel, x: np.ndarray, dg_wanted: np.ndarray, pulses: ResolvedPulses,
                          rng: np.random.Generator | None = None, scale: np.ndarray | None = None) -> Programmed:
    """programming.program's write through the lines (pulses.half_select v2 or v3): the counts the
    scheme asks for from the states before the write (open loop, as the controller plans them),
    then every (rows, cols) array of x's leading axes (G+ and G- of a crossbar: two physical
    arrays) written with program_crossbar; scale: switching-voltage factors shaped like x."""
    x = np.asarray(x, dtype=float)
    dg_wanted = np.asarray(dg_wanted, dtype=float)
    counts = requested_counts(device, x, dg_wanted, pulses, rng)
    shape = x.shape
    scales = _arrays(scale, shape) if scale is not None else [None] * int(np.prod(shape[:-2], dtype=int))
    out = [program_crossbar(device, a, c, u, pulses, pulses.half_select, s)
           for a, c, u, s in zip(_arrays(x, shape), _arrays(counts, shape), _arrays(dg_wanted > 0, shape), scales)]
    return Programmed(np.stack([w.x for w in out]).reshape(shape), counts,
                      np.stack([w.energy for w in out]).reshape(shape),
                      disturb=np.stack([w.disturb for w in out]).reshape(shape))


def _arrays(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The (rows, cols) arrays along a's leading axes, as one stack."""
    return np.asarray(a).reshape(-1, *shape[-2:])
