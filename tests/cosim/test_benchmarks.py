"""The speed bench's measuring pieces, on small networks (the figures themselves live in bench runs)."""

from __future__ import annotations

import numpy as np
import pytest

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import layered_network
from memprop.circuits.neuron import Neuron
from memprop.cosim.bench.speed import _ep_steps, _exponent, format_speed
from memprop.cosim.engines.factory import make_engine


def test_cost_exponent_recovers_a_power_law():
    devices = [100, 1000, 10_000, 100_000]
    assert _exponent(devices, [3e-6 * d ** 1.3 for d in devices]) == pytest.approx(1.3)
    assert np.isnan(_exponent([10], [1.0]))


@pytest.mark.parametrize("backend", ["behavioral", "ngspice"])
def test_ep_steps_time_whole_steps_and_count_analyses(ngspice, backend):
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (6, 4, 3))
    engine = make_engine(backend, net)
    try:
        r = _ep_steps(net, engine, batches=2, batch=3)
    finally:
        engine.close()
    assert r["samples"] == 6 and r["samples_per_s"] == pytest.approx(6 / r["seconds"])
    if backend == "ngspice":
        assert r["analyses"] == 2 * 3 * 3  # timed batches x samples x (free, +beta, -beta); warm-up excluded
        assert 0.0 < r["outside_share"] < 1.0
    else:
        assert "outside_share" not in r


def test_format_speed_reports_every_figure():
    row = {"layers": [64, 32, 10], "memristors": 4736, "samples_per_s": 12.5}
    epoch = {"seconds": 40.0, "batch_size": 10, "test_accuracy": 0.9, "outside_share": 0.05}
    r = {"behavioral": [dict(row, samples_per_s=900.0)], "ngspice": [dict(row, outside_share=0.08)],
         "behavioral_exponent": 0.9, "ngspice_exponent": 1.4, "ngspice_solver": "sparse",
         "points": [{"layers": [64, 32, 10], "memristors": 5460, "sweep_point_s": 0.001, "op_s": 0.0095, "ratio": 9.5,
                     "deck_and_first_point_s": 0.12}],
         "epochs": {"runs": [{"per-phase": epoch, "sweep": dict(epoch, seconds=10.0, outside_share=0.09),
                              "tran": dict(epoch, seconds=70.0, max_twin_diff_mv=0.4)}],
                    "median_speedup": 4.0, "median_tran_ratio": 7.0},
         "transient": {"layers": [64, 32, 10], "memristors": 5460, "read_phase_s": 0.01, "dynamic_phase_s": 15.0,
                       "ratio": 1500.0, "dynamic_time_points": 125, "dynamic_ms_per_point": 52.5,
                       "dynamic_max_twin_diff_mv": 0.42},
         "updates": [{"layers": [64, 32, 10], "memristors": 5460, "alters": 5376, "alter_s": 0.03,
                      "alter_us_each": 5.6, "reload_s": 0.08, "choice": "alter"}],
         "parallel": [{"batch": 20, "runs": [{"1": {"samples_per_s": 10.0}, "2": {"samples_per_s": 19.0}},
                                             {"1": {"samples_per_s": 10.0}, "2": {"samples_per_s": 17.0}}],
                       "speedups": [1.9, 1.7], "median_speedup": 1.8}],
         "memory": {"layers": [784, 100, 10], "batches": 200, "rss_start_mb": 400.0, "rss_end_mb": 403.0,
                    "growth_mb": 3.0, "decks": 5},
         "peak_rss_mb": {"main": 300.0, "largest_worker": 200.0}}
    text = format_speed(r)
    for needle in ("8.0 %", "k = 0.90", "k = 1.40", "solver: sparse", "median x1.80", "x1.90, x1.70", "10.0 -> 19.0",
                   "main 300 MB", "sweep point     1.00 ms", "x9.5", "per-phase 40.0 s, batched 10.0 s (x4.00)",
                   "outside ngspice 5.0 % / 9.0 %", "epoch speedup median x4.00", "5.6 us each", "-> alter",
                   "400 -> 403 MB (+3.0 MB)", "70.0 s = x7.0 the batched op epoch", "tran/op median x7.0",
                   "batched read form 10.0 ms, per-phase dynamic form 15.0 s (x1500; 52.5 ms per time point, "
                   "125 points for 3 phases, within 0.42 mV of the twin)"):
        assert needle in text, needle


