"""The neuron cells as one IR description (netgen/ir.py), for the training deck and every export.

Every level's cell (and the RBP side network's adjoint neuron) is written into the ngspice
training deck by the `NgspiceDeck` dialect; the ideal, macromodel and cmos cells also into the
exported networks by the export dialects: one description, two spellings. The sky130 cell is
ngspice only (its transistors are cells of SkyWater's model library, netgen/pdk.py).
"""

from __future__ import annotations

from memprop.circuits.neuron import Neuron
from memprop.netgen import ir, names, pdk


def _smooth_arg(n: Neuron, s: str) -> ir.Expr:
    """2 (u - mid) / span, u = -V(s): the smooth activation's tanh argument."""
    span, mid = n.v_high - n.v_low, 0.5 * (n.v_high + n.v_low)
    return ir.Op("/", ir.Op("*", ir.Num(2.0), ir.Op("-", ir.Neg(ir.Volt(s)), ir.Num(mid))), ir.Num(span))


def activation(n: Neuron, s: str) -> ir.Expr:
    """V = rho(u) from the integrator node `s` (= -u): clipped to the rails, or tanh-shaped."""
    if n.activation == "hard":
        return ir.clip(ir.Neg(ir.Volt(s)), n.v_low, n.v_high)
    half_span = 0.5 * (n.v_high - n.v_low)
    return ir.Op("+", ir.Num(n.v_low), ir.Op("*", ir.Num(half_span), ir.Op("+", ir.Num(1.0), ir.Call("tanh", (_smooth_arg(n, s),)))))


def derivative(n: Neuron, s: str) -> ir.Expr:
    """rho'(u) from the integrator node `s`: the step window of the hard activation, sech^2 of the smooth one."""
    if n.activation == "hard":
        u = ir.Neg(ir.Volt(s))
        return ir.Op("*", ir.Call("u", (ir.Op("-", u, ir.Num(n.v_low)),)),
                     ir.Call("u", (ir.Op("+", ir.Num(n.v_high), ir.Volt(s)),)))
    return ir.Call("pwr", (ir.Op("/", ir.Num(1.0), ir.Call("cosh", (_smooth_arg(n, s),))), ir.Num(2.0)))


def integrator(n: Neuron) -> list[ir.Element]:
    """Summing node n to integrator output s = -u: an exact virtual ground (ideal) or the op-amp
    macromodel (gain, one pole, soft output limit, offset), R_f || C_f as the feedback."""
    if n.level == "ideal":
        return [ir.VSource("vvg", "n", "0", 0.0), ir.CCCS("fint", "s", "0", "vvg", 1.0),
                ir.Resistor("rf", "s", "0", n.r_f), ir.Capacitor("cf", "s", "0", n.c_f)]
    limit = ir.Op("*", ir.Num(n.v_rail), ir.Call("tanh", (ir.Op("/", ir.Volt("a"), ir.Num(n.v_rail)),)))
    return [ir.VSource("vos", "np", "0", n.v_offset), ir.VCCS("ga", "0", "a", "np", "n", n.a0),
            ir.Resistor("ra", "a", "0", 1.0), ir.Capacitor("ca", "a", "0", n.pole_capacitance),
            ir.BehavioralV("bout", "s", "0", limit), ir.Resistor("rf", "n", "s", n.r_f), ir.Capacitor("cf", "n", "s", n.c_f)]


def neuron_cell(n: Neuron, comment: str, grouped: bool = False) -> ir.Subckt:
    """The `neuron` subckt (ports n s v vm) of the ideal or macromodel level: integrator, V = rho(u), -V.
    grouped: a blank line before the output stage and before the end (the training deck's layout)."""
    body = integrator(n) + [ir.BehavioralV("bsat", "v", "0", activation(n, "s")),
                            ir.VCVS("einv", "vm", "0", "v", "0", -1.0)]
    breaks = (len(body) - 2, len(body)) if grouped else ()
    return ir.Subckt("neuron", ("n", "s", "v", "vm"), (), body, comment, breaks)


def side_cell(n: Neuron, comment: str) -> ir.Subckt:
    """The RBP side network's adjoint neuron `side_neuron` (ports n s sf l lm): the same integrator,
    its output gated by rho'(u*) of the forward neuron whose s node is sf: lambda = rho'(u*) (-s)."""
    body = integrator(n) + [ir.BehavioralV("bgate", "g", "0", derivative(n, "sf")),
                            ir.BehavioralV("blam", "l", "0", ir.Op("*", ir.Volt("g"), ir.Neg(ir.Volt("s")))),
                            ir.VCVS("einv", "lm", "0", "l", "0", -1.0)]
    return ir.Subckt("side_neuron", ("n", "s", "sf", "l", "lm"), (), body, comment)


#: The cmos neuron's generic level-1 MOSFET cards (written for memprop, not a foundry's).
def _level1(vto: float, kp: float) -> tuple[tuple[str, float], ...]:
    return (("level", 1.0), ("vto", vto), ("kp", kp), ("gamma", 0.4), ("phi", 0.8), ("lambda", 0.02),
            ("tox", 4e-9), ("cgso", 0.2e-9), ("cgdo", 0.2e-9), ("cj", 1e-3), ("cjsw", 0.2e-9))


