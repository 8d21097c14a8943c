"""Sweep tables: many analyses' source values in one deck, selected by a swept index.

A sweep deck drives every input line, target and the nudging strength from a piecewise-linear
table of the index node `idx`: `V = pwl(V(idx), 0, x0, 2, x0, 3, x1, ...)`. One `.dc vidx 0 K-1 1`
then solves K operating points back to back; ngspice sets the circuit up and orders its matrix
once, and starts every point from the previous point's solution. Points are whole numbers of the
index, where each table holds its value exactly (a pwl breakpoint); between points the tables
interpolate linearly, which is what ngspice's own source stepping would see: a homotopy from one
point to the next.

Points come in the circuit's physical order: for each sample its phases one after another (the
free phase, then the nudged ones), so a nudged phase continues from its own sample's free phase.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from memprop.circuits.validation import ConfigError

#: Breakpoints per continuation line of a long pwl table (keeps every deck line short).
PAIRS_PER_LINE = 32
#: A transient sweep deck's inputs switch from one phase to the next within this fraction of a phase
#: (1/100 of 20 tau = 0.2 tau: fast against the neurons' settling; measured at 64-32-10, 1/1000 took
#: 11 % more time steps, 1/20 moved phase ends 3 mV from the twin, which switches at once).
PHASE_RISE = 1e-2


@dataclass(frozen=True)
class PointTables:
    """Per sweep point (row): input voltages, target voltages (or None) and the nudging strength."""

    inputs: np.ndarray
    targets: np.ndarray | None
    beta: np.ndarray

    def __post_init__(self) -> None:
        k = self.inputs.shape[0]
        if self.inputs.ndim != 2 or k < 1:
            raise ConfigError("tables", f"inputs must be (points, lines) with at least one point, got {self.inputs.shape}")
        if self.beta.shape != (k,) or (self.targets is not None and self.targets.shape[0] != k):
            raise ConfigError("tables", "inputs, targets and beta must have one row per point")
        for name, values in (("inputs", self.inputs), ("targets", self.targets), ("beta", self.beta)):
            if values is not None and not np.all(np.isfinite(values)):
                raise ConfigError(f"tables.{name}", "contains NaN or infinite values")

    @property
    def points(self) -> int:
        return self.inputs.shape[0]


def phase_points(x: np.ndarray, y: np.ndarray | None, betas: Sequence[float]) -> PointTables:
    """One batch as sweep points: sample-major, phase-minor (sample i's phases are points
    i*P .. i*P + P-1, in the order of `betas`)."""
    p = len(betas)
    x = np.atleast_2d(np.asarray(x, dtype=float))
    targets = None if y is None else np.repeat(np.atleast_2d(np.asarray(y, dtype=float)), p, axis=0)
    return PointTables(np.repeat(x, p, axis=0), targets, np.tile(np.asarray(betas, dtype=float), x.shape[0]))


def concatenate(tables: Sequence[PointTables]) -> PointTables:
    """Several batches' points, one after another (targets kept only when every batch has them)."""
    targets = None if any(t.targets is None for t in tables) else np.concatenate([t.targets for t in tables])
    return PointTables(np.concatenate([t.inputs for t in tables]), targets, np.concatenate([t.beta for t in tables]))


def breakpoints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fewest (index, value) pairs whose linear interpolation holds `values[k]` at every k:
    both ends of every run of equal values (a constant table still gets two)."""
    values = np.asarray(values, dtype=float)
    k = len(values)
    if k == 1:
        return np.array([0, 1]), np.array([values[0], values[0]])
    change = np.nonzero(values[1:] != values[:-1])[0]
    idx = np.unique(np.concatenate([[0, k - 1], change, change + 1]))
    return idx, values[idx]


def pwl(values: np.ndarray, control: str) -> str:
    """`pwl(V(control), k0, v0, k1, v1, ...)` holding values[k] at index k, with SPICE
    continuation lines every PAIRS_PER_LINE breakpoints."""
    idx, vals = breakpoints(values)
    pairs = [f"{i}, {v:.12g}" for i, v in zip(idx.tolist(), vals.tolist())]
    chunks = [", ".join(pairs[k:k + PAIRS_PER_LINE]) for k in range(0, len(pairs), PAIRS_PER_LINE)]
    return f"pwl(V({control}), " + ",\n+ ".join(chunks) + ")"


def staircase(points: int, phase_time: float, rise: float) -> str:
    """The index source of a transient sweep deck: `pwl(...)` holding V(idx) = k from k*T to
    (k+1)*T - rise, then rising to k+1 within `rise`: every table switches to point k+1 together.
    Phase k of the transient thus ends (settled) at (k+1)*T - rise, a breakpoint of the waveform."""
    if not (phase_time > 0 and 0 < rise < phase_time):
        raise ConfigError("tables", f"a transient sweep needs 0 < rise < phase time; got {rise!r}, {phase_time!r}")
    pairs = [f"{k * phase_time:.12g} {k} {(k + 1) * phase_time - rise:.12g} {k}" for k in range(points)]
    chunks = [" ".join(pairs[k:k + PAIRS_PER_LINE // 2]) for k in range(0, len(pairs), PAIRS_PER_LINE // 2)]
    return "pwl(" + "\n+ ".join(chunks) + ")"


def phase_ends(points: int, phase_time: float, rise: float) -> np.ndarray:
    """When each point's phase of a transient sweep deck ends (see `staircase`)."""
    return (np.arange(points) + 1) * phase_time - rise
