"""Each non-ideality changes behaviour in the expected direction, in ngspice and in the twin alike."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import glorot_states, layered_network
from memprop.circuits.neuron import Neuron
from memprop.circuits.nonideal import NonIdeal, write_noise
from memprop.cosim.engines.settle import settle_behavioral, settle_ngspice
from memprop.cosim.config.config import parse
from memprop.cosim.programming.writes import Fidelity, apply_update
from memprop.cosim.runs.trainer import Trainer


def _net(**nonideal):
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (16, 8, 4))
    return net.with_nonideal(NonIdeal(**nonideal)) if nonideal else net


def _voltages(net, states, x, backend):
    fn = settle_ngspice if backend == "ngspice" else settle_behavioral
    return np.array(list(fn(net, states, x, "op").voltages.values()))


@pytest.mark.parametrize("kind", [{"d2d_sigma": 0.3}, {"stuck_on": 0.1}, {"stuck_off": 0.1}])
def test_read_side_nonidealities_move_the_equilibrium_identically_in_both_backends(ngspice, kind):
    ideal = _net()
    faulty = _net(**kind)
    states = glorot_states(ideal, 3, gain=0.5)
    x = np.random.default_rng(3).uniform(0, 1, 16)
    v_ideal = _voltages(ideal, states, x, "behavioral")
    v_twin = _voltages(faulty, states, x, "behavioral")
    v_spice = _voltages(faulty, states, x, "ngspice")
    assert np.max(np.abs(v_spice - v_twin)) < 1e-3        # both backends see the same faulty devices
    assert np.max(np.abs(v_twin - v_ideal)) > 5e-3         # and the faults change the circuit
    g = faulty.effective_read("l1_x", states["l1_x"])
    dev = DEVICE_MODELS["vteam"]
    if "stuck_on" in kind:
        assert np.sum(g == dev.g_max) >= 0.05 * g.size
    if "stuck_off" in kind:
        assert np.sum(g == dev.g_min) >= 0.05 * g.size


def test_stuck_devices_ignore_writes():
    net = _net(stuck_on=0.2, stuck_off=0.2)
    states = glorot_states(net, 0)
    dw = {b.name: np.full((b.rows, b.cols), 0.05) for b in net.crossbars}
    new = apply_update(net, states, dw, "ideal", None, Fidelity())
    stuck = net.variation.stuck["l1_x"] != 0
    before, after = net.effective_read("l1_x", states["l1_x"]), net.effective_read("l1_x", new["l1_x"])
    assert np.array_equal(before[stuck], after[stuck])
    assert np.all(after[~stuck] != before[~stuck])


def test_finite_levels_quantise_writes_and_c2c_noise_scatters_them():
    dev = DEVICE_MODELS["vteam"]
    g = np.linspace(dev.g_min, dev.g_max, 1000)
    rng = np.random.default_rng(0)
    q = write_noise(g, dev.g_min, dev.g_max, NonIdeal(levels=8), rng)
    assert len(np.unique(np.round(q, 15))) == 8
    noisy = write_noise(g, dev.g_min, dev.g_max, NonIdeal(c2c_sigma=0.05), rng)
    assert 0.03 < np.std(noisy - g) / (dev.g_max - dev.g_min) < 0.06
    net = _net()
    states = glorot_states(net, 0)
    dw = {b.name: np.random.default_rng(1).normal(0, 0.02, (b.rows, b.cols)) for b in net.crossbars}
    clean, rough = Fidelity(), Fidelity()
    apply_update(net, states, dw, "ideal", None, clean)
    apply_update(net, states, dw, "ideal", None, rough, NonIdeal(c2c_sigma=0.02), np.random.default_rng(2))
    assert clean.summary()["update_correlation"] > 0.999
    assert rough.summary()["update_correlation"] < 0.9  # noisier writes: less faithful updates


CFG = """
[network]
layers = [64, 16, 10]
[data]
train_size = 300
test_size = 200
validation = 0.0
[train]
backend = "behavioral"
epochs = 2
[nonideal]
"""


@pytest.mark.slow
def test_severe_nonidealities_cost_accuracy(tmp_path):
    acc = {}
    for name, extra in (("ideal", ""), ("faulty", "d2d_sigma = 0.8\nstuck_off = 0.3\nlevels = 3\nc2c_sigma = 0.1\n")):
        rows = Trainer(parse(tomllib.loads(CFG + extra)), tmp_path / name).run()
        acc[name] = rows[-1]["test_accuracy"]
    assert acc["faulty"] < acc["ideal"] - 0.05


def test_variation_needs_the_read_form():
    from memprop.circuits.validation import ConfigError
    from memprop.netgen.deck import render

    net = _net(d2d_sigma=0.1)
    with pytest.raises(ConfigError, match="read form"):
        render(net, glorot_states(net, 0), analysis="tran")


def test_the_config_section_reaches_the_network():
    from memprop.cosim.config.config import build_network

    cfg = parse(tomllib.loads("[nonideal]\nd2d_sigma = 0.2\nstuck_off = 0.1\n"))
    net = build_network(cfg)
    assert net.variation is not None
    assert np.mean(net.variation.stuck["l1_x"] == -1) == pytest.approx(0.1, abs=0.02)
    assert build_network(parse({})).variation is None
