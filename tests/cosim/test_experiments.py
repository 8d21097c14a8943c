"""Reconstruction and classification benchmarks: Hopfield baselines, capacity, corruptions, tiny
report runs, and ngspice-in-the-loop reconstruction training against its behavioural twin.

Everything is tiny (a few patterns, one epoch, a few dozen ngspice analyses): well under a minute.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from memprop.cosim.learning import hopfield
from memprop.cosim.runs import reconstruction as rc
from memprop.cosim.data.datasets import binary_patterns, corrupt
from memprop.cosim.bench.classification import classification_plan, run_classification
from memprop.cosim.bench.reconstruction import (SpicePoint, extend_reconstruction, reconstruction_plan, run_reconstruction,
                                                spice_operating_point)


def _pm(patterns01: np.ndarray) -> np.ndarray:
    return 2 * patterns01 - 1


# ---- Hopfield baselines ----

def test_hebbian_recalls_three_random_patterns_from_light_corruption():
    patterns = binary_patterns("random", 3, seed=5)
    w = hopfield.store(_pm(patterns), "hebbian")
    assert np.allclose(np.diag(w), 0) and np.allclose(w, w.T)
    cues = np.concatenate([corrupt(patterns, 0.05, seed=s) for s in range(5)])  # 3 of 64 bits flipped
    recalled = hopfield.recall(w, _pm(cues), seed=0)
    assert np.array_equal(recalled, np.tile(_pm(patterns), (5, 1)))


def test_pseudo_inverse_stores_exact_fixed_points_beyond_hebbian_capacity():
    patterns = _pm(binary_patterns("random", 24, seed=1))
    w = hopfield.store(patterns, "pseudo-inverse")
    assert all(hopfield.is_fixed_point(w, p) for p in patterns)
    assert np.array_equal(hopfield.recall(w, patterns, seed=0), patterns)
    # without zeroing the diagonal it is the orthogonal projection onto the patterns' span
    proj = patterns.T @ np.linalg.pinv(patterns.T)
    assert np.allclose(proj @ patterns.T, patterns.T)
    assert np.allclose(w, proj - np.diag(np.diag(proj)))
    hebb = hopfield.store(patterns, "hebbian")
    assert not all(hopfield.is_fixed_point(hebb, p) for p in patterns)


def _storkey_reference(patterns: np.ndarray) -> np.ndarray:
    """Storkey (1997) written out element by element: w_ij += (x_i x_j - x_i h_ji - h_ij x_j) / n,
    h_ij = sum_{k != i, j} w_ik x_k, all from the weights before this pattern; zero diagonal."""
    p, n = patterns.shape
    w = np.zeros((n, n))
    for x in patterns:
        h = np.zeros((n, n))
        for i in range(n):
            for j in range(n):
                h[i, j] = sum(w[i, k] * x[k] for k in range(n) if k != i and k != j)
        new = w.copy()
        for i in range(n):
            for j in range(n):
                if i != j:
                    new[i, j] = w[i, j] + (x[i] * x[j] - x[i] * h[j, i] - h[i, j] * x[j]) / n
        w = new
    return w


def test_storkey_matches_the_element_by_element_rule():
    rng = np.random.default_rng(3)
    patterns = np.where(rng.random((4, 7)) < 0.5, -1.0, 1.0)
    assert np.allclose(hopfield.store(patterns, "storkey"), _storkey_reference(patterns))


def test_recall_is_asynchronous_to_a_fixed_point_and_zero_field_keeps_state():
    patterns = _pm(binary_patterns("random", 10, seed=2))
    w = hopfield.store(patterns, "storkey")
    cues = _pm(corrupt((patterns + 1) / 2, 0.2, seed=4))
    out = hopfield.recall(w, cues, seed=1)
    for s in out:
        assert hopfield.is_fixed_point(w, s)
    # one cue alone gives a +-1 vector too
    assert set(np.unique(hopfield.recall(w, cues[0], seed=1))) <= {-1.0, 1.0}
    assert np.array_equal(hopfield.recall(np.zeros((3, 3)), np.array([[1.0, -1.0, 1.0]]), 0), [[1.0, -1.0, 1.0]])


def test_unknown_rule_is_rejected():
    with pytest.raises(ValueError):
        hopfield.store(np.ones((1, 4)), "oja")


# ---- scores, capacity, corruptions ----

def test_score_success_bit_errors_and_cosine():
    t = np.array([[1, 0, 1, 0], [1, 1, 0, 0]], dtype=float)
    r = np.array([[1, 0, 1, 0], [1, 1, 0, 1]], dtype=float)
    s = rc.score(r, t)
    assert s.success == 0.5
    assert s.bit_error_rate == pytest.approx(1 / 8)
    assert s.cosine == pytest.approx((1.0 + 0.5) / 2)


def test_capacity_is_the_largest_count_at_or_above_threshold():
    assert rc.capacity({4: 1.0, 8: 0.95, 12: 0.85, 16: 0.7}) == 8
    assert rc.capacity({4: 1.0, 8: 0.9}) == 8  # the threshold itself passes
    assert rc.capacity({4: 0.5, 8: 0.1}) == 0
    assert rc.capacity({4: 1.0, 8: 0.8, 12: 0.92}) == 12  # literal definition, non-monotone curve
    assert rc.capacity({}) == 0
    assert rc.capacity({4: 0.8, 8: 0.6}, threshold=0.75) == 4


def test_flip_corruption_flips_exactly_round_pn_bits():
    patterns = binary_patterns("random", 6, seed=0)
    cues = corrupt(patterns, 0.1, seed=3)
    assert np.all((cues != patterns).sum(1) == 6)
    assert np.array_equal(cues, corrupt(patterns, 0.1, seed=3))


def test_occlusion_blanks_one_contiguous_block():
    patterns = np.ones((20, 64))
    cues = rc.occlude(patterns, 0.25, seed=1)
    for row in cues:
        off = np.nonzero(row == 0)[0]
        assert len(off) == 16 and off[-1] - off[0] == 15
    rnd = rc.occlude(np.zeros((50, 64)), 0.25, seed=1, fill="random")
    assert 0 < rnd.mean() < 0.25


def test_cue_sets_are_shared_by_methods_and_nested_over_p():
    small, large = binary_patterns("random", 4, 0), binary_patterns("random", 8, 0)
    assert np.array_equal(small, large[:4])
    a = rc.cue_set(small, "flip", 0.1, 3, seed=0)
    assert a.shape == (12, 64) and np.array_equal(a, rc.cue_set(small, "flip", 0.1, 3, seed=0))
    occ = rc.cue_set(small, "occlude", 0.25, 2, seed=0)
    assert np.all(occ <= np.tile(small, (2, 1)))  # occlusion only turns bits off


def test_nearest_pattern_reference_decoder():
    patterns = binary_patterns("random", 10, 0)
    cues = corrupt(patterns, 0.1, seed=1)
    assert np.array_equal(rc.nearest_pattern(patterns, cues), patterns)


def test_training_cues_follow_the_schedule():
    patterns = binary_patterns("random", 5, 0)
    s = rc.ReconSettings(copies=3, train_flip=0.2, train_flip_min=0.05, occlude_share=0.0)
    cues, targets = rc.training_cues(patterns, s, epoch=0)
    assert cues.shape == (15, 64)
    flips = (cues != targets).sum(1)
    assert flips.min() >= 3 and flips.max() <= 13
    assert sorted(map(tuple, targets)) == sorted(map(tuple, np.tile(patterns, (3, 1))))
    c2, _ = rc.training_cues(patterns, s, epoch=1)
    assert not np.array_equal(cues, c2)  # fresh corruptions every epoch


def test_memristor_training_lowers_the_cost_and_cue_init_recall_runs():
    patterns = binary_patterns("random", 3, 0)
    s = rc.ReconSettings(hidden=8, epochs=6, copies=4, batch_size=4, beta=0.3, activation="smooth",
                         train_flip=0.1)
    for rule in ("ep", "rbp"):
        net, states, losses = rc.train_memristor(patterns, s, rule)
        assert losses[-1] < 0.5 * losses[0]
    out = rc.memristor_recall(net, states, patterns, cue_init=True)
    assert out.shape == patterns.shape and set(np.unique(out)) <= {0.0, 1.0}
    with pytest.raises(ValueError):
        rc.recon_engine("ngspice", net, replace(s, cue_init=True))


# ---- reports ----

@pytest.mark.slow
def test_tiny_reconstruction_report(tmp_path):
    plan = replace(reconstruction_plan(tiny=True), spice=None)
    res = run_reconstruction(tmp_path, plan=plan, log=lambda _m: None)
    for name in ("report.md", "results.json", "success_vs_P_random.png", "success_vs_p_random.png",
                 "examples_random.png", "training_random.png"):
        assert (tmp_path / name).is_file(), name
    data = json.loads((tmp_path / "results.json").read_text())
    caps = data["capacity"]["random"]
    for m in ("hebbian", "pseudo-inverse", "storkey", "memristor-ep", "memristor-rbp"):
        assert isinstance(caps[m]["0.1"]["capacity"], int)
    assert caps["pseudo-inverse"]["0.1"]["capacity"] == 4  # 2 or 4 random patterns: trivially stored
    assert data["acceptance"]["kinds"]["random"]["best_hopfield"] == 4
    assert res["capacity"] == data["capacity"]
    report = (tmp_path / "report.md").read_text()
    assert "Capacity" in report and "pseudo-inverse" in report
    # adding a P later gives the report the larger grid, the earlier measurements untouched
    before = data["kinds"]["random"]["curve"]["pseudo-inverse"]
    ext = extend_reconstruction(tmp_path, "random", (6,), log=lambda _m: None)
    assert ext["kinds"]["random"]["counts"] == [2, 4, 6]
    after = json.loads((tmp_path / "results.json").read_text())["kinds"]["random"]["curve"]["pseudo-inverse"]
    assert {k: v for k, v in after.items() if not k.startswith("6:")} == before
    assert "P=6" in (tmp_path / "report.md").read_text()


def test_quick_and_full_plans_cover_the_issue():
    full, quick = reconstruction_plan(), reconstruction_plan(quick=True)
    for plan in (full, quick):
        assert plan.flips == (0.1, 0.2) and set(plan.kinds) == {"random", "digits"}
        assert plan.spice is not None and set(plan.rules) == {"ep", "rbp"}
    tasks = {t.name: t for t in classification_plan()}
    assert tasks["digits"].layers[0] == 64 and tasks["fashion-mnist"].layers[0] == 784
    assert any(s[2] == 0 and s[1] == "all" for s in tasks["digits"].spice_sets)
    assert tasks["fashion-mnist"].spice_sets[0][2] >= 1000
    assert any(s[1] == "all" for s in {t.name: t for t in classification_plan(quick=True)}["digits"].spice_sets)


def test_reconstruction_trained_in_ngspice_agrees_with_its_twin():
    point = SpicePoint(count=2, settings=replace(SpicePoint().settings, hidden=4, epochs=1, copies=2))
    res = spice_operating_point(point, log=lambda _m: None)
    assert res["agree"]
    assert res["max_weight_diff"] < 1e-6
    assert res["ngspice"]["stats"]["analyses"] == 3 * 4  # 4 cues (2 patterns x 2 copies), free, +beta, -beta
    assert res["ngspice"]["success"] == res["behavioral"]["success"]
    assert res["ngspice"]["losses"] == pytest.approx(res["behavioral"]["losses"], rel=1e-6)


def test_tiny_classification_report(tmp_path):
    res = run_classification(tmp_path, tiny=True, log=lambda _m: None)
    for name in ("report.md", "results.json", "accuracy_digits.png"):
        assert (tmp_path / name).is_file(), name
    entry = res["tasks"]["digits"]["spice"]["test"]
    assert entry["images"] == 40
    assert entry["same_prediction"] == 1.0 and abs(entry["accuracy_gap_points"]) < 1e-9
    assert entry["stats"]["analyses"] == 40
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["tasks"]["digits"]["spice"]["test"]["images"] == 40
