"""How the controller turns a rule's weight change into the change it writes: the learning rate's
schedule over epochs, then heavy-ball momentum.

Both live in the controller (Python), not in the circuit, so they act the same with either backend.
The factor depends on the epoch only (never on how long the run is), and the velocity is part of a
checkpoint, so a resumed run writes exactly what the uninterrupted one does.
"""

from __future__ import annotations

import math

import numpy as np

from memprop.circuits.network import Network
from memprop.circuits.validation import ConfigError
from memprop.cosim.config import TrainConfig

#: Checkpoint arrays of the velocity: one per primary crossbar.
VELOCITY_PREFIX = "velocity__"


def lr_factor(tcfg: TrainConfig, epoch: int) -> float:
    """What the learning rates are multiplied by in `epoch` (0-based)."""
    if tcfg.lr_schedule == "cosine":
        done = min(epoch, tcfg.lr_decay_epochs) / tcfg.lr_decay_epochs
        return tcfg.lr_min + (1.0 - tcfg.lr_min) * 0.5 * (1.0 + math.cos(math.pi * done))
    if tcfg.lr_schedule == "step":
        return max(tcfg.lr_step_factor ** (epoch // tcfg.lr_step_epochs), tcfg.lr_min)
    return 1.0


def zero_velocity(network: Network) -> dict[str, np.ndarray]:
    """A velocity at rest for every primary crossbar (tied ones follow their primary)."""
    return {bar.name: np.zeros((bar.rows, bar.cols)) for bar in network.crossbars if bar.tied_to is None}


def step(tcfg: TrainConfig, epoch: int, dw: dict[str, np.ndarray],
         velocity: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The change to write for a rule's change dw (primary crossbars): v <- momentum v + factor dw, write v.
    Updates `velocity` in place; without momentum it stays empty and the change is factor dw."""
    factor = lr_factor(tcfg, epoch)
    if tcfg.momentum == 0.0:
        return {name: factor * d for name, d in dw.items()} if factor != 1.0 else dw
    for name, d in dw.items():  # in place: two passes over 392 k weights instead of four
        v = velocity[name]
        np.multiply(v, tcfg.momentum, out=v)
        v += d if factor == 1.0 else factor * d
    return {name: velocity[name].copy() for name in dw}


def velocity_arrays(velocity: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {VELOCITY_PREFIX + name: v for name, v in velocity.items()}


def read_velocity(tcfg: TrainConfig, network: Network, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A checkpoint's velocity: one finite float64 array per primary crossbar when the run has
    momentum (a run without it keeps none), or a ConfigError naming the array."""
    stored = {k[len(VELOCITY_PREFIX):]: a for k, a in arrays.items() if k.startswith(VELOCITY_PREFIX)}
    if tcfg.momentum == 0.0:
        if stored:
            raise ConfigError("velocity", "a run without momentum keeps no velocity")
        return {}
    out = {}
    for name, zero in zero_velocity(network).items():
        a = stored.get(name)
        if a is None or a.shape != zero.shape or a.dtype != np.float64 or not np.all(np.isfinite(a)):
            raise ConfigError(f"velocity.{name}", f"must be {zero.shape} finite float64 numbers")
        out[name] = a.copy()
    return out
