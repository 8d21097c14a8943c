"""Programming pulses through a device's own state equation (the numpy twin of a write).

A pulse of amplitude v and width w moves the state by integrating dx/dt = f(v, x) over w; a train
of n pulses does it n times. What a pulse achieves depends on the state (windows, thresholds, the
1/R shape of G(x)), which is what makes pulsed updates differ from the wanted ones on hardware.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memprop.circuits.devices import MemristorModel
from memprop.circuits.params import param
from memprop.circuits.validation import ConfigError, check_choice, check_finite, check_int

SUBSTEPS = 8


def pulse(device: MemristorModel, x: np.ndarray, v: np.ndarray | float, width: float,
          substeps: int = SUBSTEPS) -> np.ndarray:
    """The states after one rectangular pulse (classic RK4 in `substeps` steps), clipped to bounds."""
    x = np.asarray(x, dtype=float)
    h = width / substeps
    for _ in range(substeps):
        k1 = device.dxdt(v, x)
        k2 = device.dxdt(v, x + 0.5 * h * k1)
        k3 = device.dxdt(v, x + 0.5 * h * k2)
        k4 = device.dxdt(v, x + h * k3)
        x = np.clip(x + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4), device.x_lo, device.x_hi)
    return x


def pulse_train(device: MemristorModel, x: np.ndarray, v: np.ndarray, width: float,
                counts: np.ndarray) -> np.ndarray:
    """Apply counts[k] pulses of amplitude v[k] to device k (vectorised over devices)."""
    x = np.array(x, dtype=float)
    counts = np.asarray(counts, dtype=int)
    for k in range(int(counts.max(initial=0))):
        active = counts > k
        x[active] = pulse(device, x[active], v[active] if np.ndim(v) else v, width)
    return x


@dataclass(frozen=True)
class PulseScheme:
    """How wanted conductance changes become pulses."""

    v_set: float = param(0.0, "SET pulse amplitude (0: 10 % above the device's SET threshold, 1 V without one)", "V")
    v_reset: float = param(0.0, "RESET pulse amplitude, negative (0: 10 % beyond the RESET threshold)", "V")
    width: float = param(0.0, "pulse width (0: calibrated so one pulse moves a mid-range G by dg_step)", "s")
    dg_step: float = param(0.002, "calibration: one pulse at mid-range moves G by this fraction of the range")
    max_pulses: int = param(64, "most pulses per device per update")
    policy: str = param("adaptive", "adaptive: the controller predicts each device's step at its state; "
                                    "fixed: one nominal step for all (open loop)")

    def __post_init__(self) -> None:
        check_finite("v_set", self.v_set, nonnegative=True, high=20.0)
        check_finite("v_reset", self.v_reset, low=-20.0, high=0.0)
        check_finite("width", self.width, nonnegative=True, high=1.0)
        check_finite("dg_step", self.dg_step, positive=True, high=0.5)
        check_int("max_pulses", self.max_pulses, low=1, high=100000)
        check_choice("policy", self.policy, ("adaptive", "fixed"))

    def resolved(self, device: MemristorModel) -> "ResolvedPulses":
        v_set = self.v_set or (1.1 * _threshold(device, +1) if _threshold(device, +1) else 1.0)
        v_reset = self.v_reset or (1.1 * _threshold(device, -1) if _threshold(device, -1) else -1.0)
        x_mid = float(device.state_for(np.asarray(0.5 * (device.g_min + device.g_max))))
        span = device.g_max - device.g_min
        width = self.width or _calibrate(device, x_mid, v_set, self.dg_step * span)
        if width <= 0 or not np.isfinite(width):
            raise ConfigError("pulse.width", "cannot calibrate: a SET pulse does not move the mid-range state")
        return ResolvedPulses(v_set, v_reset, width, self.max_pulses, self.policy, x_mid)


@dataclass(frozen=True)
class ResolvedPulses:
    v_set: float
    v_reset: float
    width: float
    max_pulses: int
    policy: str
    x_mid: float


def _threshold(device: MemristorModel, sign: int) -> float:
    for pos, neg in (("v_on", "v_off"), ("v_p", "v_n")):
        if hasattr(device, pos):
            return getattr(device, pos) if sign > 0 else (getattr(device, neg) if neg == "v_off"
                                                          else -getattr(device, neg))
    return 0.0


def _calibrate(device: MemristorModel, x_mid: float, v: float, dg: float) -> float:
    """The width that moves G at x_mid by dg with amplitude v (bisection on the real pulse)."""
    g0 = float(device.conductance(np.asarray(x_mid)))
    lo, hi = 0.0, 1e-12
    while abs(float(device.conductance(pulse(device, np.asarray(x_mid), v, hi))) - g0) < dg:
        hi *= 4.0
        if hi > 10.0:
            return float("nan")
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        if abs(float(device.conductance(pulse(device, np.asarray(x_mid), v, mid))) - g0) < dg:
            lo = mid
        else:
            hi = mid
    return hi


def program_by_pulses(device: MemristorModel, x: np.ndarray, dg_wanted: np.ndarray,
                      scheme: ResolvedPulses) -> tuple[np.ndarray, np.ndarray]:
    """New states and pulse counts for wanted conductance changes (sign picks SET or RESET)."""
    x = np.asarray(x, dtype=float)
    v = np.where(dg_wanted > 0, scheme.v_set, scheme.v_reset)
    if scheme.policy == "adaptive":
        probe = x
    else:
        probe = np.full_like(x, scheme.x_mid)
    step = np.abs(device.conductance(pulse(device, probe, v, scheme.width)) - device.conductance(probe))
    with np.errstate(divide="ignore", invalid="ignore"):
        counts = np.where(step > 0, np.rint(np.abs(dg_wanted) / step), 0.0)
    counts = np.clip(counts, 0, scheme.max_pulses).astype(int)
    return pulse_train(device, x, v, scheme.width, counts), counts
