"""Speed measurements behind `memprop bench speed`: throughput vs size, parallel scaling, memory.

Steady state only: every measurement first runs one warm-up batch (deck loaded, workers started),
then times whole EP steps (free + nudged phases, the rule, programming the devices).
"""

from __future__ import annotations

import resource
from dataclasses import replace
import time
from typing import Any

import numpy as np

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import glorot_states, layered_network
from memprop.circuits.neuron import Neuron
from memprop.cosim.engines import make_engine
from memprop.cosim.programming import Fidelity, apply_update
from memprop.cosim.rules import ep_update, layer_rates, with_ties


def _ep_steps(network, engine, batches: int, batch: int, seed: int = 0) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    states = glorot_states(network, seed, gain=0.5)
    rates = layer_rates(network, (0.1, 0.05))
    n_out = network.group(network.output_group).size
    engine.program(states)

    def step() -> None:
        nonlocal states
        x = rng.uniform(0, 1, (batch, network.n_inputs))
        y = np.eye(n_out)[rng.integers(0, n_out, batch)]
        phases = engine.phases(x, y, [0.0, 0.3, -0.3])
        dw = with_ties(network, ep_update(network, phases, rates))
        states = apply_update(network, states, dw, "ideal", None, Fidelity())
        engine.program(states)

    step()  # warm-up
    before = dict(getattr(engine, "stats", {}))
    t0 = time.perf_counter()
    for _ in range(batches):
        step()
    wall = time.perf_counter() - t0
    after = getattr(engine, "stats", {})
    out = {"seconds": wall, "samples": batches * batch, "samples_per_s": batches * batch / wall}
    if "analysis_seconds" in after:
        analysis = after["analysis_seconds"] - before.get("analysis_seconds", 0.0)
        out["outside_share"] = max(0.0, 1.0 - analysis / wall)
        out["analyses"] = after["analyses"] - before.get("analyses", 0)
    return out


def _exponent(devices: list[int], per_sample: list[float]) -> float:
    if len(devices) < 2:
        return float("nan")
    return float(np.polyfit(np.log(devices), np.log(per_sample), 1)[0])


def digits_epoch() -> dict[str, Any]:
    """One real EP training epoch of the default config (64-32-10 digits, ngspice, batch 10),
    evaluation included: the share of its wall time spent outside ngspice analyses."""
    import tempfile

    from memprop.cosim.config import Config
    from memprop.cosim.trainer import Trainer

    cfg = Config()
    cfg = replace(cfg, train=replace(cfg.train, epochs=1))
    with tempfile.TemporaryDirectory() as tmp:
        row = Trainer(cfg, tmp).run()[-1]
    return {"seconds": row["seconds"], "analysis_seconds": row["ngspice_analysis_seconds"],
            "analyses": row["ngspice_analyses"], "test_accuracy": row["test_accuracy"],
            "batch_size": cfg.train.batch_size,
            "outside_share": 1.0 - row["ngspice_analysis_seconds"] / row["seconds"]}


def parallel_scaling(net, batches: tuple[int, ...], repeats: int, steps: int) -> list[dict[str, Any]]:
    """Serial (this process) vs 2 worker processes, interleaved `repeats` times per batch size.

    Interleaving and the median matter on a shared 2-vCPU machine: one `.op` varies by +-15 % from
    run to run. Every repeat uses its own network and inputs (seed), the same for both.
    """
    engines = {w: make_engine("ngspice", net, workers=w) for w in (1, 2)}
    out = []
    try:
        for batch in batches:
            runs, ratios = [], []
            for rep in range(repeats):
                pair = {str(w): _ep_steps(net, engines[w], batches=steps, batch=batch, seed=rep) for w in (1, 2)}
                runs.append(pair)
                ratios.append(pair["2"]["samples_per_s"] / pair["1"]["samples_per_s"])
            out.append({"batch": batch, "runs": runs, "speedups": ratios, "median_speedup": float(np.median(ratios))})
    finally:
        for engine in engines.values():
            engine.close()
    return out


