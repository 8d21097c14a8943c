"""How the controller turns a rule's weight change into the change it writes: the learning rate's
schedule over epochs, then heavy-ball momentum (optimizer sgd) or Adam (Kingma & Ba 2015, the
optimizer of the PyTorch EP reference implementations).

Both live in the controller (Python), not in the circuit, so they act the same with either backend.
The factor depends on the epoch only (never on how long the run is), and the velocity (Adam: both
moments) is part of a checkpoint, so a resumed run writes exactly what the uninterrupted one does.
Adam's step count is not stored: it is the number of batches before this one, epoch * batches + batch.
"""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np

from memprop.circuits.network import Network
from memprop.circuits.validation import ConfigError
from memprop.cosim.config.config import TrainConfig

#: Checkpoint arrays of the velocity: one per primary crossbar.
VELOCITY_PREFIX = "velocity__"
#: Checkpoint arrays of Adam's second moment (its first moment is the velocity).
SECOND_MOMENT_PREFIX = "second_moment__"


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
    kernels = _kernels()
    return {name: _momentum_step(kernels, velocity[name], d, tcfg.momentum, factor) for name, d in dw.items()}


def _momentum_step(kernels: ModuleType | None, v: np.ndarray, d: np.ndarray, momentum: float,
                   factor: float) -> np.ndarray:
    """One crossbar's velocity updated in place, and a copy of it (what is written): compiled in
    one pass where it can be (the same bits), else numpy's three."""
    if kernels is not None and kernels.fits(v, change=d):
        return kernels.momentum(v, d, momentum, factor)
    np.multiply(v, momentum, out=v)
    v += d if factor == 1.0 else factor * d
    return v.copy()


def adam_step(tcfg: TrainConfig, epoch: int, grad: dict[str, np.ndarray], rates: dict[str, float],
              first: dict[str, np.ndarray], second: dict[str, np.ndarray], t: int) -> dict[str, np.ndarray]:
    """The change to write for the rule's descent direction `grad` at unit rate (primary crossbars):
    rate * factor * m_hat / (sqrt(v_hat) + eps), with m (decay `momentum`) and v (decay adam_beta2)
    updated in place; t is this update's number from 1 (the bias corrections need it)."""
    factor = lr_factor(tcfg, epoch)
    kernels = _kernels()
    return {name: _adam_step(kernels, first[name], second[name], g, tcfg, rates[name] * factor, t)
            for name, g in grad.items()}


def _adam_step(kernels: ModuleType | None, m: np.ndarray, v: np.ndarray, g: np.ndarray, tcfg: TrainConfig,
               step_size: float, t: int) -> np.ndarray:
    """One crossbar's moments updated in place, and its change (step_size: rate * factor):
    compiled in one pass where it can be (the same bits), else numpy's ten."""
    b1, b2 = tcfg.momentum, tcfg.adam_beta2
    if kernels is not None and kernels.fits(m, v, change=g):
        return kernels.adam(m, v, g, b1, b2, t, tcfg.adam_eps, step_size)
    m *= b1
    m += (1.0 - b1) * g
    v *= b2
    v += (1.0 - b2) * g * g
    denom = np.sqrt(v / (1.0 - b2 ** t))
    denom += tcfg.adam_eps
    return (step_size / (1.0 - b1 ** t)) * m / denom


def _kernels() -> ModuleType | None:
    """The compiled updates (learning/fused_steps.py), imported on first use; None where numba
    cannot be imported (every update then takes numpy, to the same bits)."""
    try:
        from memprop.cosim.learning import fused_steps
    except ImportError:
        return None
    return fused_steps


def velocity_arrays(velocity: dict[str, np.ndarray], second: dict[str, np.ndarray] | None = None
                    ) -> dict[str, np.ndarray]:
    out = {VELOCITY_PREFIX + name: v for name, v in velocity.items()}
    out.update({SECOND_MOMENT_PREFIX + name: v for name, v in (second or {}).items()})
    return out


def zero_moments(tcfg: TrainConfig, network: Network) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The first and second moments a fresh run starts from: sgd keeps a velocity only with momentum
    and no second moment; Adam keeps both, always."""
    if tcfg.optimizer == "adam":
        return zero_velocity(network), zero_velocity(network)
    return (zero_velocity(network) if tcfg.momentum else {}), {}


def read_moments(tcfg: TrainConfig, network: Network, arrays: dict[str, np.ndarray]
                 ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """A checkpoint's first and second moments, as zero_moments has them for this run, or a
    ConfigError naming the array."""
    first, second = zero_moments(tcfg, network)
    return (_read_moment(arrays, VELOCITY_PREFIX, "velocity", first, "a run without momentum keeps no velocity"),
            _read_moment(arrays, SECOND_MOMENT_PREFIX, "second_moment", second, "only adam keeps a second moment",
                         nonnegative=True))


def _read_moment(arrays: dict[str, np.ndarray], prefix: str, what: str, zeros: dict[str, np.ndarray],
                 none_kept: str, nonnegative: bool = False) -> dict[str, np.ndarray]:
    """One finite float64 array per primary crossbar where the run keeps this moment (`zeros` not
    empty), none where it keeps none; `nonnegative` (Adam's second moment): no entry below 0."""
    stored = {k[len(prefix):]: a for k, a in arrays.items() if k.startswith(prefix)}
    if not zeros:
        if stored:
            raise ConfigError(what, none_kept)
        return {}
    out = {}
    for name, zero in zeros.items():
        a = stored.get(name)
        if a is None or a.shape != zero.shape or a.dtype != np.float64 or not np.all(np.isfinite(a)) \
                or (nonnegative and np.any(a < 0)):
            raise ConfigError(f"{what}.{name}", f"must be {zero.shape} finite float64 numbers"
                                                + (" >= 0" if nonnegative else ""))
        out[name] = a.copy()
    return out
