"""Sweep decks: tables of a swept index, the flat device layout, and decks that run as-is."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import glorot_states, layered_network
from memprop.circuits.neuron import Neuron
from memprop.circuits.validation import ConfigError
from memprop.netgen.deck import render
from memprop.netgen.sweep import PAIRS_PER_LINE, PointTables, breakpoints, concatenate, phase_points, pwl


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0, 1e-7]), min_size=1, max_size=60))
def test_breakpoints_hold_every_value_exactly_at_every_point(values):
    values = np.array(values)
    idx, vals = breakpoints(values)
    assert len(idx) >= 2 and np.all(np.diff(idx) > 0)
    at = np.interp(np.arange(len(values)), idx, vals)
    assert np.array_equal(at, values)
    runs = 1 + int(np.sum(values[1:] != values[:-1]))
    assert len(idx) <= 2 * runs  # both ends of every run of equal values, no more


def test_pwl_text_is_split_into_short_continuation_lines():
    text = pwl(np.arange(200) % 3 / 2, "idx")
    lines = text.split("\n")
    assert text.startswith("pwl(V(idx), 0, 0, 1, 0.5, 2, 1,")
    assert all(ln.startswith("+ ") for ln in lines[1:]) and len(lines) > 1
    assert max(ln.count(",") for ln in lines) <= 2 * PAIRS_PER_LINE + 1


def test_phase_points_are_sample_major():
    x = np.array([[0.1, 0.2], [0.3, 0.4]])
    t = phase_points(x, np.eye(2), [0.0, 0.5, -0.5])
    assert t.points == 6
    assert np.array_equal(t.inputs[:3], np.repeat(x[:1], 3, axis=0)) and np.array_equal(t.inputs[3:, 0], [0.3] * 3)
    assert np.array_equal(t.beta, [0.0, 0.5, -0.5] * 2)
    both = concatenate([t, phase_points(x[:1], None, [0.0])])
    assert both.points == 7 and both.targets is None


@pytest.mark.parametrize("bad", [
    lambda: PointTables(np.array([[np.nan]]), None, np.zeros(1)),
    lambda: PointTables(np.zeros((2, 3)), np.zeros((3, 1)), np.zeros(2)),
    lambda: PointTables(np.zeros((2, 3)), None, np.zeros(3)),
    lambda: PointTables(np.zeros((0, 3)), None, np.zeros(0)),
])
def test_bad_tables_are_clear_errors(bad):
    with pytest.raises(ConfigError):
        bad()


def _net():
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (6, 4, 3))
    return net, glorot_states(net, 3, gain=0.5)


def test_tables_must_fit_the_network():
    net, states = _net()
    with pytest.raises(ConfigError, match="input columns"):
        render(net, states, tables=phase_points(np.zeros((2, 5)), None, [0.0]))
    with pytest.raises(ConfigError, match="needs sweep tables"):
        render(net, states, analysis="dc")


@pytest.mark.parametrize("option", ["reltol=1e-6\n.control", "shell=1", "reltol=abc", "re ltol=1", "method=euler",
                                    "method=gear\n.control", "method=1"])
def test_options_reaching_the_deck_are_validated(option):
    net, states = _net()
    with pytest.raises(ConfigError, match="numeric simulator option"):
        render(net, states, options=[option])


def test_a_deck_may_name_its_integration_method():
    net, states = _net()
    assert ".options trtol=20 method=gear" in render(net, states, options=["trtol=20", "method=gear"]).text


def _printed(stdout: str, column: int) -> list[float]:
    rows = [ln.split() for ln in stdout.splitlines() if re.match(r"^\d+\t", ln)]
    return [float(r[column]) for r in rows]


def test_a_sweep_deck_runs_as_is_in_ngspice_batch_and_equals_cold_ops(tmp_path, ngspice):
    """`ngspice -b` of a flat sweep deck prints, point by point, what separate .ops give."""
    net, states = _net()
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1, (3, 6)), np.eye(3)[[0, 2, 1]]
    betas = [0.0, 0.4, -0.4]
    deck = render(net.with_beta(0.4), states, tables=phase_points(x, y, betas), nudge=True, analysis="dc", flat=True,
                  options=["reltol=1e-6", "vntol=1e-9"])
    path = tmp_path / "sweep.cir"
    path.write_text(deck.text)
    result = subprocess.run(["ngspice", "-b", str(path)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    swept = _printed(result.stdout, 2)  # v(l2_000_v), the first output
    assert len(swept) == 9
    for k, value in enumerate(swept):
        i, p = divmod(k, 3)
        cold = render(net.with_beta(betas[p]), states, inputs=x[i], targets=y[i], nudge=True, analysis="none")
        ngspice.load(cold.text)
        plot = ngspice.op()
        assert abs(value - ngspice.vector(plot, "l2_000_v")[0]) <= 1e-6  # printed with 7 digits


def test_flat_and_subcircuit_layouts_are_the_same_circuit(ngspice):
    net, states = _net()
    x = np.random.default_rng(1).uniform(0, 1, 6)
    out = []
    for flat in (False, True):
        deck = render(net, states, inputs=x, analysis="none", flat=flat)
        ngspice.load(deck.text)
        plot = ngspice.op()
        out.append([ngspice.vector(plot, f"l{g}_{k:03d}_v")[0] for g, n in ((1, 4), (2, 3)) for k in range(n)])
        assert ("diffpair kp=" in deck.text) != flat and (re.search(r"^rs_l1_x_000_000_p ", deck.text, re.M) is not None) == flat
    assert np.max(np.abs(np.subtract(*out))) <= 1e-12


def test_flat_layout_writes_each_column_together():
    """Column by column, all G+ of a column before its G- (the memory order ngspice walks)."""
    net, states = _net()
    text = render(net, states, analysis="none", flat=True).text
    first = [ln.split()[0] for ln in text.splitlines() if ln.startswith("rs_l1_x_")][:8]
    assert first == ["rs_l1_x_000_000_p", "rs_l1_x_001_000_p", "rs_l1_x_002_000_p", "rs_l1_x_003_000_p",
                     "rs_l1_x_000_000_m", "rs_l1_x_001_000_m", "rs_l1_x_002_000_m", "rs_l1_x_003_000_m"]
