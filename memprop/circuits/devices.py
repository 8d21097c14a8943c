"""Memristor device models and their numpy twins.

Every model uses a normalised state x in [x_lo, x_hi] with x = x_hi the most conductive (ON) end,
and the sign convention that a positive device voltage V(p) - V(n) drives the state ON (x up).
Each model gives the state equation dx/dt(v, x), the I-V relation i(v, x), and the map between
state and read conductance. The SPICE text of the same equations lives in
templates/ngspice/devices/<template>.j2; the tests hold the two against each other.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar, Mapping

import numpy as np

from memprop.circuits.params import param
from memprop.circuits.validation import ConfigError, check_choice, check_finite


@dataclass(frozen=True)
class MemristorModel:
    """Base of all device models: state bounds plus the equations every model must provide."""

    kind: ClassVar[str] = ""
    template: ClassVar[str] = ""
    #: True when the read current is exactly G(x)*v, so a read is a plain resistor.
    linear_read: ClassVar[bool] = True

    x_lo: float = param(0.0, "lowest state (fully OFF)", "")
    x_hi: float = param(1.0, "highest state (fully ON)", "")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (int, float)):  # bools included: check_finite rejects them (True == 1.0)
                check_finite(f.name, value)
        check_finite("x_lo", self.x_lo, low=0.0, high=1.0)
        check_finite("x_hi", self.x_hi, low=0.0, high=1.0)
        if self.x_lo >= self.x_hi:
            raise ConfigError("x_hi", f"must exceed x_lo ({self.x_lo:g}), got {self.x_hi:g}")
        self._validate()

    def _validate(self) -> None:
        """Model-specific checks; raise ConfigError naming the field."""

    # --- equations (numpy twins of the SPICE text) ---
    def current(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def dxdt(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def conductance(self, x: np.ndarray) -> np.ndarray:
        """Read conductance (chord conductance at small read voltages), in S."""
        raise NotImplementedError

    def state_for(self, g: np.ndarray) -> np.ndarray:
        """The state that reads as conductance g (clipped to the state bounds)."""
        raise NotImplementedError

    # --- derived facts ---
    @property
    def g_min(self) -> float:
        return float(self.conductance(np.asarray(self.x_lo)))

    @property
    def g_max(self) -> float:
        return float(self.conductance(np.asarray(self.x_hi)))

    @property
    def read_limit(self) -> float:
        """Largest |v| that leaves the state unchanged (0 for threshold-less models)."""
        return 0.0

    @property
    def switching_band(self) -> tuple[float, float] | None:
        """(low, high): the voltages strictly between them never move the state, whatever it is
        (None for models without such a band). The dynamic form tests this band first, so below
        threshold a time step evaluates one comparison per device instead of the state equation."""
        return None

    def reads_safely(self, v: float) -> bool:
        """|v| up to `v` keeps the device in its read form with a 10 % margin below read_limit
        (a resistor in the deck: the transient engines' condition, checked before a batch and by
        the config before a transistor-level run)."""
        return v <= 0.9 * self.read_limit

    @property
    def characteristic_drive(self) -> tuple[float, float]:
        """(amplitude V, frequency Hz) of a sine that switches the device part-way in one period."""
        raise NotImplementedError

    def _guard(self, rate: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Zero any rate that would push the state past its bounds (the SPICE text does the same)."""
        return np.where(rate > 0, rate * (x < self.x_hi), rate * (x > self.x_lo))

    def scaled_read_state(self, x: np.ndarray, factor: np.ndarray) -> np.ndarray:
        """The state that reads `factor` times the current of state x (device-to-device variation
        on a nonlinear read, whose decks take a state, not a resistance). x * factor: exact where
        the current is proportional to x (Yakopcic)."""
        return x * factor

    def spice_constants(self) -> dict[str, float]:
        """Derived numbers a template uses besides the parameters (none for most models)."""
        return {}

    def spice_params(self) -> dict[str, float]:
        """Parameter name -> value, as the device template expects them."""
        return {f.name: float(getattr(self, f.name)) for f in dataclasses.fields(self)
                if isinstance(getattr(self, f.name), (int, float)) and not isinstance(getattr(self, f.name), bool)}


