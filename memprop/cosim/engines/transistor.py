"""Training with transistor-level neurons (cmos, sky130) in the loop: phases back to back in one `.tran`.

A warm-started `.dc` sweep does not work for these cells: measured on the 64-32-10 network at
sky130 (and at the generic cmos level alike), Newton fails from the previous point's solution at
nearly every point and ngspice falls back to gmin stepping, ~1 300 iterations (~4 s at sky130)
per point against ~2 for the ideal cells, so a sweep costs what cold `.op`s cost. A time step from
a nearby state converges in a few iterations. So this engine settles every phase as the hardware
does: the phases of many batches back to back in one paused-and-resumed transient (the sweep
deck's index steps through the points in time, as in BatchedTransientEngine), each phase
continuing from where the circuit was: a sample's free phase from the previous sample's last
phase, its nudged phases one after another from its free phase (symmetric nudging: +beta from the
free phase, -beta from +beta's end). The analysis starts from the first sample's operating point;
the devices are re-programmed with `alter` at the pause after each batch.

There is no twin to check against: the numpy twin models the ideal and macromodel cells, not
transistors (a 64-32-10 free phase at sky130 ends up to ~0.1 V from the ideal twin's). Instead
every phase is checked for having settled: a phase whose lines still moved by more than 1 % of
the activation swing in the last tenth of its window is counted (`unsettled_phases`, and the
largest such motion `max_end_motion_mv`); its value at the window's end is what the hardware
would read and is used as it is. The devices are in their read form (resistors), checked as in
BatchedTransientEngine before and after each batch; a batch that would move a device is refused.

Worker processes (`workers = 2`) each chain their own part of every batch (engines/parallel.py).
On a 2-core machine they do not pay: ngspice already loads the BSIM4 devices on 2 OpenMP threads
(its `num_threads`, default 2). Measured at sky130 64-32-10, 3 batches of 10, 100 tau phases: one
process 51-62 s (with `set num_threads=1`: 91 s), two workers 80-94 s, two independent one-process
runs side by side 142-147 s each.
"""

from __future__ import annotations

import numpy as np

from memprop.circuits.network import Network, SynapseStates
from memprop.cosim.engines.base import Phase
from memprop.cosim.engines.batched import TRAN_OPTIONS, BatchedTransientEngine
from memprop.cosim.engines.transient import Waveform
from memprop.cosim.simulator.session import SimulationError
from memprop.netgen.sweep import PointTables

#: The tail of each phase checked for motion (a fraction of the phase).
TAIL = 0.1
#: Motion in that tail above this fraction of the activation swing counts the phase as unsettled.
BAND = 0.01


def transistor_transient_fits(network: Network) -> bool:
    """Transistor-level cells and devices that cannot move below a switching threshold."""
    return network.neuron.transistor_level and network.device.read_limit > 0


