"""Command-line values that used to confuse memprop, and outputs that were silently wrong
(issue 14, items 9 and 10)."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from memprop.cosim.cli import main
from tests.errors import one_error_line


@pytest.mark.parametrize("args, name", [
    (["netgen", "-o", ""], "-o"),
    (["netgen", "-o", "deck.cir", "--map", ""], "--map"),
    (["export", "--config", "c.toml", "-o", ""], "-o"),
    (["train", "c.toml", "--out", "", "--quiet"], "--out"),
    (["eval", ""], "RUN"),
    (["config", "show", ""], "CONFIG"),
], ids=["netgen-o", "netgen-map", "export-o", "train-out", "eval-run", "config-show"])
def test_an_empty_path_is_refused_by_name_and_nothing_is_written(tmp_path, monkeypatch, args, name):
    """An empty path meant the current directory: `train --out ""` trained into it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text("[train]\nbackend = \"behavioral\"\nepochs = 1\n[data]\ntrain_size = 20\n")
    line = one_error_line(CliRunner().invoke(main, args))
    assert line == f"memprop: error: {name}: is empty: give a path (. for the current directory)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]


@pytest.mark.parametrize("address", ["foo://", "tcp://", "tcp://host", "tcp://host:8786/path", "local ",
                                     "inproc://x"])
def test_a_malformed_scheduler_address_is_a_clear_error_before_any_file(tmp_path, address):
    out = tmp_path / "run"
    line = one_error_line(CliRunner().invoke(main, ["train", "--out", str(out), "--scheduler", address, "--quiet"]))
    assert line.startswith("memprop: error: --scheduler: must be empty, local, or a Dask scheduler's address like "
                           "tcp://host:8786")
    assert not out.exists()


def test_export_of_a_cmos_network_is_written_as_transistors_not_as_a_macromodel(tmp_path):
    config = tmp_path / "cmos.toml"
    config.write_text('[neuron]\nlevel = "cmos"\n')
    out = tmp_path / "export"
    result = CliRunner().invoke(main, ["export", "--config", str(config), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = (out / "network.cir").read_text()
    assert ".model nch nmos level=1" in text and "macromodel" not in text


def test_export_of_a_sky130_network_is_refused(tmp_path):
    config = tmp_path / "sky.toml"
    config.write_text('[neuron]\nlevel = "sky130"\nr_f = 100e3\nv_high = 0.5\n')
    out = tmp_path / "export"
    line = one_error_line(CliRunner().invoke(main, ["export", "--config", str(config), "-o", str(out)]))
    assert line == ("memprop: error: neuron.level: export writes ideal, macromodel and cmos neurons, not the sky130 "
                    "one (use `memprop netgen` for its ngspice deck)")
    assert not out.exists()


def test_validation_transients_do_not_need_numpy_2(ngspice, monkeypatch):
    """pyproject allows numpy 1.24, which has no np.trapezoid."""
    from memprop.circuits.devices import DEVICE_MODELS
    from memprop.circuits.network import glorot_states, layered_network
    from memprop.circuits.neuron import Neuron
    from memprop.cosim.runs.validate import _transient

    monkeypatch.delattr(np, "trapezoid", raising=False)
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (4, 3, 2))
    result = _transient(net, glorot_states(net, 0), np.full(4, 0.5), 5e-6)
    assert 0 < result["energy_to_settle_j"] <= result["energy_window_j"]
