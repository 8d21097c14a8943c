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
from dataclasses import dataclass, replace
from typing import Callable, Iterable

from memprop.circuits.validation import ConfigError, comment_lines
from memprop.netgen import ir


def num(x: float) -> str:
    """A finite float as SPICE text with 12 significant digits (every number in every netlist)."""
    x = float(x)
    if not math.isfinite(x):
        raise ConfigError("value", f"non-finite number {x!r} cannot go into a netlist")
    return f"{x:.12g}"


def assignments(pairs: Iterable[tuple[str, float]]) -> str:
    """`k=v k=v ...`: parameters as every dialect writes them."""
    return " ".join(f"{k}={num(v)}" for k, v in pairs)


@dataclass(frozen=True)
class Scope:
    """Where an element stands: its subcircuit (`top` outside all) and every subcircuit's parameter
    defaults, so that an instance can pass all of them explicitly (no dialect's defaulting rules
    then matter)."""

    subckt: str
    defaults: dict[str, dict[str, float]]


class Dialect:
    """SPICE-family defaults; subclasses override the hooks that differ."""

    name = "base"
    extension = ".cir"
    comment_prefix = "* "
    #: What stands between a subcircuit's (or an instance's) ports and its parameters.
    subckt_params = " params: "
    instance_params = " "
    #: Indent of the elements inside a subcircuit.
    body_indent = ""

    # ---- expressions: one hook per ir expression type, named expr_<type> ----
    def expr(self, e: ir.Expr) -> str:
        return getattr(self, f"expr_{type(e).__name__.lower()}")(e)

    def expr_num(self, e: ir.Num) -> str:
        return num(e.value) if e.value >= 0 else f"({num(e.value)})"

    def expr_volt(self, e: ir.Volt) -> str:
        return f"V({e.node})" if e.ref is None else f"V({e.node},{e.ref})"

    def expr_neg(self, e: ir.Neg) -> str:
        return f"(-{self.expr(e.a)})"

    def expr_op(self, e: ir.Op) -> str:
        return f"({self.expr(e.a)}{e.op}{self.expr(e.b)})"

    expr_cmp = expr_op

    def expr_call(self, e: ir.Call) -> str:
        return f"{e.fn}({','.join(self.expr(a) for a in e.args)})"

    def expr_cond(self, e: ir.Cond) -> str:
        return f"({self.expr(e.cond)}?{self.expr(e.a)}:{self.expr(e.b)})"

    # ---- elements: one hook per ir element type, named after it (ir.VCVS -> vcvs) ----
    def element(self, el: ir.Element, scope: Scope) -> str:
        if not isinstance(el, ir.ELEMENTS):
            raise TypeError(el)
        return getattr(self, type(el).__name__.lower())(el, scope)

    def value(self, v: float | str) -> str:
        return num(v) if not isinstance(v, str) else "{" + v + "}"

    def spice_card(self, letter: str, name: str, *fields: str) -> str:
        """A SPICE element line: the name (with its type letter in front unless it has it) and fields."""
        return " ".join((name if name.lower().startswith(letter) else f"{letter}{name}", *fields))

    def resistor(self, el: ir.Resistor, scope: Scope) -> str:
        return self.spice_card("r", el.name, el.p, el.n, self.value(el.value))

    def capacitor(self, el: ir.Capacitor, scope: Scope) -> str:
        ic = () if el.ic is None else (f"ic={num(el.ic)}",)
        return self.spice_card("c", el.name, el.p, el.n, num(el.value), *ic)

    def vsource(self, el: ir.VSource, scope: Scope) -> str:
        return self.spice_card("v", el.name, el.p, el.n, "dc", num(el.dc))

    def isource(self, el: ir.ISource, scope: Scope) -> str:
        return self.spice_card("i", el.name, el.p, el.n, "dc", num(el.dc))

    def mosfet(self, el: ir.Mosfet, scope: Scope) -> str:
        return self.spice_card("m", el.name, el.d, el.g, el.s, el.b, el.model, f"w={self.value(el.w)}", f"l={num(el.l)}")

    def vcvs(self, el: ir.VCVS, scope: Scope) -> str:
        return self.spice_card("e", el.name, el.p, el.n, el.cp, el.cn, num(el.gain))

    def vccs(self, el: ir.VCCS, scope: Scope) -> str:
        return self.spice_card("g", el.name, el.p, el.n, el.cp, el.cn, num(el.gain))

    def cccs(self, el: ir.CCCS, scope: Scope) -> str:
        return self.spice_card("f", el.name, el.p, el.n, self.spice_card("v", el.sense), num(el.gain))

    def behavioralv(self, el: ir.BehavioralV, scope: Scope) -> str:
        return self.spice_card("b", el.name, el.p, el.n, "V", "=", self.expr(el.expr))

    def instance(self, el: ir.Instance, scope: Scope) -> str:
        head = self.spice_card("x", el.name, *el.nodes, el.subckt)
        return self.with_params(head, self.instance_params, self.all_params(el, scope))

    def all_params(self, inst: ir.Instance, scope: Scope) -> list[tuple[str, float]]:
        if inst.library:  # a library cell's defaults are the library's
            return list(inst.params)
        given = dict(inst.params)
        return [(k, given.get(k, v)) for k, v in scope.defaults[inst.subckt].items()]

    def with_params(self, head: str, keyword: str, pairs: Iterable[tuple[str, float]]) -> str:
        ps = assignments(pairs)
        return head + (f"{keyword}{ps}" if ps else "")

    # ---- subcircuits and cards ----
    def keyword(self, word: str) -> str:
        """A dot-command or model kind as this dialect spells it."""
        return word

    def subckt_begin(self, sc: ir.Subckt) -> str:
        return self.with_params(f"{self.keyword('.subckt')} {sc.name} {' '.join(sc.ports)}", self.subckt_params,
                                sc.params)

    def subckt_end(self, sc: ir.Subckt) -> str:
        return f"{self.keyword('.ends')} {sc.name}"

    def model_card(self, model: ir.Model) -> str:
        return f"{self.keyword('.model')} {model.name} {self.keyword(model.kind)} {assignments(model.params)}"

    def global_line(self, nodes: tuple[str, ...]) -> list[str]:
        return [f"{self.keyword('.global')} {' '.join(nodes)}"] if nodes else []

    # ---- files ----
    def comments(self, *texts: str) -> list[str]:
        """Free text as this dialect's comment lines: no text (a run directory's name, a title) can
        start a line of its own, so none can open a `.control` block or run a `shell` command."""
        return [self.comment_prefix + line for line in comment_lines(texts)]

    def cell_lines(self, net: ir.Netlist) -> list[str]:
        """Global supply nodes and model cards (transistor-level neurons only; empty otherwise)."""
        if not net.models and not net.global_nodes:
            return []
        return ["", *self.comments("global supply nodes and generic level-1 MOSFET cards (not a foundry's)"),
                *self.global_line(net.global_nodes), *(self.model_card(m) for m in net.models)]

    def network_text(self, net: ir.Netlist) -> str:
        """Head (title, preamble, cell) and body; the body first, as it decides what the head loads."""
        body = self.body_lines(net)
        head = self.comments(net.title, *net.comments) + self.preamble(net) + self.cell_lines(net)
        return "\n".join(head + body) + "\n"

    def body_lines(self, net: ir.Netlist) -> list[str]:
        """The one walk of a netlist: each subcircuit, then the top-level elements by section."""
        defaults = {sc.name: dict(sc.params) for sc in net.subckts}
        out: list[str] = []
        for sc in net.subckts:
            out += ["", *self.subckt_lines(sc, defaults)]
        starts = {index: text for text, index in net.sections}
        top = Scope("top", defaults)
        for k, el in enumerate(net.elements):
            if k in starts:
                out += ["", *self.comments(starts[k])]
            out.append(self.element(el, top))
        return out

    def subckt_lines(self, sc: ir.Subckt, defaults: dict[str, dict[str, float]]) -> list[str]:
        """A subcircuit: its comment, first line, elements (blank lines at its breaks) and end line."""
        scope = Scope(sc.name, defaults)
        out = [*self.comments(sc.comment), self.subckt_begin(sc)]
        for k, el in enumerate(sc.elements):
            out += [""] * (k in sc.breaks) + [self.body_indent + self.element(el, scope)]
        return out + [""] * (len(sc.elements) in sc.breaks) + [self.subckt_end(sc)]

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

    def extra_files(self) -> dict[str, str]:
        """Files the last network_text needs besides itself (none; VACASK's Verilog-A modules)."""
        return {}

    def files(self, net: ir.Netlist) -> dict[str, str]:
        network_file = f"network{self.extension}"
        out = {network_file: self.network_text(net)}
        out.update(self.extra_files())
        out[f"testbench{self.extension}"] = self.testbench_text(net, network_file)
        return out


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


