"""Single-device testbenches: one memristor across a sine source, for holding the SPICE text of a
device model against its numpy twin (memprop/circuits/drive.py).

`device_testbench` renders a deck that runs as-is with `ngspice -b` (the `.tran` and `.print`
lines are in it); `tran_timing` gives the same transient settings for an in-process session
(which drops a deck's analysis lines and issues the analysis as a command;
memprop.cosim.simulator.cells.run_device_testbench does that load-run-read round trip). Vector names in a session's tran plot
are in VECTORS: ngspice names v(p) `p`, i(vdrive) `vdrive#branch` and the subckt's internal state
node v(xdut.xs) `xdut.xs`.
"""

from __future__ import annotations

from dataclasses import dataclass

from memprop import __version__
from memprop.circuits.devices import MemristorModel
from memprop.circuits.neuron import Neuron
from memprop.circuits.validation import ConfigError, check_finite, check_int
from memprop.netgen import names
from memprop.netgen.deck import device_text, environment, neuron_text, number, simulator_lines, supplies

#: Vector names of the testbench's tran plot in an ngspice session.
VECTORS = {"time": "time", "v": "p", "i_source": "vdrive#branch", "x": names.device_state("xdut")}
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
                     x0: float = 0.5, points_per_period: int = 400, xspice: bool = False) -> str:
    """An ngspice deck: `vdrive p 0` a sine of `amplitude` V at `frequency` Hz across one dynamic
    memristor `xdut p 0` starting from state x0, a `uic` transient of `periods` periods and a
    `.print` of the drive, the source current and the state. Runs as-is with `ngspice -b`.
    xspice: whether the device may use XSPICE code models (netgen.deck.device_text)."""
    if not isinstance(device, MemristorModel):
        raise ConfigError("device", f"must be a MemristorModel, got {type(device).__name__}")
    _check_drive(amplitude, frequency, periods, x0, points_per_period)
    if not device.x_lo <= x0 <= device.x_hi:
        raise ConfigError("x0", f"must lie within the device bounds [{device.x_lo:g}, {device.x_hi:g}], got {x0!r}")
    timing = tran_timing(frequency, periods, points_per_period)
    env = environment("ngspice")
    return env.get_template("device_tb.cir.j2").render(
        kind=device.kind, version=__version__, device_text=device_text(env, device, xspice=xspice).rstrip("\n"),
        amplitude=number(amplitude), frequency=number(frequency), x0=number(x0), reltol=number(RELTOL),
        step=number(timing.step), stop=number(timing.stop), max_step=number(timing.max_step))


#: How far past the activation rails the neuron testbench sweeps u = R_f I (as a fraction of the swing).
SWEEP_MARGIN = 1.0


def neuron_testbench(neuron: Neuron, *, points: int = 121, step: float | None = None,
                     stop: float | None = None) -> str:
    """A deck with one neuron cell driven by a current source `iin` into its summing node: a `.dc`
    sweep of u = R_f I over the swing and as far again on either side (`points` points), or with
    `step` a transient of a step of u = `step` volts (rising in 1 ns) until `stop` (default 20 tau).
    Runs as-is with `ngspice -b`; in a session the analysis is issued as a command (see
    neuron_sweep / neuron_step)."""
    check_int("points", points, low=8, high=100_000)
    swing = neuron.v_high - neuron.v_low
    low, high = neuron.v_low - SWEEP_MARGIN * swing, neuron.v_high + SWEEP_MARGIN * swing
    sweep = {"low": number(low / neuron.r_f), "step": number((high - low) / neuron.r_f / (points - 1)),
             "last": points - 1}
    timing = None
    if step is not None:
        check_finite("step", step, low=-10.0, high=10.0)
        stop = 20.0 * neuron.tau if stop is None else check_finite("stop", stop, positive=True, high=1.0)
        timing = {"current": number(step / neuron.r_f), "rise": number(1e-9), "stop": number(stop),
                  "print": number(stop / 400)}
    env = environment("ngspice")
    return env.get_template("neuron_tb.cir.j2").render(
        version=__version__, level=neuron.level, neuron_text=neuron_text(neuron).rstrip("\n"),
        supplies=[(name, number(volts)) for name, volts in supplies(neuron).items()],
        simulator_lines=simulator_lines(neuron), sweep=sweep, step=timing)
