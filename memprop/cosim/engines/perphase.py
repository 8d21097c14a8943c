"""The per-phase ngspice engine: each phase one `.op` (or `.tran`) on a deck loaded once.

It takes the same Network and device states as the twin engine (engines/twin.py) and returns the
same Phases. It renders and loads its deck once, then changes only values (inputs, targets,
nudging gains, device resistances) with `alter` between analyses. The batched engine
(engines/batched.py) solves many phases per analysis and falls back to this one.

Which equilibrium: a network with strong symmetric feedback can have several. The circuit itself
settles into the one its dynamics reach from where it was (rest for the free phase, the free
equilibrium for a nudged one); `.op`'s Newton iteration may land on another one, or fail to
converge. The ngspice engine therefore checks every `.op` against the twin's relaxation of the
same phase and, when they differ (or `.op` fails), solves again with `.nodeset` initial guesses
at the relaxed point. Such restarts are counted in `stats`; the result is always a converged
ngspice solution of the full circuit.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Iterator

import numpy as np

from memprop.circuits.network import Network, SynapseStates
from memprop.cosim.engines.behavioral import BehavioralNetwork
from memprop.cosim.engines.base import Phase
from memprop.cosim.engines.twin import BehavioralEngine
from memprop.netgen import names
from memprop.netgen.deck import render
from memprop.netgen.updates import DeviceWriter, SourceWriter, device_ic_assignments, device_state_vectors


LOG = logging.getLogger("memprop.engine")
#: Extra ngspice options per retry (the first rung: the .nodeset restart alone).
RETRY_LADDER: tuple[tuple[str, ...], ...] = (
    (),
    ("gminsteps=100",),
    ("srcsteps=100",),
    ("reltol=0.01", "itl1=1000", "gminsteps=100", "srcsteps=100"),
)


#: The dynamic form's transient phases: Gear (BDF2) with time steps up to a tenth of a phase.
#: Measured at 64-32-10 (2 samples x 3 phases, VTEAM): the trapezoidal rule with steps of a
#: hundredth of a phase took 680 time points, 32 s, ending within 0.75 mV of the twin's
#: equilibria; Gear with tenths took 273 points, 17 s, within 0.42 mV (trap with tenths: 224
#: points, 13 s, 0.67 mV; gear is the transistor engine's choice too, where trap rang).
DYNAMIC_OPTIONS = ("method=gear",)
DYNAMIC_MAX_STEP = 0.1


class NgspiceEngine:
    """Settles each sample's phases with ngspice `.op` analyses on one loaded deck."""

    name = "ngspice"

    def __init__(self, network: Network, *, tolerance: float = 5e-4, analysis: str = "op",
                 settle_time: float = 20.0, side: bool = False) -> None:
        from memprop.cosim.simulator.session import NgSpiceSession

        self.network = network
        self.analysis = analysis
        self.form = "read" if analysis == "op" else "dynamic"
        self.side = side
        if side and analysis != "op":
            from memprop.circuits.validation import ConfigError

            raise ConfigError("train.analysis", "RBP's side network settles with .op; use analysis = op")
        self.phase_time = settle_time * network.neuron.tau
        self.session = NgSpiceSession.instance()
        self.tolerance = tolerance
        self.states: SynapseStates | None = None
        self.node_map: dict[str, Any] | None = None
        self.twin = BehavioralEngine(network)
        groups = network.neuron_groups
        self.lines = [names.line(g, k) for g in groups for k in range(g.size)]
        out = network.group(network.output_group)
        self.outputs = [names.line(out, k) for k in range(out.size)]
        self._v_names = [names.node(ln, "activation").encode() for ln in self.lines]
        self._l_names = [names.node(ln, "adjoint").encode() for ln in self.lines]
        self.stats = {"analyses": 0, "restarts": 0, "op_failures": 0, "max_twin_diff_mv": 0.0,
                      "analysis_seconds": 0.0}
        self._threads: Any = None

    def _load(self, x: np.ndarray, y: np.ndarray | None, beta: float,
              nodeset: dict[str, float] | None = None) -> None:
        deck = render(self.network.with_beta(beta), self.states, inputs=x, targets=y, nudge=True,
                      analysis="none", nodeset=nodeset, form=self.form, side=self.side, xspice=self.session.xspice,
                      options=DYNAMIC_OPTIONS if self.form == "dynamic" else ())
        self.session.load(deck.text)
        if self.form == "read":
            self.session.save_only([names.node(ln, "activation") for ln in self.lines]
                                   + ([names.node(ln, "adjoint") for ln in self.lines] if self.side else []))
        if self.node_map is None or self.form == "dynamic":
            self.writer = DeviceWriter(self.network, deck.node_map) if self.form == "read" else None
            self.sources = SourceWriter(self.network, deck.node_map)
        # the fresh deck holds these sources' values: later samples write only what differs
        self.sources.assume(x, y, beta)
        self.node_map = deck.node_map

    def program(self, states: SynapseStates) -> None:
        """New device states: altered into the loaded deck, or written into the next deck loaded."""
        previous = self.states
        self.states = states
        self.twin.program(states)
        if self.node_map is None:
            return
        if self.form == "dynamic":
            self.session.set_values(device_ic_assignments(self.network, states, self.node_map))
            return
        self.session.drop_plots()
        self.session.send_packed(self.writer.commands(states, previous))

    def current_states(self) -> SynapseStates:
        """Python's authoritative states (in tran mode including what the reads did to them)."""
        return self.states

    def _ensure_loaded(self) -> None:
        if self.node_map is None:
            self._load(np.zeros(self.network.n_inputs), np.zeros(len(self.outputs)), 0.0)

    def detach(self) -> None:
        """Another engine replaced this process's circuit: load the deck again before the next use."""
        self.node_map = None

    def _op(self) -> tuple[np.ndarray, np.ndarray | None]:
        """One .op: the activations, and the side network's lambda when it is in the deck."""
        t0 = time.perf_counter()
        plot = self.session.op()
        self.stats["analysis_seconds"] += time.perf_counter() - t0
        self.stats["analyses"] += 1
        v = self.session.scalars(plot, self._v_names)
        lam = self.session.scalars(plot, self._l_names) if self.side else None
        return v, lam

    def _settle(self, x: np.ndarray, y: np.ndarray | None, beta: float, ref_v: np.ndarray,
                ref_u: np.ndarray, where: str = "") -> tuple[np.ndarray, np.ndarray | None]:
        """One .op, with the retry ladder when ngspice fails or lands on another equilibrium.

        Ladder: plain .op; .nodeset at the relaxed point; then the same with more gmin steps,
        more source steps, and relaxed tolerances (reltol 1e-2, itl1 1000). Each rung is logged
        with the sample and phase; if all fail, SimulationError names them.
        """
        from memprop.cosim.simulator.session import SimulationError

        try:
            first: Any = self._op()
        except SimulationError as err:
            first = err
        return self.accept_or_retry(first, x, y, beta, ref_v, ref_u, where)

    def accept_or_retry(self, first: Any, x: np.ndarray, y: np.ndarray | None, beta: float, ref_v: np.ndarray,
                         ref_u: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray | None]:
        """Accept a plain .op's (v, lambda) when it agrees with the twin; else (or when it raised) retry."""
        from memprop.cosim.simulator.session import SimulationError

        if isinstance(first, SimulationError):
            self.stats["op_failures"] += 1
            LOG.warning("%s: .op failed (%s); retrying from the relaxed point", where,
                        first.lines[-1:] or first.what)
        elif np.max(np.abs(first[0] - ref_v)) <= self.tolerance:
            return self._done(first[0], first[1], ref_v)
        guess = {}
        for k, ln in enumerate(self.lines):
            guess[names.node(ln, "integrator")] = -ref_u[k]
            guess[names.node(ln, "activation")] = ref_v[k]
            guess[names.node(ln, "inverted")] = -ref_v[k]
        self.stats["restarts"] += 1
        self._load(x, y, beta, nodeset=guess)
        last: SimulationError | None = None
        try:
            for rung, options in enumerate(RETRY_LADDER):
                if options:
                    self.stats["ladder_retries"] = self.stats.get("ladder_retries", 0) + 1
                    LOG.warning("%s: retry %d with %s", where, rung, " ".join(options))
                    self.session.commands([f"option {o}" for o in options])
                try:
                    v, lam = self._op()
                    break
                except SimulationError as err:
                    last = err
            else:
                raise SimulationError(f"ngspice found no operating point for {where} after "
                                      f"{len(RETRY_LADDER)} attempts", last.lines if last else ())
        finally:
            # back to the plain deck (default options, no guesses), so no later sample starts from
            # this sample's state: every sample's result is independent of what ran before it
            self._load(x, y, beta)
        return self._done(v, lam, ref_v)

    def _done(self, v: np.ndarray, lam: np.ndarray | None, ref_v: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        diff = float(np.max(np.abs(v - ref_v))) * 1e3
        self.stats["max_twin_diff_mv"] = max(self.stats["max_twin_diff_mv"], diff)
        return v, lam

    def _tran_phase(self, ref_v: np.ndarray) -> np.ndarray:
        """One phase as a transient continuing from the previous one; device states read back."""
        from memprop.cosim.engines.transient import neuron_ic_assignments

        t0 = time.perf_counter()
        plot = self.session.tran(self.phase_time / 100, self.phase_time, uic=True,
                                 max_step=DYNAMIC_MAX_STEP * self.phase_time)
        self.stats["analysis_seconds"] += time.perf_counter() - t0
        self.stats["analyses"] += 1
        self.stats["time_points"] = self.stats.get("time_points", 0) + len(self.session.vector(plot, "time"))
        v = np.array([self.session.vector(plot, names.node(ln, "activation"))[-1] for ln in self.lines])
        moved = self.states.copy()
        for bar, k, i, j, vec in device_state_vectors(self.network, self.node_map):
            moved.states[bar][k, i, j] = self.session.vector(plot, vec)[-1]
        self.states = moved
        self.session.set_values(neuron_ic_assignments(self.network, self.session, plot, self.lines)
                                + device_ic_assignments(self.network, moved, self.node_map))
        diff = float(np.max(np.abs(v - ref_v))) * 1e3
        self.stats["max_twin_diff_mv"] = max(self.stats["max_twin_diff_mv"], diff)
        return v

    @staticmethod
    def _references(twin: BehavioralNetwork, x: np.ndarray, y: np.ndarray | None, betas: list[float]) -> list[Any]:
        """The twin's equilibria of every phase: the check of every ngspice result."""
        newton = twin.n <= 200
        ref_free = twin.equilibrium(x, newton=newton)
        return [ref_free] + [twin.equilibrium(x, y, b, u0=ref_free.u, newton=newton) for b in betas[1:]]

    def _each_phase(self, x: np.ndarray, y: np.ndarray | None, betas: list[float]) -> Iterator[tuple[int, int]]:
        """(sample i, phase p) in the circuit's order, the sources set for each: a sample's inputs
        and targets once, then each phase's nudging (old vectors destroyed, so memory stays flat)."""
        for i in range(x.shape[0]):
            yi = None if y is None else y[i]
            self.session.commands(["destroy all"] + self.sources.sample(x[i], yi) + self.sources.beta(0.0))
            for p, beta in enumerate(betas):
                if p:
                    self.session.commands(["destroy all"] + self.sources.beta(beta))
                yield i, p

    def phases(self, x: np.ndarray, y: np.ndarray | None, betas: list[float], upcoming: Any = None) -> list[Phase]:
        """Every sample's phases, each its own analysis (`upcoming` batches are not needed here)."""
        twin = self.twin.twin
        self._ensure_loaded()
        if self.form == "read":
            return self._op_phases(twin, x, y, betas)
        refs = self._references(twin, x, y, betas)
        vs = [np.zeros_like(refs[0].v) for _ in betas]
        for i, p in self._each_phase(x, y, betas):
            vs[p][i] = self._tran_phase(refs[p].v[i])
        self.twin.program(self.states)
        return [Phase(b, v, twin.signals(v, x)) for b, v in zip(betas, vs)]

    def _op_phases(self, twin: BehavioralNetwork, x: np.ndarray, y: np.ndarray | None,
                   betas: list[float]) -> list[Phase]:
        """Every sample's phases as plain `.op`s while a thread computes the twin's references; then
        each result is checked, and the ones that failed or disagree go through the retry ladder.

        ngspice releases the GIL while it solves, so the twin costs no wall time here; and since every
        plain `.op` starts from scratch, checking after the batch gives what checking after each
        `.op` gives.
        """
        from concurrent.futures import ThreadPoolExecutor

        from memprop.cosim.simulator.session import SimulationError

        if self._threads is None:
            self._threads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memprop-twin")
        pending = self._threads.submit(self._references, twin, x, y, betas)
        raw: list[list[Any]] = [[None] * x.shape[0] for _ in betas]
        try:
            for i, p in self._each_phase(x, y, betas):
                try:
                    raw[p][i] = self._op()
                except SimulationError as err:
                    raw[p][i] = err
        finally:
            refs = pending.result()
        vs = [np.zeros_like(refs[0].v) for _ in betas]
        for i in range(x.shape[0]):
            yi = None if y is None else y[i]
            for p, beta in enumerate(betas):
                where = f"sample {i} of the batch, {'free phase' if p == 0 else f'nudged phase beta={beta:+g}'}"
                vs[p][i] = self.accept_or_retry(raw[p][i], x[i], yi, beta, refs[p].v[i], refs[p].u[i], where)[0]
        return [Phase(b, v, twin.signals(v, x)) for b, v in zip(betas, vs)]

    def adjoint_phase(self, x: np.ndarray, y: np.ndarray, upcoming: Any = None) -> tuple[Phase, np.ndarray]:
        """Per sample one `.op` of forward network plus side network: V* and the adjoint lambda."""
        if not self.side:
            raise RuntimeError("this engine was built without the side network")
        self._ensure_loaded()
        twin = self.twin.twin
        newton = self.network.n_neurons <= 200
        ref = twin.equilibrium(x, newton=newton)
        ref_lam = twin.adjoint(ref, y)
        v = np.zeros_like(ref.v)
        lam = np.zeros_like(ref.v)
        for i in range(x.shape[0]):
            self.session.commands(["destroy all"] + self.sources.sample(x[i], y[i]) + self.sources.beta(0.0))
            v[i], lam[i] = self._settle(x[i], y[i], 0.0, ref.v[i], ref.u[i], f"sample {i} of the batch, free phase")
            diff = float(np.max(np.abs(lam[i] - ref_lam[i]))) * 1e3
            self.stats["max_lambda_diff_mv"] = max(self.stats.get("max_lambda_diff_mv", 0.0), diff)
        return Phase(0.0, v, twin.signals(v, x)), lam

    def close(self) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=True)
            self._threads = None
        self.session.clear()
        self.node_map = None
