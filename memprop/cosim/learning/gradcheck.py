"""Gradient check: EP (several beta, one-sided and symmetric), RBP (twin and SPICE side network)
and central finite differences of the loss at the equilibrium, on one batch; and EP at the beta the
run trains with (train.beta), hard and smooth activation, against the true gradient: small betas
show the estimator is right, the training beta how far the finite nudge the run uses biases it.

All gradients are dL/dW for the primary crossbars' weights (a symmetric pair is one weight),
L = mean over the batch of 1/2 ||V_out - y||^2 at the free equilibrium.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations
from typing import Any

import numpy as np

from memprop.circuits.network import Network, SynapseStates
from memprop.circuits.validation import ConfigError
from memprop.cosim.engines.behavioral import BehavioralNetwork
from memprop.cosim.config.config import Config, build_network, initial_states
from memprop.cosim.engines.perphase import NgspiceEngine
from memprop.cosim.engines.twin import BehavioralEngine
from memprop.cosim.engines.base import Engine
from memprop.cosim.learning.estimators import EP, RBP, GradientEstimator, train_step


def _flat(network: Network, grads: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([grads[b.name][b.mask().astype(bool)] for b in network.crossbars if b.tied_to is None])


def _weight_index(network: Network) -> list[tuple[str, int, int]]:
    out = []
    for bar in network.crossbars:
        if bar.tied_to is None:
            rows, cols = np.nonzero(bar.mask())
            out += [(bar.name, int(i), int(j)) for i, j in zip(rows, cols)]
    return out


def batch_for(cfg: Config, network: Network, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and one-hot targets: the config's dataset when it fits the network, else random."""
    lo, hi = network.neuron.v_low, network.neuron.v_high
    n_out = network.group(network.output_group).size
    rng = np.random.default_rng(seed)
    if network.n_inputs == 64 and n_out == 10:
        from memprop.cosim.data.datasets import digits

        d = digits()
        idx = rng.choice(len(d.y), size=size, replace=False)
        x, labels = lo + (hi - lo) * d.x[idx], d.y[idx]
    else:
        x, labels = rng.uniform(lo, hi, (size, network.n_inputs)), rng.integers(0, n_out, size)
    y = np.full((size, n_out), lo)
    y[np.arange(size), labels] = hi
    return x, y


def finite_differences(network: Network, states: SynapseStates, x: np.ndarray, y: np.ndarray,
                       weights: list[tuple[str, int, int]], h: float = 1e-4) -> np.ndarray:
    """Central differences of the loss w.r.t. each listed weight, perturbing W directly in the twin."""
    twin = BehavioralNetwork(network, states)
    base_a = twin.A.copy()
    offsets = network.offsets()
    out = network.output_slice()
    ties = {b.tied_to: b for b in network.crossbars if b.tied_to is not None}
    u0 = twin.equilibrium(x).u

    def loss() -> float:
        eq = twin.equilibrium(x, u0=u0)
        return float(np.mean(0.5 * np.sum((eq.v[:, out] - y) ** 2, axis=1)))

    grads = np.zeros(len(weights))
    dg = h / network.neuron.r_f
    for k, (name, i, j) in enumerate(weights):
        bar = network.crossbar(name)
        positions = [(offsets[bar.target] + i, offsets[bar.source] + j)]
        if name in ties:
            tb = ties[name]
            positions.append((offsets[tb.target] + j, offsets[tb.source] + i))
        if bar.no_self:
            positions.append((offsets[bar.target] + j, offsets[bar.source] + i))
        values = []
        for sign in (1.0, -1.0):
            twin.A = base_a.copy()
            for r, c in positions:
                twin.A[r, c] += sign * dg
            values.append(loss())
        grads[k] = (values[0] - values[1]) / (2 * h)
    twin.A = base_a
    return grads


