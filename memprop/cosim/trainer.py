"""The training loop: settle phases, estimate the gradient, program the devices, checkpoint.

Everything random is derived from (seed, epoch, batch), so a run resumed from a checkpoint
replays exactly what the uninterrupted run would have done (bit-identical with the behavioural
backend). Checkpoints are written every `checkpoint_every` batches and at every epoch end.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from memprop.circuits.network import Network, SynapseStates
from memprop.circuits.validation import ConfigError
from memprop.cosim import rundir
from memprop.cosim.config import Config, build_network, check_trainable, dumps, initial_states, load
from memprop.cosim.datasets import Dataset, Splits, load_splits
from memprop.cosim.engines import make_engine
from memprop.cosim.programming import Fidelity, apply_update
from memprop.cosim.rules import ep_update, layer_rates, rbp_update, with_ties
from memprop.cosim.session import SimulationError


@dataclass
class Progress:
    """Where a run stands: the next batch to do, and the partial epoch's accumulators."""

    epoch: int = 0
    batch: int = 0
    loss_sum: float = 0.0
    loss_count: int = 0
    seconds: float = 0.0
    fidelity: Fidelity | None = None


def one_hot(labels: np.ndarray, n: int, low: float, high: float) -> np.ndarray:
    out = np.full((len(labels), n), low)
    out[np.arange(len(labels)), labels] = high
    return out


def nudging_betas(kind: str, beta: float, rng: np.random.Generator) -> list[float]:
    if kind == "one-sided":
        return [0.0, beta]
    if kind == "symmetric":
        return [0.0, beta, -beta]
    return [0.0, beta if rng.random() < 0.5 else -beta]


def evaluate(engine: Any, network: Network, data: Dataset, batch: int = 256) -> dict[str, float]:
    """Accuracy (argmax of the free-phase outputs) and mean squared-error cost."""
    if len(data.y) == 0:
        return {"accuracy": float("nan"), "loss": float("nan")}
    lo, hi = network.neuron.v_low, network.neuron.v_high
    correct, cost = 0, 0.0
    out = network.output_slice()
    for start in range(0, len(data.y), batch):
        x = lo + (hi - lo) * data.x[start:start + batch]
        y = one_hot(data.y[start:start + batch], network.group(network.output_group).size, lo, hi)
        v = engine.phases(x, None, [0.0])[0].v[:, out]
        correct += int(np.sum(np.argmax(v, axis=1) == data.y[start:start + batch]))
        cost += float(0.5 * np.sum((v - y) ** 2))
    return {"accuracy": correct / len(data.y), "loss": cost / len(data.y)}


def states_to_arrays(states: SynapseStates) -> dict[str, np.ndarray]:
    return {f"state__{k}": v for k, v in states.items()}


def arrays_to_states(arrays: dict[str, np.ndarray]) -> SynapseStates:
    return SynapseStates({k[len("state__"):]: v.copy() for k, v in arrays.items() if k.startswith("state__")})


