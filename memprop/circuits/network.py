"""Networks: neuron groups, input and bias sources, and crossbars of differential pairs.

A network is a set of neuron groups (layers) plus an input group and a bias line. Every synapse
block is a crossbar whose rows are the neurons of a target group and whose columns are the lines
of a source group; each crosspoint is a differential pair G+ (from the +V line) and G- (from the
-V line), so W = R_f (G+ - G-). Symmetric feedback is made of separate devices: a crossbar may
be `tied` to another one, meaning its devices are programmed as that crossbar's transpose.

The signal vector used by the numpy twin is [neuron outputs..., inputs..., bias], in group order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from memprop.circuits.devices import MemristorModel
from memprop.circuits.neuron import Neuron
from memprop.circuits.nonideal import DeviceVariation, NonIdeal, make_variation
from memprop.circuits.validation import ConfigError, check_finite, check_int

INPUT_GROUP = "x"
BIAS_GROUP = "b"
#: Limits that keep a config from asking for a network no machine could hold.
MAX_GROUP_SIZE = 4096
MAX_DEVICES = 4_000_000


@dataclass(frozen=True)
class Group:
    """A named set of lines: a neuron layer, the inputs, or the bias line."""

    name: str
    size: int
    kind: str  # "neuron", "input" or "bias"


@dataclass(frozen=True)
class Crossbar:
    """A crossbar of differential pairs feeding the neurons of `target` from the lines of `source`."""

    name: str
    target: str
    source: str
    rows: int
    cols: int
    #: Crossbar whose transpose this one is programmed to (symmetric feedback), or None.
    tied_to: str | None = None
    #: No device at the diagonal crosspoints (a neuron does not feed itself).
    no_self: bool = False
    wire_resistance: float = 0.0

    @property
    def dense(self) -> bool:
        """Every crosspoint holds a pair (the mask is all ones, so applying it can be skipped)."""
        return not self.no_self

    def mask(self) -> np.ndarray:
        """1 where a device pair exists, 0 where the crosspoint is empty."""
        m = np.ones((self.rows, self.cols))
        if self.no_self:
            np.fill_diagonal(m, 0.0)
        return m

    @property
    def n_pairs(self) -> int:
        return self.rows * self.cols - (min(self.rows, self.cols) if self.no_self else 0)


@dataclass(frozen=True)
class Network:
    """The hardware: neuron cell, device model, groups and crossbars. States live elsewhere."""

    neuron: Neuron
    device: MemristorModel
    topology: str
    groups: tuple[Group, ...]
    crossbars: tuple[Crossbar, ...]
    #: Neuron group whose units are the outputs (nudged in EP, read out for the loss).
    output_group: str
    beta: float = 0.0
    #: Fixed read-side non-idealities (device-to-device variation, stuck devices), or None.
    variation: DeviceVariation | None = None

    # ---- layout of the signal vector ----
    @property
    def neuron_groups(self) -> tuple[Group, ...]:
        return tuple(g for g in self.groups if g.kind == "neuron")

    @property
    def n_neurons(self) -> int:
        return sum(g.size for g in self.neuron_groups)

    @property
    def n_inputs(self) -> int:
        return self.group(INPUT_GROUP).size

    @property
    def has_bias(self) -> bool:
        return any(g.kind == "bias" for g in self.groups)

    def group(self, name: str) -> Group:
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(name)

    def offsets(self) -> dict[str, int]:
        """Start index of each group in the signal vector [neurons, inputs, bias]."""
        order = list(self.neuron_groups) + [g for g in self.groups if g.kind != "neuron"]
        out, start = {}, 0
        for g in order:
            out[g.name] = start
            start += g.size
        return out

    @property
    def n_signals(self) -> int:
        return sum(g.size for g in self.groups)

    def output_slice(self) -> slice:
        off = self.offsets()[self.output_group]
        return slice(off, off + self.group(self.output_group).size)

    def crossbar(self, name: str) -> Crossbar:
        for c in self.crossbars:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def n_devices(self) -> int:
        return 2 * sum(c.n_pairs for c in self.crossbars)

    def with_beta(self, beta: float) -> "Network":
        from dataclasses import replace
        return replace(self, beta=check_finite("beta", beta, low=-1e3, high=1e3))

    def with_nonideal(self, nonideal: NonIdeal) -> "Network":
        """The same network with the read-side non-idealities of `nonideal` drawn for its devices."""
        from dataclasses import replace
        shapes = {b.name: (b.rows, b.cols) for b in self.crossbars}
        return replace(self, variation=make_variation(shapes, nonideal))

    def read_of(self, states: "SynapseStates", name: str) -> np.ndarray:
        """effective_read of crossbar `name`'s states, the remembered one when a write left it."""
        known = states.known_read(name)
        return self.effective_read(name, states[name]) if known is None else known

    def effective_read(self, name: str, x: np.ndarray) -> np.ndarray:
        """What crossbar `name`'s devices read as: conductance (linear read) or effective state.

        Applies the device-to-device factors and stuck devices; every backend reads through here.
        """
        dev = self.device
        if dev.linear_read:
            out = dev.conductance(x)
            hi, lo = dev.g_max, dev.g_min
        else:
            out = np.asarray(x, dtype=float)
            hi, lo = dev.x_hi, dev.x_lo
        if self.variation is None:
            return out
        factors = self.variation.factors[name]
        out = out * factors if dev.linear_read else dev.scaled_read_state(out, factors)
        stuck = self.variation.stuck[name]
        return np.where(stuck > 0, hi, np.where(stuck < 0, lo, out))


