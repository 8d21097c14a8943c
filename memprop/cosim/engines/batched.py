"""The batched ngspice engine: every phase of many batches as points of one warm-started sweep.

Each cold `.op` makes ngspice set the circuit up again, order its matrix twice and start Newton
from nothing; at 784-100-10 that is ~7 s against ~0.13 s for a point that starts from the
previous solution. So this engine loads a *sweep deck* (netgen/sweep.py): the inputs, targets and
nudging strength of upcoming batches are tables of a swept index, and one `.dc` analysis solves
their points in the circuit's physical order (each sample's free phase, then its nudged phases).
The analysis pauses at every batch's last point (a breakpoint), the new device states are written
with `alter`, and `resume` continues warm: set-up and ordering happen once per deck ("chunk"),
not per phase. A chunk holds as many batches as its tables allow (CHUNK_VALUES).

Correctness is kept as in the per-phase engine: a thread computes the twin's equilibrium of every
point while ngspice solves; a point that disagrees (or that the sweep did not reach because
ngspice failed) goes alone through the per-phase engine's retry ladder, and a batch whose sweep
failed is finished with per-phase `.op`s (`sweep_fallbacks` in the stats).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from memprop.circuits.network import Network, SynapseStates
from memprop.cosim.engines.perphase import NgspiceEngine
from memprop.cosim.engines.base import Phase, Upcoming
from memprop.cosim.simulator.session import NgSpiceSession, SimulationError
from memprop.netgen import names
from memprop.netgen.deck import render
from memprop.netgen.sweep import PHASE_RISE, PointTables, concatenate, phase_ends, phase_points
from memprop.netgen.updates import DeviceWriter

LOG = logging.getLogger("memprop.engine")
#: Table values (points x driven lines) one sweep deck may hold: ~3 s of parsing at 784 inputs.
CHUNK_VALUES = 3_000_000
#: Points one sweep deck may hold (the plot of a chunk stays a few MB).
CHUNK_POINTS = 50_000
#: Convergence tolerances of sweep points. ngspice's defaults (reltol 1e-3) let a warm-started
#: point stop up to 0.34 mV from the cold `.op` with the smooth activation (Newton stops as soon as
#: one step is below reltol of the voltage); with these, every point measured is within 0.15 uV of
#: the cold `.op` (smooth and hard activation, ideal and macromodel neurons, every device model),
#: at 7 % more Newton iterations for the smooth activation and none for the hard sigmoid.
SWEEP_OPTIONS = ("reltol=1e-6", "vntol=1e-9")



@dataclass
class Planned:
    """A batch whose points a loaded sweep deck holds: points first .. first + count - 1."""

    x: np.ndarray
    y: np.ndarray | None
    betas: list[float]
    first: int

    @property
    def count(self) -> int:
        return self.x.shape[0] * len(self.betas)

    def same(self, x: np.ndarray, y: np.ndarray | None, betas: list[float]) -> bool:
        return (list(betas) == list(self.betas) and np.array_equal(x, self.x)
                and ((y is None and self.y is None) or (y is not None and self.y is not None
                                                        and np.array_equal(y, self.y))))


@dataclass
class Chunk:
    """The loaded sweep deck: its batches, the next one to solve, and the states ngspice holds."""

    plan: list[Planned]
    writer: DeviceWriter
    states: SynapseStates
    plot: str | None = None
    next: int = 0
    nudge: bool = True
    read: list[bytes] = field(default_factory=list)

    @property
    def points(self) -> int:
        """Points of the deck (the rest point included)."""
        return self.plan[-1].first + self.plan[-1].count


def chunk_points(network: Network) -> int:
    """How many sweep points one deck of this network may hold."""
    driven = network.n_inputs + network.group(network.output_group).size + 1
    return max(1, min(CHUNK_POINTS, CHUNK_VALUES // driven))


class BatchedNgspiceEngine:
    """Settles batches as points of warm-started, paused-and-resumed ngspice sweeps."""

    name = "ngspice"

    def __init__(self, network: Network, *, side: bool = False, tolerance: float = 5e-4) -> None:
        self.network = network
        self.side = side
        self.tolerance = tolerance
        self.session = NgSpiceSession.instance()
        self.fallback = NgspiceEngine(network, tolerance=tolerance, side=side)
        self.twin = self.fallback.twin  # one twin: the references and the retry ladder's
        self.stats: dict[str, Any] = self.fallback.stats
        self.stats.update({"points": 0, "chunks": 0, "sweep_fallbacks": 0, "sweep_reloads": 0, "alters": 0,
                           "write_seconds": 0.0, "ngspice_seconds": 0.0})
        self.lines = self.fallback.lines
        self.states: SynapseStates | None = None
        self.chunk: Chunk | None = None
        self._threads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memprop-twin")

    # ---- the engine interface ----
    def program(self, states: SynapseStates) -> None:
        """New device states; they are written into ngspice (alter) just before the next point."""
        self.states = states
        self.fallback.states = states
        self.twin.program(states)

    def current_states(self) -> SynapseStates:
        return self.states

    def phases(self, x: np.ndarray, y: np.ndarray | None, betas: list[float],
               upcoming: Upcoming | None = None) -> list[Phase]:
        """Every sample's phases (sample-major points of the sweep); `upcoming` lets one deck hold
        the batches that follow, so that the sweep resumes warm instead of starting again."""
        busy = self.session.busy_seconds
        rows, failure, pending = self._solve(x, y, betas, upcoming)
        refs = pending.result()
        vs = self._checked(rows, failure, x, y, betas, refs)
        self.stats["ngspice_seconds"] += self.session.busy_seconds - busy
        return [Phase(b, v, self.twin.twin.signals(v, x)) for b, v in zip(betas, vs)]

    def adjoint_phase(self, x: np.ndarray, y: np.ndarray, upcoming: Upcoming | None = None) -> tuple[Phase, np.ndarray]:
        """The free phase with the RBP side network: V* and the adjoint lambda, one point per sample."""
        if not self.side:
            raise RuntimeError("this engine was built without the side network")
        busy = self.session.busy_seconds
        twin = self.twin.twin
        rows, failure, pending = self._solve(x, y, [0.0], upcoming)
        ref = pending.result()[0]
        n = len(self.lines)
        if failure is not None or rows.shape[0] < x.shape[0] or self._disagree(rows[:, :n], ref.v):
            LOG.warning("the side-network sweep failed or disagrees with the twin (%s); the batch settles as "
                        "per-phase .ops", failure.what if failure else "twin check")
            self._detach()
            self.stats["sweep_fallbacks"] += 1
            free, lam = self.fallback.adjoint_phase(x, y)
        else:
            self._note_diff(rows[:, :n], ref.v)
            free, lam = Phase(0.0, rows[:, :n], twin.signals(rows[:, :n], x)), rows[:, n:]
            diff = float(np.max(np.abs(lam - twin.adjoint(ref, y)))) * 1e3
            self.stats["max_lambda_diff_mv"] = max(self.stats.get("max_lambda_diff_mv", 0.0), diff)
        self.stats["ngspice_seconds"] += self.session.busy_seconds - busy
        return free, lam

    def planned_ahead(self) -> int:
        """Batches the loaded deck holds after the ones already solved (0: the next one loads a deck)."""
        return 0 if self.chunk is None else len(self.chunk.plan) - self.chunk.next

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        self._threads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memprop-twin")
        self._detach()
        self.session.clear()

    # ---- the sweep ----
    def _solve(self, x: np.ndarray, y: np.ndarray | None, betas: list[float],
               upcoming: Upcoming | None) -> tuple[np.ndarray, SimulationError | None, Future]:
        """This batch's points from the sweep: (points, read vectors), the error that stopped the
        sweep early (None when every point was solved), and the twin's references of the batch.

        The twin's references are computed in a thread started once the devices are written:
        ngspice releases the GIL while it solves, so they cost no wall time there, whereas beside
        the alter loop (Python calling ngspice per device) they would slow it down."""
        chunk = self.chunk
        if chunk is None or chunk.next >= len(chunk.plan) or not chunk.plan[chunk.next].same(x, y, betas):
            chunk = self._load_chunk(x, y, betas, upcoming)
        pending = None
        try:
            self._write_states(chunk)
            pending = self._threads.submit(self._references, x, y, betas)
            failure = self._run(chunk)
            if failure is not None and chunk.next == 0 and self._solved(chunk) == 0:
                # nothing solved yet: after a circuit with transistors ngspice's first cold start of a
                # new deck can fail where the same deck loaded again solves (measured); try once more
                self.stats["sweep_reloads"] += 1
                chunk = self._load_plan(chunk.plan)
                failure = self._run(chunk)
        except SimulationError as err:
            failure = err
        if pending is None:
            pending = self._threads.submit(self._references, x, y, betas)
        rows, failure = self._collect(chunk, failure)
        return rows, failure, pending

    def _run(self, chunk: Chunk) -> SimulationError | None:
        """Solve the chunk's next batch: start its sweep or resume it, pausing after the batch's
        last point unless it is the chunk's last batch. Returns the error that stopped it, if any."""
        planned = chunk.plan[chunk.next]
        pause = planned.first + planned.count - 1 if chunk.next + 1 < len(chunk.plan) else None
        t0 = time.perf_counter()
        try:
            if chunk.plot is None:
                chunk.plot = self._start(chunk, pause)
            else:
                self._resume(pause)
        except SimulationError as err:
            return err
        finally:
            self.stats["analysis_seconds"] += time.perf_counter() - t0
        return None

    # ---- what is specific to the analysis (a .dc sweep here; see BatchedTransientEngine) ----
    def _references(self, x: np.ndarray, y: np.ndarray | None, betas: list[float]) -> list[Any]:
        """The twin's equilibrium of every phase (computed in a thread while ngspice solves)."""
        return NgspiceEngine._references(self.twin.twin, x, y, betas)

    def _start(self, chunk: Chunk, pause: int | None) -> str:
        """Start the chunk's analysis, pausing after point `pause`; returns its plot."""
        return self.session.sweep(names.SWEEP_SOURCE, chunk.points - 1, pause)

    def _resume(self, pause: int | None) -> None:
        self.session.resume(pause)

    def _solved(self, chunk: Chunk) -> int:
        """Points of the chunk's analysis solved so far."""
        return self.session.points_done(chunk.plot, chunk.read[0]) if chunk.plot else 0

    def _read(self, chunk: Chunk, first: int, stop: int) -> np.ndarray:
        """The read vectors at points first .. stop-1, as (points, vectors)."""
        return self.session.rows(chunk.plot, chunk.read, first, stop)

    def _render(self, tables: PointTables, nudge: bool):
        return render(self.network, self.states, tables=tables, nudge=nudge, analysis="none", side=self.side,
                      flat=True, options=SWEEP_OPTIONS)

    def _saved(self) -> list[str]:
        """The vectors the engine reads (activations, and the side network's lambda)."""
        return [names.node(ln, "activation") for ln in self.lines] + ([names.node(ln, "adjoint") for ln in self.lines] if self.side else [])

    def _collect(self, chunk: Chunk, failure: SimulationError | None) -> tuple[np.ndarray, SimulationError | None]:
        """The batch's rows from the sweep's plot, and why the sweep stopped short of them (if it did)."""
        planned = chunk.plan[chunk.next]
        chunk.next += 1
        last = planned.first + planned.count - 1
        done = self._solved(chunk)
        stop = min(done, last + 1)
        rows = (self._read(chunk, planned.first, stop) if stop > planned.first
                else np.zeros((0, len(chunk.read))))
        self.stats["points"] += rows.shape[0]
        self.stats["analyses"] += rows.shape[0]
        if failure is not None or stop <= last:
            self._detach()
            failure = failure or SimulationError(f"the sweep stopped after point {done} of {last + 1}")
        return rows, failure

    def _load_chunk(self, x: np.ndarray, y: np.ndarray | None, betas: list[float],
                    upcoming: Upcoming | None) -> Chunk:
        """A sweep deck holding this batch and as many upcoming ones as fit, loaded."""
        plan = [Planned(np.array(x), None if y is None else np.array(y), list(betas), 1)]
        room = self._capacity() - 1 - plan[0].count
        m = 1
        while upcoming is not None and room > 0:
            nxt = upcoming(m)
            if nxt is None or (nxt[1] is None) != (y is None):
                break
            item = Planned(np.asarray(nxt[0]), None if nxt[1] is None else np.asarray(nxt[1]), list(nxt[2]),
                           plan[-1].first + plan[-1].count)
            if item.count > room:
                break
            plan.append(item)
            room -= item.count
            m += 1
        return self._load_plan(plan)

    def _load_plan(self, plan: list[Planned]) -> Chunk:
        """Render and load the sweep deck of these batches, with the current device states."""
        first = plan[0]
        tables = self._tables(plan, nudge=self.side or first.y is not None or any(b != 0.0 for b in first.betas))
        nudge = tables.targets is not None
        deck = self._render(tables, nudge)
        self._detach()
        self.session.load(deck.text)
        read = self._saved()
        self.session.save_only(read + [names.SWEEP_NODE])
        self.stats["chunks"] += 1
        self.chunk = Chunk(plan, DeviceWriter(self.network, deck.node_map), self.states, nudge=nudge,
                           read=[r.encode() for r in read])
        return self.chunk

    def _tables(self, plan: list[Planned], nudge: bool) -> PointTables:
        """The chunk's points: first the circuit at rest (every input at 0 V, no nudging), as after
        power-up, then every planned batch's points. The rest point is an easy cold start; every
        sample's point then starts from where the circuit was."""
        n_out = len(self.fallback.outputs)
        rest = PointTables(np.zeros((1, self.network.n_inputs)), np.zeros((1, n_out)) if nudge else None, np.zeros(1))
        parts = [phase_points(p.x, p.y if p.y is not None or not nudge else np.zeros((p.x.shape[0], n_out)), p.betas)
                 for p in plan]
        return concatenate([rest] + parts)

    def _capacity(self) -> int:
        """Points one deck may hold."""
        return chunk_points(self.network)

    def _write_states(self, chunk: Chunk) -> None:
        """alter the devices whose state changed since the deck (or the last batch) was solved."""
        if chunk.states is not self.states:
            t0 = time.perf_counter()
            cmds = chunk.writer.commands(self.states, chunk.states)
            self.session.send_packed(cmds)
            chunk.states = self.states
            self.stats["alters"] += len(cmds)
            self.stats["write_seconds"] += time.perf_counter() - t0

    def _detach(self) -> None:
        """The sweep deck is (about to be) gone: the next batch loads a new one."""
        self.chunk = None
        self.fallback.detach()

    # ---- the checks ----
    def _disagree(self, v: np.ndarray, ref_v: np.ndarray) -> bool:
        return bool(np.max(np.abs(v - ref_v)) > self.tolerance) if v.size else False

    def _note_diff(self, v: np.ndarray, ref_v: np.ndarray) -> None:
        diff = float(np.max(np.abs(v - ref_v))) * 1e3 if v.size else 0.0
        self.stats["max_twin_diff_mv"] = max(self.stats["max_twin_diff_mv"], diff)

    def _checked(self, rows: np.ndarray, failure: SimulationError | None, x: np.ndarray, y: np.ndarray | None,
                 betas: list[float], refs: list[Any]) -> list[np.ndarray]:
        """Per phase (B, N) activations: the sweep's where they agree with the twin, the retry
        ladder's where they do not, per-phase `.op`s for the samples the sweep did not reach."""
        p, n = len(betas), len(self.lines)
        solved = rows.shape[0] // p
        vs = [np.zeros_like(refs[0].v) for _ in betas]
        for k in range(p):
            vs[k][:solved] = rows[k:solved * p:p, :n]
        if solved < x.shape[0]:
            self._finish_per_phase(vs, solved, failure, x, y, betas)
        for k, beta in enumerate(betas):
            self._retry_disagreeing(vs[k], refs[k], solved, x, y, beta)
        return vs

    def _finish_per_phase(self, vs: list[np.ndarray], solved: int, failure: SimulationError, x: np.ndarray,
                          y: np.ndarray | None, betas: list[float]) -> None:
        """The samples a failed sweep did not reach, as per-phase `.op`s (with their own checks)."""
        LOG.warning("the sweep solved %d of %d samples of this batch (%s); the rest settle as per-phase .ops",
                    solved, x.shape[0], failure.lines[-1:] or failure.what)
        self.stats["sweep_fallbacks"] += 1
        rest = self.fallback.phases(x[solved:], None if y is None else y[solved:], betas)
        for k in range(len(betas)):
            vs[k][solved:] = rest[k].v

    def _retry_disagreeing(self, v: np.ndarray, ref: Any, solved: int, x: np.ndarray, y: np.ndarray | None,
                           beta: float) -> None:
        """Points of one phase that disagree with the twin, each through the retry ladder."""
        bad = np.nonzero(np.max(np.abs(v[:solved] - ref.v[:solved]), axis=1) > self.tolerance)[0]
        self._note_diff(np.delete(v[:solved], bad, axis=0), np.delete(ref.v[:solved], bad, axis=0))
        for i in bad.tolist():
            self._detach()
            where = f"sample {i} of the batch, {'free phase' if beta == 0 else f'nudged phase beta={beta:+g}'}"
            v[i] = self.fallback.accept_or_retry((v[i], None), x[i], None if y is None else y[i], beta,
                                                  ref.v[i], ref.u[i], where)[0]


