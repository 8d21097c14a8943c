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
from memprop.circuits.validation import one_safe_line
from memprop.cosim.learning import hopfield
from memprop.cosim.runs import reconstruction as rc
from memprop.cosim.data.datasets import binary_patterns
from memprop.cosim.data.files import read_bounded
from memprop.cosim.runs.rundir import atomic_write

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


def _pct(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}"


def _md_table(header: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def _fmt_seconds(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


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
    log(f"reconstruction benchmark done in {_fmt_seconds(clock.total)}: {out / 'report.md'}")
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
    log(f"added P = {', '.join(map(str, counts))} to {kind} in {_fmt_seconds(clock.total)}: {out / 'report.md'}")
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
        line = ", ".join(f"{m} {_pct(curve[m].get(f'{count}:{plan.flips[0]}', {}).get('success'))} %"
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
    plt = _plt()
    figs: dict[str, list[str]] = {}
    for kind, data in results["kinds"].items():
        names = []
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
        names.append(_save(fig, out / f"success_vs_P_{kind}.png"))
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
        names.append(_save(fig, out / f"success_vs_p_{kind}.png"))
        if kind in examples:
            names.append(_example_figure(kind, examples[kind], out))
        elif (out / f"examples_{kind}.png").is_file():  # kept from the run that had the examples
            names.append(f"examples_{kind}.png")
        fig, ax = plt.subplots(figsize=(6.5, 3.6))
        for m, per_count in data["training"].items():
            color, _ = STYLE.get(m, ("k", "-"))
            for k, (count, tr) in enumerate(sorted(per_count.items(), key=lambda kv: int(kv[0]))):
                ax.plot(np.arange(1, len(tr["losses"]) + 1), tr["losses"], color=color,
                        alpha=0.35 + 0.65 * (k + 1) / len(per_count), lw=1,
                        label=f"{LABELS[m]}" if k == len(per_count) - 1 else None)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training cost ½‖V − pattern‖² per cue (V²)")
        ax.set_title(f"{kind}: training curves (one line per P; darker = larger P)", fontsize=9)
        ax.legend(fontsize=7)
        names.append(_save(fig, out / f"training_{kind}.png"))
        figs[kind] = names
    sp = results.get("spice_point")
    if sp:
        fig, ax = plt.subplots(figsize=(5, 3.4))
        for backend, style in (("behavioral", "o-"), ("ngspice", "x--")):
            losses = sp[backend]["losses"]
            ax.plot(np.arange(1, len(losses) + 1), losses, style, label=backend)
        ax.set_xlabel("epoch")
        ax.set_ylabel("training cost per cue (V²)")
        ax.set_title("EP training with ngspice in the loop vs the twin", fontsize=9)
        ax.legend()
        figs["spice"] = [_save(fig, out / "spice_vs_behavioral_training.png")]
    return figs


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

def _reconstruction_report(results: dict[str, Any], plan: ReconPlan, figures: dict[str, list[str]]) -> str:
    s = plan.settings
    size = results["sizes"]["memristor"]
    L: list[str] = []
    L.append("# Pattern reconstruction (associative memory): memristor networks vs Hopfield networks\n")
    L.append(f"Sweep: **{one_safe_line(plan.label)}**. Total runtime {_fmt_seconds(results['seconds']['total'])}. "
             f"Seeds fixed (patterns, cues, initial device states, training order).\n")
    L.append("## The task\n")
    L.append(
        "A network stores P binary patterns of 64 bits. It is then shown a *cue*: one of the stored "
        "patterns with some bits damaged, either by **flipping** a fraction p of its bits (exactly "
        "round(64 p) bits, chosen at random) or by **occlusion** (a contiguous block of bits — a band of "
        "rows in the 8×8 image — turned off). The network settles from the cue, and the recall counts as a "
        "**success** only when the settled pattern equals the stored one in every bit. We also report the "
        "**bit error rate** (fraction of wrong bits) and the **cosine similarity** between the recalled and "
        f"the stored pattern (in ±1 form). Each number is over {plan.trials} different cues of every "
        "stored pattern (P × trials cues). The **capacity** of a method is the largest P of the sweep at "
        f"which it still reaches ≥ {100 * THRESHOLD:.0f} % success.\n")
    L.append("Two pattern sets: **random** (each bit 0 or 1 with probability ½, independent) and **digits** "
             "(scikit-learn's 8×8 handwritten digits, thresholded at half intensity, taken round-robin over "
             "the classes; these are strongly correlated — many near-duplicates — which is hard for "
             "Hopfield rules).\n")
    L.append("## The methods\n")
    L.append(
        "* **Hopfield networks** (the conventional baselines): 64 binary ±1 neurons, all-to-all symmetric "
        "weights, no self-connections. The cue is the initial state; neurons update one at a time in a "
        "random order (fresh each sweep) to the sign of their input until nothing changes. Storage rules, "
        "each in its standard strongest form: **Hebbian** (W = Σ ξξᵀ/N), **pseudo-inverse** (projection "
        "rule W = X X⁺, which makes every pattern an exact fixed point; diagonal zeroed, which widens the "
        "basins), **Storkey** (incremental rule with local-field corrections, 1997).\n"
        f"* **Memristor networks**: analog neurons (integrator + smooth saturating stage, outputs 0–1 V) "
        f"whose synapses are pairs of VTEAM memristors (weight ∝ G⁺ − G⁻). {size['visible']} visible neurons "
        f"(they hold the reconstruction) plus {size['hidden']} hidden neurons, all connected to all "
        "symmetrically, and an input crossbar through which the cue enters as **input currents** "
        f"(0/1 V on {size['input_lines']} input lines). That is {size['neurons']} neurons and "
        f"{size['memristors']:,} memristors ({size['trainable_weights']:,} trainable weights). The network "
        "settles to its equilibrium (a DC operating point); the visible neurons are read at mid-rail.\n"
        "  Training: the clean pattern is the target of the visible neurons. **EP** (equilibrium "
        "propagation, symmetric nudging ±β) needs only the free and nudged equilibria of the circuit "
        "itself; **RBP** (recurrent back-propagation) computes the exact gradient with an adjoint (side) "
        "network. Every epoch draws fresh corrupted cues of every pattern.\n"
        f"* {LABELS[REFERENCE]}: compares the cue with every stored pattern and returns the closest one "
        "(Hamming distance). It is shown only as a reference for how recoverable the cues are at all.\n")
    L.append("Memristor training recipe (identical for every P and both pattern sets): "
             f"{s.hidden} hidden neurons, smooth activation, {s.epochs} epochs, max({s.copies}, ⌈{s.min_cues}/P⌉) "
             f"corrupted cues of every pattern per epoch (so even a small P gets ≥ {s.min_cues} cues, i.e. "
             f"≥ {s.min_cues // s.batch_size} weight updates, per epoch; {100 * (1 - s.occlude_share):.0f} % with a flip fraction drawn uniformly "
             f"in [{s.train_flip_min:g}, {s.train_flip:g}], {100 * s.occlude_share:.0f} % with a blank block of 10–40 % "
             f"of the bits), batches of {s.batch_size}, learning rate {s.lr:g}, each weight change limited to "
             f"±{s.max_step:g} per update (as bounded programming pulses would), β = {s.beta:g} (EP), Glorot "
             f"initial weights × {s.init_gain:g}, ideal device programming (clipped to the device range). "
             "Behavioural twin (numpy) for the sweep; one operating point is repeated with ngspice in the loop "
             "below.\n")
    L.append("Size, stated plainly: the Hopfield networks have 64 neurons and 2,016 weights; the memristor "
             "networks have more neurons (hidden units) and weights, and they are *trained* on corrupted "
             "cues, whereas Hopfield rules store the patterns in one shot. 'Same size' here means the same "
             "64-bit patterns and the same 64 visible neurons.\n")
    # capacity table
    L.append("## Capacity (largest P with ≥ 90 % exact reconstruction)\n")
    rows = []
    for kind, caps in results["capacity"].items():
        for m in results["methods"] + [REFERENCE]:
            cells = [kind, LABELS[m]]
            for p in plan.flips:
                c = caps[m][str(p)]
                cells.append(f"{c['capacity']}{' (≥, top of grid)' if c['at_grid_top'] else ''}")
            rows.append(cells)
    L.append(_md_table(["patterns", "method"] + [f"capacity at p = {p:g}" for p in plan.flips], rows))
    L.append("")
    acc = results["acceptance"]
    L.append(f"**Verdict at p = {acc['flip']:g}:** " + "; ".join(
        f"{kind}: best Hopfield {v['best_hopfield']}, " + ", ".join(
            f"{LABELS[f'memristor-{r}']} {v[f'memristor-{r}']} "
            f"({'above' if v[f'memristor-{r}_above_every_hopfield'] else 'NOT above'} every Hopfield rule)"
            for r in plan.rules) for kind, v in acc["kinds"].items()) + ".\n")
    L.append("Grid of P: " + "; ".join(f"{k}: {', '.join(map(str, d['counts']))}"
                                       for k, d in results["kinds"].items())
             + ". A capacity at the top of the grid is a lower bound. (For P ≥ 64 = N linearly independent "
             "patterns the pseudo-inverse projection is the identity, so with its diagonal zeroed W ≈ 0 and that "
             "network keeps no memory at all; that is the rule's own limit, P < N.)\n")
    # success tables
    for kind, data in results["kinds"].items():
        L.append(f"## {kind} patterns\n")
        for p in plan.flips:
            L.append(f"Success (%) vs P, {int(round(64 * p))} of 64 bits flipped (p = {p:g}); "
                     "in brackets: bit error rate (%)\n")
            header = ["method"] + [f"P={c}" for c in data["counts"]]
            rows = []
            for m in results["methods"] + [REFERENCE]:
                series = data["curve"][m]
                rows.append([LABELS[m]] + [f"{_pct(series[f'{c}:{p}']['success'])} "
                                           f"({100 * series[f'{c}:{p}']['bit_error_rate']:.1f})"
                                           if f"{c}:{p}" in series else "–" for c in data["counts"]])
            L.append(_md_table(header, rows))
            L.append("")
        names = figures.get(kind, [])
        for nm in names:
            if nm.startswith("success_vs_P"):
                L.append(f"![success vs P]({nm})\n")
        L.append(f"### Corruption sweep at P = {data['sweep_count']}\n")
        sweep = data["sweep"]
        keys = sorted({k for e in sweep.values() for k in e}, key=lambda k: (k.split(":")[0] != "flip", float(k.split(":")[1])))
        header = ["method"] + [(f"{int(round(64 * float(k.split(':')[1])))} flipped" if k.startswith("flip")
                                else f"{int(round(64 * float(k.split(':')[1])))}-bit block occluded") for k in keys]
        for metric, title in (("success", "success (%)"), ("bit_error_rate", "bit error rate (%)"),
                              ("cosine", "cosine similarity")):
            rows = []
            for m in _ordered(sweep):
                entry = sweep[m]
                if metric == "cosine":
                    rows.append([LABELS[m]] + [f"{entry[k][metric]:.3f}" if k in entry else "–" for k in keys])
                else:
                    rows.append([LABELS[m]] + [f"{100 * entry[k][metric]:.1f}" if k in entry else "–" for k in keys])
            L.append(f"{title}:\n")
            L.append(_md_table(header, rows))
            L.append("")
        for nm in names:
            if nm.startswith("success_vs_p"):
                L.append(f"![success vs p]({nm})\n")
            if nm.startswith("examples"):
                L.append("Example cues and reconstructions (8×8 images, black = 1):\n")
                L.append(f"![examples]({nm})\n")
            if nm.startswith("training"):
                L.append(f"![training curves]({nm})\n")
        rows = []
        for m, per_count in data["training"].items():
            total = sum(t["seconds"] for t in per_count.values())
            rows.append([LABELS[m], len(per_count), _fmt_seconds(total),
                         ", ".join(f"P={c}: {t['losses'][-1]:.3f}" for c, t in
                                   sorted(per_count.items(), key=lambda kv: int(kv[0])))])
        L.append("Training cost (behavioural twin):\n")
        L.append(_md_table(["method", "networks trained", "time", "final training cost per cue"], rows))
        L.append("")
    sp = results.get("spice_point")
    if sp:
        st = sp["settings"]
        L.append("## One operating point trained with ngspice in the loop\n")
        L.append(f"{sp['kind']} patterns, P = {sp['count']}, {sp['size']['neurons']} neurons ({st['hidden']} hidden), "
                 f"{sp['size']['memristors']:,} memristors, EP, {st['epochs']} epochs × {st['copies']} cues per "
                 "pattern. Once with every phase settled by ngspice (`.op` on one loaded deck; device "
                 "conductances changed by `alter` after each batch), once with the numpy twin, from the same "
                 f"initial devices and the same cues. Recall: {sp['cues']} cues with p = {sp['flip']:g}, each "
                 "network recalled by its own backend.\n")
        rows = []
        for backend in ("behavioral", "ngspice"):
            b = sp[backend]
            rows.append([backend, f"{b['losses'][-1]:.5f}", _pct(b["success"]), f"{100 * b['bit_error_rate']:.2f}",
                         f"{b['cosine']:.4f}", _fmt_seconds(b["train_seconds"]), f"{b['recall_seconds']:.1f} s"])
        L.append(_md_table(["backend", "final training cost", "recall success (%)", "BER (%)", "cosine",
                            "training time", "recall time"], rows))
        L.append("")
        ng = sp["ngspice"]["stats"]
        L.append(f"Largest weight difference between the two trained networks: {sp['max_weight_diff']:.2e} "
                 f"(weights up to {sp['max_weight']:.3f}); largest relative difference of the epoch costs: "
                 f"{sp['max_loss_rel_diff']:.2e}; identical recalled patterns: {100 * sp['recall_identical']:.1f} %. "
                 f"ngspice: {ng.get('analyses', 0)} `.op` analyses, {ng.get('restarts', 0)} restarts with "
                 f"initial guesses, largest deviation from the twin {ng.get('max_twin_diff_mv', 0):.1e} mV. "
                 f"**{'Agrees' if sp['agree'] else 'Does not agree'}** with its behavioural twin.\n")
        if "spice" in figures:
            L.append(f"![spice vs twin]({figures['spice'][0]})\n")
    L.append("## Runtimes\n")
    L.append("Summed over the sweep (every stage's own time is in results.json under `seconds`):\n")
    L.append(_md_table(["stage", "time"], [[k, _fmt_seconds(v)] for k, v in _stage_totals(results["seconds"]).items()]))
    L.append("\nReproduce: `memprop bench reconstruction --legacy --out DIR" + (" --quick" if plan.label == "quick" else "")
             + "` (raw figures in results.json).\n")
    return "\n".join(L)


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
    log(f"classification benchmark done in {_fmt_seconds(clock.total)}: {out / 'report.md'}")
    return results


def _classification_task(task: ClassTask, out: Path, clock: _Clock) -> dict[str, Any]:
    from memprop.cosim.config.config import parse
    from memprop.cosim.data.datasets import digits as load_digits
    from memprop.cosim.engines.perphase import NgspiceEngine
    from memprop.cosim.engines.twin import BehavioralEngine
    from memprop.cosim.runs.trainer import Trainer

    cfg = parse({"network": {"topology": "layered", "layers": list(task.layers)},
                 "train": {"rule": "ep", "backend": "behavioral", "epochs": task.epochs, "lr": list(task.lr),
                           "beta": task.beta, "batch_size": task.batch_size, "nudging": "symmetric",
                           "eval_size": task.eval_size, "checkpoint_every": 10**9,
                           "lr_schedule": task.lr_schedule, "momentum": task.momentum},
                 "data": {"dataset": task.dataset, "train_size": task.train_size, "validation": 0.1}},
                source=f"<bench {task.name}>")
    run_dir = out / "runs" / task.name
    with clock.stage(f"{task.name}: behavioural EP training ({task.epochs} epochs)"):
        trainer = Trainer(cfg, run_dir)
        rows = trainer.run()
    states = trainer.states
    network = trainer.network
    result: dict[str, Any] = {"layers": list(task.layers), "epochs": task.epochs, "rows": rows,
                              "train_images": len(trainer.splits.train.y), "memristors": network.n_devices,
                              "config": {"lr": list(task.lr), "beta": task.beta, "batch_size": task.batch_size},
                              "train_seconds": sum(r["seconds"] for r in rows), "spice": {}}
    clock.log(f"    {task.name}: final test accuracy (behavioural) {100 * rows[-1]['test_accuracy']:.2f} %")
    splits = trainer.splits
    lo, hi = network.neuron.v_low, network.neuron.v_high
    out_slice = network.output_slice()
    for set_label, which, size in task.spice_sets:
        if which == "all":
            data = load_digits()
        else:
            data = getattr(splits, which)
        if size:
            data = data.subset(np.arange(min(size, len(data.y))))
        x = lo + (hi - lo) * data.x
        with clock.stage(f"{task.name}: ngspice evaluation on {set_label} ({len(data.y)} images)"):
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
        pred_sp, pred_bh = np.argmax(v_sp, 1), np.argmax(v_bh, 1)
        acc_sp, acc_bh = float(np.mean(pred_sp == data.y)), float(np.mean(pred_bh == data.y))
        entry = {"images": len(data.y), "which": which, "ngspice_accuracy": acc_sp, "behavioral_accuracy": acc_bh,
                 "accuracy_gap_points": 100 * (acc_sp - acc_bh),
                 "same_prediction": float(np.mean(pred_sp == pred_bh)),
                 "max_output_diff_mv": float(np.max(np.abs(v_sp - v_bh)) * 1e3),
                 "deck_load_seconds": load_s, "ngspice_seconds": spice_s,
                 "ngspice_seconds_per_image": spice_s / max(len(data.y), 1),
                 "ngspice_op_seconds_per_image": engine.stats["analysis_seconds"] / max(engine.stats["analyses"], 1),
                 "behavioral_seconds": beh_s, "stats": dict(engine.stats)}
        result["spice"][set_label] = entry
        clock.log(f"    {task.name} {set_label}: ngspice {100 * acc_sp:.2f} % vs behavioural {100 * acc_bh:.2f} % "
                  f"({entry['ngspice_seconds_per_image'] * 1e3:.0f} ms/image in ngspice, "
                  f"{engine.stats['restarts']} restarts)")
    return result


def _classification_plots(results: dict[str, Any], out: Path) -> dict[str, str]:
    plt = _plt()
    figs = {}
    for name, t in results["tasks"].items():
        rows = t["rows"]
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
        ep = [r["epoch"] for r in rows]
        ax1.plot(ep, [r["train_loss"] for r in rows], "o-", label="train (free phase)")
        ax1.plot(ep, [r["test_loss"] for r in rows], "s--", label="test")
        ax1.set_xlabel("epoch")
        ax1.set_ylabel("cost ½‖V_out − y‖² (V²)")
        ax1.legend(fontsize=8)
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
    L = ["# Classification with memristor networks: behavioural training, ngspice evaluation\n"]
    L.append(f"Sweep: **{results['label']}**. Total runtime {_fmt_seconds(results['seconds']['total'])}. Seeds fixed.\n")
    L.append(
        "Each network is a layered memristor network (inputs → hidden layer ↔ output layer, symmetric "
        "feedback made of separate devices; every weight a pair of VTEAM memristors, W ∝ G⁺ − G⁻). It is "
        "trained with equilibrium propagation (EP, symmetric nudging) on the behavioural twin — the numpy "
        "model of the same circuit equations — because that is fast enough for full datasets. The trained "
        "device states are then written into an ngspice deck, loaded **once**, and every image is one `.op` "
        "analysis (only the input sources are changed between images with `alter`). The predicted class is "
        "the output neuron with the highest voltage. The same images are also classified by the twin, so "
        "the two accuracies are directly comparable; 'same prediction' is the fraction of images on which "
        "both backends pick the same class.\n")
    rows = []
    for name, t in results["tasks"].items():
        last = t["rows"][-1]
        for label, s in t["spice"].items():
            rows.append([name, "-".join(map(str, t["layers"])), f"{t['memristors']:,}", label, s["images"],
                         f"{100 * s['behavioral_accuracy']:.2f}", f"{100 * s['ngspice_accuracy']:.2f}",
                         f"{s['accuracy_gap_points']:+.2f}", f"{100 * s['same_prediction']:.2f}",
                         f"{s['max_output_diff_mv']:.1e}", f"{1e3 * s['ngspice_seconds_per_image']:.0f} ms"])
    L.append("## ngspice vs behavioural accuracy on the same images\n")
    L.append(_md_table(["dataset", "network", "memristors", "evaluated on", "images", "behavioural (%)", "ngspice (%)",
                        "gap (points)", "same prediction (%)", "max output diff (mV)", "ngspice time / image"],
                       rows))
    L.append("")
    verdict = []
    for name, per in results["acceptance"].items():
        for label, ok in per.items():
            verdict.append(f"{name}, {label}: {'within' if ok else 'NOT within'} 0.5 points")
    L.append("**Acceptance (ngspice within 0.5 points of behavioural on ≥ 1000 images):** "
             + ("; ".join(verdict) if verdict else "no evaluation set of ≥ 1000 images in this sweep") + ".\n")
    for name, t in results["tasks"].items():
        last = t["rows"][-1]
        L.append(f"## {name}\n")
        L.append(f"Network {'-'.join(map(str, t['layers']))}, {t['train_images']} training images, {t['epochs']} "
                 f"epochs, learning rates {t['config']['lr']}, β = {t['config']['beta']}, batches of "
                 f"{t['config']['batch_size']}; training time {_fmt_seconds(t['train_seconds'])}. Final behavioural "
                 f"test accuracy {100 * last['test_accuracy']:.2f} % (validation {100 * last['validation_accuracy']:.2f} %).\n")
        L.append(_md_table(["epoch", "train cost", "test cost", "test accuracy (%)", "validation accuracy (%)", "time"],
                           [[r["epoch"], f"{r['train_loss']:.4f}", f"{r['test_loss']:.4f}",
                             f"{100 * r['test_accuracy']:.2f}", f"{100 * r['validation_accuracy']:.2f}",
                             f"{r['seconds']:.1f} s"] for r in t["rows"]]))
        L.append("")
        for label, s in t["spice"].items():
            st = s["stats"]
            L.append(f"* ngspice on {label} ({s['images']} images): deck load {s['deck_load_seconds']:.1f} s, "
                     f"{st.get('analyses', 0)} `.op` analyses in {_fmt_seconds(s['ngspice_seconds'])} "
                     f"({1e3 * s['ngspice_op_seconds_per_image']:.0f} ms per `.op`, "
                     f"{1e3 * s['ngspice_seconds_per_image']:.0f} ms per image including the twin's reference "
                     f"solution used to check each `.op`), {st.get('restarts', 0)} restarts from initial guesses, "
                     f"{st.get('op_failures', 0)} failed `.op`; behavioural twin "
                     f"{_fmt_seconds(s['behavioral_seconds'])} for the same images.")
        L.append("")
        if name in figures:
            L.append(f"![accuracy curves]({figures[name]})\n")
    L.append("MNIST runs through the same code path (`load_splits('mnist', ...)`) given its IDX files; this "
             "machine has Fashion-MNIST only, so the 784-input benchmark is Fashion-MNIST.\n")
    L.append("## Runtimes\n")
    L.append(_md_table(["stage", "time"], [[k, _fmt_seconds(v)] for k, v in results["seconds"].items()]))
    L.append("\nReproduce: `memprop bench classification --out DIR" + (" --quick" if results["label"] == "quick" else "")
             + "` (raw figures in results.json; trained runs under runs/).\n")
    return "\n".join(L)