@dataclass
class SynapseStates:
    """Python's authoritative device states: per crossbar an array (2, rows, cols) of x for G+, G-."""

    states: dict[str, np.ndarray] = field(default_factory=dict)
    #: Reads a write already computed, per crossbar: (the state array, what it reads as). Both are
    #: frozen (read-only), so a remembered read cannot go stale by an in-place change of the state.
    _reads: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False, compare=False)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.states[name]

    def remember_read(self, name: str, read: np.ndarray) -> None:
        """Keep what crossbar `name`'s current states read as (Network.effective_read of them), so the
        twin and the next write take it instead of computing it again (a pass over every device)."""
        x = self.states[name]
        x.flags.writeable = False
        read.flags.writeable = False
        self._reads[name] = (x, read)

    def known_read(self, name: str) -> np.ndarray | None:
        """The remembered read of crossbar `name`'s current states, or None."""
        hit = self._reads.get(name)
        return hit[1] if hit is not None and hit[0] is self.states[name] else None

    def items(self) -> Iterator[tuple[str, np.ndarray]]:
        return iter(sorted(self.states.items()))

    def copy(self) -> "SynapseStates":
        return SynapseStates({k: v.copy() for k, v in self.states.items()})


def check_states(network: Network, states: SynapseStates) -> None:
    """States that fit `network`: every crossbar's (2, rows, cols), finite, within the device's bounds
    (a netlist or a resumed run built from anything else would be silently wrong)."""
    dev = network.device
    for bar in network.crossbars:
        if bar.name not in states.states:
            raise ConfigError(f"states.{bar.name}", "missing device states for this crossbar")
        x = states[bar.name]
        if x.shape != (2, bar.rows, bar.cols):
            raise ConfigError(f"states.{bar.name}", f"shape {x.shape} != {(2, bar.rows, bar.cols)}")
        if not np.all(np.isfinite(x)):
            raise ConfigError(f"states.{bar.name}", "contains NaN or infinite states")
        if np.any(x < dev.x_lo - 1e-12) or np.any(x > dev.x_hi + 1e-12):
            raise ConfigError(f"states.{bar.name}", f"states outside the device bounds [{dev.x_lo}, {dev.x_hi}]")


def _check_sizes(sizes: tuple[int, ...], field_name: str) -> None:
    for k, size in enumerate(sizes):
        check_int(f"{field_name}[{k}]", size, low=1, high=MAX_GROUP_SIZE)


def _finish(net: Network) -> Network:
    if net.n_devices > MAX_DEVICES:
        raise ConfigError("network", f"{net.n_devices} devices exceed the limit of {MAX_DEVICES}")
    return net


def layered_network(neuron: Neuron, device: MemristorModel, layers: tuple[int, ...],
                    *, bias: bool = True, wire_resistance: float = 0.0, beta: float = 0.0) -> Network:
    """Scellier-Bengio topology: inputs -> l1 <-> l2 <-> ... <-> lK (outputs), feedback tied."""
    layers = tuple(layers)
    if len(layers) < 2:
        raise ConfigError("network.layers", "needs at least an input size and one neuron layer")
    _check_sizes(layers, "network.layers")
    groups = [Group(f"l{k}", size, "neuron") for k, size in enumerate(layers[1:], start=1)]
    groups.append(Group(INPUT_GROUP, layers[0], "input"))
    if bias:
        groups.append(Group(BIAS_GROUP, 1, "bias"))
    bars = []
    previous = INPUT_GROUP
    for k, size in enumerate(layers[1:], start=1):
        here = f"l{k}"
        prev_size = layers[k - 1]
        bars.append(Crossbar(f"{here}_{previous}", here, previous, size, prev_size, wire_resistance=wire_resistance))
        if previous != INPUT_GROUP:
            bars.append(Crossbar(f"{previous}_{here}", previous, here, prev_size, size,
                                 tied_to=f"{here}_{previous}", wire_resistance=wire_resistance))
        previous = here
    if bias:
        for k, size in enumerate(layers[1:], start=1):
            bars.append(Crossbar(f"l{k}_{BIAS_GROUP}", f"l{k}", BIAS_GROUP, size, 1, wire_resistance=wire_resistance))
    return _finish(Network(neuron, device, "layered", tuple(groups), tuple(bars), f"l{len(layers) - 1}", beta))


