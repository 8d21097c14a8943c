"""Speed measurements behind `memprop bench speed`: per-point cost of batched vs per-phase ngspice
analyses, EP throughput vs size, the default epoch on both engines, parallel scaling, device
updates, memory.

Throughput figures are steady state: one warm-up batch first (deck loaded, workers started), then
whole EP steps (free + nudged phases, the rule, programming the devices), with the engine told the
upcoming batches as the trainer tells it. Ratios are measured in one run, on the same machine.
"""

from __future__ import annotations

import resource
import tempfile
import time
from dataclasses import replace
from typing import Any

import numpy as np

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import glorot_states, layered_network
from memprop.circuits.neuron import Neuron
from memprop.cosim.engines.factory import make_engine
from memprop.cosim.programming.writes import Fidelity, apply_update
from memprop.cosim.learning.estimators import EP, layer_rates, train_step

SYMMETRIC = [0.0, 0.3, -0.3]


def _batches(network, count: int, batch: int, seed: int) -> list[tuple[np.ndarray, np.ndarray, list[float]]]:
    """Random inputs in [0, 1] V on every line and one-hot targets (every input line carries current)."""
    rng = np.random.default_rng(seed)
    n_out = network.group(network.output_group).size
    return [(rng.uniform(0, 1, (batch, network.n_inputs)), np.eye(n_out)[rng.integers(0, n_out, batch)], SYMMETRIC)
            for _ in range(count)]


def _ep_steps(network, engine, batches: int, batch: int, seed: int = 0) -> dict[str, float]:
    """Time `batches` EP steps after one warm-up step; the engine sees the upcoming batches."""
    plan = _batches(network, batches + 1, batch, seed)
    states = glorot_states(network, seed, gain=0.5)
    rates = layer_rates(network, (0.1, 0.05))
    engine.program(states)

    def step(k: int) -> None:
        nonlocal states
        x, y, betas = plan[k]
        step = train_step(EP(), network, engine, x, y, rates, betas,
                          upcoming=lambda m: plan[k + m] if k + m < len(plan) else None)
        states = apply_update(network, states, step.write, "ideal", None, Fidelity())
        engine.program(states)

    step(0)  # warm-up
    before = dict(getattr(engine, "stats", {}))
    t0 = time.perf_counter()
    for k in range(1, batches + 1):
        step(k)
    wall = time.perf_counter() - t0
    after = getattr(engine, "stats", {})
    out = {"seconds": wall, "samples": batches * batch, "samples_per_s": batches * batch / wall}
    if "analysis_seconds" in after:
        inside = "ngspice_seconds" if "ngspice_seconds" in after else "analysis_seconds"
        out["outside_share"] = max(0.0, 1.0 - (after[inside] - before.get(inside, 0.0)) / wall)
        out["analyses"] = after["analyses"] - before.get("analyses", 0)
    return out


def _exponent(devices: list[int], per_sample: list[float]) -> float:
    if len(devices) < 2:
        return float("nan")
    return float(np.polyfit(np.log(devices), np.log(per_sample), 1)[0])


