"""`memprop bench offsets`: an op-amp input offset biases RBP's SPICE side network, not EP."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from memprop.circuits.validation import ConfigError
from memprop.cosim.cli import main
from memprop.cosim.bench.offsets import OffsetsPlan, measure, offset_config


def test_the_offset_reaches_every_neuron_of_the_macromodel():
    cfg = offset_config(1.0)
    assert cfg.neuron.level == "macromodel" and cfg.neuron.v_offset == pytest.approx(1e-3)
    assert cfg.network == type(cfg.network)()  # the default network otherwise


@pytest.mark.parametrize("kwargs, field", [({"offsets_mv": ()}, "offsets_mv"), ({"offsets_mv": (200.0,)},
                                          "offsets_mv[0]"), ({"beta": 0.0}, "beta"), ({"max_fd": 0}, "max_fd")])
def test_a_bad_plan_names_its_field(kwargs, field):
    with pytest.raises(ConfigError) as err:
        OffsetsPlan(**kwargs)
    assert err.value.field == field


@pytest.mark.slow
def test_an_offset_biases_the_side_network_and_ep_cancels_it(ngspice):
    plan = OffsetsPlan(max_fd=120)
    clean, offset = measure(0.0, plan), measure(1.0, plan)
    for row in (clean, offset):
        assert row["estimates"]["ep_spice"]["cosine"] > 0.999, row
        assert row["estimates"]["rbp_twin"]["cosine"] > 0.999, row
        assert row["estimates"]["ep_spice"]["relative_error"] < 1e-4, row  # EP in ngspice is EP in the twin
    assert clean["estimates"]["rbp_spice"]["cosine"] > 0.999, clean
    assert offset["estimates"]["rbp_spice"]["cosine"] < 0.95, offset  # 1 mV: the side network leans away
    assert offset["estimates"]["rbp_spice"]["relative_error"] > 10 * offset["estimates"]["ep_spice"]["relative_error"]


@pytest.mark.slow
def test_the_cli_writes_the_report_with_its_command(ngspice, tmp_path):
    out = tmp_path / "offsets"
    result = CliRunner().invoke(main, ["bench", "offsets", "-o", str(out), "--offset", "0.3", "--max-fd", "20"])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "results.json").read_text())
    assert data["command"] == f"memprop bench offsets -o {out} --offset 0.3 --max-fd 20"
    assert [r["offset_mv"] for r in data["rows"]] == [0.3] and data["rows"][0]["weights_checked"] == 20
    text = (out / "report.md").read_text()
    assert data["command"] in text and "| 0.3 |" in text


def test_a_bad_beta_on_the_command_line_names_the_option(tmp_path):
    result = CliRunner().invoke(main, ["bench", "offsets", "-o", str(tmp_path / "o"), "--beta", "0"])
    assert result.exit_code == 2 and "--beta: must be > 0" in result.output
    assert not (tmp_path / "o").exists()
