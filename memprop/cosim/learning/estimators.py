"""Learning rules as gradient estimators: from settled phases to a weight change per crossbar.

EP (Scellier & Bengio 2017) for this circuit's energy
    E(V) = sum_i Phi(V_i) - 1/2 sum_{i!=j} W_ij V_i V_j - sum_{i,k} W_ik V_i x_k,   dE/dW_ij = -V_i s_j
gives, for a crossbar feeding target neurons t from source lines s (neurons, inputs or bias),

    one-sided:  dW = (eta / beta)  * < V_t^beta  s^beta^T  - V_t^0     s^0^T     >
    symmetric:  dW = (eta / 2beta) * < V_t^+beta s^+beta^T - V_t^-beta s^-beta^T >   (Laborieux 2021)

averaged over the batch. A tied crossbar (the feedback devices of a symmetric pair) receives the
transpose of its primary's change, so the pair stays programmed alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, runtime_checkable

import numpy as np

from memprop.circuits.network import Network
from memprop.cosim.engines.base import Engine, Phase, Upcoming


def layer_rates(network: Network, lr: tuple[float, ...]) -> dict[str, float]:
    """Learning rate of each neuron group (layer k uses lr[k-1], the last value repeats)."""
    out = {}
    for k, g in enumerate(network.neuron_groups):
        out[g.name] = float(lr[min(k, len(lr) - 1)])
    return out


def contrast(network: Network, high: Phase, low: Phase, scale: float,
             rates: dict[str, float]) -> dict[str, np.ndarray]:
    """dW per primary crossbar: scale * rate_target * <V_t s^T>_high - <V_t s^T>_low."""
    offsets = network.offsets()
    out = {}
    batch = high.v.shape[0]
    for bar in network.crossbars:
        if bar.tied_to is not None:
            continue
        t0, s0 = offsets[bar.target], offsets[bar.source]
        # one product over both phases, the factors on the small (batch x rows) side: no pass over
        # the rows x cols result but the product itself (and the mask, where there is one)
        k = scale * rates[bar.target] / batch
        vt = np.concatenate([k * high.sigma[:, t0:t0 + bar.rows], -k * low.sigma[:, t0:t0 + bar.rows]])
        ss = np.concatenate([high.sigma[:, s0:s0 + bar.cols], low.sigma[:, s0:s0 + bar.cols]])
        dw = vt.T @ ss
        out[bar.name] = dw if bar.dense else dw * bar.mask()
    return out


def ep_update(network: Network, phases: list[Phase], rates: dict[str, float]) -> dict[str, np.ndarray]:
    """EP weight change from [free, nudged] (one-sided) or [free, +beta, -beta] (symmetric)."""
    if len(phases) == 2:
        free, nudged = phases
        return contrast(network, nudged, free, 1.0 / nudged.beta, rates)
    _, plus, minus = phases
    return contrast(network, plus, minus, 1.0 / (plus.beta - minus.beta), rates)


def with_ties(network: Network, dw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Add each tied crossbar's change: its primary's, transposed."""
    out = dict(dw)
    for bar in network.crossbars:
        if bar.tied_to is not None:
            out[bar.name] = dw[bar.tied_to].T.copy()
    return out


def rbp_update(network: Network, free: Phase, lam: np.ndarray, rates: dict[str, float],
               side_gain: float = 1.0) -> dict[str, np.ndarray]:
    """RBP weight change per primary crossbar: -eta dL/dW with dL/dW_ts = <lambda_t s_s> / side_gain.

    A symmetric pair is one parameter seen from both crossbars, so its gradient is the sum of the
    two positions' products (the tied crossbar's, transposed); within a self-crossbar, G + G^T.
    """
    offsets = network.offsets()
    batch = free.v.shape[0]
    grads = {}
    for bar in network.crossbars:
        t0, s0 = offsets[bar.target], offsets[bar.source]
        grads[bar.name] = (lam[:, t0:t0 + bar.rows].T @ free.sigma[:, s0:s0 + bar.cols]) / (batch * side_gain)
    out = {}
    for bar in network.crossbars:
        if bar.tied_to is not None:
            continue
        g = grads[bar.name]
        for other in network.crossbars:
            if other.tied_to == bar.name:
                g = g + grads[other.name].T
        if bar.no_self:
            g = g + g.T
        out[bar.name] = -rates[bar.target] * g * bar.mask()
    return out


