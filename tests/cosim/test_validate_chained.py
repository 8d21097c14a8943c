"""Transistor-level validation settles the test images one after another in one transient: where
the circuit settles, each window's end is the image's operating point (what `.op` finds), at a
fraction of `.op`'s cost; where it does not (ringing, an oscillation), the window says so."""

from __future__ import annotations

import numpy as np
import pytest

from memprop.circuits.devices import VTEAM
from memprop.circuits.network import glorot_states, layered_network
from memprop.circuits.neuron import Neuron
from memprop.cosim.runs.validate import CHAIN_WINDOW_TAU, _op_outputs, _settling, chained


def test_each_window_ends_at_its_images_operating_point(ngspice):
    neuron = Neuron(level="cmos")
    net = layered_network(neuron, VTEAM(), (6, 5, 3))
    states = glorot_states(net, 0, gain=0.8)
    x = np.random.default_rng(2).uniform(0.0, neuron.v_high, (4, 6))
    window = CHAIN_WINDOW_TAU * neuron.tau
    ops = _op_outputs(net, states, x)
    labels = np.argmax(ops, axis=1)
    run = chained(net, states, x, labels, window)
    assert np.ptp(ops) > 0.05 * neuron.v_high  # the images drive the outputs apart: the check can fail
    assert np.max(np.abs(run["outputs"] - ops)) < 2e-3
    assert np.array_equal(np.argmax(run["outputs"], axis=1), labels)
    assert run["accuracy"] == 1.0 and run["failed"] == 0
    settle = run["settling_times_s"]
    assert settle.shape == (3,) and np.all(settle < 0.9 * window) and np.any(settle > 0)


def test_settling_is_the_last_exit_from_the_band_and_a_ringing_window_never_settles():
    t = np.linspace(0.0, 2.0, 2001)
    decay = np.where(t < 1.0, np.exp(-10 * t), 0.0)           # window 0: settles (band 0.01: at ln(100)/10)
    ring = np.where(t > 1.0, 0.5 * np.sin(40 * t), 0.0)       # window 1: rings to its end
    v = (decay + ring)[:, None]
    finals = v[[999, 2000]]
    settle = _settling(t, v, finals, np.array([0.0, 1.0]), 1.0, 0.01)
    assert settle[0] == pytest.approx(np.log(100) / 10, abs=2e-3)
    assert settle[1] > 0.95
