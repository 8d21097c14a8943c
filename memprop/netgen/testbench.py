"""Single-device testbenches: one memristor across a sine source, for holding the SPICE text of a
device model against its numpy twin (memprop/circuits/drive.py).

`device_testbench` renders a deck that runs as-is with `ngspice -b` (the `.tran` and `.print`
lines are in it); `tran_timing` gives the same transient settings for an in-process session
(which drops a deck's analysis lines and issues the analysis as a command), and
`run_device_testbench` does that load-run-read round trip. Vector names in a session's tran plot
are in VECTORS: ngspice names v(p) `p`, i(vdrive) `vdrive#branch` and the subckt's internal state
node v(xdut.xs) `xdut.xs`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from memprop import __version__
from memprop.circuits.devices import MemristorModel
from memprop.circuits.validation import ConfigError, check_finite, check_int
from memprop.netgen.deck import device_text, environment, number

#: Vector names of the testbench's tran plot in an ngspice session.
VECTORS = {"time": "time", "v": "p", "i_source": "vdrive#branch", "x": "xdut.xs"}
#: The device current (p -> n through the device) is minus the drive source's branch current.
CURRENT_SIGN = -1.0
#: Relative tolerance of the testbench transient (ngspice's default 1e-3 is loose for a state
#: held on a 1 F capacitor that is compared against a tightly integrated twin).
RELTOL = 1e-5


@dataclass(frozen=True)
class TranTiming:
    """Print step, stop time and maximum internal step of a testbench transient (seconds)."""

    step: float
    stop: float
    max_step: float


def _check_drive(amplitude: float, frequency: float, periods: float, x0: float,
                 points_per_period: int) -> None:
    check_finite("amplitude", amplitude, positive=True)
    check_finite("frequency", frequency, positive=True)
    check_finite("periods", periods, positive=True, high=1e4)
    check_finite("x0", x0)
    check_int("points_per_period", points_per_period, low=8, high=100_000)


def tran_timing(frequency: float, periods: float = 2.0, points_per_period: int = 400) -> TranTiming:
    """Transient settings for `periods` periods of a `frequency` sine, `points_per_period` points each."""
    check_finite("frequency", frequency, positive=True)
    check_finite("periods", periods, positive=True, high=1e4)
    check_int("points_per_period", points_per_period, low=8, high=100_000)
    period = 1.0 / float(frequency)
    step = period / points_per_period
    return TranTiming(step=step, stop=periods * period, max_step=step)


def device_testbench(device: MemristorModel, *, amplitude: float, frequency: float, periods: float = 2.0,
                     x0: float = 0.5, points_per_period: int = 400) -> str:
    """An ngspice deck: `vdrive p 0` a sine of `amplitude` V at `frequency` Hz across one dynamic
    memristor `xdut p 0` starting from state x0, a `uic` transient of `periods` periods and a
    `.print` of the drive, the source current and the state. Runs as-is with `ngspice -b`."""
    if not isinstance(device, MemristorModel):
        raise ConfigError("device", f"must be a MemristorModel, got {type(device).__name__}")
    _check_drive(amplitude, frequency, periods, x0, points_per_period)
    if not device.x_lo <= x0 <= device.x_hi:
        raise ConfigError("x0", f"must lie within the device bounds [{device.x_lo:g}, {device.x_hi:g}], got {x0!r}")
    timing = tran_timing(frequency, periods, points_per_period)
    env = environment("ngspice")
    return env.get_template("device_tb.cir.j2").render(
        kind=device.kind, version=__version__, device_text=device_text(env, device).rstrip("\n"),
        amplitude=number(amplitude), frequency=number(frequency), x0=number(x0), reltol=number(RELTOL),
        step=number(timing.step), stop=number(timing.stop), max_step=number(timing.max_step))


def run_device_testbench(device: MemristorModel, *, amplitude: float, frequency: float, periods: float = 2.0,
                         x0: float = 0.5, points_per_period: int = 400, session=None) -> dict[str, np.ndarray]:
    """Run the testbench in the process's ngspice session; arrays t, v, i (device current), x."""
    text = device_testbench(device, amplitude=amplitude, frequency=frequency, periods=periods, x0=x0,
                            points_per_period=points_per_period)
    if session is None:
        from memprop.cosim.session import NgSpiceSession

        session = NgSpiceSession.instance()
    timing = tran_timing(frequency, periods, points_per_period)
    session.load(text)
    plot = session.tran(timing.step, timing.stop, uic=True, max_step=timing.max_step)
    vec = session.vectors(plot, list(VECTORS.values()))
    out = {"t": vec[VECTORS["time"]], "v": vec[VECTORS["v"]], "i": CURRENT_SIGN * vec[VECTORS["i_source"]],
           "x": vec[VECTORS["x"]]}
    if not all(np.all(np.isfinite(a)) for a in out.values()) or math.isclose(out["t"][-1], 0.0):
        raise RuntimeError("device testbench produced no usable transient")
    return out