class NgspiceDeck(Ngspice):
    """The training deck's ngspice (netgen/deck.py): expressions with only the parentheses their
    precedence needs, numbers as they are, as memprop's decks have always written them."""

    name = "ngspice-deck"
    #: Binding strength of the binary operators; a leaf or a call binds tightest.
    PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}

    def operand(self, e: ir.Expr, op: str, right: bool) -> str:
        """An operand of `op`, in parentheses when it binds more loosely (or, on the right, as
        loosely: a-(b-c); or is a negation: a*(-b))."""
        here = self.PRECEDENCE.get(e.op, 3) if type(e) is ir.Op else 3
        loose = here < self.PRECEDENCE[op] or (right and (here == self.PRECEDENCE[op] or type(e) is ir.Neg))
        return f"({self.expr(e)})" if loose else self.expr(e)

    def expr_num(self, e: ir.Num) -> str:
        return num(e.value)

    def expr_neg(self, e: ir.Neg) -> str:
        return f"-{self.operand(e.a, '*', right=False)}"

    def expr_op(self, e: ir.Op) -> str:
        return f"{self.operand(e.a, e.op, right=False)}{e.op}{self.operand(e.b, e.op, right=True)}"

    def isource(self, el: ir.ISource, scope: Scope) -> str:
        """A bare DC value (the deck's bias currents have never carried the `dc` keyword)."""
        return self.spice_card("i", el.name, el.p, el.n, num(el.dc))

    def library_lines(self, lib: ir.Library | None) -> list[str]:
        """A model library's switches and include lines (none without a library)."""
        if lib is None:
            return []
        return [f".param {assignments(lib.switches)}", *(f'.include "{path}"' for path in lib.files)]

    def cell_text(self, cell: ir.Cell, comment: str) -> str:
        """A transistor-level cell: its description, what it needs (library, global supplies, model
        cards), then its subcircuits back to back (the description is theirs: no comment of their own)."""
        defaults = {sc.name: dict(sc.params) for sc in cell.subckts}
        out = [*self.comments(comment), *self.library_lines(cell.library), *self.global_line(cell.global_nodes),
               *(self.model_card(m) for m in cell.models)]
        for sc in cell.subckts:
            out += self.subckt_lines(replace(sc, comment=""), defaults)
        return "\n".join(out) + "\n"


