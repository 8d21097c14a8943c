"""A crossbar write through its lines in ngspice, held against its numpy twin.

`spice_write` plays one array's write (memprop.netgen.crossbar_write) in the process's ngspice
session and returns the states at its end; `compare_write` runs the twin
(memprop.circuits.crossbar_write) on the same counts and says how far apart they end, in
fractions of the state range, and how far the half-selected devices were disturbed in each.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from memprop.circuits.crossbar_write import CrossbarWrite, program_crossbar, write_sequence
from memprop.circuits.devices import MemristorModel
from memprop.circuits.programming import ResolvedPulses
from memprop.cosim.simulator.session import NgSpiceSession, SimulationError
from memprop.netgen.crossbar_write import crossbar_write_deck, state_vectors, write_timing


def spice_write(device: MemristorModel, x0: np.ndarray, counts: np.ndarray, up: np.ndarray,
                pulses: ResolvedPulses, half_select: str, scale: np.ndarray | None = None,
                session: NgSpiceSession | None = None) -> np.ndarray:
    """The states (rows, cols) after the write, from an ngspice transient of the deck (scale:
    switching-voltage factors per device, None for nominal devices)."""
    x0 = np.asarray(x0, dtype=float)
    sequence = write_sequence(counts, up)
    if not len(sequence):
        return x0.copy()
    session = NgSpiceSession.instance() if session is None else session
    timing = write_timing(sequence, pulses)
    session.load(crossbar_write_deck(device, x0, sequence, pulses, half_select, scale, xspice=session.xspice))
    try:
        plot = session.tran(timing.max_step, timing.stop, uic=True, max_step=timing.max_step)
        vectors = session.vectors(plot, state_vectors(x0.shape))
    finally:
        session.clear()
    ends = np.array([v[-1] for v in vectors.values()]).reshape(x0.shape)
    if not np.all(np.isfinite(ends)):
        raise SimulationError("the crossbar write transient ended with non-finite states", [])
    return ends


@dataclass
class WriteComparison:
    """One array's write in ngspice and in the twin: end states, and the devices it never selected."""

    x0: np.ndarray
    spice: np.ndarray
    twin: CrossbarWrite
    span: float
    seconds: float

    @property
    def max_difference(self) -> float:
        """Largest |ngspice - twin| end state, as a fraction of the state range."""
        return float(np.abs(self.spice - self.twin.x).max() / self.span)

    def unselected_motion(self, x: np.ndarray) -> float:
        """Largest state change of a device the write never selected (pure disturb), over the range."""
        unselected = self.twin.counts == 0
        return float(np.abs(x - self.x0)[unselected].max(initial=0.0) / self.span)

    def summary(self) -> dict[str, float]:
        disturb = self.twin.disturb / self.span
        return {"max_difference": self.max_difference, "pulses": self.twin.pulses, "seconds": self.seconds,
                "devices": int(self.spice.size), "unselected": int(np.count_nonzero(self.twin.counts == 0)),
                "spice_unselected_max": self.unselected_motion(self.spice),
                "twin_unselected_max": self.unselected_motion(self.twin.x),
                "twin_disturb_max": float(np.abs(disturb).max()),
                "twin_disturb_rms": float(np.sqrt(np.mean(disturb ** 2))),
                "disturbed_devices": int(np.count_nonzero(np.abs(disturb) > 1e-6)),
                "energy": float(self.twin.energy.sum())}


def compare_write(device: MemristorModel, x0: np.ndarray, counts: np.ndarray, up: np.ndarray,
                  pulses: ResolvedPulses, half_select: str, scale: np.ndarray | None = None) -> WriteComparison:
    """The same write in ngspice and in the twin."""
    t0 = time.perf_counter()
    spice = spice_write(device, x0, counts, up, pulses, half_select, scale)
    seconds = time.perf_counter() - t0
    twin = program_crossbar(device, x0, counts, up, pulses, half_select, scale)
    return WriteComparison(np.asarray(x0, dtype=float), spice, twin, device.x_hi - device.x_lo, seconds)