@dataclass(frozen=True)
class _ResistiveRange(MemristorModel):
    """Models whose resistance interpolates linearly between R_on and R_off with the state."""

    r_on: float = param(10e3, "resistance at x = x_hi (ON)", "Ohm")
    r_off: float = param(1e6, "resistance at x = x_lo (OFF)", "Ohm")

    def _validate(self) -> None:
        check_finite("r_on", self.r_on, positive=True)
        check_finite("r_off", self.r_off, positive=True)
        if self.r_off <= self.r_on:
            raise ConfigError("r_off", f"must exceed r_on ({self.r_on:g}), got {self.r_off:g}")

    def resistance(self, x: np.ndarray) -> np.ndarray:
        s = (np.asarray(x, dtype=float) - self.x_lo) / (self.x_hi - self.x_lo)
        return self.r_off + (self.r_on - self.r_off) * s

    def current(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        return np.asarray(v, dtype=float) / self.resistance(x)

    def conductance(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / self.resistance(x)

    def state_for(self, g: np.ndarray) -> np.ndarray:
        r = 1.0 / np.asarray(g, dtype=float)
        s = (r - self.r_off) / (self.r_on - self.r_off)
        return np.clip(self.x_lo + s * (self.x_hi - self.x_lo), self.x_lo, self.x_hi)


@dataclass(frozen=True)
class HPLinearDrift(_ResistiveRange):
    """HP Labs linear ion drift (Strukov 2008) with a Joglekar or Biolek window.

    R(x) = R_on x + R_off (1 - x), dx/dt = mu_v R_on / D^2 * i * f(x). No threshold: every read
    current moves the state a little, as in the original model.
    """

    kind: ClassVar[str] = "hp"
    template: ClassVar[str] = "hp"

    mu_v: float = param(1e-14, "dopant mobility", "m^2/(V s)")
    thickness: float = param(10e-9, "film thickness D", "m")
    p: float = param(2.0, "window exponent (integer >= 1)", "")
    window: str = param("joglekar", "window function: joglekar f=1-(2x-1)^2p, or biolek f=1-(x-stp(-i))^2p")

    def _validate(self) -> None:
        super()._validate()
        check_finite("mu_v", self.mu_v, positive=True)
        check_finite("thickness", self.thickness, positive=True)
        check_finite("p", self.p, low=1.0, high=20.0)
        if self.p != int(self.p):
            raise ConfigError("p", f"must be a whole number, got {self.p!r}")
        check_choice("window", self.window, ("joglekar", "biolek"))
        if self.x_lo != 0.0 or self.x_hi != 1.0:
            raise ConfigError("x_lo", "the HP model's state is w/D: its bounds are 0 and 1")

    @property
    def k(self) -> float:
        return self.mu_v * self.r_on / self.thickness ** 2

    def window_value(self, x: np.ndarray, i: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if self.window == "joglekar":
            return 1.0 - (2.0 * x - 1.0) ** (2 * int(self.p))
        return 1.0 - (x - (np.asarray(i) < 0)) ** (2 * int(self.p))

    def dxdt(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        i = self.current(v, x)
        return self._guard(self.k * i * self.window_value(x, i), x)

    @property
    def characteristic_drive(self) -> tuple[float, float]:
        # 1 V at the frequency whose half-period charge through the mid-state resistance,
        # q = A / (pi f R_mid), moves the state by k q = 0.2 of its range. A stronger drive pins
        # the state at a bound where the Joglekar window vanishes (its known boundary lock), and
        # which side of the bound an integrator lands on then decides whether it ever leaves.
        # Rounded to 3 significant digits (3.15 Hz for the defaults).
        amplitude = 1.0
        r_mid = 0.5 * (self.r_on + self.r_off)
        return amplitude, float(f"{self.k * amplitude / (0.2 * np.pi * r_mid):.3g}")


@dataclass(frozen=True)
class VTEAM(_ResistiveRange):
    """VTEAM (Kvatinsky 2015) with a linear I-V and directional windows.

    dx/dt = k_on (v/v_on - 1)^a_on f_on(x) above v_on > 0, -k_off (v/v_off - 1)^a_off f_off(x)
    below v_off < 0, and 0 between: reads inside (v_off, v_on) never move the state.
    f_on = 1 - x^2p vanishes at the ON end, f_off = 1 - (1-x)^2p at the OFF end (x normalised).
    """

    kind: ClassVar[str] = "vteam"
    template: ClassVar[str] = "vteam"

    v_on: float = param(1.5, "SET threshold (> 0): above it the state moves ON", "V")
    v_off: float = param(-1.5, "RESET threshold (< 0): below it the state moves OFF", "V")
    k_on: float = param(5e5, "SET rate constant", "1/s")
    k_off: float = param(5e5, "RESET rate constant", "1/s")
    alpha_on: float = param(3.0, "SET nonlinearity exponent", "")
    alpha_off: float = param(3.0, "RESET nonlinearity exponent", "")
    p: float = param(10.0, "window exponent", "")

    def _validate(self) -> None:
        super()._validate()
        check_finite("v_on", self.v_on, positive=True)
        check_finite("v_off", self.v_off, high=-1e-9)
        for name in ("k_on", "k_off", "alpha_on", "alpha_off"):
            check_finite(name, getattr(self, name), positive=True)
        check_finite("p", self.p, low=1.0, high=50.0)

    def _unit(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=float) - self.x_lo) / (self.x_hi - self.x_lo)

    def dxdt(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=float)
        s = self._unit(x)
        up = self.k_on * np.maximum(v / self.v_on - 1.0, 0.0) ** self.alpha_on * (1.0 - s ** (2 * self.p))
        down = self.k_off * np.maximum(v / self.v_off - 1.0, 0.0) ** self.alpha_off * (1.0 - (1.0 - s) ** (2 * self.p))
        return self._guard((up - down) * (self.x_hi - self.x_lo), np.asarray(x, dtype=float))

    @property
    def read_limit(self) -> float:
        return min(self.v_on, -self.v_off)

    @property
    def switching_band(self) -> tuple[float, float] | None:
        return self.v_off, self.v_on

    @property
    def characteristic_drive(self) -> tuple[float, float]:
        return 1.3 * max(self.v_on, -self.v_off) + 0.5, 1e5


@dataclass(frozen=True)
class Yakopcic(MemristorModel):
    """Yakopcic (2011) generalised memristor: i = a x sinh(b v), dx/dt = eta g(v) f(x).

    Thresholds v_p, v_n (reads between -v_n and v_p leave the state alone); exponential
    switching g(v); state-dependent motion f(x) that slows beyond x_p (ON) and below 1 - x_n.
    Its read is slightly nonlinear (sinh), so in decks it is a behavioural current source.
    """

    kind: ClassVar[str] = "yakopcic"
    template: ClassVar[str] = "yakopcic"
    linear_read: ClassVar[bool] = False

    x_lo: float = param(0.01, "lowest state (fully OFF)", "")
    a1: float = param(2e-3, "I-V amplitude for v >= 0", "A")
    a2: float = param(2e-3, "I-V amplitude for v < 0", "A")
    b: float = param(0.05, "I-V curvature", "1/V")
    v_p: float = param(1.2, "positive switching threshold", "V")
    v_n: float = param(1.2, "negative switching threshold (magnitude)", "V")
    a_p: float = param(1e4, "positive switching magnitude", "1/s")
    a_n: float = param(1e4, "negative switching magnitude", "1/s")
    x_p: float = param(0.3, "state beyond which SET motion decays", "")
    x_n: float = param(0.5, "state (from the top) below which RESET motion decays", "")
    alpha_p: float = param(1.0, "SET decay rate beyond x_p", "")
    alpha_n: float = param(5.0, "RESET decay rate beyond x_n", "")
    eta: float = param(1.0, "direction of motion (+1 or -1)", "")

    def _validate(self) -> None:
        for name in ("a1", "a2", "b", "v_p", "v_n", "a_p", "a_n", "alpha_p", "alpha_n"):
            check_finite(name, getattr(self, name), positive=True)
        check_finite("x_p", self.x_p, low=0.0, high=0.999)
        check_finite("x_n", self.x_n, low=0.0, high=0.999)
        if self.eta not in (1.0, -1.0):
            raise ConfigError("eta", f"must be +1 or -1, got {self.eta!r}")

    def current(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=float)
        a = np.where(v >= 0, self.a1, self.a2)
        return a * np.asarray(x, dtype=float) * np.sinh(self.b * v)

    def g(self, v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=float)
        pos = self.a_p * (np.exp(np.minimum(v, 50.0)) - np.exp(self.v_p))
        neg = -self.a_n * (np.exp(np.minimum(-v, 50.0)) - np.exp(self.v_n))
        return np.where(v > self.v_p, pos, np.where(v < -self.v_n, neg, 0.0))

    def f(self, x: np.ndarray, rate_sign: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        up = np.where(x >= self.x_p,
                      np.exp(-self.alpha_p * (x - self.x_p)) * ((self.x_p - x) / (1.0 - self.x_p) + 1.0), 1.0)
        down = np.where(x <= 1.0 - self.x_n,
                        np.exp(self.alpha_n * (x + self.x_n - 1.0)) * (x / (1.0 - self.x_n)), 1.0)
        return np.where(rate_sign > 0, up, down)

    def dxdt(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        rate = self.eta * self.g(v)
        return self._guard(rate * self.f(x, rate), x)

    def conductance(self, x: np.ndarray) -> np.ndarray:
        return self.a1 * self.b * np.asarray(x, dtype=float)

    def state_for(self, g: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(g, dtype=float) / (self.a1 * self.b), self.x_lo, self.x_hi)

    @property
    def read_limit(self) -> float:
        return min(self.v_p, self.v_n)

    @property
    def switching_band(self) -> tuple[float, float] | None:
        return -self.v_n, self.v_p

    @property
    def characteristic_drive(self) -> tuple[float, float]:
        return max(self.v_p, self.v_n) + 0.8, 1e4


#: Boltzmann constant over the elementary charge (V/K): the thermal voltage is this times T.
BOLTZMANN_OVER_Q = 8.617333262e-5


@dataclass(frozen=True)
class StanfordPKU(MemristorModel):
    """Stanford-PKU RRAM (Yu/Wong): a filament gap g that a field-driven hopping current grows or shrinks.

    Equations (Jiang, Yu, Wong et al., IEEE TED 63, 1884 (2016); Stanford RRAM model v1.0.0,
    doi:10.4231/D37H1DN48), with the state x normalised and linear in the gap:

        g(x)   = gap_max - s (gap_max - gap_min),     s = (x - x_lo) / (x_hi - x_lo)  (x_hi = ON)
        i      = i0 exp(-g/g0) sinh(v/v0)
        gamma  = gamma0 - beta (g/g1)^3
        dg/dt  = -vel0 exp(-ea/Vt) sinh(gamma a0/tox v/Vt),  Vt = k T / q
        dg/dt  = 0 where gamma |v| / tox < f_min (the card's minimum field for gap change)

    The field threshold makes reads exact: below v_th(g) = f_min tox / gamma(g) the state does not
    move at all, and read_limit is its smallest value over the gap range (at gap_min, 1.105 V).
    Defaults are the published card (i0, v0, g0, vel0, ea, a0, tox, gamma0, beta, f_min, gap_max,
    T = T_ini) except gap_min, raised from 0.1 nm to 1.0 nm so the read conductances
    i0/v0 exp(-g/g0) span 4.5 .. 73 uS, inside the crossbar's 1 .. 100 uS synapse range.
    Simplifications, stated: isothermal (no Joule heating: the card's C_th, tau_th are left
    out, so T stays at `temperature`) and no stochastic gap term (deltaGap0 = 0, the card's
    standard model). Both sinh arguments are clipped to +-EXP_LIMIT, identically in the twin,
    the SPICE text and the Verilog-A, so a Newton overshoot cannot overflow (the clip acts only
    beyond |v| = EXP_LIMIT v0 = 10 V on the I-V and 3.2 .. 4.1 V on the rate, past the default
    drives: a 1.5 V sine, pulses of 1.53 and -1.68 V).
    The read current is nonlinear (sinh): the read conductance is the small-signal slope
    i0/v0 exp(-g/g0), and decks read through a behavioural current source, as for Yakopcic.
    """

    kind: ClassVar[str] = "stanford-rram"
    template: ClassVar[str] = "stanford_rram"
    linear_read: ClassVar[bool] = False
    #: Largest |argument| of either sinh (see the class docstring).
    EXP_LIMIT: ClassVar[float] = 40.0

    i0: float = param(1e-3, "I-V current scale", "A")
    v0: float = param(0.25, "I-V voltage scale (sinh nonlinearity)", "V")
    g0: float = param(0.25e-9, "I-V gap scale (tunnelling decay length)", "m")
    gap_min: float = param(1.0e-9, "smallest gap (ON end; card 0.1 nm, raised into the synapse range)", "m")
    gap_max: float = param(1.7e-9, "largest gap (OFF end)", "m")
    vel0: float = param(10.0, "gap velocity prefactor", "m/s")
    ea: float = param(0.6, "activation energy of vacancy hopping", "eV")
    temperature: float = param(298.0, "device temperature (isothermal: no Joule heating)", "K")
    a0: float = param(0.25e-9, "hopping distance (atom spacing)", "m")
    tox: float = param(12e-9, "oxide thickness", "m")
    gamma0: float = param(16.0, "field enhancement factor at zero gap", "")
    beta: float = param(0.8, "field enhancement decay with the gap", "")
    g1: float = param(1e-9, "gap reference length of the enhancement decay", "m")
    f_min: float = param(1.4e9, "minimum field gamma |v| / tox for any gap change", "V/m")

    def _validate(self) -> None:
        for name in ("i0", "v0", "g0", "gap_min", "vel0", "ea", "temperature", "a0", "tox", "gamma0", "g1", "f_min"):
            check_finite(name, getattr(self, name), positive=True)
        check_finite("beta", self.beta, nonnegative=True)
        if self.gap_max <= self.gap_min:
            raise ConfigError("gap_max", f"must exceed gap_min ({self.gap_min:g}), got {self.gap_max:g}")
        if self.gap_max >= self.tox:
            raise ConfigError("gap_max", f"must be below the oxide thickness tox ({self.tox:g}), got {self.gap_max:g}")
        if self.enhancement(np.asarray(self.gap_max)) <= 0:
            raise ConfigError("beta", "gamma0 - beta (gap_max/g1)^3 must stay > 0 over the gap range, "
                                      f"got {float(self.enhancement(np.asarray(self.gap_max))):g}")

    # --- the gap and its physics ---
    @property
    def thermal_voltage(self) -> float:
        return BOLTZMANN_OVER_Q * self.temperature

    def gap(self, x: np.ndarray) -> np.ndarray:
        s = (np.asarray(x, dtype=float) - self.x_lo) / (self.x_hi - self.x_lo)
        return self.gap_max - s * (self.gap_max - self.gap_min)

    def enhancement(self, gap: np.ndarray) -> np.ndarray:
        """gamma(g): the local field enhancement, weaker for a longer gap."""
        return self.gamma0 - self.beta * (np.asarray(gap, dtype=float) / self.g1) ** 3

    def threshold(self, x: np.ndarray) -> np.ndarray:
        """|v| below which the state at x does not move: f_min tox / gamma(g)."""
        return self.f_min * self.tox / self.enhancement(self.gap(x))

    def _sinh(self, argument: np.ndarray) -> np.ndarray:
        return np.sinh(np.clip(argument, -self.EXP_LIMIT, self.EXP_LIMIT))

    def gap_rate(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        """dg/dt (m/s), zero below the field threshold."""
        v = np.asarray(v, dtype=float)
        gamma = self.enhancement(self.gap(x))
        vt = self.thermal_voltage
        rate = -self.vel0 * np.exp(-self.ea / vt) * self._sinh(gamma * self.a0 / self.tox * v / vt)
        return np.where(gamma * np.abs(v) / self.tox >= self.f_min, rate, 0.0)

    # --- the MemristorModel interface ---
    def current(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.i0 * np.exp(-self.gap(x) / self.g0) * self._sinh(np.asarray(v, dtype=float) / self.v0)

    def dxdt(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        scale = (self.x_hi - self.x_lo) / (self.gap_max - self.gap_min)
        return self._guard(-self.gap_rate(v, x) * scale, x)

    def conductance(self, x: np.ndarray) -> np.ndarray:
        return self.i0 / self.v0 * np.exp(-self.gap(x) / self.g0)

    def state_for(self, g: np.ndarray) -> np.ndarray:
        gap = -self.g0 * np.log(np.asarray(g, dtype=float) * self.v0 / self.i0)
        s = (self.gap_max - gap) / (self.gap_max - self.gap_min)
        return np.clip(self.x_lo + s * (self.x_hi - self.x_lo), self.x_lo, self.x_hi)

    def scaled_read_state(self, x: np.ndarray, factor: np.ndarray) -> np.ndarray:
        # i ~ exp(-g/g0) at every voltage: a factor on the current is a shift of the gap by g0 ln(factor)
        shift = self.g0 * np.log(factor) / (self.gap_max - self.gap_min)
        return np.asarray(x, dtype=float) + shift * (self.x_hi - self.x_lo)

    @property
    def read_limit(self) -> float:
        # the smallest field threshold over the range (gamma is largest at the shortest gap):
        # below it dg/dt is exactly 0 in every state
        return float(self.threshold(np.asarray(self.x_hi)))

    #: RESET pulses are taken this much beyond SET ones (see programming_threshold).
    RESET_OVERDRIVE: ClassVar[float] = 1.1

    def programming_threshold(self, sign: int) -> float:
        """The signed voltage memprop's default pulses start from (they add 10 %).

        SET: the field threshold at the longest gap (OFF end), so a SET pulse moves every state.
        RESET: RESET_OVERDRIVE times that. With the card's odd sinh, a SET and a RESET pulse of one
        amplitude are near-exact inverses, so a write-verify loop whose step near the ON end
        exceeds twice its tolerance would cycle between two reads for its whole budget (and can
        end below its start); a stronger RESET breaks the symmetry and the loop settles.
        """
        threshold = float(self.threshold(np.asarray(self.x_lo)))
        return threshold if sign > 0 else -self.RESET_OVERDRIVE * threshold

    def spice_constants(self) -> dict[str, float]:
        """The thermal voltage and the sinh clip, computed once here for all three forms."""
        return {"vt": self.thermal_voltage, "exp_limit": self.EXP_LIMIT}

    @property
    def characteristic_drive(self) -> tuple[float, float]:
        # 1.5 V is above every state's field threshold (1.11 .. 1.39 V); at 10 MHz one period
        # carries the mid state ~1/6 of its range ON and back (the sinh is odd, the gap returns)
        return 1.5, 1e7


#: The registered device models, by the name a config uses. A new model added here is picked up
#: by the CLI, the config loader and every parametrized test.
DEVICE_MODELS: Mapping[str, MemristorModel] = MappingProxyType({
    "vteam": VTEAM(),
    "hp-joglekar": HPLinearDrift(window="joglekar"),
    "hp-biolek": HPLinearDrift(window="biolek"),
    "yakopcic": Yakopcic(),
    "stanford-rram": StanfordPKU(),
})


def device_model(name: str, **overrides: float | str) -> MemristorModel:
    """A registered model with some parameters overridden (ConfigError on unknown names/values)."""
    if name not in DEVICE_MODELS:
        raise ConfigError("model", f"unknown device model {name!r}; known: {', '.join(DEVICE_MODELS)}")
    base = DEVICE_MODELS[name]
    known = {f.name for f in dataclasses.fields(base)}
    for key in overrides:
        if key not in known:
            raise ConfigError(key, f"not a parameter of device model {name!r}; known: {', '.join(sorted(known))}")
    return dataclasses.replace(base, **overrides)