# ---- per-point cost: one sweep point vs one cold .op ----
def point_cost(layers: tuple[int, ...], sweep_points: int, ops: int, seed: int = 0) -> dict[str, Any]:
    """Seconds per sweep point (steady state: the deck loaded and its first point solved) and per
    cold `.op` (inputs altered, every phase its own analysis) on the same network and inputs."""
    from memprop.cosim.engines.batched import BatchedNgspiceEngine
    from memprop.cosim.engines.perphase import NgspiceEngine

    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], layers)
    states = glorot_states(net, seed, gain=0.5)
    n_batch = max(1, -(-sweep_points // 3))
    first, rest = _batches(net, 1, 1, seed)[0], _batches(net, 1, n_batch, seed + 1)[0]
    row: dict[str, Any] = {"layers": list(layers), "memristors": net.n_devices}
    sweep = BatchedNgspiceEngine(net)
    try:
        sweep.program(states)
        t0 = time.perf_counter()
        sweep.phases(*first, upcoming=lambda m: rest if m == 1 else None)  # deck load and the cold first point
        row["deck_and_first_point_s"] = time.perf_counter() - t0
        analysis = sweep.stats["analysis_seconds"]
        sweep.phases(*rest)
        row["sweep_point_s"] = (sweep.stats["analysis_seconds"] - analysis) / (3 * n_batch)
    finally:
        sweep.close()
    cold = NgspiceEngine(net)
    try:
        cold.program(states)
        x, y, _ = _batches(net, 1, max(1, ops), seed + 2)[0]
        cold.phases(x[:1], y[:1], [0.0])  # the deck loaded
        analysis = cold.stats["analysis_seconds"]
        cold.phases(x, y, [0.0])
        row["op_s"] = (cold.stats["analysis_seconds"] - analysis) / max(1, ops)
    finally:
        cold.close()
    row["ratio"] = row["op_s"] / row["sweep_point_s"]
    return row


# ---- device updates: alter vs re-loading the deck ----
def device_update_cost(layers: tuple[int, ...], seed: int = 0) -> dict[str, Any]:
    """Re-programming every device of a paused sweep deck with `alter`, against rendering and
    loading a new deck with the new states (its set-up and first point included, as a new deck
    costs that before it solves anything)."""
    from memprop.cosim.engines.batched import BatchedNgspiceEngine

    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], layers)
    old, new = glorot_states(net, seed, gain=0.5), glorot_states(net, seed + 1, gain=0.5)
    b1, b2 = _batches(net, 2, 1, seed)
    engine = BatchedNgspiceEngine(net)
    try:
        engine.program(old)
        engine.phases(*b1, upcoming=lambda m: b2 if m == 1 else None)
        engine.program(new)
        written = engine.stats.get("write_seconds", 0.0)
        engine.phases(*b2)
        alter = engine.stats["write_seconds"] - written
        alters = engine.stats["alters"]
        t0 = time.perf_counter()
        engine.phases(*b1)  # not the planned batch: a new deck, rendered with the new states
        reload = time.perf_counter() - t0 - 3 * _point_seconds(engine)
    finally:
        engine.close()
    return {"layers": list(layers), "memristors": net.n_devices, "alters": alters, "alter_s": alter,
            "alter_us_each": 1e6 * alter / max(alters, 1), "reload_s": reload,
            "choice": "alter" if alter <= reload else "reload"}


def _point_seconds(engine) -> float:
    return engine.stats["analysis_seconds"] / max(engine.stats["points"], 1)


# ---- whole runs ----
def digits_epoch(batching: str = "sweep", analysis: str = "op") -> dict[str, Any]:
    """One real EP training epoch of the default config (64-32-10 digits, ngspice, batch 10),
    evaluation included: its wall time and the share spent outside ngspice (memprop's Python)."""
    from memprop.cosim.config.config import Config, legacy_schedule
    from memprop.cosim.runs.trainer import Trainer

    cfg = Config()  # the rates of the figures' time (the schedule changes the accuracy, not the epoch's cost)
    cfg = replace(cfg, train=replace(legacy_schedule(cfg.train), epochs=1, batching=batching, analysis=analysis))
    with tempfile.TemporaryDirectory() as tmp:
        row = Trainer(cfg, tmp).run()[-1]
    inside = row.get("ngspice_ngspice_seconds", row["ngspice_analysis_seconds"])
    return {"batching": batching, "analysis": analysis, "seconds": row["seconds"], "analysis_seconds": row["ngspice_analysis_seconds"],
            "ngspice_seconds": inside, "analyses": row["ngspice_analyses"], "test_accuracy": row["test_accuracy"],
            "train_loss": row["train_loss"], "batch_size": cfg.train.batch_size,
            "max_twin_diff_mv": row["ngspice_max_twin_diff_mv"], "outside_share": 1.0 - inside / row["seconds"]}


def default_epochs(repeats: int) -> dict[str, Any]:
    """The default epoch on the per-phase and the batched engine, and with transient phases,
    interleaved `repeats` times (the same machine state for each triple)."""
    runs = [{"per-phase": digits_epoch("per-phase"), "sweep": digits_epoch("sweep"), "tran": digits_epoch("sweep", "tran")}
            for _ in range(repeats)]
    ratios = [r["per-phase"]["seconds"] / r["sweep"]["seconds"] for r in runs]
    tran = [r["tran"]["seconds"] / r["sweep"]["seconds"] for r in runs]
    return {"runs": runs, "speedups": ratios, "median_speedup": float(np.median(ratios)) if ratios else float("nan"),
            "tran_ratios": tran, "median_tran_ratio": float(np.median(tran)) if tran else float("nan")}


