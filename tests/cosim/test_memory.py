"""Memory bombs that pass validation are refused, with the estimate, before anything is allocated;
ngspice transients keep only the vectors memprop reads (issue 14, item 5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tomli_w

from memprop.circuits.network import glorot_states, layered_network
from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.neuron import Neuron
from memprop.cosim.engines.settle import activation_nodes, settle_ngspice
from memprop.cosim.simulator.session import NgSpiceSession
from memprop.netgen.deck import TranSpec
from tests.capped import CAP_MB, run_capped


def _config(tmp_path: Path, **sections: dict) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(tomli_w.dumps(sections))
    return path


@pytest.mark.parametrize("layers, cap_mb, words", [
    # the example: under the cap the twin's dense operators are already too much
    ([64, 4096, 10], CAP_MB, "network.layers: the numpy twin of this 4106-neuron network needs ~"),
    # with room for those, its wire-resistance model (~80 GiB) is refused
    ([64, 4096, 10], 4000, "network.wire_resistance: the wire-resistance model of crossbar l1_x (4096 x 64) needs ~"),
    # a small twin whose wire-resistance model alone is too large
    ([4096, 64, 10], CAP_MB, "network.wire_resistance: the wire-resistance model of crossbar l1_x (64 x 4096) needs ~"),
], ids=["issue-example", "issue-example-wires", "wide-inputs"])
def test_a_wire_resistance_network_too_large_for_memory_is_refused(tmp_path, layers, cap_mb, words):
    config = _config(tmp_path, network={"layers": layers, "wire_resistance": 1.0})
    proc, rss = run_capped("settle", str(config), "--backend", "behavioral", cap_mb=cap_mb, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"memprop: error: {words}") and "GiB of memory, more than the" in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert rss < CAP_MB


def test_a_transient_too_long_for_memory_is_refused_before_the_deck_is_built(tmp_path):
    config = _config(tmp_path, network={"layers": [64, 64, 10]},
                     sim={"analysis": "tran", "tran_step": 2.5e-11, "tran_stop": 2e-5})  # 8e5 steps
    proc, rss = run_capped("settle", str(config), timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("memprop: error: sim.tran_step: a transient of 8e+05 steps of 74 neurons needs ~")
    assert rss < CAP_MB


def _network():
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (4, 3, 2))
    return net, glorot_states(net, 0)


def test_a_settle_transient_keeps_only_the_activations(ngspice):
    net, states = _network()
    settle_ngspice(net, states, np.full(4, 0.5), "tran", TranSpec(1e-7, 2e-6))
    kept = set(ngspice.vector_names(ngspice._ng.last_plot))
    assert kept == set(activation_nodes(net)) | {"time"}


def test_waveform_and_validation_transients_keep_only_what_they_read(ngspice, monkeypatch):
    from memprop.cosim.runs.validate import _transient
    from memprop.cosim.engines.transient import transient_phases

    seen = []
    original = NgSpiceSession.tran

    def tran(self, *args, **kwargs):
        plot = original(self, *args, **kwargs)
        seen.append(set(self.vector_names(plot)))
        return plot

    monkeypatch.setattr(NgSpiceSession, "tran", tran)
    net, states = _network()
    wave = transient_phases(net, states, np.full(4, 0.5), np.array([1.0, 0.0]), [0.0, 0.3], 5e-6)
    assert wave.v.shape[1] == 5 and len(seen) == 2
    lines = ["l1_000", "l1_001", "l1_002", "l2_000", "l2_001"]
    assert all(s == {f"{ln}_{k}" for ln in lines for k in "vs"} | {"time"} for s in seen), seen
    result = _transient(net, states, np.full(4, 0.5), 5e-6)
    assert result["energy_window_j"] > 0
    assert len(seen[-1]) == 2 + 2 * 5 + 1  # outputs, each input and bias line with its source current, time
