"""`memprop bench seeds`: the default digits EP run over several training seeds.

What a reviewer asks of a classification figure: the test-split accuracy of every epoch of every
seed, the mean and spread, how far accuracy falls from one epoch to the next (a run that has to be
stopped at the right epoch is not a result), and the epoch the validation split would pick with
its test accuracy. The runs differ only in train.seed (the shuffling and the nudging signs); the
network's initial devices (network.seed) and the splits (data.seed) stay those of the default run.
The old default (constant rates 0.2, 0.05, no momentum) runs beside it as the baseline.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from memprop.cosim.runs import rundir
from memprop.cosim.bench.reporting import render
from memprop.cosim.config.config import Config, TrainConfig, legacy_schedule
from memprop.cosim.runs.trainer import Trainer, best_validation

Log = Callable[[str], Any]
#: The configurations compared: the default run, and the default before the schedule existed.
SCHEDULES = ("default", "baseline")


def describe_schedule(train: TrainConfig) -> str:
    """How a run's rates go, in words (the report's headings, from the config itself)."""
    rates = ", ".join(f"{r:g}" for r in train.lr)
    if train.lr_schedule == "step":
        how = (f"step schedule (x{train.lr_step_factor:g} every {train.lr_step_epochs} epoch(s), "
               f"floor x{train.lr_min:g})")
    elif train.lr_schedule == "cosine":
        how = f"cosine schedule (to x{train.lr_min:g} over {train.lr_decay_epochs} epochs)"
    else:
        how = "constant rates"
    return f"{how}, momentum {train.momentum:g}, rates {rates}"


@dataclass(frozen=True)
class SeedsPlan:
    """What the benchmark trains: the backend, the training seeds, epochs, and the configurations."""

    backend: str = "behavioral"
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 5
    schedules: tuple[str, ...] = SCHEDULES
    train_size: int = 0  # 0: the whole training split (a smaller one only for the tests)


def seeds_config(schedule: str, seed: int, plan: SeedsPlan) -> Config:
    """The default config at one training seed, on the plan's backend (baseline: the old rates)."""
    base = Config()
    train = base.train if schedule == "default" else legacy_schedule(base.train)
    train = replace(train, backend=plan.backend, seed=seed, epochs=plan.epochs, checkpoint_every=10**6)
    return replace(base, train=train, data=replace(base.data, train_size=plan.train_size))


def train_seed(schedule: str, seed: int, plan: SeedsPlan, runs: Path, log: Log) -> dict[str, Any]:
    """One run's per-epoch accuracies, its largest drop and its best-validation epoch."""
    t0 = time.perf_counter()
    trainer = Trainer(seeds_config(schedule, seed, plan), runs / f"{schedule}-seed{seed}")
    rows = trainer.run()
    test = [r["test_accuracy"] for r in rows]
    result = {"test_accuracy": test, "validation_accuracy": [r["validation_accuracy"] for r in rows],
              "train_loss": [r["train_loss"] for r in rows], "max_drop": max_drop(test),
              "best_validation": best_validation(rows), "seconds": time.perf_counter() - t0,
              "sizes": {"train": len(trainer.splits.train.y), "validation": len(trainer.splits.validation.y),
                        "test": len(trainer.splits.test.y)}}
    log(f"{schedule}, seed {seed}: test accuracy per epoch {' '.join(f'{100 * a:.2f}' for a in test)} % "
        f"({result['seconds']:.1f} s)")
    return result


def max_drop(accuracies: list[float]) -> float:
    """The largest fall of accuracy from one epoch to the next (0 when it never falls)."""
    return max([0.0] + [a - b for a, b in zip(accuracies, accuracies[1:])])


def summarize(per_seed: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Mean and sample standard deviation per epoch over the seeds, the worst drop, and the
    best-validation epochs' test accuracies."""
    acc = np.array([r["test_accuracy"] for r in per_seed.values()])
    best = [r["best_validation"]["test_accuracy"] for r in per_seed.values() if r["best_validation"]]
    sd = acc.std(axis=0, ddof=1) if len(acc) > 1 else np.zeros(acc.shape[1])
    return {"mean_by_epoch": acc.mean(axis=0).tolist(), "sd_by_epoch": sd.tolist(),
            "final_mean": float(acc[:, -1].mean()), "final_sd": float(sd[-1]),
            "max_drop": max(r["max_drop"] for r in per_seed.values()),
            "best_validation_test_mean": float(np.mean(best)) if best else None}


def run(out_dir: str | Path, plan: SeedsPlan = SeedsPlan(), *, command: str = "",
        log: Log = print) -> dict[str, Any]:
    """Train every configuration at every seed; write results.json and report.md into out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results: dict[str, Any] = {"plan": asdict(plan), "command": command, "schedules": {}}
    for schedule in plan.schedules:
        per_seed = {seed: train_seed(schedule, seed, plan, out / "runs", log) for seed in plan.seeds}
        results["schedules"][schedule] = {"seeds": per_seed, "summary": summarize(per_seed),
                                          "description": describe_schedule(seeds_config(schedule, 0, plan).train)}
    results["sizes"] = next(iter(results["schedules"].values()))["seeds"][plan.seeds[0]]["sizes"]
    results["seconds"] = time.perf_counter() - t0
    rundir.write_results(out / "results.json", results)
    rundir.atomic_write(out / "report.md", report(results))
    return results


def report(results: dict[str, Any]) -> str:
    """The Markdown report (memprop/templates/reports/seeds.md.j2)."""
    return render("seeds.md.j2", r=results, zip=zip)