def transient_cost(layers: tuple[int, ...], batches: int = 2, batch: int = 5, beta: float = 0.3) -> dict[str, Any]:
    """Seconds per transient phase: batched with the devices in their read form, against one
    sample's per-phase transients with their state equations live (the dynamic form: free and
    both nudged phases at +-beta, the default training's; ~100x slower per phase). Both
    settle_time = 20 tau. The dynamic form's seconds per time point too: what its equations
    cost, whatever the step control."""
    from memprop.cosim.engines.batched import BatchedTransientEngine
    from memprop.cosim.engines.perphase import NgspiceEngine

    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], layers)
    states = glorot_states(net, 0, gain=0.5)
    plan = _batches(net, batches, batch, 0)
    read = BatchedTransientEngine(net)
    try:
        read.program(states)
        t0 = time.perf_counter()
        for k, b in enumerate(plan):
            read.phases(*b, upcoming=lambda m, k=k: plan[k + m] if k + m < len(plan) else None)
        read_s = (time.perf_counter() - t0) / (batches * batch * 3)
    finally:
        read.close()
    dynamic = NgspiceEngine(net, analysis="tran")
    try:
        dynamic.program(states)
        t0 = time.perf_counter()
        betas = [0.0, beta, -beta]
        dynamic.phases(plan[0][0][:1], plan[0][1][:1], betas)
        dynamic_s = (time.perf_counter() - t0) / len(betas)
        analysis_s, points = dynamic.stats["analysis_seconds"], dynamic.stats["time_points"]
    finally:
        dynamic.close()
    return {"layers": list(layers), "memristors": net.n_devices, "read_phase_s": read_s,
            "dynamic_phase_s": dynamic_s, "ratio": dynamic_s / read_s, "dynamic_time_points": points,
            "dynamic_ms_per_point": 1e3 * analysis_s / points, "dynamic_max_twin_diff_mv": dynamic.stats["max_twin_diff_mv"]}


def parallel_scaling(net, batches: tuple[int, ...], repeats: int, steps: int) -> list[dict[str, Any]]:
    """Serial (this process) vs 2 worker processes, interleaved `repeats` times per batch size.

    Interleaving and the median matter on a shared 2-vCPU machine: one analysis varies by +-15 %
    from run to run. Every repeat uses its own network and inputs (seed), the same for both.
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


def rss_mb() -> float:
    """This process's resident memory now (ngspice included), from /proc."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def batched_memory(layers: tuple[int, ...], batches: int, batch: int = 1) -> dict[str, Any]:
    """RSS of this process (ngspice included) over `batches` batched analyses: each batch resumed in
    a sweep and all its devices re-programmed, with a new deck every 50 batches."""
    from memprop.cosim.engines.batched import BatchedNgspiceEngine

    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], layers)
    plan = _batches(net, batches + 10, batch, 0)
    states = [glorot_states(net, k, gain=0.5) for k in range(2)]
    engine = BatchedNgspiceEngine(net)

    def run(ks: range) -> None:
        for k in ks:
            engine.program(states[k % 2])
            engine.phases(*plan[k], upcoming=lambda m, k=k: plan[k + m] if k + m < len(plan) and (k + m) % 50 else None)
    try:
        run(range(10))
        start = rss_mb()
        run(range(10, 10 + batches))
        end = rss_mb()
    finally:
        engine.close()
    return {"layers": list(layers), "batches": batches, "rss_start_mb": start, "rss_end_mb": end,
            "growth_mb": end - start, "decks": engine.stats["chunks"]}


def scale_run(config: Any, samples: int, workers: int | None = None, test_images: int = 200) -> dict[str, Any]:
    """A config's first `samples` training images trained with ngspice in the loop, then the same
    images from the same start with the behavioural engine: the cost per training sample, the full
    epoch it projects to, and how far apart the two runs' weights end (relative to the largest)."""
    from memprop.circuits.network import conductances
    from memprop.cosim.runs.trainer import Trainer

    train = replace(config.train, epochs=1, eval_size=test_images, workers=workers or config.train.workers)
    base = replace(config, data=replace(config.data, train_size=samples), train=train)
    runs = {}
    for backend in ("ngspice", "behavioral"):
        cfg = replace(base, train=replace(base.train, backend=backend))
        with tempfile.TemporaryDirectory() as tmp:
            trainer = Trainer(cfg, tmp)
            runs[backend] = (trainer.run()[-1], trainer.states, trainer.network)
    (row, spice, net), (row_b, beh, _) = runs["ngspice"], runs["behavioral"]
    g_s, g_b = conductances(net, spice), conductances(net, beh)
    w_s = {k: net.neuron.r_f * (v[0] - v[1]) for k, v in g_s.items()}
    w_b = {k: net.neuron.r_f * (v[0] - v[1]) for k, v in g_b.items()}
    largest = max(float(np.max(np.abs(w))) for w in w_b.values())
    diff = max(float(np.max(np.abs(w_s[k] - w_b[k]))) for k in w_b)
    per_sample = row["train_seconds"] / samples
    from memprop.cosim.data.datasets import load_splits

    full = len(load_splits(config.data.dataset, seed=config.data.seed, validation=config.data.validation,
                           data_dir=config.data.data_dir or None).train.y)
    return {"layers": list(config.network.layers), "memristors": net.n_devices, "samples": samples,
            "workers": train.workers, "batch_size": train.batch_size, "train_seconds": row["train_seconds"],
            "seconds_per_sample": per_sample, "epoch_samples": full, "projected_epoch_hours": per_sample * full / 3600,
            "weight_rel_diff": diff / largest, "test_images": test_images,
            "test_accuracy": row["test_accuracy"], "test_accuracy_behavioral": row_b["test_accuracy"],
            "ngspice": {k[8:]: v for k, v in row.items() if k.startswith("ngspice_")}}


