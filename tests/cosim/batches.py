"""Random mini-batches for the batched engines and a loop that trains through them as the Trainer
does (each batch's device states programmed first, the upcoming batches offered for the deck)."""

from __future__ import annotations

import numpy as np

SYMMETRIC = [0.0, 0.3, -0.3]


def random_batches(net, count: int, size: int, seed: int = 1, high: float = 1.0):
    """`count` batches of `size` samples: uniform inputs in [0, high], one-hot targets at `high`."""
    rng = np.random.default_rng(seed)
    n_out = net.group(net.output_group).size
    return [(rng.uniform(0.0, high, (size, net.n_inputs)), high * np.eye(n_out)[rng.integers(0, n_out, size)],
             SYMMETRIC) for _ in range(count)]


def train_phases(engine, batches, states):
    """Every batch's phases, the engine programmed with states[k] before batch k, then closed."""
    out = []
    try:
        for k, batch in enumerate(batches):
            engine.program(states[k])
            out.append(engine.phases(*batch, upcoming=lambda m, k=k: batches[k + m] if k + m < len(batches) else None))
    finally:
        engine.close()
    return out
