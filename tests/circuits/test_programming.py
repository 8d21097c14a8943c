"""Programming schemes on single devices: each scheme's promise, checked on the device's own pulse
response. Parametrized over every registered device model (all of them take pulses), at states
across the conductance range, so a new model or a change to a scheme is covered at once.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.programming import (SCHEMES, PulseScheme, predicted_steps, program, program_by_pulses,
                                          pulse)
from memprop.circuits.validation import ConfigError

NAMES = sorted(DEVICE_MODELS)
#: States away from the bounds, as fractions of the conductance range.
FRACTIONS = np.array([0.1, 0.3, 0.5, 0.7, 0.9])


def _resolved(name: str, scheme: str, **kw):
    return PulseScheme(scheme=scheme, **kw).resolved(DEVICE_MODELS[name])


def _span(name: str) -> float:
    dev = DEVICE_MODELS[name]
    return dev.g_max - dev.g_min


def _states(name: str, repeat: int = 1) -> np.ndarray:
    dev = DEVICE_MODELS[name]
    return np.repeat(dev.state_for(dev.g_min + FRACTIONS * _span(name)), repeat)


def _one_pulse_dg(name: str, x: np.ndarray, up: bool, scheme) -> np.ndarray:
    dev = DEVICE_MODELS[name]
    v, w = (scheme.v_set, scheme.width) if up else (scheme.v_reset, scheme.width_reset)
    return dev.conductance(pulse(dev, x, v, w)) - dev.conductance(x)


# ---------------------------------------------------------------- per-polarity calibration

@pytest.mark.parametrize("name", NAMES)
def test_per_polarity_set_and_reset_pulses_each_move_mid_range_g_by_the_step(name):
    scheme = _resolved(name, "per-polarity")
    x_mid = np.array([scheme.x_mid])
    step = 0.002 * _span(name)
    assert _one_pulse_dg(name, x_mid, True, scheme)[0] == pytest.approx(step, rel=0.01)
    assert _one_pulse_dg(name, x_mid, False, scheme)[0] == pytest.approx(-step, rel=0.01)


def test_set_calibration_alone_makes_a_vteam_reset_pulse_five_times_a_set_pulse():
    """The diagnosis the per-polarity scheme answers (legacy widths: one for both polarities)."""
    legacy = _resolved("vteam", "set-calibrated")
    x_mid = np.array([legacy.x_mid])
    reset = dataclasses.replace(legacy, width_reset=legacy.width)
    ratio = -_one_pulse_dg("vteam", x_mid, False, reset)[0] / _one_pulse_dg("vteam", x_mid, True, legacy)[0]
    assert 4.5 < ratio < 6.5
    assert legacy.widths(np.array([True, False])) == legacy.width


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("up", [True, False], ids=["set", "reset"])
def test_per_polarity_counts_come_from_the_step_at_each_state(name, up):
    """A wanted change of 1, 0.45 and 0.55 local steps gets 1, 0 and 1 pulses at every state; the
    one pulse moves G by exactly the step predicted there (the device's own response)."""
    scheme = _resolved(name, "per-polarity")
    x = _states(name)
    sign = 1.0 if up else -1.0
    step = predicted_steps(DEVICE_MODELS[name], x, np.full(x.shape, up), scheme)
    assert np.all(step > 0)
    for fraction, pulses in ((1.0, 1), (0.45, 0), (0.55, 1)):
        done = program(DEVICE_MODELS[name], x, sign * fraction * step, scheme)
        assert np.array_equal(done.counts, np.full(x.shape, pulses)), fraction
        achieved = DEVICE_MODELS[name].conductance(done.x) - DEVICE_MODELS[name].conductance(x)
        np.testing.assert_allclose(achieved, sign * pulses * step, rtol=1e-9, atol=1e-18)


@pytest.mark.parametrize("name", NAMES)
def test_per_polarity_lands_within_half_a_step_of_several_step_changes(name):
    dev = DEVICE_MODELS[name]
    scheme = _resolved(name, "per-polarity")
    x = np.concatenate([_states(name), _states(name)])
    wanted = np.concatenate([np.ones(5), -np.ones(5)]) * 3 * 0.002 * _span(name)
    done = program(dev, x, wanted, scheme)
    step = predicted_steps(dev, x, wanted > 0, scheme)
    near = done.counts < scheme.max_pulses
    error = np.abs(dev.conductance(done.x) - dev.conductance(x) - wanted)
    # half a step from the rounding, plus how much the step changes along a short train
    assert np.all(error[near] <= 0.5 * step[near] + 0.5 * np.abs(wanted[near])), (error, step)
    assert np.all(np.sign(dev.conductance(done.x) - dev.conductance(x)) == np.sign(wanted))


# ---------------------------------------------------------------- stochastic rounding

@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("steps", [0.3, 1.7])
def test_stochastic_rounding_is_unbiased_in_expectation(name, steps):
    dev = DEVICE_MODELS[name]
    scheme = _resolved(name, "stochastic")
    n = 2000
    x = _states(name, n)
    for sign in (1.0, -1.0):
        step = predicted_steps(dev, x, np.full(x.shape, sign > 0), scheme)
        done = program(dev, x, sign * steps * step, scheme, np.random.default_rng(3))
        assert set(np.unique(done.counts)) <= {int(np.floor(steps)), int(np.ceil(steps))}
        mean = done.counts.reshape(len(FRACTIONS), n).mean(axis=1)
        sigma = np.sqrt((steps % 1) * (1 - steps % 1) / n)
        np.testing.assert_allclose(mean, steps, atol=5 * sigma)


@pytest.mark.parametrize("name", NAMES)
def test_stochastic_rounding_is_deterministic_for_a_seed_and_differs_between_seeds(name):
    dev = DEVICE_MODELS[name]
    scheme = _resolved(name, "stochastic")
    x = _states(name, 200)
    wanted = 0.5 * predicted_steps(dev, x, np.ones(x.shape, bool), scheme)
    first = program(dev, x, wanted, scheme, np.random.default_rng(5)).counts
    assert np.array_equal(first, program(dev, x, wanted, scheme, np.random.default_rng(5)).counts)
    assert not np.array_equal(first, program(dev, x, wanted, scheme, np.random.default_rng(6)).counts)
    # without a stream: the scheme's seed, so a lone call is reproducible too
    alone = program(dev, x, wanted, scheme).counts
    assert np.array_equal(alone, program(dev, x, wanted, scheme).counts)


def test_deterministic_rounding_loses_what_stochastic_rounding_keeps():
    """0.3 of a step: nearest rounding writes nothing; stochastic writes 30 % of the devices."""
    dev = DEVICE_MODELS["vteam"]
    x = _states("vteam", 1000)
    for scheme, low, high in (("per-polarity", 0.0, 0.0), ("stochastic", 0.25, 0.35)):
        resolved = _resolved("vteam", scheme)
        wanted = 0.3 * predicted_steps(dev, x, np.ones(x.shape, bool), resolved)
        written = (program(dev, x, wanted, resolved, np.random.default_rng(0)).counts > 0).mean()
        assert low <= written <= high, scheme


# ---------------------------------------------------------------- write-verify

@pytest.mark.parametrize("name", NAMES)
def test_write_verify_stops_within_the_tolerance(name):
    dev = DEVICE_MODELS[name]
    scheme = _resolved(name, "write-verify", max_pulses=1000)
    rng = np.random.default_rng(2)
    x = _states(name, 8)
    wanted = rng.normal(0.0, 0.01, x.shape) * _span(name)
    done = program(dev, x, wanted, scheme)
    target = np.clip(dev.conductance(x) + wanted, dev.g_min, dev.g_max)
    within = np.abs(dev.conductance(done.x) - target) <= scheme.tolerance
    # a device is within the tolerance, or it spent the budget (a RESET at low G on hp-biolek
    # moves it ~1/100 of a mid-range step: a large request there outlasts 1000 pulses)
    assert np.all(within | (done.counts == scheme.max_pulses))
    assert within.mean() > 0.9
    assert done.reads == done.counts.sum() > 0


@pytest.mark.parametrize("name", NAMES)
def test_write_verify_stops_at_the_pulse_budget(name):
    dev = DEVICE_MODELS[name]
    scheme = _resolved(name, "write-verify", max_pulses=3)
    x = _states(name)
    for sign in (1.0, -1.0):
        done = program(dev, x, sign * 0.05 * _span(name) * np.ones(x.shape), scheme)
        assert np.array_equal(done.counts, np.full(x.shape, 3))
        moved = dev.conductance(done.x) - dev.conductance(x)
        assert np.all(sign * moved > 0) and np.all(np.abs(moved) < 0.05 * _span(name))


@pytest.mark.parametrize("name", NAMES)
def test_write_verify_leaves_devices_already_within_the_tolerance_alone(name):
    dev = DEVICE_MODELS[name]
    scheme = _resolved(name, "write-verify")
    x = _states(name)
    done = program(dev, x, np.array([0.5, -0.5, 0.9, 0.0, -0.9]) * scheme.tolerance, scheme)
    assert done.counts.sum() == 0 and done.reads == 0
    assert np.array_equal(done.x, x)


# ---------------------------------------------------------------- Manhattan rule

@pytest.mark.parametrize("name", NAMES)
def test_manhattan_gives_every_nonzero_wanted_change_one_pulse_its_way(name):
    dev = DEVICE_MODELS[name]
    scheme = _resolved(name, "manhattan")
    x = _states(name, 6)
    wanted = np.tile([1e-3, -1e-3, 0.0, 5.0, -5.0, 1e-30], len(FRACTIONS)) * _span(name)
    done = program(dev, x, wanted, scheme)
    assert np.array_equal(done.counts, (wanted != 0).astype(int))
    moved = dev.conductance(done.x) - dev.conductance(x)
    assert np.all(np.sign(moved) == np.sign(wanted))
    up = wanted > 0
    np.testing.assert_allclose(moved[wanted != 0], np.where(up, 1.0, -1.0)[wanted != 0]
                               * predicted_steps(dev, x, up, scheme)[wanted != 0], rtol=1e-12)


# ---------------------------------------------------------------- every scheme

@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_scheme_stays_in_bounds_and_never_moves_against_the_wish(name, scheme):
    dev = DEVICE_MODELS[name]
    resolved = _resolved(name, scheme)
    rng = np.random.default_rng(4)
    x = rng.uniform(dev.x_lo, dev.x_hi, 300)
    wanted = rng.normal(0.0, 0.02, 300) * _span(name)
    done = program(dev, x, wanted, resolved, np.random.default_rng(1))
    moved = dev.conductance(done.x) - dev.conductance(x)
    assert np.all((done.x >= dev.x_lo) & (done.x <= dev.x_hi))
    assert np.all(moved * wanted >= 0) and np.all(done.counts <= resolved.max_pulses)
    assert np.all((done.energy > 0) == (done.counts > 0))


@pytest.mark.parametrize("name", NAMES)
def test_pulse_energy_is_v_squared_g_times_width_for_a_small_step(name):
    dev = DEVICE_MODELS[name]
    scheme = _resolved(name, "per-polarity")
    x = np.full(2, scheme.x_mid)
    done = program(dev, x, np.array([1.0, -1.0]) * 0.002 * _span(name), scheme)
    v = np.array([scheme.v_set, scheme.v_reset])
    i = dev.current(v, x)
    np.testing.assert_allclose(done.energy, v * i * np.array([scheme.width, scheme.width_reset]), rtol=0.02)


def test_set_calibrated_reproduces_the_earlier_formula():
    """The earlier scheme: one SET-calibrated width, counts = rint(wanted / step at the state)."""
    dev = DEVICE_MODELS["vteam"]
    scheme = _resolved("vteam", "set-calibrated")
    x = _states("vteam", 20)
    wanted = np.random.default_rng(0).normal(0.0, 0.01, x.shape) * _span("vteam")
    v = np.where(wanted > 0, scheme.v_set, scheme.v_reset)
    step = np.abs(dev.conductance(pulse(dev, x, v, scheme.width)) - dev.conductance(x))
    expected = np.clip(np.rint(np.abs(wanted) / step), 0, scheme.max_pulses).astype(int)
    assert np.array_equal(program_by_pulses(dev, x, wanted, scheme)[1], expected)


def test_unknown_scheme_and_bad_tolerance_are_rejected():
    with pytest.raises(ConfigError, match="scheme"):
        PulseScheme(scheme="magic")
    with pytest.raises(ConfigError, match="verify_tolerance"):
        PulseScheme(verify_tolerance=0.0)
    assert PulseScheme().scheme == "per-polarity"
