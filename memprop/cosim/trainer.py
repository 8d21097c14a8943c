"""The training loop: settle phases, estimate the gradient, program the devices, checkpoint.

Everything random is derived from (seed, epoch, batch), so a run resumed from a checkpoint
replays exactly what the uninterrupted run would have done (bit-identical with the behavioural
backend). Checkpoints are written every `checkpoint_every` batches and at every epoch end.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

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

    # ---- checkpoints ----
    def _save(self, states: SynapseStates, prog: Progress) -> None:
        meta = {"epoch": prog.epoch, "batch": prog.batch, "loss_sum": prog.loss_sum, "loss_count": prog.loss_count,
                "seconds": prog.seconds, "config": dumps(self.cfg)}
        arrays = states_to_arrays(states)
        arrays["fidelity"] = prog.fidelity.sums
        rundir.save_checkpoint(self.run_dir / rundir.CHECKPOINT, arrays, meta)

    def _restore(self) -> tuple[SynapseStates, Progress]:
        arrays, meta = rundir.load_checkpoint(self.run_dir / rundir.CHECKPOINT)
        states = arrays_to_states(arrays)
        for bar in self.network.crossbars:
            if bar.name not in states.states or states[bar.name].shape != (2, bar.rows, bar.cols):
                raise ConfigError("checkpoint", f"does not match the network in config.toml (crossbar {bar.name})",
                                  str(self.run_dir / rundir.CHECKPOINT))
        prog = Progress(meta["epoch"], meta["batch"], meta["loss_sum"], meta["loss_count"], meta["seconds"],
                        Fidelity(arrays["fidelity"].astype(float)))
        return states, prog

    def _plan(self, epoch: int) -> EpochPlan:
        """This epoch's batches: the shuffled order and each batch's nudgings, all derived from
        (seed, epoch, batch), so a resumed run replays exactly the same batches."""
        tcfg = self.cfg.train
        order = np.random.default_rng([tcfg.seed, epoch]).permutation(len(self.splits.train.y))
        if tcfg.rule == "rbp":
            return EpochPlan(self.splits.train, order, tcfg.batch_size, self.network, lambda k: [0.0])

        def betas(k: int) -> list[float]:
            return nudging_betas(tcfg.nudging, tcfg.beta, np.random.default_rng([tcfg.seed, epoch, k]))
        return EpochPlan(self.splits.train, order, tcfg.batch_size, self.network, betas)

    # ---- the loop ----
    def run(self, *, resume: bool = False) -> list[dict[str, Any]]:
        cfg = self.cfg
        tcfg = cfg.train
        self.run_dir.mkdir(parents=True, exist_ok=True)
        metrics_path = self.run_dir / rundir.METRICS
        if resume:
            states, prog = self._restore()
            # rows are numbered from 1: row k is epoch index k - 1, done when k <= prog.epoch
            rows = [r for r in rundir.read_metrics(metrics_path) if r.get("epoch", 0) <= prog.epoch]
            rundir.write_metrics(metrics_path, rows)
        else:
            rundir.atomic_write(self.run_dir / rundir.CONFIG, dumps(cfg))
            states, prog = initial_states(cfg, self.network), Progress(fidelity=Fidelity())
            rows = []
            rundir.write_metrics(metrics_path, rows)
            self._save(states, prog)
        network = self.network
        train = self.splits.train
        n_batches = math.ceil(len(train.y) / tcfg.batch_size)
        self.engine = engine = make_engine(tcfg.backend, network, tcfg.analysis, tcfg.settle_time, tcfg.rule,
                                           tcfg.workers, tcfg.scheduler or None, tcfg.isolate, tcfg.worker_timeout,
                                           tcfg.batching)
        engine.program(states)
        out = network.output_slice()
        try:
            while prog.epoch < tcfg.epochs:
                t_start = time.perf_counter() - prog.seconds
                stats_start = dict(engine.stats)
                plan = self._plan(prog.epoch)
                if self.progress:
                    self.progress(f"epoch {prog.epoch + 1}/{tcfg.epochs}", n_batches - prog.batch)
                while prog.batch < n_batches:
                    idx = plan.indices(prog.batch)
                    x, y, betas = plan.batch(prog.batch)
                    upcoming = plan.upcoming(prog.batch)
                    try:
                        if tcfg.rule == "rbp":
                            free, lam = engine.adjoint_phase(x, y, upcoming=upcoming)
                            dw = with_ties(network, rbp_update(network, free, lam, self.rates))
                        else:
                            phases = engine.phases(x, y, betas, upcoming=upcoming)
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
        finally:
            if engine is not None:
                engine.close()
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
        written.append(plots.learning_curves(rows, run_dir / "learning_curves.png",
                                             f"{cfg.train.rule.upper()} on {cfg.data.dataset}, "
                                             f"{rows[-1]['backend']}, {cfg.train.update} updates"))
    written += list(plots.conductances(network, states, run_dir / "conductance_hist.png",
                                       run_dir / "conductance_maps.png"))
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
        written.append(plots.waveforms(wave, network, run_dir / "waveforms.png", label))
    return written
