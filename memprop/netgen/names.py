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


def summing(line_name: str) -> str:
    """A neuron's summing node (virtual ground), where its crossbar currents meet."""
    return f"{line_name}_n"


def integrator(line_name: str) -> str:
    """A neuron's integrator output s = -u."""
    return f"{line_name}_s"


def activation(line_name: str) -> str:
    """The +V line: a neuron's activation V = rho(u), or an input's or bias's voltage."""
    return f"{line_name}_v"


def inverted(line_name: str) -> str:
    """The -V line: the inverted activation (or input, bias) that drives the G- devices."""
    return f"{line_name}_vm"


def neuron_nodes(line_name: str) -> tuple[str, str, str, str]:
    """A neuron instance's nodes in the order of the `neuron` subcircuit's ports (n s v vm)."""
    return summing(line_name), integrator(line_name), activation(line_name), inverted(line_name)


def neuron_instance(line_name: str) -> str:
    return f"x{line_name}"


def neuron_internal(line_name: str, name: str) -> str:
    """A node of the neuron cell's subcircuit, as ngspice names it in a session (e.g. `xl1_000.a`)."""
    return f"{neuron_instance(line_name)}.{name}"


def neuron_capacitor(line_name: str, name: str) -> str:
    """A capacitor of the neuron cell (cf, ca) as ngspice names it for `alter` (its `ic`)."""
    return f"c.{neuron_instance(line_name)}.{name}"


def input_inverter(line_name: str) -> str:
    """The unity inverting VCVS that makes an input's or bias's -V line."""
    return f"e{line_name}"


def target(line_name: str) -> str:
    """The node holding output `line_name`'s target y."""
    return f"y_{line_name}"


def side_instance(line_name: str) -> str:
    """The RBP side network's adjoint neuron of neuron `line_name`."""
    return f"x{line_name}_adj"


def side_summing(line_name: str) -> str:
    return f"{line_name}_ln"


def side_integrator(line_name: str) -> str:
    return f"{line_name}_ls"


def adjoint(line_name: str) -> str:
    """The adjoint lambda of neuron `line_name` (the side network's output)."""
    return f"{line_name}_l"


def adjoint_inverted(line_name: str) -> str:
    return f"{line_name}_lm"


def side_gate(line_name: str) -> str:
    """The adjoint neuron's gate node rho'(u*), inside its instance."""
    return f"{side_instance(line_name)}.g"


def error_source(line_name: str) -> str:
    """The VCCS injecting output `line_name`'s error into its adjoint neuron."""
    return f"ge_{line_name}"


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
    if linear_read:
        return f"r.{pair_device(instance, polarity)}.rmem"
    return f"v.{pair_device(instance, polarity)}.vx"


def device_state(device: str) -> str:
    """The state node x of a dynamic memristor instance (node xs of its subcircuit)."""
    return f"{device}.xs"


def device_capacitor(device: str) -> str:
    """The state capacitor of a dynamic memristor instance, for `alter` of its `ic`."""
    return f"c.{device}.cx"


def input_source(line_name: str) -> str:
    return f"v{line_name}"


def target_source(line_name: str) -> str:
    return f"vy_{line_name}"


def nudge_source(line_name: str) -> str:
    return f"gn_{line_name}"


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
