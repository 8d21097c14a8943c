"""Run directories under hostile conditions: damaged metrics, concurrent processes, failed starts,
killed writers (issue 14, items 4 and 9)."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from memprop.cosim import rundir
from memprop.cosim.cli import main
from memprop.cosim.config import parse
from memprop.cosim.trainer import Trainer
from tests.capped import CAP_MB, run_capped

RUN = """
[network]
layers = [64, 8, 10]
[data]
train_size = 40
test_size = 20
[train]
epochs = 1
batch_size = 10
backend = "behavioral"
"""


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("finished") / "run"
    Trainer(parse(tomllib.loads(RUN)), run).run()
    return run


@pytest.fixture
def run(finished, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(finished, copy)
    return copy


def _train(*args: str):
    return CliRunner().invoke(main, ["train", *args, "--quiet", "--no-plots"])


def _error(result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    lines = result.stderr.split("\n")
    assert lines[0].startswith("memprop: error: ") and lines[1:] == [""], result.stderr
    return lines[0]


@pytest.mark.parametrize("row, why", [
    (b'{"epoch": 1, "x": "\xff\xfe"}', "line 2 is not UTF-8 text"),
    (b"[1, 2]", "line 2 is not a row of metrics (a JSON object with an epoch number)"),
    (b'{"epoch": "one"}', "line 2 is not a row of metrics (a JSON object with an epoch number)"),
    (b'{"epoch": true}', "line 2 is not a row of metrics (a JSON object with an epoch number)"),
    (b"[" * 100_000, "line 2 is not JSON"),
], ids=["bad-utf8", "array", "epoch-string", "epoch-bool", "deeply-nested"])
def test_a_damaged_metrics_row_is_a_clear_error(run, row, why):
    metrics = run / rundir.METRICS
    metrics.write_bytes(metrics.read_bytes() + row + b"\n")
    before = metrics.read_bytes()
    line = _error(_train("--out", str(run), "--resume"))
    assert line == f"memprop: error: {metrics}: metrics: {why}"
    assert metrics.read_bytes() == before


def test_a_huge_metrics_file_is_refused_by_its_size(run):
    with open(run / rundir.METRICS, "ab") as fh:
        fh.truncate(4 * 2**30)
    proc, rss = run_capped("train", "--out", str(run), "--resume", "--quiet", "--no-plots", timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == f"memprop: error: {run / rundir.METRICS}: metrics: larger than {rundir.MAX_METRICS_BYTES} bytes\n"
    assert rss < CAP_MB
