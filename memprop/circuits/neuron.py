"""The neuron: an inverting leaky integrator around a virtual ground, then a saturating stage.

Synapse currents flow into the summing node n (held at virtual ground); the integrator output is
s = -u with tau du/dt = -u + R_f * I, tau = R_f C_f. A saturating stage gives V = rho(u) between
the rails and an inverter gives -V for the G- lines.

Levels: `ideal` (controlled sources: exact virtual ground), `macromodel` (the integrator op-amp has
finite DC gain, one pole, output rails and an input offset), `cmos` (three transistor-level OTAs:
integrator, rail-clipping saturating stage, inverter; validation only: the numpy twin models the
ideal and macromodel levels), `sky130` (the same three stages in SkyWater SKY130 1.8 V devices,
+/-0.9 V supplies, a few uW per neuron; process corner, temperature and mismatch selectable;
validation only, like cmos; its measured DC transfer is a `Transfer`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from memprop.circuits.params import param
from memprop.circuits.validation import ConfigError, check_choice, check_finite, check_int

NEURON_LEVELS = ("ideal", "macromodel", "cmos", "sky130")
#: Levels built from transistors (their transients start from the operating point).
TRANSISTOR_LEVELS = ("cmos", "sky130")
ACTIVATIONS = ("hard", "smooth")
#: SKY130 process corners (nfet/pfet: typical, slow, fast, slow-fast, fast-slow).
CORNERS = ("tt", "ss", "ff", "sf", "fs")
#: The sky130 cell's supplies (+/-0.9 V: every device sees at most its rated 1.8 V) and the
#: highest activation rail its output stages reach with margin.
SKY130_SUPPLY = 0.9
SKY130_V_HIGH_MAX = 0.5
#: Smallest R_f the sky130 integrator's output stage drives (it is sized for uA-level currents).
SKY130_R_F_MIN = 100e3


@dataclass(frozen=True)
class Neuron:
    """Parameters of every neuron in a network (one cell, instantiated per unit)."""

    level: str = param("ideal", "circuit level: ideal (controlled sources), macromodel (finite-gain op-amp), "
                                "cmos (generic level-1 transistors) or sky130 (SkyWater SKY130 transistors)")
    activation: str = param("hard", "saturating stage: hard (clip between rails) or smooth (tanh-shaped)")
    r_f: float = param(10e3, "integrator feedback resistance R_f", "Ohm")
    c_f: float = param(100e-12, "integrator feedback capacitance C_f (tau = R_f C_f)", "F")
    v_low: float = param(0.0, "lower rail of the activation V = rho(u)", "V")
    v_high: float = param(1.0, "upper rail of the activation", "V")
    a0: float = param(1e5, "macromodel: op-amp DC open-loop gain", "V/V")
    gbw: float = param(10e6, "macromodel: gain-bandwidth product (one pole at gbw/a0)", "Hz")
    v_rail: float = param(5.0, "macromodel: integrator op-amp output swing (+/-)", "V")
    v_offset: float = param(0.0, "macromodel: input offset voltage", "V")
    vdd: float = param(2.5, "cmos: supply voltage (+vdd and -vdd)", "V")
    corner: str = param("tt", "sky130: process corner (tt, ss, ff, sf, fs)")
    temp: float = param(27.0, "sky130: temperature", "degC")
    mismatch: bool = param(False, "sky130: device mismatch (SkyWater's per-device Monte Carlo statistics)")
    mismatch_seed: int = param(1, "sky130: seed of the mismatch draw (one draw per deck load)")

    def __post_init__(self) -> None:
        if self.level == "cmos" and self.activation != "hard":
            raise ConfigError("activation", "the cmos neuron clips at its rails: it realises the hard activation")
        check_choice("level", self.level, NEURON_LEVELS)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_finite("r_f", self.r_f, low=1.0, high=1e9)
        check_finite("c_f", self.c_f, low=1e-18, high=1.0)
        check_finite("v_low", self.v_low, low=-10.0, high=10.0)
        check_finite("v_high", self.v_high, low=-10.0, high=10.0)
        if self.v_high <= self.v_low:
            raise ConfigError("v_high", f"must exceed v_low ({self.v_low:g}), got {self.v_high:g}")
        check_finite("a0", self.a0, low=10.0, high=1e9)
        check_finite("gbw", self.gbw, low=1e3, high=1e12)
        check_finite("v_rail", self.v_rail, low=self.v_high, high=100.0)
        check_finite("v_offset", self.v_offset, low=-0.1, high=0.1)
        check_finite("vdd", self.vdd, low=1.5, high=5.0)
        self._check_sky130()
        if self.level == "cmos" and (self.v_low != 0.0 or self.v_high > self.vdd - 0.5):
            raise ConfigError("v_high", "the cmos neuron's activation runs from 0 V to at most vdd - 0.5 V")

    def _check_sky130(self) -> None:
        check_choice("corner", self.corner, CORNERS)
        check_finite("temp", self.temp, low=-55.0, high=150.0)
        if not isinstance(self.mismatch, bool):
            raise ConfigError("mismatch", f"must be true or false, got {self.mismatch!r}")
        check_int("mismatch_seed", self.mismatch_seed, low=1, high=2**31 - 1)
        if self.level != "sky130":
            return
        if self.activation != "hard":
            raise ConfigError("activation", "the sky130 neuron clips at its output rails: it realises the hard activation")
        if self.v_low != 0.0 or self.v_high > SKY130_V_HIGH_MAX:
            raise ConfigError("v_high", f"the sky130 neuron's activation runs from 0 V to at most "
                                        f"{SKY130_V_HIGH_MAX:g} V (+/-{SKY130_SUPPLY:g} V supplies), got "
                                        f"{self.v_low:g} .. {self.v_high:g} V")
        if self.r_f < SKY130_R_F_MIN:
            raise ConfigError("r_f", f"the sky130 integrator drives at least {SKY130_R_F_MIN:g} Ohm, got {self.r_f:g}")

    @property
    def transistor_level(self) -> bool:
        return self.level in TRANSISTOR_LEVELS

    @property
    def tau(self) -> float:
        return self.r_f * self.c_f

    @property
    def g_ref(self) -> float:
        """Reference conductance 1/R_f: nudging current per volt of error (times beta)."""
        return 1.0 / self.r_f

    @property
    def pole_hz(self) -> float:
        return self.gbw / self.a0

    @property
    def pole_capacitance(self) -> float:
        """The macromodel's pole, realised as a 1 Ohm resistor with this capacitor."""
        return 1.0 / (2.0 * math.pi * self.pole_hz)

    def rho(self, u: np.ndarray) -> np.ndarray:
        """Activation V = rho(u) (the saturating stage), in u's precision (float32 stays float32)."""
        u = _floats(u)
        if self.activation == "hard":
            return np.clip(u, self.v_low, self.v_high)
        span = self.v_high - self.v_low
        mid = 0.5 * (self.v_high + self.v_low)
        return self.v_low + 0.5 * span * (1.0 + np.tanh(2.0 * (u - mid) / span))

    def rho_prime(self, u: np.ndarray) -> np.ndarray:
        """d rho / du: 1 inside the rails for the hard sigmoid; slope 1 at mid-rail for the smooth one."""
        u = _floats(u)
        if self.activation == "hard":
            return ((u > self.v_low) & (u < self.v_high)).astype(u.dtype)
        span = self.v_high - self.v_low
        mid = 0.5 * (self.v_high + self.v_low)
        return 1.0 / np.cosh(2.0 * (u - mid) / span) ** 2


