"""`memprop bench reconstruction --legacy`: associative memory at one network size.

Hopfield networks (Hebbian, pseudo-inverse, Storkey) against memristor recurrent networks trained
with EP and with RBP: success vs the number of stored patterns P and vs the corruption, capacity
per method, and one operating point trained with ngspice in the loop beside its behavioural twin.
The report directory holds report.md, PNG plots and results.json (every raw figure); seeds are
fixed, so a rerun reproduces the numbers (up to floating-point noise in ngspice).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from memprop.circuits.network import SynapseStates
from memprop.cosim.learning import hopfield
from memprop.cosim.runs import reconstruction as rc
from memprop.cosim.data.datasets import binary_patterns
from memprop.cosim.data.files import read_bounded
from memprop.cosim.runs.rundir import atomic_write
from memprop.cosim.bench.reporting import (MAX_RESULTS_BYTES, Clock, Log, fmt_seconds, json_safe, pct, pyplot, render,
                                          save_png, single_thread, write_results)

THRESHOLD = 0.9
HOPFIELD_LABELS = {"hebbian": "Hopfield, Hebbian", "pseudo-inverse": "Hopfield, pseudo-inverse",
                   "storkey": "Hopfield, Storkey"}
MEMRISTOR_LABELS = {"memristor-ep": "memristor net, EP", "memristor-rbp": "memristor net, RBP",
                    "memristor-ep-ic": "memristor net, EP, cue also as initial state"}
REFERENCE = "nearest-pattern"
LABELS = {**HOPFIELD_LABELS, **MEMRISTOR_LABELS, REFERENCE: "reference: nearest stored pattern (not a network)"}


@dataclass(frozen=True)
class SpicePoint:
    """The reconstruction operating point trained with ngspice in the loop (and its twin)."""

    kind: str = "random"
    count: int = 4
    settings: rc.ReconSettings = rc.ReconSettings(hidden=16, epochs=8, copies=4, batch_size=4, lr=0.05,
                                                  beta=0.3, activation="smooth", train_flip=0.2,
                                                  train_flip_min=0.05)
    flip: float = 0.1
    trials: int = 4


@dataclass(frozen=True)
class ReconPlan:
    """What a reconstruction report measures."""

    kinds: tuple[str, ...] = ("random", "digits")
    counts: dict[str, tuple[int, ...]] = field(default_factory=lambda: {
        "random": (4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 64, 96, 128),
        "digits": (4, 8, 12, 16, 20, 24, 32, 40, 48)})
    #: flip fractions of the capacity curves (success vs P)
    flips: tuple[float, ...] = (0.1, 0.2)
    #: the fixed P of the corruption sweeps (success vs p, occlusion, examples)
    sweep_count: int = 16
    sweep_flips: tuple[float, ...] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
    occlusions: tuple[float, ...] = (0.125, 0.25, 0.375)
    #: corrupted cues per stored pattern and corruption level
    trials: int = 8
    rules: tuple[str, ...] = ("ep", "rbp")
    #: also train EP with the cue as initial condition (behavioural only) at sweep_count
    cue_init: bool = True
    settings: rc.ReconSettings = rc.ReconSettings(hidden=128, epochs=80, lr=0.03, beta=0.3, batch_size=4,
                                                  copies=4, min_cues=128, train_flip=0.2, train_flip_min=0.05,
                                                  occlude_share=0.15, max_step=0.003, activation="smooth",
                                                  init_gain=0.3)
    spice: SpicePoint | None = SpicePoint()
    seed: int = 0
    label: str = "full"


def reconstruction_plan(quick: bool = False, tiny: bool = False) -> ReconPlan:
    """The full sweep, the reduced one (--quick), or a seconds-long one for tests (tiny)."""
    if tiny:
        return ReconPlan(kinds=("random",), counts={"random": (2, 4)}, sweep_count=4, sweep_flips=(0.0, 0.1, 0.2),
                         occlusions=(0.25,), trials=2, cue_init=False,
                         settings=replace(ReconPlan().settings, hidden=8, epochs=3, copies=1),
                         spice=SpicePoint(count=2, settings=replace(SpicePoint().settings, hidden=4, epochs=1,
                                                                    copies=1)),
                         label="tiny")
    if quick:
        return ReconPlan(counts={"random": (8, 16, 24, 32), "digits": (8, 12, 16, 24)}, sweep_count=16,
                         sweep_flips=(0.0, 0.1, 0.2, 0.3), occlusions=(0.25,), trials=4, cue_init=False,
                         settings=replace(ReconPlan().settings, epochs=25),
                         spice=SpicePoint(settings=replace(SpicePoint().settings, epochs=3)), label="quick")
    return ReconPlan()


def _evaluate(recall: Callable[[np.ndarray], np.ndarray], patterns: np.ndarray, cues: np.ndarray,
              trials: int) -> dict[str, float]:
    s = rc.score(recall(cues), np.tile(patterns, (trials, 1)))
    return {"success": s.success, "bit_error_rate": s.bit_error_rate, "cosine": s.cosine}


def _network_size(n: int, hidden: int) -> dict[str, int]:
    """Neurons and memristors of the memristor network (differential pairs, symmetric pairs both built)."""
    neurons = n + hidden
    pairs = neurons * (neurons - 1) + neurons * n + neurons  # recurrent (no self), input crossbar, bias
    return {"neurons": neurons, "visible": n, "hidden": hidden, "input_lines": n, "memristors": 2 * pairs,
            "trainable_weights": neurons * (neurons - 1) // 2 + neurons * n + neurons}


def run_reconstruction(out_dir: str | Path, quick: bool = False, *, tiny: bool = False,
                       plan: ReconPlan | None = None, log: Log = print) -> dict[str, Any]:
    """Run the reconstruction benchmark and write report.md, PNGs and results.json into out_dir.

    Returns the results dictionary (what results.json holds).
    """
    plan = plan or reconstruction_plan(quick, tiny)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    clock = Clock(log)
    log(f"reconstruction benchmark ({plan.label}) -> {out}")
    n = 64
    methods = list(hopfield.RULES) + [f"memristor-{r}" for r in plan.rules]
    results: dict[str, Any] = {
        "plan": json_safe(asdict(plan)), "threshold": THRESHOLD, "n_visible": n, "methods": methods,
        "labels": LABELS, "sizes": {"hopfield": {"neurons": n, "trainable_weights": n * (n - 1) // 2},
                                    "memristor": _network_size(n, plan.settings.hidden)},
        "kinds": {}, "capacity": {}, "seconds": {}}
    examples: dict[str, Any] = {}
    with single_thread():
        for kind in plan.kinds:
            results["kinds"][kind] = _reconstruction_kind(kind, plan, methods, clock, examples)
            results["capacity"][kind] = results["kinds"][kind]["capacity"]
        if plan.spice is not None:
            with clock.stage("ngspice-in-the-loop operating point"):
                results["spice_point"] = spice_operating_point(plan.spice, log)
    results["acceptance"] = _acceptance(results, plan)
    with clock.stage("plots and report"):
        figures = _reconstruction_plots(results, examples, plan, out)
        results["figures"] = figures
        results["seconds"] = {**clock.stages, "total": clock.total}
        atomic_write(out / "report.md", _reconstruction_report(results, plan, figures))
    results["seconds"]["total"] = clock.total
    write_results(out / "results.json", results)
    log(f"reconstruction benchmark done in {fmt_seconds(clock.total)}: {out / 'report.md'}")
    return results


def extend_reconstruction(out_dir: str | Path, kind: str, counts: tuple[int, ...], *,
                           log: Log = print) -> dict[str, Any]:
    """Add stored-pattern counts to a finished report (same recipe, seeds and cues) and rewrite it.

    Every P is measured independently of the others (nested pattern sets, cues seeded per P and
    level, a fresh network per P), so adding P values gives the same numbers a run with the
    larger grid would have given. The corruption sweep and examples are kept as they were.
    """
    out = Path(out_dir)
    results = json.loads(read_bounded(out / "results.json", MAX_RESULTS_BYTES, "results"))
    raw = results["plan"]
    settings = rc.ReconSettings(**raw["settings"])
    plan = ReconPlan(kinds=(kind,), counts={kind: tuple(counts)}, flips=tuple(raw["flips"]),
                     sweep_count=-1, trials=raw["trials"], rules=tuple(raw["rules"]), cue_init=False,
                     settings=settings, spice=None, seed=raw["seed"], label=raw["label"])
    clock = Clock(log)
    with single_thread():
        added = _reconstruction_kind(kind, plan, results["methods"], clock, {})
    data = results["kinds"][kind]
    data["counts"] = sorted(set(int(c) for c in data["counts"]) | set(counts))
    for m, series in added["curve"].items():
        data["curve"].setdefault(m, {}).update(series)
    for m, per in added["training"].items():
        data["training"].setdefault(m, {}).update(per)
    for m, sec in added["seconds"].items():
        data["seconds"][m] = data["seconds"].get(m, 0.0) + sec
    data["capacity"] = _capacities(data["curve"], data["counts"], plan.flips)
    results["capacity"][kind] = data["capacity"]
    results["plan"]["counts"][kind] = data["counts"]
    for name, value in clock.stages.items():
        results["seconds"][name] = results["seconds"].get(name, 0.0) + value
    results["seconds"]["total"] = results["seconds"].get("total", 0.0) + clock.total
    full_plan = replace(plan, kinds=tuple(results["kinds"]), spice=SpicePoint() if "spice_point" in results else None)
    results["acceptance"] = _acceptance(results, full_plan)
    results["figures"] = _reconstruction_plots(results, {}, full_plan, out)
    atomic_write(out / "report.md", _reconstruction_report(results, full_plan, results["figures"]))
    write_results(out / "results.json", results)
    log(f"added P = {', '.join(map(str, counts))} to {kind} in {fmt_seconds(clock.total)}: {out / 'report.md'}")
    return results


def _reconstruction_kind(kind: str, plan: ReconPlan, methods: list[str], clock: Clock,
                         examples: dict[str, Any]) -> dict[str, Any]:
    counts = sorted(set(plan.counts[kind]) | ({plan.sweep_count} if plan.sweep_count > 0 else set()))
    curve: dict[str, dict[str, dict[str, Any]]] = {m: {} for m in methods + [REFERENCE]}
    sweep: dict[str, dict[str, Any]] = {}
    training: dict[str, dict[str, Any]] = {}
    seconds: dict[str, float] = {m: 0.0 for m in methods}
    for count in counts:
        patterns = binary_patterns(kind, count, plan.seed)
        at_sweep = count == plan.sweep_count
        levels = [("flip", p) for p in plan.flips]
        if at_sweep:
            levels = sorted(set(levels) | {("flip", p) for p in plan.sweep_flips}
                            | {("occlude", f) for f in plan.occlusions})
        cues = {lv: rc.cue_set(patterns, lv[0], lv[1], plan.trials, plan.seed) for lv in levels}
        recallers: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
        with clock.stage(f"{kind} P={count}: Hopfield baselines"):
            for rule in hopfield.RULES:
                recallers[rule] = (lambda c, r=rule: rc.hopfield_recall01(patterns, c, r, plan.seed))
            recallers[REFERENCE] = lambda c: rc.nearest_pattern(patterns, c, plan.seed)
        trained: dict[str, tuple[Any, SynapseStates, rc.ReconSettings]] = {}
        variants = [(f"memristor-{r}", r, plan.settings) for r in plan.rules]
        if at_sweep and plan.cue_init and "ep" in plan.rules:
            variants.append(("memristor-ep-ic", "ep", replace(plan.settings, cue_init=True)))
        for name, rule, settings in variants:
            with clock.stage(f"{kind} P={count}: train {name}"):
                t0 = time.perf_counter()
                network, states, losses = rc.train_memristor(patterns, settings, rule)
                dt = time.perf_counter() - t0
            training.setdefault(name, {})[str(count)] = {"losses": losses, "seconds": dt,
                                                         "samples": settings.epochs * rc.copies_per_pattern(settings, count) * count}
            trained[name] = (network, states, settings)
            recallers[name] = (lambda c, nw=network, st=states, s=settings:
                               rc.memristor_recall(nw, st, c, cue_init=s.cue_init))
        for name, recall in recallers.items():
            t0 = time.perf_counter()
            for lv, c in cues.items():
                scores = _evaluate(recall, patterns, c, plan.trials)
                if lv[0] == "flip" and lv[1] in plan.flips and name in curve:
                    curve[name][f"{count}:{lv[1]}"] = scores
                if at_sweep:
                    sweep.setdefault(name, {})[f"{lv[0]}:{lv[1]}"] = scores
            if name in seconds:
                seconds[name] += time.perf_counter() - t0 + training.get(name, {}).get(str(count), {}).get("seconds", 0)
        if at_sweep:
            examples[kind] = _collect_examples(patterns, cues, recallers, plan)
        line = ", ".join(f"{m} {pct(curve[m].get(f'{count}:{plan.flips[0]}', {}).get('success'))} %"
                         for m in methods if f"{count}:{plan.flips[0]}" in curve[m])
        clock.log(f"    {kind} P={count} success at p={plan.flips[0]}: {line}")
    cap = _capacities(curve, counts, plan.flips)
    return {"counts": counts, "curve": curve, "sweep": sweep, "sweep_count": plan.sweep_count,
            "training": training, "seconds": seconds, "capacity": cap}


def _capacities(curve: dict[str, dict[str, Any]], counts: list[int], flips: tuple[float, ...]) -> dict[str, Any]:
    cap: dict[str, Any] = {}
    for m, series in curve.items():
        cap[m] = {}
        for p in flips:
            by_count = {int(c): series[f"{c}:{p}"]["success"] for c in counts if f"{c}:{p}" in series}
            cap[m][str(p)] = {"capacity": rc.capacity(by_count, THRESHOLD),
                              "at_grid_top": bool(by_count and by_count[max(by_count)] >= THRESHOLD),
                              "grid_top": max(by_count) if by_count else 0}
    return cap


def _collect_examples(patterns: np.ndarray, cues: dict, recallers: dict, plan: ReconPlan) -> dict[str, Any]:
    """A few cues and every method's reconstruction, for the example images."""
    pick = np.arange(min(6, len(patterns)))
    out: dict[str, Any] = {"patterns": patterns[pick], "rows": {}}
    wanted = [("flip", 0.1), ("flip", 0.2)] + [("occlude", f) for f in plan.occlusions[1:2] or plan.occlusions[:1]]
    for lv in wanted:
        if lv not in cues:
            continue
        c = cues[lv][pick]
        out["rows"][f"{lv[0]}:{lv[1]}"] = {"cues": c, **{m: r(c) for m, r in recallers.items()}}
    return out


