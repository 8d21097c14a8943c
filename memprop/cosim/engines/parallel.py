"""Parallel co-simulation: the samples of a batch settled by worker processes, one ngspice each.

ngspice is one per process, so parallelism is across processes: a local process pool
(`--workers N`) or a Dask distributed cluster (`--scheduler ADDRESS`, or `local` for a
LocalCluster). The parent keeps the device states and the learning rule; each batch is cut into
contiguous chunks, every chunk goes to a worker together with the current states, and the results
are put back in order. A worker loads its deck once and afterwards only alters values, and every
sample's `.op` is independent of what ran before it, so a parallel run computes exactly what the
serial run computes: same seed, same weights. With the batched engine (sweeps that start every
point from the previous one) a worker's points start from other points than the serial run's, so
the weights agree to Newton's convergence (< 1e-12 here), not bit for bit. Transistor-level cells
train in transient mode here too (engines/transistor.py): each worker's transient chains its own
part of every batch, so a free phase starts from another sample's end than in the serial run and
the phases agree to their settling (the engine counts phases that had not settled).

Workers are sticky: worker w always settles part w of every batch, so the sweep deck it loaded
for upcoming batches is still the right one; the parent sends a worker the upcoming parts only
when that worker's deck has none left.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

import numpy as np

from memprop.circuits.network import Network, SynapseStates
from memprop.circuits.validation import ConfigError
from memprop.cosim.engines.base import Phase

#: This worker process's engines, by run key: a worker holds one ngspice, loaded once per network.
_WORKER_ENGINES: dict[str, Any] = {}


@dataclass(frozen=True)
class WorkerSpec:
    """Which engine a worker settles its parts with: the same for every batch of a run, so a
    worker builds it (and loads its ngspice deck) once per `key`."""

    #: the run's engine (parent pid and engine id): a new key replaces the worker's engine
    key: str
    network: Network
    backend: str
    rule: str
    batching: str = "sweep"
    analysis: str = "op"
    settle_time: float = 20.0


def _worker_engine(spec: WorkerSpec) -> Any:
    from memprop.cosim.engines.serial import serial_engine

    engine = _WORKER_ENGINES.get(spec.key)
    if engine is None:
        for old in _WORKER_ENGINES.values():
            old.close()
        _WORKER_ENGINES.clear()
        # Workers share the cores with each other: BLAS threads that spin while waiting would steal
        # them from the neighbouring worker's ngspice (measured: 2 workers x1.56 -> see bench speed).
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
        engine = serial_engine(spec.backend, spec.network, spec.analysis, spec.settle_time, spec.rule,
                               batching=spec.batching)
        _WORKER_ENGINES[spec.key] = engine
    return engine


def run_chunk(spec: WorkerSpec, states: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray | None,
              betas: list[float] | None, ahead: list[tuple] | None = None) -> dict[str, Any]:
    """Settle one part of a batch in this worker: EP phases (betas) or the RBP adjoint phase
    (betas None). `ahead`: this worker's parts of the batches that follow, for its sweep deck."""
    import time

    t0 = time.perf_counter()
    engine = _worker_engine(spec)
    before = dict(getattr(engine, "stats", {}))
    engine.program(SynapseStates({k: np.asarray(v) for k, v in states.items()}))
    t_program = time.perf_counter() - t0
    ahead = ahead or []

    def upcoming(m: int) -> tuple | None:
        return ahead[m - 1] if m - 1 < len(ahead) else None
    if betas is None:
        free, lam = engine.adjoint_phase(x, y, upcoming=upcoming)
        result = {"v": [free.v], "lam": lam}
    else:
        result = {"v": [p.v for p in engine.phases(x, y, betas, upcoming=upcoming)]}
    after = getattr(engine, "stats", {})
    result["ahead"] = engine.planned_ahead() if hasattr(engine, "planned_ahead") else 0
    result["stats"] = {k: after[k] - before.get(k, 0) for k in after if not k.startswith("max_")}
    result["stats_max"] = {k: after[k] for k in after if k.startswith("max_")}
    result["pid"] = os.getpid()
    result["stats"]["worker_program_seconds"] = t_program
    result["stats"]["worker_busy_seconds"] = time.perf_counter() - t0
    return result


