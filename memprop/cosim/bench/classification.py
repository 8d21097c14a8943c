"""`memprop bench classification`: the 8x8 digits and Fashion-MNIST trained with EP on the
behavioural twin, then the trained networks evaluated in ngspice (deck loaded once, one `.op` per
image) beside the twin on the same >= 1000 images. The report directory holds report.md, PNG plots
and results.json; runtimes are printed as the run goes and recorded in the report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from memprop.circuits.network import SynapseStates
from memprop.cosim.runs.rundir import atomic_write
from memprop.cosim.bench.reporting import Clock, Log, fmt_seconds, pyplot, render, save_png, single_thread, write_results


@dataclass(frozen=True)
class ClassTask:
    """One classification benchmark: behavioural EP training, then ngspice evaluation."""

    name: str
    dataset: str
    layers: tuple[int, ...]
    epochs: int
    train_size: int = 0
    lr: tuple[float, ...] = (0.2, 0.05)
    beta: float = 0.3
    batch_size: int = 10
    #: the report's runs learn at constant rates, without momentum (config.LEGACY_SCHEDULE)
    lr_schedule: str = "constant"
    momentum: float = 0.0
    #: evaluation sets: (label, which images, how many (0 = all))
    spice_sets: tuple[tuple[str, str, int], ...] = (("test", "test", 0),)
    eval_size: int = 0


def classification_plan(quick: bool = False, tiny: bool = False) -> list[ClassTask]:
    if tiny:
        return [ClassTask("digits", "digits", (64, 16, 10), epochs=1, train_size=200,
                          spice_sets=(("test", "test", 40),))]
    digits = ClassTask("digits", "digits", (64, 32, 10), epochs=5 if quick else 30,
                       spice_sets=(("test split", "test", 0), ("all 1797 images", "all", 0)))
    # ngspice's .op on a 784-input deck costs ~0.5 s (H = 32), ~1.1 s (H = 64), ~2.7 s (H = 100) per image
    # here, so the full run evaluates H = 64 on 1000 test images, the quick one H = 32 on 200
    fashion = ClassTask("fashion-mnist", "fashion-mnist", (784, 32 if quick else 64, 10), epochs=2 if quick else 10,
                        train_size=5000 if quick else 0, lr=(0.1, 0.05), beta=0.5, batch_size=20,
                        eval_size=2000 if quick else 0,
                        spice_sets=(("test (first 200)", "test", 200),) if quick else
                        (("test (first 1000)", "test", 1000),))
    return [digits, fashion]


def run_classification(out_dir: str | Path, quick: bool = False, *, tiny: bool = False,
                       tasks: list[ClassTask] | None = None, log: Log = print) -> dict[str, Any]:
    """Run the classification benchmark and write report.md, PNGs and results.json into out_dir."""
    tasks = tasks or classification_plan(quick, tiny)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    clock = Clock(log)
    label = "tiny" if tiny else ("quick" if quick else "full")
    log(f"classification benchmark ({label}) -> {out}")
    results: dict[str, Any] = {"label": label, "tasks": {}}
    with single_thread():
        for task in tasks:
            results["tasks"][task.name] = _classification_task(task, out, clock)
    with clock.stage("plots and report"):
        figures = _classification_plots(results, out)
        results["figures"] = figures
        results["seconds"] = {**clock.stages, "total": clock.total}
        results["acceptance"] = {
            name: {k: abs(v["accuracy_gap_points"]) <= 0.5 and v["images"] >= 1000 for k, v in t["spice"].items()
                   if v["images"] >= 1000} for name, t in results["tasks"].items()}
        atomic_write(out / "report.md", _classification_report(results, figures))
    results["seconds"]["total"] = clock.total
    write_results(out / "results.json", results)
    log(f"classification benchmark done in {fmt_seconds(clock.total)}: {out / 'report.md'}")
    return results


def _classification_config(task: ClassTask) -> Any:
    """The task's config: behavioural EP with its network, rates and data, no checkpoints."""
    from memprop.cosim.config.config import parse

    return parse({"network": {"topology": "layered", "layers": list(task.layers)},
                  "train": {"rule": "ep", "backend": "behavioral", "epochs": task.epochs, "lr": list(task.lr),
                            "beta": task.beta, "batch_size": task.batch_size, "nudging": "symmetric",
                            "eval_size": task.eval_size, "checkpoint_every": 10**9,
                            "lr_schedule": task.lr_schedule, "momentum": task.momentum},
                  "data": {"dataset": task.dataset, "train_size": task.train_size, "validation": 0.1}},
                 source=f"<bench {task.name}>")


