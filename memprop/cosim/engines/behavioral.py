"""The behavioural (numpy) twin: the same circuit's equilibrium and dynamics without SPICE.

It is built from the same Network and device states as the deck, and solves the same equations
the subcircuits implement (see memprop/netgen/cells.py):

    ideal:       tau du/dt = -u + R_f (I_syn(V, n=0) + I_nudge),        V = rho(u)
    macromodel:  op-amp a = A0 (v_os - n) through one pole, s = v_rail tanh(a / v_rail), u = -s,
                 so at DC the summing node sits at n = v_os + (v_rail/A0) atanh(u/v_rail)
                 (finite gain) and the synapse currents see n instead of an exact virtual ground.

I_syn comes from each crossbar's linear operator (A, B) for linear-read devices (wire resistance
included) or from the device I-V for nonlinear reads. I_nudge = beta G_ref (y - V_out).
Everything is vectorised over a batch of samples.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np
from scipy.integrate import solve_ivp

from memprop.circuits.crossbar import linear_operator_parts, nonlinear_currents
from memprop.circuits.network import Crossbar, Network, SynapseStates, conductances, conductances_of
from memprop.circuits.validation import check_memory
from memprop.cosim.engines.fixedpoint import iterate


#: Where a float32 settle stops (V): a sweep moves no neuron by more than this. float32 resolves
#: 6e-8 of a value, and integrator outputs reach several volts, so 1e-8 is out of its reach.
FLOAT32_TOL = 1e-5

#: Where the smooth output layer's nudged Newton solve stops (V) in float64. float32 spaces values
#: near 1 V 1.2e-7 apart, so there it stops at 10 such steps: with 1e-13 every float32 sweep ran all
#: 50 Newton steps (a float32 Fashion batch took 34-38 ms instead of float64's 23).
_NEWTON_STOP = 1e-13

#: How close to the rails (as a fraction of v_rail) the macromodel's u may come in the solver.
_EDGE = 1.0 - 1e-9


@dataclass
class Equilibrium:
    """Per sample (rows) and neuron (columns): u, the activation V = rho(u), the summing node n."""

    u: np.ndarray
    v: np.ndarray
    n: np.ndarray
    iterations: int
    residual: float


@dataclass
class Trajectory:
    """A transient: times (T,), u and V of every neuron (T, N) for one sample."""

    t: np.ndarray
    u: np.ndarray
    v: np.ndarray


def _summed(drive: np.ndarray, v: np.ndarray, feeds: list[tuple[slice, np.ndarray]]) -> np.ndarray:
    """A block's input: its drive plus each feeding group's activations through its weights, in
    feed order. The first product takes the drive in place of a copy of the drive taking it: a
    sum of two is the same either way round, so every bit is the plain sum's, one pass less (the
    sweeps of a 784-500-10 batch are a few hundred microseconds each: these passes count)."""
    if not feeds:
        return drive.copy()
    (src, a_src), rest = feeds[0], feeds[1:]
    total = v[:, src] @ a_src
    total += drive
    for src, a_src in rest:
        total += v[:, src] @ a_src
    return total


def twin_bytes(network: Network) -> int:
    """Memory of the twin's dense operators A (neurons x signals) and B (neurons x neurons); a
    wire-resistance crossbar's model is checked where it is built (crossbar.wired_operator_bytes)."""
    return 8 * network.n_neurons * (network.n_signals + network.n_neurons)


