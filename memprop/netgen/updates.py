"""Changing a loaded deck without re-rendering it: the alter assignments for device states."""

from __future__ import annotations

from typing import Any

import numpy as np

from memprop.circuits.network import Network, SynapseStates
from memprop.netgen import names
from memprop.netgen.deck import read_value


def device_assignments(network: Network, states: SynapseStates, node_map: dict[str, Any],
                       only: set[str] | None = None) -> list[tuple[str, float]]:
    """(element parameter, value) for every device of the read-form deck described by node_map.

    Linear-read devices are resistors (parameter `resistance`); nonlinear ones hold their state in a
    DC source (parameter `dc`). `only` restricts the update to some crossbars.
    """
    linear = network.device.linear_read
    param = "resistance" if linear else "dc"
    out: list[tuple[str, float]] = []
    for bar in network.crossbars:
        if only is not None and bar.name not in only:
            continue
        values = read_value(network, states[bar.name])
        mask = bar.mask()
        rows, cols = np.nonzero(mask)
        instances = node_map["crossbars"][bar.name]["instances"]
        copies = [instances]
        if "side" in node_map and bar.name in node_map["side"]["crossbars"]:
            copies.append(node_map["side"]["crossbars"][bar.name]["instances"])
        for insts in copies:
            for inst, i, j in zip(insts, rows, cols):
                out.append((f"{names.device_element(inst, 'p', linear)} {param}", float(values[0, i, j])))
                out.append((f"{names.device_element(inst, 'm', linear)} {param}", float(values[1, i, j])))
    return out


def input_assignments(network: Network, inputs: np.ndarray, node_map: dict[str, Any]) -> list[tuple[str, float]]:
    """(source dc, value) for every input line."""
    entries = sorted(node_map["inputs"].values(), key=lambda e: e["signal"])
    return [(f"{e['source']} dc", float(v)) for e, v in zip(entries, np.asarray(inputs, dtype=float))]


def device_ic_assignments(network: Network, states: SynapseStates, node_map: dict[str, Any]) -> list[tuple[str, float]]:
    """(capacitor ic, state) for every device of a dynamic-form deck: where the next `tran uic` starts."""
    out: list[tuple[str, float]] = []
    for bar in network.crossbars:
        x = states[bar.name]
        rows, cols = np.nonzero(bar.mask())
        for inst, i, j in zip(node_map["crossbars"][bar.name]["instances"], rows, cols):
            out.append((f"c.{inst}.xp.cx ic", float(x[0, i, j])))
            out.append((f"c.{inst}.xm.cx ic", float(x[1, i, j])))
    return out


def device_state_vectors(network: Network, node_map: dict[str, Any]) -> list[tuple[str, int, int, int, str]]:
    """(crossbar, polarity index, row, col, vector name) of every device's state node in a dynamic deck."""
    out = []
    for bar in network.crossbars:
        rows, cols = np.nonzero(bar.mask())
        for inst, i, j in zip(node_map["crossbars"][bar.name]["instances"], rows, cols):
            out.append((bar.name, 0, int(i), int(j), f"{inst}.xp.xs"))
            out.append((bar.name, 1, int(i), int(j), f"{inst}.xm.xs"))
    return out