def speed(quick: bool = False) -> dict[str, Any]:
    neuron, device = Neuron(), DEVICE_MODELS["vteam"]
    result: dict[str, Any] = {"behavioral": [], "ngspice": []}
    beh_sizes = [(64, 32, 10), (196, 100, 10), (784, 128, 10), (784, 500, 10), (784, 1000, 10)]
    spice_sizes = [(64, 16, 10), (64, 32, 10), (64, 64, 10), (64, 128, 10), (784, 32, 10), (784, 64, 10)]
    if quick:
        beh_sizes, spice_sizes = beh_sizes[:3], spice_sizes[:2]
    # first, while this process's ngspice is fresh: serial (in this process) vs 2 worker processes
    net = layered_network(neuron, device, (64, 32, 10))
    result["parallel"] = parallel_scaling(net, batches=(20,) if quick else (20, 50), repeats=1 if quick else 3,
                                          steps=2 if quick else 8)
    main_row = result["parallel"][0]
    scaling = {1: main_row["runs"][0]["1"], 2: main_row["runs"][0]["2"]}
    if not quick:
        result["digits_epoch"] = digits_epoch()
    for layers in beh_sizes:
        net = layered_network(neuron, device, layers)
        engine = make_engine("behavioral", net)
        r = _ep_steps(net, engine, batches=2 if quick else 4, batch=100)
        result["behavioral"].append({"layers": list(layers), "memristors": net.n_devices, **r})
    for layers in spice_sizes:
        net = layered_network(neuron, device, layers)
        engine = make_engine("ngspice", net)
        try:
            r = _ep_steps(net, engine, batches=2 if quick else 4, batch=10)
        finally:
            engine.close()
        result["ngspice"].append({"layers": list(layers), "memristors": net.n_devices, **r})
    for key in ("behavioral", "ngspice"):
        rows = result[key]
        result[f"{key}_exponent"] = _exponent([r["memristors"] for r in rows], [1 / r["samples_per_s"] for r in rows])
    from memprop.cosim.session import NgSpiceSession

    result["ngspice_solver"] = NgSpiceSession.instance().solver
    result["workers"] = {str(k): v for k, v in scaling.items()}
    result["speedup_2_workers"] = main_row["median_speedup"]
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result["peak_rss_mb"] = {"main": usage, "largest_worker": children}
    return result


def format_speed(r: dict[str, Any]) -> str:
    lines = ["backend     layers           memristors  samples/s  outside-ngspice"]
    for key in ("behavioral", "ngspice"):
        for row in r[key]:
            share = f"{100 * row['outside_share']:.1f} %" if "outside_share" in row else "-"
            lines.append(f"{key:<11} {str(row['layers']):<16} {row['memristors']:>10} {row['samples_per_s']:>10.1f}"
                         f"  {share:>14}")
    lines.append(f"cost growth (time per sample ~ memristors^k): behavioral k = {r['behavioral_exponent']:.2f}, "
                 f"ngspice k = {r['ngspice_exponent']:.2f} (ngspice linear solver: {r['ngspice_solver']})")
    for row in r.get("parallel", []):
        pairs = ", ".join(f"{p['1']['samples_per_s']:.1f} -> {p['2']['samples_per_s']:.1f}" for p in row["runs"])
        lines.append(f"ngspice 64-32-10, batch {row['batch']}: 1 worker -> 2 workers (samples/s) {pairs}; "
                     f"speedup median x{row['median_speedup']:.2f} "
                     f"(runs: {', '.join(f'x{v:.2f}' for v in row['speedups'])})")
    if "digits_epoch" in r:
        e = r["digits_epoch"]
        lines.append(f"one EP epoch of the default config (64-32-10 digits, ngspice, batch {e['batch_size']}, "
                     f"evaluation included): {e['seconds']:.1f} s, {e['analyses']} analyses in "
                     f"{e['analysis_seconds']:.1f} s, outside ngspice analyses {100 * e['outside_share']:.1f} %")
    lines.append(f"peak RSS: main {r['peak_rss_mb']['main']:.0f} MB, largest worker {r['peak_rss_mb']['largest_worker']:.0f} MB")
    return "\n".join(lines)
