"""Reconstruction at three network sizes side by side, against five Hopfield baselines (issue 18).

Every method sees the same stored patterns and the same held-out test cues, over several seeds;
the cue is given as the initial state and, separately, as a persistent input current. Capacity is
the largest stored-pattern count P with >= 90 % exact recall, and separately with mean cosine
>= 0.99; a method's grid (per seed) runs until it falls below both at every flip level.

Methods:
- classical Hopfield (Hebbian, pseudo-inverse, Storkey) and the cue-trained one
  (`hopfield.fit_to_cues` on exactly the corrupted cues the memristor networks train on);
- modern Hopfield (`hopfield.modern_recall`), beta (and the input gain) picked per P and flip
  level on validation cues drawn with another seed than the test cues;
- memristor networks (behavioural twin, RBP) at three sizes: 64 neurons without hidden units,
  with the cue as input currents (equal neurons) or as initial state only (no input crossbar:
  equal synapses), and today's 192-neuron network (cue as currents, and as initial state only).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from memprop.cosim.learning import hopfield
from memprop.cosim.runs import reconstruction as rc
from memprop.cosim.data.datasets import binary_patterns
from memprop.cosim.bench.reconstruction import LABELS, REFERENCE, THRESHOLD
from memprop.cosim.bench.reporting import (MAX_RESULTS_BYTES, Clock, Log, fmt_seconds, json_safe, pyplot, render,
                                          save_png, single_thread, write_results)
from memprop.cosim.runs.rundir import atomic_write

COSINE = 0.99
N = 64
CLASSICAL = ("hebbian", "pseudo-inverse", "storkey", "cue-trained")
MODES = ("init", "current")
MODE_LABELS = {"init": "cue as initial state", "current": "cue as input current"}


@dataclass(frozen=True)
class MemSize:
    """One memristor network: hidden units and how the cue enters."""

    key: str
    title: str
    hidden: int
    cue_current: bool


SIZES = (MemSize("mem-64-current", "equal neurons", 0, True),
         MemSize("mem-64-init", "equal synapses: no input crossbar", 0, False),
         MemSize("mem-192-current", "today's network", 128, True),
         MemSize("mem-192-init", "today's network without input crossbar", 128, False))


@dataclass(frozen=True)
class SizesPlan:
    """What the three-size reconstruction report measures."""

    kinds: tuple[str, ...] = ("random", "digits")
    flips: tuple[float, ...] = (0.1, 0.2)
    seeds: tuple[int, ...] = (0, 1, 2)
    #: P grid of every method; the memristor networks are trained at these only
    counts: dict[str, tuple[int, ...]] = field(default_factory=lambda: {
        "random": (8, 16, 24, 32, 48, 64, 128), "digits": (4, 8, 12, 16, 24, 32, 48, 64)})
    #: further P for the Hopfield baselines (cheap), so their grid too runs until they fall below
    wide_counts: dict[str, tuple[int, ...]] = field(default_factory=lambda: {
        "random": (192, 256, 384, 512, 1024, 2048, 4096, 8192),
        "digits": (96, 128, 192, 256, 384, 512, 768, 1024, 1500)})
    #: test cues per pattern and flip level (fewer at large P: at least max_test_cues in all)
    trials: int = 8
    max_test_cues: int = 1024
    #: validation cues (another seed) for the modern network's beta and every input gain
    val_cues: int = 256
    betas: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
    #: input gains, in units of the mean |local field| of the stored patterns (classical) or of 1
    gains: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
    modern_steps: int = 3
    rule: str = "rbp"
    sizes: tuple[MemSize, ...] = SIZES
    settings: rc.ReconSettings = rc.ReconSettings(hidden=128, epochs=30, lr=0.03, beta=0.3, batch_size=4,
                                                  copies=4, min_cues=128, train_flip=0.2, train_flip_min=0.05,
                                                  occlude_share=0.15, max_step=0.003, activation="smooth",
                                                  init_gain=0.3)
    label: str = "full"


def sizes_plan(quick: bool = False, tiny: bool = False, seeds: int = 3) -> SizesPlan:
    """The full sweep, a reduced one (--quick), or a seconds-long one for tests (tiny)."""
    base = SizesPlan(seeds=tuple(range(seeds)))
    if tiny:
        sizes = tuple(replace(s, hidden=min(s.hidden, 8)) for s in SIZES)
        return replace(base, kinds=("random",), counts={"random": (2, 4)}, wide_counts={"random": (8, 16)},
                       trials=2, max_test_cues=16, val_cues=16, betas=(0.01, 1.0), gains=(0.5,), sizes=sizes,
                       settings=replace(base.settings, epochs=2, min_cues=8, copies=1), label="tiny")
    if quick:
        return replace(base, counts={"random": (8, 16, 32, 64), "digits": (4, 8, 16, 32)},
                       wide_counts={"random": (128, 512, 2048), "digits": (64, 256, 1024)}, trials=4,
                       settings=replace(base.settings, epochs=10), label="quick")
    return base


# ---- one point: patterns, cues, methods ----

@dataclass
class Point:
    """Stored patterns of one (kind, seed, P) and their test and validation cues per flip level."""

    patterns: np.ndarray
    test: dict[float, np.ndarray]
    val: dict[float, np.ndarray]


def test_trials(plan: SizesPlan, count: int) -> int:
    return max(1, min(plan.trials, -(-plan.max_test_cues // count)))


def make_point(kind: str, count: int, seed: int, plan: SizesPlan) -> Point:
    """Patterns and cues; validation cues use another seed than the test cues (never the same draw)."""
    patterns = binary_patterns(kind, count, seed)
    t = test_trials(plan, count)
    test = {p: rc.cue_set(patterns, "flip", p, t, seed) for p in plan.flips}
    tv = -(-plan.val_cues // count)
    val = {p: rc.cue_set(patterns, "flip", p, tv, 10_000 + seed)[:plan.val_cues] for p in plan.flips}
    return Point(patterns, test, val)


def targets(point: Point, cues: np.ndarray) -> np.ndarray:
    return np.tile(point.patterns, (len(cues) // len(point.patterns), 1))


def val_targets(point: Point, cues: np.ndarray) -> np.ndarray:
    reps = -(-len(cues) // len(point.patterns))
    return np.tile(point.patterns, (reps, 1))[:len(cues)]


def scores(recalled01: np.ndarray, target01: np.ndarray) -> dict[str, float]:
    s = rc.score(recalled01, target01)
    return {"success": s.success, "bit_error_rate": s.bit_error_rate, "cosine": s.cosine}


def _better(a: dict[str, float], b: dict[str, float] | None) -> bool:
    """Validation order: exact recall first, then cosine; ties keep the earlier (smaller) setting."""
    return b is None or (a["success"], a["cosine"]) > (b["success"], b["cosine"])


def pick(recall: Callable[..., np.ndarray], options: list[dict[str, float]], point: Point,
         p: float) -> dict[str, float]:
    """The option (keyword arguments of recall) with the best validation score at flip level p."""
    best, best_score = options[0], None
    for opt in options:
        s = scores(recall(point.val[p], **opt), val_targets(point, point.val[p]))
        if _better(s, best_score):
            best, best_score = opt, s
    return best


# ---- classical and modern Hopfield recallers ({0,1} in and out) ----

def classical_weights(name: str, point: Point, plan: SizesPlan, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """W and thresholds b: a storage rule (b = 0), or the fit to the memristor nets' training cues."""
    if name != "cue-trained":
        return hopfield.store(2 * point.patterns - 1, name), np.zeros(N)
    settings = replace(plan.settings, seed=seed)
    pairs = [rc.training_cues(point.patterns, settings, e) for e in range(settings.epochs)]
    cues = np.concatenate([c for c, _ in pairs])
    clean = np.concatenate([t for _, t in pairs])
    return hopfield.fit_to_cues(2 * cues - 1, 2 * clean - 1)


