"""The ngspice session: values changed in a loaded deck, errors reported, memory flat."""

from __future__ import annotations

import numpy as np
import pytest

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import glorot_states, layered_network
from memprop.circuits.neuron import Neuron
from memprop.cosim.engines.settle import activation_nodes, settle_ngspice
from memprop.cosim.bench.speed import rss_mb
from memprop.cosim.simulator.session import NgSpiceSession, SimulationError
from memprop.netgen.deck import render
from memprop.netgen.updates import DeviceWriter, device_assignments, input_assignments




@pytest.mark.parametrize("device", sorted(DEVICE_MODELS))
def test_reprogramming_a_loaded_deck_equals_rendering_a_new_one(ngspice, device):
    net = layered_network(Neuron(), DEVICE_MODELS[device], (8, 5, 3))
    first, second = glorot_states(net, 1, gain=0.5), glorot_states(net, 2, gain=0.5)
    x1, x2 = np.linspace(0, 1, 8), np.linspace(1, 0, 8)
    fresh = settle_ngspice(net, second, x2, "op")
    deck = render(net, first, inputs=x1, analysis="none")
    ngspice.load(deck.text)
    before = np.array([ngspice.vector(ngspice.op(), n)[0] for n in activation_nodes(net)])
    ngspice.set_values(device_assignments(net, second, deck.node_map) + input_assignments(net, x2, deck.node_map))
    after = np.array([ngspice.vector(ngspice.op(), n)[0] for n in activation_nodes(net)])
    expected = np.array(list(fresh.voltages.values()))
    assert np.max(np.abs(after - expected)) < 1e-9
    assert np.max(np.abs(before - expected)) > 1e-2  # the update really changed something


def test_one_session_per_process(ngspice):
    assert NgSpiceSession.instance() is ngspice
    with pytest.raises(RuntimeError, match="one ngspice per process"):
        NgSpiceSession()


def test_real_errors_raise_with_ngspice_text(ngspice):
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (3, 2))
    ngspice.load(render(net, glorot_states(net, 0), analysis="none").text)
    with pytest.raises(SimulationError, match="no such device"):
        ngspice.command("alter r.nothing_here resistance = 5")
    with pytest.raises(ValueError, match="capped at 1023"):
        ngspice.command("echo " + "x" * 1100)
    with pytest.raises(ValueError, match="line breaks"):
        ngspice.command("echo a\nquit")


def test_harmless_output_containing_error_does_not_raise(ngspice):
    # PySpice alone would raise on any output line containing "error"
    lines = ngspice.command("echo this line mentions an error_count of 0")
    assert any("error_count" in ln for ln in lines)


@pytest.mark.slow
def test_memory_stays_flat_across_loads_and_analyses(ngspice):
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (64, 32, 10))
    states = glorot_states(net, 0, gain=0.5)
    deck = render(net, states, analysis="none")
    for _ in range(5):  # warm up allocator pools
        ngspice.load(deck.text)
        ngspice.op()
    start = rss_mb()
    for _ in range(30):
        ngspice.load(deck.text)
        ngspice.op()
    after_loads = rss_mb()
    rng = np.random.default_rng(0)
    small = layered_network(Neuron(), DEVICE_MODELS["vteam"], (8, 4, 2))
    small_deck = render(small, glorot_states(small, 0, gain=0.5), analysis="none")
    ngspice.load(small_deck.text)
    for _ in range(50):
        ngspice.op()
    mid = rss_mb()
    for _ in range(2000):
        ngspice.set_values(input_assignments(small, rng.uniform(0, 1, 8), small_deck.node_map))
        ngspice.op()
    end = rss_mb()
    assert after_loads - start < 10, (start, after_loads)
    assert end - mid < 10, (mid, end)


