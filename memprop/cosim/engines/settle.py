"""Settling one sample on either backend, from the same Network and device states."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memprop.circuits.network import Network, SynapseStates
from memprop.circuits.validation import ConfigError, check_memory
from memprop.cosim.engines.behavioral import BehavioralNetwork
from memprop.cosim.config.choices import BACKENDS
from memprop.cosim.config.config import Config, build_network, initial_states
from memprop.cosim.data.datasets import digits
from memprop.netgen.deck import TranSpec, render


@dataclass
class Settled:
    """Every neuron's activation node and its voltage, in signal order."""

    backend: str
    analysis: str
    voltages: dict[str, float]


def sample_inputs(cfg: Config, network: Network) -> np.ndarray:
    """The input voltages of the config's [sample]."""
    kind = cfg.sample.kind
    lo, hi = cfg.neuron.v_low, cfg.neuron.v_high
    if kind == "auto":
        kind = "digits" if network.n_inputs == 64 else "random"
    if kind == "digits":
        if network.n_inputs != 64:
            raise ConfigError("sample.kind", f"digits are 8x8 = 64 inputs; the network has {network.n_inputs}",
                              cfg.source)
        return lo + (hi - lo) * digits().x[cfg.sample.index]
    return np.random.default_rng(cfg.sample.seed).uniform(lo, hi, network.n_inputs)


def settle_ngspice(network: Network, states: SynapseStates, inputs: np.ndarray, analysis: str = "op",
                   tran: TranSpec = TranSpec(), targets: np.ndarray | None = None) -> Settled:
    from memprop.cosim.simulator.session import NgSpiceSession, transient_bytes

    nodes = activation_nodes(network)
    if analysis != "op":  # estimated before the deck is even built
        check_memory("sim.tran_step", f"a transient of {tran.stop / tran.step:.3g} steps of {len(nodes)} neurons",
                     transient_bytes(tran.step, tran.stop, len(nodes)))
    session = NgSpiceSession.instance()
    deck = render(network, states, inputs=inputs, targets=targets, analysis="none",
                  form="read" if analysis == "op" else "dynamic", xspice=session.xspice)
    session.load(deck.text)
    if analysis == "op":
        plot = session.op()
        values = {n: float(session.vector(plot, n)[0]) for n in nodes}
    else:
        session.save_only(nodes)  # ngspice keeps every time point of what it saves: only what is read
        plot = session.tran(tran.step, tran.stop, uic=True, max_step=tran.step)
        values = {n: float(session.vector(plot, n)[-1]) for n in nodes}
    return Settled("ngspice", analysis, values)


def settle_behavioral(network: Network, states: SynapseStates, inputs: np.ndarray, analysis: str = "op",
                      tran: TranSpec = TranSpec(), targets: np.ndarray | None = None) -> Settled:
    twin = BehavioralNetwork(network, states)
    if analysis == "op":
        v = twin.equilibrium(inputs, targets, network.beta).v[0]
    else:
        v = twin.transient(inputs, tran.stop, np.array([0.0, tran.stop]), targets, network.beta).v[-1]
    return Settled("behavioral", analysis, dict(zip(activation_nodes(network), (float(x) for x in v))))


def activation_nodes(network: Network) -> list[str]:
    """Every neuron's activation node name, in signal order."""
    from memprop.netgen import names

    return [names.node(names.line(g, k), "activation") for g in network.neuron_groups for k in range(g.size)]


def settle(cfg: Config, backend: str) -> Settled:
    if backend not in BACKENDS:
        raise ConfigError("backend", f"must be one of {', '.join(BACKENDS)}; got {backend!r}")
    network = build_network(cfg)
    states = initial_states(cfg, network)
    inputs = sample_inputs(cfg, network)
    tran = TranSpec(cfg.sim.tran_step, cfg.sim.tran_stop)
    fn = settle_ngspice if backend == "ngspice" else settle_behavioral
    return fn(network, states, inputs, cfg.sim.analysis, tran)