class TransistorTransientEngine(BatchedTransientEngine):
    """Transistor-level phases of many batches back to back in one paused-and-resumed `.tran`."""

    uic = False
    #: Gear (BDF2) instead of the trapezoidal rule: with time steps of a tenth of a phase the
    #: trapezoidal rule rings on these cells' fast internal poles. Measured, 2 batches of 2 at cmos
    #: 6-5-3: trap left 3 of 12 phases moving by up to 17 mV in their last tenth and ended up to 8 mV
    #: from trap with a step of 1/100 phase; gear left none moving (2 uV) and agrees with gear at
    #: 1/100 to 0.7 uV. At sky130 64-32-10 (2 batches of 10): same cost, no phase left moving
    #: (trap: 1 of 60, 6.4 mV), phases within 2.9 mV of trap's (median 0.2 mV).
    tran_options = TRAN_OPTIONS + ("method=gear",)

    def __init__(self, network: Network, *, settle_time: float = 100.0) -> None:
        super().__init__(network, settle_time=settle_time)
        del self.stats["max_twin_diff_mv"]  # no twin of transistor cells: nothing was compared
        self.stats.update({"unsettled_phases": 0, "max_end_motion_mv": 0.0})

    @staticmethod
    def _fallback(network: Network, settle_time: float) -> None:
        return None  # the dynamic form is built for ideal cells only: see _dynamic

    @staticmethod
    def _check_fits(network: Network) -> None:
        if not transistor_transient_fits(network):
            raise ValueError("the transistor transient engine needs cmos or sky130 neurons and devices "
                             "with a switching threshold")

    def _late_check(self, v, x, y, betas) -> None:
        return None  # no twin of transistor cells (see the module doc); _read checks the settling

    def _dynamic(self, x: np.ndarray, y: np.ndarray | None, betas: list[float], why: str) -> list[Phase]:
        """The batch's transient in the read form failed or could move a device: the dynamic form is
        not built for transistor cells (engines/perphase.py continues ideal cells only), so the
        batch is refused, not mis-modelled."""
        raise SimulationError(f"the transistor-level transient of this batch {why}; it keeps the devices in their "
                              f"read form (switching threshold {self.network.device.read_limit:g} V)")

    def _tables(self, plan, nudge: bool) -> PointTables:
        """The chunk's points, the first (where the transient starts, from its operating point) the
        first sample's free phase instead of the circuit at rest: measured at the cmos level, the
        operating point with every input at 0 V fails to converge, a sample's converges as in
        `memprop validate` (runs/validate.py chained)."""
        tables = super()._tables(plan, nudge)
        inputs = tables.inputs.copy()
        inputs[0] = inputs[1]
        return PointTables(inputs, tables.targets, tables.beta)

    def last_waveform(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The last read stretch of the transient: times, the lines' activations, and the end time
        of every point of the loaded deck (point 0 is where the transient started)."""
        times, v = self._waveform
        return times, v, self._ends

    def _read(self, chunk, first: int, stop: int) -> np.ndarray:
        rows = super()._read(chunk, first, stop)
        self._check_settled(self._ends[first:stop])
        return rows

    @staticmethod
    def _motion(times: np.ndarray, v: np.ndarray, start: float, a: int, b: int) -> float:
        """Largest swing of any line from `start` to the phase's end: the time points in between
        and the lines interpolated at `start` (a slow drift takes time steps as long as the tail)."""
        at_start = np.array([np.interp(start, times, v[:, k]) for k in range(v.shape[1])])
        window = np.vstack([at_start[None, :], v[a:b]])
        return float(np.max(np.ptp(window, axis=0)))

    def _check_settled(self, ends: np.ndarray) -> None:
        """Count the phases (ending at `ends`) whose lines still moved in the last TAIL of the phase."""
        times, v = self._waveform
        nrn = self.network.neuron
        band = BAND * (nrn.v_high - nrn.v_low)
        starts = ends - TAIL * self.phase_time
        lo = np.searchsorted(times, starts, side="left")
        hi = np.searchsorted(times, ends * (1 + 1e-12), side="right")
        for start, a, b in zip(starts, lo, hi):
            motion = self._motion(times, v, start, a, b)
            self.stats["max_end_motion_mv"] = max(self.stats["max_end_motion_mv"], 1e3 * motion)
            if motion > band:
                self.stats["unsettled_phases"] += 1


def transistor_transient_phases(network: Network, states: SynapseStates, x: np.ndarray, y: np.ndarray,
                                betas: list[float], phase_time: float) -> Waveform:
    """One sample's phases as the engine trains them, back to back in one transient.

    engines/transient.py carries each phase's end into the next as capacitor initial conditions of
    the ideal and macromodel cells; transistor cells hold their state in device nodes that have no
    such handle, so here the phases stay in one analysis (from the sample's operating point)."""
    engine = _ReadFormPicture(network, settle_time=phase_time / network.neuron.tau)
    try:
        engine.program(states)
        engine.phases(np.asarray(x)[None], np.asarray(y)[None], list(betas))
        times, v, ends = engine.last_waveform()
    finally:
        engine.close()
    # point 0 is where the transient starts (the sample at its operating point); the analysis runs
    # on a little past the last phase's end
    keep = (times > ends[0]) & (times <= ends[-1] * (1 + 1e-12))
    phase = np.minimum(np.searchsorted(ends, times[keep], side="left") - 1, len(betas) - 1)
    return Waveform(times[keep] - ends[0], v[keep], phase, list(betas), list(engine.lines), "ngspice (transistor level)")


class _ReadFormPicture(TransistorTransientEngine):
    """The engine for a picture of the phases: the devices stay resistors (the read form, as in
    engines/transient.py) whatever their switching threshold, since nothing is learned from it."""

    @staticmethod
    def _check_fits(network: Network) -> None:
        if not network.neuron.transistor_level:
            raise ValueError("the transistor transient engine needs cmos or sky130 neurons")

    def _read_form_holds(self, x: np.ndarray) -> bool:
        return True

    def _read_form_held(self, rows: np.ndarray, x: np.ndarray) -> bool:
        return True