def recurrent_network(neuron: Neuron, device: MemristorModel, n_neurons: int, n_inputs: int, n_outputs: int,
                      *, bias: bool = True, wire_resistance: float = 0.0, beta: float = 0.0) -> Network:
    """Fully recurrent (Hopfield) network: every neuron feeds every other one, W symmetric.

    The neurons are split into hidden units `r` and output units `o` (the last n_outputs);
    all are connected to all (no self-connections) and to the inputs.
    """
    check_int("network.neurons", n_neurons, low=1, high=MAX_GROUP_SIZE)
    check_int("network.inputs", n_inputs, low=1, high=MAX_GROUP_SIZE)
    check_int("network.outputs", n_outputs, low=1, high=n_neurons)
    groups = []
    n_hidden = n_neurons - n_outputs
    if n_hidden:
        groups.append(Group("r", n_hidden, "neuron"))
    groups.append(Group("o", n_outputs, "neuron"))
    groups.append(Group(INPUT_GROUP, n_inputs, "input"))
    if bias:
        groups.append(Group(BIAS_GROUP, 1, "bias"))
    neuron_names = [g.name for g in groups if g.kind == "neuron"]
    bars = []
    for i, t in enumerate(neuron_names):
        for j, s in enumerate(neuron_names):
            rows, cols = groups[i].size, groups[j].size
            tied = f"{s}_{t}" if j < i else None
            bars.append(Crossbar(f"{t}_{s}", t, s, rows, cols, tied_to=tied, no_self=(t == s),
                                 wire_resistance=wire_resistance))
        bars.append(Crossbar(f"{t}_{INPUT_GROUP}", t, INPUT_GROUP, groups[i].size, n_inputs,
                             wire_resistance=wire_resistance))
        if bias:
            bars.append(Crossbar(f"{t}_{BIAS_GROUP}", t, BIAS_GROUP, groups[i].size, 1, wire_resistance=wire_resistance))
    return _finish(Network(neuron, device, "recurrent", tuple(groups), tuple(bars), "o", beta))


def tie(network: Network, states: SynapseStates) -> SynapseStates:
    """Copy each primary crossbar's states, transposed, into the crossbars tied to it.

    Within a self-crossbar (recurrent, no_self) the upper triangle is made the mirror of the lower.
    """
    out = states.copy()
    for bar in network.crossbars:
        if bar.tied_to is not None:
            out.states[bar.name] = np.ascontiguousarray(np.swapaxes(out.states[bar.tied_to], 1, 2))
        elif bar.no_self:
            s = out.states[bar.name]
            lower = np.tril(np.ones((bar.rows, bar.cols), dtype=bool), -1)
            s[:, lower.T] = np.swapaxes(s, 1, 2)[:, lower.T]
            idx = np.arange(bar.rows)
            s[:, idx, idx] = network.device.x_lo
    return out


def random_states(network: Network, seed: int, *, g_low: float | None = None, g_high: float | None = None) -> SynapseStates:
    """Device states with conductances drawn uniformly in [g_low, g_high] (default: the device range), tied."""
    rng = np.random.default_rng(seed)
    dev = network.device
    lo = dev.g_min if g_low is None else g_low
    hi = dev.g_max if g_high is None else g_high
    states = {}
    for bar in network.crossbars:
        g = rng.uniform(lo, hi, size=(2, bar.rows, bar.cols))
        states[bar.name] = dev.state_for(g)
    return tie(network, SynapseStates(states))


def glorot_states(network: Network, seed: int, *, gain: float = 1.0) -> SynapseStates:
    """Device states for Glorot-uniform weights W ~ U(-a, a), a = gain sqrt(6 / (fan_in + fan_out)).

    Each pair is programmed around the middle of the device range, G+/- = g_mid +/- W / (2 R_f), so
    G+ + G- stays constant (as the EP update keeps it); weights the range cannot hold are clipped.
    Bias pairs start at W = 0. Tied crossbars get the transpose.
    """
    rng = np.random.default_rng(seed)
    dev = network.device
    g_mid = 0.5 * (dev.g_min + dev.g_max)
    states = {}
    for bar in network.crossbars:
        if bar.source == BIAS_GROUP:
            w = np.zeros((bar.rows, bar.cols))
        else:
            a = gain * np.sqrt(6.0 / (bar.rows + bar.cols))
            w = rng.uniform(-a, a, size=(bar.rows, bar.cols))
        dg = w / (2.0 * network.neuron.r_f)
        g = np.clip(np.stack([g_mid + dg, g_mid - dg]), dev.g_min, dev.g_max)
        states[bar.name] = dev.state_for(g)
    return tie(network, SynapseStates(states))


def conductances(network: Network, states: SynapseStates) -> dict[str, np.ndarray]:
    """Per crossbar, (2, rows, cols) read conductances (non-idealities included), zero where empty."""
    return {bar.name: conductances_of(network, states, bar) for bar in network.crossbars}


def conductances_of(network: Network, states: SynapseStates, bar: Crossbar) -> np.ndarray:
    """One crossbar's (2, rows, cols) read conductances, zero where empty."""
    read = network.read_of(states, bar.name)
    g = read if network.device.linear_read else network.device.conductance(read)
    return g if bar.dense else g * bar.mask()
