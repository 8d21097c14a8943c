"""Transient phases in ngspice: each phase continues from where the previous one ended.

Used for the free-vs-nudged waveform of a run and by the tran analysis mode: the neuron
capacitors start each phase at the voltages the previous phase ended with (`ic` + `uic`), so the
phases form one continuous trajectory, as they would on the circuit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memprop.circuits.network import Network, SynapseStates
from memprop.netgen import names
from memprop.netgen.deck import render
from memprop.netgen.updates import input_assignments


@dataclass
class Waveform:
    """Concatenated phases: time (T,), activations (T, N), phase index per time point, betas."""

    t: np.ndarray
    v: np.ndarray
    phase: np.ndarray
    betas: list[float]
    lines: list[str]
    simulator: str = "ngspice"


def neuron_ic_vectors(network: Network, lines: list[str]) -> list[str]:
    """The vectors `neuron_ic_assignments` reads at the end of a phase."""
    if network.neuron.level == "ideal":
        return [names.node(ln, "integrator") for ln in lines]
    return [name for ln in lines for name in (names.node(ln, "integrator"), names.node(ln, "summing"), names.inside(names.neuron_instance(ln), "a"))]


def neuron_ic_assignments(network: Network, session, plot: str, lines: list[str]) -> list[tuple[str, float]]:
    """Capacitor initial conditions that continue the neurons from the end of `plot`."""
    out = []
    for ln in lines:
        s = session.vector(plot, names.node(ln, "integrator"))[-1]
        if network.neuron.level == "ideal":
            out.append((f"{names.inside(names.neuron_instance(ln), 'cf', 'c')} ic", s))
        else:
            n = session.vector(plot, names.node(ln, "summing"))[-1]
            a = session.vector(plot, names.inside(names.neuron_instance(ln), "a"))[-1]
            out.append((f"{names.inside(names.neuron_instance(ln), 'cf', 'c')} ic", n - s))
            out.append((f"{names.inside(names.neuron_instance(ln), 'ca', 'c')} ic", a))
    return out


def transient_phases(network: Network, states: SynapseStates, x: np.ndarray, y: np.ndarray,
                     betas: list[float], phase_time: float, points: int = 200, form: str = "read") -> Waveform:
    """One sample's phases as consecutive transients from rest, in ngspice."""
    from memprop.cosim.simulator.session import NgSpiceSession

    session = NgSpiceSession.instance()
    deck = render(network.with_beta(0.0), states, inputs=x, targets=y, nudge=True, analysis="none", form=form,
                  xspice=session.xspice)
    session.load(deck.text)
    lines = [names.line(g, k) for g in network.neuron_groups for k in range(g.size)]
    out_lines = [names.line(network.group(network.output_group), k)
                 for k in range(network.group(network.output_group).size)]
    session.set_values(input_assignments(network, x, deck.node_map))
    session.save_only([names.node(ln, "activation") for ln in lines] + neuron_ic_vectors(network, lines))
    ts, vs, ph = [], [], []
    offset = 0.0
    step = phase_time / points
    for p, beta in enumerate(betas):
        session.set_values([(f"{names.nudge_source(o)} gain", beta * network.neuron.g_ref) for o in out_lines])
        plot = session.tran(step, phase_time, uic=True, max_step=step)
        t = session.vector(plot, "time")
        ts.append(offset + t)
        vs.append(np.stack([session.vector(plot, names.node(ln, "activation")) for ln in lines], axis=1))
        ph.append(np.full(len(t), p))
        offset += phase_time
        session.set_values(neuron_ic_assignments(network, session, plot, lines))
    session.clear()
    return Waveform(np.concatenate(ts), np.concatenate(vs), np.concatenate(ph), list(betas), lines)


def twin_transient_phases(network: Network, states: SynapseStates, x: np.ndarray, y: np.ndarray,
                          betas: list[float], phase_time: float, points: int = 200) -> Waveform:
    """The same consecutive phases from the numpy twin's ODE (ideal neurons only).

    For decks too large for an ngspice transient to finish in reasonable time (a 784-500-10
    network has ~800 000 memristors); the twin integrates the same circuit equations.
    """
    from memprop.cosim.engines.behavioral import BehavioralNetwork

    twin = BehavioralNetwork(network, states)
    lines = [names.line(g, k) for g in network.neuron_groups for k in range(g.size)]
    t_eval = np.linspace(0.0, phase_time, points + 1)
    ts, vs, ph = [], [], []
    u = None
    for p, beta in enumerate(betas):
        traj = twin.transient(x, phase_time, t_eval, targets=y, beta=beta, u0=u)
        ts.append(p * phase_time + traj.t)
        vs.append(traj.v)
        ph.append(np.full(len(traj.t), p))
        u = traj.u[-1]
    return Waveform(np.concatenate(ts), np.concatenate(vs), np.concatenate(ph), list(betas), lines, "numpy twin")