def test_point_cost_and_device_update_cost_measure_both_ways(ngspice):
    from memprop.cosim.bench.speed import device_update_cost, point_cost

    p = point_cost((6, 4, 3), sweep_points=6, ops=3)
    assert p["memristors"] == 2 * (4 * 6 + 3 * 4 * 2 + 4 + 3) and p["ratio"] == pytest.approx(p["op_s"] / p["sweep_point_s"])
    assert 0 < p["sweep_point_s"] and 0 < p["op_s"] and p["deck_and_first_point_s"] > p["sweep_point_s"]
    u = device_update_cost((6, 4, 3))
    # every device whose state differs between the two initial states is re-written (the bias
    # pairs start at W = 0 in both: 7 pairs, 14 devices)
    assert u["alters"] == u["memristors"] - 14
    assert u["alter_s"] > 0 and u["reload_s"] > 0 and u["choice"] in ("alter", "reload")


def test_parallel_scaling_pairs_serial_and_two_workers(ngspice):
    from memprop.cosim.bench.speed import parallel_scaling

    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (6, 4, 3))
    rows = parallel_scaling(net, batches=(4,), repeats=2, steps=1)
    assert [r["batch"] for r in rows] == [4] and len(rows[0]["runs"]) == 2
    for pair, ratio in zip(rows[0]["runs"], rows[0]["speedups"]):
        assert pair["2"]["analyses"] == pair["1"]["analyses"] == 4 * 3  # the workers really ran ngspice
        assert ratio == pytest.approx(pair["2"]["samples_per_s"] / pair["1"]["samples_per_s"])
    assert min(rows[0]["speedups"]) <= rows[0]["median_speedup"] <= max(rows[0]["speedups"])


def test_transient_cost_times_the_read_and_the_dynamic_form(ngspice):
    from memprop.cosim.bench.speed import transient_cost

    r = transient_cost((6, 4, 3), batches=2, batch=2)
    assert r["read_phase_s"] > 0 and r["dynamic_phase_s"] > 0
    assert r["ratio"] == pytest.approx(r["dynamic_phase_s"] / r["read_phase_s"])
    # three phases of 20 tau with steps of at most a tenth of a phase: at least 10 points each
    assert r["dynamic_time_points"] >= 30 and r["dynamic_ms_per_point"] > 0
    assert np.isfinite(r["dynamic_max_twin_diff_mv"])


def test_scale_run_compares_ngspice_and_behavioural_weights_and_projects_the_epoch(ngspice):
    import tomllib

    from memprop.cosim.bench.speed import format_scale, scale_run
    from memprop.cosim.config.config import parse

    cfg = parse(tomllib.loads('[network]\nlayers = [64, 8, 10]\n[data]\nvalidation = 0.0\n'
                              '[train]\nbatch_size = 10\ncheckpoint_every = 1000\n'))
    r = scale_run(cfg, samples=30, test_images=10)
    assert r["samples"] == 30 and r["epoch_samples"] > 1000  # the whole digits training split
    assert r["projected_epoch_hours"] == pytest.approx(r["seconds_per_sample"] * r["epoch_samples"] / 3600)
    assert 0 < r["weight_rel_diff"] < 1e-6  # ngspice's equilibria equal the twin's: so do the weights
    assert r["ngspice"]["points"] == 30 * 3 + 10 and r["ngspice"]["sweep_fallbacks"] == 0
    assert "max |dW| / max |W|" in format_scale(r)
