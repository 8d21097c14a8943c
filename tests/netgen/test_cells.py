"""The transistor-level cells of the training deck come from their IR description (netgen/cells.py),
the cmos one the same description the exports write."""

from __future__ import annotations

import numpy as np
import pytest

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import glorot_states, layered_network
from memprop.circuits.neuron import Neuron
from memprop.circuits.validation import ConfigError
from memprop.netgen import cells, export
from memprop.netgen.deck import render
from memprop.netgen.dialects import NgspiceDeck, Scope


def test_the_cmos_deck_and_the_export_write_one_description():
    n = Neuron(level="cmos", vdd=3.0, v_high=2.0)
    net = layered_network(n, DEVICE_MODELS["vteam"], (3, 2))
    states = glorot_states(net, 0)
    cell = cells.cmos_cell(n)
    assert export.build(net, states, np.zeros(3)).subckts[:2] == cell.subckts
    deck = render(net, states).text.splitlines()
    spell = NgspiceDeck()
    defaults = {sc.name: dict(sc.params) for sc in cell.subckts}
    for sc in cell.subckts:
        lines = [spell.subckt_begin(sc), *(spell.element(el, Scope(sc.name, defaults)) for el in sc.elements),
                 spell.subckt_end(sc)]
        k = deck.index(lines[0])
        assert deck[k:k + len(lines)] == lines  # back to back, as the cell's one description
    assert "ib vdd_cmos nb 2e-05" in deck and "vhi_cmos = 2 V (the top rail of the saturating stage). " \
                                                 "Class-A output stages." in "\n".join(deck)


def test_a_library_cell_instance_passes_only_its_given_parameters():
    ota = cells.sky_ota_cell()
    line = NgspiceDeck().element(ota.elements[0], Scope("sky_ota", {"sky_ota": {}}))
    assert line == "xm5 tail nb vss_sky vss_sky sky130_fd_pr__nfet_01v8 w=4 l=2"


def test_the_transistor_levels_have_no_side_network():
    net = layered_network(Neuron(level="cmos"), DEVICE_MODELS["vteam"], (3, 2))
    with pytest.raises(ConfigError, match="ideal and macromodel levels only"):
        render(net, glorot_states(net, 0), side=True)
