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
from memprop.netgen import ir, names
from memprop.netgen.deck import read_value


#: The neuron levels `_neuron_subckt` writes (the transistor-level cmos neuron is ngspice-only).
EXPORTED_LEVELS = ("ideal", "macromodel")


def _neuron_subckt(network: Network) -> ir.Subckt:
    n = network.neuron
    if n.activation == "hard":
        sat: ir.Expr = ir.clip(ir.Neg(ir.Volt("s")), n.v_low, n.v_high)
    else:
        span, mid = n.v_high - n.v_low, 0.5 * (n.v_high + n.v_low)
        arg = ir.Op("/", ir.Op("*", ir.Num(2.0), ir.Op("-", ir.Neg(ir.Volt("s")), ir.Num(mid))), ir.Num(span))
        sat = ir.Op("+", ir.Num(n.v_low), ir.Op("*", ir.Num(0.5 * span),
                                                ir.Op("+", ir.Num(1.0), ir.Call("tanh", (arg,)))))
    if n.level == "ideal":
        body: list[ir.Element] = [
            ir.VSource("vvg", "n", "0", 0.0),
            ir.CCCS("fint", "s", "0", "vvg", 1.0),
            ir.Resistor("rf", "s", "0", n.r_f),
            ir.Capacitor("cf", "s", "0", n.c_f),
        ]
        comment = "ideal neuron: virtual ground vvg senses I; s = -u, tau du/dt = -u + R_f I; V = rho(u), -V"
    else:
        limit = ir.Op("*", ir.Num(n.v_rail), ir.Call("tanh", (ir.Op("/", ir.Volt("a"), ir.Num(n.v_rail)),)))
        body = [
            ir.VSource("vos", "np", "0", n.v_offset),
            ir.VCCS("ga", "0", "a", "np", "n", n.a0),
            ir.Resistor("ra", "a", "0", 1.0),
            ir.Capacitor("ca", "a", "0", n.pole_capacitance),
            ir.BehavioralV("bout", "s", "0", limit),
            ir.Resistor("rf", "n", "s", n.r_f),
            ir.Capacitor("cf", "n", "s", n.c_f),
        ]
        comment = (f"macromodel neuron: op-amp gain {n.a0:g}, pole {n.pole_hz:g} Hz, swing +/-{n.v_rail:g} V, "
                   f"offset {n.v_offset:g} V; s = -u; V = rho(u), -V")
    body += [ir.BehavioralV("bsat", "v", "0", sat), ir.VCVS("einv", "vm", "0", "v", "0", -1.0)]
    return ir.Subckt("neuron", ("n", "s", "v", "vm"), (), body, comment)


def build(network: Network, states: SynapseStates, inputs: np.ndarray, *, targets: np.ndarray | None = None,
          title: str = "memprop network", comments: list[str] | None = None,
          tran: tuple[float, float] | None = None) -> ir.Netlist:
    """The Netlist of `network` with `states` programmed (read form) and `inputs` applied."""
    if network.device.linear_read is False:
        raise ConfigError("device.model", "export writes devices as resistances: it needs a linear-read device "
                                          "model (vteam, hp-joglekar, hp-biolek)")
    if network.neuron.level not in EXPORTED_LEVELS:
        raise ConfigError("neuron.level", f"export writes {' and '.join(EXPORTED_LEVELS)} neurons, not the "
                                          f"{network.neuron.level} one (use `memprop netgen` for its ngspice deck)")
    x = np.asarray(inputs, dtype=float)
    if x.shape != (network.n_inputs,):
        raise ConfigError("inputs", f"expected {network.n_inputs} input voltages, got shape {x.shape}")
    net = ir.Netlist(title=title, comments=list(comments or []), tran=tran)
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
            net.elements.append(ir.VSource(names.input_source(nm), f"{nm}_v", "0", float(value)))
            net.elements.append(ir.VCVS(f"e{names.input_source(nm)[1:]}", f"{nm}_vm", "0", f"{nm}_v", "0", -1.0))
    net.sections.append(("neurons", len(net.elements)))
    for g in network.neuron_groups:
        for nm in lines[g.name]:
            net.elements.append(ir.Instance(f"x{nm}", "neuron", (f"{nm}_n", f"{nm}_s", f"{nm}_v", f"{nm}_vm")))
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
                                                    (f"{src}_v", f"{src}_vm", f"{tgt}_n"),
                                                    (("r_pos", float(values[0, i, j])), ("r_neg", float(values[1, i, j])))))
    if network.beta != 0.0:
        out = lines[network.output_group]
        y = np.zeros(len(out)) if targets is None else np.asarray(targets, dtype=float)
        net.sections.append(("nudging: beta * G_ref * (y - V) into each output's summing node", len(net.elements)))
        for k, nm in enumerate(out):
            net.elements.append(ir.VSource(names.target_source(nm), f"y_{nm}", "0", float(y[k])))
            net.elements.append(ir.VCCS(names.nudge_source(nm), "0", f"{nm}_n", f"y_{nm}", f"{nm}_v",
                                        network.beta * network.neuron.g_ref))
    net.prints = [f"{nm}_v" for g in network.neuron_groups for nm in lines[g.name]]
    return net


@dataclass
class ExportedFile:
    name: str
    text: str
