"""Run directories under hostile conditions: damaged metrics, concurrent processes, failed starts,
killed writers (issue 14, items 4 and 9)."""

from __future__ import annotations

import os
import subprocess
import time
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from memprop.cosim.runs import rundir
from memprop.cosim.cli import main
from tests.cosim.runs import SMALL_RUN
from tests.errors import one_error_line
from tests.capped import CAP_MB, memprop_command, run_capped

def _train(*args: str):
    return CliRunner().invoke(main, ["train", *args, "--quiet", "--no-plots"])


@pytest.mark.parametrize("row, why", [
    (b'{"epoch": 1, "x": "\xff\xfe"}', "line 2 is not UTF-8 text"),
    (b"[1, 2]", "line 2 is not a row of metrics (a JSON object with an epoch number)"),
    (b'{"epoch": "one"}', "line 2 is not a row of metrics (a JSON object with an epoch number)"),
    (b'{"epoch": true}', "line 2 is not a row of metrics (a JSON object with an epoch number)"),
    (b"[" * 100_000, "line 2 is not JSON"),
], ids=["bad-utf8", "array", "epoch-string", "epoch-bool", "deeply-nested"])
def test_a_damaged_metrics_row_is_a_clear_error(small_run, row, why):
    metrics = small_run / rundir.METRICS
    metrics.write_bytes(metrics.read_bytes() + row + b"\n")
    before = metrics.read_bytes()
    line = one_error_line(_train("--out", str(small_run), "--resume"))
    assert line == f"memprop: error: {metrics}: metrics: {why}"
    assert metrics.read_bytes() == before


def test_a_huge_metrics_file_is_refused_by_its_size(small_run):
    with open(small_run / rundir.METRICS, "ab") as fh:
        fh.truncate(4 * 2**30)
    proc, rss = run_capped("train", "--out", str(small_run), "--resume", "--quiet", "--no-plots", timeout=60)
    assert proc.returncode == 2, proc.stderr
    metrics = small_run / rundir.METRICS
    assert proc.stderr == f"memprop: error: {metrics}: metrics: larger than {rundir.MAX_METRICS_BYTES} bytes\n"
    assert rss < CAP_MB


# ---------------------------------------------------------------- item 4: one process per run directory

def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"no {path} within {timeout} s"
        time.sleep(0.02)


