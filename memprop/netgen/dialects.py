"""Export dialects: one netlister, small per-simulator hooks (after vlsirtools' netlisters).

Differences respected here (see each class): comment characters; Xyce's `PARAMS:` on `.subckt` and
`X` lines and `**`/`IF()` in expressions (Xyce reads `^` as XOR); LTspice's `if()`; HSPICE's
quoted `VOL='...'` behavioural E-elements; Spectre's `subckt`/`parameters`/`ends` and
`bsource`; VACASK's Spectre-like syntax with behavioural elements compiled from Verilog-A. Every
subcircuit parameter is passed explicitly on every instance, and no parameter is named `vt`
(reserved in ngspice's PSPICE mode).
"""

from __future__ import annotations

import math
import re
from typing import Callable

from memprop.circuits.validation import ConfigError, comment_lines
from memprop.netgen import ir


def num(x: float) -> str:
    x = float(x)
    if not math.isfinite(x):
        raise ConfigError("value", f"non-finite number {x!r} cannot go into a netlist")
    return f"{x:.12g}"


class Dialect:
    """SPICE-family defaults; subclasses override the hooks that differ."""

    name = "base"
    extension = ".cir"
    comment_prefix = "* "
    behavioral_sources = True
    ternary = "?:"        # or "if"
    power = "pow"

    # ---- expressions ----
    def expr(self, e: ir.Expr) -> str:
        if isinstance(e, ir.Num):
            return num(e.value) if e.value >= 0 else f"({num(e.value)})"
        if isinstance(e, ir.Volt):
            return f"V({e.node})" if e.ref is None else f"V({e.node},{e.ref})"
        if isinstance(e, ir.Neg):
            return f"(-{self.expr(e.a)})"
        if isinstance(e, ir.Op):
            return f"({self.expr(e.a)}{e.op}{self.expr(e.b)})"
        if isinstance(e, ir.Call):
            if e.fn == "pow" and self.power == "**":
                return f"({self.expr(e.args[0])}**{self.expr(e.args[1])})"
            return f"{e.fn}({','.join(self.expr(a) for a in e.args)})"
        if isinstance(e, ir.Cmp):
            return f"({self.expr(e.a)}{e.op}{self.expr(e.b)})"
        if isinstance(e, ir.Cond):
            if self.ternary == "if":
                return f"if({self.expr(e.cond)},{self.expr(e.a)},{self.expr(e.b)})"
            return f"({self.expr(e.cond)}?{self.expr(e.a)}:{self.expr(e.b)})"
        raise TypeError(e)

    # ---- elements ----
    def value(self, v: float | str) -> str:
        return num(v) if not isinstance(v, str) else "{" + v + "}"

    def element(self, el: ir.Element, params: dict[str, dict[str, float]]) -> str:
        if isinstance(el, ir.Resistor):
            return f"{self._prefixed('r', el.name)} {el.p} {el.n} {self.value(el.value)}"
        if isinstance(el, ir.Capacitor):
            ic = f" ic={num(el.ic)}" if el.ic is not None else ""
            return f"{self._prefixed('c', el.name)} {el.p} {el.n} {num(el.value)}{ic}"
        if isinstance(el, ir.VSource):
            return f"{self._prefixed('v', el.name)} {el.p} {el.n} dc {num(el.dc)}"
        if isinstance(el, ir.ISource):
            return f"{self._prefixed('i', el.name)} {el.p} {el.n} dc {num(el.dc)}"
        if isinstance(el, ir.Mosfet):
            return (f"{self._prefixed('m', el.name)} {el.d} {el.g} {el.s} {el.b} {el.model} w={self.value(el.w)} "
                    f"l={num(el.l)}")
        if isinstance(el, ir.VCVS):
            return f"{self._prefixed('e', el.name)} {el.p} {el.n} {el.cp} {el.cn} {num(el.gain)}"
        if isinstance(el, ir.VCCS):
            return f"{self._prefixed('g', el.name)} {el.p} {el.n} {el.cp} {el.cn} {num(el.gain)}"
        if isinstance(el, ir.CCCS):
            return f"{self._prefixed('f', el.name)} {el.p} {el.n} {self._prefixed('v', el.sense)} {num(el.gain)}"
        if isinstance(el, ir.BehavioralV):
            return self.behavioral(el)
        if isinstance(el, ir.Instance):
            return self.instance(el, params[el.subckt])
        raise TypeError(el)

    def _prefixed(self, letter: str, name: str) -> str:
        return name if name.lower().startswith(letter) else f"{letter}{name}"

    def behavioral(self, el: ir.BehavioralV) -> str:
        return f"{self._prefixed('b', el.name)} {el.p} {el.n} V = {self.expr(el.expr)}"

    def all_params(self, inst: ir.Instance, defaults: dict[str, float]) -> list[tuple[str, float]]:
        given = dict(inst.params)
        return [(k, given.get(k, v)) for k, v in defaults.items()]

    def instance(self, inst: ir.Instance, defaults: dict[str, float]) -> str:
        ps = " ".join(f"{k}={num(v)}" for k, v in self.all_params(inst, defaults))
        return f"{self._prefixed('x', inst.name)} {' '.join(inst.nodes)} {inst.subckt}" + (f" {ps}" if ps else "")

    def subckt_begin(self, sc: ir.Subckt) -> str:
        ps = " ".join(f"{k}={num(v)}" for k, v in sc.params)
        return f".subckt {sc.name} {' '.join(sc.ports)}" + (f" params: {ps}" if ps else "")

    def subckt_end(self, sc: ir.Subckt) -> str:
        return f".ends {sc.name}"

    # ---- files ----
    def comments(self, *texts: str) -> list[str]:
        """Free text as this dialect's comment lines: no text (a run directory's name, a title) can
        start a line of its own, so none can open a `.control` block or run a `shell` command."""
        return [self.comment_prefix + line for line in comment_lines(texts)]

    def model_card(self, model: ir.Model) -> str:
        return f".model {model.name} {model.kind} " + " ".join(f"{k}={num(v)}" for k, v in model.params)

    def global_line(self, nodes: tuple[str, ...]) -> list[str]:
        return [f".global {' '.join(nodes)}"] if nodes else []

    def cell_lines(self, net: ir.Netlist) -> list[str]:
        """Global supply nodes and model cards (transistor-level neurons only; empty otherwise)."""
        if not net.models and not net.global_nodes:
            return []
        return ["", *self.comments("global supply nodes and generic level-1 MOSFET cards (not a foundry's)"),
                *self.global_line(net.global_nodes), *(self.model_card(m) for m in net.models)]

    def network_text(self, net: ir.Netlist) -> str:
        out = self.comments(net.title, *net.comments)
        out += self.preamble(net)
        out += self.cell_lines(net)
        params = {sc.name: dict(sc.params) for sc in net.subckts}
        for sc in net.subckts:
            out.append("")
            out += self.comments(sc.comment)
            out.append(self.subckt_begin(sc))
            out += [self.element(el, params) for el in sc.elements]
            out.append(self.subckt_end(sc))
        starts = {index: text for text, index in net.sections}
        for k, el in enumerate(net.elements):
            if k in starts:
                out += ["", *self.comments(starts[k])]
            out.append(self.element(el, params))
        return "\n".join(out) + "\n"

    def preamble(self, net: ir.Netlist) -> list[str]:
        return []

    def testbench_text(self, net: ir.Netlist, network_file: str) -> str:
        nodes = " ".join(f"v({n})" for n in net.prints)
        return "\n".join([f"* testbench: operating point of {network_file}", f".include {network_file}", ".op",
                          f".print dc {nodes}" if nodes else "", ".end", ""])

    def violations(self, text: str) -> list[str]:
        """Constructs this dialect must never contain, and syntax it requires (empty: all good)."""
        out = []
        for k, line in enumerate(text.splitlines(), start=1):
            low = line.strip().lower()
            if low.startswith((".control", ".endc", "shell", "control")):
                out.append(f"line {k}: control block or shell command")
            if re.search(r"(^|[\s(])vt\s*=", low):
                out.append(f"line {k}: a parameter named vt")
            if not line.startswith(self.comment_prefix.strip()):
                out += [f"line {k}: {msg}" for msg in self.line_rules(line)]
        return out

    def line_rules(self, line: str) -> list[str]:
        out = []
        if line.lower().startswith(".subckt") and "=" in line and " params: " not in line.lower():
            out.append("subckt parameters without params:")
        return out

    def files(self, net: ir.Netlist) -> dict[str, str]:
        network_file = f"network{self.extension}"
        return {network_file: self.network_text(net), f"testbench{self.extension}": self.testbench_text(net, network_file)}


