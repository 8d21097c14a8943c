"""The training loop: settle phases, estimate the gradient, program the devices, checkpoint.

Everything random is derived from (seed, epoch, batch), so a run resumed from a checkpoint
replays exactly what the uninterrupted run would have done (bit-identical with the behavioural
backend). Checkpoints are written every `checkpoint_every` batches and at every epoch end.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from memprop.circuits.network import Network, SynapseStates, check_states
from memprop.circuits.validation import ConfigError, check_finite, check_int
from memprop.cosim.runs import rundir
from memprop.cosim.config.config import (Config, build_network, check_trainable, differences, dumps, initial_states,
                                  load_stored, loads_stored)
from memprop.cosim.data.datasets import Dataset, Splits, load_splits
from memprop.cosim.engines.factory import make_engine
from memprop.cosim.programming.writes import (FIDELITY_FIELDS, PROGRAMMING_FIELDS, Fidelity, apply_update, plain_write,
                                      start_update)
from memprop.cosim.learning.estimators import Step, make_estimator, layer_rates, train_step
from memprop.cosim.learning.schedule import (SECOND_MOMENT_PREFIX, VELOCITY_PREFIX, adam_step, read_moments, step,
                                    velocity_arrays, zero_moments)
from memprop.cosim.simulator.session import SimulationError


@dataclass
class Progress:
    """Where a run stands: the next batch to do, the partial epoch's accumulators, and the
    momentum's velocity per primary crossbar (carried across epochs; empty without momentum), with
    Adam's second moment beside it (empty for sgd)."""

    epoch: int = 0
    batch: int = 0
    loss_sum: float = 0.0
    loss_count: int = 0
    seconds: float = 0.0
    fidelity: Fidelity | None = None
    velocity: dict[str, np.ndarray] = field(default_factory=dict)
    second: dict[str, np.ndarray] = field(default_factory=dict)