def _acceptance(results: dict[str, Any], plan: ReconPlan) -> dict[str, Any]:
    p = str(plan.flips[0])
    verdict: dict[str, Any] = {"flip": plan.flips[0], "kinds": {}}
    for kind, caps in results["capacity"].items():
        best_hopfield = max(caps[r][p]["capacity"] for r in hopfield.RULES)
        row = {"best_hopfield": best_hopfield}
        for r in plan.rules:
            c = caps[f"memristor-{r}"][p]["capacity"]
            row[f"memristor-{r}"] = c
            row[f"memristor-{r}_above_every_hopfield"] = c > best_hopfield
        verdict["kinds"][kind] = row
    verdict["met"] = all(v for k in verdict["kinds"].values() for key, v in k.items() if key.endswith("_hopfield")
                         and isinstance(v, bool))
    return verdict


# ---- the ngspice-in-the-loop operating point ----

def spice_operating_point(point: SpicePoint, log: Log = print) -> dict[str, Any]:
    """Train the same small reconstruction network with ngspice in the loop and with the twin.

    Same patterns, initial states, cues and schedule; the ngspice run settles every phase with `.op`
    on one loaded deck (only `alter`s between analyses). Returns losses, weight differences and the
    recall scores of both (each recalled by its own backend), plus ngspice counters.
    """
    from memprop.circuits.network import conductances

    patterns = binary_patterns(point.kind, point.count, 1)
    cues = rc.cue_set(patterns, "flip", point.flip, point.trials, 1)
    out: dict[str, Any] = {"kind": point.kind, "count": point.count, "flip": point.flip,
                           "settings": asdict(point.settings), "cues": len(cues),
                           "size": _network_size(patterns.shape[1], point.settings.hidden)}
    weights = {}
    for backend in ("behavioral", "ngspice"):
        t0 = time.perf_counter()
        stats: dict[str, Any] = {}
        network, states, losses = rc.train_memristor(patterns, point.settings, "ep", backend=backend,
                                                     stats_out=stats)
        train_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        rec = rc.memristor_recall(network, states, cues, backend=backend)
        recall_s = time.perf_counter() - t1
        s = rc.score(rec, np.tile(patterns, (point.trials, 1)))
        g = conductances(network, states)
        weights[backend] = {b.name: network.neuron.r_f * (g[b.name][0] - g[b.name][1])
                            for b in network.crossbars if b.tied_to is None}
        out[backend] = {"losses": losses, "success": s.success, "bit_error_rate": s.bit_error_rate,
                        "cosine": s.cosine, "train_seconds": train_s, "recall_seconds": recall_s,
                        "recalled": rec, "stats": stats}
        log(f"    {backend}: train {train_s:.1f} s, loss {losses[-1]:.4f}, recall success "
            f"{100 * s.success:.1f} %, BER {100 * s.bit_error_rate:.2f} %")
    diffs = [np.max(np.abs(weights["ngspice"][k] - weights["behavioral"][k])) for k in weights["behavioral"]]
    scale = max(float(np.max(np.abs(w))) for w in weights["behavioral"].values())
    init = [np.max(np.abs(w)) for w in weights["behavioral"].values()]
    out["max_weight_diff"] = float(max(diffs))
    out["max_weight"] = scale
    out["max_init_weight"] = float(max(init))
    out["max_loss_rel_diff"] = float(max(abs(a - b) / max(abs(b), 1e-12) for a, b in
                                         zip(out["ngspice"]["losses"], out["behavioral"]["losses"])))
    out["recall_identical"] = float(np.mean(np.all(out["ngspice"]["recalled"] == out["behavioral"]["recalled"],
                                                   axis=1)))
    out["agree"] = bool(out["max_weight_diff"] < 1e-3 and out["max_loss_rel_diff"] < 1e-2
                        and out["recall_identical"] >= 0.99)
    for backend in ("behavioral", "ngspice"):
        out[backend].pop("recalled")
    return out