class Ngspice(Dialect):
    """ngspice (validated here: the export runs in ngspice -b)."""

    name = "ngspice"

    def testbench_text(self, net: ir.Netlist, network_file: str) -> str:
        lines = [f"* testbench: operating point of {network_file} (run: ngspice -b testbench.cir)",
                 f".include {network_file}", ".control", "op"]
        for k in range(0, len(net.prints), 8):
            lines.append("print " + " ".join(f"v({n})" for n in net.prints[k:k + 8]))
        lines += ["quit 0", ".endc", ".end", ""]
        return "\n".join(lines)


class Xyce(Dialect):
    """Xyce: PARAMS: on .SUBCKT and X lines, IF() and ** in expressions (^ is XOR there)."""

    name = "xyce"
    ternary = "if"
    power = "**"

    def value(self, v: float | str) -> str:
        return num(v) if not isinstance(v, str) else "{" + v + "}"

    def behavioral(self, el: ir.BehavioralV) -> str:
        return f"{self._prefixed('b', el.name)} {el.p} {el.n} V={{{self.expr(el.expr)}}}"

    def instance(self, inst: ir.Instance, defaults: dict[str, float]) -> str:
        ps = " ".join(f"{k}={num(v)}" for k, v in self.all_params(inst, defaults))
        return f"{self._prefixed('x', inst.name)} {' '.join(inst.nodes)} {inst.subckt}" + (f" PARAMS: {ps}" if ps else "")

    def subckt_begin(self, sc: ir.Subckt) -> str:
        ps = " ".join(f"{k}={num(v)}" for k, v in sc.params)
        return f".SUBCKT {sc.name} {' '.join(sc.ports)}" + (f" PARAMS: {ps}" if ps else "")

    def subckt_end(self, sc: ir.Subckt) -> str:
        return f".ENDS {sc.name}"

    def global_line(self, nodes: tuple[str, ...]) -> list[str]:
        return [f".GLOBAL {' '.join(nodes)}"] if nodes else []

    def model_card(self, model: ir.Model) -> str:
        return f".MODEL {model.name} {model.kind.upper()} " + " ".join(f"{k}={num(v)}" for k, v in model.params)

    def line_rules(self, line: str) -> list[str]:
        out = []
        low = line.lower()
        if "^" in line:
            out.append("^ is XOR in Xyce expressions: use ** or pow")
        if "?" in line:
            out.append("ternary ?: is not Xyce syntax: use IF()")
        if (low.startswith(".subckt") or low.startswith("x")) and "=" in line and "PARAMS:" not in line:
            out.append("parameters without PARAMS:")
        if low.startswith("b") and "{" not in line:
            out.append("B-source expression not in braces")
        return out

    def testbench_text(self, net: ir.Netlist, network_file: str) -> str:
        nodes = " ".join(f"V({n})" for n in net.prints)
        return "\n".join([f"* testbench: operating point of {network_file} (run: Xyce testbench.cir)",
                          f".INCLUDE {network_file}", ".OP", f".PRINT DC {nodes}", ".END", ""])