class IfConditional(Dialect):
    """Dialects whose expressions have no `c ? a : b`: conditions as `if(c, a, b)`."""

    def expr_cond(self, e: ir.Cond) -> str:
        return f"if({self.expr(e.cond)},{self.expr(e.a)},{self.expr(e.b)})"


class Xyce(IfConditional):
    """Xyce: PARAMS: on .SUBCKT and X lines, IF() and ** in expressions (^ is XOR there)."""

    name = "xyce"
    subckt_params = instance_params = " PARAMS: "

    def expr_call(self, e: ir.Call) -> str:
        if e.fn == "pow":
            return f"({self.expr(e.args[0])}**{self.expr(e.args[1])})"
        return super().expr_call(e)

    def behavioralv(self, el: ir.BehavioralV, scope: Scope) -> str:
        return self.spice_card("b", el.name, el.p, el.n, f"V={{{self.expr(el.expr)}}}")

    def keyword(self, word: str) -> str:
        return word.upper()

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


class LTspice(IfConditional):
    """LTspice: B-sources with if(); .net netlist."""

    name = "ltspice"
    extension = ".net"

    def line_rules(self, line: str) -> list[str]:
        return super().line_rules(line) + (["ternary ?: is not LTspice syntax: use if()"] if "?" in line else [])

    def testbench_text(self, net: ir.Netlist, network_file: str) -> str:
        return "\n".join([f"* testbench: operating point of {network_file} (LTspice: open and run)",
                          f".include {network_file}", ".op", ".end", ""])