def classical_recall(w: np.ndarray, b: np.ndarray, seed: int) -> Callable[..., np.ndarray]:
    """Recall from {0,1} cues: gain None = cue as initial state; a gain = start at 0, cue * gain
    added to every local field (a persistent input current)."""
    def recall(cues01: np.ndarray, gain: float | None = None) -> np.ndarray:
        c = 2 * cues01 - 1
        if gain is None:
            return (hopfield.recall(w, c, seed, field=b) > 0).astype(float)
        return (hopfield.recall(w, np.zeros_like(c), seed, field=b + gain * c) > 0).astype(float)
    return recall


def field_scale(w: np.ndarray, b: np.ndarray, patterns01: np.ndarray) -> float:
    """Mean |local field| of the stored patterns: the unit of the input gains (1 if it is 0)."""
    s = float(np.mean(np.abs((2 * patterns01 - 1) @ w + b)))
    return s if s > 0 else 1.0


def modern_recaller(point: Point, steps: int) -> Callable[..., np.ndarray]:
    x = 2 * point.patterns - 1

    def recall(cues01: np.ndarray, beta: float, gain: float | None = None) -> np.ndarray:
        chunks = [hopfield.modern_recall(x, 2 * cues01[i:i + 512] - 1, beta, steps, gain)
                  for i in range(0, len(cues01), 512)]  # bounded memory: 512 x P logits at a time
        return (np.concatenate(chunks) > 0).astype(float)
    return recall