@dataclass(frozen=True)
class Step:
    """One training step's outcome: the free phase (for the loss), the rule's change per primary
    crossbar, and what goes to the devices (that change through the controller, ties added)."""

    free: Phase
    dw: dict[str, np.ndarray]
    write: dict[str, np.ndarray]


@runtime_checkable
class GradientEstimator(Protocol):
    """A learning rule: which phases a batch settles (its nudging schedule) and the weight change
    they give. EP and RBP differ only here, so no caller branches on the rule."""

    rule: str

    def betas(self, rng: np.random.Generator) -> list[float]:
        """This batch's nudging strengths, free phase first (rng: the batch's own, for random signs)."""

    def estimate(self, network: Network, engine: Engine, x: np.ndarray, y: np.ndarray, rates: dict[str, float],
                 betas: list[float], upcoming: Upcoming | None = None) -> tuple[Phase, dict[str, np.ndarray]]:
        """The free phase and the change per primary crossbar (at the layer `rates`)."""


@dataclass(frozen=True)
class EP:
    """Equilibrium propagation: a free phase, then nudged phases at +beta (and -beta)."""

    nudging: str = "symmetric"
    beta: float = 0.2
    rule: str = "ep"

    def betas(self, rng: np.random.Generator) -> list[float]:
        """one-sided [0, beta]; symmetric [0, beta, -beta]; random-sign [0, +-beta], the sign from rng."""
        if self.nudging == "one-sided":
            return [0.0, self.beta]
        if self.nudging == "symmetric":
            return [0.0, self.beta, -self.beta]
        return [0.0, self.beta if rng.random() < 0.5 else -self.beta]

    def estimate(self, network: Network, engine: Engine, x: np.ndarray, y: np.ndarray, rates: dict[str, float],
                 betas: list[float], upcoming: Upcoming | None = None) -> tuple[Phase, dict[str, np.ndarray]]:
        phases = engine.phases(x, y, betas, upcoming=upcoming)
        return phases[0], ep_update(network, phases, rates)


@dataclass(frozen=True)
class RBP:
    """Recurrent backpropagation: the free phase and the side network's adjoint, no nudging."""

    side_gain: float = 1.0
    rule: str = "rbp"

    def betas(self, rng: np.random.Generator) -> list[float]:
        return [0.0]

    def estimate(self, network: Network, engine: Engine, x: np.ndarray, y: np.ndarray, rates: dict[str, float],
                 betas: list[float], upcoming: Upcoming | None = None) -> tuple[Phase, dict[str, np.ndarray]]:
        free, lam = engine.adjoint_phase(x, y, upcoming=upcoming)
        return free, rbp_update(network, free, lam, rates, self.side_gain)


def make_estimator(rule: str, nudging: str = "symmetric", beta: float = 0.2) -> GradientEstimator:
    """The estimator of a config's rule (train.rule, train.nudging, train.beta)."""
    return RBP() if rule == "rbp" else EP(nudging, beta)


def train_step(rule: GradientEstimator, network: Network, engine: Engine, x: np.ndarray, y: np.ndarray,
               rates: dict[str, float], betas: list[float], *, upcoming: Upcoming | None = None,
               controller: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]] | None = None) -> Step:
    """Settle the batch's phases, estimate the change, and turn it into the writes (`controller`:
    the learning-rate schedule and optimizer, or a step limit; none: the change itself). The one
    step of every loop that learns: the trainer, reconstruction, bench speed and gradcheck."""
    free, dw = rule.estimate(network, engine, x, y, rates, betas, upcoming)
    return Step(free, dw, with_ties(network, controller(dw) if controller else dw))
