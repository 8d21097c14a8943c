"""Transistor-level validation of a trained network (`memprop validate RUN --neuron cmos|sky130`).

The trained device states are kept; only the neuron cell changes (e.g. to the transistor-level
`cmos` or `sky130` level). The sky130 cell runs from +/-0.9 V with a 0.5 V swing, and its crossbar is
sized for power: every voltage is scaled by SKY130_V_HIGH_MAX / v_high and every resistance (R_f and
the devices' R_on, R_off) by IMPEDANCE_SCALE, with C_f scaled down by the same factor. The weights
W = R_f (G+ - G-) and tau = R_f C_f stay what was trained; the hard sigmoid is homogeneous (v_low =
0), so the scaled network computes the same function in smaller volts, and the crossbar's read
power falls by IMPEDANCE_SCALE times the square of the voltage scale. We report
- the accuracy change: the same test images at the new level vs at the run's own level, both in
  ngspice; each image by its own `.op` at the ideal and macromodel levels, and at transistor level
  one after another in one transient (`chained`: an `.op` there needs gmin stepping every time);
- the settling time to 1 %: from a transient starting at rest (the operating point with the inputs
  at 0 V) with the inputs rising within 1 ns at t = 0,
  the last time any output neuron is more than 1 % of the activation range away from its final
  value;
- the energy per inference: the power delivered by every supply and input source, integrated
  from t = 0 to the settling time (and to the end of the window), per sample and averaged; split
  by where it is drawn: the neurons' core supplies, the output rails that carry the crossbar's
  read currents (sky130: vhi_sky, vlo_sky; cmos: vhi_cmos) and the input and bias sources; and per
  multiply-accumulate (one differential pair read once per inference).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np
from scipy.integrate import trapezoid  # numpy's own is numpy >= 2 only (np.trapz before)

from memprop.circuits.network import Network, SynapseStates
from memprop.circuits.neuron import SKY130_V_HIGH_MAX
from memprop.circuits.validation import ConfigError
from memprop.cosim.config.config import Config, DeviceConfig, build_network
from memprop.cosim.data.datasets import load_splits
from memprop.cosim.simulator.session import NgSpiceSession, SimulationError
from memprop.netgen import names
from memprop.netgen.deck import render
from memprop.netgen.sweep import PHASE_RISE, PointTables, phase_ends
from memprop.netgen.updates import SourceWriter


#: The sky130 crossbar's resistances (R_f, R_on, R_off) relative to the trained network's.
IMPEDANCE_SCALE = 100.0
#: A transistor-level network's test images are settled one after another in one transient, each
#: for this many tau (at sky130 the slowest of 30 images took 75 tau to come within 1 % of the swing).
CHAIN_WINDOW_TAU = 100.0
#: A window whose outputs were still outside the 1 % band after this fraction of it counts as
#: unsettled (ringing, an oscillation, or a slow mode): its end is not an operating point.
UNSETTLED = 0.9
#: Output rails: they deliver the neurons' output currents into the crossbar.
READ_RAILS = names.READ_RAILS


def sky130_config(cfg: Config, corner: str = "tt", temp: float = 27.0) -> Config:
    """The run's config ported to the sky130 level with the same weights (see the module doc)."""
    if cfg.neuron.level == "sky130":  # trained at sky130 already: only the corner and temperature change
        return replace(cfg, neuron=replace(cfg.neuron, corner=corner, temp=float(temp)))
    device = cfg.device.build()
    if not all(hasattr(device, name) for name in ("r_on", "r_off")):
        raise ConfigError("device.model", f"the sky130 crossbar scales R_on and R_off: {cfg.device.model!r} has none",
                          cfg.source)
    k, n = IMPEDANCE_SCALE, cfg.neuron
    params = {**cfg.device.params, "r_on": device.r_on * k, "r_off": device.r_off * k}
    neuron = replace(n, level="sky130", v_low=0.0, v_high=SKY130_V_HIGH_MAX, r_f=n.r_f * k, c_f=n.c_f / k,
                     corner=corner, temp=float(temp))
    return replace(cfg, neuron=neuron, device=DeviceConfig(model=cfg.device.model, params=params))


def _op_outputs(network: Network, states: SynapseStates, x: np.ndarray) -> np.ndarray:
    """The output activations of each image's `.op` on one loaded deck (a row of NaN where ngspice
    fails)."""
    session = NgSpiceSession.instance()
    deck = render(network, states, inputs=x[0], analysis="none")
    session.load(deck.text)
    writer = SourceWriter(network, deck.node_map)
    out = _output_nodes(network)
    rows = np.full((len(x), len(out)), np.nan)
    for k, xi in enumerate(x):
        session.commands(writer.sample(xi, None))
        try:
            plot = session.op()
        except SimulationError:
            continue
        rows[k] = [session.vector(plot, n)[0] for n in out]
    session.clear()
    return rows