def test_solver_is_detected_from_what_this_ngspice_does(ngspice):
    """KLU is used exactly when the build has it (banner of the same ngspice), never assumed."""
    import shutil
    import subprocess

    assert ngspice.solver in ("klu", "sparse")
    binary = shutil.which("ngspice")
    if binary is None:
        pytest.skip("no ngspice binary to compare with")
    banner = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=30).stdout
    assert (ngspice.solver == "klu") == ("compiled with klu" in banner.lower())
    deck = "* t\nr1 1 0 1k\nv1 1 0 2\n.end\n"
    ngspice.load(deck)
    plot = ngspice.op()
    assert ngspice.scalars(plot, [b"v(1)"])[0] == pytest.approx(2.0)


def test_save_only_keeps_exactly_the_named_vectors_even_past_the_command_cap(ngspice):
    n = 150
    deck = ["* ladder", "v1 node_000 0 1"] + [f"r{k} node_{k:03d} node_{k + 1:03d} 1k" for k in range(n)]
    deck += [f"r{n} node_{n:03d} 0 1k", ".end"]
    ngspice.load("\n".join(deck))
    wanted = [f"node_{k:03d}" for k in range(0, n + 1, 1)]
    assert len(" ".join(wanted)) > 1023  # needs more than one `save` command
    ngspice.save_only(wanted)
    plot = ngspice.op()
    assert sorted(ngspice.vector_names(plot)) == sorted(wanted)
    v = ngspice.scalars(plot, [w.encode() for w in wanted])
    assert v[0] == pytest.approx(1.0) and np.all(np.diff(v) < 0)


@pytest.mark.parametrize("bad", ["op\nquit", "op\rquit", "op\x00quit"])
def test_a_command_cannot_smuggle_a_second_one(ngspice, bad):
    with pytest.raises(ValueError, match="one command per line"):
        ngspice.commands(["destroy all", bad])
    with pytest.raises(ValueError):
        ngspice.command(bad)


def test_packed_commands_fill_lines_within_the_cap_in_order():
    from memprop.cosim.simulator.session import MAX_COMMAND, pack_commands

    cmds = [b"alter r%d = %d" % (k, k) for k in range(500)]
    lines = pack_commands(cmds)
    assert all(len(line) <= MAX_COMMAND for line in lines) and len(lines) < len(cmds) / 20
    assert b"; ".join(lines).split(b"; ") == cmds
    assert pack_commands([]) == [] and pack_commands([b"x" * 2000]) == [b"x" * 2000]


def test_packed_alters_set_every_device_and_report_a_bad_one(ngspice):
    n = 60
    deck = ["* ladder", "v1 node_000 0 1"] + [f"r{k} node_{k:03d} node_{k + 1:03d} 1k" for k in range(n)]
    ngspice.load("\n".join(deck + [f"r{n} node_{n:03d} 0 1k", ".end"]))
    ngspice.send_packed([b"alter r%d = %d" % (k, 1000 + k) for k in range(n + 1)])
    got = ngspice.command("print @r0[resistance] @r1[resistance] @r60[resistance]")
    assert [float(line.split("=")[1]) for line in got if "=" in line] == [1000.0, 1001.0, 1060.0]
    with pytest.raises(SimulationError, match="no such device"):
        ngspice.send_packed([b"alter r0 = 5", b"alter r_not_there = 5", b"alter r1 = 5"])


@pytest.mark.parametrize("device", sorted(DEVICE_MODELS))
def test_a_device_writer_reprograms_a_loaded_deck_as_rendering_a_new_one(ngspice, device):
    """DeviceWriter's short-form alters, packed: a resistor's resistance, a state source's dc."""
    net = layered_network(Neuron(), DEVICE_MODELS[device], (8, 5, 3))
    first, second = glorot_states(net, 1, gain=0.5), glorot_states(net, 2, gain=0.5)
    x = np.linspace(0, 1, 8)
    fresh = settle_ngspice(net, second, x, "op")
    deck = render(net, first, inputs=x, analysis="none")
    ngspice.load(deck.text)
    ngspice.send_packed(DeviceWriter(net, deck.node_map).commands(second))
    after = np.array([ngspice.vector(ngspice.op(), n)[0] for n in activation_nodes(net)])
    assert np.max(np.abs(after - np.array(list(fresh.voltages.values())))) < 1e-9