@pytest.mark.slow
def test_a_second_process_on_a_run_directory_is_refused_and_a_killed_ones_lock_is_stale(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(SMALL_RUN.replace("epochs = 1", "epochs = 100000"))
    run = tmp_path / "run"
    first = subprocess.Popen([*memprop_command(), "train", str(config), "--out", str(run), "--quiet", "--no-plots"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(run / rundir.CHECKPOINT, first)
        second = subprocess.run([*memprop_command(), "train", "--out", str(run), "--resume", "--epochs", "1",
                                 "--quiet", "--no-plots"], capture_output=True, text=True, timeout=120)
        assert first.poll() is None, "the first run must still be going"
        assert second.returncode == 2, second.stdout + second.stderr
        assert second.stderr == (f"memprop: error: {run}: run directory: is in use by another memprop process "
                                 f"(pid {first.pid}); wait for it to finish or choose another directory\n")
        assert tomllib.loads((run / rundir.CONFIG).read_text())["train"]["epochs"] == 100000  # untouched
    finally:
        first.kill()
        first.wait()
    assert (run / rundir.LOCK).exists()  # left by the killed process: stale, since its flock died with it
    _, meta = rundir.load_checkpoint(run / rundir.CHECKPOINT)
    done = _train("--out", str(run), "--resume", "--epochs", str(meta["epoch"] + 1))
    assert done.exit_code == 0, done.output
    assert not (run / rundir.LOCK).exists()
    _, meta_after = rundir.load_checkpoint(run / rundir.CHECKPOINT)
    assert (meta_after["epoch"], meta_after["batch"]) == (meta["epoch"] + 1, 0)


# ---------------------------------------------------------------- item 9: starts that fail, killed writers

def test_temporaries_of_a_killed_writer_are_removed_when_the_run_continues(small_run):
    left = [small_run / name for name in (".checkpoint.npz.k2j3h4l5", ".metrics.jsonl.0a1b2c3d.tmp",
                                          ".learning_curves.png.tmp.png")]
    for path in left:
        path.write_bytes(b"half a file")
    (small_run / ".notes.txt").write_text("not ours\n")
    result = _train("--out", str(small_run), "--resume", "--epochs", "2")
    assert result.exit_code == 0, result.output
    assert not any(p.exists() for p in left)
    assert (small_run / ".notes.txt").read_text() == "not ours\n"


def test_a_fresh_run_never_overwrites_a_metrics_history(small_run, tmp_path):
    (small_run / rundir.CHECKPOINT).unlink()
    before = {p.name: p.read_bytes() for p in small_run.iterdir()}
    config = tmp_path / "c.toml"
    config.write_text(SMALL_RUN)
    line = one_error_line(_train(str(config), "--out", str(small_run)))
    assert line == (f"memprop: error: {small_run}: run directory: holds the metrics history of an earlier run "
                    "(metrics.jsonl) but no checkpoint; move it away or choose another directory (nothing was "
                    "overwritten)")
    assert {p.name: p.read_bytes() for p in small_run.iterdir()} == before


def test_a_failed_resume_leaves_config_toml_alone(small_run):
    checkpoint = small_run / rundir.CHECKPOINT
    checkpoint.write_bytes(checkpoint.read_bytes()[:-100])
    before = (small_run / rundir.CONFIG).read_bytes()
    line = one_error_line(_train("--out", str(small_run), "--resume", "--epochs", "3"))
    assert "checkpoint" in line
    assert (small_run / rundir.CONFIG).read_bytes() == before


def test_a_run_file_that_is_a_symlink_is_refused_before_the_run_starts(small_run, tmp_path):
    elsewhere = tmp_path / "elsewhere.jsonl"
    (small_run / rundir.METRICS).rename(elsewhere)
    (small_run / rundir.METRICS).symlink_to(elsewhere)
    before = elsewhere.read_bytes(), (small_run / rundir.CHECKPOINT).read_bytes()
    line = one_error_line(_train("--out", str(small_run), "--resume", "--epochs", "2"))
    assert line.startswith(f"memprop: error: {small_run / rundir.METRICS}: file: is a symbolic link")
    assert (small_run / rundir.METRICS).is_symlink()
    assert (elsewhere.read_bytes(), (small_run / rundir.CHECKPOINT).read_bytes()) == before


@pytest.mark.slow
def test_without_ngspice_the_run_fails_with_a_hint_and_leaves_nothing(tmp_path):
    """The engine (ngspice, the scheduler) is checked before the run directory gets any file, so the
    same command, run again, fails the same way (not with 'already holds a run')."""
    config = tmp_path / "c.toml"
    config.write_text(SMALL_RUN.replace('backend = "behavioral"', 'backend = "ngspice"'))
    run = tmp_path / "runs" / "new"
    for _ in range(2):
        proc = subprocess.run([*memprop_command(), "train", str(config), "--out", str(run), "--quiet", "--no-plots"],
                              capture_output=True, text=True, timeout=120, env={**os.environ,
                                                                                "NGSPICE_LIBRARY_PATH": "/etc/passwd"})
        assert proc.returncode == 3, proc.stderr
        assert proc.stderr.startswith("memprop: error: cannot load ngspice's shared library (cannot load library "
                                      "'/etc/passwd': /etc/passwd: invalid ELF header); install it with `sudo apt-get")
        assert proc.stderr.count("\n") == 1 and "NGSPICE_LIBRARY_PATH" in proc.stderr
        assert not run.exists()


@pytest.mark.parametrize("validation, labels", [(float("nan"), ["test"]), (0.5, ["test", "validation"])])
def test_the_accuracy_panel_shows_validation_only_where_a_split_was_held_out(validation, labels):
    import matplotlib.pyplot as plt

    from memprop.cosim.runs.plots import accuracy_panel

    rows = [{"epoch": e, "test_accuracy": 0.8, "validation_accuracy": validation} for e in (1, 2)]
    fig, ax = plt.subplots()
    accuracy_panel(ax, [1, 2], rows)
    assert ax.get_legend_handles_labels()[1] == labels
    plt.close(fig)
