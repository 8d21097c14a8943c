"""Pattern reconstruction (associative memory): memristor networks trained with EP or RBP against
conventional Hopfield networks of the same size.

Task: P stored binary patterns of N bits. A cue is a stored pattern with a fraction p of its bits
flipped (or a part occluded). The network settles from the cue; it succeeds when the settled
pattern, thresholded at mid-rail, equals the stored one exactly. We also report the bit error rate
and the cosine similarity.

The memristor network is fully recurrent: N visible neurons (the outputs) plus optional hidden
neurons, all symmetric, with the cue given as input currents through an input crossbar (cue
voltages in [v_low, v_high]). It is trained with the same EP / RBP rules, engines and device
updates as classification: the target of the visible neurons is the clean pattern, and every
epoch draws fresh corruptions of every pattern.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import Network, SynapseStates, glorot_states, recurrent_network
from memprop.circuits.neuron import Neuron
from memprop.cosim import hopfield
from memprop.cosim.datasets import binary_patterns, corrupt
from memprop.cosim.engines import make_engine
from memprop.cosim.programming import Fidelity, apply_update
from memprop.cosim.rules import ep_update, layer_rates, rbp_update, with_ties


@dataclass(frozen=True)
class ReconSettings:
    """One memristor-network operating point for reconstruction."""

    hidden: int = 64
    epochs: int = 60
    lr: float = 0.05
    beta: float = 0.2
    batch_size: int = 8
    train_flip: float = 0.15
    init_gain: float = 0.3
    seed: int = 0


@dataclass
class Scores:
    success: float
    bit_error_rate: float
    cosine: float
    extra: dict[str, Any] = field(default_factory=dict)


def score(recalled01: np.ndarray, targets01: np.ndarray) -> Scores:
    r = np.asarray(recalled01, dtype=float)
    t = np.asarray(targets01, dtype=float)
    success = float(np.mean(np.all(r == t, axis=1)))
    ber = float(np.mean(r != t))
    a, b = 2 * r - 1, 2 * t - 1
    cos = float(np.mean(np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))))
    return Scores(success, ber, cos)


def occlude(patterns: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Replace a random contiguous block of bits (a fraction of the pattern) by random bits."""
    rng = np.random.default_rng(seed)
    out = patterns.copy()
    n = patterns.shape[1]
    width = int(round(fraction * n))
    for row in out:
        start = rng.integers(0, n - width + 1)
        row[start:start + width] = rng.random(width) < 0.5
    return out


def hopfield_scores(patterns01: np.ndarray, cues01: np.ndarray, targets01: np.ndarray, rule: str,
                    seed: int) -> Scores:
    w = hopfield.store(2 * patterns01 - 1, rule)
    recalled = hopfield.recall(w, 2 * cues01 - 1, seed)
    return score((recalled > 0).astype(float), targets01)


def memristor_network(n: int, settings: ReconSettings, device: str = "vteam") -> Network:
    return recurrent_network(Neuron(), DEVICE_MODELS[device], n + settings.hidden, n, n)


def train_memristor(patterns01: np.ndarray, settings: ReconSettings, rule: str, backend: str = "behavioral",
                    device: str = "vteam") -> tuple[Network, SynapseStates, list[float]]:
    """Train a recurrent memristor network to map corrupted cues to their clean patterns."""
    n = patterns01.shape[1]
    network = memristor_network(n, settings, device)
    states = glorot_states(network, settings.seed, gain=settings.init_gain)
    engine = make_engine(backend, network, rule=rule)
    engine.program(states)
    rates = layer_rates(network, (settings.lr,))
    lo, hi = network.neuron.v_low, network.neuron.v_high
    losses = []
    fidelity = Fidelity()
    out = network.output_slice()
    try:
        for epoch in range(settings.epochs):
            rng = np.random.default_rng([settings.seed, epoch])
            order = rng.permutation(len(patterns01))
            cues = corrupt(patterns01[order], settings.train_flip, seed=settings.seed * 100003 + epoch)
            total = 0.0
            for start in range(0, len(order), settings.batch_size):
                sl = slice(start, start + settings.batch_size)
                x = lo + (hi - lo) * cues[sl]
                y = lo + (hi - lo) * patterns01[order][sl]
                if rule == "rbp":
                    free, lam = engine.adjoint_phase(x, y)
                    dw = rbp_update(network, free, lam, rates)
                else:
                    phases = engine.phases(x, y, [0.0, settings.beta, -settings.beta])
                    free = phases[0]
                    dw = ep_update(network, phases, rates)
                total += float(0.5 * np.sum((free.v[:, out] - y) ** 2))
                states = apply_update(network, states, with_ties(network, dw), "ideal", None, fidelity)
                engine.program(states)
            losses.append(total / len(order))
    finally:
        engine.close()
    return network, states, losses


def memristor_recall(network: Network, states: SynapseStates, cues01: np.ndarray, backend: str = "behavioral") -> np.ndarray:
    engine = make_engine(backend, network)
    engine.program(states)
    lo, hi = network.neuron.v_low, network.neuron.v_high
    try:
        v = engine.phases(lo + (hi - lo) * cues01, None, [0.0])[0].v[:, network.output_slice()]
    finally:
        engine.close()
    return (v > 0.5 * (lo + hi)).astype(float)


def sweep(kind: str, counts: list[int], flips: list[float], settings: ReconSettings, rules: tuple[str, ...],
          trials: int = 4, seed: int = 0) -> dict[str, Any]:
    """Success / BER / cosine for every method, stored-pattern count P and flip fraction p."""
    results: dict[str, Any] = {"kind": kind, "counts": counts, "flips": flips, "methods": {}, "seconds": {}}
    methods = list(hopfield.RULES) + [f"memristor-{r}" for r in rules]
    for m in methods:
        results["methods"][m] = {}
        results["seconds"][m] = 0.0
    for count in counts:
        patterns = binary_patterns(kind, count, seed)
        cue_sets = {p: [corrupt(patterns, p, seed=1000 * t + int(1000 * p)) for t in range(trials)] for p in flips}
        for rule in hopfield.RULES:
            t0 = time.perf_counter()
            for p in flips:
                cues = np.concatenate(cue_sets[p])
                s = hopfield_scores(patterns, cues, np.tile(patterns, (trials, 1)), rule, seed)
                results["methods"][rule][f"{count}:{p}"] = s.__dict__
            results["seconds"][rule] += time.perf_counter() - t0
        for r in rules:
            t0 = time.perf_counter()
            network, states, losses = train_memristor(patterns, settings, r)
            for p in flips:
                cues = np.concatenate(cue_sets[p])
                recalled = memristor_recall(network, states, cues)
                s = score(recalled, np.tile(patterns, (trials, 1)))
                s.extra = {"final_train_loss": losses[-1]}
                results["methods"][f"memristor-{r}"][f"{count}:{p}"] = s.__dict__
            results["seconds"][f"memristor-{r}"] += time.perf_counter() - t0
    return results


def capacity(results: dict[str, Any], method: str, flip: float, threshold: float = 0.9) -> int:
    """Largest P of the sweep with success >= threshold at flip fraction `flip` (0 if none)."""
    best = 0
    for count in results["counts"]:
        entry = results["methods"][method].get(f"{count}:{flip}")
        if entry and entry["success"] >= threshold:
            best = max(best, count)
    return best