def _leave_ctrl_c_to_the_parent() -> None:
    """Workers ignore Ctrl-C (the terminal sends it to them too): the parent stops them."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


class ParallelEngine:
    """Same interface as the serial engines; the batch is split over worker processes."""

    def __init__(self, network: Network, *, workers: int, backend: str = "ngspice", rule: str = "ep",
                 scheduler: str | None = None, timeout: float = 600.0, retries: int = 3,
                 batching: str = "sweep", analysis: str = "op", settle_time: float = 20.0) -> None:
        if workers < 1:
            raise ConfigError("workers", f"must be >= 1, got {workers}")
        self.network = network
        self.workers = workers
        self.backend = backend
        self.rule = rule
        self.name = backend
        self.key = f"{os.getpid()}-{id(self)}"
        self.timeout = timeout
        self.retries = retries
        self.batching = batching
        self.analysis, self.settle_time = analysis, settle_time
        self.worker_pids: set[int] = set()
        self.states: SynapseStates | None = None
        self.stats: dict[str, float] = {}
        self._client = self._cluster = None
        self._pools: list[ProcessPoolExecutor] = []
        #: per worker: batches its sweep deck still holds (as it last reported)
        self._ahead = [0] * workers
        if scheduler:
            try:
                from dask.distributed import Client, LocalCluster
            except ImportError:
                raise ConfigError("scheduler", "Dask is not installed: pip install 'dask[distributed]'") from None
            if scheduler == "local":
                self._cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                             dashboard_address=None, silence_logs=40)
                self._client = Client(self._cluster)
            else:
                try:
                    self._client = Client(scheduler, timeout="20s")
                except (OSError, TimeoutError, ValueError) as err:  # ValueError: an address Dask cannot parse
                    raise ConfigError("scheduler", f"cannot reach Dask scheduler {scheduler!r}: {err}") from None
        else:
            self._pools = [self._new_pool() for _ in range(workers)]
        from memprop.cosim.engines.twin import BehavioralEngine

        self._twin = BehavioralEngine(network)

    def program(self, states: SynapseStates) -> None:
        self.states = states
        self._twin.program(states)

    def current_states(self) -> SynapseStates:
        return self.states

    def _parts(self, n: int) -> list[np.ndarray]:
        return [c for c in np.array_split(np.arange(n), self.workers) if len(c)]

    def _ahead_parts(self, w: int, upcoming: Any, rbp: bool) -> list[tuple]:
        """Worker w's parts of the batches after this one, as many as one sweep deck holds."""
        from memprop.cosim.engines.batched import chunk_points, transient_chunk_points

        if upcoming is None or self._ahead[w] > 0 or self.backend != "ngspice" or self.batching != "sweep":
            return []
        room = chunk_points(self.network) if self.analysis == "op" else transient_chunk_points(self.network)
        out, m = [], 1
        while room > 0 and (nxt := upcoming(m)) is not None:
            x, y, betas = nxt
            part = self._parts(x.shape[0])
            if w >= len(part):
                break
            c = part[w]
            room -= len(c) * len(betas)
            out.append((x[c], None if y is None else y[c], [0.0] if rbp else betas))
            m += 1
        return out

    def _map(self, x: np.ndarray, y: np.ndarray | None, betas: list[float] | None,
             upcoming: Any = None) -> list[dict[str, Any]]:
        chunks = self._parts(x.shape[0])
        states = {k: v for k, v in self.states.items()}
        spec = WorkerSpec(key=self.key, network=self.network, backend=self.backend, rule=self.rule,
                          batching=self.batching, analysis=self.analysis, settle_time=self.settle_time)
        args = [(spec, states, x[c], None if y is None else y[c], betas, self._ahead_parts(w, upcoming, betas is None))
                for w, c in enumerate(chunks)]
        if self._client is not None:
            results = self._dask_map(args)
        else:
            results = self._pool_map(args)
        self.worker_pids.update(r["pid"] for r in results)
        for w, r in enumerate(results):
            self._ahead[w] = r["ahead"]
        for r in results:
            for k, v in r["stats"].items():
                self.stats[k] = self.stats.get(k, 0) + v
            for k, v in r["stats_max"].items():
                self.stats[k] = max(self.stats.get(k, 0.0), v)
        return results

    def _new_pool(self) -> ProcessPoolExecutor:
        """One worker process: each part of a batch always goes to the same process."""
        return ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"),
                                   initializer=_leave_ctrl_c_to_the_parent)

    def _dask_map(self, args: list[tuple]) -> list[dict[str, Any]]:
        """Part w to Dask worker w (sorted by address), so its sweep deck stays its own."""
        addresses = sorted(self._client.scheduler_info()["workers"])
        futures = [self._client.submit(run_chunk, *a, pure=False,
                                       workers=[addresses[w % len(addresses)]] if addresses else None)
                   for w, a in enumerate(args)]
        return self._client.gather(futures)

    def _pool_map(self, args: list[tuple]) -> list[dict[str, Any]]:
        """Run the chunks; a worker that dies or hangs is killed, replaced, and its chunk retried.

        A replacement worker starts a fresh ngspice and gets the full device states with the chunk,
        so the retried samples give exactly what they would have given the first time.
        """
        import logging
        from concurrent.futures import TimeoutError as FutureTimeout
        from concurrent.futures.process import BrokenProcessPool

        log = logging.getLogger("memprop.executors")
        for attempt in range(self.retries + 1):
            futures = [self._pools[w].submit(run_chunk, *a) for w, a in enumerate(args)]
            try:
                return [f.result(timeout=self.timeout) for f in futures]
            except KeyboardInterrupt:  # stop now: do not wait for the workers to finish the batch
                for pool in self._pools:
                    self._kill_pool(pool)
                self._pools = []
                raise
            except (BrokenProcessPool, FutureTimeout) as err:
                what = "hung (no answer in %.0f s)" % self.timeout if isinstance(err, FutureTimeout) else "died"
                log.warning("an ngspice worker %s; restarting it and retrying the batch (attempt %d of %d)",
                            what, attempt + 1, self.retries)
                self.stats["worker_restarts"] = self.stats.get("worker_restarts", 0) + 1
                for w in range(len(self._pools)):
                    self._kill_pool(self._pools[w])
                    self._pools[w] = self._new_pool()
                self._ahead = [0] * self.workers  # fresh workers hold no sweep decks
        from memprop.cosim.simulator.session import SimulationError

        raise SimulationError(f"ngspice workers failed {self.retries + 1} times in a row on the same batch")

    @staticmethod
    def _kill_pool(pool: ProcessPoolExecutor) -> None:
        import signal

        for proc in list(getattr(pool, "_processes", {}).values()):
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        pool.shutdown(wait=False, cancel_futures=True)

    def phases(self, x: np.ndarray, y: np.ndarray | None, betas: list[float], upcoming: Any = None) -> list[Phase]:
        results = self._map(x, y, betas, upcoming)
        out = []
        for p, beta in enumerate(betas):
            v = np.concatenate([r["v"][p] for r in results])
            out.append(Phase(beta, v, self._twin.twin.signals(v, x)))
        return out

    def adjoint_phase(self, x: np.ndarray, y: np.ndarray, upcoming: Any = None) -> tuple[Phase, np.ndarray]:
        results = self._map(x, y, None, upcoming)
        v = np.concatenate([r["v"][0] for r in results])
        lam = np.concatenate([r["lam"] for r in results])
        return Phase(0.0, v, self._twin.twin.signals(v, x)), lam

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        for pool in self._pools:
            pool.shutdown(wait=True, cancel_futures=True)
        self._pools = []
