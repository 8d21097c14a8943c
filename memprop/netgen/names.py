"""Deterministic node and instance names: the one place that knows how the deck is spelled.

Lines (neuron outputs, inputs, bias) are called `<group>_<index>` with the index zero-padded
(at least 3 digits), e.g. `l1_007`, `o_003`, `x_012`, `b_000`. For a neuron `l1_007`:

    l1_007_n   summing node (virtual ground)          l1_007_s   integrator output (= -u)
    l1_007_v   activation V = rho(u)                  l1_007_vm  inverted activation -V

Inputs and bias have `_v` and `_vm` lines only. With the RBP side network, neuron `l1_007` also
has an adjoint neuron `xl1_007_adj` with nodes `l1_007_ln` (sum), `l1_007_ls` (integrator),
`l1_007_l` (lambda) and `l1_007_lm` (-lambda), and each neuron-to-neuron pair has a transposed
copy `xt_<crossbar>_<i>_<j>`. The differential pair at row i, column j of the
crossbar `l2_l1` is the instance `xs_l2_l1_<i>_<j>` with devices `xp` (G+) and `xm` (G-) inside.
In a flat deck (the engine's sweep decks) the two devices of that pair are plain resistors
`rs_l2_l1_<i>_<j>_p` and `rs_l2_l1_<i>_<j>_m`.

A sweep deck adds the index source `vidx` (node `idx`); point k of its `.dc` sweep selects row k
of every table: input line `x_012` is driven by `bx_012`, target `y_o_003` by `by_o_003`, the
nudging strength node `nudge_beta` by `bnudge_beta`, and output `o_003` is nudged by `bn_o_003`.
ngspice lower-cases everything; these names are lower-case already.
"""

from __future__ import annotations

from memprop.circuits.network import Crossbar, Group


def width(size: int) -> int:
    return max(3, len(str(size - 1)))


def line(group: Group, index: int) -> str:
    return f"{group.name}_{index:0{width(group.size)}d}"


#: A line's nodes by role (see above). Inputs and bias have `activation` and `inverted` only; an
#: output also has its `target`; the side roles are the RBP side network's adjoint neuron's.
NODES = {"summing": "{}_n", "integrator": "{}_s", "activation": "{}_v", "inverted": "{}_vm", "target": "y_{}",
         "side_summing": "{}_ln", "side_integrator": "{}_ls", "adjoint": "{}_l", "adjoint_inverted": "{}_lm"}


def node(line_name: str, role: str) -> str:
    """Node `role` of line `line_name`: e.g. `l1_007_v`, the activation of neuron `l1_007`."""
    return NODES[role].format(line_name)


def neuron_nodes(line_name: str) -> tuple[str, str, str, str]:
    """A neuron instance's nodes in the order of the `neuron` subcircuit's ports (n s v vm)."""
    n, s, v, vm = (node(line_name, role) for role in ("summing", "integrator", "activation", "inverted"))
    return n, s, v, vm


def inside(instance: str, name: str, kind: str = "") -> str:
    """A node of subcircuit instance `instance` (`xl1_000.a`) or, with `kind` its type letter, an
    element of it (`c.xl1_000.cf`), as ngspice names them in a session."""
    return f"{kind}.{instance}.{name}" if kind else f"{instance}.{name}"


def neuron_instance(line_name: str) -> str:
    return f"x{line_name}"


def side_instance(line_name: str) -> str:
    """The RBP side network's adjoint neuron of neuron `line_name` (its gate rho'(u*) is node g)."""
    return f"x{line_name}_adj"


#: The supply nodes (each driven by a source of the same name) of the transistor-level neurons.
SUPPLIES = {"cmos": ("vdd_cmos", "vss_cmos", "vhi_cmos"), "sky130": ("vdd_sky", "vss_sky", "vhi_sky", "vlo_sky")}
#: The output rails that deliver the neurons' output currents into the crossbars.
READ_RAILS = ("vhi_sky", "vlo_sky", "vhi_cmos")


def synapse(bar: Crossbar, i: int, j: int) -> str:
    return f"xs_{bar.name}_{i:0{width(bar.rows)}d}_{j:0{width(bar.cols)}d}"


def transposed_synapse(bar: Crossbar, i: int, j: int) -> str:
    """The RBP side network's copy of pair (i, j) of `bar`, read in the transposed direction."""
    return f"xt_{bar.name}_{i:0{width(bar.rows)}d}_{j:0{width(bar.cols)}d}"


def wire_node(bar: Crossbar, kind: str, i: int, j: int) -> str:
    """Crossbar-internal node: kind p (+V column line), m (-V column line) or r (row line)."""
    return f"w_{bar.name}_{kind}_{i:0{width(bar.rows)}d}_{j:0{width(bar.cols)}d}"


def flat_device(instance: str, polarity: str) -> str:
    """A flat deck's resistor for device `polarity` (p or m) of the pair `instance`."""
    return f"r{instance[1:]}_{polarity}"


def pair_device(instance: str, polarity: str) -> str:
    """Device `polarity` (p: G+, m: G-) of the differential pair `instance`, as a session names it."""
    return f"{instance}.x{polarity}"


def device_element(instance: str, polarity: str, linear_read: bool, flat: bool = False) -> str:
    """The flattened ngspice name of the element that holds a device's read value."""
    if flat:
        return flat_device(instance, polarity)
    return inside(pair_device(instance, polarity), *(("rmem", "r") if linear_read else ("vx", "v")))


def device_state(device: str) -> str:
    """The state node x of a dynamic memristor instance (node xs of its subcircuit; its capacitor
    is element `cx`)."""
    return inside(device, "xs")


# sources of a line: its +V source, the inverter making its -V line, an output's target source,
# its nudging VCCS and (RBP side network) its error injection
def input_source(line_name: str) -> str:
    return f"v{line_name}"


def input_inverter(line_name: str) -> str:
    return f"e{line_name}"


def target_source(line_name: str) -> str:
    return f"vy_{line_name}"


def nudge_source(line_name: str) -> str:
    return f"gn_{line_name}"


def error_source(line_name: str) -> str:
    return f"ge_{line_name}"


#: The swept index source of a sweep deck and its node.
SWEEP_SOURCE = "vidx"
SWEEP_NODE = "idx"
#: The node holding the nudging strength beta of the current sweep point (in volts = beta).
NUDGE_NODE = "nudge_beta"


def table_source(line_name: str) -> str:
    """The B-source driving line `line_name` (an input or a target) from its sweep table."""
    return f"b{line_name}"


def table_nudge(line_name: str) -> str:
    """The B-source injecting the nudging current into output `line_name` in a sweep deck."""
    return f"bn_{line_name}"


def write_row(row: int, rows: int) -> str:
    """Row line `row` of a crossbar-write deck (memprop.netgen.crossbar_write): the devices' p side."""
    return f"wr_{row:0{width(rows)}d}"


def write_col(col: int, cols: int) -> str:
    """Column line `col` of a crossbar-write deck: the devices' n side."""
    return f"wc_{col:0{width(cols)}d}"


def write_driver(line_name: str) -> str:
    """The PWL source driving a line of a crossbar-write deck."""
    return f"v{line_name}"


def write_device(row: int, col: int, rows: int, cols: int) -> str:
    """The dynamic memristor at (row, col) of a crossbar-write deck; its state is v(<name>.xs)."""
    return f"xw_{row:0{width(rows)}d}_{col:0{width(cols)}d}"