CMOS_MODELS = (ir.Model("nch", "nmos", _level1(0.45, 200e-6)), ir.Model("pch", "pmos", _level1(-0.45, 80e-6)))
CMOS_SUPPLIES = names.SUPPLIES["cmos"]


def ota_cell() -> ir.Subckt:
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


def cmos_neuron_cell(n: Neuron) -> ir.Subckt:
    """Three OTAs: the integrator (s = -u), the saturating amplifier (V = u clipped by its rails
    vhi_cmos and 0 V) and the unity inverter (-V)."""
    vdd, vss, vhi = CMOS_SUPPLIES
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


def cmos_cell(n: Neuron) -> ir.Cell:
    """The cmos level: the OTA and the neuron, their MOSFET cards and supplies."""
    return ir.Cell([ota_cell(), cmos_neuron_cell(n)], CMOS_MODELS, CMOS_SUPPLIES)


SKY130_SUPPLIES = names.SUPPLIES["sky130"]


def _fet(name: str, cell: str, d: str, g: str, s: str, b: str, w: float, length: float) -> ir.Instance:
    """A SKY130 transistor: an instance of the library's device cell (w and l in um, as its cards take them)."""
    return ir.Instance(name, pdk.device(cell), (d, g, s, b), (("w", w), ("l", length)), library=True)


def sky_ota_cell() -> ir.Subckt:
    """The sky130 neuron's OTA first stage (nfet input pair, pfet mirror load) from input to o1,
    its tail biased by the cell's reference nb; each stage adds its own output transistors."""
    vdd, vss, _, _ = SKY130_SUPPLIES
    body: list[ir.Element] = [
        _fet("xm5", "nfet_01v8", "tail", "nb", vss, vss, 4.0, 2.0),
        _fet("xm1", "nfet_01v8", "o1", "inp", "tail", vss, 8.0, 1.0),
        _fet("xm2", "nfet_01v8", "d2", "inn", "tail", vss, 8.0, 1.0),
        _fet("xm3", "pfet_01v8", "d2", "d2", vdd, vdd, 4.0, 2.0),
        _fet("xm4", "pfet_01v8", "o1", "d2", vdd, vdd, 4.0, 2.0),
    ]
    return ir.Subckt("sky_ota", ("inp", "inn", "o1", "nb"), (), body)


def sky130_neuron_cell(n: Neuron) -> ir.Subckt:
    """One 0.5 uA reference, three OTAs with their output stages (Miller 0.5 pF each): the integrator
    (push-pull, s = -u), the saturating amplifier (lvt pfet to vhi_sky, nfet to 0 V: V = u clipped)
    and the unity inverter (nfet to vlo_sky, 2 MOhm pull-up: -V)."""
    vdd, vss, vhi, vlo = SKY130_SUPPLIES
    body: list[ir.Element] = [
        ir.ISource("ib", vdd, "nb", 0.5e-6), _fet("xm8", "nfet_01v8", "nb", "nb", vss, vss, 4.0, 2.0),
        ir.Instance("xa1", "sky_ota", ("0", "n", "o1a", "nb")),
        _fet("xm6a", "pfet_01v8", "s", "o1a", vdd, vdd, 2.0, 1.0),
        _fet("xm7a", "nfet_01v8", "s", "o1a", vss, vss, 1.0, 4.0),
        ir.Capacitor("cca", "o1a", "s", 0.5e-12),
        ir.Resistor("rf", "n", "s", n.r_f), ir.Capacitor("cf", "n", "s", n.c_f),
        ir.Resistor("r1", "s", "m", 1e6), ir.Resistor("r2", "v", "m", 1e6),
        ir.Instance("xa2", "sky_ota", ("0", "m", "o1b", "nb")),
        _fet("xm6b", "pfet_01v8_lvt", "v", "o1b", vhi, vhi, 20.0, 0.35),
        _fet("xm7b", "nfet_01v8", "v", "o1b", "0", vss, 8.0, 0.5),
        ir.Capacitor("ccb", "o1b", "v", 0.5e-12),
        ir.Resistor("r3", "v", "m3", 1e6), ir.Resistor("r4", "vm", "m3", 1e6),
        ir.Instance("xa3", "sky_ota", ("0", "m3", "o1c", "nb")),
        _fet("xm6c", "nfet_01v8", "vm", "o1c", vlo, vss, 8.0, 0.5), ir.Resistor("rpu", "vm", "0", 2e6),
        ir.Capacitor("ccc", "o1c", "vm", 0.5e-12),
    ]
    return ir.Subckt("neuron", ("n", "s", "v", "vm"), (), body)


def sky130_cell(n: Neuron) -> ir.Cell:
    """The sky130 level: the OTA and the neuron, SkyWater's cards at n's corner, the supplies."""
    return ir.Cell([sky_ota_cell(), sky130_neuron_cell(n)], global_nodes=SKY130_SUPPLIES,
                   library=pdk.library(n.corner, n.mismatch))