#: Points one transient sweep deck may hold: its plot keeps every time step (~22 per phase).
TRAN_CHUNK_POINTS = 600
#: The transient's truncation-error factor (ngspice's default 7): measured at 64-32-10, 20 takes 10 %
#: fewer time steps and keeps every phase end within 0.4 mV of the twin's transient.
TRAN_OPTIONS = ("trtol=20",)


class BatchedTransientEngine(BatchedNgspiceEngine):
    """Transient phases of many batches back to back in one paused-and-resumed `.tran`.

    The sweep deck's index source steps through the points in time (netgen/sweep.py `staircase`),
    so every phase lasts settle_time tau and continues from where the circuit was, as on the
    hardware; the analysis pauses after each batch's last phase, the devices are re-programmed
    with `alter` and it resumes. ngspice chooses its own time steps (at most a tenth of a phase):
    ~22 per 20-tau phase, ~10 ms at 64-32-10.

    The devices are in their read form (resistors): right only while no device can move, so only
    for models with a switching threshold (read_limit > 0), and only while every line stays below
    it - checked before each batch from the twin's bounds and after it from ngspice's own voltages;
    a batch that fails either check is settled again in the dynamic form (the state equations
    live) by the per-phase transient engine (`dynamic_batches` in the stats).

    Every phase is checked against the twin's transient of the same phase from the state ngspice
    started it in (one batch late, in a thread while the next batch runs): `max_twin_diff_mv`.
    """

    #: Whether the analysis starts from the initial conditions (ideal cells) or the operating point.
    uic = True
    #: The transient decks' simulator options.
    tran_options = TRAN_OPTIONS

    def __init__(self, network: Network, *, settle_time: float = 20.0, tolerance: float = 1e-3) -> None:
        self._check_fits(network)
        super().__init__(network, tolerance=tolerance)
        self.phase_time = settle_time * network.neuron.tau
        self.dynamic = self._fallback(network, settle_time)
        if self.dynamic is not None:
            self.dynamic.stats = self.stats  # one set of counters for every batch, whichever form settled it
        self.stats.update({"dynamic_batches": 0, "late_checks": 0, "twin_disagreements": 0})
        self._late: Future | None = None
        self._ends: np.ndarray = np.zeros(0)
        self._tail = 0
        self._starts = np.zeros((0, len(self.lines)))

    def phases(self, x: np.ndarray, y: np.ndarray | None, betas: list[float],
               upcoming: Upcoming | None = None) -> list[Phase]:
        self._finish_check()
        if not self._read_form_holds(x):
            return self._dynamic(x, y, betas, "a line could reach a device's switching threshold")
        busy = self.session.busy_seconds
        rows, failure, _ = self._solve(x, y, betas, upcoming)
        n, p = len(self.lines), len(betas)
        if failure is not None or rows.shape[0] < x.shape[0] * p or not self._read_form_held(rows, x):
            why = f"failed ({failure.what})" if failure else "let a device reach its threshold"
            LOG.warning("the batch's transient in the read form %s; settling it in the dynamic form", why)
            self._detach()
            return self._dynamic(x, y, betas, why)
        self._late = self._late_check(rows[:, :n], x, y, betas)
        self.stats["ngspice_seconds"] += self.session.busy_seconds - busy
        vs = [rows[k::p, :n] for k in range(p)]
        return [Phase(b, v, self.twin.twin.signals(v, x)) for b, v in zip(betas, vs)]

    @staticmethod
    def _fallback(network: Network, settle_time: float) -> NgspiceEngine | None:
        """The engine that settles a batch the read form cannot: the per-phase dynamic form. A
        subclass without one (None) overrides `_dynamic`, which would use it."""
        return NgspiceEngine(network, analysis="tran", settle_time=settle_time)

    @staticmethod
    def _check_fits(network: Network) -> None:
        if not batched_transient_fits(network):
            raise ValueError("the batched transient engine needs ideal neurons and devices with a switching threshold")

    def close(self) -> None:
        self._finish_check()
        if self.dynamic is not None:
            self.dynamic.close()
        super().close()

    # ---- the read form's condition ----
    def _read_form_holds(self, x: np.ndarray) -> bool:
        """Before a batch: every line stays within the rails (ideal neurons: V in [v_low, v_high])
        and the inputs; the read form holds if that is below the threshold, with a 10 % margin."""
        nrn = self.network.neuron
        bound = max(abs(nrn.v_low), abs(nrn.v_high), float(np.max(np.abs(x))) if x.size else 0.0)
        return self.network.device.reads_safely(bound)

    _peak = 0.0

    def _read_form_held(self, rows: np.ndarray, x: np.ndarray) -> bool:
        """After a batch: the largest line voltage ngspice saw (at every time step) stayed below."""
        return self._peak <= self.network.device.read_limit

    def _dynamic(self, x: np.ndarray, y: np.ndarray | None, betas: list[float], why: str) -> list[Phase]:
        """The batch again, every phase its own transient with the devices' state equations live."""
        self.stats["dynamic_batches"] += 1
        self._detach()
        self.dynamic.program(self.states)
        out = self.dynamic.phases(x, y, betas)
        self.states = self.dynamic.current_states()  # the state equations were live: devices may have moved
        self.fallback.states = self.states
        self.twin.program(self.states)
        return out

    # ---- the check against the twin ----
    def _references(self, x: np.ndarray, y: np.ndarray | None, betas: list[float]) -> list[Any]:
        return []  # checked after the batch, from the states ngspice started each phase in

    def _late_check(self, v: np.ndarray, x: np.ndarray, y: np.ndarray | None, betas: list[float]) -> Future | None:
        """Start the check of this batch's phase ends against the twin of its device states (in a
        thread, read before the next batch; program() builds a new twin for the next batch)."""
        return self._threads.submit(self._phase_check, self.twin.twin, v, self._starts, x, y, betas)

    def _phase_check(self, twin: Any, v: np.ndarray, starts: np.ndarray, x: np.ndarray, y: np.ndarray | None,
                     betas: list[float]) -> float:
        """Largest |V_ngspice - V_twin| (volts) at the ends of this batch's phases, each phase
        integrated by the twin from the integrator voltages ngspice started it with."""
        p = len(betas)
        rows_y = None if y is None else np.repeat(y, p, axis=0)
        ends = twin.phase_ends(-starts, np.repeat(x, p, axis=0), rows_y, np.tile(betas, x.shape[0]), self.phase_time)
        return float(np.max(np.abs(v - self.network.neuron.rho(ends)))) if v.size else 0.0

    def _finish_check(self) -> None:
        if self._late is None:
            return
        diff, self._late = self._late.result(), None
        self.stats["late_checks"] += 1
        self.stats["max_twin_diff_mv"] = max(self.stats["max_twin_diff_mv"], 1e3 * diff)
        if diff > self.tolerance:  # counted in the metrics: a strongly coupled network may settle
            self.stats["twin_disagreements"] += 1  # into another equilibrium than the twin's from the same start
            LOG.warning("a transient phase ended %.3g mV from the twin's transient of it", 1e3 * diff)

    def _detach(self) -> None:
        super()._detach()
        if self.dynamic is not None:
            self.dynamic.detach()

    # ---- the transient itself ----
    def _saved(self) -> list[str]:
        return [names.node(ln, "activation") for ln in self.lines] + [names.node(ln, "integrator") for ln in self.lines]

    def _render(self, tables: PointTables, nudge: bool):
        self._ends = phase_ends(tables.points, self.phase_time, PHASE_RISE * self.phase_time)
        self._tail = 0
        return render(self.network, self.states, tables=tables, nudge=nudge, analysis="none", flat=True,
                      phase_time=self.phase_time, options=self.tran_options)

    def _capacity(self) -> int:
        return transient_chunk_points(self.network)

    def _start(self, chunk: Chunk, pause: int | None) -> str:
        step = self.phase_time / 10
        return self.session.transient(step, chunk.points * self.phase_time, step,
                                      None if pause is None else float(self._ends[pause]), uic=self.uic)

    def _resume(self, pause: int | None) -> None:
        self.session.resume_transient(None if pause is None else float(self._ends[pause]))

    def _solved(self, chunk: Chunk) -> int:
        """Phases whose end the transient has reached."""
        done = self.session.points_done(chunk.plot, b"time") if chunk.plot else 0
        if done == 0:
            return 0
        last = float(self.session.rows(chunk.plot, [b"time"], done - 1, done)[0, 0])
        return int(np.searchsorted(self._ends, last * (1 + 1e-12), side="right"))

    def _read(self, chunk: Chunk, first: int, stop: int) -> np.ndarray:
        """Every saved vector at the ends of phases first .. stop-1, and (kept aside) the
        integrator voltages at the end of each one's preceding phase: where it started."""
        done = self.session.points_done(chunk.plot, b"time")
        tail = self.session.rows(chunk.plot, [b"time"] + chunk.read, self._tail, done)
        # the next read starts a few steps back: at the last phase end (a time step of its own,
        # the waveform's breakpoint), which the pause just passed
        self._tail = max(done - 3, 0)
        times, values = tail[:, 0], tail[:, 1:]
        at = self._ends[first - 1:stop]
        rows = np.stack([np.interp(at, times, values[:, k]) for k in range(values.shape[1])], axis=1)
        n = len(self.lines)
        self._peak = float(np.max(np.abs(values[:, :n]))) if values.size else 0.0
        self._starts = rows[:-1, n:]
        self._waveform = (times, values[:, :n])
        return rows[1:]


def transient_chunk_points(network: Network) -> int:
    """Points one transient deck may hold (its vectors are read back after every batch)."""
    return min(chunk_points(network), TRAN_CHUNK_POINTS)


def batched_transient_fits(network: Network) -> bool:
    """Transient phases can be batched with devices in their read form: ideal neurons (the twin
    continues their phases from any state) and devices that cannot move below a threshold."""
    return network.neuron.level == "ideal" and network.device.read_limit > 0
