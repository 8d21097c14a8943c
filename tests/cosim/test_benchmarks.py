"""The speed bench's measuring pieces, on small networks (the figures themselves live in bench runs)."""

from __future__ import annotations

import numpy as np
import pytest

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import layered_network
from memprop.circuits.neuron import Neuron
from memprop.cosim.benchmarks import _ep_steps, _exponent, format_speed
from memprop.cosim.engines import make_engine


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
    r = {"behavioral": [dict(row, samples_per_s=900.0)], "ngspice": [dict(row, outside_share=0.08)],
         "behavioral_exponent": 0.9, "ngspice_exponent": 1.4, "ngspice_solver": "sparse",
         "workers": {"1": {"samples_per_s": 10.0}, "2": {"samples_per_s": 19.0}}, "speedup_2_workers": 1.9,
         "parallel": [{"batch": 20, "runs": [{"1": {"samples_per_s": 10.0}, "2": {"samples_per_s": 19.0}},
                                             {"1": {"samples_per_s": 10.0}, "2": {"samples_per_s": 17.0}}],
                       "speedups": [1.9, 1.7], "median_speedup": 1.8}],
         "peak_rss_mb": {"main": 300.0, "largest_worker": 200.0},
         "digits_epoch": {"seconds": 60.0, "analysis_seconds": 55.0, "analyses": 4700, "batch_size": 10,
                          "outside_share": 1 - 55 / 60}}
    text = format_speed(r)
    for needle in ("8.0 %", "k = 0.90", "k = 1.40", "solver: sparse", "median x1.80", "x1.90, x1.70", "10.0 -> 19.0", "outside ngspice analyses 8.3 %",
                   "main 300 MB"):
        assert needle in text, needle


def test_parallel_scaling_pairs_serial_and_two_workers(ngspice):
    from memprop.cosim.benchmarks import parallel_scaling

    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (6, 4, 3))
    rows = parallel_scaling(net, batches=(4,), repeats=2, steps=1)
    assert [r["batch"] for r in rows] == [4] and len(rows[0]["runs"]) == 2
    for pair, ratio in zip(rows[0]["runs"], rows[0]["speedups"]):
        assert pair["2"]["analyses"] == pair["1"]["analyses"] == 4 * 3  # the workers really ran ngspice
        assert ratio == pytest.approx(pair["2"]["samples_per_s"] / pair["1"]["samples_per_s"])
    assert min(rows[0]["speedups"]) <= rows[0]["median_speedup"] <= max(rows[0]["speedups"])
