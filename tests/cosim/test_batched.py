"""The batched ngspice engine against per-phase cold `.op`s: the same equilibria, its look-ahead,
its fallbacks, and flat memory. Every network here is small; the long runs live in bench/."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import glorot_states, layered_network, random_states, recurrent_network
from memprop.circuits.neuron import Neuron
from memprop.circuits.nonideal import NonIdeal
from memprop.cosim.engines.batched import BatchedNgspiceEngine
from memprop.cosim.engines.perphase import NgspiceEngine
from memprop.cosim.engines.factory import make_engine

#: The issue's bar for a warm-started point against a cold .op of the same phase (volts).
WARM_VS_COLD = 1e-6
SYMMETRIC = [0.0, 0.3, -0.3]


def _batch(net, n: int, seed: int):
    rng = np.random.default_rng(seed)
    n_out = net.group(net.output_group).size
    return rng.uniform(0, 1, (n, net.n_inputs)), np.eye(n_out)[rng.integers(0, n_out, n)]


def _cold(net, states, x, y, betas, side=False):
    engine = NgspiceEngine(net, side=side)
    try:
        engine.program(states)
        return engine.adjoint_phase(x, y) if side else engine.phases(x, y, betas)
    finally:
        engine.close()


def _max_diff(a, b) -> float:
    return max(float(np.max(np.abs(p.v - q.v))) for p, q in zip(a, b))


def _batched(net, states, x, y, betas):
    """One batch settled by a fresh batched engine: its phases and its stats."""
    engine = BatchedNgspiceEngine(net)
    try:
        engine.program(states)
        return engine.phases(x, y, betas), engine.stats
    finally:
        engine.close()


NETWORKS = {
    "layered-ideal-hard": lambda: layered_network(Neuron(), DEVICE_MODELS["vteam"], (16, 8, 4)),
    "layered-macromodel-smooth": lambda: layered_network(Neuron(level="macromodel", activation="smooth"),
                                                         DEVICE_MODELS["vteam"], (16, 8, 4)),
    "layered-ideal-smooth": lambda: layered_network(Neuron(activation="smooth"), DEVICE_MODELS["vteam"], (16, 8, 4)),
    "recurrent": lambda: recurrent_network(Neuron(), DEVICE_MODELS["vteam"], 10, 6, 3),
    "layered-wire-resistance": lambda: layered_network(Neuron(), DEVICE_MODELS["vteam"], (16, 8, 4), wire_resistance=5.0),
    "layered-device-variation": lambda: layered_network(Neuron(), DEVICE_MODELS["vteam"], (16, 8, 4)).with_nonideal(
        NonIdeal(d2d_sigma=0.2, stuck_on=0.05, stuck_off=0.05)),
}


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_sweep_points_equal_cold_ops(ngspice, name):
    net = NETWORKS[name]()
    states = glorot_states(net, 1, gain=0.5)
    x, y = _batch(net, 8, 0)
    got, stats = _batched(net, states, x, y, SYMMETRIC)
    assert _max_diff(got, _cold(net, states, x, y, SYMMETRIC)) <= WARM_VS_COLD
    assert stats["points"] == 8 * 3 and stats["chunks"] == 1
    assert stats["sweep_fallbacks"] == 0 and stats["restarts"] == 0
    # the nudged phases really moved the outputs: the points are not all one equilibrium
    out = net.output_slice()
    assert np.max(np.abs(got[1].v[:, out] - got[0].v[:, out])) > 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("device", sorted(DEVICE_MODELS))
def test_sweep_points_equal_cold_ops_for_every_device_model(ngspice, device):
    net = layered_network(Neuron(), DEVICE_MODELS[device], (12, 6, 3))
    states = glorot_states(net, 2, gain=0.5)
    x, y = _batch(net, 5, 1)
    got, stats = _batched(net, states, x, y, SYMMETRIC)
    assert _max_diff(got, _cold(net, states, x, y, SYMMETRIC)) <= WARM_VS_COLD
    assert stats["points"] == 15


def test_rbp_side_network_sweep_equals_cold_ops(ngspice):
    net = layered_network(Neuron(activation="smooth"), DEVICE_MODELS["vteam"], (16, 8, 4))
    states = glorot_states(net, 1, gain=0.5)
    x, y = _batch(net, 8, 2)
    engine = BatchedNgspiceEngine(net, side=True)
    try:
        engine.program(states)
        free, lam = engine.adjoint_phase(x, y)
    finally:
        engine.close()
    free_c, lam_c = _cold(net, states, x, y, [0.0], side=True)
    assert np.max(np.abs(free.v - free_c.v)) <= WARM_VS_COLD
    assert np.max(np.abs(lam - lam_c)) <= WARM_VS_COLD
    assert np.max(np.abs(lam)) > 1e-3  # a real adjoint, not zeros
    assert engine.stats["points"] == 8 and engine.stats["sweep_fallbacks"] == 0


def test_one_deck_holds_the_upcoming_batches_and_device_writes_reach_it(ngspice):
    """Four batches, new device states before each: one deck, resumed warm, each batch solved
    with the states programmed for it."""
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (16, 8, 4))
    batches = [(*_batch(net, 5, k), SYMMETRIC) for k in range(4)]
    states = [glorot_states(net, k, gain=0.5) for k in range(4)]
    engine = BatchedNgspiceEngine(net)
    got = []
    try:
        for k, (x, y, betas) in enumerate(batches):
            engine.program(states[k])
            got.append(engine.phases(x, y, betas, upcoming=lambda m, k=k: batches[k + m] if k + m < 4 else None))
            assert engine.planned_ahead() == 3 - k
    finally:
        engine.close()
    # one deck (loaded twice when ngspice's first cold start failed, see the test below)
    assert engine.stats["chunks"] - engine.stats["sweep_reloads"] == 1 and engine.stats["alters"] > 0
    for k, (x, y, betas) in enumerate(batches):
        assert _max_diff(got[k], _cold(net, states[k], x, y, betas)) <= WARM_VS_COLD, k


def test_a_batch_other_than_the_planned_one_loads_a_new_deck(ngspice):
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (16, 8, 4))
    states = glorot_states(net, 0, gain=0.5)
    planned, other = (*_batch(net, 4, 0), SYMMETRIC), (*_batch(net, 4, 9), SYMMETRIC)
    engine = BatchedNgspiceEngine(net)
    try:
        engine.program(states)
        engine.phases(*planned, upcoming=lambda m: planned if m == 1 else None)
        got = engine.phases(*other)  # not what the deck holds next: a new deck, and the right answer
    finally:
        engine.close()
    assert engine.stats["chunks"] == 2
    assert _max_diff(got, _cold(net, states, *other)) <= WARM_VS_COLD


def test_a_deck_whose_first_cold_start_fails_is_loaded_once_more(ngspice, monkeypatch):
    """Right after a circuit with transistors, ngspice's first cold start of a new sweep deck can
    fail to converge at the rest point although the same deck loaded again solves (seen in this
    suite, depending on what ran before, so not reproducible on demand). Here the first start
    fails as ngspice reports it; the engine loads the deck once more and solves every point."""
    from memprop.cosim.simulator.session import NgSpiceSession, SimulationError

    real, calls = NgSpiceSession.sweep, []

    def first_start_fails(self, *args):
        calls.append(args)
        if len(calls) == 1:
            raise SimulationError("ngspice failed: dc vidx", ["doAnalyses: Too many iterations without convergence"])
        return real(self, *args)
    monkeypatch.setattr(NgSpiceSession, "sweep", first_start_fails)
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (16, 8, 4))
    states = glorot_states(net, 0, gain=0.5)
    x, y = _batch(net, 5, 0)
    got, stats = _batched(net, states, x, y, SYMMETRIC)
    assert len(calls) == 2 and stats["sweep_reloads"] == 1 and stats["chunks"] == 2
    assert stats["sweep_fallbacks"] == 0 and stats["points"] == 15
    assert _max_diff(got, _cold(net, states, x, y, SYMMETRIC)) <= WARM_VS_COLD


def test_a_point_that_disagrees_with_the_twin_goes_through_the_retry_ladder(ngspice):
    """On this network ngspice lands one warm point away from the twin's equilibrium (it is the
    network whose cold .op fails at sample 15, see test_hardening): that point alone is re-solved."""
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (8, 4, 2))
    states = glorot_states(net, 0)
    x = np.random.default_rng(0).uniform(0, 1, (40, 8))
    engine = BatchedNgspiceEngine(net)
    try:
        engine.program(states)
        got = engine.phases(x, None, [0.0])[0].v
        ref = engine.twin.phases(x, None, [0.0])[0].v
    finally:
        engine.close()
    assert engine.stats["restarts"] >= 1 and engine.stats["sweep_fallbacks"] == 0
    assert np.max(np.abs(got - ref)) <= 1e-3


def test_a_failed_sweep_finishes_its_batch_with_per_phase_ops(ngspice, caplog):
    """Strong random symmetric weights: on these inputs ngspice finds no solution for the first
    sample's point (even with its own gmin and source stepping), so the sweep stops; the batch is
    finished per phase (with the retry ladder) and the fallback is counted."""
    net = recurrent_network(Neuron(), DEVICE_MODELS["vteam"], 12, 6, 3)
    states = random_states(net, 0)
    x, y = _batch(net, 8, 4)
    engine = BatchedNgspiceEngine(net)
    try:
        engine.program(states)
        with caplog.at_level(logging.WARNING, logger="memprop.engine"):
            got = engine.phases(x, y, SYMMETRIC)
        ref = engine.twin.phases(x, y, SYMMETRIC)
    finally:
        engine.close()
    assert engine.stats["sweep_fallbacks"] == 1
    assert "the rest settle as per-phase .ops" in caplog.text
    assert _max_diff(got, ref) <= 1e-3


@pytest.mark.slow
def test_memory_stays_flat_over_many_batched_analyses(ngspice):
    """200 batches, each resumed in a sweep and its devices re-written, over several decks."""
    from memprop.cosim.bench.speed import rss_mb

    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (32, 16, 10))
    batches = [(*_batch(net, 2, k), SYMMETRIC) for k in range(300)]
    states = [glorot_states(net, k % 2, gain=0.5) for k in range(2)]
    engine = BatchedNgspiceEngine(net)

    def run(ks):
        for k in ks:
            engine.program(states[k % 2])
            engine.phases(*batches[k], upcoming=lambda m, k=k: batches[k + m] if k + m < len(batches) and
                          (k + m) % 50 else None)  # a new deck every 50 batches
    try:
        run(range(100))  # warm up allocator pools: RSS settles after the first two decks
        start = rss_mb()
        run(range(100, 300))
        end = rss_mb()
    finally:
        engine.close()
    assert engine.stats["chunks"] >= 5
    assert end - start < 10, (start, end)


def test_the_batched_engine_is_the_default_for_op_and_per_phase_on_request():
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (4, 3, 2))
    assert isinstance(make_engine("ngspice", net), BatchedNgspiceEngine)
    assert isinstance(make_engine("ngspice", net, batching="per-phase"), NgspiceEngine)
    assert isinstance(make_engine("ngspice", net, analysis="tran", batching="per-phase"), NgspiceEngine)
