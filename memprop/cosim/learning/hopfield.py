"""Conventional Hopfield networks: the baselines for pattern reconstruction.

Binary +-1 neurons, sign activation, asynchronous updates (one neuron at a time, in a fresh random
order every sweep) until a whole sweep changes nothing. Three storage rules, each in its standard,
strongest usual form:

- Hebbian (Hopfield 1982): W = (1/N) sum_mu xi xi^T, zero diagonal.
- Pseudo-inverse / projection (Personnaz 1985, Kanter & Sompolinsky 1987): W = X X^+ (the
  orthogonal projection onto the span of the patterns, so every pattern is an exact fixed point
  while P < N), diagonal zeroed (which enlarges the basins of attraction).
- Storkey (1997): incremental and local, W += (xi xi^T - xi h^T - h xi^T) / N with the local fields
  h_ij = sum_{k != i, j} w_ik xi_k; zero diagonal.

A neuron whose local field is exactly 0 keeps its state. `recall` takes an optional extra field per
cue and neuron (a bias, or the cue times a gain: the cue as a persistent input current).

Two further baselines for the reconstruction report:

- cue-trained (`fit_to_cues`): W and thresholds b fitted by ridge least squares to map corrupted
  training cues to their clean patterns (one update step), zero diagonal, then symmetrised so the
  asynchronous dynamics still converge. It sees the same corrupted cues a trained network sees.
- modern Hopfield (Ramsauer et al. 2020, the continuous dense associative memory of Krotov &
  Hopfield 2016): xi <- X softmax(beta X^T xi) with the stored patterns X kept verbatim; a fixed
  number of synchronous updates from the cue (initial state) or with the cue added to the query
  every update (input current).
"""

from __future__ import annotations

import numpy as np

RULES = ("hebbian", "pseudo-inverse", "storkey")


def store(patterns: np.ndarray, rule: str) -> np.ndarray:
    """Weights storing +-1 patterns (rows)."""
    xi = np.asarray(patterns, dtype=float)
    p, n = xi.shape
    if rule == "hebbian":
        w = xi.T @ xi / n
    elif rule == "pseudo-inverse":
        w = xi.T @ np.linalg.pinv(xi.T)
    elif rule == "storkey":
        w = np.zeros((n, n))
        for pattern in xi:
            h = w @ pattern - np.diag(w) * pattern  # h_i = sum_{k != i} w_ik xi_k
            hij = h[:, None] - w * pattern[None, :]  # h_ij = h_i - w_ij xi_j (k != i, j)
            w = w + (np.outer(pattern, pattern) - pattern[:, None] * hij.T - hij * pattern[None, :]) / n
    else:
        raise ValueError(f"unknown Hopfield rule {rule!r}")
    np.fill_diagonal(w, 0.0)
    return w


def recall(w: np.ndarray, cues: np.ndarray, seed: int, max_sweeps: int = 200,
           field: np.ndarray | None = None) -> np.ndarray:
    """Asynchronous sign updates from each +-1 cue (rows) until a fixed point (or max_sweeps).

    All cues are updated side by side, each one asynchronously: within a sweep the neurons are
    visited one at a time in a random order (fresh every sweep), and a neuron's update sees every
    earlier update of the same sweep. Symmetric weights with zero diagonal make this converge.
    `field` (per neuron, or per cue and neuron) is added to every local field: thresholds, or a
    persistent input current; the starting states may then be 0 (no initial state).
    """
    rng = np.random.default_rng(seed)
    states = np.array(cues, dtype=float)
    if states.ndim == 1:
        extra = None if field is None else np.atleast_2d(field)
        return recall(w, states[None], seed, max_sweeps, extra)[0]
    extra = np.zeros_like(states) + (0.0 if field is None else field)
    n = w.shape[0]
    for _ in range(max_sweeps):
        changed = False
        for i in rng.permutation(n):
            h = states @ w[i] + extra[:, i]
            new = np.where(h > 0, 1.0, np.where(h < 0, -1.0, states[:, i]))
            if np.any(new != states[:, i]):
                changed = True
                states[:, i] = new
        if not changed:
            break
    return states


def is_fixed_point(w: np.ndarray, pattern: np.ndarray) -> bool:
    """True when no neuron of the +-1 pattern would flip."""
    h = w @ pattern
    return bool(np.all((h * pattern > 0) | ((h == 0))))


def fit_to_cues(cues: np.ndarray, targets: np.ndarray, ridge: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Weights W and thresholds b fitted to map +-1 cues (rows) to their +-1 targets in one step.

    Ridge least squares per neuron i on [cue without bit i, 1] (so W has a zero diagonal; `ridge`
    times the number of cues on the normal equations' diagonal), then W symmetrised, which keeps
    the asynchronous dynamics convergent. Why: a classical network trained on the same corrupted
    cues as a trained network, so training on the corruption is not what separates the two.
    """
    c = np.asarray(cues, dtype=float)
    a = np.hstack([c, np.ones((len(c), 1))])
    gram = a.T @ a + ridge * len(c) * np.eye(a.shape[1])
    rhs = a.T @ np.asarray(targets, dtype=float)
    n = c.shape[1]
    w, b = np.zeros((n, n)), np.zeros(n)
    for i in range(n):
        keep = np.r_[0:i, i + 1:n + 1]
        sol = np.linalg.solve(gram[np.ix_(keep, keep)], rhs[keep, i])
        w[i, keep[:-1]], b[i] = sol[:-1], sol[-1]
    return 0.5 * (w + w.T), b


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by each row's maximum so a large beta does not overflow."""
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def modern_update(patterns: np.ndarray, queries: np.ndarray, beta: float) -> np.ndarray:
    """One update of the modern Hopfield network for every query row: X softmax(beta X^T xi).

    Why: the new state is a convex mixture of the stored patterns, weighted by how well each one
    matches the query; a large beta picks the best match, a small one averages them all.
    """
    x = np.asarray(patterns, dtype=float)
    return softmax_rows(beta * np.asarray(queries, dtype=float) @ x.T) @ x


def modern_recall(patterns: np.ndarray, cues: np.ndarray, beta: float, steps: int = 3,
                  gain: float | None = None) -> np.ndarray:
    """`steps` modern Hopfield updates from +-1 cues; the continuous states are returned.

    gain None: the cue is the initial state. A gain: the state starts at 0 and every update's
    query is state + gain * cue (the cue as a persistent input current).
    """
    c = np.asarray(cues, dtype=float)
    xi = c.copy() if gain is None else np.zeros_like(c)
    for _ in range(steps):
        xi = modern_update(patterns, xi if gain is None else xi + gain * c, beta)
    return xi
