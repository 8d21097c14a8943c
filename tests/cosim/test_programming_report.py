"""`memprop bench programming --quick`: the whole report pipeline on a one-epoch, 100-image plan."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from memprop.cosim.cli import main
from memprop.cosim.bench.programming import COMMAND, METHODS, acceptance, method_config, programming_plan


def report_rows(out):
    return [line for line in (out / "report.md").read_text().splitlines()
            if line.startswith("| ") and not line.startswith("| method")]


@pytest.mark.slow
def test_quick_programming_bench_writes_the_table_the_picture_and_the_numbers(tmp_path):
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["bench", "programming", "--quick", "-o", str(out)])
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert sorted(results["methods"]) == sorted(METHODS)
    assert [line.split(" | ")[0][2:] for line in report_rows(out)] == list(METHODS)  # report order
    report = (out / "report.md").read_text()
    assert COMMAND in report and "![" in report
    for method, figures in results["methods"].items():
        row = next(line for line in report.splitlines() if line.startswith(f"| {method} |"))
        assert f"| {100 * figures['test_accuracy']:.1f} |" in row, row
        assert f"| {figures['update_correlation']:.3f} |" in row, row
    assert results["methods"]["ideal"]["update_correlation"] > 0.999
    assert results["methods"]["write-verify"]["verify_reads_per_epoch"] > 0
    assert results["methods"]["manhattan"]["unwritten_fraction"] == 0.0
    assert (out / "programming.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert results["acceptance"]["best"] in METHODS[1:]


def test_every_method_is_the_default_config_but_for_the_writes_and_the_seed():
    plan = programming_plan()
    assert plan.epochs == 5 and plan.train_size == 0 and plan.test_size == 0
    ideal, legacy = method_config("ideal", 0, plan), method_config("set-calibrated", 1, plan)
    assert ideal.train.update == "ideal" and legacy.train.update == "pulse"
    assert legacy.pulse.scheme == "set-calibrated" and legacy.pulse.seed == legacy.train.seed == 1
    assert ideal.train.backend == legacy.train.backend == "behavioral"
    assert ideal.data == legacy.data and ideal.neuron == legacy.neuron and ideal.device == legacy.device


def test_acceptance_needs_both_the_accuracy_and_the_correlation():
    def method(acc, corr):
        return {"test_accuracy": acc, "update_correlation": corr, "accuracy_mean": acc}
    close = {"ideal": method(0.97, 1.0), "a": method(0.966, 0.95), "b": method(0.90, 0.99)}
    assert acceptance(close)["met"] and acceptance(close)["best"] == "a"
    assert not acceptance({**close, "a": method(0.966, 0.85)})["met"]
    assert not acceptance({"ideal": method(0.97, 1.0), "a": method(0.96, 0.95)})["met"]
