"""A small netlist intermediate representation that every export dialect formats.

The exporter builds one `Netlist` (subcircuits, elements, sources, analyses) from a network and its
device states; each dialect in dialects.py only decides how to spell it. Behavioural expressions
are a tiny tree (numbers, node voltages, + - * /, min/max/tanh, comparisons, ternary), so a
dialect can write `cond ? a : b` or `if(cond, a, b)`, `pow` or `**`, as its simulator wants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


# ---- expressions ----
@dataclass(frozen=True)
class Num:
    value: float

    def children(self) -> tuple["Expr", ...]:
        """Sub-expressions, in the order a walk visits them (none: a leaf)."""
        return ()


@dataclass(frozen=True)
class Volt:
    """V(node) or V(node1, node2)."""

    node: str
    ref: str | None = None

    def children(self) -> tuple["Expr", ...]:
        return ()


@dataclass(frozen=True)
class Op:
    op: str  # + - * /
    a: "Expr"
    b: "Expr"

    def children(self) -> tuple["Expr", ...]:
        return self.a, self.b


@dataclass(frozen=True)
class Neg:
    a: "Expr"

    def children(self) -> tuple["Expr", ...]:
        return (self.a,)


@dataclass(frozen=True)
class Call:
    fn: str  # min, max, tanh, exp, cosh, pow
    args: tuple["Expr", ...]

    def children(self) -> tuple["Expr", ...]:
        return self.args


@dataclass(frozen=True)
class Cmp(Op):
    """A comparison (op one of > < >= <=): an Op whose value is 1 or 0, spelled as a condition."""


@dataclass(frozen=True)
class Cond:
    cond: Cmp
    a: "Expr"
    b: "Expr"

    def children(self) -> tuple["Expr", ...]:
        return self.a, self.b, self.cond


Expr = Union[Num, Volt, Op, Neg, Call, Cmp, Cond]


def clip(x: Expr, lo: float, hi: float) -> Expr:
    return Call("min", (Call("max", (x, Num(lo))), Num(hi)))


def volt_nodes(e: Expr) -> list[str]:
    """The nodes whose voltages `e` reads, each once, in walk order (a Verilog-A module's ports)."""
    out: list[str] = []
    stack = [e]
    while stack:
        here = stack.pop()
        if type(here) is Volt:
            out += [nd for nd in (here.node, here.ref) if nd is not None and nd not in out]
        stack.extend(reversed(here.children()))
    return out


# ---- elements ----
@dataclass(frozen=True)
class TwoTerminal:
    """What every element between two nodes has: a name and its nodes p and n."""

    name: str
    p: str
    n: str


@dataclass(frozen=True)
class Resistor(TwoTerminal):
    value: float | str  # a number, or the name of a subcircuit parameter


@dataclass(frozen=True)
class Capacitor(TwoTerminal):
    value: float
    ic: float | None = None


@dataclass(frozen=True)
class VSource(TwoTerminal):
    dc: float


@dataclass(frozen=True)
class ISource(TwoTerminal):
    """A DC current source: `dc` amperes flow from p through the source to n."""

    dc: float


@dataclass(frozen=True)
class Controlled(TwoTerminal):
    """A source controlled by the voltage between cp and cn, with gain `gain`."""

    cp: str
    cn: str
    gain: float


@dataclass(frozen=True)
class VCVS(Controlled):
    """Voltage gain * (V(cp) - V(cn)) between p and n."""


@dataclass(frozen=True)
class VCCS(Controlled):
    """Current gain * (V(cp) - V(cn)) flowing from p through the source to n."""


@dataclass(frozen=True)
class CCCS(TwoTerminal):
    """Current gain * I(sense) flowing from p through the source to n; sense is a VSource name."""

    sense: str
    gain: float


@dataclass(frozen=True)
class BehavioralV(TwoTerminal):
    """V(p, n) = expr."""

    expr: Expr


@dataclass(frozen=True)
class Mosfet:
    """A MOSFET (drain, gate, source, bulk) of a `Model`; w a number or a subcircuit parameter's name."""

    name: str
    d: str
    g: str
    s: str
    b: str
    model: str
    w: float | str
    l: float


@dataclass(frozen=True)
class Model:
    """A device model card, e.g. a level-1 MOSFET: kind `nmos` or `pmos`, its parameters."""

    name: str
    kind: str
    params: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Instance:
    """An instance of subcircuit `subckt`; params override its defaults (dialects pass all of them).
    library: `subckt` is a cell of an included model library (a PDK's transistor), whose defaults
    the netlist does not know: only the given params are passed."""

    name: str
    subckt: str
    nodes: tuple[str, ...]
    params: tuple[tuple[str, float], ...] = ()
    library: bool = False


Element = Union[Resistor, Capacitor, VSource, ISource, VCVS, VCCS, CCCS, Mosfet, BehavioralV, Instance]
#: Every element type: a dialect has one hook for each, named after it (dialects.Dialect.element).
ELEMENTS = (Resistor, Capacitor, VSource, ISource, VCVS, VCCS, CCCS, Mosfet, BehavioralV, Instance)


@dataclass
class Subckt:
    name: str
    ports: tuple[str, ...]
    params: tuple[tuple[str, float], ...] = ()
    elements: list[Element] = field(default_factory=list)
    comment: str = ""
    #: Indices of the elements a blank line precedes (len(elements): the end line), for layouts
    #: that group a subcircuit's body.
    breaks: tuple[int, ...] = ()


@dataclass(frozen=True)
class Library:
    """A model library a cell includes (a PDK's cards): the switches it reads (set first) and its
    files, in include order."""

    switches: tuple[tuple[str, float], ...]
    files: tuple[str, ...]


@dataclass
class Cell:
    """A neuron cell with what a netlist needs around it: its subcircuits (the `neuron` last), the
    model cards or library they use and the global nodes (supplies) they see."""

    subckts: list[Subckt]
    models: tuple[Model, ...] = ()
    global_nodes: tuple[str, ...] = ()
    library: Library | None = None


@dataclass
class Netlist:
    title: str
    comments: list[str] = field(default_factory=list)
    subckts: list[Subckt] = field(default_factory=list)
    elements: list[Element] = field(default_factory=list)
    sections: list[tuple[str, int]] = field(default_factory=list)  # (comment, index of the first element)
    prints: list[str] = field(default_factory=list)  # nodes whose voltages the testbench reports
    models: list[Model] = field(default_factory=list)  # model cards (the cmos neuron's MOSFETs)
    global_nodes: tuple[str, ...] = ()  # nodes every subcircuit sees (the cmos neuron's supplies)
