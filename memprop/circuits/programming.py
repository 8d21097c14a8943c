"""Programming pulses through a device's own state equation (the numpy twin of a write).

A pulse of amplitude v and width w moves the state by integrating dx/dt = f(v, x) over w; a train
of n pulses does it n times. What a pulse achieves depends on the state (windows, thresholds, the
1/R shape of G(x)), which is what makes pulsed updates differ from the wanted ones on hardware.

How a wanted change becomes pulses is a programming scheme (PulseScheme.scheme):

- ``set-calibrated``: the original scheme. One width, calibrated on SET pulses at mid-range, for
  both polarities; counts rounded to the nearest integer. On VTEAM a RESET pulse at mid-range then
  moves G ~5x as far as a SET pulse, so RESET requests round to zero far more often and devices
  drift to G_max. Kept so that old configs and results reproduce.
- ``per-polarity``: SET and RESET widths calibrated separately (each moves a mid-range G by
  dg_step), and each device's SET or RESET step predicted at its current state.
- ``stochastic``: per-polarity, with counts rounded up with probability equal to the fractional
  part (seeded): unbiased in expectation, so small wanted changes are not all lost to rounding.
- ``write-verify``: per-polarity pulses one at a time, reading G after each, until G is within a
  tolerance of the target or the pulse budget is spent (closed loop; needs a read per pulse).
- ``manhattan``: one per-polarity pulse in the direction of every nonzero wanted change
  (sign-based, Manhattan rule); the size of the change is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memprop.circuits.devices import MemristorModel
from memprop.circuits.params import param
from memprop.circuits.validation import ConfigError, check_choice, check_finite, check_int

SUBSTEPS = 8
#: The programming schemes, by the name a config uses ([pulse] scheme); see the module docstring.
SCHEMES = ("set-calibrated", "per-polarity", "stochastic", "write-verify", "manhattan")
#: How pulses reach the devices ([pulse] half_select): "none" pulses each device on its own; "v2" and
#: "v3" write through the crossbar's lines (memprop.circuits.crossbar_write).
HALF_SELECT = ("none", "v2", "v3")
#: Schemes that predict a pulse count from the step at each device's state (open loop).
COUNTING = ("set-calibrated", "per-polarity", "stochastic")


def _rk4_pulse(device: MemristorModel, x: np.ndarray, v: np.ndarray | float, width: float,
               substeps: int, scale: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """States after one rectangular pulse (classic RK4), and the energy v*i it took (trapezoid).
    scale: each device's switching-voltage factor (its state equation sees v / scale; None: 1)."""
    x = np.asarray(x, dtype=float)
    h = width / substeps
    energy = np.zeros_like(x)
    drive = v if scale is None else v / scale
    for _ in range(substeps):
        k1 = device.dxdt(drive, x)
        k2 = device.dxdt(drive, x + 0.5 * h * k1)
        k3 = device.dxdt(drive, x + 0.5 * h * k2)
        k4 = device.dxdt(drive, x + h * k3)
        x_next = np.clip(x + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4), device.x_lo, device.x_hi)
        energy = energy + 0.5 * h * v * (device.current(v, x) + device.current(v, x_next))
        x = x_next
    return x, energy


def pulse(device: MemristorModel, x: np.ndarray, v: np.ndarray | float, width: float,
          substeps: int = SUBSTEPS) -> np.ndarray:
    """The states after one rectangular pulse (classic RK4 in `substeps` steps), clipped to bounds."""
    return _rk4_pulse(device, x, v, width, substeps)[0]


