"""The public API (`import memprop`): every function against the simulator and against the CLI it
backs, its docstring examples run as doctests, and bad input as ConfigError."""

from __future__ import annotations

import doctest
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import memprop
from memprop import api
from memprop.cosim.cli import main

SMALL_DATA = {"train_size": 40, "test_size": 20, "validation": 0.25}
PYTHON_ENV = {**os.environ, "PYTHONPATH": str(Path(memprop.__file__).parent.parent)}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A one-epoch behavioural run of a 64-8-10 network: the trained run the other tests read."""
    where = tmp_path_factory.mktemp("api")
    cfg = memprop.layered([64, 8, 10], data=SMALL_DATA, train={"backend": "behavioral", "epochs": 1})
    memprop.train(cfg, where / "run", plots=False)
    return where / "run"


def test_import_is_cheap_and_help_shows_every_function_with_an_example():
    code = "import sys, memprop; print('numpy' in sys.modules, 'memprop.api' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=PYTHON_ENV, check=True)
    assert out.stdout.split() == ["False", "False"]
    text = subprocess.run([sys.executable, "-c", "import memprop; help(memprop)"], capture_output=True, text=True,
                          env={**PYTHON_ENV, "PAGER": "cat", "MANPAGER": "cat"}, check=True).stdout
    functions = text[text.index("\nFUNCTIONS"):]
    for name in memprop.__all__:
        if callable(getattr(memprop, name)) and name[0].islower():
            block = re.search(rf"\n    {name}\(.*?(?=\n    \w+\(|\nDATA|\Z)", functions, re.S)
            assert block and "Example:" in block.group(0) and ">>> " in block.group(0), name


def test_docstring_examples_run(run_dir, monkeypatch):
    """Every `>>>` example in memprop.api runs as written (beside the fixture's trained `run`)."""
    monkeypatch.chdir(run_dir.parent)
    result = doctest.testmod(api, extraglobs={"memprop": memprop}, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 20 and result.failed == 0


# ---- configs and networks ----
def test_config_from_dict_text_and_file_agree(tmp_path):
    text = '[network]\nlayers = [4, 3, 2]\n[neuron]\nlevel = "macromodel"\n'
    (tmp_path / "c.toml").write_text(text)
    from_dict = memprop.config({"network": {"layers": [4, 3, 2]}, "neuron": {"level": "macromodel"}})
    assert from_dict == memprop.config(text) == memprop.config(tmp_path / "c.toml") == memprop.config(str(tmp_path / "c.toml"))
    assert memprop.config(from_dict, train={"epochs": 3}).train.epochs == 3
    switched = memprop.config(from_dict, device={"model": "hp-biolek"})  # the vteam parameters do not follow
    assert switched.device.model == "hp-biolek" and switched.network.layers == (4, 3, 2)
    assert memprop.config().network.layers == (64, 32, 10)  # the defaults


@pytest.mark.parametrize("bad, words", [
    ({"network": {"layres": [4, 2]}}, "network.layres: unknown key"),
    ({"neuron": {"r_f": -1.0}}, "neuron.r_f"),
    ({"nope": {}}, "unknown section"),
    (42, "give a Config, a dict of tables"),
    ("[network]\nlayers = ", "not valid TOML"),
])
def test_config_refuses_bad_input_naming_the_field(bad, words):
    with pytest.raises(memprop.ConfigError, match=re.escape(words)):
        memprop.config(bad)


def test_layered_builds_the_network_it_names():
    cfg = memprop.layered([4, 3, 2], neuron="macromodel", device="hp-biolek", bias=False)
    net = memprop.network(cfg)
    assert (net.topology, net.n_inputs, net.n_neurons) == ("layered", 4, 5)
    assert (net.neuron.level, net.device.kind, net.has_bias) == ("macromodel", cfg.device.build().kind, False)
    # a differential pair per weight, forward and feedback (programmed as its transpose), no bias pairs
    assert net.n_devices == 2 * (4 * 3 + 3 * 2 + 2 * 3)
    with pytest.raises(memprop.ConfigError, match="layers"):
        memprop.layered("4,3,2")
    with pytest.raises(memprop.ConfigError, match="device"):
        memprop.layered([4, 3, 2], device="nope")


def test_recurrent_builds_the_network_it_names():
    net = memprop.network(memprop.recurrent(6, 4, 2, neuron="cmos"))
    assert (net.topology, net.n_inputs, net.n_neurons, net.neuron.level) == ("recurrent", 4, 6, "cmos")
    assert net.group(net.output_group).size == 2
    with pytest.raises(memprop.ConfigError, match="outputs"):
        memprop.recurrent(3, 4, 5)


# ---- simulation ----
def test_netlist_is_the_netgen_deck_and_runs_in_ngspice(tmp_path):
    cfg_path = tmp_path / "c.toml"
    cfg_path.write_text('[network]\nlayers = [4, 3, 2]\n')
    result = CliRunner().invoke(main, ["netgen", str(cfg_path), "-o", str(tmp_path / "cli.cir")])
    assert result.exit_code == 0, result.output
    deck = memprop.netlist(cfg_path)
    assert deck.text == (tmp_path / "cli.cir").read_text()
    (tmp_path / "api.cir").write_text(deck.text)
    proc = subprocess.run(["ngspice", "-b", "api.cir"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "l2_001_v" in deck.node_map.get("l2", [""])[-1] + proc.stdout.lower()
    with pytest.raises(memprop.ConfigError, match="analysis"):
        memprop.netlist(cfg_path, analysis="ac")


def test_settle_agrees_between_ngspice_and_the_twin(ngspice):
    cfg = memprop.layered([4, 3, 2], neuron="macromodel")
    spice, twin = memprop.settle(cfg, "ngspice"), memprop.settle(cfg, "behavioral")
    assert list(spice.voltages) == list(twin.voltages) == ["l1_000_v", "l1_001_v", "l1_002_v", "l2_000_v", "l2_001_v"]
    assert max(abs(spice.voltages[k] - twin.voltages[k]) for k in spice.voltages) < 1e-3
    with pytest.raises(memprop.ConfigError, match="backend"):
        memprop.settle(cfg, "hspice")


# ---- runs ----
def test_train_returns_the_run_it_wrote(run_dir):
    run = memprop.open_run(run_dir)
    assert run.epochs == 1 and len(run.metrics) == 1 and run.test_accuracy == run.metrics[0]["test_accuracy"]
    assert all(path.exists() for path in run.paths.values() if path.name != "network.cir")
    initial = api._as_config(run.config)
    from memprop.cosim.config.config import build_network, initial_states

    start = initial_states(initial, build_network(initial))
    assert any(not np.array_equal(start[name], x) for name, x in run.states.items())  # training moved devices


def test_train_resumes_and_refuses_what_it_cannot_do(tmp_path):
    cfg = memprop.layered([64, 4, 10], data=SMALL_DATA, train={"backend": "behavioral"})
    first = memprop.train(cfg, tmp_path / "r", epochs=1, plots=False)
    assert first.epochs == 1 and first.artifacts == []
    resumed = memprop.train(None, tmp_path / "r", resume=True, epochs=2, plots=False)
    assert resumed.epochs == 2 and [row["epoch"] for row in resumed.metrics] == [1, 2]
    with pytest.raises(memprop.ConfigError, match="resume"):
        memprop.train(cfg, tmp_path / "r", resume=True)
    with pytest.raises(memprop.ConfigError, match="train.epoch: unknown key"):
        memprop.train(cfg, tmp_path / "r2", epoch=1)
    with pytest.raises(memprop.ConfigError, match="10 outputs"):
        memprop.train(memprop.layered([64, 4, 3]), tmp_path / "r3")


def test_train_with_plots_writes_the_deck_and_pictures(tmp_path, ngspice):
    cfg = memprop.layered([64, 4, 10], data={**SMALL_DATA, "train_size": 10, "test_size": 5},
                          train={"backend": "behavioral", "epochs": 1})
    rows = []
    run = memprop.train(cfg, tmp_path / "p", report=rows.extend)
    assert len(rows) == 1 and {p.name for p in run.artifacts} >= {"network.cir", "learning_curves.png"}
    assert all(p.stat().st_size > 0 for p in run.artifacts)


def test_open_run_refuses_a_missing_directory(tmp_path):
    with pytest.raises(memprop.ConfigError, match="no such run directory"):
        memprop.open_run(tmp_path / "nothing")
    with pytest.raises(memprop.ConfigError, match="run"):
        memprop.open_run("")


def test_evaluate_is_what_the_cli_prints_and_what_training_measured(run_dir):
    figures = memprop.evaluate(run_dir)
    cli = CliRunner().invoke(main, ["eval", str(run_dir), "--json"])
    assert cli.exit_code == 0 and json.loads(cli.output) == figures
    assert figures["test_accuracy"] == pytest.approx(memprop.open_run(run_dir).test_accuracy)
    with pytest.raises(memprop.ConfigError, match="backend"):
        memprop.evaluate(run_dir, backend="xyce")


# ---- export and validation ----
def test_dialects_are_the_cli_listing():
    listing = CliRunner().invoke(main, ["export", "--list"]).output.splitlines()
    assert listing == [f"{name:<9} {line}" for name, line in memprop.dialects().items()]


def test_export_of_a_trained_run_runs_in_ngspice_at_its_trained_equilibrium(run_dir, tmp_path, ngspice):
    trained = memprop.export(run_dir, tmp_path / "t")
    untrained = memprop.export(memprop.open_run(run_dir).config, tmp_path / "u")
    assert [f.name for f in trained] == ["network.cir", "testbench.cir"]
    assert trained[0].read_text() != untrained[0].read_text()  # trained resistances, not the initial ones
    proc = subprocess.run(["ngspice", "-b", "testbench.cir"], cwd=tmp_path / "t", capture_output=True, text=True,
                          timeout=120)
    got = {m.group(1): float(m.group(2)) for m in re.finditer(r"v\((\w+)\) = (\S+)", proc.stdout)}
    run = memprop.open_run(run_dir)
    from memprop.cosim.engines.settle import sample_inputs, settle_ngspice

    net = memprop.network(run.config)
    ref = settle_ngspice(net, run.states, sample_inputs(run.config, net)).voltages
    assert set(got) == set(ref) and max(abs(got[k] - ref[k]) for k in ref) < 1e-3
    with pytest.raises(memprop.ConfigError, match="unknown dialect"):
        memprop.export(run_dir, tmp_path / "x", dialect="pspice")
    assert not (tmp_path / "x").exists()
    with pytest.raises(memprop.ConfigError, match="directory"):
        memprop.export(run_dir, "")  # not silently the current directory


def test_validate_at_the_macromodel_level_keeps_the_accuracy(run_dir, ngspice):
    result = memprop.validate(run_dir, "macromodel", images=10, transients=1)
    assert (result["level"], result["reference_level"], result["validated"]["images"]) == ("macromodel", "ideal", 10)
    assert abs(result["accuracy_change_points"]) <= 10.0  # a gain-1e5 op-amp barely moves the equilibria
    assert result["validated_mean_energy_j"] > 0
    with pytest.raises(memprop.ConfigError, match="level"):
        memprop.validate(run_dir, "vacuum-tube")
    with pytest.raises(memprop.ConfigError, match="images"):
        memprop.validate(run_dir, "macromodel", images=0)


def test_validate_without_transients_reports_no_settling_or_energy_and_warns_of_nothing(run_dir, ngspice):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a mean of no transients used to warn and give NaN
        result = memprop.validate(run_dir, "macromodel", images=3, transients=0)
    assert result["transients"] == [] and result["validated"]["images"] == 3
    assert not any(k.endswith("_mean_energy_j") or k.endswith("_settling_time_s") for k in result)
