"""Trained (or untrained) networks as self-contained netlists for other simulators.

The network is exported in its read form, programmed states baked in as resistances: the circuit
a designer simulates to check inference. The same node names as memprop's ngspice decks are used
(memprop/netgen/names.py). Every dialect gets the same Netlist (netgen/ir.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memprop.circuits.network import Network, SynapseStates
from memprop.circuits.validation import ConfigError
from memprop.netgen import cells, ir, names
from memprop.netgen.deck import read_value, supplies


#: The neuron levels an export writes (sky130 needs the PDK's model library: ngspice only).
EXPORTED_LEVELS = ("ideal", "macromodel", "cmos")


def _cmos_supplies(network: Network) -> list[ir.Element]:
    return [ir.VSource(name, name, "0", float(volts)) for name, volts in supplies(network.neuron).items()]


def _neuron_subckt(network: Network) -> ir.Subckt:
    n = network.neuron
    if n.level == "ideal":
        return cells.neuron_cell(n, "ideal neuron: virtual ground vvg senses I; s = -u, tau du/dt = -u + R_f I; "
                                    "V = rho(u), -V")
    return cells.neuron_cell(n, f"macromodel neuron: op-amp gain {n.a0:g}, pole {n.pole_hz:g} Hz, swing "
                                f"+/-{n.v_rail:g} V, offset {n.v_offset:g} V; s = -u; V = rho(u), -V")


def build(network: Network, states: SynapseStates, inputs: np.ndarray, *, targets: np.ndarray | None = None,
          title: str = "memprop network", comments: list[str] | None = None) -> ir.Netlist:
    """The Netlist of `network` with `states` programmed (read form) and `inputs` applied."""
    if network.device.linear_read is False:
        raise ConfigError("device.model", "export writes devices as resistances: it needs a linear-read device "
                                          "model (vteam, hp-joglekar, hp-biolek)")
    if network.neuron.level not in EXPORTED_LEVELS:
        raise ConfigError("neuron.level", f"export writes {', '.join(EXPORTED_LEVELS[:-1])} and {EXPORTED_LEVELS[-1]} neurons, not the "
                                          f"{network.neuron.level} one (use `memprop netgen` for its ngspice deck)")
    x = np.asarray(inputs, dtype=float)
    if x.shape != (network.n_inputs,):
        raise ConfigError("inputs", f"expected {network.n_inputs} input voltages, got shape {x.shape}")
    net = ir.Netlist(title=title, comments=list(comments or []))
    if network.neuron.level == "cmos":
        _add_cmos_cell(net, network)
    else:
        net.subckts.append(_neuron_subckt(network))
    net.subckts.append(ir.Subckt("diffpair", ("sv", "svm", "t"), (("r_pos", 1e5), ("r_neg", 1e5)),
                                 [ir.Resistor("rp", "sv", "t", "r_pos"), ir.Resistor("rm", "svm", "t", "r_neg")],
                                 "differential pair: G+ = 1/r_pos from the +V line, G- = 1/r_neg from the -V line"))
    lines = {g.name: [names.line(g, k) for k in range(g.size)] for g in network.groups}
    net.sections.append(("input and bias lines: +V sources, -V through inverters", len(net.elements)))
    for g in network.groups:
        if g.kind == "neuron":
            continue
        for k, nm in enumerate(lines[g.name]):
            value = x[k] if g.kind == "input" else network.neuron.v_high
            net.elements.append(ir.VSource(names.input_source(nm), names.node(nm, "activation"), "0", float(value)))
            net.elements.append(ir.VCVS(names.input_inverter(nm), names.node(nm, "inverted"), "0", names.node(nm, "activation"), "0",
                                        -1.0))
    net.sections.append(("neurons", len(net.elements)))
    for g in network.neuron_groups:
        for nm in lines[g.name]:
            net.elements.append(ir.Instance(names.neuron_instance(nm), "neuron", names.neuron_nodes(nm)))
    for bar in network.crossbars:
        if bar.wire_resistance > 0:
            raise ConfigError("network.wire_resistance", "export writes ideal wires; set wire_resistance = 0")
        net.sections.append((f"crossbar {bar.name}: {bar.rows} x {bar.cols} pairs from {bar.source} into "
                             f"{bar.target}" + (f" (programmed as the transpose of {bar.tied_to})"
                                                if bar.tied_to else ""), len(net.elements)))
        values = read_value(network, states[bar.name], bar.name)
        mask = bar.mask()
        for i in range(bar.rows):
            for j in range(bar.cols):
                if mask[i, j]:
                    src, tgt = lines[bar.source][j], lines[bar.target][i]
                    net.elements.append(ir.Instance(names.synapse(bar, i, j), "diffpair",
                                                    (names.node(src, "activation"), names.node(src, "inverted"), names.node(tgt, "summing")),
                                                    (("r_pos", float(values[0, i, j])), ("r_neg", float(values[1, i, j])))))
    if network.beta != 0.0:
        out = lines[network.output_group]
        y = np.zeros(len(out)) if targets is None else np.asarray(targets, dtype=float)
        net.sections.append(("nudging: beta * G_ref * (y - V) into each output's summing node", len(net.elements)))
        for k, nm in enumerate(out):
            net.elements.append(ir.VSource(names.target_source(nm), names.node(nm, "target"), "0", float(y[k])))
            net.elements.append(ir.VCCS(names.nudge_source(nm), "0", names.node(nm, "summing"), names.node(nm, "target"), names.node(nm, "activation"),
                                        network.beta * network.neuron.g_ref))
    net.prints = [names.node(nm, "activation") for g in network.neuron_groups for nm in lines[g.name]]
    return net


def _add_cmos_cell(net: ir.Netlist, network: Network) -> None:
    """The cmos cell (the training deck's description): its model cards, OTA and neuron, and its
    supplies as global nodes."""
    cell = cells.cmos_cell(network.neuron)
    net.models.extend(cell.models)
    net.global_nodes = cell.global_nodes
    net.subckts.extend(cell.subckts)
    net.sections.append(("supplies of the cmos neurons", 0))
    net.elements.extend(_cmos_supplies(network))


@dataclass
class ExportedFile:
    name: str
    text: str
