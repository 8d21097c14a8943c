"""Reconstruction at three sizes (issue 18, item 1): the modern and the cue-trained Hopfield
baselines, the cue as initial state or as input current, the memristor networks without an input
crossbar, and the report and its command."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner

from memprop.cosim.learning import hopfield
from memprop.cosim.bench import recon_sizes as rs
from memprop.cosim.runs import reconstruction as rc
from memprop.cosim.cli import main
from memprop.cosim.data.datasets import binary_patterns, corrupt
from tests.errors import one_error_line


def _pm(x01: np.ndarray) -> np.ndarray:
    return 2 * x01 - 1


def _exact(recalled_pm: np.ndarray, patterns_pm: np.ndarray) -> float:
    return float(np.mean(np.all(np.sign(recalled_pm) == patterns_pm, axis=1)))


# ---- modern Hopfield ----

def test_modern_hopfield_recalls_from_mild_cues_and_fails_at_a_tiny_beta():
    patterns = binary_patterns("random", 40, 3)
    cues = _pm(corrupt(patterns, 0.1, seed=4))
    x = _pm(patterns)
    assert _exact(hopfield.modern_recall(x, cues, beta=1.0), x) == 1.0
    # beta -> 0: every update returns the mean of the stored patterns, whatever the cue
    low = hopfield.modern_recall(x, cues, beta=1e-4)
    assert _exact(low, x) < 0.1
    assert np.allclose(low, low[0], atol=1e-2)
    # cue as input current: start at 0, the cue added to every query
    assert _exact(hopfield.modern_recall(x, cues, beta=1.0, gain=1.0), x) == 1.0


def test_modern_update_is_a_convex_mixture_and_survives_a_huge_beta():
    x = _pm(binary_patterns("random", 5, 0))
    out = hopfield.modern_update(x, x[:2] + 0.1, beta=1e6)
    assert np.all(np.isfinite(out)) and np.array_equal(out, x[:2])
    mixed = hopfield.modern_update(x, np.zeros((1, 64)), beta=3.0)
    assert np.allclose(mixed, x.mean(axis=0))


# ---- cue-trained Hopfield and the cue as input current ----

def test_cue_trained_hopfield_beats_the_one_shot_rules_on_its_training_corruption():
    patterns = binary_patterns("random", 24, 5)
    settings = rc.ReconSettings(epochs=10, copies=4, min_cues=128, train_flip=0.2, train_flip_min=0.05)
    pairs = [rc.training_cues(patterns, settings, e) for e in range(settings.epochs)]
    w, b = hopfield.fit_to_cues(_pm(np.concatenate([c for c, _ in pairs])), _pm(np.concatenate([t for _, t in pairs])))
    assert np.allclose(w, w.T) and np.all(np.diag(w) == 0)
    test = rc.cue_set(patterns, "flip", 0.2, 8, seed=99)  # fresh held-out cues
    target = np.tile(patterns, (8, 1))
    trained = rc.score(hopfield.recall(w, _pm(test), 0, field=b) > 0, target).success
    for rule in ("hebbian", "pseudo-inverse"):
        untrained = rc.score(rc.hopfield_recall01(patterns, test, rule, 0), target).success
        assert trained > untrained + 0.1, (rule, trained, untrained)


def test_the_cue_as_input_current_pins_the_state_when_its_gain_dominates():
    patterns = binary_patterns("random", 8, 1)
    w = hopfield.store(_pm(patterns), "pseudo-inverse")
    cues = _pm(corrupt(patterns, 0.1, seed=2))
    start = np.zeros_like(cues)
    assert np.array_equal(hopfield.recall(w, start, 0, field=100.0 * cues), cues)  # the cue, errors and all
    assert _exact(hopfield.recall(w, start, 0, field=0.3 * cues), _pm(patterns)) == 1.0
    recall = rs.classical_recall(w, np.zeros(64), 0)
    assert np.array_equal(recall(corrupt(patterns, 0.1, seed=2), gain=100.0), corrupt(patterns, 0.1, seed=2))


def test_validation_picks_the_option_that_recalls():
    plan = replace(rs.sizes_plan(tiny=True), val_cues=64)
    point = rs.make_point("random", 16, 0, plan)
    assert not np.array_equal(point.val[0.1][:16], point.test[0.1][:16])  # another draw than the test
    chosen = rs.pick(rs.modern_recaller(point, 3), [{"beta": 1e-4}, {"beta": 1.0}], point, 0.1)
    assert chosen == {"beta": 1.0}


# ---- memristor networks without an input crossbar ----

def test_without_an_input_crossbar_the_cue_is_only_the_initial_state():
    patterns = binary_patterns("random", 6, 0)
    settings = rc.ReconSettings(hidden=0, epochs=0, cue_current=False, activation="smooth")
    net = rc.memristor_network(64, settings)
    assert net.n_inputs == 1
    with pytest.raises(ValueError, match="behavioural backend only"):
        rc.recon_engine("ngspice", net, settings)
    plan = rs.sizes_plan()  # the full plan's training cues: the warm start's Hopfield fit sees them all
    point = rs.make_point("random", 6, 0, plan)
    warm = rs.warm_start(point, plan, 0)
    net, states, _ = rc.train_memristor(patterns, settings, "rbp", init_weights=warm)
    cues = corrupt(patterns, 0.05, seed=3)
    warm_recall = rc.memristor_recall(net, states, cues, cue_current=False)
    # the Hopfield fixed points carry over to the analog network; a Glorot start forgets the cue
    assert rc.score(warm_recall, patterns).success == 1.0
    net, cold, _ = rc.train_memristor(patterns, settings, "rbp")
    assert rc.score(rc.memristor_recall(net, cold, cues, cue_current=False), patterns).success == 0.0


def test_network_sizes_state_the_counts():
    sizes = {s.key: rs.network_size(s) for s in rs.SIZES}
    assert sizes["mem-64-init"]["weights"] == 2016 + 64
    assert sizes["mem-64-current"]["weights"] == 2016 + 64 * 64 + 64
    assert sizes["mem-192-current"]["weights"] == 30816 and sizes["mem-192-current"]["neurons"] == 192


# ---- capacities and the report ----

def test_capacity_per_seed_is_literal_and_flags_the_top_of_the_grid():
    series = {4: {0.1: {"success": 1.0, "cosine": 1.0}}, 8: {0.1: {"success": 0.95, "cosine": 0.995}},
              16: {0.1: {"success": 0.5, "cosine": 0.991}}}
    assert rs.seed_capacity(series, 0.1, "success") == (8, False)
    assert rs.seed_capacity(series, 0.1, "cosine") == (16, True)


@pytest.mark.slow
def test_tiny_report_has_the_three_sizes_both_baselines_and_both_cue_modes(tmp_path):
    plan = rs.sizes_plan(tiny=True)
    res = rs.run_sizes(tmp_path, plan, log=lambda _m: None, command="memprop bench reconstruction --out X")
    report = (tmp_path / "report.md").read_text()
    for words in ("equal neurons", "equal synapses", "today's network", "modern Hopfield",
                  "trained on the corrupted cues", "cue as initial state", "cue as input current",
                  "`memprop bench reconstruction --out X`"):
        assert words in report, words
    assert (tmp_path / "capacity_random.png").is_file()
    assert rs.rewrite_report(tmp_path) == report  # results.json holds all the report says
    data = json.loads((tmp_path / "results.json").read_text())
    caps = data["kinds"]["random"]["capacity"]
    assert set(rs.method_keys(plan)) <= set(caps)
    top = max(rs.grid("random", plan))
    for key, by_flip in caps.items():
        for crit in by_flip["0.1"].values():
            assert len(crit["per_seed"]) == len(plan.seeds) and crit["mean"] == pytest.approx(np.mean(crit["per_seed"]))
            assert all(c <= top for c in crit["per_seed"])
    # a method's grid stops at the first P where it is below both thresholds at every flip level
    for key, per_seed in res["kinds"]["random"]["runs"].items():
        for series in per_seed.values():
            counts = sorted(series)
            assert all(rs.passes(series[c]) for c in counts[:-1]), key


@pytest.mark.parametrize("value", ["0", "2", "21", "x", "", "3.5"])
def test_a_bad_seed_count_is_one_clear_error_and_nothing_is_written(tmp_path, value):
    out = tmp_path / "rep"
    line = one_error_line(CliRunner().invoke(main, ["bench", "reconstruction", "--out", str(out), "--seeds", value]))
    assert line.startswith("memprop: error: --seeds: must be a whole number from 3 to 20, got")
    assert not out.exists()


def test_the_full_and_quick_plans_cover_the_issue():
    for plan in (rs.sizes_plan(), rs.sizes_plan(quick=True)):
        assert len(plan.seeds) >= 3 and plan.flips == (0.1, 0.2) and set(plan.kinds) == {"random", "digits"}
        assert {(s.hidden, s.cue_current) for s in plan.sizes} == {(0, True), (0, False), (128, True), (128, False)}
        for kind in plan.kinds:
            assert max(plan.wide_counts[kind]) > max(plan.counts[kind])