class LTspice(Dialect):
    """LTspice: B-sources with if(); .net netlist."""

    name = "ltspice"
    extension = ".net"
    ternary = "if"

    def line_rules(self, line: str) -> list[str]:
        return super().line_rules(line) + (["ternary ?: is not LTspice syntax: use if()"] if "?" in line else [])

    def testbench_text(self, net: ir.Netlist, network_file: str) -> str:
        return "\n".join([f"* testbench: operating point of {network_file} (LTspice: open and run)",
                          f".include {network_file}", ".op", ".end", ""])


class Hspice(Dialect):
    """HSPICE: behavioural E-elements with VOL='...', parameters quoted, no params: keyword."""

    name = "hspice"
    extension = ".sp"

    def value(self, v: float | str) -> str:
        return num(v) if not isinstance(v, str) else f"'{v}'"

    def behavioral(self, el: ir.BehavioralV) -> str:
        return f"{self._prefixed('e', el.name)} {el.p} {el.n} VOL='{self.expr(el.expr)}'"

    def subckt_begin(self, sc: ir.Subckt) -> str:
        ps = " ".join(f"{k}={num(v)}" for k, v in sc.params)
        return f".subckt {sc.name} {' '.join(sc.ports)}" + (f" {ps}" if ps else "")

    def line_rules(self, line: str) -> list[str]:
        out = []
        low = line.lower()
        if low.startswith("b"):
            out.append("HSPICE has no B-elements: behavioural sources are E-elements with VOL=")
        if "params:" in low:
            out.append("HSPICE subcircuit parameters take no params: keyword")
        if low.startswith("e") and "vol=" in low and not re.search(r"vol='[^']*'$", low):
            out.append("VOL= expression must be quoted")
        return out

    def testbench_text(self, net: ir.Netlist, network_file: str) -> str:
        nodes = " ".join(f"v({n})" for n in net.prints)
        return "\n".join([f"* testbench: operating point of {network_file} (run: hspice testbench.sp)",
                          f".include '{network_file}'", ".option post", ".op", f".print dc {nodes}", ".end", ""])


