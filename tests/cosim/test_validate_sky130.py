"""Porting a trained network to the sky130 crossbar keeps its weights and its function."""

from __future__ import annotations

import numpy as np
import pytest

from memprop.circuits.network import conductances
from memprop.circuits.validation import ConfigError
from memprop.cosim.engines.behavioral import BehavioralNetwork
from memprop.cosim.config.config import Config, DeviceConfig, build_network, initial_states
from memprop.cosim.runs.validate import IMPEDANCE_SCALE, sky130_config


def test_the_sky130_port_keeps_weights_and_scales_the_equilibrium():
    cfg = Config()
    ported = sky130_config(cfg, "ss", -40.0)
    base, target = build_network(cfg), build_network(ported)
    states = initial_states(cfg, base)
    g0, g1 = conductances(base, states), conductances(target, states)
    for bar in base.crossbars:
        w0 = base.neuron.r_f * (g0[bar.name][0] - g0[bar.name][1])
        w1 = target.neuron.r_f * (g1[bar.name][0] - g1[bar.name][1])
        assert np.allclose(w0, w1, rtol=1e-9, atol=1e-12)
        assert np.allclose(g1[bar.name], g0[bar.name] / IMPEDANCE_SCALE)
    assert target.neuron.tau == pytest.approx(base.neuron.tau)
    assert (target.neuron.corner, target.neuron.temp, target.neuron.v_high) == ("ss", -40.0, 0.5)
    # the ideal twins of both settle to the same activations, in volts scaled by 0.5
    x = np.random.default_rng(1).uniform(0.0, 1.0, (3, 64))
    ideal = Config(neuron=cfg.neuron.__class__(v_high=0.5, r_f=ported.neuron.r_f, c_f=ported.neuron.c_f),
                   device=ported.device)
    v0 = BehavioralNetwork(base, states).equilibrium(x).v
    v1 = BehavioralNetwork(build_network(ideal), states).equilibrium(0.5 * x).v
    assert np.allclose(v1, 0.5 * v0, atol=1e-9) and np.ptp(v0) > 0.1


def test_the_sky130_port_needs_a_resistance_range():
    cfg = Config(device=DeviceConfig(model="yakopcic"))
    if hasattr(cfg.device.build(), "r_on"):
        pytest.skip("yakopcic has an R_on here")
    with pytest.raises(ConfigError, match="R_on and R_off"):
        sky130_config(cfg)
