"""Every IR element and expression type has its hook in every dialect. The exported networks do not
use them all (conditions, pow, two-node voltages, a capacitor's initial condition): their
spellings are pinned here, so that no hook is dead."""

from __future__ import annotations

import pytest

from memprop.netgen import ir
from memprop.netgen.dialects import DIALECTS

#: (V(a, b) > 0.5) ? V(a)^2 : -(-1)
EXPR = ir.Cond(ir.Cmp(">", ir.Volt("a", "b"), ir.Num(0.5)), ir.Call("pow", (ir.Volt("a"), ir.Num(2.0))),
               ir.Neg(ir.Num(-1.0)))
TERNARY = "((V(a,b)>0.5)?pow(V(a),2):(-(-1)))"
SPELLED = {"xyce": "if((V(a,b)>0.5),(V(a)**2),(-(-1)))", "ltspice": "if((V(a,b)>0.5),pow(V(a),2),(-(-1)))"}


def _netlist() -> ir.Netlist:
    """One element of every type: a subcircuit with a parameter, and its instance at the top."""
    body: list[ir.Element] = [
        ir.Resistor("r1", "a", "b", "rp"), ir.Capacitor("c1", "a", "0", 1e-12, ic=0.5),
        ir.VSource("vs", "a", "0", 1.0), ir.ISource("is", "b", "0", 1e-6),
        ir.VCVS("e1", "c", "0", "a", "b", 2.0), ir.VCCS("g1", "0", "c", "a", "b", 1e-3),
        ir.CCCS("f1", "b", "0", "vs", 1.0), ir.Mosfet("m1", "c", "a", "0", "0", "nch", 1e-6, 1e-6),
        ir.BehavioralV("bx", "d", "0", EXPR),
    ]
    net = ir.Netlist(title="hooks", models=[ir.Model("nch", "nmos", (("level", 1.0), ("vto", 0.4)))])
    net.subckts.append(ir.Subckt("cell", ("a", "b"), (("rp", 1e3),), body, "every element"))
    net.elements.append(ir.Instance("x1", "cell", ("n1", "n2")))
    return net


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_every_expression_hook(dialect):
    assert DIALECTS[dialect]().expr(EXPR) == SPELLED.get(dialect, TERNARY)


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_every_element_hook_writes_a_line_that_passes_the_rule_checks(dialect):
    d = DIALECTS[dialect]()
    files = d.files(_netlist())
    text = files[f"network{d.extension}"]
    assert d.violations(text) == []
    lines = text.splitlines()
    for el in _netlist().subckts[0].elements + _netlist().elements:
        assert sum(el.name in ln for ln in lines) >= 1, f"{type(el).__name__} missing in {dialect}"
    assert any("ic=0.5" in ln for ln in lines)  # the capacitor's initial condition
    if dialect == "vacask":  # the behavioural element as a Verilog-A module reading its ports
        module = files["memprop_cell_bx.va"]
        assert "module memprop_cell_bx(out_p, out_n, in_a, in_b);" in module
        assert "V(out_p, out_n) <+ ((V(in_a,in_b)>0.5)?pow(V(in_a),2):(-(-1)));" in module


def test_an_unknown_element_is_refused():
    with pytest.raises(TypeError):
        DIALECTS["ngspice"]().element(ir.Model("nch", "nmos", ()), None)  # type: ignore[arg-type]
