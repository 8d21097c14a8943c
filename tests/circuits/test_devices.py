"""Every registered device model: its SPICE text against its numpy twin, the memristor fingerprints
(pinched hysteresis, loop shrinking with frequency, threshold reads leave the state alone), and the
numpy model's own invariants. Parametrized over DEVICE_MODELS, so a new model is covered as soon
as it is registered.
"""

from __future__ import annotations

import functools
import math
import shutil
import subprocess

import numpy as np
import pytest

from memprop.circuits.devices import DEVICE_MODELS, device_model
from memprop.circuits.drive import loop_area, simulate_drive
from memprop.circuits.validation import ConfigError
from memprop.cosim.simulator.cells import run_device_testbench
from memprop.netgen.testbench import VECTORS, device_testbench, tran_timing

NAMES = list(DEVICE_MODELS)
THRESHOLD_NAMES = [n for n, d in DEVICE_MODELS.items() if d.read_limit > 0]
PERIODS = 2.0
POINTS = 400
X0_FRACTION = 0.5


def _x0(name: str) -> float:
    d = DEVICE_MODELS[name]
    return d.x_lo + X0_FRACTION * (d.x_hi - d.x_lo)


def _span(name: str) -> float:
    d = DEVICE_MODELS[name]
    return d.x_hi - d.x_lo


@functools.lru_cache(maxsize=None)
def _spice(name: str, freq_mult: float = 1.0, amplitude: float | None = None) -> dict[str, np.ndarray]:
    d = DEVICE_MODELS[name]
    a, f = d.characteristic_drive
    return run_device_testbench(d, amplitude=a if amplitude is None else amplitude, frequency=f * freq_mult,
                                periods=PERIODS, x0=_x0(name), points_per_period=POINTS)


@functools.lru_cache(maxsize=None)
def _twin(name: str, freq_mult: float = 1.0):
    d = DEVICE_MODELS[name]
    a, f = d.characteristic_drive
    t = np.linspace(0.0, PERIODS / (f * freq_mult), int(PERIODS * POINTS) + 1)
    return simulate_drive(d, a, f * freq_mult, t, _x0(name))


def _last_period(t: np.ndarray, *arrays: np.ndarray, period: float) -> list[np.ndarray]:
    keep = t >= t[-1] - period * (1 + 1e-9)
    return [a[keep] for a in arrays]


# --- (a) SPICE transient vs numpy twin --------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_spice_state_trajectory_matches_twin(name):
    sp, tw = _spice(name), _twin(name)
    span = _span(name)
    # (ngspice stores no t = 0 point under uic; the session passes tran times with 6 digits)
    assert sp["t"][0] < 1e-3 * tw.t[-1] and sp["t"][-1] == pytest.approx(tw.t[-1], rel=1e-5)
    x_spice = np.interp(tw.t, sp["t"], sp["x"])
    err = np.max(np.abs(x_spice - tw.x)) / span
    assert err < 0.01, f"{name}: SPICE and numpy states differ by {err:.2%} of the state range"
    # not hollow: the characteristic drive really switches the device part-way, in both
    for x in (tw.x, sp["x"]):
        moved = (x.max() - x.min()) / span
        assert 0.05 < moved, f"{name}: the characteristic drive moved the state only {moved:.2%} of its range"
        assert x.max() < DEVICE_MODELS[name].x_hi and x.min() > DEVICE_MODELS[name].x_lo, \
            f"{name}: the characteristic drive should switch part-way, not pin the state at a bound"
    # the SPICE current is the model's I-V at the SPICE state (sign and scale of the read-back;
    # the residue is ngspice's Newton tolerance on the branch current)
    i_model = DEVICE_MODELS[name].current(sp["v"], sp["x"])
    assert np.max(np.abs(sp["i"] - i_model)) < 1e-4 * np.max(np.abs(i_model))


# --- (b) pinched hysteresis ----------------------------------------------------------------------------

def _zero_crossing_currents(v: np.ndarray, i: np.ndarray) -> np.ndarray:
    k = np.nonzero((v[:-1] * v[1:] < 0) | ((v[:-1] == 0) & (np.arange(v.size - 1) > 0)))[0]
    frac = np.where(v[k] == v[k + 1], 0.0, v[k] / (v[k] - v[k + 1]))
    return i[k] + frac * (i[k + 1] - i[k])


@pytest.mark.parametrize("name", NAMES)
def test_hysteresis_is_pinched(name):
    sp = _spice(name)
    i_cross = _zero_crossing_currents(sp["v"], sp["i"])
    assert i_cross.size >= 2 * PERIODS - 1, "the drive should cross zero every half period"
    assert np.max(np.abs(i_cross)) < 1e-3 * np.max(np.abs(sp["i"]))


