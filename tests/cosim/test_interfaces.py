"""The two small interfaces every loop goes through: the Engine protocol (what any backend does)
and the GradientEstimator with its one train_step (what any rule does)."""

from __future__ import annotations

import numpy as np
import pytest

from memprop.circuits.devices import VTEAM
from memprop.circuits.network import glorot_states, layered_network, recurrent_network
from memprop.circuits.neuron import Neuron
from memprop.cosim.engines.base import Engine
from memprop.cosim.engines.factory import make_engine
from memprop.cosim.engines.twin import BehavioralEngine
from memprop.cosim.learning.estimators import (EP, RBP, GradientEstimator, ep_update, layer_rates, make_estimator,
                                               rbp_update, train_step, with_ties)
from memprop.cosim.runs.reconstruction import _CueInitEngine

ENGINES = {
    "behavioral": dict(backend="behavioral"),
    "ngspice-sweep": dict(backend="ngspice"),
    "ngspice-per-phase": dict(backend="ngspice", batching="per-phase"),
    "ngspice-rbp": dict(backend="ngspice", rule="rbp"),
    "ngspice-tran": dict(backend="ngspice", analysis="tran", settle_time=2.0),
    "ngspice-tran-dynamic": dict(backend="ngspice", analysis="tran", settle_time=2.0, device_form="dynamic"),
    "parallel": dict(backend="behavioral", workers=2),
}


def _net():
    return layered_network(Neuron(), VTEAM(), (6, 4, 2))


@pytest.mark.parametrize("kind", sorted(ENGINES))
def test_every_engine_the_factory_builds_is_an_engine(kind):
    engine = make_engine(network=_net(), **ENGINES[kind])
    try:
        assert isinstance(engine, Engine), type(engine).__name__
        assert isinstance(engine.name, str) and isinstance(engine.stats, dict)
    finally:
        engine.close()


def test_the_reconstruction_engine_is_an_engine_too():
    assert isinstance(_CueInitEngine(recurrent_network(Neuron(), VTEAM(), 4, 4, 4)), Engine)


def test_an_object_missing_a_call_is_not_an_engine():
    class Partial:
        name, stats = "partial", {}

        def phases(self, x, y, betas, upcoming=None):
            return []

    assert not isinstance(Partial(), Engine)


@pytest.mark.parametrize("nudging, expected", [("one-sided", [0.0, 0.3]), ("symmetric", [0.0, 0.3, -0.3])])
def test_ep_owns_its_nudging_schedule(nudging, expected):
    assert EP(nudging, 0.3).betas(np.random.default_rng(0)) == expected


def test_random_sign_nudging_draws_its_sign_from_the_batch_rng():
    signs = {EP("random-sign", 0.3).betas(np.random.default_rng(seed))[1] for seed in range(20)}
    assert signs == {0.3, -0.3}
    assert EP("random-sign", 0.3).betas(np.random.default_rng(5)) == EP("random-sign", 0.3).betas(
        np.random.default_rng(5))


def test_rbp_settles_the_free_phase_alone_and_the_factory_picks_by_rule():
    assert RBP().betas(np.random.default_rng(0)) == [0.0]
    assert isinstance(make_estimator("rbp"), RBP) and make_estimator("ep", "one-sided", 0.1) == EP("one-sided", 0.1)
    assert all(isinstance(e, GradientEstimator) for e in (EP(), RBP()))


def _setup():
    net = recurrent_network(Neuron(), VTEAM(), 6, 5, 3)  # tied crossbars: the write carries their transposes
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0, 1, (4, net.n_inputs)), np.eye(3)[rng.integers(0, 3, 4)]
    engine = BehavioralEngine(net)
    engine.program(glorot_states(net, 0, gain=0.5))
    return net, engine, x, y, layer_rates(net, (0.2,))


def test_train_step_is_the_rule_then_the_controller_then_the_ties():
    net, engine, x, y, rates = _setup()
    step = train_step(EP("symmetric", 0.2), net, engine, x, y, rates, [0.0, 0.2, -0.2],
                      controller=lambda dw: {k: 3 * v for k, v in dw.items()})
    by_hand = ep_update(net, engine.phases(x, y, [0.0, 0.2, -0.2]), rates)
    assert step.dw.keys() == by_hand.keys()
    assert all(np.array_equal(step.dw[k], by_hand[k]) for k in by_hand)
    tied = with_ties(net, {k: 3 * v for k, v in by_hand.items()})
    assert step.write.keys() == tied.keys() and len(tied) > len(by_hand)
    assert all(np.array_equal(step.write[k], tied[k]) for k in tied)
    assert np.array_equal(step.free.v, engine.phases(x, y, [0.0])[0].v)


def test_train_step_with_rbp_takes_the_adjoint():
    net, engine, x, y, rates = _setup()
    step = train_step(RBP(), net, engine, x, y, rates, [0.0])
    free, lam = engine.adjoint_phase(x, y)
    by_hand = rbp_update(net, free, lam, rates)
    assert all(np.array_equal(step.dw[k], by_hand[k]) for k in by_hand)