class Hspice(Dialect):
    """HSPICE: behavioural E-elements with VOL='...', parameters quoted, no params: keyword."""

    name = "hspice"
    extension = ".sp"
    subckt_params = " "

    def value(self, v: float | str) -> str:
        return num(v) if not isinstance(v, str) else f"'{v}'"

    def behavioralv(self, el: ir.BehavioralV, scope: Scope) -> str:
        return self.spice_card("e", el.name, el.p, el.n, f"VOL='{self.expr(el.expr)}'")

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
        params = assignments((k, v) for k, v in model.params if k != "level")
        return f"model {model.name} mos1 type={model.kind[0]} {params}"

    def spectre_line(self, master: str, name: str, *fields: str, nodes: tuple[str, ...] = ()) -> str:
        """A Spectre instance line: name, parenthesised terminals, master (device or subcircuit), parameters."""
        return " ".join((f"{name} ({' '.join(nodes)}) {master}", *fields))

    def resistor(self, el: ir.Resistor, scope: Scope) -> str:
        return self.spectre_line("resistor", el.name, f"r={self.value(el.value)}", nodes=(el.p, el.n))

    def capacitor(self, el: ir.Capacitor, scope: Scope) -> str:
        ic = () if el.ic is None else (f"ic={num(el.ic)}",)
        return self.spectre_line("capacitor", el.name, f"c={num(el.value)}", *ic, nodes=(el.p, el.n))

    def vsource(self, el: ir.VSource, scope: Scope) -> str:
        return self.spectre_line("vsource", el.name, "type=dc", f"dc={num(el.dc)}", nodes=(el.p, el.n))

    def isource(self, el: ir.ISource, scope: Scope) -> str:
        return self.spectre_line("isource", el.name, "type=dc", f"dc={num(el.dc)}", nodes=(el.p, el.n))

    def mosfet(self, el: ir.Mosfet, scope: Scope) -> str:
        return self.spectre_line(el.model, el.name, f"w={self.value(el.w)}", f"l={num(el.l)}", nodes=(el.d, el.g, el.s, el.b))

    def vcvs(self, el: ir.VCVS, scope: Scope) -> str:
        return self.spectre_line("vcvs", el.name, f"gain={num(el.gain)}", nodes=(el.p, el.n, el.cp, el.cn))

    def vccs(self, el: ir.VCCS, scope: Scope) -> str:
        return self.spectre_line("vccs", el.name, f"gm={num(el.gain)}", nodes=(el.p, el.n, el.cp, el.cn))

    def cccs(self, el: ir.CCCS, scope: Scope) -> str:
        return self.spectre_line("cccs", el.name, f"probe={el.sense}", f"gain={num(el.gain)}", nodes=(el.p, el.n))

    def behavioralv(self, el: ir.BehavioralV, scope: Scope) -> str:
        return self.spectre_line("bsource", el.name, f"v={self.expr(el.expr)}", nodes=(el.p, el.n))

    def instance(self, el: ir.Instance, scope: Scope) -> str:
        ps = assignments(self.all_params(el, scope))
        return self.spectre_line(el.subckt, el.name, *((ps,) if ps else ()), nodes=el.nodes)

    def subckt_begin(self, sc: ir.Subckt) -> str:
        head = f"subckt {sc.name} ({' '.join(sc.ports)})"
        if sc.params:
            head += "\nparameters " + assignments(sc.params)
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


