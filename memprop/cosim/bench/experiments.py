"""The benchmark reports behind `memprop bench reconstruction` and `memprop bench classification`.

Each run writes a report directory: report.md (tables and plain-language explanations), PNG plots
and results.json (every raw figure). Seeds are fixed, so a rerun reproduces the numbers (up to
floating-point noise in ngspice). Runtimes are printed as the run goes and recorded in the report.

- run_reconstruction(out_dir, quick): associative memory. Hopfield networks (Hebbian,
  pseudo-inverse, Storkey) against memristor recurrent networks trained with EP and with RBP,
  success vs the number of stored patterns P and vs the corruption; capacity per method; one
  operating point trained with ngspice in the loop beside its behavioural twin.
- run_classification(out_dir, quick): 8x8 digits and Fashion-MNIST trained with EP on the
  behavioural twin, then the trained networks evaluated in ngspice (deck loaded once, one `.op` per
  image) beside the twin on the same >= 1000 images.
"""

from __future__ import annotations

import json
import math
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from memprop.circuits.network import SynapseStates
from memprop.cosim.learning import hopfield
from memprop.cosim.runs import reconstruction as rc
from memprop.cosim.data.datasets import binary_patterns
from memprop.cosim.data.files import read_bounded
from memprop.cosim.runs.rundir import atomic_write
from memprop.cosim.bench.reporting import fmt_seconds, pct, render

Log = Callable[[str], Any]

THRESHOLD = 0.9
#: results.json of a benchmark is a few megabytes.
MAX_RESULTS_BYTES = 256 * 2**20
HOPFIELD_LABELS = {"hebbian": "Hopfield, Hebbian", "pseudo-inverse": "Hopfield, pseudo-inverse",
                   "storkey": "Hopfield, Storkey"}
MEMRISTOR_LABELS = {"memristor-ep": "memristor net, EP", "memristor-rbp": "memristor net, RBP",
                    "memristor-ep-ic": "memristor net, EP, cue also as initial state"}
REFERENCE = "nearest-pattern"
LABELS = {**HOPFIELD_LABELS, **MEMRISTOR_LABELS, REFERENCE: "reference: nearest stored pattern (not a network)"}


@contextmanager
def _single_thread() -> Iterator[None]:
    """One BLAS thread: the matrices are small, and on a shared 2-core machine threads only contend."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        yield
        return
    with threadpool_limits(1):
        yield


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    return obj


def _write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(_jsonable(data), indent=1, sort_keys=True) + "\n")


class _Clock:
    """Wall-clock timer per stage, printed as it goes."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self.t0 = time.perf_counter()
        self.stages: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        self.log(f"[{time.perf_counter() - self.t0:7.1f} s] {name} ...")
        try:
            yield
        finally:
            dt = time.perf_counter() - t
            self.stages[name] = self.stages.get(name, 0.0) + dt
            self.log(f"[{time.perf_counter() - self.t0:7.1f} s] {name}: {dt:.1f} s")

    @property
    def total(self) -> float:
        return time.perf_counter() - self.t0


# =====================================================================================================
# Reconstruction
# =====================================================================================================

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
    clock = _Clock(log)
    log(f"reconstruction benchmark ({plan.label}) -> {out}")
    n = 64
    methods = list(hopfield.RULES) + [f"memristor-{r}" for r in plan.rules]
    results: dict[str, Any] = {
        "plan": _jsonable(asdict(plan)), "threshold": THRESHOLD, "n_visible": n, "methods": methods,
        "labels": LABELS, "sizes": {"hopfield": {"neurons": n, "trainable_weights": n * (n - 1) // 2},
                                    "memristor": _network_size(n, plan.settings.hidden)},
        "kinds": {}, "capacity": {}, "seconds": {}}
    examples: dict[str, Any] = {}
    with _single_thread():
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
    _write_json(out / "results.json", results)
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
    clock = _Clock(log)
    with _single_thread():
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
    _write_json(out / "results.json", results)
    log(f"added P = {', '.join(map(str, counts))} to {kind} in {fmt_seconds(clock.total)}: {out / 'report.md'}")
    return results


def _reconstruction_kind(kind: str, plan: ReconPlan, methods: list[str], clock: _Clock,
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


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> str:
    from memprop.cosim.runs.plots import save_figure

    return save_figure(fig, path).name


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
    plt = _plt()
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
    return _save(fig, out / f"success_vs_P_{kind}.png")


def _sweep_curves(kind: str, data: dict[str, Any], out: Path) -> str:
    """Success and bit error rate vs the flipped fraction p, at the sweep's P."""
    plt = _plt()
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
    return _save(fig, out / f"success_vs_p_{kind}.png")


def _training_curves(kind: str, data: dict[str, Any], out: Path) -> str:
    """The training cost of every memristor network, one line per P (darker = larger P)."""
    plt = _plt()
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
    return _save(fig, out / f"training_{kind}.png")


def _spice_training_curves(sp: dict[str, Any], out: Path) -> str:
    """The operating point's training cost per epoch, ngspice in the loop beside the twin."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for backend, style in (("behavioral", "o-"), ("ngspice", "x--")):
        losses = sp[backend]["losses"]
        ax.plot(np.arange(1, len(losses) + 1), losses, style, label=backend)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training cost per cue (V²)")
    ax.set_title("EP training with ngspice in the loop vs the twin", fontsize=9)
    ax.legend()
    return _save(fig, out / "spice_vs_behavioral_training.png")


def _example_figure(kind: str, ex: dict[str, Any], out: Path) -> str:
    plt = _plt()
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
    return _save(fig, out / f"examples_{kind}.png")


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


# =====================================================================================================
# Classification
# =====================================================================================================

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
    clock = _Clock(log)
    label = "tiny" if tiny else ("quick" if quick else "full")
    log(f"classification benchmark ({label}) -> {out}")
    results: dict[str, Any] = {"label": label, "tasks": {}}
    with _single_thread():
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
    _write_json(out / "results.json", results)
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


def _classification_task(task: ClassTask, out: Path, clock: _Clock) -> dict[str, Any]:
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


def _spice_evaluation(network: Any, states: SynapseStates, data: Any, stage: str, clock: _Clock) -> dict[str, Any]:
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

    plt = _plt()
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
        figs[name] = _save(fig, out / f"accuracy_{name}.png")
    return figs


def _classification_report(results: dict[str, Any], figures: dict[str, str]) -> str:
    """The Markdown report (memprop/templates/reports/classification.md.j2)."""
    verdicts = [(name, label, ok) for name, per in results["acceptance"].items() for label, ok in per.items()]
    return render("classification.md.j2", r=results, figures=figures, verdicts=verdicts)