class BehavioralNetwork:
    """A network with programmed states, ready to settle batches of inputs."""

    def __init__(self, network: Network, states: SynapseStates, *, memory: int = 3,
                 dtype: type = np.float64) -> None:
        """memory: Anderson memory of the block sweeps (0: plain sweeps). dtype: the precision the
        twin settles in; float32 halves the memory traffic of the operators and stops at
        FLOAT32_TOL (device states and writes stay float64; nonlinear reads stay float64)."""
        self.network = network
        self.neuron = network.neuron
        self.offsets = network.offsets()
        self.n = network.n_neurons
        self.out = network.output_slice()
        check_memory("network.layers" if network.topology == "layered" else "network.neurons",
                     f"the numpy twin of this {self.n}-neuron network", twin_bytes(network))
        self.linear = network.device.linear_read
        self.ideal = self.neuron.level == "ideal"
        n_sig = network.n_signals
        # Dense operators over the whole signal vector: I = A sigma + B n.
        # single precision for linear reads only (the device I-V of a nonlinear read is evaluated
        # in float64, and its relaxation then stalls above float32's stopping tolerance)
        self.dtype = np.dtype(dtype) if self.linear else np.dtype(np.float64)
        self.A = np.zeros((self.n, n_sig), dtype=self.dtype)
        self.B = np.zeros((self.n, self.n), dtype=self.dtype)
        self._bars = []
        self._parts: dict[str, np.ndarray] = {}  # each linear crossbar's B part (its diagonal without wires)
        self._programmed: dict[str, np.ndarray] = {}
        #: Anderson memory of the block sweeps (0: plain sweeps), and how many settles stopped unconverged.
        self.memory = memory
        self.unconverged = 0
        self._sweeps_converged = True
        self._drive_memo: tuple[np.ndarray, list] | None = None
        self._build(states)

    def _block(self, bar: Crossbar) -> tuple[slice, slice]:
        t0, s0 = self.offsets[bar.target], self.offsets[bar.source]
        return slice(t0, t0 + bar.rows), slice(s0, s0 + bar.cols)

    def _build(self, states: SynapseStates) -> None:
        g = conductances(self.network, states) if self.linear else None
        for bar in self.network.crossbars:
            rows, cols = self._block(bar)
            if self.linear:
                a, self._parts[bar.name] = linear_operator_parts(bar, g[bar.name])
                self.A[rows, cols] += a
            else:
                x_eff = self.network.effective_read(bar.name, states[bar.name])
                self._bars.append((bar, x_eff, rows.start, cols.start))
                gg = self.network.device.conductance(x_eff) * bar.mask()
                self.A[rows, cols] += gg[0] - gg[1]
                self._parts[bar.name] = -(gg[0].sum(1) + gg[1].sum(1))
        for target in {bar.target for bar in self.network.crossbars}:
            self._sum_parts(target)
        self._programmed = dict(states.states)

    def _sum_parts(self, target: str) -> None:
        """B's block of `target`: its crossbars' parts added in network order (as a fresh build)."""
        rows = self._block(next(b for b in self.network.crossbars if b.target == target))[0]
        parts = [self._parts[bar.name] for bar in self.network.crossbars if bar.target == target]
        if all(part.ndim == 1 for part in parts):
            self._sum_diagonal(rows, parts)
            return
        self.B[rows, rows] = 0.0
        diag = np.arange(rows.start, rows.stop)
        for part in parts:
            if part.ndim == 1:
                self.B[diag, diag] += part
            else:
                self.B[rows, rows] += part

    def _sum_diagonal(self, rows: slice, parts: list[np.ndarray]) -> None:
        """Crossbars without wires touch only B's diagonal, and nothing else writes the rest of
        their block (zero since B was made): the diagonal alone is summed, through a strided view,
        instead of zeroing the whole rows x rows block every write (a 500-neuron layer: 2 MB, more
        than a tenth of a Fashion batch). Same additions in the same order, so the same bits."""
        step = self.n + 1
        diagonal = self.B.reshape(-1)[rows.start * step:rows.stop * step:step]
        diagonal[:] = 0.0
        for part in parts:
            diagonal += part

    def reprogram(self, states: SynapseStates) -> None:
        """New device states: only the crossbars whose state arrays changed are recomputed, in place
        (a write changes all of a layered net's crossbars, but rebuilding meant zeroing, assembling
        and adding 0.8 M conductances more per batch). The result equals a fresh build exactly."""
        changed = [bar for bar in self.network.crossbars if states[bar.name] is not self._programmed.get(bar.name)]
        if not self.linear or not self._unique_blocks():
            self.A[:] = 0.0
            self._bars = []
            self._drive_memo = None
            self._build(states)
            return
        self._reprogram_blocks({bar.name: conductances_of(self.network, states, bar) for bar in changed})
        self._programmed = dict(states.states)

    def reprogram_reads(self, reads: dict[str, np.ndarray]) -> None:
        """New read conductances (2, rows, cols) of some dense crossbars of a linear-read network
        with a unique block per crossbar, given before their states are (a write under way)."""
        if not self.linear or not self._unique_blocks():
            raise ValueError("reprogramming from reads needs linear reads and one crossbar per block")
        self._reprogram_blocks(reads)
        self._programmed = {}  # the states behind these reads are not known here

    def _reprogram_blocks(self, reads: dict[str, np.ndarray]) -> None:
        bars = [bar for bar in self.network.crossbars if bar.name in reads]
        for bar in bars:
            rows, cols = self._block(bar)
            a, self._parts[bar.name] = linear_operator_parts(bar, reads[bar.name], out=self.A[rows, cols])
            self.A[rows, cols] = a  # a no-op unless the wires made a new array
        for target in {bar.target for bar in bars}:
            self._sum_parts(target)
        self._drive_memo = None

    def row_writer(self, name: str) -> Callable[[slice, np.ndarray], None] | None:
        """For a write that computes crossbar `name`'s new reads a block of rows at a time
        (programming.start_update): a function that puts rows `part` of the reads (2, rows, cols)
        into the twin's A block and B part while they are still in cache, instead of a second
        pass over the whole crossbar. Each row's difference and sums are those of
        linear_operator_parts bit for bit. None where a crossbar is not written by rows (see
        rows_of). finish_rows completes it."""
        rows = self.rows_of(name)
        if rows is None:
            return None
        block, part = rows

        def write(sl: slice, reads: np.ndarray) -> None:
            np.subtract(reads[0], reads[1], out=block[sl])
            part[sl] = -(reads[0].sum(axis=1) + reads[1].sum(axis=1))
        return write

    def rows_of(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Crossbar `name`'s block of A (rows, cols; a view) and its part of B's diagonal (rows,),
        for a write to fill in place (row_writer, or the compiled write of programming/fused.py);
        finish_rows completes it. None for nonlinear reads, wires, masks, or a block shared with
        another crossbar."""
        bar = self.network.crossbar(name)
        if not (self.linear and bar.dense and bar.wire_resistance <= 0 and self._unique_blocks()):
            return None
        rows, cols = self._block(bar)
        return self.A[rows, cols], self._parts[name]

    def finish_rows(self, names: Iterable[str]) -> None:
        """After row_writer wrote these crossbars: their targets' B blocks summed again."""
        for target in {self.network.crossbar(name).target for name in names}:
            self._sum_parts(target)
        self._drive_memo = None
        self._programmed = {}

    def _unique_blocks(self) -> bool:
        """No two crossbars share a block of A (each block can then be overwritten alone)."""
        pairs = [(b.target, b.source) for b in self.network.crossbars]
        return len(set(pairs)) == len(pairs)

    # ---- pieces of the equations ----
    def signals(self, v: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        """[V neurons, inputs, bias] per sample."""
        parts = [v, inputs]
        if self.network.has_bias:
            parts.append(np.full((v.shape[0], 1), self.neuron.v_high, dtype=v.dtype))
        return np.concatenate(parts, axis=1)

    def synapse_current(self, sigma: np.ndarray, n: np.ndarray) -> np.ndarray:
        if self.linear:
            return sigma @ self.A.T + n @ self.B.T
        out = np.zeros_like(n)
        for bar, x, t0, s0 in self._bars:
            out[:, t0:t0 + bar.rows] += nonlinear_currents(self.network.device, bar, x,
                                                           sigma[:, s0:s0 + bar.cols], n[:, t0:t0 + bar.rows])
        return out

    def nudge_current(self, v: np.ndarray, targets: np.ndarray | None, beta: float) -> np.ndarray:
        cur = np.zeros_like(v)
        if beta != 0.0 and targets is not None:
            cur[:, self.out] = beta * self.neuron.g_ref * (targets - v[:, self.out])
        return cur

    def summing_node(self, u: np.ndarray) -> np.ndarray:
        if self.ideal:
            return np.zeros_like(u)
        vr = self.neuron.v_rail
        return self.neuron.v_offset + (vr / self.neuron.a0) * np.arctanh(np.clip(u / vr, -_EDGE, _EDGE))

    def residual(self, u: np.ndarray, inputs: np.ndarray, targets: np.ndarray | None, beta: float) -> np.ndarray:
        """F(u) = -u + R_f (I_syn + I_nudge) - n(u): zero at equilibrium (before rail clipping)."""
        v = self.neuron.rho(u)
        n = self.summing_node(u)
        i = self.synapse_current(self.signals(v, inputs), n) + self.nudge_current(v, targets, beta)
        return -u + self.neuron.r_f * i - (0.0 if self.ideal else n)

    def _clip_rails(self, u: np.ndarray) -> np.ndarray:
        if self.ideal:
            return u
        vr = self.neuron.v_rail
        return np.clip(u, -vr * _EDGE, vr * _EDGE)

    def jacobian(self, u: np.ndarray, beta: float) -> np.ndarray:
        """dF/du per sample (B, N, N), exact for linear reads (approximate for nonlinear ones)."""
        rf = self.neuron.r_f
        d = self.neuron.rho_prime(u)
        a_nn = self.A[:, :self.n]
        jac = rf * a_nn[None, :, :] * d[:, None, :]
        if beta != 0.0:
            idx = np.arange(self.n)[self.out]
            jac[:, idx, idx] -= rf * beta * self.neuron.g_ref * d[:, idx]
        eye = np.eye(self.n)
        if self.ideal:
            return jac - eye[None]
        vr = self.neuron.v_rail
        dn = (1.0 / self.neuron.a0) / (1.0 - np.clip(u / vr, -_EDGE, _EDGE) ** 2)  # dn/du, (B, N)
        return jac + rf * self.B[None] * dn[:, None, :] - eye[None] * (1.0 + dn)[:, :, None]

    # ---- solvers ----
    def equilibrium(self, inputs: np.ndarray, targets: np.ndarray | None = None, beta: float = 0.0,
                    u0: np.ndarray | None = None, tol: float = 1e-10, max_relax: int = 2000,
                    newton: bool = True) -> Equilibrium:
        """Settle a batch: damped relaxation (what the circuit does), then Newton polishing."""
        inputs = np.atleast_2d(np.asarray(inputs, dtype=self.dtype))
        if targets is not None:
            targets = np.atleast_2d(np.asarray(targets, dtype=self.dtype))
        u = np.zeros((inputs.shape[0], self.n), self.dtype) if u0 is None else np.array(u0, dtype=self.dtype)
        step = 0.5
        it = 0
        res = np.inf
        if self.dtype == np.float32:
            tol, newton = max(tol, FLOAT32_TOL), False
        polish = newton and self.n <= 2000  # Newton has the last word on convergence
        if self._block_solvable(beta):
            u, it = self._block_sweeps(u, inputs, targets, beta, 1e-6 if newton else tol, max_relax)
            self.unconverged += not polish and not self._sweeps_converged
            max_relax = 0
        for it in range(it + 1, it + max_relax + 1):
            f = self.residual(u, inputs, targets, beta)
            u = self._clip_rails(u + step * f)
            res = float(np.max(np.abs(f))) if f.size else 0.0
            if res < (1e-6 if newton else tol):
                break
        else:
            self.unconverged += max_relax > 0 and not polish
        if polish:
            for _ in range(50):
                f = self.residual(u, inputs, targets, beta)
                res = float(np.max(np.abs(f))) if f.size else 0.0
                if res < tol:
                    break
                du = np.linalg.solve(self.jacobian(u, beta), -f[..., None])[..., 0]
                trial = self._clip_rails(u + du)
                if np.max(np.abs(self.residual(trial, inputs, targets, beta))) < res:
                    u = trial
                else:
                    u = self._clip_rails(u + step * f)
                it += 1
            else:
                self.unconverged += 1
        v = self.neuron.rho(u)
        return Equilibrium(u=u, v=v, n=self.summing_node(u), iterations=it, residual=res)

    def adjoint(self, eq: Equilibrium, targets: np.ndarray, side_gain: float = 1.0) -> np.ndarray:
        """RBP adjoint lambda (B, N): lambda = D (W^T lambda + e), D = diag(rho'(u*)), e = g (V - y) at outputs.

        This is what the side network relaxes to; dL/dW_ts = lambda_t s_s / side_gain.
        """
        targets = np.atleast_2d(np.asarray(targets, dtype=float))
        d = self.neuron.rho_prime(eq.u)
        w = self.neuron.r_f * self.A[:, :self.n]
        e = np.zeros_like(eq.v)
        e[:, self.out] = side_gain * (eq.v[:, self.out] - targets)
        if self.n <= 600:
            m = np.eye(self.n)[None] - d[:, :, None] * w.T[None]
            return np.linalg.solve(m, (d * e)[..., None])[..., 0]
        lam = d * e
        for _ in range(5000):
            new = d * (lam @ w + e)
            if np.max(np.abs(new - lam)) < 1e-12:
                return new
            lam = new
        return lam

    def _block_solvable(self, beta: float) -> bool:
        return (self.network.topology == "layered" and self.ideal and self.linear and beta > -0.9)

    def _block_sweeps(self, u: np.ndarray, inputs: np.ndarray, targets: np.ndarray | None, beta: float,
                      tol: float, max_sweeps: int) -> tuple[np.ndarray, int]:
        """Layer-by-layer exact updates (block Gauss-Seidel) for layered, ideal, linear networks.

        No neuron feeds a neuron of its own layer, so given its neighbours a layer's equilibrium is
        explicit; each block update lowers the energy, so the sweeps converge to the same kind of
        equilibrium the relaxation finds, in a few times fewer passes.
        """
        nrn = self.neuron
        blocks = self._blocks(inputs)
        nudged = beta != 0.0 and targets is not None
        out_group = self.network.output_group

        carried = self._carried(blocks)

        def sweep(u: np.ndarray) -> np.ndarray:
            u = u.copy()
            v = np.empty_like(u)  # every block's activations are set before a later block reads them,
            v[:, carried] = nrn.rho(u[:, carried])  # but for the groups read before their update
            for name, sl, drive, feeds in blocks:
                a = _summed(drive, v, feeds)
                a *= nrn.r_f
                if nudged and name == out_group:
                    a = self._nudged_solve(a, targets, beta, u[:, sl])
                u[:, sl] = a
                v[:, sl] = nrn.rho(a)
            return u
        done = iterate(sweep, u, tol, max_sweeps, self.memory, carried)
        self._sweeps_converged = done.converged(tol)
        return done.u, done.sweeps

    @staticmethod
    def _carried(blocks: list[tuple[str, slice, np.ndarray, list]]) -> slice | np.ndarray:
        """The neurons a sweep reads before it updates them: the groups that feed a block at or
        before their own place in the sweep order (the rest is recomputed before it is used). One
        run of neurons (a layered net's output layer) is a slice: every sweep and Anderson step
        indexes them several times, and a view costs a fraction of a gather of a 20-row batch."""
        places = {sl.start: k for k, (_, sl, _, _) in enumerate(blocks)}
        read = {src.start: src for k, (_, _, _, feeds) in enumerate(blocks) for src, _ in feeds
                if places[src.start] >= k}
        runs = [sl for _, sl in sorted(read.items())]
        if len(runs) == 1:
            return runs[0]
        return np.concatenate([np.arange(sl.start, sl.stop) for sl in runs] or [np.zeros(0, dtype=int)])

    def _blocks(self, inputs: np.ndarray) -> list[tuple[str, slice, np.ndarray, list]]:
        """Per neuron group: its slice, the drive of the inputs and bias (constant while a batch
        settles, and the same for every phase of it: computed once per batch and programming), and
        the neuron groups that feed it with their weights."""
        memo = self._drive_memo
        if memo is None or memo[0] is not inputs:
            return self._new_blocks(inputs)
        if not memo[1]:
            memo[1].extend(self._new_blocks(inputs))
        return memo[1]

    def _new_blocks(self, inputs: np.ndarray) -> list[tuple[str, slice, np.ndarray, list]]:
        groups = [(g.name, slice(self.offsets[g.name], self.offsets[g.name] + g.size))
                  for g in self.network.neuron_groups]
        external = self.signals(np.zeros((inputs.shape[0], self.n), self.dtype), inputs)[:, self.n:]
        # only a crossbar writes a block of A: the others are zero without looking (a 500-neuron
        # layer's own block is 2 MB, scanned every batch until it was skipped)
        wired = {(bar.target, bar.source) for bar in self.network.crossbars}
        blocks = []
        for name, sl in groups:
            drive = external @ self.A[sl, self.n:].T
            feeds = [(src, self.A[sl, src].T) for source, src in groups
                     if (name, source) in wired and np.any(self.A[sl, src])]
            blocks.append((name, sl, drive, feeds))
        return blocks

    @contextmanager
    def holding(self, inputs: np.ndarray) -> Iterator[np.ndarray]:
        """Settle several phases of the same inputs (a 2-D float array, not changed meanwhile): the
        drive of the inputs is computed once for all of them."""
        inputs = np.atleast_2d(np.asarray(inputs, dtype=self.dtype))
        self._drive_memo = (inputs, [])
        try:
            yield inputs
        finally:
            self._drive_memo = None

    def _nudged_solve(self, a: np.ndarray, y: np.ndarray, beta: float, u: np.ndarray) -> np.ndarray:
        """Solve u = a + beta (y - rho(u)) per output neuron (u + beta rho(u) is increasing)."""
        nrn = self.neuron
        rhs = a + beta * y
        if nrn.activation == "hard":
            lo, hi = nrn.v_low, nrn.v_high
            linear = rhs / (1.0 + beta)
            below = rhs - beta * lo
            above = rhs - beta * hi
            return np.where(below <= lo, below, np.where(above >= hi, above, linear))
        stop = _NEWTON_STOP if u.dtype == np.float64 else 10.0 * float(np.finfo(u.dtype).eps)
        for _ in range(50):
            f = u + beta * nrn.rho(u) - rhs
            u = u - f / (1.0 + beta * nrn.rho_prime(u))
            if np.max(np.abs(f)) < stop:
                break
        return u

    def phase_ends(self, u0: np.ndarray, inputs: np.ndarray, targets: np.ndarray | None, betas: np.ndarray,
                   duration: float) -> np.ndarray:
        """Ideal neurons: u after `duration` for many independent phases at once, row r starting at
        u0[r] with its own inputs, targets and nudging strength (one ODE solve of all rows).

        This is the reference of a transient sweep: each phase checked from the state ngspice
        started it in, so the rows do not depend on each other and are solved together."""
        if not self.ideal:
            raise ValueError("phase transients from a given state are implemented for the ideal neuron only")
        rows, n = u0.shape
        nrn = self.neuron
        betas = np.asarray(betas, dtype=float)

        def rhs(_t: float, flat: np.ndarray) -> np.ndarray:
            u = flat.reshape(rows, n)
            v = nrn.rho(u)
            cur = self.synapse_current(self.signals(v, inputs), np.zeros_like(u))
            if targets is not None:
                cur[:, self.out] += betas[:, None] * nrn.g_ref * (targets - v[:, self.out])
            return ((-u + nrn.r_f * cur) / nrn.tau).ravel()
        # RK45: 5x faster than LSODA on these many-row systems (its stiff mode builds a dense
        # Jacobian of all rows), the same ends to 4e-9 V
        sol = solve_ivp(rhs, (0.0, duration), np.asarray(u0, dtype=float).ravel(), t_eval=[duration],
                        method="RK45", rtol=1e-8, atol=1e-10)
        return sol.y[:, -1].reshape(rows, n)

    def transient(self, inputs: np.ndarray, t_stop: float, t_eval: np.ndarray | None = None,
                  targets: np.ndarray | None = None, beta: float = 0.0, u0: np.ndarray | None = None) -> Trajectory:
        """One sample's dynamics from all-zero initial conditions (as `.tran ... uic`), or, for the
        ideal neuron, from the integrator outputs u0 (a phase continuing from the previous one)."""
        if u0 is not None and not self.ideal:
            raise ValueError("continuing from u0 is implemented for the ideal neuron only")
        inputs = np.atleast_2d(np.asarray(inputs, dtype=float))
        tg = None if targets is None else np.atleast_2d(np.asarray(targets, dtype=float))
        nrn = self.neuron
        if t_eval is None:
            t_eval = np.linspace(0.0, t_stop, 401)
        if self.ideal:
            def rhs(_t: float, u: np.ndarray) -> np.ndarray:
                return self.residual(u[None], inputs, tg, beta)[0] / nrn.tau
            start = np.zeros(self.n) if u0 is None else np.asarray(u0, dtype=float)
            sol = solve_ivp(rhs, (0.0, t_stop), start, t_eval=t_eval, method="LSODA", rtol=1e-8, atol=1e-10)
            u = sol.y.T
        else:
            c_pole = nrn.pole_capacitance

            def rhs(_t: float, y: np.ndarray) -> np.ndarray:
                a, q = y[:self.n], y[self.n:]
                s = nrn.v_rail * np.tanh(a / nrn.v_rail)
                n = s - q
                v = nrn.rho(-s)
                i = self.synapse_current(self.signals(v[None], inputs), n[None])[0]
                i = i + self.nudge_current(v[None], tg, beta)[0]
                dq = -(i + q / nrn.r_f) / nrn.c_f
                da = (nrn.a0 * (nrn.v_offset - n) - a) / c_pole
                return np.concatenate([da, dq])
            sol = solve_ivp(rhs, (0.0, t_stop), np.zeros(2 * self.n), t_eval=t_eval, method="LSODA",
                            rtol=1e-8, atol=1e-10)
            u = -nrn.v_rail * np.tanh(sol.y[:self.n].T / nrn.v_rail)
        return Trajectory(t=sol.t, u=u, v=nrn.rho(u))
