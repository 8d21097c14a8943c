"""`memprop bench robustness`: accuracy vs the severity of each non-ideality, for EP and RBP.

Every point is a behavioural training run (seeded, identical except for the one non-ideality)
on the 8x8 digits, evaluated on the test split. The twin models every non-ideality exactly as the
ngspice decks do (tests/cosim/test_nonideal.py holds the two against each other).
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from memprop.cosim.runs import rundir
from memprop.cosim.bench.reporting import render
from memprop.cosim.config.config import Config, legacy_schedule
from memprop.cosim.runs.trainer import Trainer

SWEEPS: dict[str, tuple[str, list[float]]] = {
    "device-to-device variation (lognormal sigma)": ("d2d_sigma", [0.0, 0.1, 0.3, 0.6]),
    "cycle-to-cycle write noise (fraction of range)": ("c2c_sigma", [0.0, 0.005, 0.02, 0.05]),
    "conductance levels (0 = continuous)": ("levels", [0, 64, 16, 4]),
    "stuck devices (fraction, half ON half OFF)": ("stuck", [0.0, 0.02, 0.05, 0.15]),
    "crossbar wire resistance per segment (Ohm)": ("wire_resistance", [0.0, 2.0, 10.0, 40.0]),
    "op-amp DC gain (macromodel)": ("a0", [1e5, 1e3, 100.0, 30.0]),
    "op-amp input offset (V, macromodel)": ("v_offset", [0.0, 0.005, 0.02, 0.05]),
}


def _config(base: Config, knob: str, value: float, rule: str) -> Config:
    cfg = replace(base, train=replace(base.train, rule=rule))
    if knob in ("d2d_sigma", "c2c_sigma"):
        return replace(cfg, nonideal=replace(cfg.nonideal, **{knob: float(value)}))
    if knob == "levels":
        return replace(cfg, nonideal=replace(cfg.nonideal, levels=int(value)))
    if knob == "stuck":
        return replace(cfg, nonideal=replace(cfg.nonideal, stuck_on=value / 2, stuck_off=value / 2))
    if knob == "wire_resistance":
        return replace(cfg, network=replace(cfg.network, wire_resistance=float(value)))
    return replace(cfg, neuron=replace(cfg.neuron, level="macromodel", **{knob: float(value)}))


def run(out_dir: Path, quick: bool = False) -> dict[str, Any]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = Config()
    base = replace(base, data=replace(base.data, validation=0.0, train_size=400 if quick else 0),
                   train=replace(legacy_schedule(base.train), backend="behavioral", epochs=2 if quick else 4,
                                 checkpoint_every=10**6))
    results: dict[str, Any] = {"sweeps": {}, "epochs": base.train.epochs, "train_size": base.data.train_size or "all"}
    t_all = time.perf_counter()
    for title, (knob, values) in SWEEPS.items():
        if quick:
            values = values[::2] + [values[-1]] if len(values) > 2 else values
            values = sorted(set(values), key=values.index)
        entry = {"knob": knob, "values": values}
        for rule in ("ep", "rbp"):
            accs = []
            for value in values:
                cfg = _config(base, knob, value, rule)
                t0 = time.perf_counter()
                rows = Trainer(cfg, out_dir / "runs" / f"{knob}-{value:g}-{rule}").run()
                accs.append(rows[-1]["test_accuracy"])
                print(f"{title}: {knob} = {value:g}, {rule}: test accuracy {100 * accs[-1]:.1f} % "
                      f"({time.perf_counter() - t0:.1f} s)", flush=True)
            entry[rule] = accs
        results["sweeps"][title] = entry
    results["seconds"] = time.perf_counter() - t_all
    _plot(results, out_dir / "robustness.png")
    rundir.atomic_write(out_dir / "results.json", json.dumps(results, indent=1))
    rundir.atomic_write(out_dir / "report.md", _report(results))
    return results


def _plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from memprop.cosim.runs.plots import save_figure

    sweeps = results["sweeps"]
    fig, axes = plt.subplots(2, 4, figsize=(14, 6.4))
    for ax, (title, entry) in zip(axes.ravel(), sweeps.items()):
        xs = list(range(len(entry["values"])))
        for rule, style in (("ep", "o-"), ("rbp", "s--")):
            ax.plot(xs, [100 * a for a in entry[rule]], style, label=rule.upper())
        ax.set_xticks(xs, [f"{v:g}" for v in entry["values"]], fontsize=8)
        ax.set_title(title, fontsize=8)
        ax.set_ylabel("test accuracy (%)", fontsize=8)
        ax.set_ylim(0, 100)
        ax.legend(fontsize=7)
    axes.ravel()[-1].axis("off")
    fig.suptitle("8x8 digits, 64-32-10 memristor network: accuracy vs non-ideality severity", fontsize=10)
    save_figure(fig, path, dpi=100)


def _report(results: dict[str, Any]) -> str:
    """The Markdown report (memprop/templates/reports/robustness.md.j2)."""
    return render("robustness.md.j2", r=results, zip=zip)
