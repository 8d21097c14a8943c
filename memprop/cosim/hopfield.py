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

A neuron whose local field is exactly 0 keeps its state.
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


def recall(w: np.ndarray, cues: np.ndarray, seed: int, max_sweeps: int = 200) -> np.ndarray:
    """Asynchronous sign updates from each +-1 cue (rows) until a fixed point (or max_sweeps).

    All cues are updated side by side, each one asynchronously: within a sweep the neurons are
    visited one at a time in a random order (fresh every sweep), and a neuron's update sees every
    earlier update of the same sweep. Symmetric weights with zero diagonal make this converge.
    """
    rng = np.random.default_rng(seed)
    states = np.array(cues, dtype=float)
    if states.ndim == 1:
        return recall(w, states[None], seed, max_sweeps)[0]
    n = w.shape[0]
    for _ in range(max_sweeps):
        changed = False
        for i in rng.permutation(n):
            h = states @ w[i]
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
