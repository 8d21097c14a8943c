"""Conventional Hopfield networks: the baselines for pattern reconstruction.

Binary +-1 neurons, sign activation, asynchronous updates in a random order until nothing changes.
Three storage rules, each in its standard, strongest usual form:
- Hebbian (Hopfield 1982): W = (1/N) sum_mu xi xi^T, zero diagonal.
- Pseudo-inverse / projection (Personnaz 1985, Kanter & Sompolinsky 1987): W = X X^+, diagonal
  zeroed (which enlarges the basins of attraction).
- Storkey (1997): incremental, W += (xi xi^T - xi h^T - h xi^T) / N with local fields h.
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


def recall(w: np.ndarray, cues: np.ndarray, seed: int, max_sweeps: int = 100) -> np.ndarray:
    """Asynchronous sign updates from each +-1 cue until a fixed point (or max_sweeps)."""
    rng = np.random.default_rng(seed)
    states = np.array(cues, dtype=float)
    n = w.shape[0]
    for s in states:
        for _ in range(max_sweeps):
            changed = False
            for i in rng.permutation(n):
                h = w[i] @ s
                new = 1.0 if h > 0 else (-1.0 if h < 0 else s[i])
                if new != s[i]:
                    s[i] = new
                    changed = True
            if not changed:
                break
    return states
