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

import numpy as np

from memprop.circuits.network import Network

NUDGINGS = ("one-sided", "symmetric", "random-sign")
RULES = ("ep", "rbp")


@dataclass
class Phase:
    """One settled phase of a batch: activations V (B, N) and the full signal vector (B, S)."""

    beta: float
    v: np.ndarray
    sigma: np.ndarray


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
