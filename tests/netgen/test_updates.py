"""The precomputed `alter` writers: what they write and, as important, what they leave out."""

from __future__ import annotations

import numpy as np

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import glorot_states, layered_network
from memprop.circuits.neuron import Neuron
from memprop.netgen.deck import render
from memprop.netgen.updates import DeviceWriter, SourceWriter


def _deck():
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (6, 4, 3))
    states = glorot_states(net, 0, gain=0.5)
    deck = render(net.with_beta(0.3), states, inputs=np.zeros(6), targets=np.zeros(3), nudge=True, analysis="none")
    return net, states, deck


def test_source_writer_writes_only_what_differs_from_the_loaded_deck():
    net, _, deck = _deck()
    w = SourceWriter(net, deck.node_map)
    assert len(w.sample(np.zeros(6), np.zeros(3))) == 9  # nothing assumed: everything written
    w.assume(np.zeros(6), np.zeros(3), 0.0)
    assert w.sample(np.zeros(6), np.zeros(3)) == []
    x = np.array([0.0, 0.5, 0.0, 0.0, 1.0, 0.0])
    cmds = w.sample(x, np.zeros(3))
    assert len(cmds) == 2 and cmds[0].endswith("= 0.5") and cmds[1].endswith("= 1")
    assert w.sample(x, np.zeros(3)) == []  # remembered what it wrote
    assert len(w.beta(0.3)) == 3 and w.beta(0.3) == []
    assert len(w.beta(-0.3)) == 3


def test_device_writer_skips_unchanged_devices():
    net, states, deck = _deck()
    w = DeviceWriter(net, deck.node_map)
    everything = w.commands(states)
    assert len(everything) == net.n_devices
    moved = states.copy()
    name = net.crossbars[0].name
    moved.states[name] = states[name].copy()
    moved.states[name][0, 1, 2] += 1e-3
    changed = w.commands(moved, states)
    assert len(changed) == 1 and changed[0] in w.commands(moved)
