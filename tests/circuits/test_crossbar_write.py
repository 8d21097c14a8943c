"""Writes through the crossbar's lines (V/2 and V/3 half-select): the line voltages each scheme
puts on selected, half-selected and unselected devices, the row-serial pulse sequence, and the
twin's disturb, parametrized over every registered device model."""

from __future__ import annotations

import numpy as np
import pytest

from memprop.circuits.crossbar_write import (line_voltages, program_crossbar, program_through_lines,
                                             write_sequence)
from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.programming import HALF_SELECT, PulseScheme, pulse_counts, pulse_train
from memprop.circuits.validation import ConfigError

NAMES = sorted(DEVICE_MODELS)
SCHEMES = [s for s in HALF_SELECT if s != "none"]


def _states(name: str, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    dev = DEVICE_MODELS[name]
    span = dev.x_hi - dev.x_lo
    return np.random.default_rng(seed).uniform(dev.x_lo + 0.2 * span, dev.x_hi - 0.2 * span, shape)


def _write(seed: int = 0, shape: tuple[int, int] = (5, 4)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 4, shape) * (rng.random(shape) < 0.6), rng.random(shape) < 0.5


@pytest.mark.parametrize("scheme, half", [("v2", 0.5), ("v3", 1.0 / 3.0)])
@pytest.mark.parametrize("v", [2.0, -1.5])
def test_selected_devices_see_the_pulse_and_the_rest_at_most_the_half_select_share(scheme, half, v):
    selected = np.array([True, False, True, False])
    rows, cols = line_voltages(scheme, v, 1, selected, 3)
    seen = rows[:, None] - cols[None, :]
    assert np.allclose(seen[1, selected], v)
    others = np.ones(seen.shape, dtype=bool)
    others[1, selected] = False
    assert np.allclose(np.abs(seen[others]).max(), abs(v) * half)
    if scheme == "v2":  # devices on neither driven line see nothing
        assert np.allclose(seen[np.ix_([0, 2], ~selected)], 0.0)
    else:  # every unselected device sees a third of the pulse, of one sign or the other
        assert np.allclose(np.abs(seen[others]), abs(v) / 3.0)


def test_the_sequence_gives_every_device_its_own_pulses_row_by_row():
    counts, up = _write(3)
    sequence = write_sequence(counts, up)
    assert np.all(np.diff(sequence.rows) >= 0)
    for sign, wants in ((1, up), (-1, ~up)):
        got = np.zeros(counts.shape, dtype=int)
        for row, s, selected in zip(sequence.rows, sequence.signs, sequence.selected):
            if s == sign:
                got[row] += selected
        assert np.array_equal(got, np.where(wants, counts, 0))
    assert len(sequence) == sum(int(np.where(w, counts[r], 0).max(initial=0))
                                for r in range(counts.shape[0]) for w in (up[r], ~up[r]))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("scheme", SCHEMES)
def test_below_threshold_the_write_equals_pulsing_each_device_alone(name, scheme):
    """At the default amplitudes (10 % past threshold) the half-selected share stays below every
    threshold model's read limit: the states are bit for bit those of device-by-device pulses."""
    dev = DEVICE_MODELS[name]
    pulses = PulseScheme().resolved(dev)
    x = _states(name, (5, 4))
    counts, up = _write()
    done = program_crossbar(dev, x, counts, up, pulses, scheme)
    expected = pulse_train(dev, x, pulses.amplitude(up), pulses.widths(up), counts)
    if dev.read_limit > 0:
        assert np.array_equal(done.x, expected)
        assert not done.disturb.any()
    else:  # threshold-less (HP): every half-selected device drifts, the unselected ones too
        assert np.abs(done.disturb).max() > 0
        assert np.abs(done.x - x)[counts == 0].max() > 0
    assert done.energy.min() >= 0 and done.energy[counts > 0].min() > 0


@pytest.mark.parametrize("name", [n for n in NAMES if DEVICE_MODELS[n].read_limit > 0])
def test_v2_disturbs_past_twice_the_threshold_and_v3_does_not(name):
    """Pulses at 2.2x the default amplitude: half of them passes the threshold, a third does not
    (the RRAM card's threshold falls with the gap, so a third still moves its ON-most states a
    little; a hundredth of what half does)."""
    dev = DEVICE_MODELS[name]
    base = PulseScheme().resolved(dev)
    pulses = PulseScheme(v_set=2.2 * base.v_set, v_reset=2.2 * base.v_reset).resolved(dev)
    x, (counts, up) = _states(name, (5, 4)), _write()
    v2 = program_crossbar(dev, x, counts, up, pulses, "v2")
    v3 = program_crossbar(dev, x, counts, up, pulses, "v3")
    assert np.abs(v2.disturb).max() > 0
    assert np.abs(v3.disturb).max() < 1e-2 * np.abs(v2.disturb).max()


@pytest.mark.parametrize("name", NAMES)
def test_through_lines_writes_both_arrays_of_a_pair_with_the_schemes_counts(name):
    dev = DEVICE_MODELS[name]
    pulses = PulseScheme(half_select="v3").resolved(dev)
    x = _states(name, (2, 4, 3), seed=5)
    dg = np.random.default_rng(6).normal(0.0, 0.004 * (dev.g_max - dev.g_min), (4, 3))
    wanted = np.stack([dg, -dg])
    done = program_through_lines(dev, x, wanted, pulses)
    assert np.array_equal(done.counts, pulse_counts(dev, x, wanted, pulses))
    for k in range(2):
        one = program_crossbar(dev, x[k], done.counts[k], wanted[k] > 0, pulses, "v3")
        assert np.array_equal(done.x[k], one.x) and np.array_equal(done.disturb[k], one.disturb)


def test_write_verify_through_the_lines_is_refused_with_the_field():
    with pytest.raises(ConfigError, match="half_select"):
        PulseScheme(scheme="write-verify", half_select="v2")
    with pytest.raises(ConfigError, match="half_select"):
        PulseScheme(half_select="v4")


def test_a_switching_factor_on_vteam_is_its_thresholds_scaled():
    """VTEAM's rate depends on v only through v / v_on and v / v_off, so the state equation seeing
    v / s is exactly a VTEAM whose thresholds are s times as large."""
    import dataclasses

    dev = DEVICE_MODELS["vteam"]
    pulses = PulseScheme(v_set=2.5, v_reset=-2.5).resolved(dev)
    x, (counts, up) = _states("vteam", (5, 4)), _write(2)
    for s in (0.8, 1.3):
        scaled = dataclasses.replace(dev, v_on=s * dev.v_on, v_off=s * dev.v_off)
        got = program_crossbar(dev, x, counts, up, pulses, "v2", np.full(x.shape, s))
        expected = program_crossbar(scaled, x, counts, up, pulses, "v2")
        assert np.allclose(got.x, expected.x, rtol=0, atol=1e-12)
        assert np.allclose(got.disturb, expected.disturb, rtol=0, atol=1e-12)


def test_switching_factors_are_fixed_per_crossbar_and_seed():
    from memprop.circuits.nonideal import NonIdeal, switching_scale

    assert switching_scale(NonIdeal(), "l1_x", (2, 3, 4)) is None
    a = switching_scale(NonIdeal(threshold_sigma=0.2), "l1_x", (2, 3, 4))
    assert np.array_equal(a, switching_scale(NonIdeal(threshold_sigma=0.2), "l1_x", (2, 3, 4)))
    assert not np.array_equal(a, switching_scale(NonIdeal(threshold_sigma=0.2), "o_l1", (2, 3, 4)))
    assert not np.array_equal(a, switching_scale(NonIdeal(threshold_sigma=0.2, seed=1), "l1_x", (2, 3, 4)))
    assert a.shape == (2, 3, 4) and np.all(a > 0)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_closed_form_of_a_quiet_write_equals_the_pulse_by_pulse_walk(name, scheme, monkeypatch):
    """Where no unselected device can move, the states come from pulsing each device on its own
    and the half-selected reads' energy from counting exposures: the same as walking every pulse
    (states bit for bit, energy to rounding)."""
    import memprop.circuits.crossbar_write as cw

    dev = DEVICE_MODELS[name]
    pulses = PulseScheme().resolved(dev)
    x, (counts, up) = _states(name, (6, 5), seed=3), _write(4, (6, 5))
    fast = program_crossbar(dev, x, counts, up, pulses, scheme)
    monkeypatch.setattr(cw, "quiet", lambda *args: False)
    walk = program_crossbar(dev, x, counts, up, pulses, scheme)
    assert np.array_equal(fast.x, walk.x) and np.array_equal(fast.disturb, walk.disturb)
    assert np.allclose(fast.energy, walk.energy, rtol=1e-12, atol=0) and fast.pulses == walk.pulses


def test_a_write_is_quiet_while_the_half_select_share_stays_below_every_threshold():
    from memprop.circuits.crossbar_write import quiet

    dev = DEVICE_MODELS["vteam"]  # thresholds +-1.5 V
    at = lambda v: PulseScheme(v_set=v, v_reset=-v).resolved(dev)  # noqa: E731
    assert quiet(dev, at(2.9), "v2", None) and not quiet(dev, at(3.1), "v2", None)
    assert quiet(dev, at(4.4), "v3", None) and not quiet(dev, at(4.6), "v3", None)
    assert not quiet(dev, at(2.9), "v2", np.full((2, 2), 0.9))  # a device whose thresholds are lower
    assert not quiet(DEVICE_MODELS["hp-biolek"], PulseScheme().resolved(DEVICE_MODELS["hp-biolek"]), "v3", None)