def format_scale(r: dict[str, Any]) -> str:
    s = r["ngspice"]
    return "\n".join([
        f"{r['layers']} ({r['memristors']} memristors), {r['samples']} training samples, batch {r['batch_size']}, "
        f"{r['workers']} worker(s), ngspice in the loop: {r['train_seconds']:.0f} s = "
        f"{1e3 * r['seconds_per_sample']:.0f} ms per sample",
        f"  projected full epoch ({r['epoch_samples']} samples): {r['projected_epoch_hours']:.2f} h",
        f"  weights vs the behavioural engine on the same samples: max |dW| / max |W| = {r['weight_rel_diff']:.2e}",
        f"  test accuracy on the first {r['test_images']} test images: ngspice {100 * r['test_accuracy']:.2f} %, "
        f"behavioural {100 * r['test_accuracy_behavioral']:.2f} %",
        f"  ngspice: {s.get('points', 0)} sweep points, {s.get('chunks', 0)} decks, {s.get('alters', 0)} alters, "
        f"max |ngspice - twin| {s.get('max_twin_diff_mv', 0.0):.2g} mV, restarts {s.get('restarts', 0)}, "
        f"fallbacks {s.get('sweep_fallbacks', 0)}"])


def _throughput(backend: str, sizes: list[tuple[int, ...]], batches: int, batch: int) -> list[dict[str, Any]]:
    rows = []
    for layers in sizes:
        net = layered_network(Neuron(), DEVICE_MODELS["vteam"], layers)
        engine = make_engine(backend, net)
        try:
            r = _ep_steps(net, engine, batches=batches, batch=batch)
        finally:
            engine.close()
        rows.append({"layers": list(layers), "memristors": net.n_devices, **r})
    return rows


def speed(quick: bool = False) -> dict[str, Any]:
    beh_sizes = [(64, 32, 10), (196, 100, 10), (784, 128, 10), (784, 500, 10), (784, 1000, 10)]
    spice_sizes = [(64, 16, 10), (64, 32, 10), (64, 64, 10), (64, 128, 10), (784, 32, 10), (784, 64, 10),
                   (784, 100, 10)]
    point_sizes = [((64, 32, 10), 300, 30), ((784, 32, 10), 60, 6), ((784, 100, 10), 60, 3)]
    update_sizes = [(64, 32, 10), (784, 64, 10), (784, 100, 10)]
    if quick:
        beh_sizes, spice_sizes = beh_sizes[:2], spice_sizes[:3]
        point_sizes, update_sizes = [((64, 32, 10), 60, 6)], update_sizes[:1]
    result: dict[str, Any] = {}
    # first, while this process's ngspice is fresh: serial (in this process) vs 2 worker processes
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (64, 32, 10))
    result["parallel"] = parallel_scaling(net, batches=(10,) if quick else (10, 50), repeats=1 if quick else 3,
                                          steps=2 if quick else 8)
    result["epochs"] = default_epochs(0 if quick else 2)
    result["points"] = [point_cost(layers, pts, ops) for layers, pts, ops in point_sizes]
    result["updates"] = [device_update_cost(layers) for layers in update_sizes]
    result["transient"] = transient_cost((64, 32, 10) if not quick else (16, 8, 4))
    result["behavioral"] = _throughput("behavioral", beh_sizes, 2 if quick else 4, 100)
    result["ngspice"] = _throughput("ngspice", spice_sizes, 2 if quick else 3, 10)
    for key in ("behavioral", "ngspice"):
        rows = result[key]
        result[f"{key}_exponent"] = _exponent([r["memristors"] for r in rows], [1 / r["samples_per_s"] for r in rows])
    result["memory"] = batched_memory((32, 16, 10) if quick else (784, 100, 10), 20 if quick else 200)
    from memprop.cosim.simulator.session import NgSpiceSession

    result["ngspice_solver"] = NgSpiceSession.instance().solver
    result["peak_rss_mb"] = {"main": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                             "largest_worker": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}
    return result