class Trainer:
    """One training run in a run directory."""

    def __init__(self, cfg: Config, run_dir: Path, *, progress: Callable[[str, int], Any] | None = None) -> None:
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.network = build_network(replace(cfg, sim=replace(cfg.sim, beta=0.0)))
        check_trainable(cfg, self.network)
        self.splits: Splits = load_splits(cfg.data.dataset, seed=cfg.data.seed, validation=cfg.data.validation,
                                          train_size=cfg.data.train_size, test_size=cfg.data.test_size,
                                          data_dir=cfg.data.data_dir or None, verify=cfg.data.verify)
        self.pulses = cfg.pulse.resolved(self.network.device) if cfg.train.update == "pulse" else None
        self.rates = layer_rates(self.network, cfg.train.lr)
        self.progress = progress
        self.engine = None
        self._lock: rundir.RunLock | None = None
        self._stored_config = ""  # the config text of the checkpoint a resumed run started from

    # ---- checkpoints ----
    def _save(self, states: SynapseStates, prog: Progress) -> None:
        meta = {"epoch": prog.epoch, "batch": prog.batch, "loss_sum": prog.loss_sum, "loss_count": prog.loss_count,
                "seconds": prog.seconds, "config": dumps(self.cfg)}
        arrays = states_to_arrays(states)
        arrays["fidelity"] = prog.fidelity.sums
        rundir.save_checkpoint(self.run_dir / rundir.CHECKPOINT, arrays, meta)

    def _restore(self, overrides: set[str]) -> tuple[SynapseStates, Progress]:
        arrays, meta = rundir.load_checkpoint(self.run_dir / rundir.CHECKPOINT)
        self._stored_config = meta["config"]
        states = arrays_to_states(arrays)
        for bar in self.network.crossbars:
            if bar.name not in states.states or states[bar.name].shape != (2, bar.rows, bar.cols):
                raise ConfigError("checkpoint", f"does not match the network in config.toml (crossbar {bar.name})",
                                  str(self.run_dir / rundir.CHECKPOINT))
        prog = Progress(meta["epoch"], meta["batch"], meta["loss_sum"], meta["loss_count"], meta["seconds"],
                        Fidelity(arrays["fidelity"].astype(float)))
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
            states, prog, rows = initial_states(self.cfg, self.network), Progress(fidelity=Fidelity()), []
        t = self.cfg.train
        self.engine = make_engine(t.backend, self.network, t.analysis, t.settle_time, t.rule, t.workers,
                                  t.scheduler or None, t.isolate, t.worker_timeout)
        return states, prog, rows

    def _write_start(self, resume: bool, states: SynapseStates, prog: Progress, rows: list[dict[str, Any]]) -> None:
        """The run's files at its start; a resumed run's config (changed by overrides) goes into the
        checkpoint first, then into config.toml, so the two agree whenever the run is killed."""
        text = dumps(self.cfg)
        rundir.write_metrics(self.run_dir / rundir.METRICS, rows)
        if not resume or self._stored_config != text:
            self._save(states, prog)
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
            finally:
                self.engine.close()

    def _loop(self, engine: Any, states: SynapseStates, prog: Progress, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        cfg = self.cfg
        tcfg = cfg.train
        metrics_path = self.run_dir / rundir.METRICS
        network = self.network
        lo, hi = network.neuron.v_low, network.neuron.v_high
        n_out = network.group(network.output_group).size
        train = self.splits.train
        n_batches = math.ceil(len(train.y) / tcfg.batch_size)
        engine.program(states)
        out = network.output_slice()
        while prog.epoch < tcfg.epochs:
            t_start = time.perf_counter() - prog.seconds
            stats_start = dict(engine.stats)
            order = np.random.default_rng([tcfg.seed, prog.epoch]).permutation(len(train.y))
            if self.progress:
                self.progress(f"epoch {prog.epoch + 1}/{tcfg.epochs}", n_batches - prog.batch)
            while prog.batch < n_batches:
                idx = order[prog.batch * tcfg.batch_size:(prog.batch + 1) * tcfg.batch_size]
                rng = np.random.default_rng([tcfg.seed, prog.epoch, prog.batch])
                x = lo + (hi - lo) * train.x[idx]
                y = one_hot(train.y[idx], n_out, lo, hi)
                try:
                    if tcfg.rule == "rbp":
                        free, lam = engine.adjoint_phase(x, y)
                        dw = with_ties(network, rbp_update(network, free, lam, self.rates))
                    else:
                        phases = engine.phases(x, y, nudging_betas(tcfg.nudging, tcfg.beta, rng))
                        free = phases[0]
                        dw = with_ties(network, ep_update(network, phases, self.rates))
                except SimulationError as err:
                    # keep everything up to this batch: `--resume` restarts exactly here
                    prog.seconds = time.perf_counter() - t_start
                    self._save(states, prog)
                    raise SimulationError(f"epoch {prog.epoch + 1}, batch {prog.batch + 1}: {err.what}; the run "
                                          f"is saved up to this batch (resume with --resume)", err.lines) from None
                states = engine.current_states()
                prog.loss_sum += float(0.5 * np.sum((free.v[:, out] - y) ** 2))
                prog.loss_count += len(idx)
                write_rng = np.random.default_rng([cfg.nonideal.seed, prog.epoch, prog.batch, 7])
                states = apply_update(network, states, dw, tcfg.update, self.pulses, prog.fidelity,
                                      cfg.nonideal, write_rng)
                engine.program(states)
                prog.batch += 1
                if self.progress:
                    self.progress("", 1)
                if prog.batch % tcfg.checkpoint_every == 0 and prog.batch < n_batches:
                    prog.seconds = time.perf_counter() - t_start
                    self._save(states, prog)
            test = self.splits.test
            if tcfg.eval_size:
                test = test.subset(np.arange(min(tcfg.eval_size, len(test.y))))
            test_eval = evaluate(engine, network, test)
            val_eval = evaluate(engine, network, self.splits.validation)
            row = {"epoch": prog.epoch + 1, "train_loss": prog.loss_sum / max(prog.loss_count, 1),
                   "test_accuracy": test_eval["accuracy"], "test_loss": test_eval["loss"],
                   "validation_accuracy": val_eval["accuracy"],
                   "seconds": time.perf_counter() - t_start, "backend": engine.name,
                   "update": tcfg.update, **prog.fidelity.summary()}
            # counters of this epoch (maxima: of the run so far)
            row.update({f"ngspice_{k}": v if k.startswith("max_") else v - stats_start.get(k, 0)
                        for k, v in engine.stats.items()})
            rows.append(row)
            rundir.write_metrics(metrics_path, rows)
            prog = Progress(prog.epoch + 1, 0, 0.0, 0, 0.0, Fidelity())
            self._save(states, prog)
        self.states = states
        return rows


def load_run(run_dir: Path) -> tuple[Config, SynapseStates, dict[str, Any]]:
    """A run directory's config, latest device states and checkpoint metadata."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError("run", "no such run directory", str(run_dir))
    cfg = load(run_dir / rundir.CONFIG)
    arrays, meta = rundir.load_checkpoint(run_dir / rundir.CHECKPOINT)
    return cfg, arrays_to_states(arrays), meta


#: Above this many memristors the run's waveform picture comes from the numpy twin, not ngspice.
WAVEFORM_SPICE_DEVICES = 100_000


def write_artifacts(cfg: Config, run_dir: Path, network: Network, states: SynapseStates,
                    rows: list[dict[str, Any]], splits: Splits, waveform: bool = True) -> list[Path]:
    """The trained deck and the plots of a finished run."""
    from memprop.cosim import plots
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
        from memprop.cosim.waveforms import transient_phases, twin_transient_phases

        label = int(splits.test.y[0]) if len(splits.test.y) else int(splits.train.y[0])
        n_out = network.group(network.output_group).size
        y = one_hot(np.array([label]), n_out, lo, hi)[0]
        args = (network, states, lo + (hi - lo) * sample, y, [0.0, cfg.train.beta, -cfg.train.beta],
                10 * network.neuron.tau)
        if network.n_devices > WAVEFORM_SPICE_DEVICES and network.neuron.level == "ideal":
            wave = twin_transient_phases(*args)  # an ngspice .tran of this size would take hours
        else:
            wave = transient_phases(*args)
        written.append(plots.waveforms(wave, network, run_dir / rundir.WAVEFORMS, label))
    return written