def _accuracy(network: Network, states: SynapseStates, x: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Each image settled by its own `.op` (a failed one counts as wrong)."""
    t0 = time.perf_counter()
    rows = _op_outputs(network, states, x)
    failed = np.isnan(rows).any(axis=1)
    correct = (np.argmax(np.nan_to_num(rows, nan=-np.inf), axis=1) == labels) & ~failed
    return {"accuracy": float(np.mean(correct)), "images": int(len(labels)), "failed": int(failed.sum()),
            "settled_by": "op", "seconds_per_image": (time.perf_counter() - t0) / len(labels)}


def _validated_accuracy(network: Network, states: SynapseStates, x: np.ndarray, labels: np.ndarray,
                        op_check: int) -> dict[str, Any]:
    """`.op` per image at the ideal and macromodel levels; at transistor level the chained transient
    (`chained`), with its first `op_check` images also settled by `.op`: how far the window ends
    are from the operating points, and whether they classify alike."""
    if not network.neuron.transistor_level:
        return _accuracy(network, states, x, labels)
    out = chained(network, states, x, labels, CHAIN_WINDOW_TAU * network.neuron.tau)
    outputs, settle = out.pop("outputs", None), out.pop("settling_times_s", np.zeros(0))
    out.update(settled_by="chained transient", mean_settling_time_s=float(np.mean(settle)) if settle.size else 0.0,
               max_settling_time_s=float(np.max(settle)) if settle.size else 0.0,
               unsettled=int(np.sum(settle > UNSETTLED * out.get("window_s", 0.0))))
    if outputs is not None and op_check > 0:
        ops = _op_outputs(network, states, x[:op_check])
        out["op_check"] = {"images": int(len(ops)), "max_diff_v": float(np.nanmax(np.abs(ops - outputs[:len(ops)]))),
                           "same_class": float(np.mean(np.argmax(ops, 1) == np.argmax(outputs[:len(ops)], 1)))}
    return out


def _output_nodes(network: Network) -> list[str]:
    group = network.group(network.output_group)
    return [names.node(names.line(group, k), "activation") for k in range(group.size)]


def chained(network: Network, states: SynapseStates, x: np.ndarray, labels: np.ndarray,
            window: float) -> dict[str, Any]:
    """The images settled one after another in one transient, as the hardware meets them: image k's
    inputs switch in at k * window (within PHASE_RISE of it) and it settles from wherever image k-1
    left the circuit; its outputs are read at the end of its window. The first image starts from
    its own operating point. A transistor-level cell's Newton needs gmin stepping for every `.op`
    (~1 500 iterations at sky130), while a time step from a nearby state converges in a few.

    Accuracy from the outputs at the window ends; settling: how long after its inputs switched
    each image's outputs last left a band of 1 % of the swing around their value at the end."""
    session, rise = NgSpiceSession.instance(), PHASE_RISE * window
    deck = render(network, states, tables=PointTables(x, None, np.zeros(len(x))), nudge=False, analysis="none",
                  flat=True, phase_time=window)
    session.load(deck.text)
    out = _output_nodes(network)
    session.save_only(out)
    t0 = time.perf_counter()
    try:
        plot = session.tran(window / 20, len(x) * window, uic=False, max_step=window / 20)
    except SimulationError as err:
        session.clear()
        return {"accuracy": float("nan"), "images": int(len(labels)), "failed": int(len(labels)), "error": err.what}
    t, v = session.vector(plot, "time"), np.stack([session.vector(plot, n) for n in out], axis=1)
    session.clear()
    ends = phase_ends(len(x), window, rise)
    at_ends = np.stack([np.interp(ends, t, v[:, k]) for k in range(v.shape[1])], axis=1)
    settle = _settling(t, v, at_ends, ends - window, window, 0.01 * (network.neuron.v_high - network.neuron.v_low))
    return {"accuracy": float(np.mean(np.argmax(at_ends, axis=1) == labels)), "images": int(len(labels)),
            "failed": 0, "seconds_per_image": (time.perf_counter() - t0) / len(labels), "window_s": window,
            "outputs": at_ends, "settling_times_s": settle[1:]}


def _settling(t: np.ndarray, v: np.ndarray, finals: np.ndarray, starts: np.ndarray, window: float,
              band: float) -> np.ndarray:
    """Per window: how long after its start any output was last more than `band` from its final
    value (the window's length where it never came within the band)."""
    lo = np.searchsorted(t, starts, side="left")
    hi = np.searchsorted(t, starts + window, side="right")
    out = np.zeros(len(starts))
    for k, (a, b, final) in enumerate(zip(lo, hi, finals)):
        off = np.nonzero(np.any(np.abs(v[a:b] - final) > band, axis=1))[0]
        out[k] = float(t[a + off[-1]] - starts[k]) if off.size else 0.0
    return out


def _transient(network: Network, states: SynapseStates, x: np.ndarray, t_stop: float) -> dict[str, float]:
    session = NgSpiceSession.instance()
    deck = render(network, states, inputs=x, analysis="none", form="read", input_step=1e-9)
    session.load(deck.text)
    drives = list(deck.node_map["inputs"].values()) + list(deck.node_map["bias"].values())
    sources = [e["source"] for e in drives]
    nodes = {e["source"]: e["out"] for e in drives}
    supplies = {name: name for name in deck.node_map["supplies"]}
    out = _output_nodes(network)
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
    split = {"sources": sum((-session.vector(plot, nodes[src]) * session.vector(plot, f"{src}#branch")
                             for src in sources), np.zeros_like(t))}
    power = split["sources"].copy()
    vectors = set(session.vector_names(plot))
    for src, node in supplies.items():
        if f"{src}#branch" in vectors:
            power += -session.vector(plot, node) * session.vector(plot, f"{src}#branch")
    within = t <= settle
    energy_settle = float(trapezoid(power[within], t[within])) if within.sum() > 1 else 0.0
    rails = [src for src in supplies if src in READ_RAILS]
    split["read_rails"] = sum((-session.vector(plot, r) * session.vector(plot, f"{r}#branch") for r in rails),
                              np.zeros_like(t))
    split["neurons"] = power - split["sources"] - split["read_rails"]
    session.clear()
    energies = {f"energy_{part}_j": float(trapezoid(p[within], t[within])) if within.sum() > 1 else 0.0
                for part, p in split.items()}
    return {**energies, "settling_time_s": settle, "energy_to_settle_j": energy_settle,
            "energy_window_j": float(trapezoid(power, t)), "mean_power_w": float(np.mean(power[len(t) // 2:]))}


def _from_rest_window(network: Network) -> float:
    """How long the from-rest transient runs: 20 tau (the ideal and macromodel cells settle within
    it); a transistor-level network's chained window (at sky130 a 20 us window ended first)."""
    return (CHAIN_WINDOW_TAU if network.neuron.transistor_level else 20.0) * network.neuron.tau


def validate(cfg: Config, states: SynapseStates, level: str, *, images: int = 100, transients: int = 3,
             t_stop: float | None = None, corner: str = "tt", temp: float = 27.0, op_check: int = 2) -> dict[str, Any]:
    base = build_network(replace(cfg, sim=replace(cfg.sim, beta=0.0)))
    ported = sky130_config(cfg, corner, temp) if level == "sky130" else replace(cfg, neuron=replace(cfg.neuron, level=level))
    target = build_network(replace(ported, sim=replace(cfg.sim, beta=0.0)))
    splits = load_splits(cfg.data.dataset, seed=cfg.data.seed, validation=cfg.data.validation,
                         train_size=cfg.data.train_size, test_size=cfg.data.test_size,
                         data_dir=cfg.data.data_dir or None, verify=cfg.data.verify)
    n = min(images, len(splits.test.y))
    lo, hi = base.neuron.v_low, base.neuron.v_high
    x = lo + (hi - lo) * splits.test.x[:n]
    x_target = x * (target.neuron.v_high / hi)  # hard sigmoid, v_low = 0: the same function in scaled volts
    labels = splits.test.y[:n]
    result: dict[str, Any] = {"level": level, "reference_level": cfg.neuron.level, "corner": corner, "temp": temp,
                              "macs": int(sum(int(b.mask().sum()) for b in target.crossbars))}
    result["reference"] = _accuracy(base, states, x, labels)
    result["validated"] = _validated_accuracy(target, states, x_target, labels, op_check)
    result["accuracy_change_points"] = 100 * (result["validated"]["accuracy"] - result["reference"]["accuracy"])
    samples, t_stop = [], t_stop or _from_rest_window(target)
    for k in range(min(transients, n)):
        samples.append({"image": k, "reference": _transient(base, states, x[k], t_stop),
                        "validated": _transient(target, states, x_target[k], t_stop)})
    result["transients"] = samples
    if not samples:  # --transients 0: no settling or energy figures (not means of nothing)
        return result
    for which in ("reference", "validated"):
        result[f"{which}_mean_settling_time_s"] = float(np.mean([s[which]["settling_time_s"] for s in samples]))
        result[f"{which}_mean_energy_j"] = float(np.mean([s[which]["energy_to_settle_j"] for s in samples]))
        result[f"{which}_energy_per_mac_j"] = result[f"{which}_mean_energy_j"] / result["macs"]
        for part in ("neurons", "read_rails", "sources"):
            result[f"{which}_mean_energy_{part}_j"] = float(np.mean([s[which][f"energy_{part}_j"] for s in samples]))
    return result
