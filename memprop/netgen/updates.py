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
    flat = node_map.get("flat", False)
    param = "resistance" if linear else "dc"
    out: list[tuple[str, float]] = []
    for bar in network.crossbars:
        if only is not None and bar.name not in only:
            continue
        values = read_value(network, states[bar.name], bar.name)
        mask = bar.mask()
        rows, cols = np.nonzero(mask)
        instances = node_map["crossbars"][bar.name]["instances"]
        copies = [instances]
        if "side" in node_map and bar.name in node_map["side"]["crossbars"]:
            copies.append(node_map["side"]["crossbars"][bar.name]["instances"])
        for insts in copies:
            for inst, i, j in zip(insts, rows, cols):
                out.append((f"{names.device_element(inst, 'p', linear, flat)} {param}", float(values[0, i, j])))
                out.append((f"{names.device_element(inst, 'm', linear, flat)} {param}", float(values[1, i, j])))
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
            out.append((f"{names.inside(names.pair_device(inst, 'p'), 'cx', 'c')} ic", float(x[0, i, j])))
            out.append((f"{names.inside(names.pair_device(inst, 'm'), 'cx', 'c')} ic", float(x[1, i, j])))
    return out


def device_state_vectors(network: Network, node_map: dict[str, Any]) -> list[tuple[str, int, int, int, str]]:
    """(crossbar, polarity index, row, col, vector name) of every device's state node in a dynamic deck."""
    out = []
    for bar in network.crossbars:
        rows, cols = np.nonzero(bar.mask())
        for inst, i, j in zip(node_map["crossbars"][bar.name]["instances"], rows, cols):
            out.append((bar.name, 0, int(i), int(j), names.device_state(names.pair_device(inst, "p"))))
            out.append((bar.name, 1, int(i), int(j), names.device_state(names.pair_device(inst, "m"))))
    return out


class DeviceWriter:
    """Precomputed `alter` commands for every device of a loaded read-form deck.

    The element names never change while a deck is loaded, so only the numbers are formatted per
    update: this keeps re-programming thousands of devices a small share of a training step. The
    commands take ngspice's short form `alter <element> = <value>` (the element's main parameter:
    a resistor's resistance, a source's dc value), which ngspice parses faster than
    `alter @<element>[<parameter>] = <value>`; the session sends them packed many to a line
    (NgSpiceSession.send_packed).
    """

    def __init__(self, network: Network, node_map: dict[str, Any]) -> None:
        self.network = network
        linear = network.device.linear_read
        flat = node_map.get("flat", False)
        self._bars = []
        for bar in network.crossbars:
            rows, cols = np.nonzero(bar.mask())
            copies = [node_map["crossbars"][bar.name]["instances"]]
            if "side" in node_map and bar.name in node_map["side"]["crossbars"]:
                copies.append(node_map["side"]["crossbars"][bar.name]["instances"])
            prefixes = []
            for insts in copies:
                for pol in ("p", "m"):
                    prefixes.append([f"alter {names.device_element(i, pol, linear, flat)} = ".encode("ascii")
                                     for i in insts])
            self._bars.append((bar.name, rows, cols, prefixes))

    def commands(self, states: SynapseStates, previous: SynapseStates | None = None) -> list[bytes]:
        """alter commands (ASCII bytes, as the session sends them) for every device, or only for those
        whose state differs from `previous` (EP leaves devices fed by an input that was 0 V in every
        sample of a batch untouched)."""
        out: list[bytes] = []
        for name, rows, cols, prefixes in self._bars:
            x = states[name]
            values = read_value(self.network, x, name)
            if previous is None:
                keep = [np.ones(len(rows), dtype=bool)] * 2
            else:
                old = previous[name]
                keep = [x[k][rows, cols] != old[k][rows, cols] for k in (0, 1)]
            for k, pre in enumerate(prefixes):
                pol = k % 2
                idx = np.nonzero(keep[pol])[0]
                vals = values[pol][rows[idx], cols[idx]].tolist()
                out.extend([pre[i] + b"%.12g" % v for i, v in zip(idx.tolist(), vals)])
        return out


class SourceWriter:
    """Precomputed `alter` commands for the input sources, targets and nudging gains.

    It remembers what it last wrote (or what a freshly loaded deck holds, via `assume`) and writes
    only values that differ: consecutive images share most pixels, and every `alter` costs ngspice
    ~10 us. Without `assume` it writes everything.
    """

    def __init__(self, network: Network, node_map: dict[str, Any]) -> None:
        entries = sorted(node_map["inputs"].values(), key=lambda e: e["signal"])
        self.inputs = [f"alter @{e['source']}[dc] = " for e in entries]
        outs = sorted(node_map["nudge"])
        self.targets = [f"alter @{node_map['nudge'][o]['target_source']}[dc] = " for o in outs]
        self.gains = [f"alter @{node_map['nudge'][o]['source']}[gain] = " for o in outs]
        self.g_ref = network.neuron.g_ref
        self._held: dict[str, str] = {}

    def assume(self, x: np.ndarray | None, y: np.ndarray | None, beta: float | None) -> None:
        """The loaded deck holds these values (None: unknown, write next time)."""
        self._held = {}
        if x is not None:
            self._held.update(self._pairs(self.inputs, x))
        if y is not None:
            self._held.update(self._pairs(self.targets, y))
        if beta is not None:
            self._held.update((p, "%.12g" % (beta * self.g_ref)) for p in self.gains)

    @staticmethod
    def _pairs(prefixes: list[str], values: np.ndarray) -> list[tuple[str, str]]:
        return [(p, "%.12g" % v) for p, v in zip(prefixes, np.asarray(values, dtype=float).tolist())]

    def _changed(self, pairs: list[tuple[str, str]]) -> list[str]:
        held = self._held
        out = [p + v for p, v in pairs if held.get(p) != v]
        held.update(pairs)
        return out

    def sample(self, x: np.ndarray, y: np.ndarray | None) -> list[str]:
        pairs = self._pairs(self.inputs, x)
        if y is not None:
            pairs += self._pairs(self.targets, y)
        return self._changed(pairs)

    def beta(self, beta: float) -> list[str]:
        return self._changed([(p, "%.12g" % (beta * self.g_ref)) for p in self.gains])