def baseline_scores(name: str, point: Point, plan: SizesPlan, seed: int) -> dict[str, dict[str, Any]]:
    """Scores of one baseline at every flip level, per cue mode: {"init": {p: ...}, "current": {...}}."""
    out: dict[str, dict[str, Any]] = {m: {} for m in MODES}
    if name == "modern":
        recall = modern_recaller(point, plan.modern_steps)
        grids = {"init": [{"beta": b} for b in plan.betas],
                 "current": [{"beta": b, "gain": g} for b in plan.betas for g in plan.gains]}
    else:
        w, bias = classical_weights(name, point, plan, seed)
        recall, unit = classical_recall(w, bias, seed), field_scale(w, bias, point.patterns)
        grids = {"init": [{}], "current": [{"gain": g * unit} for g in plan.gains]}
    for mode, options in grids.items():
        for p in plan.flips:
            opt = pick(recall, options, point, p) if len(options) > 1 else options[0]
            out[mode][p] = {**scores(recall(point.test[p], **opt), targets(point, point.test[p])), **opt}
    return out


# ---- memristor networks ----

def memristor_scores(size: MemSize, point: Point, plan: SizesPlan, seed: int) -> tuple[dict[float, Any], dict]:
    """Train one memristor network (plan.rule, behavioural twin) and score it on the test cues."""
    settings = replace(plan.settings, hidden=size.hidden, cue_current=size.cue_current, seed=seed)
    warm = None if size.cue_current else warm_start(point, plan, seed)
    t0 = time.perf_counter()
    network, states, losses = rc.train_memristor(point.patterns, settings, plan.rule, init_weights=warm)
    train_s = time.perf_counter() - t0
    out = {}
    for p in plan.flips:
        rec = rc.memristor_recall(network, states, point.test[p], cue_current=size.cue_current)
        out[p] = scores(rec, targets(point, point.test[p]))
    return out, {"losses": losses, "seconds": train_s}


def warm_start(point: Point, plan: SizesPlan, seed: int) -> dict[str, np.ndarray]:
    """Visible-to-visible weights and visible biases of the cue-trained Hopfield network, in volts.

    Why: with the cue only as the initial state, a network started at small random weights has a
    single attractor; its equilibrium forgets the cue, so EP / RBP get no gradient towards recall.
    Hopfield's field h = W s + b with s = 2V - 1 becomes u - 0.5 = k h: weights 2kW, biases
    0.5 + k (b - W 1), k = 1 / mean |h| of the stored patterns (values past the device range clip).
    """
    w, b = classical_weights("cue-trained", point, plan, seed)
    k = 1.0 / field_scale(w, b, point.patterns)
    return {"o_o": 2 * k * w, "o_b": (0.5 + k * (b - w.sum(axis=1)))[:, None]}


