"""The neuron: an inverting leaky integrator around a virtual ground, then a saturating stage.

Synapse currents flow into the summing node n (held at virtual ground); the integrator output is
s = -u with tau du/dt = -u + R_f * I, tau = R_f C_f. A saturating stage gives V = rho(u) between
the rails and an inverter gives -V for the G- lines.

Levels: `ideal` (controlled sources: exact virtual ground), `macromodel` (the integrator op-amp has
finite DC gain, one pole, output rails and an input offset), `cmos` (three transistor-level OTAs:
integrator, rail-clipping saturating stage, inverter; validation only: the numpy twin models the
ideal and macromodel levels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from memprop.circuits.params import param
from memprop.circuits.validation import ConfigError, check_choice, check_finite

NEURON_LEVELS = ("ideal", "macromodel", "cmos")
ACTIVATIONS = ("hard", "smooth")


@dataclass(frozen=True)
class Neuron:
    """Parameters of every neuron in a network (one cell, instantiated per unit)."""

    level: str = param("ideal", "circuit level: ideal (controlled sources) or macromodel (finite-gain op-amp)")
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
        if self.level == "cmos" and (self.v_low != 0.0 or self.v_high > self.vdd - 0.5):
            raise ConfigError("v_high", "the cmos neuron's activation runs from 0 V to at most vdd - 0.5 V")

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
        """Activation V = rho(u) (the saturating stage)."""
        u = np.asarray(u, dtype=float)
        if self.activation == "hard":
            return np.clip(u, self.v_low, self.v_high)
        span = self.v_high - self.v_low
        mid = 0.5 * (self.v_high + self.v_low)
        return self.v_low + 0.5 * span * (1.0 + np.tanh(2.0 * (u - mid) / span))

    def rho_prime(self, u: np.ndarray) -> np.ndarray:
        """d rho / du: 1 inside the rails for the hard sigmoid; slope 1 at mid-rail for the smooth one."""
        u = np.asarray(u, dtype=float)
        if self.activation == "hard":
            return ((u > self.v_low) & (u < self.v_high)).astype(float)
        span = self.v_high - self.v_low
        mid = 0.5 * (self.v_high + self.v_low)
        return 1.0 / np.cosh(2.0 * (u - mid) / span) ** 2