def pulse_train(device: MemristorModel, x: np.ndarray, v: np.ndarray, width: float | np.ndarray,
                counts: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
    """Apply counts[k] pulses of amplitude v[k] to device k (vectorised over devices)."""
    return _train(device, x, v, width, counts, scale)[0]


def _train(device: MemristorModel, x: np.ndarray, v: np.ndarray | float, width: float | np.ndarray,
           counts: np.ndarray, scale: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """pulse_train, and the energy each device took. Amplitudes and widths: scalars or per device;
    scale: switching-voltage factors per device (None: nominal devices)."""
    x = np.array(x, dtype=float)
    energy = np.zeros_like(x)
    counts = np.asarray(counts, dtype=int)
    for k in range(int(counts.max(initial=0))):
        active = counts > k
        x[active], e = _rk4_pulse(device, x[active], _pick(v, active), _pick(width, active), SUBSTEPS,
                                  None if scale is None else scale[active])
        energy[active] += e
    return x, energy


def _pick(value: np.ndarray | float, active: np.ndarray) -> np.ndarray | float:
    return value[active] if np.ndim(value) else value


@dataclass(frozen=True)
class PulseScheme:
    """How wanted conductance changes become pulses."""

    scheme: str = param("per-polarity", f"programming scheme: {', '.join(SCHEMES)} (see memprop.circuits."
                                      "programming; set-calibrated is the scheme of earlier versions)")
    v_set: float = param(0.0, "SET pulse amplitude (0: 10 % above the device's SET threshold, 1 V without one)", "V")
    v_reset: float = param(0.0, "RESET pulse amplitude, negative (0: 10 % beyond the RESET threshold)", "V")
    width: float = param(0.0, "pulse width (0: calibrated so one pulse moves a mid-range G by dg_step)", "s")
    width_reset: float = param(0.0, "RESET pulse width for the per-polarity schemes (0: calibrated on RESET "
                                    "pulses like width on SET pulses); set-calibrated uses width for both", "s")
    dg_step: float = param(0.002, "calibration: one pulse at mid-range moves G by this fraction of the range")
    max_pulses: int = param(64, "most pulses per device per update (write-verify: the pulse budget)")
    policy: str = param("adaptive", "counting schemes: adaptive (the controller predicts each device's step at "
                                    "its state) or fixed (one nominal step per polarity for all, open loop)")
    verify_tolerance: float = param(0.001, "write-verify: stop when G is this close to its target (fraction "
                                           "of the range)")
    seed: int = param(0, "stochastic: seed of the rounding (combined with epoch and batch in training)")
    half_select: str = param("none", "how pulses reach the devices: none (each device on its own), or through "
                                     "the crossbar's lines with the v2 or v3 half-select scheme, whose half-"
                                     "selected devices see V/2 or V/3 (see memprop.circuits.crossbar_write)")

    def __post_init__(self) -> None:
        check_choice("scheme", self.scheme, SCHEMES)
        check_finite("v_set", self.v_set, nonnegative=True, high=20.0)
        check_finite("v_reset", self.v_reset, low=-20.0, high=0.0)
        check_finite("width", self.width, nonnegative=True, high=1.0)
        check_finite("width_reset", self.width_reset, nonnegative=True, high=1.0)
        check_finite("dg_step", self.dg_step, positive=True, high=0.5)
        check_int("max_pulses", self.max_pulses, low=1, high=100000)
        check_choice("policy", self.policy, ("adaptive", "fixed"))
        check_finite("verify_tolerance", self.verify_tolerance, positive=True, high=0.5)
        check_int("seed", self.seed, low=0, high=2**32 - 1)
        check_choice("half_select", self.half_select, HALF_SELECT)
        if self.half_select != "none" and self.scheme == "write-verify":
            raise ConfigError("half_select", "write-verify reads each device between its pulses, which a "
                                             "row-serial write through the lines does not model: use "
                                             "half_select = \"none\" or another scheme")

    def resolved(self, device: MemristorModel) -> "ResolvedPulses":
        v_set = self.v_set or (1.1 * _threshold(device, +1) if _threshold(device, +1) else 1.0)
        v_reset = self.v_reset or (1.1 * _threshold(device, -1) if _threshold(device, -1) else -1.0)
        x_mid = float(device.state_for(np.asarray(0.5 * (device.g_min + device.g_max))))
        span = device.g_max - device.g_min
        width = self.width or _calibrate(device, x_mid, v_set, self.dg_step * span)
        _check_width("pulse.width", width, "a SET pulse")
        width_reset = width
        if self.scheme != "set-calibrated":
            width_reset = self.width_reset or _calibrate(device, x_mid, v_reset, self.dg_step * span)
            _check_width("pulse.width_reset", width_reset, "a RESET pulse")
        return ResolvedPulses(v_set, v_reset, width, self.max_pulses, self.policy, x_mid, self.scheme,
                              width_reset, self.verify_tolerance * span, self.seed, self.half_select)


def _check_width(name: str, width: float, what: str) -> None:
    if width <= 0 or not np.isfinite(width):
        raise ConfigError(name, f"cannot calibrate: {what} does not move the mid-range state")


@dataclass(frozen=True)
class ResolvedPulses:
    """A PulseScheme made concrete for one device: amplitudes, widths, tolerance in S."""

    v_set: float
    v_reset: float
    width: float
    max_pulses: int
    policy: str
    x_mid: float
    scheme: str = "set-calibrated"
    width_reset: float = 0.0
    tolerance: float = 0.0
    seed: int = 0
    half_select: str = "none"

    def amplitude(self, up: np.ndarray) -> np.ndarray:
        """The pulse amplitude per device: SET where `up`, RESET elsewhere."""
        return np.where(up, self.v_set, self.v_reset)

    def widths(self, up: np.ndarray) -> np.ndarray | float:
        """The pulse width per device (one width for both polarities in set-calibrated)."""
        if self.scheme == "set-calibrated":
            return self.width
        return np.where(up, self.width, self.width_reset)


def _threshold(device: MemristorModel, sign: int) -> float:
    if hasattr(device, "programming_threshold"):  # a state-dependent threshold: the model picks it
        return device.programming_threshold(sign)
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


@dataclass
class Programmed:
    """What a write did: new states, pulses and energy per device, and reads (write-verify)."""

    x: np.ndarray
    counts: np.ndarray
    energy: np.ndarray
    reads: int = 0
    #: through the lines (half_select v2 / v3): each device's state change from pulses it was not
    #: selected for; None for devices pulsed on their own
    disturb: np.ndarray | None = None


def program(device: MemristorModel, x: np.ndarray, dg_wanted: np.ndarray, scheme: ResolvedPulses,
            rng: np.random.Generator | None = None, scale: np.ndarray | None = None) -> Programmed:
    """Write wanted conductance changes with a scheme (sign picks SET or RESET).

    rng: the stream of stochastic rounding (None: one seeded by the scheme's seed, so a lone call
    is still deterministic); the other schemes draw nothing. scale: each device's switching-voltage
    factor (threshold variation, nonideal.switching_scale); the controller does not know it, so
    counts are planned for the nominal device and only write-verify sees what each device did.
    """
    x = np.asarray(x, dtype=float)
    dg_wanted = np.asarray(dg_wanted, dtype=float)
    if scheme.scheme == "write-verify":
        return write_verify(device, x, dg_wanted, scheme, scale)
    up = dg_wanted > 0
    counts = requested_counts(device, x, dg_wanted, scheme, rng)
    new_x, energy = _train(device, x, scheme.amplitude(up), scheme.widths(up), counts, scale)
    return Programmed(new_x, counts, energy)


def requested_counts(device: MemristorModel, x: np.ndarray, dg_wanted: np.ndarray, scheme: ResolvedPulses,
                     rng: np.random.Generator | None = None) -> np.ndarray:
    """The pulses an open-loop scheme asks of each device: one per nonzero change (manhattan), or
    the predicted count (pulse_counts)."""
    if scheme.scheme == "manhattan":
        return (dg_wanted != 0).astype(int)
    return pulse_counts(device, x, dg_wanted, scheme, rng)


def program_by_pulses(device: MemristorModel, x: np.ndarray, dg_wanted: np.ndarray,
                      scheme: ResolvedPulses) -> tuple[np.ndarray, np.ndarray]:
    """New states and pulse counts for wanted conductance changes (sign picks SET or RESET)."""
    done = program(device, x, dg_wanted, scheme)
    return done.x, done.counts


def predicted_steps(device: MemristorModel, x: np.ndarray, up: np.ndarray, scheme: ResolvedPulses) -> np.ndarray:
    """|dG| of one pulse of each device's polarity, at its state (adaptive) or at mid-range (fixed)."""
    probe = x if scheme.policy == "adaptive" else np.full_like(x, scheme.x_mid)
    after = pulse(device, probe, scheme.amplitude(up), scheme.widths(up))
    return np.abs(device.conductance(after) - device.conductance(probe))


def pulse_counts(device: MemristorModel, x: np.ndarray, dg_wanted: np.ndarray, scheme: ResolvedPulses,
                 rng: np.random.Generator | None = None) -> np.ndarray:
    """Pulses per device: wanted / predicted step, rounded (stochastic: up with the fraction's probability)."""
    step = predicted_steps(device, x, dg_wanted > 0, scheme)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(step > 0, np.abs(dg_wanted) / step, 0.0)
    if scheme.scheme == "stochastic":
        draws = (rng if rng is not None else np.random.default_rng(scheme.seed)).random(ratio.shape)
        counts = np.floor(ratio) + (draws < ratio - np.floor(ratio))
    else:
        counts = np.rint(ratio)
    return np.clip(counts, 0, scheme.max_pulses).astype(int)


def write_verify(device: MemristorModel, x: np.ndarray, dg_wanted: np.ndarray, scheme: ResolvedPulses,
                 scale: np.ndarray | None = None) -> Programmed:
    """Pulse, read, repeat: each device gets one pulse toward its target (SET below it, RESET above)
    per round until it reads within the tolerance, stops moving, or has spent max_pulses.
    The target is clipped to the device's range (a bound is reached, never passed)."""
    x = np.array(x, dtype=float)
    g = device.conductance(x)
    target = np.clip(g + dg_wanted, device.g_min, device.g_max)
    counts, energy, reads = np.zeros(x.shape, dtype=int), np.zeros_like(x), 0
    active = (np.abs(target - g) > scheme.tolerance) & (dg_wanted != 0)
    while active.any():
        up = target[active] > g[active]
        moved, e = _rk4_pulse(device, x[active], scheme.amplitude(up), scheme.widths(up), SUBSTEPS,
                              None if scale is None else scale[active])
        g_new = device.conductance(moved)
        stalled = g_new == g[active]
        x[active], g[active], energy[active] = moved, g_new, energy[active] + e
        counts[active] += 1
        reads += int(active.sum())
        active[active] = ~stalled
        active &= (np.abs(target - g) > scheme.tolerance) & (counts < scheme.max_pulses)
    return Programmed(x, counts, energy, reads)
