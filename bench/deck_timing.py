"""Load / analysis / read / update times of fully recurrent networks of N neurons in ngspice.

Run: .venv/bin/python bench/deck_timing.py [--sizes 10 50 100 200] [--repeats 3]
Prints one row per N: devices, render, load, .op, read (all activations), alter (every device,
through one sourced script), read-form .tran (20 tau), and the twin's equilibrium for scale.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import glorot_states, recurrent_network
from memprop.circuits.neuron import Neuron
from memprop.cosim.engines.settle import activation_nodes
from memprop.cosim.engines.behavioral import BehavioralNetwork
from memprop.cosim.simulator.session import NgSpiceSession
from memprop.netgen.deck import render
from memprop.netgen.updates import device_assignments


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 100, 200])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    session = NgSpiceSession.instance()
    print(f"ngspice {session.version()}; times are the best of {args.repeats}, in ms")
    print(f"{'N':>5} {'devices':>8} {'render':>8} {'load':>8} {'op':>8} {'read':>8} {'alter-all':>10} "
          f"{'tran':>8} {'twin-eq':>8} {'maxRSS MB':>10}")
    for n in args.sizes:
        net = recurrent_network(Neuron(), DEVICE_MODELS["vteam"], n, max(1, n // 5), max(1, n // 10))
        states = glorot_states(net, 0, gain=0.5)
        x = np.random.default_rng(0).uniform(0, 1, net.n_inputs)
        t_render = best(lambda: render(net, states, inputs=x, analysis="none"), args.repeats)
        deck = render(net, states, inputs=x, analysis="none")
        t_load = best(lambda: session.load(deck.text), args.repeats)
        t_op = best(session.op, args.repeats)
        plot = session.op()
        nodes = activation_nodes(net)
        t_read = best(lambda: [session.vector(plot, nd) for nd in nodes], args.repeats)
        assignments = device_assignments(net, states, deck.node_map)
        t_alter = best(lambda: session.set_values(assignments), args.repeats)
        tau = net.neuron.tau
        t_tran = best(lambda: session.tran(tau / 20, 20 * tau, uic=True), 1)
        twin = BehavioralNetwork(net, states)
        t_twin = best(lambda: twin.equilibrium(x), args.repeats)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{n:>5} {net.n_devices:>8} {t_render * 1e3:>8.1f} {t_load * 1e3:>8.1f} {t_op * 1e3:>8.1f} "
              f"{t_read * 1e3:>8.2f} {t_alter * 1e3:>10.1f} {t_tran * 1e3:>8.1f} {t_twin * 1e3:>8.2f} {rss:>10.0f}")
    session.clear()


if __name__ == "__main__":
    main()