class Vacask(Spectre):
    """VACASK: Spectre-like netlist; R and C from its OSDI library, behavioural elements as generated
    Verilog-A modules (compiled by openvaf-r when loaded), built-in vsource/vcvs/vccs/cccs."""

    name = "vacask"
    extension = ".sim"
    body_indent = "  "

    def __init__(self) -> None:
        self.modules: dict[str, str] = {}

    def preamble(self, net: ir.Netlist) -> list[str]:
        """Ground, the OSDI libraries and the behavioural modules the body loaded, and their models
        (an included file has no title line: the testbench's first line is the title)."""
        modules = [name[:-3] for name in sorted(self.modules)]
        return ["ground 0", 'load "resistor.osdi"', 'load "capacitor.osdi"',
                *(f'load "{name}.va"' for name in modules),
                *(f"model {kind} {kind}" for kind in ("resistor", "capacitor", "vsource", "vcvs", "vccs", "cccs")),
                *(f"model {name} {name}" for name in modules)]

    def va_module(self, subckt: str, el: ir.BehavioralV) -> tuple[str, list[str]]:
        """A Verilog-A module for a behavioural voltage source: V(p, n) <+ expr."""
        nodes = ir.volt_nodes(el.expr)
        ports = ["out_p", "out_n"] + [f"in_{nd}" for nd in nodes]
        name = f"memprop_{subckt}_{el.name}"
        # every V(...) in the text is a node voltage: it reads the module's input port instead
        expr = re.sub(r"\bV\(([^(),]+)(?:,([^(),]+))?\)",
                      lambda m: "V(" + ",".join(f"in_{nd}" for nd in m.groups() if nd) + ")", self.expr(el.expr))
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

    def vsource(self, el: ir.VSource, scope: Scope) -> str:
        return self.spectre_line("vsource", el.name, f"dc={num(el.dc)}", nodes=(el.p, el.n))

    def isource(self, el: ir.ISource, scope: Scope) -> str:
        return self.spectre_line("isource", el.name, f"dc={num(el.dc)}", nodes=(el.p, el.n))

    def vccs(self, el: ir.VCCS, scope: Scope) -> str:
        return self.spectre_line("vccs", el.name, f"gain={num(el.gain)}", nodes=(el.p, el.n, el.cp, el.cn))

    def cccs(self, el: ir.CCCS, scope: Scope) -> str:
        return self.spectre_line("cccs", el.name, f'ctlinst="{el.sense}"', f"gain={num(el.gain)}", nodes=(el.p, el.n))

    def behavioralv(self, el: ir.BehavioralV, scope: Scope) -> str:
        module, nodes = self.va_module(scope.subckt, el)
        return self.spectre_line(module, el.name, nodes=tuple(nodes))

    def network_text(self, net: ir.Netlist) -> str:
        self.modules = {}
        return super().network_text(net)

    def extra_files(self) -> dict[str, str]:
        return dict(self.modules)

    def cell_lines(self, net: ir.Netlist) -> list[str]:
        """The cmos cell's needs: global supplies, SPICE level-1 MOSFETs from VACASK's OSDI library
        (sp_mos1, polarity as type=1|-1), the built-in current source. Empty for other levels."""
        if not net.models:
            return []
        return [f"global {' '.join(net.global_nodes)}", 'load "spice/mos1.osdi"', "model isource isource",
                *(self.model_card(m) for m in net.models)]

    def model_card(self, model: ir.Model) -> str:
        params = assignments((k, v) for k, v in model.params if k != "level")
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


DIALECTS: dict[str, Callable[[], Dialect]] = {
    "ngspice": Ngspice, "xyce": Xyce, "ltspice": LTspice, "hspice": Hspice, "spectre": Spectre, "vacask": Vacask,
}
