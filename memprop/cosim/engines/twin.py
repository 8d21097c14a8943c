"""The twin engine: whole batches settled at once by the numpy twin (engines/behavioral.py).

The behavioural training backend, and the reference every ngspice engine checks its phases
against. In place, it reprograms one twin per write instead of building a new one, and takes
writes still under way in a thread (programming/writes.py's PendingWrite).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from memprop.circuits.network import Network, SynapseStates
from memprop.cosim.engines.base import Phase
from memprop.cosim.engines.behavioral import BehavioralNetwork
from memprop.cosim.programming.writes import PendingWrite

LOG = logging.getLogger("memprop.engine")


class BehavioralEngine:
    """Settles whole batches at once with the numpy twin."""

    name = "behavioral"
    stats_prefix = "twin_"

    def __init__(self, network: Network, *, in_place: bool = False, precision: str = "float64") -> None:
        """in_place: reprogram one twin in place instead of building a new one per write (the
        training backend; engines that check phases in a thread keep each batch's twin intact).
        precision: the twin's (float32 or float64); phases are handed on as float64 either way."""
        self.network = network
        self.in_place = in_place
        self.dtype = np.dtype(precision)
        self.twin: BehavioralNetwork | None = None
        self._pending: PendingWrite | None = None
        #: settles, their sweeps or relaxation steps, and those that stopped before converging
        self.stats: dict[str, Any] = {"settles": 0, "sweeps": 0, "unconverged": 0}

    def program(self, states: SynapseStates) -> None:
        self._pending = None
        self.states = states
        if self.twin is not None and self.in_place:
            self.twin.reprogram(states)
        else:
            self.twin = BehavioralNetwork(self.network, states, dtype=self.dtype)

    def program_pending(self, pending: PendingWrite) -> None:
        """A write under way (in_place engines): the twin reads its target conductances now; the
        states it leads to are waited for only when asked for (current_states)."""
        if self.twin is None or not self.in_place:
            raise ValueError("a pending write reprograms an in-place twin that is already built")
        rest = {name: reads for name, reads in pending.reads.items() if name not in pending.written}
        if rest:
            self.twin.reprogram_reads(rest)
        self.twin.finish_rows(pending.written)
        self._pending = pending

    def current_states(self) -> SynapseStates:
        if self._pending is not None:
            self.states, self._pending = self._pending.states(), None
        return self.states

    def phases(self, x: np.ndarray, y: np.ndarray | None, betas: list[float], upcoming: Any = None) -> list[Phase]:
        twin = self.twin
        newton = self.network.n_neurons <= 200
        unconverged = twin.unconverged
        with twin.holding(x) as x:
            free = twin.equilibrium(x, newton=newton, tol=1e-10 if newton else 1e-8)
            out = [self._phase(0.0, free.v, x)]
            sweeps = free.iterations
            for beta in betas[1:]:
                eq = twin.equilibrium(x, y, beta, u0=free.u, newton=newton, tol=1e-10 if newton else 1e-8)
                out.append(self._phase(beta, eq.v, x))
                sweeps += eq.iterations
        self._count(len(out), sweeps, twin.unconverged - unconverged)
        return out

    def _phase(self, beta: float, v: np.ndarray, x: np.ndarray) -> Phase:
        v = v.astype(np.float64, copy=False)
        return Phase(beta, v, self.twin.signals(v, x.astype(np.float64, copy=False)))

    def _count(self, settles: int, sweeps: int, unconverged: int) -> None:
        """Convergence failures are reported (per epoch in the metrics), not hidden."""
        self.stats["settles"] += settles
        self.stats["sweeps"] += sweeps
        self.stats["unconverged"] += unconverged
        if unconverged:
            LOG.warning("%d of %d twin settles stopped before converging", unconverged, settles)

    def adjoint_phase(self, x: np.ndarray, y: np.ndarray, upcoming: Any = None) -> tuple[Phase, np.ndarray]:
        """The free phase and the RBP adjoint lambda (what the side network settles to)."""
        twin = self.twin
        newton = self.network.n_neurons <= 200
        free = twin.equilibrium(x, newton=newton, tol=1e-10 if newton else 1e-8)
        return self._phase(0.0, free.v, np.asarray(x)), twin.adjoint(free, y).astype(np.float64, copy=False)

    def close(self) -> None:
        pass
