"""Parallel co-simulation: the samples of a batch settled by worker processes, one ngspice each.

ngspice is one per process, so parallelism is across processes: a local process pool
(`--workers N`) or a Dask distributed cluster (`--scheduler ADDRESS`, or `local` for a
LocalCluster). The parent keeps the device states and the learning rule; each batch is cut into
contiguous chunks, every chunk goes to a worker together with the current states, and the results
are put back in order. A worker loads its deck once and afterwards only alters values, and every
sample's `.op` is independent of what ran before it, so a parallel run computes exactly what the
serial run computes: same seed, same weights.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

import numpy as np

from memprop.circuits.network import Network, SynapseStates
from memprop.circuits.validation import ConfigError
from memprop.cosim.rules import Phase

#: This worker process's engines, by run key: a worker holds one ngspice, loaded once per network.
_WORKER_ENGINES: dict[str, Any] = {}


def _worker_engine(key: str, network: Network, backend: str, rule: str) -> Any:
    from memprop.cosim.engines import make_engine

    engine = _WORKER_ENGINES.get(key)
    if engine is None:
        for old in _WORKER_ENGINES.values():
            old.close()
        _WORKER_ENGINES.clear()
        # Workers share the cores with each other: BLAS threads that spin while waiting would steal
        # them from the neighbouring worker's ngspice (measured: 2 workers x1.56 -> see bench speed).
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
        engine = make_engine(backend, network, "op", 20.0, rule)
        _WORKER_ENGINES[key] = engine
    return engine


def run_chunk(key: str, network: Network, backend: str, rule: str, states: dict[str, np.ndarray],
              x: np.ndarray, y: np.ndarray | None, betas: list[float] | None) -> dict[str, Any]:
    """Settle one chunk in this worker: EP phases (betas) or the RBP adjoint phase (betas None)."""
    import time

    t0 = time.perf_counter()
    engine = _worker_engine(key, network, backend, rule)
    before = dict(getattr(engine, "stats", {}))
    engine.program(SynapseStates({k: np.asarray(v) for k, v in states.items()}))
    t_program = time.perf_counter() - t0
    if betas is None:
        free, lam = engine.adjoint_phase(x, y)
        result = {"v": [free.v], "lam": lam}
    else:
        result = {"v": [p.v for p in engine.phases(x, y, betas)]}
    after = getattr(engine, "stats", {})
    result["stats"] = {k: after[k] - before.get(k, 0) for k in after if k.startswith(("analyses", "restarts",
                                                                                          "op_failures", "analysis_"))}
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
                 scheduler: str | None = None, timeout: float = 600.0, retries: int = 3) -> None:
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
        self.worker_pids: set[int] = set()
        self.states: SynapseStates | None = None
        self.stats: dict[str, float] = {}
        self._client = self._cluster = self._pool = None
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
            self._pool = self._new_pool()
        from memprop.cosim.engines import BehavioralEngine

        self._twin = BehavioralEngine(network)

    def program(self, states: SynapseStates) -> None:
        self.states = states
        self._twin.program(states)

    def current_states(self) -> SynapseStates:
        return self.states

    def _map(self, x: np.ndarray, y: np.ndarray | None, betas: list[float] | None) -> list[dict[str, Any]]:
        chunks = [c for c in np.array_split(np.arange(x.shape[0]), self.workers) if len(c)]
        states = {k: v for k, v in self.states.items()}
        args = [(self.key, self.network, self.backend, self.rule, states, x[c], None if y is None else y[c], betas)
                for c in chunks]
        if self._client is not None:
            futures = [self._client.submit(run_chunk, *a, pure=False) for a in args]
            results = self._client.gather(futures)
        else:
            results = self._pool_map(args)
        self.worker_pids.update(r["pid"] for r in results)
        for r in results:
            for k, v in r["stats"].items():
                self.stats[k] = self.stats.get(k, 0) + v
            for k, v in r["stats_max"].items():
                self.stats[k] = max(self.stats.get(k, 0.0), v)
        return results

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=get_context("spawn"),
                                   initializer=_leave_ctrl_c_to_the_parent)

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
            futures = [self._pool.submit(run_chunk, *a) for a in args]
            try:
                return [f.result(timeout=self.timeout) for f in futures]
            except KeyboardInterrupt:  # stop now: do not wait for the workers to finish the batch
                self._kill_pool()
                self._pool = None
                raise
            except (BrokenProcessPool, FutureTimeout) as err:
                what = "hung (no answer in %.0f s)" % self.timeout if isinstance(err, FutureTimeout) else "died"
                log.warning("an ngspice worker %s; restarting it and retrying the batch (attempt %d of %d)",
                            what, attempt + 1, self.retries)
                self.stats["worker_restarts"] = self.stats.get("worker_restarts", 0) + 1
                self._kill_pool()
                self._pool = self._new_pool()
        from memprop.cosim.session import SimulationError

        raise SimulationError(f"ngspice workers failed {self.retries + 1} times in a row on the same batch")

    def _kill_pool(self) -> None:
        import signal

        for proc in list(getattr(self._pool, "_processes", {}).values()):
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._pool.shutdown(wait=False, cancel_futures=True)

    def phases(self, x: np.ndarray, y: np.ndarray | None, betas: list[float]) -> list[Phase]:
        results = self._map(x, y, betas)
        out = []
        for p, beta in enumerate(betas):
            v = np.concatenate([r["v"][p] for r in results])
            out.append(Phase(beta, v, self._twin.twin.signals(v, x)))
        return out

    def adjoint_phase(self, x: np.ndarray, y: np.ndarray) -> tuple[Phase, np.ndarray]:
        results = self._map(x, y, None)
        v = np.concatenate([r["v"][0] for r in results])
        lam = np.concatenate([r["lam"] for r in results])
        return Phase(0.0, v, self._twin.twin.signals(v, x)), lam

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
