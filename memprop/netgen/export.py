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
from memprop.netgen.deck import read_value, supplies


#: The neuron levels `_neuron_subckt` writes (sky130 needs the PDK's model library: ngspice only).
EXPORTED_LEVELS = ("ideal", "macromodel", "cmos")
#: The cmos neuron's generic level-1 MOSFET cards (the same as memprop's ngspice deck,
#: templates/ngspice/neurons/cmos.j2; written for memprop, not a foundry's).
def _level1(vto: float, kp: float) -> tuple[tuple[str, float], ...]:
    return (("level", 1.0), ("vto", vto), ("kp", kp), ("gamma", 0.4), ("phi", 0.8), ("lambda", 0.02),
            ("tox", 4e-9), ("cgso", 0.2e-9), ("cgdo", 0.2e-9), ("cj", 1e-3), ("cjsw", 0.2e-9))


CMOS_MODELS = (ir.Model("nch", "nmos", _level1(0.45, 200e-6)), ir.Model("pch", "pmos", _level1(-0.45, 80e-6)))
CMOS_SUPPLIES = names.SUPPLIES["cmos"]


def _ota_subckt() -> ir.Subckt:
    """The cmos neuron's two-stage Miller OTA: output stage between the ports vop and von."""
    vdd, vss, _ = CMOS_SUPPLIES
    body: list[ir.Element] = [
        ir.ISource("ib", vdd, "nb", 20e-6),
        ir.Mosfet("m8", "nb", "nb", vss, vss, "nch", 10e-6, 1e-6),
        ir.Mosfet("m5", "tail", "nb", vss, vss, "nch", 20e-6, 1e-6),
        ir.Mosfet("m1", "o1", "inp", "tail", vss, "nch", 20e-6, 1e-6),
        ir.Mosfet("m2", "d2", "inn", "tail", vss, "nch", 20e-6, 1e-6),
        ir.Mosfet("m3", "d2", "d2", vdd, vdd, "pch", 25e-6, 1e-6),
        ir.Mosfet("m4", "o1", "d2", vdd, vdd, "pch", 25e-6, 1e-6),
        ir.Mosfet("m6", "out", "o1", "vop", vdd, "pch", "wout", 1e-6),
        ir.Mosfet("m7", "out", "nb", "von", vss, "nch", "wsink", 1e-6),
        ir.Capacitor("cc", "o1", "zc", 2e-12),
        ir.Resistor("rz", "zc", "out", 2e3),
    ]
    return ir.Subckt("ota", ("inp", "inn", "out", "vop", "von"), (("wout", 100e-6), ("wsink", 50e-6)), body,
                     "two-stage Miller OTA (generic level-1 MOSFETs), class-A output stage between vop and von")


def _cmos_neuron_subckt(network: Network) -> ir.Subckt:
    """Three OTAs: the integrator (s = -u), the saturating amplifier (V = u clipped by its rails
    vhi_cmos and 0 V) and the unity inverter (-V); the same cell as memprop's ngspice deck."""
    n, (vdd, vss, vhi) = network.neuron, CMOS_SUPPLIES
    body: list[ir.Element] = [
        ir.Instance("x1", "ota", ("0", "n", "s", vdd, vss), (("wout", 200e-6), ("wsink", 1000e-6))),
        ir.Resistor("rf", "n", "s", n.r_f), ir.Capacitor("cf", "n", "s", n.c_f),
        ir.Resistor("r1", "s", "m", 10e3), ir.Resistor("r2", "v", "m", 10e3),
        ir.Instance("x2", "ota", ("0", "m", "v", vhi, "0"), (("wout", 400e-6), ("wsink", 2000e-6))),
        ir.Resistor("r3", "v", "m3", 10e3), ir.Resistor("r4", "vm", "m3", 10e3),
        ir.Instance("x3", "ota", ("0", "m3", "vm", vdd, vss), (("wout", 100e-6), ("wsink", 2000e-6))),
    ]
    return ir.Subckt("neuron", ("n", "s", "v", "vm"), (), body,
                     f"cmos neuron: integrator, rail-clipping amplifier (V in [0, {n.v_high:g}] V) and inverter; "
                     f"supplies +/-{n.vdd:g} V")


def _cmos_supplies(network: Network) -> list[ir.Element]:
    return [ir.VSource(name, name, "0", float(volts)) for name, volts in supplies(network.neuron).items()]


def _neuron_subckt(network: Network) -> ir.Subckt:
    n = network.neuron
    if n.level == "cmos":
        return _cmos_neuron_subckt(network)
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
    """The cmos neuron's model cards, its OTA, and its supplies as global nodes."""
    net.models.extend(CMOS_MODELS)
    net.global_nodes = CMOS_SUPPLIES
    net.subckts.append(_ota_subckt())
    net.sections.append(("supplies of the cmos neurons", 0))
    net.elements.extend(_cmos_supplies(network))


@dataclass
class ExportedFile:
    name: str
    text: str