def network_size(size: MemSize) -> dict[str, int]:
    """Neurons and the weights in use (recurrent, input crossbar, bias) of a memristor network.

    Without an input crossbar the network keeps one idle 0 V input line (its weights carry no
    current and get no update), counted in the memristors but not in the weights.
    """
    neurons = N + size.hidden
    recurrent = neurons * (neurons - 1) // 2
    lines = N if size.cue_current else 1
    inputs = neurons * N if size.cue_current else 0
    return {"neurons": neurons, "hidden": size.hidden, "recurrent": recurrent, "input": inputs,
            "bias": neurons, "weights": recurrent + inputs + neurons,
            "memristors": 2 * (2 * recurrent + neurons * lines + neurons)}


# ---- the sweep ----

BASELINES = CLASSICAL + ("modern",)
BASELINE_LABELS = {"hebbian": "Hopfield, Hebbian", "pseudo-inverse": "Hopfield, pseudo-inverse",
                   "storkey": "Hopfield, Storkey", "cue-trained": "Hopfield, trained on the corrupted cues",
                   "modern": "modern Hopfield (Ramsauer et al. 2020)"}


def method_keys(plan: SizesPlan) -> list[str]:
    return [f"{b}:{m}" for b in BASELINES for m in MODES] + [s.key for s in plan.sizes]


def method_label(key: str, plan: SizesPlan) -> str:
    if key == REFERENCE:
        return LABELS[REFERENCE]
    if ":" in key:
        base, mode = key.split(":")
        return f"{BASELINE_LABELS[base]}, {MODE_LABELS[mode]}"
    size = next(s for s in plan.sizes if s.key == key)
    return (f"memristor net {plan.rule.upper()}, {N + size.hidden} neurons ({size.hidden} hidden, {size.title}), "
            f"{MODE_LABELS['current' if size.cue_current else 'init']}")


def passes(by_flip: dict[float, dict[str, float]]) -> bool:
    """Still above either threshold at some flip level: the method's grid goes on."""
    return any(s["success"] >= THRESHOLD or s["cosine"] >= COSINE for s in by_flip.values())


def grid(kind: str, plan: SizesPlan) -> list[int]:
    counts = sorted(set(plan.counts[kind]) | set(plan.wide_counts.get(kind, ())))
    return [c for c in counts if kind != "digits" or c <= digit_limit()]


def digit_limit() -> int:
    """How many digit patterns binary_patterns can give (round-robin over the classes)."""
    from memprop.cosim.data.datasets import digits

    y = digits().y
    return min(10 * int(np.sum(y == c)) + c for c in range(10))


def sweep_seed(kind: str, seed: int, plan: SizesPlan, clock: Clock) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every method over the P grid for one seed; a method stops once it falls below everywhere.

    Returns (runs: method -> P -> flip -> scores, training: memristor key -> P -> losses, seconds).
    """
    runs: dict[str, dict[int, Any]] = {k: {} for k in method_keys(plan) + [REFERENCE]}
    training: dict[str, dict[int, Any]] = {s.key: {} for s in plan.sizes}
    for count in grid(kind, plan):
        alive = [k for k in runs if k == REFERENCE or not runs[k] or passes(runs[k][max(runs[k])])]
        point = make_point(kind, count, seed, plan)
        with clock.stage(f"{kind} seed {seed} P={count}: Hopfield baselines"):
            for base in BASELINES:
                if f"{base}:init" in alive or f"{base}:current" in alive:
                    for mode, by_flip in baseline_scores(base, point, plan, seed).items():
                        if f"{base}:{mode}" in alive:
                            runs[f"{base}:{mode}"][count] = by_flip
        if count not in plan.counts[kind]:
            continue
        runs[REFERENCE][count] = {p: scores(rc.nearest_pattern(point.patterns, c, seed), targets(point, c))
                                  for p, c in point.test.items()}
        for size in plan.sizes:
            if size.key in alive:
                with clock.stage(f"{kind} seed {seed} P={count}: train {size.key}"):
                    runs[size.key][count], training[size.key][count] = memristor_scores(size, point, plan, seed)
    return runs, training


# ---- capacities ----

def seed_capacity(series: dict[int, Any], p: float, metric: str) -> tuple[int, bool]:
    """(capacity, lower bound?) of one seed's series at flip level p, by exact recall or cosine."""
    threshold = THRESHOLD if metric == "success" else COSINE
    by_count = {c: v[p][metric] for c, v in series.items()}
    cap = rc.capacity(by_count, threshold)
    return cap, bool(by_count) and by_count[max(by_count)] >= threshold