class Spectre(Dialect):
    """Spectre: simulator lang=spectre, subckt/parameters/ends, bsource, vsource/vcvs/vccs/cccs."""

    name = "spectre"
    extension = ".scs"
    comment_prefix = "// "

    def value(self, v: float | str) -> str:
        return num(v) if not isinstance(v, str) else v

    def preamble(self, net: ir.Netlist) -> list[str]:
        return ["simulator lang=spectre", " ".join(("global", "0", *net.global_nodes))]

    def global_line(self, nodes: tuple[str, ...]) -> list[str]:
        return []  # in the preamble's global statement

    def model_card(self, model: ir.Model) -> str:
        """Spectre's mos1 is SPICE level 1: the same parameters, the polarity as type=n|p."""
        params = " ".join(f"{k}={num(v)}" for k, v in model.params if k != "level")
        return f"model {model.name} mos1 type={model.kind[0]} {params}"

    def element(self, el: ir.Element, params: dict[str, dict[str, float]]) -> str:
        if isinstance(el, ir.Resistor):
            return f"{el.name} ({el.p} {el.n}) resistor r={self.value(el.value)}"
        if isinstance(el, ir.Capacitor):
            ic = f" ic={num(el.ic)}" if el.ic is not None else ""
            return f"{el.name} ({el.p} {el.n}) capacitor c={num(el.value)}{ic}"
        if isinstance(el, ir.VSource):
            return f"{el.name} ({el.p} {el.n}) vsource type=dc dc={num(el.dc)}"
        if isinstance(el, ir.ISource):
            return f"{el.name} ({el.p} {el.n}) isource type=dc dc={num(el.dc)}"
        if isinstance(el, ir.Mosfet):
            return f"{el.name} ({el.d} {el.g} {el.s} {el.b}) {el.model} w={self.value(el.w)} l={num(el.l)}"
        if isinstance(el, ir.VCVS):
            return f"{el.name} ({el.p} {el.n} {el.cp} {el.cn}) vcvs gain={num(el.gain)}"
        if isinstance(el, ir.VCCS):
            return f"{el.name} ({el.p} {el.n} {el.cp} {el.cn}) vccs gm={num(el.gain)}"
        if isinstance(el, ir.CCCS):
            return f"{el.name} ({el.p} {el.n}) cccs probe={el.sense} gain={num(el.gain)}"
        if isinstance(el, ir.BehavioralV):
            return f"{el.name} ({el.p} {el.n}) bsource v={self.expr(el.expr)}"
        if isinstance(el, ir.Instance):
            ps = " ".join(f"{k}={num(v)}" for k, v in self.all_params(el, params[el.subckt]))
            return f"{el.name} ({' '.join(el.nodes)}) {el.subckt}" + (f" {ps}" if ps else "")
        raise TypeError(el)

    def subckt_begin(self, sc: ir.Subckt) -> str:
        head = f"subckt {sc.name} ({' '.join(sc.ports)})"
        if sc.params:
            head += "\nparameters " + " ".join(f"{k}={num(v)}" for k, v in sc.params)
        return head

    def subckt_end(self, sc: ir.Subckt) -> str:
        return f"ends {sc.name}"

    def line_rules(self, line: str) -> list[str]:
        out = []
        if line.startswith("."):
            out.append("SPICE dot-command in a Spectre netlist")
        if line.strip() and not line.startswith(("simulator", "global", "subckt", "ends", "parameters", "include",
                                                 "save", "dcOp", "model ")) and "(" not in line:
            out.append("instance without a parenthesised terminal list")
        return out

    def testbench_text(self, net: ir.Netlist, network_file: str) -> str:
        return "\n".join([f"// testbench: operating point of {network_file} (run: spectre testbench.scs)",
                          "simulator lang=spectre", f'include "{network_file}"', 'dcOp dc write="op.dc"',
                          "save " + " ".join(net.prints), ""])