def _classification_task(task: ClassTask, out: Path, clock: Clock) -> dict[str, Any]:
    """Train one task on the twin, then classify each of its evaluation sets in ngspice and in the twin."""
    from memprop.cosim.runs.trainer import Trainer

    with clock.stage(f"{task.name}: behavioural EP training ({task.epochs} epochs)"):
        trainer = Trainer(_classification_config(task), out / "runs" / task.name)
        rows = trainer.run()
    result: dict[str, Any] = {"layers": list(task.layers), "epochs": task.epochs, "rows": rows,
                              "train_images": len(trainer.splits.train.y), "memristors": trainer.network.n_devices,
                              "config": {"lr": list(task.lr), "beta": task.beta, "batch_size": task.batch_size},
                              "train_seconds": sum(r["seconds"] for r in rows), "spice": {}}
    clock.log(f"    {task.name}: final test accuracy (behavioural) {100 * rows[-1]['test_accuracy']:.2f} %")
    for set_label, which, size in task.spice_sets:
        data = _evaluation_set(trainer.splits, which, size)
        entry = _spice_evaluation(trainer.network, trainer.states, data, f"{task.name}: ngspice evaluation on "
                                  f"{set_label} ({len(data.y)} images)", clock)
        result["spice"][set_label] = {"images": len(data.y), "which": which, **entry}
        clock.log(f"    {task.name} {set_label}: ngspice {100 * entry['ngspice_accuracy']:.2f} % vs behavioural "
                  f"{100 * entry['behavioral_accuracy']:.2f} % ({entry['ngspice_seconds_per_image'] * 1e3:.0f} "
                  f"ms/image in ngspice, {entry['stats']['restarts']} restarts)")
    return result


def _evaluation_set(splits: Any, which: str, size: int) -> Any:
    """The images of an evaluation set: a split, or all 1797 digits; the first `size` (0: all)."""
    from memprop.cosim.data.datasets import digits as load_digits

    data = load_digits() if which == "all" else getattr(splits, which)
    return data.subset(np.arange(min(size, len(data.y)))) if size else data


def _spice_evaluation(network: Any, states: SynapseStates, data: Any, stage: str, clock: Clock) -> dict[str, Any]:
    """Classify the images in ngspice (the deck loaded once, one `.op` per image) and in the twin."""
    from memprop.cosim.engines.perphase import NgspiceEngine
    from memprop.cosim.engines.twin import BehavioralEngine

    lo, hi = network.neuron.v_low, network.neuron.v_high
    out_slice = network.output_slice()
    x = lo + (hi - lo) * data.x
    with clock.stage(stage):
        engine = NgspiceEngine(network)
        t0 = time.perf_counter()
        engine.program(states)  # renders and loads the deck: the only load unless a restart is needed
        load_s = time.perf_counter() - t0
        v_sp = np.zeros((len(data.y), network.group(network.output_group).size))
        t1 = time.perf_counter()
        try:
            for start in range(0, len(data.y), 100):
                v_sp[start:start + 100] = engine.phases(x[start:start + 100], None, [0.0])[0].v[:, out_slice]
        finally:
            engine.close()
        spice_s = time.perf_counter() - t1
    beh = BehavioralEngine(network)
    beh.program(states)
    t2 = time.perf_counter()
    v_bh = beh.phases(x, None, [0.0])[0].v[:, out_slice]
    beh_s = time.perf_counter() - t2
    return _agreement(data.y, v_sp, v_bh, engine.stats) | {
        "deck_load_seconds": load_s, "ngspice_seconds": spice_s, "behavioral_seconds": beh_s,
        "ngspice_seconds_per_image": spice_s / max(len(data.y), 1)}


def _agreement(y: np.ndarray, v_sp: np.ndarray, v_bh: np.ndarray, stats: dict[str, Any]) -> dict[str, Any]:
    """Accuracies of both backends' predictions, how often they agree, and the largest output gap."""
    pred_sp, pred_bh = np.argmax(v_sp, 1), np.argmax(v_bh, 1)
    acc_sp, acc_bh = float(np.mean(pred_sp == y)), float(np.mean(pred_bh == y))
    return {"ngspice_accuracy": acc_sp, "behavioral_accuracy": acc_bh, "accuracy_gap_points": 100 * (acc_sp - acc_bh),
            "same_prediction": float(np.mean(pred_sp == pred_bh)),
            "max_output_diff_mv": float(np.max(np.abs(v_sp - v_bh)) * 1e3),
            "ngspice_op_seconds_per_image": stats["analysis_seconds"] / max(stats["analyses"], 1),
            "stats": dict(stats)}


def _classification_plots(results: dict[str, Any], out: Path) -> dict[str, str]:
    """Learning curves of every task, the ngspice accuracies as stars at the last epoch."""
    from memprop.cosim.runs.plots import cost_panel

    plt = pyplot()
    figs = {}
    for name, t in results["tasks"].items():
        rows = t["rows"]
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
        ep = cost_panel(ax1, rows, legend_size=8)
        ax2.plot(ep, [100 * r["test_accuracy"] for r in rows], "o-", label="test (behavioural)")
        ax2.plot(ep, [100 * r["validation_accuracy"] for r in rows], "s--", label="validation (behavioural)")
        for k, (label, s) in enumerate(t["spice"].items()):
            ax2.plot([ep[-1]], [100 * s["ngspice_accuracy"]], "*", ms=11, color=f"C{k + 2}",
                     label=f"ngspice, {label} ({s['images']} images)")
        ax2.set_xlabel("epoch")
        ax2.set_ylabel("accuracy (%)")
        ax2.legend(fontsize=7)
        fig.suptitle(f"{name}: {'-'.join(map(str, t['layers']))} memristor network, EP (behavioural training)",
                     fontsize=10)
        figs[name] = save_png(fig, out / f"accuracy_{name}.png")
    return figs


def _classification_report(results: dict[str, Any], figures: dict[str, str]) -> str:
    """The Markdown report (memprop/templates/reports/classification.md.j2)."""
    verdicts = [(name, label, ok) for name, per in results["acceptance"].items() for label, ok in per.items()]
    return render("classification.md.j2", r=results, figures=figures, verdicts=verdicts)
