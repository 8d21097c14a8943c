"""ngspice equilibria and transients against the behavioural twin, on random-weight networks."""

from __future__ import annotations

import numpy as np
import pytest

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import glorot_states, layered_network, recurrent_network
from memprop.circuits.neuron import Neuron
from memprop.cosim.engines.settle import activation_nodes, settle_behavioral, settle_ngspice
from memprop.cosim.engines.behavioral import BehavioralNetwork
from memprop.netgen.deck import render

MV = 1e-3
# Weights with gain 0.5 keep the networks in the regime with one equilibrium, so every solver
# (ngspice's Newton, the twin's relaxation, a transient from zero) must find the same one.
GAIN = 0.5


def _net(kind: str, level: str = "ideal", device: str = "vteam", **kw):
    neuron = Neuron(level=level)
    if kind == "layered":
        return layered_network(neuron, DEVICE_MODELS[device], (64, 32, 10), **kw)
    return recurrent_network(neuron, DEVICE_MODELS[device], 50, 10, 5, **kw)


def _spice_vs_twin(ngspice, net, states, x, targets=None):
    a = settle_ngspice(net, states, x, "op", targets=targets)
    b = settle_behavioral(net, states, x, "op", targets=targets)
    va = np.array(list(a.voltages.values()))
    vb = np.array(list(b.voltages.values()))
    assert list(a.voltages) == list(b.voltages)
    return va, vb


@pytest.mark.parametrize("kind", ["layered", "recurrent"])
@pytest.mark.parametrize("level", ["ideal", "macromodel"])
@pytest.mark.parametrize("seed", [1, 2])
def test_op_matches_twin(ngspice, kind, level, seed):
    net = _net(kind, level)
    states = glorot_states(net, seed, gain=GAIN)
    x = np.random.default_rng(seed).uniform(0, 1, net.n_inputs)
    va, vb = _spice_vs_twin(ngspice, net, states, x)
    assert np.max(np.abs(va - vb)) <= 1 * MV
    # not hollow: a good share of the neurons sit strictly between the rails
    assert np.mean((va > 1e-3) & (va < 1 - 1e-3)) > 0.2


@pytest.mark.parametrize("device", sorted(DEVICE_MODELS))
def test_op_matches_twin_every_device(ngspice, device):
    net = layered_network(Neuron(), DEVICE_MODELS[device], (16, 8, 4))
    states = glorot_states(net, 3, gain=GAIN)
    x = np.random.default_rng(3).uniform(0, 1, 16)
    va, vb = _spice_vs_twin(ngspice, net, states, x)
    assert np.max(np.abs(va - vb)) <= 1 * MV


def test_nudged_op_matches_twin_and_moves_outputs_toward_target(ngspice):
    free = _net("layered")
    states = glorot_states(free, 4, gain=GAIN)
    x = np.random.default_rng(4).uniform(0, 1, 64)
    y = np.zeros(10)
    y[3] = 1.0
    v_free, _ = _spice_vs_twin(ngspice, free, states, x)
    nudged = free.with_beta(0.5)
    va, vb = _spice_vs_twin(ngspice, nudged, states, x, targets=y)
    assert np.max(np.abs(va - vb)) <= 1 * MV
    out = nudged.output_slice()
    assert np.sum((va[out] - y) ** 2) < np.sum((v_free[out] - y) ** 2)


def test_wire_resistance_matches_twin_and_changes_the_equilibrium(ngspice):
    ideal = layered_network(Neuron(), DEVICE_MODELS["vteam"], (12, 6, 3))
    wired = layered_network(Neuron(), DEVICE_MODELS["vteam"], (12, 6, 3), wire_resistance=50.0)
    states = glorot_states(ideal, 5, gain=GAIN)
    x = np.random.default_rng(5).uniform(0, 1, 12)
    va, vb = _spice_vs_twin(ngspice, wired, states, x)
    assert np.max(np.abs(va - vb)) <= 1 * MV
    v_ideal, _ = _spice_vs_twin(ngspice, ideal, states, x)
    assert np.max(np.abs(va - v_ideal)) > 1 * MV  # IR drop is visible


def test_macromodel_offset_and_gain_are_in_the_twin(ngspice):
    for neuron in (Neuron(level="macromodel", a0=300.0), Neuron(level="macromodel", v_offset=0.02)):
        net = layered_network(neuron, DEVICE_MODELS["vteam"], (16, 8, 4))
        ref = layered_network(Neuron(), DEVICE_MODELS["vteam"], (16, 8, 4))
        states = glorot_states(net, 6, gain=GAIN)
        x = np.random.default_rng(6).uniform(0, 1, 16)
        va, vb = _spice_vs_twin(ngspice, net, states, x)
        v_ideal, _ = _spice_vs_twin(ngspice, ref, states, x)
        assert np.max(np.abs(va - vb)) <= 1 * MV
        assert np.max(np.abs(va - v_ideal)) > 1 * MV


