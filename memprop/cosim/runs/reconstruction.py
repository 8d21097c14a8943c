"""Pattern reconstruction (associative memory): memristor networks trained with EP or RBP against
conventional Hopfield networks (memprop.cosim.learning.hopfield) storing the same patterns.

Task: P stored binary patterns of N bits. A cue is a stored pattern with a fraction p of its bits
flipped, or a contiguous block blanked (occlusion). The network settles from the cue; it succeeds
when the settled pattern, thresholded at mid-rail, equals the stored one exactly. We also report
the bit error rate and the cosine similarity.

The memristor network is fully recurrent: N visible neurons (the outputs) plus hidden neurons, all
connected symmetrically, with the cue given as input currents through an input crossbar (cue
voltages in [v_low, v_high]); this path runs on both backends. On the behavioural backend the cue
can also be the initial state of the visible neurons (`cue_init`; ngspice `.op` takes no initial
conditions). Training uses the same EP / RBP rules, engines and device updates as classification:
the target of the visible neurons is the clean pattern, and every epoch draws fresh corruptions of
every pattern (`copies` per pattern, flip fractions drawn from a range, a share of occlusions).

What made training work (P = 16 random patterns, p = 0.1: ~10 % -> 100 %): the smooth activation
(the hard clip has rho' = 0 on saturated units, so a saturated wrong bit gets no gradient in RBP and
no nudge response in EP), several corrupted cues per pattern per epoch, small batches (4) with a
moderate rate, and hidden units (128 learn faster than 64 at large P).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import Network, SynapseStates, glorot_states, recurrent_network, tie
from memprop.circuits.neuron import Neuron
from memprop.cosim.learning import hopfield
from memprop.cosim.data.datasets import corrupt
from memprop.cosim.engines.twin import BehavioralEngine
from memprop.cosim.engines.factory import make_engine
from memprop.cosim.programming.writes import Fidelity, apply_update
from memprop.cosim.engines.base import Phase
from memprop.cosim.learning.estimators import make_estimator, layer_rates, train_step


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
    #: corrupted cues drawn per pattern per epoch (at least; see min_cues)
    copies: int = 1
    #: at least this many cues per epoch: a small P gets more copies per pattern, so every P of a
    #: sweep is trained with about as many weight updates (P * copies grows only beyond it)
    min_cues: int = 0
    #: each training cue flips a fraction drawn uniformly in [train_flip_min, train_flip] of the bits
    train_flip: float = 0.15
    train_flip_min: float | None = None
    #: share of the training cues that are occluded (a blank block of 10-40 % of the bits) instead
    occlude_share: float = 0.0
    init_gain: float = 0.3
    #: largest weight change per device pair and update (0: no limit), as programming pulses of
    #: bounded size would give; keeps a step near a bifurcation of the equilibrium from jumping far
    max_step: float = 0.0
    activation: str = "hard"
    #: also start the visible neurons at the cue (behavioural backend only; ngspice .op has no ICs)
    cue_init: bool = False
    #: the cue enters as input currents through an input crossbar; False: the network has no input
    #: crossbar (one input line held at 0 V) and the cue is only the visible neurons' initial state
    cue_current: bool = True
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


def occlude(patterns: np.ndarray, fraction: float, seed: int, fill: str = "zero") -> np.ndarray:
    """Hide a contiguous block of each pattern (a fraction of its bits, at a random position).

    The block runs in row-major order, so for 8x8 images it is a band of whole rows (plus part of
    one). `fill = "zero"` turns the hidden bits off (a blank patch); `"random"` replaces them with
    random bits.
    """
    rng = np.random.default_rng(seed)
    out = np.array(patterns, dtype=float)
    n = out.shape[1]
    width = int(round(fraction * n))
    for row in out:
        start = rng.integers(0, n - width + 1)
        row[start:start + width] = 0.0 if fill == "zero" else (rng.random(width) < 0.5)
    return out


def cue_set(patterns01: np.ndarray, corruption: str, level: float, trials: int, seed: int) -> np.ndarray:
    """`trials` corrupted cues of every pattern, stacked trial by trial: (trials * P, N).

    corruption: "flip" (exactly round(level * N) bits flipped) or "occlude" (a block of that size
    turned off). The seed depends on the corruption, level and trial only, so every method (and
    every P: the pattern sets are nested) sees the same cues of the same patterns.
    """
    base = int(round(1000 * level)) + (0 if corruption == "flip" else 500_000)
    make = corrupt if corruption == "flip" else occlude
    return np.concatenate([make(patterns01, level, seed=seed * 1_000_003 + 1000 * t + base) for t in range(trials)])


def hopfield_recall01(patterns01: np.ndarray, cues01: np.ndarray, rule: str, seed: int) -> np.ndarray:
    """Store the {0,1} patterns as +-1 with a Hopfield rule and recall from the cues; {0,1} out."""
    w = hopfield.store(2 * patterns01 - 1, rule)
    recalled = hopfield.recall(w, 2 * cues01 - 1, seed)
    return (recalled > 0).astype(float)


def hopfield_scores(patterns01: np.ndarray, cues01: np.ndarray, targets01: np.ndarray, rule: str,
                    seed: int) -> Scores:
    return score(hopfield_recall01(patterns01, cues01, rule, seed), targets01)


def nearest_pattern(patterns01: np.ndarray, cues01: np.ndarray, seed: int = 0) -> np.ndarray:
    """Reference decoder (not a network): the stored pattern nearest to each cue in Hamming
    distance, ties broken at random. It needs all patterns kept verbatim and a comparison with each."""
    rng = np.random.default_rng(seed)
    d = (np.asarray(cues01)[:, None, :] != np.asarray(patterns01)[None]).sum(-1).astype(float)
    d += 0.5 * rng.random(d.shape)  # random tie-break among equally near patterns
    return np.asarray(patterns01)[np.argmin(d, axis=1)]


def memristor_network(n: int, settings: ReconSettings, device: str = "vteam") -> Network:
    """N visible + hidden neurons; N input lines for the cue, or one idle line when the cue is only
    the initial state (so the network has no input crossbar worth counting)."""
    return recurrent_network(Neuron(activation=settings.activation), DEVICE_MODELS[device],
                             n + settings.hidden, n if settings.cue_current else 1, n)


def copies_per_pattern(settings: ReconSettings, count: int) -> int:
    """Cues per pattern per epoch: `copies`, raised so an epoch holds at least `min_cues` cues."""
    return max(settings.copies, -(-settings.min_cues // max(count, 1)))


def training_cues(patterns01: np.ndarray, settings: ReconSettings, epoch: int) -> tuple[np.ndarray, np.ndarray]:
    """One epoch's (cues, clean targets): `copies` corruptions of every pattern, shuffled.

    Each cue flips exactly round(f * N) bits with f drawn uniformly in [train_flip_min, train_flip]
    (train_flip_min defaults to train_flip: a fixed corruption level); a share `occlude_share` of
    the cues is instead occluded: a blank block of 10-40 % of the bits at a random position.
    """
    rng = np.random.default_rng([settings.seed, 7919, epoch])
    targets = np.tile(patterns01, (copies_per_pattern(settings, len(patterns01)), 1))
    lo = settings.train_flip if settings.train_flip_min is None else settings.train_flip_min
    fractions = rng.uniform(lo, settings.train_flip, size=len(targets))
    hidden = rng.random(len(targets)) < settings.occlude_share
    blocks = rng.uniform(0.1, 0.4, size=len(targets))
    cues = targets.copy()
    n = patterns01.shape[1]
    for row, f, occ, b in zip(cues, fractions, hidden, blocks):
        if occ:
            width = int(round(b * n))
            start = rng.integers(0, n - width + 1)
            row[start:start + width] = 0.0
        else:
            idx = rng.choice(n, size=int(round(f * n)), replace=False)
            row[idx] = 1.0 - row[idx]
    order = rng.permutation(len(targets))
    return cues[order], targets[order]


class _CueInitEngine:
    """The behavioural engine with the visible neurons starting at the cue (initial condition).

    The free phase relaxes from u = (0 hidden, cue visible) instead of u = 0; the nudged phases
    continue from the free equilibrium, as always. With current=False the cue is only the initial
    state: the input lines carry 0 V, so no cue current flows.
    """

    name = "behavioral+cue-init"

    def __init__(self, network: Network, current: bool = True) -> None:
        self.inner = BehavioralEngine(network)
        self.network = network
        self.current = current
        self.stats = self.inner.stats

    def _input(self, x: np.ndarray) -> np.ndarray:
        return x if self.current else np.zeros((x.shape[0], self.network.n_inputs))

    def program(self, states: SynapseStates) -> None:
        self.inner.program(states)

    def _u0(self, x: np.ndarray) -> np.ndarray:
        u0 = np.zeros((x.shape[0], self.network.n_neurons))
        u0[:, self.network.output_slice()] = x
        return u0

    def current_states(self) -> SynapseStates:
        return self.inner.current_states()

    def phases(self, cue: np.ndarray, y: np.ndarray | None, betas: list[float], upcoming: Any = None) -> list[Phase]:
        twin, x = self.inner.twin, self._input(cue)
        free = twin.equilibrium(x, u0=self._u0(cue))
        out = [Phase(0.0, free.v, twin.signals(free.v, x))]
        for beta in betas[1:]:
            eq = twin.equilibrium(x, y, beta, u0=free.u)
            out.append(Phase(beta, eq.v, twin.signals(eq.v, x)))
        return out

    def adjoint_phase(self, cue: np.ndarray, y: np.ndarray, upcoming: Any = None) -> tuple[Phase, np.ndarray]:
        twin, x = self.inner.twin, self._input(cue)
        free = twin.equilibrium(x, u0=self._u0(cue))
        return Phase(0.0, free.v, twin.signals(free.v, x)), twin.adjoint(free, y)

    def close(self) -> None:
        pass


def recon_engine(backend: str, network: Network, settings: ReconSettings, rule: str = "ep"):
    if settings.cue_init or not settings.cue_current:
        if backend != "behavioral":
            raise ValueError("cue as initial condition runs on the behavioural backend only "
                             "(ngspice .op analyses take no initial conditions)")
        return _CueInitEngine(network, current=settings.cue_current)
    return make_engine(backend, network, rule=rule)


def _lr_at(settings: ReconSettings, epoch: int) -> float:
    if settings.epochs <= 1 or settings.lr_final == 1.0:
        return settings.lr
    frac = epoch / (settings.epochs - 1)
    scale = settings.lr_final + (1.0 - settings.lr_final) * 0.5 * (1.0 + np.cos(np.pi * frac))
    return settings.lr * scale


def with_weights(network: Network, states: SynapseStates, weights: dict[str, np.ndarray]) -> SynapseStates:
    """The states with some crossbars programmed to given weights (G+- = g_mid +- W / (2 R_f),
    clipped to the device range, as glorot_states does), tied crossbars redone."""
    dev = network.device
    g_mid = 0.5 * (dev.g_min + dev.g_max)
    new = {}
    for name, w in weights.items():
        dg = np.asarray(w, dtype=float) / (2.0 * network.neuron.r_f)
        new[name] = dev.state_for(np.clip(np.stack([g_mid + dg, g_mid - dg]), dev.g_min, dev.g_max))
    return tie(network, SynapseStates({**states.states, **new}))


def train_memristor(patterns01: np.ndarray, settings: ReconSettings, rule: str, backend: str = "behavioral",
                    device: str = "vteam", monitor=None, stats_out: dict[str, Any] | None = None,
                    init_weights: dict[str, np.ndarray] | None = None) -> tuple[Network, SynapseStates, list[float]]:
    """Train a recurrent memristor network to map corrupted cues to their clean patterns.

    `monitor(epoch, network, states)` is called after every epoch when given; the engine's
    counters (ngspice: analyses, restarts, largest deviation from the twin) land in `stats_out`.
    `init_weights` (crossbar name -> weights) replaces those crossbars' Glorot start (a warm start).
    """
    n = patterns01.shape[1]
    network = memristor_network(n, settings, device)
    states = glorot_states(network, settings.seed, gain=settings.init_gain)
    if init_weights:
        states = with_weights(network, states, init_weights)
    engine = recon_engine(backend, network, settings, rule)
    engine.program(states)
    lo, hi = network.neuron.v_low, network.neuron.v_high
    losses = []
    fidelity = Fidelity()
    out = network.output_slice()
    learner = make_estimator(rule, "symmetric", settings.beta)
    betas = learner.betas(np.random.default_rng(settings.seed))
    limit = (lambda dw: {k: np.clip(v, -settings.max_step, settings.max_step) for k, v in dw.items()}) \
        if settings.max_step > 0 else None
    try:
        for epoch in range(settings.epochs):
            rates = layer_rates(network, (_lr_at(settings, epoch),))
            cues, targets = training_cues(patterns01, settings, epoch)
            total = 0.0
            for start in range(0, len(cues), settings.batch_size):
                sl = slice(start, start + settings.batch_size)
                x = lo + (hi - lo) * cues[sl]
                y = lo + (hi - lo) * targets[sl]
                step = train_step(learner, network, engine, x, y, rates, betas, controller=limit)
                total += float(0.5 * np.sum((step.free.v[:, out] - y) ** 2))
                states = apply_update(network, states, step.write, "ideal", None, fidelity)
                engine.program(states)
            losses.append(total / len(cues))
            if monitor is not None:
                monitor(epoch, network, states)
    finally:
        if stats_out is not None:
            stats_out.update(getattr(engine, "stats", {}))
        engine.close()
    return network, states, losses


def memristor_recall(network: Network, states: SynapseStates, cues01: np.ndarray, backend: str = "behavioral",
                     cue_init: bool = False, engine=None, cue_current: bool = True) -> np.ndarray:
    """Settle from each cue (input current; also initial condition with cue_init; only initial
    condition with cue_current=False); threshold at mid-rail."""
    lo, hi = network.neuron.v_low, network.neuron.v_high
    own = engine is None
    if own:
        engine = recon_engine(backend, network, ReconSettings(cue_init=cue_init, cue_current=cue_current))
        engine.program(states)
    try:
        v = engine.phases(lo + (hi - lo) * cues01, None, [0.0])[0].v[:, network.output_slice()]
    finally:
        if own:
            engine.close()
    return (v > 0.5 * (lo + hi)).astype(float)


def capacity(success_by_count: dict[int, float], threshold: float = 0.9) -> int:
    """The largest stored-pattern count P whose success rate is >= threshold (0 if none).

    Literal: a P that passes counts even when a smaller P of the grid failed (the curves are
    reported beside it, so such a case is visible).
    """
    passing = [int(count) for count, success in success_by_count.items() if success >= threshold]
    return max(passing, default=0)