@pytest.mark.parametrize("name", NAMES)
def test_loop_area_shrinks_with_frequency(name):
    d = DEVICE_MODELS[name]
    a, f = d.characteristic_drive
    areas = {}
    for mult in (1.0, 10.0):
        period = 1.0 / (f * mult)
        sp, tw = _spice(name, mult), _twin(name, mult)
        areas["spice", mult] = loop_area(*_last_period(sp["t"], sp["v"], sp["i"], period=period))
        areas["twin", mult] = loop_area(*_last_period(tw.t, tw.v, tw.i, period=period))
        assert areas["spice", mult] == pytest.approx(areas["twin", mult], rel=0.02)
    for side in ("spice", "twin"):
        assert areas[side, 10.0] < 0.5 * areas[side, 1.0], f"{name} ({side}): loop did not shrink: {areas}"
    # a real loop at the characteristic drive: a sizable fraction of the I-V bounding box
    i_max = np.max(np.abs(_spice(name)["i"]))
    assert areas["spice", 1.0] > 0.01 * a * i_max


# --- (c) reads below threshold ---------------------------------------------------------------------------

def test_vteam_has_a_read_threshold():
    assert "vteam" in THRESHOLD_NAMES


@pytest.mark.parametrize("name", THRESHOLD_NAMES)
def test_read_below_threshold_leaves_state(name):
    d = DEVICE_MODELS[name]
    amplitude = 0.9 * d.read_limit
    sp = _spice(name, 1.0, amplitude)
    assert np.max(np.abs(sp["v"])) == pytest.approx(amplitude, rel=1e-3)
    assert np.max(np.abs(sp["x"] - _x0(name))) < 1e-9
    f = d.characteristic_drive[1]
    tw = simulate_drive(d, amplitude, f, np.linspace(0.0, PERIODS / f, 201), _x0(name))
    assert np.max(np.abs(tw.x - _x0(name))) == 0.0


@pytest.mark.parametrize("name", THRESHOLD_NAMES)
def test_read_limit_is_a_usable_read_voltage(name):
    # synapse defaults: reads up to 1 V stay below the switching thresholds
    assert DEVICE_MODELS[name].read_limit > 1.0


# --- (d) numpy model invariants --------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_state_for_inverts_conductance(name):
    d = DEVICE_MODELS[name]
    x = np.linspace(d.x_lo, d.x_hi, 101)
    np.testing.assert_allclose(d.state_for(d.conductance(x)), x, rtol=0, atol=1e-12)
    # conductances outside the range clip to the bounds
    assert d.state_for(np.asarray(0.5 * d.g_min)) == pytest.approx(d.x_lo)
    assert d.state_for(np.asarray(2.0 * d.g_max)) == pytest.approx(d.x_hi)


