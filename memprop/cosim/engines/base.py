"""What every engine is: the Engine protocol and the Phase it returns.

An engine settles the phases of a batch on some backend (the numpy twin, ngspice per phase or as
one warm-started sweep, worker processes) from the same Network and device states. The trainer,
reconstruction, the benchmarks and gradcheck drive any engine through these few calls alone, so a
new backend is a new class here, not a new branch at every call site.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol, runtime_checkable

import numpy as np

from memprop.circuits.network import SynapseStates

#: upcoming(m): the batch m ahead of the current one as (x, y, betas), or None past the end of the
#: epoch; engines that solve several batches in one analysis look ahead with it, the others ignore it.
Upcoming = Callable[[int], "tuple[np.ndarray, np.ndarray | None, list[float]] | None"]


@dataclass
class Phase:
    """One settled phase of a batch: activations V (B, N) and the full signal vector (B, S)."""

    beta: float
    v: np.ndarray
    sigma: np.ndarray


@runtime_checkable
class Engine(Protocol):
    """Settles batches of phases for a network whose devices it has been given (`program`)."""

    #: the backend's name, as the metrics report it
    name: str
    #: counters of the work done (settles, analyses, retries, ...), summed over the engine's life
    stats: dict[str, Any]

    def program(self, states: SynapseStates) -> None:
        """Take these device states as the network's devices from the next settle on."""

    def current_states(self) -> SynapseStates:
        """The device states the engine settles with (a write under way is waited for)."""

    def phases(self, x: np.ndarray, y: np.ndarray | None, betas: list[float],
               upcoming: Upcoming | None = None) -> list[Phase]:
        """Batch inputs x (B, inputs) and targets y: the free phase (betas[0] = 0), then each
        nudged phase continuing from it, in the order of `betas`."""

    def adjoint_phase(self, x: np.ndarray, y: np.ndarray,
                      upcoming: Upcoming | None = None) -> tuple[Phase, np.ndarray]:
        """The free phase and the RBP adjoint lambda (B, N) its side network settles to."""

    def close(self) -> None:
        """Release the simulator, worker processes or threads the engine holds."""