# ---- plots ----

def _ordered(by_method: dict[str, Any]) -> list[str]:
    """Methods in report order: Hopfield rules, memristor networks, then the reference decoder."""
    order = list(HOPFIELD_LABELS) + list(MEMRISTOR_LABELS) + [REFERENCE]
    return [m for m in order if m in by_method] + [m for m in by_method if m not in order]


STYLE = {"hebbian": ("tab:gray", "v--"), "pseudo-inverse": ("tab:blue", "s--"), "storkey": ("tab:cyan", "^--"),
         "memristor-ep": ("tab:red", "o-"), "memristor-rbp": ("tab:orange", "D-"),
         "memristor-ep-ic": ("tab:purple", "x-"), REFERENCE: ("black", ":")}


def _reconstruction_plots(results: dict[str, Any], examples: dict[str, Any], plan: ReconPlan,
                          out: Path) -> dict[str, list[str]]:
    """Every PNG of the report, by pattern set (and "spice"), in the order the report shows them."""
    figs: dict[str, list[str]] = {}
    for kind, data in results["kinds"].items():
        names = [_capacity_curves(kind, data, plan, out), _sweep_curves(kind, data, out)]
        if kind in examples:
            names.append(_example_figure(kind, examples[kind], out))
        elif (out / f"examples_{kind}.png").is_file():  # kept from the run that had the examples
            names.append(f"examples_{kind}.png")
        names.append(_training_curves(kind, data, out))
        figs[kind] = names
    if results.get("spice_point"):
        figs["spice"] = [_spice_training_curves(results["spice_point"], out)]
    return figs


