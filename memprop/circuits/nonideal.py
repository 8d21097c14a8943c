"""Device non-idealities: what real crossbars add to the ideal conductance model.

- device-to-device variation: each device reads as G * exp(sigma z), z ~ N(0, 1) fixed per device
  (lognormal, as measured across RRAM/PCM arrays);
- stuck devices: a fraction stuck ON (reads g_max) or OFF (reads g_min) whatever is written;
- cycle-to-cycle write noise: every write lands at G_target + c2c * (g_max - g_min) * z;
- a finite number of conductance levels: writes land on the nearest of `levels` values;
- device-to-device variation of the switching voltages: each device's state equation sees v / s
  with s = exp(sigma z) fixed per device, so its thresholds (and the whole voltage dependence of
  its switching) scale by s while its read does not (pulse mode only).

Read-side effects (variation, stuck) are part of the hardware: they live in the Network's
`variation` and every backend reads through `effective_read`; write-side effects are applied by
the programming step. Wire resistance and the op-amp's finite gain and offset are elsewhere
(crossbar.wire_resistance, the macromodel neuron).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memprop.circuits.params import param
from memprop.circuits.validation import ConfigError, check_finite, check_int


@dataclass(frozen=True)
class NonIdeal:
    """Severities of the device non-idealities (all zero: ideal devices)."""

    d2d_sigma: float = param(0.0, "device-to-device variation: sigma of the lognormal read factor")
    c2c_sigma: float = param(0.0, "cycle-to-cycle write noise, as a fraction of the conductance range")
    levels: int = param(0, "number of programmable conductance levels (0: continuous)")
    stuck_on: float = param(0.0, "fraction of devices stuck ON (reading g_max)")
    stuck_off: float = param(0.0, "fraction of devices stuck OFF (reading g_min)")
    threshold_sigma: float = param(0.0, "device-to-device variation of the switching voltages: sigma of the "
                                        "lognormal factor on each device's thresholds (pulse updates only)")
    seed: int = param(0, "seed of the variation, the stuck devices and the write noise")

    def __post_init__(self) -> None:
        check_finite("d2d_sigma", self.d2d_sigma, nonnegative=True, high=3.0)
        check_finite("c2c_sigma", self.c2c_sigma, nonnegative=True, high=1.0)
        if self.levels != 0:
            check_int("levels", self.levels, low=2, high=1_000_000)
        else:
            check_int("levels", self.levels, low=0, high=0)
        check_finite("stuck_on", self.stuck_on, nonnegative=True, high=1.0)
        check_finite("stuck_off", self.stuck_off, nonnegative=True, high=1.0)
        if self.stuck_on + self.stuck_off > 1.0:
            raise ConfigError("stuck_off", "stuck_on + stuck_off cannot exceed 1")
        check_finite("threshold_sigma", self.threshold_sigma, nonnegative=True, high=1.0)
        check_int("seed", self.seed, low=0, high=2**32 - 1)

    @property
    def read_side(self) -> bool:
        return self.d2d_sigma > 0 or self.stuck_on > 0 or self.stuck_off > 0

    @property
    def write_side(self) -> bool:
        return self.c2c_sigma > 0 or self.levels > 0


@dataclass(frozen=True)
class DeviceVariation:
    """Per crossbar, (2, rows, cols): read factors and stuck flags (+1 ON, -1 OFF, 0 working)."""

    factors: dict[str, np.ndarray]
    stuck: dict[str, np.ndarray]

    def __hash__(self) -> int:  # frozen dataclass holding arrays: identity is enough
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


def make_variation(shapes: dict[str, tuple[int, int]], nonideal: NonIdeal) -> DeviceVariation | None:
    """The fixed per-device variation of a set of crossbars (None when there is none)."""
    if not nonideal.read_side:
        return None
    rng = np.random.default_rng([nonideal.seed, 1])
    factors, stuck = {}, {}
    for name in sorted(shapes):
        rows, cols = shapes[name]
        factors[name] = np.exp(nonideal.d2d_sigma * rng.standard_normal((2, rows, cols)))
        u = rng.random((2, rows, cols))
        stuck[name] = np.where(u < nonideal.stuck_on, 1, np.where(u < nonideal.stuck_on + nonideal.stuck_off, -1, 0))
    return DeviceVariation(factors, stuck)


def switching_scale(nonideal: NonIdeal | None, name: str, shape: tuple[int, ...]) -> np.ndarray | None:
    """The fixed switching-voltage factors of crossbar `name`'s devices (None without variation):
    seeded by the nonideal seed and the crossbar's name, so every write of a run sees the same."""
    if nonideal is None or nonideal.threshold_sigma == 0:
        return None
    key = [nonideal.seed, 2, *name.encode("utf8")]
    return np.exp(nonideal.threshold_sigma * np.random.default_rng(key).standard_normal(shape))


def write_noise(g_target: np.ndarray, g_min: float, g_max: float, nonideal: NonIdeal,
                rng: np.random.Generator) -> np.ndarray:
    """Where writes land: quantised to the levels, plus cycle-to-cycle noise, within the range."""
    g = np.asarray(g_target, dtype=float)
    if nonideal.levels:
        step = (g_max - g_min) / (nonideal.levels - 1)
        g = g_min + np.rint((g - g_min) / step) * step
    if nonideal.c2c_sigma:
        g = g + nonideal.c2c_sigma * (g_max - g_min) * rng.standard_normal(g.shape)
    return np.clip(g, g_min, g_max)
