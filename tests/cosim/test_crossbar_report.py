"""`memprop bench crossbar-write --quick`: the whole pipeline (ngspice vs twin on every model, the
training runs on a one-epoch, 100-image plan), and the training setups' configs."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.programming import HALF_SELECT
from memprop.cosim.cli import main
from memprop.cosim.config.config import Config
from memprop.cosim.bench.crossbar_write import CASES, COMMAND, SETUPS, SKIPPED, training_config
from memprop.cosim.bench.programming import programming_plan


@pytest.mark.slow
def test_quick_crossbar_bench_writes_both_tables_the_picture_and_the_numbers(tmp_path):
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["bench", "crossbar-write", "--quick", "-o", str(out)])
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert len(results["spice"]) == len(DEVICE_MODELS) * len(CASES) * 2
    assert results["met"] and results["worst_difference"] < 0.01
    assert sorted(results["training"]) == sorted(f"{s}/{h}" for s in SETUPS for h in HALF_SELECT
                                                 if (s, h) not in SKIPPED)
    report = (out / "report.md").read_text()
    assert COMMAND in report and "**met**" in report
    assert f"{100 * results['worst_difference']:.1e} %" in report
    training = results["training"]
    # below threshold the lines change nothing the devices keep; without one (HP) they do
    assert training["vteam/v2"]["test_accuracy"] == training["vteam/none"]["test_accuracy"]
    assert training["vteam/v2"]["update_rms_error"] == training["vteam/none"]["update_rms_error"]
    assert training["hp-biolek/v2"]["update_correlation"] < training["hp-biolek/none"]["update_correlation"]
    assert (out / "crossbar-write.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("setup", list(SETUPS))
@pytest.mark.parametrize("half_select", HALF_SELECT)
def test_a_setup_is_the_default_config_but_for_devices_pulses_and_seed(setup, half_select):
    cfg = training_config(setup, half_select, 1, programming_plan())
    base = Config()
    model, factor, sigma = SETUPS[setup]
    assert cfg.device.model == model and cfg.pulse.half_select == half_select
    assert cfg.nonideal.threshold_sigma == sigma
    assert cfg.train.update == "pulse" and cfg.train.seed == 1 and cfg.network.seed == 1
    assert cfg.network.layers == base.network.layers and cfg.data == base.data
    resolved = cfg.pulse.resolved(DEVICE_MODELS[model])
    default = base.pulse.resolved(DEVICE_MODELS[model])
    assert resolved.v_set == pytest.approx(factor * default.v_set)
