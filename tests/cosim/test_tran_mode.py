"""Training with transient phases (memristor dynamics live) learns like training with .op phases."""

from __future__ import annotations

import numpy as np

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import glorot_states, layered_network
from memprop.circuits.neuron import Neuron
from memprop.cosim.config.config import parse
from memprop.cosim.engines.perphase import NgspiceEngine
from memprop.cosim.engines.twin import BehavioralEngine
from memprop.cosim.runs.trainer import Trainer

TINY = """
[network]
layers = [64, 2, 10]
init_gain = 0.5
[data]
train_size = 10
test_size = 6
validation = 0.0
[train]
epochs = 1
batch_size = 5
checkpoint_every = 1000
settle_time = 25.0
"""


def test_tran_phases_continue_and_match_the_twin(ngspice):
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (6, 4, 3))
    states = glorot_states(net, 0, gain=0.5)
    x = np.random.default_rng(0).uniform(0, 1, (3, 6))
    y = np.eye(3)
    tran = NgspiceEngine(net, analysis="tran", settle_time=25.0)
    tran.program(states)
    twin = BehavioralEngine(net)
    twin.program(states)
    got = tran.phases(x, y, [0.0, 0.3, -0.3])
    ref = twin.phases(x, y, [0.0, 0.3, -0.3])
    for a, b in zip(got, ref):
        assert np.max(np.abs(a.v - b.v)) < 1e-3
    # VTEAM reads stay below threshold: the live device states did not move
    moved = tran.current_states()
    assert max(np.max(np.abs(moved[k] - states[k])) for k in states.states) < 1e-9
    tran.close()


def test_tran_mode_learns_like_op_mode(tmp_path, ngspice):
    rows = {}
    finals = {}
    for analysis in ("op", "tran"):
        cfg = parse(__import__("tomllib").loads(TINY + f'analysis = "{analysis}"\n'))
        trainer = Trainer(cfg, tmp_path / analysis)
        rows[analysis] = trainer.run()[-1]
        finals[analysis] = trainer.states
    assert rows["tran"]["ngspice_analyses"] == rows["op"]["ngspice_analyses"] - rows["op"]["ngspice_restarts"]
    assert abs(rows["tran"]["train_loss"] - rows["op"]["train_loss"]) < 2e-3 * rows["op"]["train_loss"]
    assert abs(rows["tran"]["test_loss"] - rows["op"]["test_loss"]) < 2e-3 * rows["op"]["test_loss"]
    dev = DEVICE_MODELS["vteam"]
    for name, x in finals["op"].items():
        g_op, g_tran = dev.conductance(x), dev.conductance(finals["tran"][name])
        assert np.max(np.abs(g_op - g_tran)) < 0.01 * (dev.g_max - dev.g_min)