@pytest.mark.parametrize("kind", ["layered", "recurrent"])
def test_tran_steady_state_agrees_with_op(ngspice, kind):
    net = _net(kind)
    states = glorot_states(net, 7, gain=GAIN)
    x = np.random.default_rng(7).uniform(0, 1, net.n_inputs)
    op = settle_ngspice(net, states, x, "op")
    deck = render(net, states, inputs=x, analysis="none", form="read")
    ngspice.load(deck.text)
    tau = net.neuron.tau
    plot = ngspice.tran(tau / 20, 30 * tau, uic=True, max_step=tau / 20)
    final = np.array([ngspice.vector(plot, n)[-1] for n in activation_nodes(net)])
    assert np.max(np.abs(final - np.array(list(op.voltages.values())))) <= 1 * MV
    # and the transient really started from zero (uic) and moved
    first = np.array([ngspice.vector(plot, n)[0] for n in activation_nodes(net)])
    assert np.max(np.abs(final - first)) > 0.05


@pytest.mark.parametrize("device", sorted(DEVICE_MODELS))
def test_dynamic_deck_tran_settles_to_op_of_its_final_states(ngspice, device):
    """Live memristor dynamics: the transient ends at the .op equilibrium of the states it ends with.

    Models with a threshold above the read voltages keep their states exactly; the HP model has no
    threshold, so reading it disturbs it (as on hardware) and the .op must use the disturbed states.
    """
    net = layered_network(Neuron(), DEVICE_MODELS[device], (6, 4, 2))
    states = glorot_states(net, 8, gain=GAIN)
    x = np.random.default_rng(8).uniform(0, 1, 6)
    deck = render(net, states, inputs=x, analysis="none", form="dynamic")
    ngspice.load(deck.text)
    plot = ngspice.tran(2e-8, 1e-5, uic=True, max_step=2e-8)
    t = ngspice.vector(plot, "time")
    waves = np.stack([ngspice.vector(plot, n) for n in activation_nodes(net)])
    final_v = waves[:, -1]
    # drifting states drag the equilibrium along: the neurons lag it by about tau * dV/dt
    one_tau_ago = np.array([np.interp(t[-1] - net.neuron.tau, t, w) for w in waves])
    lag = np.abs(final_v - one_tau_ago)
    moved = states.copy()
    for bar in net.crossbars:
        for inst in deck.node_map["crossbars"][bar.name]["instances"]:
            i, j = (int(k) for k in inst.rsplit("_", 2)[1:])
            for pol, k in (("p", 0), ("m", 1)):
                moved.states[bar.name][k, i, j] = ngspice.vector(plot, f"{inst}.x{pol}.xs")[-1]
    drift = max(np.max(np.abs(moved[b.name] - states[b.name])) for b in net.crossbars)
    if DEVICE_MODELS[device].read_limit > net.neuron.v_high:
        assert drift < 1e-9
        assert np.max(lag) < 0.5 * MV  # settled: nothing drags the equilibrium
    else:
        assert drift > 1e-7  # read disturb is real for threshold-less devices
    op = settle_ngspice(net, moved, x, "op")
    assert np.all(np.abs(final_v - np.array(list(op.voltages.values()))) <= 1 * MV + 1.5 * lag)


def test_twin_transient_tracks_ngspice_transient(ngspice):
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (16, 8, 4))
    states = glorot_states(net, 9, gain=GAIN)
    x = np.random.default_rng(9).uniform(0, 1, 16)
    deck = render(net, states, inputs=x, analysis="none", form="read")
    ngspice.load(deck.text)
    tau = net.neuron.tau
    plot = ngspice.tran(tau / 50, 8 * tau, uic=True, max_step=tau / 50)
    t = ngspice.vector(plot, "time")
    spice = np.stack([ngspice.vector(plot, n) for n in activation_nodes(net)], axis=1)
    twin = BehavioralNetwork(net, states).transient(x, 8 * tau, t_eval=t)
    assert np.max(np.abs(spice - twin.v)) < 5 * MV
    assert np.max(np.abs(spice[-1] - spice[0])) > 0.05


def test_twin_phase_waveform_tracks_the_ngspice_phase_waveform(ngspice):
    """Large runs draw their free/nudged waveform from the twin: it must be the circuit's."""
    from memprop.cosim.engines.transient import transient_phases, twin_transient_phases

    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (16, 8, 4))
    states = glorot_states(net, 3, gain=GAIN)
    x = np.random.default_rng(3).uniform(0, 1, 16)
    y = np.array([1.0, 0.0, 0.0, 0.0])
    args = (net, states, x, y, [0.0, 0.5, -0.5], 8 * net.neuron.tau)
    spice = transient_phases(*args)
    twin = twin_transient_phases(*args)
    assert twin.simulator == "numpy twin" and spice.simulator == "ngspice"
    out = net.output_slice()
    for p in range(3):
        end_spice = spice.v[spice.phase == p][-1, out]
        end_twin = twin.v[twin.phase == p][-1, out]
        assert np.max(np.abs(end_spice - end_twin)) < 5 * MV
    # the nudged phase really moves the outputs (towards the target for +beta)
    free_end = twin.v[twin.phase == 0][-1, out]
    plus_end = twin.v[twin.phase == 1][-1, out]
    assert plus_end[0] - free_end[0] > 0.01
