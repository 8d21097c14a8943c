"""What is particular to the Stanford-PKU RRAM model (the parametrized device tests cover the rest):
its state-dependent field threshold, the gap map, the sinh clip shared by twin and SPICE, the
read factor of device variation, and the default programming pulses."""

from __future__ import annotations

import numpy as np
import pytest

from memprop.circuits.devices import DEVICE_MODELS, device_model
from memprop.circuits.network import conductances, glorot_states, layered_network
from memprop.circuits.neuron import Neuron
from memprop.circuits.nonideal import NonIdeal
from memprop.circuits.programming import PulseScheme, pulse
from memprop.circuits.validation import ConfigError
from memprop.cosim.simulator.cells import run_device_testbench

RRAM = DEVICE_MODELS["stanford-rram"]
STATES = np.linspace(RRAM.x_lo, RRAM.x_hi, 11)


def test_the_gap_runs_from_gap_max_off_to_gap_min_on():
    gaps = RRAM.gap(STATES)
    assert gaps[0] == pytest.approx(RRAM.gap_max) and gaps[-1] == pytest.approx(RRAM.gap_min)
    assert np.all(np.diff(gaps) < 0)


def test_the_state_moves_exactly_from_its_own_field_threshold():
    threshold = RRAM.threshold(STATES)
    assert np.all(np.diff(threshold) < 0)  # a shorter gap enhances the field: it switches earlier
    for sign in (1.0, -1.0):
        assert np.all(RRAM.gap_rate(sign * threshold * (1 - 1e-9), STATES) == 0.0)
        above = RRAM.gap_rate(sign * threshold * (1 + 1e-9), STATES)
        # at the threshold the sinh argument is f_min a0 / Vt in every state: one rate for all
        vt = RRAM.thermal_voltage
        jump = RRAM.vel0 * np.exp(-RRAM.ea / vt) * np.sinh(RRAM.f_min * RRAM.a0 / vt)
        np.testing.assert_allclose(-sign * above, jump, rtol=1e-6)


def test_read_limit_is_the_lowest_threshold_and_one_volt_reads_never_move_a_state():
    assert RRAM.read_limit == pytest.approx(RRAM.threshold(np.asarray(RRAM.x_hi)))
    assert RRAM.read_limit == pytest.approx(float(np.min(RRAM.threshold(STATES))))
    for v in (1.0, -1.0, 0.999 * RRAM.read_limit, -0.999 * RRAM.read_limit):
        assert np.all(RRAM.dxdt(v, STATES) == 0.0)
    assert RRAM.dxdt(1.001 * RRAM.read_limit, np.asarray(0.999 * RRAM.x_hi)) > 0


def test_default_read_conductances_lie_in_the_synapse_range_with_the_card_i_v():
    # G = i0/v0 exp(-g/g0) at the raised gap window [1.0, 1.7] nm
    assert RRAM.g_min == pytest.approx(1e-3 / 0.25 * np.exp(-1.7 / 0.25), rel=1e-12)
    assert RRAM.g_max == pytest.approx(1e-3 / 0.25 * np.exp(-1.0 / 0.25), rel=1e-12)
    # the read is strongly nonlinear, as the card's: at 1 V sinh(4)/4 ~ 6.8x the small-signal current
    x = np.asarray(0.5)
    assert RRAM.current(1.0, x) / RRAM.conductance(x) == pytest.approx(np.sinh(4.0) / 4.0 * 4.0 * 0.25, rel=1e-12)


def test_both_sinh_arguments_are_clipped_so_nothing_overflows():
    big = 1e3
    assert np.isfinite(RRAM.current(big, STATES)).all() and np.isfinite(RRAM.dxdt(big, STATES)).all()
    assert RRAM.current(big, STATES)[0] == RRAM.current(RRAM.EXP_LIMIT * RRAM.v0, STATES)[0]


def test_spice_clips_the_sinh_like_the_twin():
    """A 12 V drive goes past the I-V clip (10 V): ngspice's current is still the twin's I-V."""
    sp = run_device_testbench(RRAM, amplitude=12.0, frequency=1e7, periods=1.0, x0=0.5, points_per_period=200)
    assert np.max(np.abs(sp["v"])) > RRAM.EXP_LIMIT * RRAM.v0
    i_model = RRAM.current(sp["v"], sp["x"])
    assert np.max(np.abs(sp["i"] - i_model)) < 1e-4 * np.max(np.abs(i_model))


@pytest.mark.parametrize("factor", [0.5, 0.9, 1.3])
def test_a_read_factor_scales_the_current_at_every_voltage(factor):
    x = np.linspace(0.2, 0.8, 7)
    scaled = RRAM.scaled_read_state(x, np.full_like(x, factor))
    for v in (-1.0, 0.3, 1.0):
        np.testing.assert_allclose(RRAM.current(v, scaled), factor * RRAM.current(v, x), rtol=1e-12)


def test_device_variation_multiplies_the_read_conductance():
    net = layered_network(Neuron(), RRAM, (6, 4, 2))
    varied = net.with_nonideal(NonIdeal(d2d_sigma=0.2, seed=3))
    states = glorot_states(net, 1, gain=0.5)
    g, g_varied = conductances(net, states), conductances(varied, states)
    for bar in net.crossbars:
        factors = varied.variation.factors[bar.name] * bar.mask()
        np.testing.assert_allclose(g_varied[bar.name], factors * g[bar.name], rtol=1e-12, atol=0)
        assert np.any(np.abs(varied.variation.factors[bar.name][:, bar.mask() > 0] - 1) > 0.05)


def test_default_pulses_switch_every_state_both_ways():
    scheme = PulseScheme().resolved(RRAM)
    assert scheme.v_set == pytest.approx(1.1 * RRAM.threshold(np.asarray(RRAM.x_lo)))
    assert scheme.v_reset == pytest.approx(-1.1 * RRAM.RESET_OVERDRIVE * RRAM.threshold(np.asarray(RRAM.x_lo)))
    inner = STATES[1:-1]
    assert np.all(pulse(RRAM, inner, scheme.v_set, scheme.width) > inner)
    assert np.all(pulse(RRAM, inner, scheme.v_reset, scheme.width_reset) < inner)


@pytest.mark.parametrize("overrides", [{"gap_max": 0.9e-9}, {"gap_max": 20e-9}, {"beta": 4.0},
                                       {"beta": -0.1}, {"temperature": 0.0}, {"f_min": 0.0}])
def test_physically_impossible_cards_are_refused(overrides):
    with pytest.raises(ConfigError):
        device_model("stanford-rram", **overrides)