def capacities(runs: dict[str, dict[int, dict[int, Any]]], plan: SizesPlan) -> dict[str, Any]:
    """Per method, flip level and criterion: the seeds' capacities, their mean and sample sd."""
    out: dict[str, Any] = {}
    for key, per_seed in runs.items():
        out[key] = {}
        for p in plan.flips:
            out[key][str(p)] = {}
            for metric, name in (("success", "exact"), ("cosine", "cosine")):
                caps = [seed_capacity(per_seed[s], p, metric) for s in plan.seeds]
                values = [c for c, _ in caps]
                out[key][str(p)][name] = {"per_seed": values, "mean": float(np.mean(values)),
                                          "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
                                          "lower_bound": any(lb for _, lb in caps)}
    return out


def run_sizes(out_dir: str | Path, plan: SizesPlan | None = None, log: Log = print,
              command: str = "memprop bench reconstruction") -> dict[str, Any]:
    """Run the three-size sweep and write report.md, capacity_*.png and results.json into out_dir."""
    plan = plan or sizes_plan()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    clock = Clock(log)
    log(f"reconstruction at three sizes ({plan.label}, seeds {list(plan.seeds)}) -> {out}")
    results: dict[str, Any] = {"plan": json_safe(asdict(plan)), "threshold": THRESHOLD, "cosine_threshold": COSINE,
                               "command": command, "labels": {k: method_label(k, plan) for k in
                                                              method_keys(plan) + [REFERENCE]},
                               "sizes": {s.key: network_size(s) for s in plan.sizes}, "kinds": {}}
    with single_thread():
        for kind in plan.kinds:
            results["kinds"][kind] = sweep_kind(kind, plan, clock)
    results["figures"] = [capacity_figure(kind, data, plan, out) for kind, data in results["kinds"].items()]
    return finish(out, results, plan, clock)


def finish(out: Path, results: dict[str, Any], plan: SizesPlan, clock: Clock) -> dict[str, Any]:
    """report.md with the stage times so far, then results.json with the final total."""
    results["seconds"] = {**clock.stages, "total": clock.total}
    atomic_write(out / "report.md", sizes_report(results, plan))
    results["seconds"]["total"] = clock.total
    write_results(out / "results.json", results)
    clock.log(f"done in {fmt_seconds(clock.total)}: {out / 'report.md'}")
    return results


def sweep_kind(kind: str, plan: SizesPlan, clock: Clock) -> dict[str, Any]:
    runs: dict[str, dict[int, Any]] = {}
    training: dict[str, dict[int, Any]] = {}
    for seed in plan.seeds:
        r, t = sweep_seed(kind, seed, plan, clock)
        for key, series in r.items():
            runs.setdefault(key, {})[seed] = series
        for key, series in t.items():
            training.setdefault(key, {})[seed] = series
    return {"runs": runs, "training": training, "capacity": capacities(runs, plan), "grid": grid(kind, plan)}


# ---- plot ----

def mean_curve(per_seed: dict[int, dict[int, Any]], p: float, metric: str) -> tuple[list[int], list[float]]:
    """Mean over the seeds that reached each P (a seed's grid stops once it falls below)."""
    counts = sorted({c for series in per_seed.values() for c in series})
    return counts, [float(np.mean([s[c][p][metric] for s in per_seed.values() if c in s])) for c in counts]


COLORS = {"hebbian": "tab:gray", "pseudo-inverse": "tab:blue", "storkey": "tab:cyan", "cue-trained": "tab:green",
          "modern": "tab:purple", "mem-64-current": "tab:orange", "mem-64-init": "gold",
          "mem-192-current": "tab:red", "mem-192-init": "tab:brown", REFERENCE: "black"}


