"""The numpy twin of a single-device sine drive (netgen/testbench.py is the SPICE side).

`simulate_drive` integrates dx/dt = device.dxdt(A sin(2 pi f t), x) with scipy's explicit
8th-order Runge-Kutta (DOP853) at tight tolerances, its maximum step short enough to resolve the
threshold kinks of the drive, and
returns the state and the device current on the requested time grid. `loop_area` measures the
pinched hysteresis loop in the I-V plane.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from memprop.circuits.devices import MemristorModel
from memprop.circuits.validation import ConfigError, check_finite

#: Steps per drive period the integrator may not exceed (thresholds switch the rate on and off
#: within a fraction of a period; a coarser step could skip a short excursion above threshold).
STEPS_PER_PERIOD = 500


@dataclass(frozen=True)
class DriveResult:
    """A sine drive's trajectory: time, drive voltage, state and device current."""

    t: np.ndarray
    v: np.ndarray
    x: np.ndarray
    i: np.ndarray

    def __iter__(self):  # x, i = simulate_drive(...)
        return iter((self.x, self.i))


def sine(amplitude: float, frequency: float, t: np.ndarray) -> np.ndarray:
    return amplitude * np.sin(2.0 * np.pi * frequency * np.asarray(t, dtype=float))


def simulate_drive(device: MemristorModel, amplitude: float, frequency: float, t: np.ndarray,
                   x0: float, *, rtol: float = 1e-9, atol: float | None = None) -> DriveResult:
    """State x(t) and current i(t) of `device` under v(t) = amplitude sin(2 pi frequency t), x(t[0]) = x0.

    `t` is an increasing time grid (s) starting where the state is x0. Unpack as `x, i = ...`
    or use the result's fields t, v, x, i.
    """
    check_finite("amplitude", amplitude)
    check_finite("frequency", frequency, positive=True)
    check_finite("x0", x0, low=device.x_lo, high=device.x_hi)
    t = np.asarray(t, dtype=float)
    if t.ndim != 1 or t.size < 2 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise ConfigError("t", "must be a finite, strictly increasing time grid of at least 2 points")
    span = device.x_hi - device.x_lo
    atol = 1e-12 * span if atol is None else atol

    def rhs(time: float, y: np.ndarray) -> np.ndarray:
        v = amplitude * np.sin(2.0 * np.pi * frequency * time)
        return np.atleast_1d(device.dxdt(v, y[0])).astype(float)

    sol = solve_ivp(rhs, (t[0], t[-1]), [float(x0)], method="DOP853", t_eval=t, rtol=rtol, atol=atol,
                    max_step=1.0 / (frequency * STEPS_PER_PERIOD))
    if not sol.success:
        raise RuntimeError(f"drive integration failed: {sol.message}")
    x = np.clip(sol.y[0], device.x_lo, device.x_hi)
    v = sine(amplitude, frequency, t)
    return DriveResult(t=t, v=v, x=x, i=np.asarray(device.current(v, x), dtype=float))


def loop_area(v: np.ndarray, i: np.ndarray) -> float:
    """Area of the I-V loop traced by the samples (one drive period; the path is closed from the
    last sample back to the first).

    A pinched loop's two lobes are traversed in opposite senses, so the plain |closed integral of
    i dv| of a symmetric memristor is ~0: the path is cut where v crosses zero (crossings
    interpolated) and each lobe contributes its own |integral of i dv|, i.e. the result is the
    total lobe area. For a resistor (i proportional to v) it is 0.
    """
    v = np.asarray(v, dtype=float)
    i = np.asarray(i, dtype=float)
    if v.shape != i.shape or v.ndim != 1 or v.size < 3:
        raise ConfigError("loop", "v and i must be 1-d arrays of the same length (>= 3)")
    if not (np.all(np.isfinite(v)) and np.all(np.isfinite(i))):
        raise ConfigError("loop", "v and i must be finite")
    v = np.append(v, v[0])
    i = np.append(i, i[0])
    k = np.nonzero(v[:-1] * v[1:] < 0)[0]
    frac = v[k] / (v[k] - v[k + 1])
    v = np.insert(v, k + 1, 0.0)
    i = np.insert(i, k + 1, i[k] + frac * (i[k + 1] - i[k]))
    seg = 0.5 * (i[1:] + i[:-1]) * np.diff(v)
    lobe = np.cumsum(v[:-1] == 0.0)
    if v[0] != 0.0:
        lobe[lobe == lobe[-1]] = 0  # the lobe the start cuts in two: its tail and head are one
    return float(np.abs(np.bincount(lobe, weights=seg)).sum())
