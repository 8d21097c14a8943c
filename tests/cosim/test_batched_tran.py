"""Transient phases batched into one paused-and-resumed `.tran`, devices in their read form where
no device can move: against the per-phase transients with live state equations, and the twin."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import glorot_states, layered_network
from memprop.circuits.neuron import Neuron
from memprop.cosim.engines.batched import BatchedTransientEngine
from memprop.cosim.engines.perphase import NgspiceEngine
from memprop.cosim.engines.factory import make_engine
from tests.cosim.batches import random_batches as _batches, train_phases as _run


def test_batched_read_form_transients_equal_per_phase_dynamic_transients(ngspice):
    """Two batches in one `.tran` (devices as resistors, re-programmed at the pause between them)
    against every phase its own `.tran` with the VTEAM state equations live: the same phase ends."""
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (8, 4, 2))
    batches = _batches(net, 2, 2)
    states = [glorot_states(net, k, gain=0.5) for k in range(2)]
    batched = BatchedTransientEngine(net, settle_time=20.0)
    got = _run(batched, batches, states)
    dynamic = NgspiceEngine(net, analysis="tran", settle_time=20.0)
    ref = _run(dynamic, batches, states)
    for a, b in zip(got, ref):
        for pa, pb in zip(a, b):
            assert np.max(np.abs(pa.v - pb.v)) < 1e-3
    # one deck for both batches (a reload of it after a failed first start, which ngspice's history
    # from an earlier failed analysis can cause, is counted apart)
    assert batched.stats["chunks"] - batched.stats["sweep_reloads"] == 1, str(batched.stats)
    assert batched.stats["dynamic_batches"] == 0
    assert batched.stats["late_checks"] == 2 and 0 < batched.stats["max_twin_diff_mv"] <= 1.0
    # the nudged phases really moved the outputs
    out = net.output_slice()
    assert np.max(np.abs(got[0][1].v[:, out] - got[0][0].v[:, out])) > 1e-3


def test_every_transient_phase_ends_within_a_millivolt_of_the_twin_transient(ngspice):
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (64, 16, 10))
    batches = _batches(net, 3, 5)
    engine = BatchedTransientEngine(net)
    _run(engine, batches, [glorot_states(net, k, gain=0.5) for k in range(3)])
    assert engine.stats["late_checks"] == 3 and engine.stats["points"] == 3 * 5 * 3
    assert engine.stats["max_twin_diff_mv"] <= 1.0 and engine.stats["twin_disagreements"] == 0


def test_a_phase_that_settles_elsewhere_than_the_twin_is_counted(ngspice):
    """Strongly coupled (Glorot gain 2), the network has several equilibria and ngspice's
    transient may settle into another one than the twin's from the same start: that must show in
    the counters (and so in the metrics), not pass as agreement."""
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (16, 8, 4))
    engine = BatchedTransientEngine(net)
    _run(engine, _batches(net, 3, 5), [glorot_states(net, k, gain=2.0) for k in range(3)])
    assert engine.stats["late_checks"] == 3
    assert engine.stats["max_twin_diff_mv"] > 1.0 and engine.stats["twin_disagreements"] >= 1


def test_a_device_that_could_switch_during_the_phases_gets_the_dynamic_form(ngspice):
    """VTEAM with a 0.8 V SET threshold: the 1 V lines could move it, so the batch settles with the
    state equations live (and its devices really move: the read form would have been wrong)."""
    device = replace(DEVICE_MODELS["vteam"], v_on=0.8)
    net = layered_network(Neuron(), device, (6, 3, 2))
    states = glorot_states(net, 0, gain=0.5)
    engine = BatchedTransientEngine(net, settle_time=10.0)
    batch = _batches(net, 1, 1)[0]
    try:
        engine.program(states)
        engine.phases(*batch)
        moved = engine.current_states()
    finally:
        engine.close()
    assert engine.stats["dynamic_batches"] == 1 and engine.stats["chunks"] == 0
    assert max(np.max(np.abs(moved[k] - states[k])) for k in states.states) > 1e-6


@pytest.mark.parametrize("device, form, batched", [("vteam", "auto", True), ("yakopcic", "auto", True),
                                                    ("hp-joglekar", "auto", False), ("vteam", "dynamic", False)])
def test_the_device_form_follows_the_model_and_the_config(device, form, batched):
    """Read form batched where the model has a threshold; HP (none: every read disturbs it) and an
    explicit `device_form = "dynamic"` keep the live state equations, phase by phase."""
    net = layered_network(Neuron(), DEVICE_MODELS[device], (4, 3, 2))
    engine = make_engine("ngspice", net, analysis="tran", device_form=form)
    assert isinstance(engine, BatchedTransientEngine) == batched
    assert isinstance(engine, NgspiceEngine) != batched


def test_hp_devices_keep_their_read_disturb_in_tran_mode(ngspice):
    """No threshold: every read moves an HP device, so its transients keep the state equations live
    and the engine hands back the states the reads left (the read form would hide the disturb)."""
    net = layered_network(Neuron(), DEVICE_MODELS["hp-joglekar"], (6, 3, 2))
    states = glorot_states(net, 0, gain=0.5)
    engine = make_engine("ngspice", net, analysis="tran", settle_time=10.0)
    try:
        engine.program(states)
        engine.phases(*_batches(net, 1, 1)[0])
        moved = engine.current_states()
    finally:
        engine.close()
    assert not isinstance(engine, BatchedTransientEngine)
    assert max(np.max(np.abs(moved[k] - states[k])) for k in states.states) > 1e-9