def blas_threads() -> int:
    """The threads BLAS multiplies with in this process now (1 if no BLAS library reports)."""
    return max((lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"), default=1)


def blas_beside(writes: ThreadPoolExecutor | None) -> AbstractContextManager:
    """BLAS one thread fewer while a write thread computes device states beside the settling
    thread. BLAS's idle workers spin waiting for the next product; on two cores they took the
    write thread's core and stalled both (Fashion 784-500-10, batch 50: ~23 -> ~17 ms per batch;
    batch 20: ~23 -> ~13 ms). How BLAS splits a product decides its last bits, so a run equals
    one with that many BLAS threads throughout (to ~1e-15 per batch of one with more)."""
    if writes is None:
        return nullcontext()
    threads = blas_threads()
    return threadpool_limits(threads - 1, user_api="blas") if threads > 1 else nullcontext()


def one_hot(labels: np.ndarray, n: int, low: float, high: float) -> np.ndarray:
    out = np.full((len(labels), n), low)
    out[np.arange(len(labels)), labels] = high
    return out


@dataclass
class EpochPlan:
    """The batches of one epoch, each computable on its own, so an engine can look ahead (the
    batched ngspice engine puts upcoming batches into the sweep it is solving)."""

    data: Dataset
    order: np.ndarray
    batch_size: int
    network: Network
    betas: Callable[[int], list[float]]
    targets: bool = True

    def __len__(self) -> int:
        return math.ceil(len(self.order) / self.batch_size)

    def indices(self, k: int) -> np.ndarray:
        return self.order[k * self.batch_size:(k + 1) * self.batch_size]

    def batch(self, k: int) -> tuple[np.ndarray, np.ndarray | None, list[float]]:
        """Batch k: input voltages, one-hot target voltages (None for inference) and nudgings."""
        lo, hi = self.network.neuron.v_low, self.network.neuron.v_high
        idx = self.indices(k)
        y = one_hot(self.data.y[idx], self.network.group(self.network.output_group).size, lo, hi)
        return lo + (hi - lo) * self.data.x[idx], y if self.targets else None, self.betas(k)

    def upcoming(self, k: int) -> Callable[[int], Any]:
        """upcoming(m): batch k + m, or None past the end (what engines look ahead with)."""
        return lambda m: self.batch(k + m) if k + m < len(self) else None


def evaluate(engine: Any, network: Network, data: Dataset, batch: int = 256) -> dict[str, float]:
    """Accuracy (argmax of the free-phase outputs) and mean squared-error cost."""
    if len(data.y) == 0:
        return {"accuracy": float("nan"), "loss": float("nan")}
    lo, hi = network.neuron.v_low, network.neuron.v_high
    plan = EpochPlan(data, np.arange(len(data.y)), batch, network, lambda k: [0.0], targets=False)
    correct, cost = 0, 0.0
    out = network.output_slice()
    for k in range(len(plan)):
        x, _, betas = plan.batch(k)
        labels = data.y[plan.indices(k)]
        y = one_hot(labels, network.group(network.output_group).size, lo, hi)
        v = engine.phases(x, None, betas, upcoming=plan.upcoming(k))[0].v[:, out]
        correct += int(np.sum(np.argmax(v, axis=1) == labels))
        cost += float(0.5 * np.sum((v - y) ** 2))
    return {"accuracy": correct / len(data.y), "loss": cost / len(data.y)}


def states_to_arrays(states: SynapseStates) -> dict[str, np.ndarray]:
    return {f"state__{k}": v for k, v in states.items()}


def arrays_to_states(arrays: dict[str, np.ndarray]) -> SynapseStates:
    return SynapseStates({k[len("state__"):]: v.copy() for k, v in arrays.items() if k.startswith("state__")})


#: What a resumed run may change in its config: how long it runs and how it is executed, never what it
#: computes (a checkpoint of another device model or learning rate would resume into wrong results).
RESUMABLE = frozenset({"train.epochs", "train.workers", "train.scheduler", "train.isolate", "train.worker_timeout",
                       "train.checkpoint_every", "train.batching"})


def read_checkpoint(cfg: Config, network: Network, path: Path, *, overrides: Iterable[str] = (),
                    n_batches: int | None = None) -> tuple[SynapseStates, Progress, dict[str, Any]]:
    """A checkpoint that belongs to this run, or a ConfigError naming what does not: its states fit
    `network` (float64, finite, within the device's bounds), its progress is one the run can have
    reached (`n_batches`: batches per epoch, when known), and its config is `cfg` except for
    RESUMABLE fields and the train fields in `overrides` (changed deliberately by this command)."""
    arrays, meta = rundir.load_checkpoint(path)
    try:
        prog = _progress(cfg, meta, arrays, n_batches)
        _check_config(cfg, meta["config"], RESUMABLE | {f"train.{k}" for k in overrides})
        _check_arrays(network, arrays)
        prog.velocity, prog.second = read_moments(cfg.train, network, arrays)
        states = arrays_to_states(arrays)
        check_states(network, states)
    except ConfigError as err:
        raise err.located(str(path), "checkpoint") from None
    return states, prog, meta


def _progress(cfg: Config, meta: dict[str, Any], arrays: dict[str, np.ndarray], n_batches: int | None) -> Progress:
    for key in ("epoch", "batch", "loss_sum", "loss_count", "seconds", "config"):
        if key not in meta:
            raise ConfigError(key, "missing from the metadata")
    epoch = check_int("epoch", meta["epoch"], low=0, high=100_000)
    batch = check_int("batch", meta["batch"], low=0, high=10**7 if n_batches is None else max(n_batches - 1, 0))
    loss_count = check_int("loss_count", meta["loss_count"], low=0, high=10**7)
    if n_batches is not None and loss_count != batch * cfg.train.batch_size:
        raise ConfigError("loss_count", f"{loss_count} samples cannot precede batch {batch} of size "
                                        f"{cfg.train.batch_size}")
    progress = Progress(epoch, batch, check_finite("loss_sum", meta["loss_sum"], nonnegative=True), loss_count,
                        check_finite("seconds", meta["seconds"], nonnegative=True))
    fidelity = arrays.get("fidelity")
    if fidelity is None or fidelity.shape != (len(FIDELITY_FIELDS),) or fidelity.dtype != np.float64 \
            or not np.all(np.isfinite(fidelity)):
        raise ConfigError("fidelity", f"must be {len(FIDELITY_FIELDS)} finite numbers")
    progress.fidelity = Fidelity(fidelity.copy(), _programming_sums(arrays))
    return progress


def _programming_sums(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """The pulse-write sums of a checkpoint (zeros for one of a version that did not keep them)."""
    sums = arrays.get("programming")
    if sums is None:
        return np.zeros(len(PROGRAMMING_FIELDS))
    if sums.shape != (len(PROGRAMMING_FIELDS),) or sums.dtype != np.float64 or not np.all(np.isfinite(sums)):
        raise ConfigError("programming", f"must be {len(PROGRAMMING_FIELDS)} finite numbers")
    return sums.copy()


def _check_config(cfg: Config, text: Any, may_differ: frozenset[str]) -> None:
    """The checkpoint's config is this run's (but for `may_differ`)."""
    if not isinstance(text, str):
        raise ConfigError("config", "must be the run's config as TOML text")
    if text == dumps(cfg):
        return
    try:
        stored = loads_stored(text, "checkpoint")
    except ConfigError as err:
        raise ConfigError("config", f"is not a valid run config ({err.field}: {err.reason})") from None
    diffs = [d for d in differences(stored, cfg) if d[0] not in may_differ]
    if diffs:
        key, theirs, mine = diffs[0]
        more = f" (and {len(diffs) - 1} more)" if len(diffs) > 1 else ""
        raise ConfigError("config", f"belongs to another run: {key} is {theirs!r} there, {mine!r} in config.toml"
                                    f"{more}; resuming would give wrong results (a run may change only "
                                    f"{', '.join(sorted(RESUMABLE))})")


def _check_arrays(network: Network, arrays: dict[str, np.ndarray]) -> None:
    known = {f"state__{bar.name}" for bar in network.crossbars} | {"fidelity", "programming"}
    known |= {prefix + bar.name for bar in network.crossbars if bar.tied_to is None
              for prefix in (VELOCITY_PREFIX, SECOND_MOMENT_PREFIX)}
    for key, a in sorted(arrays.items()):
        if key not in known:
            raise ConfigError("arrays", f"unknown array {key!r} (not a crossbar of the network in config.toml)")
        if key.startswith("state__") and a.dtype != np.float64:
            raise ConfigError(f"states.{key[len('state__'):]}", f"of type {a.dtype}, not float64")


class Trainer:
    """One training run in a run directory."""

    def __init__(self, cfg: Config, run_dir: Path, *, progress: Callable[[str, int], Any] | None = None,
                 observer: Callable[[int, int, SynapseStates, SynapseStates, dict[str, np.ndarray]], Any]
                 | None = None) -> None:
        """observer(epoch, batch, states before, states after, dw): called after every device write
        (benchmarks record update fidelity and conductance trajectories with it)."""
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.network = build_network(replace(cfg, sim=replace(cfg.sim, beta=0.0)))
        check_trainable(cfg, self.network)
        self.splits: Splits = load_splits(cfg.data.dataset, seed=cfg.data.seed, validation=cfg.data.validation,
                                          train_size=cfg.data.train_size, test_size=cfg.data.test_size,
                                          data_dir=cfg.data.data_dir or None, verify=cfg.data.verify)
        self.pulses = cfg.pulse.resolved(self.network.device) if cfg.train.update == "pulse" else None
        self.rates = layer_rates(self.network, cfg.train.lr)
        # sgd folds the layer rates into the rule; Adam takes the rule's direction at unit rates and
        # scales its normalised step by the rate of the crossbar's target layer
        adam = cfg.train.optimizer == "adam"
        self.rule_rates = {name: 1.0 for name in self.rates} if adam else self.rates
        self.bar_rates = {bar.name: self.rates[bar.target] for bar in self.network.crossbars}
        self.rule = make_estimator(cfg.train.rule, cfg.train.nudging, cfg.train.beta)
        self.progress = progress
        self.observer = observer
        self.engine = None
        self._lock: rundir.RunLock | None = None
        self._stored_config = ""  # the config text of the checkpoint a resumed run started from

    # ---- checkpoints ----
    def _save(self, states: SynapseStates, prog: Progress) -> None:
        meta = {"epoch": prog.epoch, "batch": prog.batch, "loss_sum": prog.loss_sum, "loss_count": prog.loss_count,
                "seconds": prog.seconds, "config": dumps(self.cfg)}
        arrays = states_to_arrays(states)
        arrays["fidelity"] = prog.fidelity.sums
        arrays["programming"] = prog.fidelity.programming
        arrays.update(velocity_arrays(prog.velocity, prog.second))
        rundir.save_checkpoint(self.run_dir / rundir.CHECKPOINT, arrays, meta)

    def _restore(self, overrides: set[str]) -> tuple[SynapseStates, Progress]:
        n_batches = math.ceil(len(self.splits.train.y) / self.cfg.train.batch_size)
        states, prog, meta = read_checkpoint(self.cfg, self.network, self.run_dir / rundir.CHECKPOINT,
                                             overrides=overrides, n_batches=n_batches)
        self._stored_config = meta["config"]
        return states, prog

    # ---- starting ----
    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the run directory's lock (re-entrant for this trainer: a run and its artifacts under one lock)."""
        if self._lock is not None:
            yield
            return
        with rundir.RunLock(self.run_dir) as lock:
            self._lock = lock
            try:
                yield
            finally:
                self._lock = None

    def _refuse_existing_run(self) -> None:
        """A fresh run never overwrites another run's checkpoint or metrics history."""
        if (self.run_dir / rundir.CHECKPOINT).exists():
            raise ConfigError("run directory", "already holds a run; use --resume to continue it or choose another "
                                               "directory (nothing was overwritten)", str(self.run_dir))
        metrics = self.run_dir / rundir.METRICS
        if metrics.exists() and metrics.stat().st_size > 0:
            raise ConfigError("run directory", f"holds the metrics history of an earlier run ({rundir.METRICS}) but "
                                               "no checkpoint; move it away or choose another directory (nothing "
                                               "was overwritten)", str(self.run_dir))

    def _begin(self, resume: bool, overrides: set[str]) -> tuple[SynapseStates, Progress, list[dict[str, Any]]]:
        """Everything that can refuse the run, before anything is written: the checkpoint and metrics
        (resume) or the directory's emptiness (fresh), then the engine (ngspice, scheduler)."""
        rundir.check_run_files(self.run_dir)
        if resume:
            states, prog = self._restore(overrides)
            # rows are numbered from 1: row k is epoch index k - 1, done when k <= prog.epoch
            rows = [r for r in rundir.read_metrics(self.run_dir / rundir.METRICS) if r["epoch"] <= prog.epoch]
        else:
            self._refuse_existing_run()
            velocity, second = zero_moments(self.cfg.train, self.network)
            states, prog, rows = initial_states(self.cfg, self.network), Progress(fidelity=Fidelity(),
                                                                                  velocity=velocity,
                                                                                  second=second), []
        t = self.cfg.train
        self.engine = make_engine(t.backend, self.network, t.analysis, t.settle_time, t.rule, t.workers,
                                  t.scheduler or None, t.isolate, t.worker_timeout, t.batching, t.device_form,
                                  t.precision)
        return states, prog, rows

    def _write_start(self, resume: bool, states: SynapseStates, prog: Progress, rows: list[dict[str, Any]]) -> None:
        """The run's files at its start. A fresh run's checkpoint comes last: it makes the directory a
        run (a start killed before it can simply be repeated). A resumed run's config, when this
        command changed it, goes into its checkpoint first, then into config.toml."""
        text = dumps(self.cfg)
        changed = resume and self._stored_config != text
        if not resume:
            rundir.atomic_write(self.run_dir / rundir.CONFIG, text)
        rundir.write_metrics(self.run_dir / rundir.METRICS, rows)
        if changed or not resume:
            self._save(states, prog)
        if changed:
            rundir.atomic_write(self.run_dir / rundir.CONFIG, text)

    # ---- the loop ----
    def run(self, *, resume: bool = False, overrides: Iterable[str] = ()) -> list[dict[str, Any]]:
        """Train in the run directory (continue its checkpoint: `resume`), holding its lock.

        overrides: train fields this command changes deliberately on a resumed run; they may differ
        from the checkpoint's config (see RESUMABLE for the ones that always may).
        """
        with self.locked():
            states, prog, rows = self._begin(resume, set(overrides))
            try:
                self._write_start(resume, states, prog, rows)
                return self._loop(self.engine, states, prog, rows)
            except KeyboardInterrupt:
                raise KeyboardInterrupt(f"interrupted; {self.run_dir} keeps the run up to its last checkpoint "
                                        "(continue it with --resume)") from None
            finally:
                self.engine.close()

    def _plan(self, epoch: int) -> EpochPlan:
        """This epoch's batches: the shuffled order and each batch's nudgings, all derived from
        (seed, epoch, batch), so a resumed run replays exactly the same batches."""
        tcfg = self.cfg.train
        order = np.random.default_rng([tcfg.seed, epoch]).permutation(len(self.splits.train.y))
        return EpochPlan(self.splits.train, order, tcfg.batch_size, self.network,
                         lambda k: self.rule.betas(np.random.default_rng([tcfg.seed, epoch, k])))

    def _loop(self, engine: Any, states: SynapseStates, prog: Progress,
              rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        engine.program(states)
        # writes whose states a thread computes while the next batch settles (the behavioural
        # engine, when nobody watches each write): the twin needs only the new reads
        writes = ThreadPoolExecutor(1, "memprop-writes") if hasattr(engine, "program_pending") and \
            getattr(engine, "in_place", False) and self.observer is None else None
        try:
            return self._epochs(engine, states, prog, rows, writes)
        finally:
            if writes is not None:
                writes.shutdown()

    def _change_to_write(self, prog: Progress, dw: dict[str, np.ndarray], n_batches: int) -> dict[str, np.ndarray]:
        """sgd: the rule's change (at the layer rates) through schedule and momentum; adam: the rule's
        direction (at unit rates) through Adam, its step count the batches before this one, plus one."""
        tcfg = self.cfg.train
        if tcfg.optimizer == "sgd":
            return step(tcfg, prog.epoch, dw, prog.velocity)
        t = prog.epoch * n_batches + prog.batch + 1
        return adam_step(tcfg, prog.epoch, dw, self.bar_rates, prog.velocity, prog.second, t)

    def _epochs(self, engine: Any, states: SynapseStates, prog: Progress, rows: list[dict[str, Any]],
                writes: ThreadPoolExecutor | None) -> list[dict[str, Any]]:
        tcfg = self.cfg.train
        n_batches = math.ceil(len(self.splits.train.y) / tcfg.batch_size)
        while prog.epoch < tcfg.epochs:
            t_start = time.perf_counter() - prog.seconds
            stats_start = dict(engine.stats)
            plan = self._plan(prog.epoch)
            if self.progress:
                self.progress(f"epoch {prog.epoch + 1}/{tcfg.epochs}", n_batches - prog.batch)
            with blas_beside(writes):
                while prog.batch < n_batches:
                    states = self._batch(engine, plan, prog, n_batches, t_start, writes)
                    if prog.batch % tcfg.checkpoint_every == 0 and prog.batch < n_batches:
                        prog.seconds = time.perf_counter() - t_start
                        states = self._checkpoint(engine, prog, writes)
            states = engine.current_states()  # the epoch's last write done: its fidelity counted
            rows.append(self._epoch_row(engine, states, prog, t_start, stats_start))
            rundir.write_metrics(self.run_dir / rundir.METRICS, rows)
            prog = Progress(prog.epoch + 1, 0, 0.0, 0, 0.0, Fidelity(), prog.velocity, prog.second)
            states = self._checkpoint(engine, prog, writes)
        self.states = states
        return rows

    def _step(self, engine: Any, plan: EpochPlan, prog: Progress, n_batches: int, t_start: float,
              batch: tuple[np.ndarray, np.ndarray, list[float]]) -> Step:
        """Settle, estimate and turn into writes; a simulation error saves the run up to this batch."""
        x, y, betas = batch
        try:
            return train_step(self.rule, self.network, engine, x, y, self.rule_rates, betas,
                              upcoming=plan.upcoming(prog.batch),
                              controller=lambda dw: self._change_to_write(prog, dw, n_batches))
        except SimulationError as err:
            # keep everything up to this batch: `--resume` restarts exactly here
            prog.seconds = time.perf_counter() - t_start
            self._save(engine.current_states(), prog)
            raise SimulationError(f"epoch {prog.epoch + 1}, batch {prog.batch + 1}: {err.what}; the run "
                                  f"is saved up to this batch (resume with --resume)", err.lines) from None

    def _batch(self, engine: Any, plan: EpochPlan, prog: Progress, n_batches: int, t_start: float,
               writes: ThreadPoolExecutor | None) -> SynapseStates:
        """One batch: a training step, its loss counted, its change written to the devices."""
        cfg, network = self.cfg, self.network
        batch = plan.batch(prog.batch)
        step = self._step(engine, plan, prog, n_batches, t_start, batch)
        states = engine.current_states()
        y = batch[1]
        prog.loss_sum += float(0.5 * np.sum((step.free.v[:, network.output_slice()] - y) ** 2))
        prog.loss_count += len(plan.indices(prog.batch))
        if writes is not None and plain_write(network, step.write, cfg.train.update, cfg.nonideal):
            engine.program_pending(start_update(network, states, step.write, prog.fidelity, writes.submit,
                                                engine.twin))
        else:
            before = states
            states = apply_update(network, states, step.write, cfg.train.update, self.pulses, prog.fidelity,
                                  cfg.nonideal, np.random.default_rng([cfg.nonideal.seed, prog.epoch, prog.batch, 7]),
                                  np.random.default_rng([cfg.pulse.seed, prog.epoch, prog.batch, 11]))
            if self.observer:
                self.observer(prog.epoch, prog.batch, before, states, step.write)
            engine.program(states)
        prog.batch += 1
        if self.progress:
            self.progress("", 1)
        return states

    def _epoch_row(self, engine: Any, states: SynapseStates, prog: Progress, t_start: float,
                   stats_start: dict[str, Any]) -> dict[str, Any]:
        """The epoch's metrics: loss, test and validation accuracy, times, fidelity, engine counters."""
        tcfg, network = self.cfg.train, self.network
        train_seconds = time.perf_counter() - t_start
        test = self.splits.test
        if tcfg.eval_size:
            test = test.subset(np.arange(min(tcfg.eval_size, len(test.y))))
        test_eval = evaluate(engine, network, test)
        val_eval = evaluate(engine, network, self.splits.validation)
        row = {"epoch": prog.epoch + 1, "train_loss": prog.loss_sum / max(prog.loss_count, 1),
               "test_accuracy": test_eval["accuracy"], "test_loss": test_eval["loss"],
               "validation_accuracy": val_eval["accuracy"],
               "seconds": time.perf_counter() - t_start, "train_seconds": train_seconds, "backend": engine.name,
               "update": tcfg.update, **prog.fidelity.summary()}
        if tcfg.update == "pulse":
            row.update({**prog.fidelity.programming_summary(), **bound_fractions(network, states)})
        # counters of this epoch (maxima: of the run so far)
        prefix = getattr(engine, "stats_prefix", "ngspice_")
        row.update({f"{prefix}{k}": v if k.startswith("max_") else v - stats_start.get(k, 0)
                    for k, v in engine.stats.items()})
        return row

    def _checkpoint(self, engine: Any, prog: Progress, writes: ThreadPoolExecutor | None) -> SynapseStates:
        """Save the run. With writes under way in a thread the twin settles on the conductances the
        writes asked for (the devices read them to the rounding of state_for); a run resumed here
        builds its twin from the devices' own reads, so this run takes them too, and the two stay
        bit-identical."""
        states = engine.current_states()
        self._save(states, prog)
        if writes is not None:
            engine.program(states)
        return states


def best_validation(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The epoch a run would report when the test set may not choose it: the highest validation
    accuracy (the earliest of equals), with its test accuracy. None without a validation split."""
    scored = [r for r in rows if isinstance(r.get("validation_accuracy"), float)
              and math.isfinite(r["validation_accuracy"])]
    if not scored:
        return None
    best = max(scored, key=lambda r: (r["validation_accuracy"], -r["epoch"]))
    return {"epoch": best["epoch"], "validation_accuracy": best["validation_accuracy"],
            "test_accuracy": best["test_accuracy"]}


def bound_fractions(network: Network, states: SynapseStates, margin: float = 0.01) -> dict[str, float]:
    """Fractions of the devices that read within `margin` of the range from G_max or from G_min
    (pulse writes that favour one polarity pile devices up at a bound, where they stop learning)."""
    dev = network.device
    span = dev.g_max - dev.g_min
    g = np.concatenate([dev.conductance(x[:, network.crossbar(name).mask().astype(bool)]).ravel()
                        for name, x in states.items()])
    return {"at_g_max_fraction": float(np.mean(g >= dev.g_max - margin * span)),
            "at_g_min_fraction": float(np.mean(g <= dev.g_min + margin * span))}


def load_run(run_dir: Path) -> tuple[Config, SynapseStates, dict[str, Any]]:
    """A run directory's config, latest device states and checkpoint metadata."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError("run", "no such run directory", str(run_dir))
    cfg = load_stored(run_dir / rundir.CONFIG)
    network = build_network(replace(cfg, sim=replace(cfg.sim, beta=0.0)))
    states, _, meta = read_checkpoint(cfg, network, run_dir / rundir.CHECKPOINT)
    return cfg, states, meta


#: Above this many memristors the run's waveform picture comes from the numpy twin, not ngspice.
WAVEFORM_SPICE_DEVICES = 100_000


def _waveform(cfg: Config, network: Network, args: tuple) -> Any:
    """The free and nudged phases of one test image: a transistor-level network in one transient,
    as its engine trains it (whichever backend trained it: the twin cannot continue a transistor
    cell's phase), an ideal network too large for an ngspice transient by the numpy twin, else
    ngspice's consecutive transients."""
    from memprop.cosim.engines.transient import transient_phases, twin_transient_phases

    if network.neuron.transistor_level:
        from memprop.cosim.engines.transistor import transistor_transient_phases

        return transistor_transient_phases(*args[:-1], cfg.train.settle_time * network.neuron.tau)
    if network.n_devices > WAVEFORM_SPICE_DEVICES and network.neuron.level == "ideal":
        return twin_transient_phases(*args)  # an ngspice .tran of this size would take hours
    return transient_phases(*args)


def write_artifacts(cfg: Config, run_dir: Path, network: Network, states: SynapseStates,
                    rows: list[dict[str, Any]], splits: Splits, waveform: bool = True) -> list[Path]:
    """The trained deck and the plots of a finished run."""
    from memprop.cosim.runs import plots
    from memprop.netgen.deck import render

    run_dir = Path(run_dir)
    lo, hi = network.neuron.v_low, network.neuron.v_high
    sample = splits.test.x[0] if len(splits.test.y) else splits.train.x[0]
    deck = render(network, states, inputs=lo + (hi - lo) * sample, analysis="op",
                  header=["trained network; resolved config:"] + dumps(cfg).splitlines(),
                  title=f"memprop trained {network.topology} network ({cfg.train.rule}, {len(rows)} epochs)")
    rundir.atomic_write(run_dir / rundir.DECK, deck.text)
    written = [run_dir / rundir.DECK]
    if rows:
        written.append(plots.learning_curves(rows, run_dir / rundir.LEARNING_CURVES,
                                             f"{cfg.train.rule.upper()} on {cfg.data.dataset}, "
                                             f"{rows[-1]['backend']}, {cfg.train.update} updates"))
    written += list(plots.conductances(network, states, run_dir / rundir.CONDUCTANCE_HIST,
                                       run_dir / rundir.CONDUCTANCE_MAPS))
    if waveform:
        label = int(splits.test.y[0]) if len(splits.test.y) else int(splits.train.y[0])
        n_out = network.group(network.output_group).size
        y = one_hot(np.array([label]), n_out, lo, hi)[0]
        args = (network, states, lo + (hi - lo) * sample, y, [0.0, cfg.train.beta, -cfg.train.beta],
                10 * network.neuron.tau)
        wave = _waveform(cfg, network, args)
        written.append(plots.waveforms(wave, network, run_dir / rundir.WAVEFORMS, label))
    return written
