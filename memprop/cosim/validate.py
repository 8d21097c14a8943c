"""Transistor-level validation of a trained network (`memprop validate RUN --neuron cmos`).

The trained device states are kept; only the neuron cell changes (e.g. to the transistor-level
`cmos` level). We report
- the accuracy change: test images settled with `.op` at the new level vs at the run's own level,
  both in ngspice, on the same images;
- the settling time to 1 %: from a transient starting at rest (the operating point with the inputs
  at 0 V) with the inputs rising within 1 ns at t = 0,
  the last time any output neuron is more than 1 % of the activation range away from its final
  value;
- the energy per inference: the power delivered by every supply and input source, integrated
  from t = 0 to the settling time (and to the end of the window), per sample and averaged.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np
from scipy.integrate import trapezoid  # numpy's own is numpy >= 2 only (np.trapz before)

from memprop.circuits.network import Network, SynapseStates
from memprop.cosim.config import Config, build_network
from memprop.cosim.datasets import load_splits
from memprop.cosim.session import NgSpiceSession, SimulationError
from memprop.netgen import names
from memprop.netgen.deck import render
from memprop.netgen.updates import SourceWriter


def _accuracy(network: Network, states: SynapseStates, x: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    session = NgSpiceSession.instance()
    deck = render(network, states, inputs=x[0], analysis="none")
    session.load(deck.text)
    writer = SourceWriter(network, deck.node_map)
    out = [f"{names.line(network.group(network.output_group), k)}_v"
           for k in range(network.group(network.output_group).size)]
    correct, failures, t0 = 0, 0, time.perf_counter()
    for xi, label in zip(x, labels):
        session.commands(writer.sample(xi, None))
        try:
            plot = session.op()
        except SimulationError:
            failures += 1
            continue
        v = np.array([session.vector(plot, n)[0] for n in out])
        correct += int(np.argmax(v) == label)
    session.clear()
    return {"accuracy": correct / len(labels), "images": int(len(labels)), "failed": failures,
            "seconds_per_image": (time.perf_counter() - t0) / len(labels)}


def _transient(network: Network, states: SynapseStates, x: np.ndarray, t_stop: float) -> dict[str, float]:
    session = NgSpiceSession.instance()
    deck = render(network, states, inputs=x, analysis="none", form="read", input_step=1e-9)
    session.load(deck.text)
    drives = list(deck.node_map["inputs"].values()) + list(deck.node_map["bias"].values())
    sources = [e["source"] for e in drives]
    nodes = {e["source"]: e["out"] for e in drives}
    supplies = {"vdd_cmos": "vdd_cmos", "vss_cmos": "vss_cmos", "vhi_cmos": "vhi_cmos"}
    out = [f"{names.line(network.group(network.output_group), k)}_v"
           for k in range(network.group(network.output_group).size)]
    # ngspice keeps every time point of what it saves: only what is read (a supply not in the deck is ignored)
    session.save_only(out + [v for src, node in {**nodes, **supplies}.items() for v in (node, f"{src}#branch")])
    step = t_stop / 400
    # no uic: the transient starts from the operating point with the inputs at 0 V (rest), then
    # the inputs rise within 1 ns
    plot = session.tran(step, t_stop, uic=False, max_step=step)
    t = session.vector(plot, "time")
    v = np.stack([session.vector(plot, n) for n in out], axis=1)
    span = network.neuron.v_high - network.neuron.v_low
    off = np.any(np.abs(v - v[-1]) > 0.01 * span, axis=1)
    settle = float(t[np.nonzero(off)[0][-1] + 1]) if off.any() and np.nonzero(off)[0][-1] + 1 < len(t) else float(t[-1])
    power = np.zeros_like(t)
    for src in sources:
        power += -session.vector(plot, nodes[src]) * session.vector(plot, f"{src}#branch")
    vectors = set(session.vector_names(plot))
    for src, node in supplies.items():
        if f"{src}#branch" in vectors:
            power += -session.vector(plot, node) * session.vector(plot, f"{src}#branch")
    within = t <= settle
    energy_settle = float(trapezoid(power[within], t[within])) if within.sum() > 1 else 0.0
    session.clear()
    return {"settling_time_s": settle, "energy_to_settle_j": energy_settle,
            "energy_window_j": float(trapezoid(power, t)), "mean_power_w": float(np.mean(power[len(t) // 2:]))}


def validate(cfg: Config, states: SynapseStates, level: str, *, images: int = 100, transients: int = 3,
             t_stop: float = 20e-6) -> dict[str, Any]:
    base = build_network(replace(cfg, sim=replace(cfg.sim, beta=0.0)))
    target = build_network(replace(cfg, sim=replace(cfg.sim, beta=0.0), neuron=replace(cfg.neuron, level=level)))
    splits = load_splits(cfg.data.dataset, seed=cfg.data.seed, validation=cfg.data.validation,
                         train_size=cfg.data.train_size, test_size=cfg.data.test_size,
                         data_dir=cfg.data.data_dir or None, verify=cfg.data.verify)
    n = min(images, len(splits.test.y))
    lo, hi = base.neuron.v_low, base.neuron.v_high
    x = lo + (hi - lo) * splits.test.x[:n]
    labels = splits.test.y[:n]
    result: dict[str, Any] = {"level": level, "reference_level": cfg.neuron.level}
    result["reference"] = _accuracy(base, states, x, labels)
    result["validated"] = _accuracy(target, states, x, labels)
    result["accuracy_change_points"] = 100 * (result["validated"]["accuracy"] - result["reference"]["accuracy"])
    samples = []
    for k in range(min(transients, n)):
        samples.append({"image": k, "reference": _transient(base, states, x[k], t_stop),
                        "validated": _transient(target, states, x[k], t_stop)})
    result["transients"] = samples
    for which in ("reference", "validated"):
        result[f"{which}_mean_settling_time_s"] = float(np.mean([s[which]["settling_time_s"] for s in samples]))
        result[f"{which}_mean_energy_j"] = float(np.mean([s[which]["energy_to_settle_j"] for s in samples]))
    return result