def line_style(key: str) -> dict[str, Any]:
    """Colour per method, solid for the cue as input current, dashed for the cue as initial state;
    memristor networks drawn thicker with round markers."""
    mem = ":" not in key and key != REFERENCE
    return {"color": COLORS.get(key.split(":")[0], "k"), "ls": "--" if key.endswith("init") else "-",
            "marker": "o" if mem else ".", "lw": 2.0 if mem else 1.1, "ms": 4}


def capacity_figure(kind: str, data: dict[str, Any], plan: SizesPlan, out: Path) -> str:
    plt = pyplot()
    fig, axes = plt.subplots(1, len(plan.flips) + 1, figsize=(5.0 * len(plan.flips) + 4.6, 4.6), squeeze=False,
                             gridspec_kw={"width_ratios": [1.0] * len(plan.flips) + [0.95]})
    for ax, p in zip(axes[0], plan.flips):
        for key in report_keys(plan):
            xs, ys = mean_curve(data["runs"][key], p, "success")
            ax.plot(xs, [100 * y for y in ys], label=method_label(key, plan), **line_style(key))
        ax.axhline(100 * THRESHOLD, color="k", lw=0.5)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("stored patterns P")
        ax.set_ylabel("exact recall (%), mean over seeds")
        ax.set_title(f"{kind}, {int(round(p * N))} of {N} bits flipped (p = {p:g})", fontsize=9)
        ax.set_ylim(-3, 103)
    axes[0][-1].axis("off")  # the last panel holds the legend
    axes[0][-1].legend(*axes[0][0].get_legend_handles_labels(), loc="center left", fontsize=6.2, frameon=False)
    return save_png(fig, out / f"capacity_{kind}.png")


# ---- report ----

def cap_cell(c: dict[str, Any]) -> str:
    return f"{'≥ ' if c['lower_bound'] else ''}{c['mean']:.1f} ± {c['sd']:.1f}"


def size_cell(key: str, results: dict[str, Any]) -> str:
    """Neurons and weights of a method, as the sizes table states them."""
    if key in results["sizes"]:
        z = results["sizes"][key]
        parts = f"{z['recurrent']:,} recurrent" + (f" + {z['input']:,} input" if z["input"] else "") + f" + {z['bias']} bias"
        return f"{z['neurons']} neurons, {z['weights']:,} weights ({parts})"
    if key.startswith("modern"):
        return f"{N} neurons + the P stored patterns verbatim ({N}·P numbers)"
    extra = " + 64 thresholds" if key.startswith("cue-trained") else ""
    return f"{N} neurons, 2,016 weights{extra}" + (" + 1 gain" if key.endswith("current") else "")


def capacity_rows(data: dict[str, Any], results: dict[str, Any], plan: SizesPlan) -> list[list[str]]:
    rows = []
    for key in report_keys(plan):
        cap = data["capacity"][key]
        rows.append([results["labels"][key], size_cell(key, results) if key != REFERENCE else "–"]
                    + [cap_cell(cap[str(p)][m]) for p in plan.flips for m in ("exact", "cosine")])
    return rows


def verdict(data: dict[str, Any], plan: SizesPlan) -> list[str]:
    """Each memristor size against the best baseline by mean capacity (exact recall), per flip level:
    among all baselines, and among those of Hopfield's fixed size (all but the modern network)."""
    lines = []
    for p in plan.flips:
        for scope, keep in (("best baseline", lambda k: True), ("best 2,016-weight Hopfield", lambda k: "modern" not in k)):
            base = {k: data["capacity"][k][str(p)]["exact"]["mean"] for k in report_keys(plan) if ":" in k and keep(k)}
            best = max(base, key=base.get)
            lines.append(f"p = {p:g}, {scope}: {plan_label(best)} {base[best]:.1f}; " + "; ".join(
                compare(data, size, p, base[best]) for size in plan.sizes) + ".")
    return lines


def compare(data: dict[str, Any], size: MemSize, p: float, best: float) -> str:
    mine = data["capacity"][size.key][str(p)]["exact"]["mean"]
    word = "above" if mine > best else "equal to" if mine == best else "below"
    return f"{N + size.hidden} neurons, {size.title}: {mine:.1f} ({word} it)"


def plan_label(key: str) -> str:
    base, mode = key.split(":")
    return f"{BASELINE_LABELS[base]} ({MODE_LABELS[mode]})"