def _capacity_curves(kind: str, data: dict[str, Any], plan: ReconPlan, out: Path) -> str:
    """Success vs the number of stored patterns P, one panel per flip level."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(plan.flips), figsize=(5.2 * len(plan.flips), 3.8), squeeze=False)
    for ax, p in zip(axes[0], plan.flips):
        for m, series in data["curve"].items():
            xs = [c for c in data["counts"] if f"{c}:{p}" in series]
            if not xs:
                continue
            color, style = STYLE.get(m, ("k", "-"))
            ax.plot(xs, [100 * series[f"{c}:{p}"]["success"] for c in xs], style, color=color,
                    label=LABELS[m], lw=1.0 if m == REFERENCE else 1.6, ms=4)
        ax.axhline(100 * THRESHOLD, color="k", lw=0.5)
        ax.set_xlabel("stored patterns P")
        ax.set_ylabel("success: exact reconstruction (%)")
        ax.set_title(f"{kind} patterns, 64 bits, {int(round(p * 64))} bits flipped (p = {p:g})", fontsize=9)
        ax.set_ylim(-3, 103)
    axes[0][0].legend(fontsize=7)
    return save_png(fig, out / f"success_vs_P_{kind}.png")


def _sweep_curves(kind: str, data: dict[str, Any], out: Path) -> str:
    """Success and bit error rate vs the flipped fraction p, at the sweep's P."""
    plt = pyplot()
    sweep = data["sweep"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for m in _ordered(sweep):
        entry = sweep[m]
        ps = sorted(float(k.split(":")[1]) for k in entry if k.startswith("flip:"))
        color, style = STYLE.get(m, ("k", "-"))
        ax1.plot(ps, [100 * entry[f"flip:{p}"]["success"] for p in ps], style, color=color, label=LABELS[m], ms=4)
        ax2.plot(ps, [100 * entry[f"flip:{p}"]["bit_error_rate"] for p in ps], style, color=color, ms=4)
    ax1.set_xlabel("fraction of bits flipped in the cue, p")
    ax1.set_ylabel("success (%)")
    ax1.set_ylim(-3, 103)
    ax1.legend(fontsize=7)
    ax2.set_xlabel("fraction of bits flipped in the cue, p")
    ax2.set_ylabel("bit error rate after recall (%)")
    fig.suptitle(f"{kind} patterns, P = {data['sweep_count']} stored", fontsize=10)
    return save_png(fig, out / f"success_vs_p_{kind}.png")


def _training_curves(kind: str, data: dict[str, Any], out: Path) -> str:
    """The training cost of every memristor network, one line per P (darker = larger P)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for m, per_count in data["training"].items():
        color, _ = STYLE.get(m, ("k", "-"))
        for k, (count, tr) in enumerate(_by_count(per_count)):
            ax.plot(np.arange(1, len(tr["losses"]) + 1), tr["losses"], color=color,
                    alpha=0.35 + 0.65 * (k + 1) / len(per_count), lw=1,
                    label=f"{LABELS[m]}" if k == len(per_count) - 1 else None)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training cost ½‖V − pattern‖² per cue (V²)")
    ax.set_title(f"{kind}: training curves (one line per P; darker = larger P)", fontsize=9)
    ax.legend(fontsize=7)
    return save_png(fig, out / f"training_{kind}.png")


def _spice_training_curves(sp: dict[str, Any], out: Path) -> str:
    """The operating point's training cost per epoch, ngspice in the loop beside the twin."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for backend, style in (("behavioral", "o-"), ("ngspice", "x--")):
        losses = sp[backend]["losses"]
        ax.plot(np.arange(1, len(losses) + 1), losses, style, label=backend)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training cost per cue (V²)")
    ax.set_title("EP training with ngspice in the loop vs the twin", fontsize=9)
    ax.legend()
    return save_png(fig, out / "spice_vs_behavioral_training.png")


def _example_figure(kind: str, ex: dict[str, Any], out: Path) -> str:
    plt = pyplot()
    rows_spec = [("stored pattern", ex["patterns"], "stored patterns")]
    for key, block in ex["rows"].items():
        corruption, level = key.split(":")
        title = (f"cues with {int(round(float(level) * 64))} bits flipped, and the recalls" if corruption == "flip"
                 else f"cues with a blank block of {int(round(float(level) * 64))} bits, and the recalls")
        rows_spec.append(("cue", block["cues"], title))
        for m in list(hopfield.RULES) + [k for k in MEMRISTOR_LABELS if k in block]:
            rows_spec.append((LABELS[m], block[m], title))
    cols = ex["patterns"].shape[0]
    fig, axes = plt.subplots(len(rows_spec), cols, figsize=(1.0 * cols + 2.6, 0.95 * len(rows_spec)), squeeze=False)
    previous = None
    for r, (label, imgs, title) in enumerate(rows_spec):
        for c in range(cols):
            ax = axes[r][c]
            img = imgs[c].reshape(8, 8)
            ok = label in ("stored pattern", "cue") or np.array_equal(imgs[c], ex["patterns"][c])
            ax.imshow(img, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if not ok:
                for spine in ax.spines.values():
                    spine.set_edgecolor("red")
                    spine.set_linewidth(2)
            if c == 0:
                ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=7)
        if title != previous:
            axes[r][0].set_title(title, fontsize=8, loc="left")
            previous = title
    fig.suptitle(f"{kind}: cues and reconstructions (red frame = not exactly the stored pattern)", fontsize=9)
    return save_png(fig, out / f"examples_{kind}.png")


# ---- report ----

def _stage_totals(seconds: dict[str, float]) -> dict[str, float]:
    """Per-P stage times summed per pattern set and step ("random P=8: train memristor-ep" ->
    "random: train memristor-ep")."""
    out: dict[str, float] = {}
    for name, value in seconds.items():
        head, _, step = name.partition(": ")
        key = f"{head.split(' P=')[0]}: {step}" if " P=" in head and step else name
        out[key] = out.get(key, 0.0) + value
    return out

def _sweep_columns(sweep: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """The corruption sweep's columns, flips before occlusions, each by level: (key, heading)."""
    keys = sorted({k for e in sweep.values() for k in e},
                  key=lambda k: (k.split(":")[0] != "flip", float(k.split(":")[1])))
    return [(k, f"{int(round(64 * float(k.split(':')[1])))} flipped" if k.startswith("flip")
             else f"{int(round(64 * float(k.split(':')[1])))}-bit block occluded") for k in keys]


def _by_count(per_count: dict[str, Any]) -> list[tuple[str, Any]]:
    """Per-P entries in the order of P (the keys are strings after a trip through results.json)."""
    return sorted(per_count.items(), key=lambda kv: int(kv[0]))


def _reconstruction_report(results: dict[str, Any], plan: ReconPlan, figures: dict[str, list[str]]) -> str:
    """The Markdown report (memprop/templates/reports/reconstruction.md.j2)."""
    return render("reconstruction.md.j2", r=results, plan=plan, figures=figures, labels=LABELS,
                  reference=REFERENCE, threshold=THRESHOLD, sweep_columns=_sweep_columns, ordered=_ordered,
                  by_count=_by_count, stage_totals=_stage_totals)
