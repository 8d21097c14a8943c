"""The dynamic form's faster equations: one gated state source per device, and a linear read's
current through XSPICE's compiled divider, each checked in ngspice against the plain form."""

from __future__ import annotations

import re

import numpy as np
import pytest

from memprop.circuits.devices import DEVICE_MODELS, VTEAM, Yakopcic
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
    if device.switching_band is not None:
        assert gate and state.startswith(f"({gate})?")


@pytest.mark.parametrize("v_on,v_off", [(1.5, -1.5), (1.0, -2.0), (2.5, -0.5), (0.75, -0.6)])
def test_switching_gate_passes_every_voltage_outside_the_band(v_on, v_off):
    """The gate is a filter: true wherever the state can move (outside the band, its edges and a
    hair inside included: the equation behind it tests the thresholds exactly), false on reads."""
    gate = switching_gate(VTEAM(v_on=v_on, v_off=v_off))
    for v in map(float, np.linspace(-3.0, 3.0, 601)):
        value = eval(gate.replace("V(p,n)", f"({v!r})"), {"abs": abs})  # noqa: S307 (our own expression)
        if v >= v_on or v <= v_off:
            assert value, (v, gate)
        elif v_off + 1e-6 < v < v_on - 1e-6:
            assert not value, (v, gate)


#: Every registered model, and threshold pairs whose band centre is not a round number (there
#: |v - mid| > half and v > v_on disagree in floating point at v = v_on).
EQUATION_MODELS = {**DEVICE_MODELS, "vteam-asymmetric": VTEAM(v_on=0.75, v_off=-0.6),
                   "yakopcic-asymmetric": Yakopcic(v_p=0.75, v_n=0.6)}


def _probe_voltages(device) -> list[float]:
    """The band's edges exactly and one ulp either side, 10 mV and 0.3 V beyond, reads, and the
    device's characteristic drive either way (which switches models without a band too)."""
    band = device.switching_band or (-0.4, 0.4)
    edges = [float(np.nextafter(e, d)) for e in band for d in (-np.inf, np.inf)] + list(band)
    drive = device.characteristic_drive[0]
    return sorted(edges + [band[0] - 0.01, band[1] + 0.01, band[0] - 0.3, band[1] + 0.3, 0.0, 0.1, -0.1,
                           drive, -drive])


def _equation_deck(expression: str, points: list[tuple[float, float]]) -> str:
    """One copy of the state source per (v, x): V(p,n) and V(xs) held by sources, so the `.op`
    current of vxs_k is the state equation's value at that point."""
    lines = ["* state equation check", "vn n 0 dc 0"]
    for k, (v, x) in enumerate(points):
        body = expression.replace("V(p,n)", f"V(p{k},n)").replace("V(xs)", f"V(xs{k})")
        lines += [f"vp{k} p{k} 0 dc {v!r}", f"vxs{k} xs{k} 0 dc {x!r}", f"bx{k} 0 xs{k} I = {body}"]
    return "\n".join(lines + [".end"])


@pytest.mark.parametrize("name", sorted(EQUATION_MODELS))
def test_state_equation_in_ngspice_equals_the_twins_dxdt(name, ngspice):
    """The dynamic subckt's state source, evaluated by ngspice at the thresholds (exactly, and an
    ulp either side), beyond them and at reads, at the bounds and inside: the twin's dx/dt."""
    device = EQUATION_MODELS[name]
    body = _dynamic_subckt(device_text(environment(), device))
    expression = re.search(r"^bx 0 xs I = (.*)$", body, flags=re.M).group(1)
    span = device.x_hi - device.x_lo
    states = [device.x_lo, device.x_lo + 0.3 * span, device.x_lo + 0.7 * span, device.x_hi]
    points = [(v, x) for v in _probe_voltages(device) for x in states]
    ngspice.load(_equation_deck(expression, points))
    plot = ngspice.op()
    got = np.array([ngspice.vector(plot, f"i(vxs{k})")[0] for k in range(len(points))])
    want = np.array([float(device.dxdt(np.asarray(v), np.asarray(x))) for v, x in points])
    ngspice.clear()
    assert np.any(want != 0) and np.any(want == 0)  # the probes reach both sides of the thresholds
    # the source pushes dx/dt into xs; the holding source takes it back (SPICE's branch sign)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * np.max(np.abs(want)))


@pytest.mark.parametrize("kind", LINEAR)
def test_xspice_divider_reads_like_the_behavioural_source(kind, ngspice, monkeypatch):
    """The same drive through the device with its current from XSPICE `divide` and from a B-source:
    the state and the current agree in ngspice (both switching, from the device's own drive)."""
    if not ngspice.xspice:
        pytest.skip("this ngspice has no XSPICE code models")
    device = DEVICE_MODELS[kind]
    assert "adiv " in device_text(environment(), device, xspice=True)
    assert "adiv " not in device_text(environment(), device) and "bi p n I" in device_text(environment(), device)
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
