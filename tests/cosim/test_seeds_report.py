"""`memprop bench seeds`: the figures it reports are the runs' own, and its report says how to remake it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from memprop.cosim.runs import rundir
from memprop.cosim.cli import main
from memprop.cosim.bench.seeds import SeedsPlan, max_drop, run, seeds_config


def test_max_drop_is_the_largest_fall_between_consecutive_epochs():
    assert max_drop([0.5, 0.7, 0.6, 0.9, 0.65]) == pytest.approx(0.25)
    assert max_drop([0.1, 0.2, 0.3]) == 0.0
    assert max_drop([0.4]) == 0.0


def test_the_seeds_differ_in_train_seed_only_and_the_baseline_in_its_rates():
    plan = SeedsPlan(seeds=(0, 4))
    a, b, old = seeds_config("default", 0, plan), seeds_config("default", 4, plan), seeds_config("baseline", 0, plan)
    assert (a.train.seed, b.train.seed) == (0, 4) and a.network == b.network and a.data == b.data
    assert a.train.momentum == 0.9 and (old.train.momentum, old.train.lr_schedule, old.train.lr) == \
        (0.0, "constant", (0.2, 0.05))


@pytest.mark.slow
def test_the_report_holds_each_runs_metrics_and_their_summary(tmp_path):
    plan = SeedsPlan(seeds=(0, 1), epochs=2, train_size=120)
    results = run(tmp_path, plan, command="memprop bench seeds -o X", log=lambda s: None)
    per_seed = results["schedules"]["default"]["seeds"]
    for seed in (0, 1):
        rows = rundir.read_metrics(tmp_path / "runs" / f"default-seed{seed}" / rundir.METRICS)
        assert per_seed[seed]["test_accuracy"] == [r["test_accuracy"] for r in rows]
        best = max(rows, key=lambda r: (r["validation_accuracy"], -r["epoch"]))
        assert per_seed[seed]["best_validation"]["epoch"] == best["epoch"]
    acc = np.array([per_seed[s]["test_accuracy"] for s in (0, 1)])
    summary = results["schedules"]["default"]["summary"]
    assert summary["mean_by_epoch"] == pytest.approx(acc.mean(axis=0).tolist())
    assert summary["final_sd"] == pytest.approx(float(np.std(acc[:, -1], ddof=1)))
    assert summary["max_drop"] == max(max_drop(list(a)) for a in acc)
    assert results["sizes"]["train"] == 120 and results["sizes"]["test"] == 359
    text = (tmp_path / "report.md").read_text()
    assert "Regenerate: `memprop bench seeds -o X`" in text and "359 **test** images" in text
    assert f"{100 * summary['final_mean']:.2f} ± {100 * summary['final_sd']:.2f} %" in text
    assert json.loads((tmp_path / "results.json").read_text())["schedules"]["baseline"]["summary"]["max_drop"] >= 0


def test_the_cli_prints_its_own_command_into_the_report(tmp_path):
    out = tmp_path / "seeds"
    result = CliRunner().invoke(main, ["bench", "seeds", "-o", str(out), "--seed", "3", "--epochs", "1",
                                       "--no-baseline"])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "results.json").read_text())
    assert data["command"] == f"memprop bench seeds -o {out} --backend behavioral --seed 3 --epochs 1 --no-baseline"
    assert list(data["schedules"]) == ["default"] and list(data["schedules"]["default"]["seeds"]) == ["3"]
    assert data["command"] in (out / "report.md").read_text()