def report_keys(plan: SizesPlan) -> list[str]:
    """Report order: the baselines (each in both cue modes), the memristor networks, the reference."""
    return method_keys(plan) + [REFERENCE]


def success_rows(data: dict[str, Any], results: dict[str, Any], p: float, counts: list[int],
                 plan: SizesPlan) -> list[list[str]]:
    rows = []
    for key in report_keys(plan):
        xs, ys = mean_curve(data["runs"][key], p, "success")
        got = dict(zip(xs, ys))
        rows.append([results["labels"][key]] + [f"{100 * got[c]:.1f}" if c in got else "–" for c in counts])
    return rows


def seed_counts(per_seed: dict[int, dict[int, Any]]) -> list[int]:
    """Every P some seed reached, in order (a method's grid ends per seed)."""
    return sorted({c for series in per_seed.values() for c in series})


def chosen_rows(data: dict[str, Any], plan: SizesPlan, key: str, option: str) -> list[list[str]]:
    """The validation's choice (beta or gain) per P and flip level, over the seeds."""
    rows = []
    per_seed = data["runs"][key]
    for p in plan.flips:
        counts = seed_counts(per_seed)
        rows.append([f"p = {p:g}"] + [", ".join(f"{s[c][p][option]:.3g}" for s in per_seed.values() if c in s)
                                      for c in counts])
    return rows


def sizes_report(results: dict[str, Any], plan: SizesPlan) -> str:
    """The Markdown report (memprop/templates/reports/recon_sizes.md.j2)."""
    return render("recon_sizes.md.j2", r=results, plan=plan, threshold=THRESHOLD, cosine=COSINE,
                  capacity_rows=capacity_rows, verdict=verdict, success_rows=success_rows, chosen_rows=chosen_rows,
                  training_rows=training_rows, seed_counts=seed_counts, stage_totals=stage_totals)


def training_rows(data: dict[str, Any], results: dict[str, Any], plan: SizesPlan) -> list[list[str]]:
    rows = []
    for key in (s.key for s in plan.sizes):
        per_seed = data["training"][key]
        runs = [t for series in per_seed.values() for t in series.values()]
        first = per_seed[min(per_seed)]
        rows.append([results["labels"][key], len(runs), fmt_seconds(sum(t["seconds"] for t in runs)),
                     ", ".join(f"P={c}: {t['losses'][-1]:.3f}" for c, t in sorted(first.items()))])
    return rows


def stage_totals(seconds: dict[str, float]) -> dict[str, float]:
    """Stage times summed per pattern set and step ("random seed 0 P=8: train x" -> "random: train x")."""
    out: dict[str, float] = {}
    for name, value in seconds.items():
        head, _, step = name.partition(": ")
        key = f"{head.split(' seed ')[0]}: {step}" if step else name
        out[key] = out.get(key, 0.0) + value
    return out


def rewrite_report(out_dir: str | Path) -> str:
    """Render report.md again from a finished run's results.json (after a change to the wording)."""
    import json

    from memprop.cosim.data.files import read_bounded

    out = Path(out_dir)
    results = json.loads(read_bounded(out / "results.json", MAX_RESULTS_BYTES, "results"))
    raw = results["plan"]
    plan = SizesPlan(**{**raw, "sizes": tuple(MemSize(**z) for z in raw["sizes"]),
                        "settings": rc.ReconSettings(**raw["settings"]),
                        **{k: tuple(raw[k]) for k in ("kinds", "flips", "seeds", "betas", "gains")}})
    for data in results["kinds"].values():
        data["runs"] = {k: {int(s): {int(c): {float(p): v for p, v in by_p.items()} for c, by_p in series.items()}
                            for s, series in per_seed.items()} for k, per_seed in data["runs"].items()}
        data["training"] = {k: {int(s): {int(c): t for c, t in series.items()} for s, series in per_seed.items()}
                            for k, per_seed in data["training"].items()}
    results["figures"] = [capacity_figure(kind, results["kinds"][kind], plan, out) for kind in plan.kinds]
    text = sizes_report(results, plan)
    atomic_write(out / "report.md", text)
    return text
