"""The CLI end to end: models, config show, settle on both backends."""

from __future__ import annotations

import json
import tomllib

from click.testing import CliRunner

from memprop.circuits.devices import DEVICE_MODELS
from memprop.cosim.cli import main
from memprop.cosim.config.config import Config, dumps, parse


def test_models_lists_every_registered_model_and_level():
    out = CliRunner().invoke(main, ["models"]).output
    for name, model in DEVICE_MODELS.items():
        assert f"device {name}:" in out
    for level in ("ideal", "macromodel", "cmos"):
        assert f"neuron level {level}" in out


def test_config_show_is_the_resolved_default_and_parses_back():
    result = CliRunner().invoke(main, ["config", "show"])
    assert result.exit_code == 0
    data = tomllib.loads(result.output)
    assert data["device"]["params"]["r_on"] == 10000.0  # resolved device parameters are included
    parsed, default = parse(data), Config()
    assert parsed.device.build() == default.device.build()
    for section in ("network", "neuron", "sim", "sample"):
        assert getattr(parsed, section) == getattr(default, section)
    assert result.output == dumps(Config())


def test_settle_json_on_both_backends_agree(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[network]\nlayers = [64, 16, 10]\n')
    outs = {}
    for backend in ("ngspice", "behavioral"):
        result = CliRunner().invoke(main, ["settle", str(cfg), "--backend", backend, "--json"])
        assert result.exit_code == 0, result.output
        payload = json.loads(result.output)
        assert payload["backend"] == backend
        outs[backend] = payload["voltages"]
    assert list(outs["ngspice"]) == [f"l1_{k:03d}_v" for k in range(16)] + [f"l2_{k:03d}_v" for k in range(10)]
    assert max(abs(outs["ngspice"][k] - outs["behavioral"][k]) for k in outs["ngspice"]) < 1e-3
    assert len({round(v, 6) for v in outs["ngspice"].values()}) > 5  # a real, varied equilibrium


def test_settle_table_shows_both_backends_side_by_side():
    result = CliRunner().invoke(main, ["settle", "--backend", "both"])
    assert result.exit_code == 0, result.output
    assert "ngspice" in result.output and "behavioral" in result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("max |ngspice - behavioral| =")
    assert float(last.split("=")[1].split()[0]) < 1.0  # mV


def test_bad_config_is_one_clear_line_not_a_traceback(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[neuron]\nr_f = -5\n')
    result = CliRunner().invoke(main, ["settle", str(cfg)])
    assert result.exit_code == 2
    assert "bad.toml: neuron.r_f: must be >= 1" in result.output
    assert "Traceback" not in result.output