def format_speed(r: dict[str, Any]) -> str:
    lines = ["per analysis point (VTEAM, random inputs): batched sweep point vs cold .op"]
    for p in r.get("points", []):
        lines.append(f"  {str(p['layers']):<16} {p['memristors']:>7} memristors: sweep point {1e3 * p['sweep_point_s']:8.2f} ms, "
                     f".op {1e3 * p['op_s']:8.1f} ms, x{p['ratio']:.1f} (a new deck and its first point: "
                     f"{p['deck_and_first_point_s']:.2f} s)")
    for e in r.get("epochs", {}).get("runs", []):
        pp, sw = e["per-phase"], e["sweep"]
        lines.append(f"default epoch (64-32-10 digits, batch {sw['batch_size']}, evaluation included): per-phase "
                     f"{pp['seconds']:.1f} s, batched {sw['seconds']:.1f} s (x{pp['seconds'] / sw['seconds']:.2f}); "
                     f"test accuracy {100 * pp['test_accuracy']:.2f} % / {100 * sw['test_accuracy']:.2f} %; outside "
                     f"ngspice {100 * pp['outside_share']:.1f} % / {100 * sw['outside_share']:.1f} %")
        tr = e.get("tran")
        if tr:
            lines.append(f"  the same epoch with transient phases (batched, read form): {tr['seconds']:.1f} s = "
                         f"x{tr['seconds'] / sw['seconds']:.1f} the batched op epoch; test accuracy "
                         f"{100 * tr['test_accuracy']:.2f} %, max |ngspice - twin transient| {tr['max_twin_diff_mv']:.2f} mV")
    if r.get("epochs", {}).get("runs"):
        lines.append(f"  epoch speedup median x{r['epochs']['median_speedup']:.2f}; tran/op median "
                     f"x{r['epochs'].get('median_tran_ratio', float('nan')):.1f}")
    if "transient" in r:
        tc = r["transient"]
        lines.append(f"transient phase (20 tau) at {tc['layers']}: batched read form {1e3 * tc['read_phase_s']:.1f} ms, "
                     f"per-phase dynamic form {tc['dynamic_phase_s']:.1f} s (x{tc['ratio']:.0f}; "
                     f"{tc['dynamic_ms_per_point']:.1f} ms per time point, {tc['dynamic_time_points']} points for "
                     f"3 phases, within {tc['dynamic_max_twin_diff_mv']:.2f} mV of the twin); per sample x3")
    lines.append("device updates between batches: alter every device vs render and load a new deck")
    for u in r.get("updates", []):
        lines.append(f"  {str(u['layers']):<16} {u['memristors']:>7} memristors: alter {u['alters']} in "
                     f"{u['alter_s']:.3f} s ({u['alter_us_each']:.1f} us each), new deck {u['reload_s']:.2f} s "
                     f"-> {u['choice']}")
    lines.append("backend     layers           memristors  samples/s  outside-ngspice")
    for key in ("behavioral", "ngspice"):
        for row in r[key]:
            share = f"{100 * row['outside_share']:.1f} %" if "outside_share" in row else "-"
            lines.append(f"{key:<11} {str(row['layers']):<16} {row['memristors']:>10} {row['samples_per_s']:>10.1f}"
                         f"  {share:>14}")
    lines.append(f"cost growth (time per sample ~ memristors^k): behavioral k = {r['behavioral_exponent']:.2f}, "
                 f"ngspice (batched) k = {r['ngspice_exponent']:.2f} (ngspice linear solver: {r['ngspice_solver']})")
    for row in r.get("parallel", []):
        pairs = ", ".join(f"{p['1']['samples_per_s']:.1f} -> {p['2']['samples_per_s']:.1f}" for p in row["runs"])
        lines.append(f"ngspice 64-32-10 (batched), batch {row['batch']}: 1 worker -> 2 workers (samples/s) {pairs}; "
                     f"speedup median x{row['median_speedup']:.2f} "
                     f"(runs: {', '.join(f'x{v:.2f}' for v in row['speedups'])})")
    if "memory" in r:
        m = r["memory"]
        lines.append(f"RSS over {m['batches']} batched analyses of {m['layers']} ({m['decks']} decks): "
                     f"{m['rss_start_mb']:.0f} -> {m['rss_end_mb']:.0f} MB ({m['growth_mb']:+.1f} MB)")
    lines.append(f"peak RSS: main {r['peak_rss_mb']['main']:.0f} MB, largest worker {r['peak_rss_mb']['largest_worker']:.0f} MB")
    return "\n".join(lines)
