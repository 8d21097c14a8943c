"""The dynamic form's faster equations: one gated state source per device, and a linear read's
current through XSPICE's compiled divider, each checked in ngspice against the plain form."""

from __future__ import annotations

import re

import numpy as np
import pytest

from memprop.circuits.devices import DEVICE_MODELS, VTEAM
from memprop.cosim.simulator.cells import run_device_testbench
from memprop.netgen.deck import device_text, environment, switching_gate

LINEAR = [k for k, d in DEVICE_MODELS.items() if d.linear_read]


def _dynamic_subckt(text: str) -> str:
    return text[text.index(".subckt memristor"):text.index(".ends memristor")]


@pytest.mark.parametrize("kind", sorted(DEVICE_MODELS))
def test_one_state_source_per_device(kind):
    """The state equation is one behavioural current into the state capacitor (no separate rate
    node): two elements fewer per device, and a banded model tests its band first."""
    device = DEVICE_MODELS[kind]
    body = _dynamic_subckt(device_text(environment(), device, xspice=False))
    sources = re.findall(r"^b\w+ ", body, flags=re.M)
    assert sources == ["bx ", "bi "]
    state = re.search(r"^bx 0 xs I = (.*)$", body, flags=re.M).group(1)
    gate = switching_gate(device)
    assert (gate != "") == (device.switching_band is not None)
    assert state.startswith(f"({gate})?") if gate else "?" in state


@pytest.mark.parametrize("v_on,v_off", [(1.5, -1.5), (1.0, -2.0), (2.5, -0.5)])
def test_switching_gate_holds_exactly_outside_the_band(v_on, v_off):
    gate = switching_gate(VTEAM(v_on=v_on, v_off=v_off))
    for v in map(float, np.linspace(-3.0, 3.0, 601)):
        value = eval(gate.replace("V(p,n)", f"({v!r})"), {"abs": abs})  # noqa: S307 (our own expression)
        assert value == (v > v_on or v < v_off), (v, gate)


@pytest.mark.parametrize("kind", LINEAR)
def test_xspice_divider_reads_like_the_behavioural_source(kind, ngspice, monkeypatch):
    """The same drive through the device with its current from XSPICE `divide` and from a B-source:
    the state and the current agree in ngspice (both switching, from the device's own drive)."""
    if not ngspice.xspice:
        pytest.skip("this ngspice has no XSPICE code models")
    device = DEVICE_MODELS[kind]
    amplitude, frequency = device.characteristic_drive
    runs = {}
    for flag in (True, False):
        monkeypatch.setattr(ngspice, "xspice", flag)
        runs[flag] = run_device_testbench(device, amplitude=amplitude, frequency=frequency, periods=1.0,
                                          session=ngspice)
    moved = np.ptp(runs[False]["x"])
    assert moved > 0.05  # the drive switches the device: the state equation is exercised
    t = runs[False]["t"]
    for key in ("x", "i"):
        a = np.interp(t, runs[True]["t"], runs[True][key])
        scale = np.max(np.abs(runs[False][key]))
        assert np.max(np.abs(a - runs[False][key])) <= 1e-9 * scale, key


def test_xspice_probe_tells_a_missing_code_model(ngspice):
    assert ngspice._probe_xspice("no_such_code_model") is False
    assert ngspice._probe_xspice() is ngspice.xspice