@pytest.mark.parametrize("name", NAMES)
def test_conductance_monotonic_and_in_synapse_range(name):
    d = DEVICE_MODELS[name]
    g = d.conductance(np.linspace(d.x_lo, d.x_hi, 201))
    assert np.all(np.diff(g) > 0)
    assert 0 < d.g_min < d.g_max
    assert d.g_min == pytest.approx(g[0]) and d.g_max == pytest.approx(g[-1])
    assert 1e-6 * (1 - 1e-9) <= d.g_min and d.g_max <= 1e-4 * (1 + 1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_small_signal_current_matches_conductance(name):
    d = DEVICE_MODELS[name]
    x = np.linspace(d.x_lo, d.x_hi, 11)
    np.testing.assert_allclose(d.current(1e-3, x) / 1e-3, d.conductance(x), rtol=1e-4)
    np.testing.assert_array_equal(d.current(0.0, x), 0.0)


@pytest.mark.parametrize("name", NAMES)
def test_state_moves_on_with_positive_voltage(name):
    d = DEVICE_MODELS[name]
    a, _ = d.characteristic_drive
    x = d.x_lo + 0.5 * (d.x_hi - d.x_lo)
    assert d.dxdt(a, x) > 0 > d.dxdt(-a, x)
    # the guard: no motion past the bounds
    assert d.dxdt(a, d.x_hi) == 0 and d.dxdt(-a, d.x_lo) == 0


def _first_numeric_field(name: str) -> str:
    d = DEVICE_MODELS[name]
    return next(k for k, v in d.spice_params().items() if k not in ("x_lo", "x_hi"))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", ["nan", "inf", "bounds", "unknown", "string"])
def test_bad_parameters_raise(name, bad):
    field = _first_numeric_field(name)
    overrides = {"nan": {field: math.nan}, "inf": {field: math.inf}, "bounds": {"x_lo": 0.9, "x_hi": 0.5},
                 "unknown": {"no_such_param": 1.0}, "string": {field: "1e3"}}[bad]
    with pytest.raises(ConfigError):
        device_model(name, **overrides)


@pytest.mark.parametrize("name", [n for n, d in DEVICE_MODELS.items() if hasattr(d, "r_on")])
@pytest.mark.parametrize("overrides", [{"r_on": -1e3}, {"r_on": 0.0}, {"r_off": 5e3, "r_on": 5e3},
                                       {"r_off": 1e3, "r_on": 1e4}])
def test_bad_resistance_range_raises(name, overrides):
    with pytest.raises(ConfigError):
        device_model(name, **overrides)


def test_unknown_model_raises():
    with pytest.raises(ConfigError):
        device_model("no-such-model")


@pytest.mark.parametrize("name", NAMES)
def test_valid_override_applies(name):
    field = _first_numeric_field(name)
    base = DEVICE_MODELS[name]
    value = getattr(base, field) * (1.5 if getattr(base, field) > 0 else 0.5)
    assert getattr(device_model(name, **{field: value}), field) == value


def test_loop_area_of_known_loop():
    # v = A sin(th), i = v (g0 + g1 cos th): each lobe has area (2/3) A^2 g1
    th = np.linspace(0, 2 * np.pi, 20001)[:-1]
    a, g0, g1 = 2.0, 1e-4, 3e-5
    v = a * np.sin(th)
    assert loop_area(v, v * (g0 + g1 * np.cos(th))) == pytest.approx(4.0 / 3.0 * a * a * g1, rel=1e-6)
    assert loop_area(v, v * g0) == pytest.approx(0.0, abs=1e-18)
    # any starting phase: the loop is closed, the lobe cut by the start counted once
    for shift in (1, 777, 5000, 12345):
        vs, i_s = np.roll(v, shift), np.roll(v * (g0 + g1 * np.cos(th)), shift)
        assert loop_area(vs, i_s) == pytest.approx(4.0 / 3.0 * a * a * g1, rel=1e-6)


# --- (e) the testbench deck ------------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("ngspice") is None, reason="ngspice executable not installed")
@pytest.mark.parametrize("name", NAMES)
def test_testbench_deck_runs_in_batch_ngspice(name, tmp_path):
    d = DEVICE_MODELS[name]
    a, f = d.characteristic_drive
    deck = tmp_path / f"{name}.cir"
    deck.write_text(device_testbench(d, amplitude=a, frequency=f, periods=1.0, points_per_period=50))
    run = subprocess.run(["ngspice", "-b", str(deck)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "error" not in out.lower(), out
    header = next(ln for ln in out.splitlines() if ln.startswith("Index"))
    assert header.split()[1:] == ["time", "v(p)", "vdrive#branch", "v(xdut.xs)"]


def test_testbench_deck_shape():
    d = DEVICE_MODELS["vteam"]
    text = device_testbench(d, amplitude=1.0, frequency=1e3, periods=3.0, x0=0.25, points_per_period=100)
    lines = text.splitlines()
    timing = tran_timing(1e3, 3.0, 100)
    assert "vdrive p 0 dc 0 sin(0 1 1000 0 0 0)" in lines
    assert "xdut p 0 memristor x0=0.25" in lines
    assert any(ln.startswith(".tran ") and ln.endswith(" uic") for ln in lines)
    assert timing.stop == pytest.approx(3e-3) and timing.max_step <= timing.stop / 300
    assert ".print tran v(p) i(vdrive) v(xdut.xs)" in lines
    assert lines[-1] == ".end"
    assert set(VECTORS) == {"time", "v", "i_source", "x"}


@pytest.mark.parametrize("kwargs", [
    {"amplitude": math.nan}, {"amplitude": 0.0}, {"amplitude": -1.0}, {"amplitude": math.inf},
    {"frequency": math.nan}, {"frequency": 0.0}, {"frequency": -5.0}, {"frequency": math.inf},
    {"periods": 0.0}, {"x0": 1.5}, {"x0": math.nan}, {"points_per_period": 2}, {"amplitude": "1"},
])
def test_testbench_rejects_bad_drive(kwargs):
    args = {"amplitude": 1.0, "frequency": 1e3} | kwargs
    with pytest.raises(ConfigError):
        device_testbench(DEVICE_MODELS["vteam"], **args)
