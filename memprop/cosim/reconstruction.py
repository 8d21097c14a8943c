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
from memprop.cosim.engines import BehavioralEngine, make_engine
from memprop.cosim.programming import Fidelity, apply_update
from memprop.cosim.rules import Phase, ep_update, layer_rates, rbp_update, with_ties


@dataclass(frozen=True)
class ReconSettings:
    """One memristor-network operating point for reconstruction."""

    hidden: int = 64
    epochs: int = 60
    lr: float = 0.05
    #: learning rate at the last epoch, as a fraction of lr (cosine schedule; 1 = constant)
    lr_final: float = 1.0
    beta: float = 0.2
    batch_size: int = 8
    #: corrupted cues drawn per pattern per epoch
    copies: int = 1
    #: each training cue flips a fraction drawn uniformly in [train_flip_min, train_flip] of the bits
    train_flip: float = 0.15
    train_flip_min: float | None = None
    init_gain: float = 0.3
    activation: str = "hard"
    #: also start the visible neurons at the cue (behavioural backend only; ngspice .op has no ICs)
    cue_init: bool = False
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
    return recurrent_network(Neuron(activation=settings.activation), DEVICE_MODELS[device],
                             n + settings.hidden, n, n)


def training_cues(patterns01: np.ndarray, settings: ReconSettings, epoch: int) -> tuple[np.ndarray, np.ndarray]:
    """One epoch's (cues, clean targets): `copies` corruptions of every pattern, shuffled.

    Each cue flips exactly round(f * N) bits with f drawn uniformly in [train_flip_min, train_flip]
    (train_flip_min defaults to train_flip: a fixed corruption level).
    """
    rng = np.random.default_rng([settings.seed, 7919, epoch])
    targets = np.tile(patterns01, (settings.copies, 1))
    lo = settings.train_flip if settings.train_flip_min is None else settings.train_flip_min
    fractions = rng.uniform(lo, settings.train_flip, size=len(targets))
    cues = targets.copy()
    n = patterns01.shape[1]
    for row, f in zip(cues, fractions):
        idx = rng.choice(n, size=int(round(f * n)), replace=False)
        row[idx] = 1.0 - row[idx]
    order = rng.permutation(len(targets))
    return cues[order], targets[order]


class _CueInitEngine:
    """The behavioural engine with the visible neurons starting at the cue (initial condition).

    The free phase relaxes from u = (0 hidden, cue visible) instead of u = 0; the nudged phases
    continue from the free equilibrium, as always.
    """

    name = "behavioral+cue-init"

    def __init__(self, network: Network) -> None:
        self.inner = BehavioralEngine(network)
        self.network = network
        self.stats = self.inner.stats

    def program(self, states: SynapseStates) -> None:
        self.inner.program(states)

    def _u0(self, x: np.ndarray) -> np.ndarray:
        u0 = np.zeros((x.shape[0], self.network.n_neurons))
        u0[:, self.network.output_slice()] = x
        return u0

    def phases(self, x: np.ndarray, y: np.ndarray | None, betas: list[float]) -> list[Phase]:
        twin = self.inner.twin
        free = twin.equilibrium(x, u0=self._u0(x))
        out = [Phase(0.0, free.v, twin.signals(free.v, x))]
        for beta in betas[1:]:
            eq = twin.equilibrium(x, y, beta, u0=free.u)
            out.append(Phase(beta, eq.v, twin.signals(eq.v, x)))
        return out

    def adjoint_phase(self, x: np.ndarray, y: np.ndarray) -> tuple[Phase, np.ndarray]:
        twin = self.inner.twin
        free = twin.equilibrium(x, u0=self._u0(x))
        return Phase(0.0, free.v, twin.signals(free.v, x)), twin.adjoint(free, y)

    def close(self) -> None:
        pass


def recon_engine(backend: str, network: Network, settings: ReconSettings, rule: str = "ep"):
    if settings.cue_init:
        if backend != "behavioral":
            raise ValueError("cue as initial condition runs on the behavioural backend only "
                             "(ngspice .op analyses take no initial conditions)")
        return _CueInitEngine(network)
    return make_engine(backend, network, rule=rule)


def _lr_at(settings: ReconSettings, epoch: int) -> float:
    if settings.epochs <= 1 or settings.lr_final == 1.0:
        return settings.lr
    frac = epoch / (settings.epochs - 1)
    scale = settings.lr_final + (1.0 - settings.lr_final) * 0.5 * (1.0 + np.cos(np.pi * frac))
    return settings.lr * scale


def train_memristor(patterns01: np.ndarray, settings: ReconSettings, rule: str, backend: str = "behavioral",
                    device: str = "vteam", monitor=None) -> tuple[Network, SynapseStates, list[float]]:
    """Train a recurrent memristor network to map corrupted cues to their clean patterns.

    `monitor(epoch, network, states)` is called after every epoch when given.
    """
    n = patterns01.shape[1]
    network = memristor_network(n, settings, device)
    states = glorot_states(network, settings.seed, gain=settings.init_gain)
    engine = recon_engine(backend, network, settings, rule)
    engine.program(states)
    lo, hi = network.neuron.v_low, network.neuron.v_high
    losses = []
    fidelity = Fidelity()
    out = network.output_slice()
    try:
        for epoch in range(settings.epochs):
            rates = layer_rates(network, (_lr_at(settings, epoch),))
            cues, targets = training_cues(patterns01, settings, epoch)
            total = 0.0
            for start in range(0, len(cues), settings.batch_size):
                sl = slice(start, start + settings.batch_size)
                x = lo + (hi - lo) * cues[sl]
                y = lo + (hi - lo) * targets[sl]
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
            losses.append(total / len(cues))
            if monitor is not None:
                monitor(epoch, network, states)
    finally:
        engine.close()
    return network, states, losses


def memristor_recall(network: Network, states: SynapseStates, cues01: np.ndarray, backend: str = "behavioral",
                     cue_init: bool = False, engine=None) -> np.ndarray:
    """Settle from each cue (input current, and initial condition with cue_init); threshold at mid-rail."""
    lo, hi = network.neuron.v_low, network.neuron.v_high
    own = engine is None
    if own:
        engine = recon_engine(backend, network, ReconSettings(cue_init=cue_init))
        engine.program(states)
    try:
        v = engine.phases(lo + (hi - lo) * cues01, None, [0.0])[0].v[:, network.output_slice()]
    finally:
        if own:
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
