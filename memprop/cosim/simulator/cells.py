"""Single cells on their own in ngspice: a neuron's DC transfer, static power and step response,
and one memristor under a sine drive (run_device_testbench, held against its numpy twin in the tests).

What a designer checks first, and what the twin of a transistor-level network is built from
(circuits.neuron.Transfer): the cell's summing node n, output V and inverted output V- for each
input current, measured on the testbench of netgen/testbench.py.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from memprop.circuits.devices import MemristorModel
from memprop.circuits.neuron import Neuron, Transfer
from memprop.cosim.simulator.session import NgSpiceSession
from memprop.netgen.deck import supplies
from memprop.netgen.testbench import CURRENT_SIGN, VECTORS, device_testbench, neuron_testbench, tran_timing

NODES = ("n", "s", "v", "vm")


def transfer(neuron: Neuron, points: int = 121) -> Transfer:
    """The cell's DC transfer over u = R_f I from one swing below to one above its rails."""
    session = NgSpiceSession.instance()
    session.load(neuron_testbench(neuron, points=points))
    plot = session.sweep("vidx", points - 1, None)
    vec = session.vectors(plot, ["idx", *NODES])
    swing = neuron.v_high - neuron.v_low
    u = neuron.v_low - swing + vec["idx"] * (3.0 * swing / (points - 1))
    session.clear()
    return Transfer(u=u, n=vec["n"], v=vec["v"], vm=vec["vm"])


def static_power(neuron: Neuron) -> dict[str, Any]:
    """Power each supply delivers with no input current (W), and their sum."""
    session = NgSpiceSession.instance()
    session.load(neuron_testbench(neuron, step=0.0))  # the step testbench's current is 0 at its operating point
    plot = session.op()
    names = list(supplies(neuron))
    each = {name: float(-volts * session.vector(plot, f"{name}#branch")[0])
            for name, volts in supplies(neuron).items()}
    session.clear()
    return {"supplies_w": each, "total_w": float(sum(each.values())), "sources": names}


def step_response(neuron: Neuron, step: float, stop: float | None = None) -> dict[str, np.ndarray]:
    """The outputs after a step of u = `step` V at t = 0 (from the cell's operating point at rest)."""
    session = NgSpiceSession.instance()
    text = neuron_testbench(neuron, step=step, stop=stop)
    session.load(text)
    stop = 20.0 * neuron.tau if stop is None else stop
    plot = session.tran(stop / 400, stop, uic=False, max_step=stop / 400)
    out = session.vectors(plot, ["time", *NODES])
    session.clear()
    return out


def run_device_testbench(device: MemristorModel, *, amplitude: float, frequency: float, periods: float = 2.0,
                         x0: float = 0.5, points_per_period: int = 400, session=None) -> dict[str, np.ndarray]:
    """Run the testbench in the process's ngspice session; arrays t, v, i (device current), x."""
    session = NgSpiceSession.instance() if session is None else session
    text = device_testbench(device, amplitude=amplitude, frequency=frequency, periods=periods, x0=x0,
                            points_per_period=points_per_period, xspice=session.xspice)
    timing = tran_timing(frequency, periods, points_per_period)
    session.load(text)
    plot = session.tran(timing.step, timing.stop, uic=True, max_step=timing.max_step)
    vec = session.vectors(plot, list(VECTORS.values()))
    out = {"t": vec[VECTORS["time"]], "v": vec[VECTORS["v"]], "i": CURRENT_SIGN * vec[VECTORS["i_source"]],
           "x": vec[VECTORS["x"]]}
    if not all(np.all(np.isfinite(a)) for a in out.values()) or math.isclose(out["t"][-1], 0.0):
        raise RuntimeError("device testbench produced no usable transient")
    return out