def compare(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Cosine of a with b, and |a - b| / |b| (NaN when either is zero)."""
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    cos = float(a @ b / (na * nb)) if na > 0 and nb > 0 else float("nan")
    rel = float(np.linalg.norm(a - b) / nb) if nb > 0 else float("nan")
    return {"cosine": cos, "relative_error": rel}


def gradient(network: Network, engine: Engine, learner: GradientEstimator, x: np.ndarray,
             y: np.ndarray) -> np.ndarray:
    """dL/dW (flat) as `learner` estimates it from `engine`'s phases: minus its change at unit rates,
    the same training step the trainer takes."""
    rates = {g.name: 1.0 for g in network.neuron_groups}
    betas = learner.betas(np.random.default_rng(0))
    return -_flat(network, train_step(learner, network, engine, x, y, rates, betas).dw)


def spice_gradient(network: Network, states: SynapseStates, learner: GradientEstimator, x: np.ndarray,
                   y: np.ndarray, **engine_options: Any) -> np.ndarray:
    """`gradient` from a per-phase ngspice engine of its own (side=True: RBP's side network)."""
    engine = NgspiceEngine(network, **engine_options)
    engine.program(states)
    try:
        return gradient(network, engine, learner, x, y)
    finally:
        engine.close()


def ep_gradients(network: Network, states: SynapseStates, x: np.ndarray, y: np.ndarray,
                 beta: float) -> dict[str, np.ndarray]:
    """dL/dW as EP estimates it at nudging `beta`, one-sided ([0, beta]) and symmetric ([+beta, -beta])."""
    engine = BehavioralEngine(network)
    engine.program(states)
    return {nudging: gradient(network, engine, EP(nudging, beta), x, y) for nudging in ("one-sided", "symmetric")}


def at_training_beta(cfg: Config, x: np.ndarray, y: np.ndarray, subset: np.ndarray) -> dict[str, Any]:
    """EP at train.beta against finite differences, for each activation the neuron level realises
    (the cmos and sky130 cells clip: hard only). The network, devices and batch are gradcheck's."""
    out: dict[str, Any] = {}
    for activation in ("hard", "smooth"):
        try:
            c = replace(cfg, neuron=replace(cfg.neuron, activation=activation), sim=replace(cfg.sim, beta=0.0))
        except ConfigError:
            continue
        network = build_network(c)
        states = initial_states(c, network)
        weights = _weight_index(network)
        fd = finite_differences(network, states, x, y, [weights[k] for k in subset])
        grads = ep_gradients(network, states, x, y, cfg.train.beta)
        out[activation] = {nudging: compare(g[subset], fd) for nudging, g in grads.items()}
    return {"beta": cfg.train.beta, "activations": out}


def gradcheck(cfg: Config, *, batch: int = 8, betas: tuple[float, ...] = (0.001, 0.01, 0.1), seed: int = 0,
              spice: bool = True, max_fd: int = 300, training: bool = True) -> dict[str, Any]:
    """Every estimate's cosine and relative error with every other on one batch (`training`: also EP
    at train.beta, hard and smooth, against the true gradient)."""
    network = build_network(replace(cfg, sim=replace(cfg.sim, beta=0.0)))
    states = initial_states(cfg, network)
    x, y = batch_for(cfg, network, batch, seed)
    engine = BehavioralEngine(network)
    engine.program(states)
    grads: dict[str, np.ndarray] = {}
    for beta in betas:
        grads[f"ep_onesided_b{beta:g}"] = gradient(network, engine, EP("one-sided", beta), x, y)
        grads[f"ep_symmetric_b{beta:g}"] = gradient(network, engine, EP("symmetric", beta), x, y)
    grads["rbp_behavioral"] = gradient(network, engine, RBP(), x, y)
    if spice:
        grads["rbp_spice_side_network"] = spice_gradient(network, states, RBP(), x, y, side=True)
    weights = _weight_index(network)
    rng = np.random.default_rng(seed)
    subset = np.arange(len(weights)) if len(weights) <= max_fd else np.sort(rng.choice(len(weights), max_fd, replace=False))
    fd = finite_differences(network, states, x, y, [weights[k] for k in subset])
    restricted = {name: g[subset] for name, g in grads.items()}
    restricted["finite_differences"] = fd
    pairs = {f"{a} vs {b}": compare(restricted[a], restricted[b]) for a, b in combinations(restricted, 2)}
    result = {"network": network.topology, "neurons": network.n_neurons, "weights": len(weights),
              "weights_checked": int(len(subset)), "batch": batch, "pairs": pairs,
              "norms": {k: float(np.linalg.norm(v)) for k, v in restricted.items()}}
    if training:
        result["training_beta"] = at_training_beta(cfg, x, y, subset)
    return result