@dataclass(frozen=True, eq=False)
class Transfer:
    """A neuron cell's measured DC transfer: for each input current I into its summing node
    (ascending), u = R_f I, the summing node's voltage n, the output V and the inverted output V-.

    At DC the cell is a one-port: whatever drives its summing node, only the current matters (the
    op-amp input draws none), so these tables are the cell's equilibrium behaviour exactly: what a
    twin of a transistor-level network would use in place of the ideal V = rho(u), n = 0, V- = -V.
    """

    u: np.ndarray
    n: np.ndarray
    v: np.ndarray
    vm: np.ndarray

    def __post_init__(self) -> None:
        for name in ("u", "n", "v", "vm"):
            column = np.asarray(getattr(self, name), dtype=float)
            if column.ndim != 1 or column.shape != np.shape(self.u) or column.size < 4:
                raise ConfigError("transfer", f"{name}: needs one value per point (at least 4), got {column.shape}")
            if not np.all(np.isfinite(column)):
                raise ConfigError("transfer", f"{name}: non-finite values in the measured transfer")
        if np.any(np.diff(self.u) <= 0):
            raise ConfigError("transfer", "u must increase from point to point")


def _floats(u: np.ndarray) -> np.ndarray:
    """u as a floating-point array: float32 and float64 as they are, anything else as float64."""
    u = np.asarray(u)
    return u if u.dtype in (np.float32, np.float64) else u.astype(float)