DIALECTS: dict[str, Callable[[], Dialect]] = {
    "ngspice": Ngspice, "xyce": Xyce, "ltspice": LTspice, "hspice": Hspice, "spectre": Spectre,
}


class Vacask(Spectre):
    """VACASK: Spectre-like netlist; R and C from its OSDI library, behavioural elements as generated
    Verilog-A modules (compiled by openvaf-r when loaded), built-in vsource/vcvs/vccs/cccs."""

    name = "vacask"
    extension = ".sim"
    behavioral_sources = False

    def __init__(self) -> None:
        self.modules: dict[str, str] = {}

    def preamble(self, net: ir.Netlist) -> list[str]:
        return ["ground 0"]

    def va_module(self, subckt: str, el: ir.BehavioralV) -> tuple[str, list[str]]:
        """A Verilog-A module for a behavioural voltage source: V(p, n) <+ expr."""
        nodes: list[str] = []

        def walk(e: ir.Expr) -> None:
            if isinstance(e, ir.Volt):
                for nd in (e.node, e.ref):
                    if nd is not None and nd not in nodes:
                        nodes.append(nd)
            for child in getattr(e, "args", ()) or ():
                walk(child)
            for attr in ("a", "b", "cond"):
                if hasattr(e, attr):
                    walk(getattr(e, attr))

        walk(el.expr)
        ports = ["out_p", "out_n"] + [f"in_{nd}" for nd in nodes]
        name = f"memprop_{subckt}_{el.name}"
        expr = self.expr(el.expr)
        for nd in nodes:
            expr = re.sub(rf"V\({re.escape(nd)}\)", f"V(in_{nd})", expr)
        text = "\n".join([
            *self.comments(f"memprop: behavioural element {el.name} of subcircuit {subckt}, V(p, n) = expression"),
            '`include "disciplines.vams"',
            f"module {name}({', '.join(ports)});",
            f"    inout {', '.join(ports)};",
            f"    electrical {', '.join(ports)};",
            "    analog begin",
            f"        V(out_p, out_n) <+ {expr};",
            "    end",
            "endmodule", ""])
        self.modules[f"{name}.va"] = text
        return name, [el.p, el.n] + nodes

    def element(self, el: ir.Element, params: dict[str, dict[str, float]]) -> str:
        if isinstance(el, ir.VSource):
            return f"{el.name} ({el.p} {el.n}) vsource dc={num(el.dc)}"
        if isinstance(el, ir.ISource):
            return f"{el.name} ({el.p} {el.n}) isource dc={num(el.dc)}"
        if isinstance(el, ir.VCCS):
            return f"{el.name} ({el.p} {el.n} {el.cp} {el.cn}) vccs gain={num(el.gain)}"
        if isinstance(el, ir.CCCS):
            return f'{el.name} ({el.p} {el.n}) cccs ctlinst="{el.sense}" gain={num(el.gain)}'
        if isinstance(el, ir.BehavioralV):
            module, nodes = self.va_module(self._current, el)
            return f"{el.name} ({' '.join(nodes)}) {module}"
        return super().element(el, params)

    def network_text(self, net: ir.Netlist) -> str:
        self.modules = {}
        body = []
        params = {sc.name: dict(sc.params) for sc in net.subckts}
        for sc in net.subckts:
            self._current = sc.name
            body.append("")
            body += self.comments(sc.comment)
            body.append(self.subckt_begin(sc))
            body += ["  " + self.element(el, params) for el in sc.elements]
            body.append(self.subckt_end(sc))
        self._current = "top"
        starts = {index: text for text, index in net.sections}
        for k, el in enumerate(net.elements):
            if k in starts:
                body += ["", *self.comments(starts[k])]
            body.append(self.element(el, params))
        # an included file has no title line (the testbench's first line is the title)
        head = self.comments(net.title, *net.comments)
        head += ["ground 0", 'load "resistor.osdi"', 'load "capacitor.osdi"']
        head += [f'load "{name}"' for name in sorted(self.modules)]
        head += ["model resistor resistor", "model capacitor capacitor", "model vsource vsource",
                 "model vcvs vcvs", "model vccs vccs", "model cccs cccs"]
        head += [f"model {name[:-3]} {name[:-3]}" for name in sorted(self.modules)]
        return "\n".join(head + self.transistor_head(net) + body) + "\n"

    def transistor_head(self, net: ir.Netlist) -> list[str]:
        """The cmos cell's needs: global supplies, SPICE level-1 MOSFETs from VACASK's OSDI library
        (sp_mos1, polarity as type=1|-1), the built-in current source. Empty for other levels."""
        if not net.models:
            return []
        return [f"global {' '.join(net.global_nodes)}", 'load "spice/mos1.osdi"', "model isource isource",
                *(self.model_card(m) for m in net.models)]

    def model_card(self, model: ir.Model) -> str:
        params = " ".join(f"{k}={num(v)}" for k, v in model.params if k != "level")
        return f"model {model.name} sp_mos1 type={1 if model.kind == 'nmos' else -1} {params}"

    def subckt_end(self, sc: ir.Subckt) -> str:
        return "ends"

    def line_rules(self, line: str) -> list[str]:
        out = []
        if line.startswith("."):
            out.append("SPICE dot-command in a VACASK netlist")
        if re.search(r"\bbsource\b", line):
            out.append("VACASK has no bsource: behavioural elements must be Verilog-A modules")
        return out

    def testbench_text(self, net: ir.Netlist, network_file: str) -> str:
        return "\n".join([f"memprop testbench: operating point of {network_file} (run: vacask -qp testbench.sim)",
                          f'include "{network_file}"', "control", "  abort always", '  options rawfile="ascii"',
                          "  analysis op1 op", "endc", ""])

    def files(self, net: ir.Netlist) -> dict[str, str]:
        network_file = f"network{self.extension}"
        out = {network_file: self.network_text(net)}
        out.update(self.modules)
        out[f"testbench{self.extension}"] = self.testbench_text(net, network_file)
        return out


DIALECTS["vacask"] = Vacask
