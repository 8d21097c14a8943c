"""Ctrl-C during a co-simulated run stops it within a second, with exit code 130, one line on stderr
and the last checkpoint intact (issue 14, item 8): a real `memprop train` with ngspice, a real SIGINT."""

from __future__ import annotations

import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from memprop.circuits.validation import ConfigError
from memprop.cosim.runs import rundir
from tests.capped import memprop_command

#: 40 batches an epoch: after the first mid-epoch checkpoint the run still has seconds to go, so
#: the signal cannot arrive after its end even on a loaded machine (at 100 images, ~0.3 s an
#: epoch once device writes got faster, a busy CI machine let the run finish first).
RUN = """
[network]
layers = [64, 16, 10]
[data]
train_size = 400
test_size = 20
validation = 0.0
[train]
epochs = 2
batch_size = 10
checkpoint_every = 2
{extra}
"""


def _mid_epoch_checkpoint(proc: subprocess.Popen, path: Path, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            meta = rundir.load_checkpoint(path)[1]
        except ConfigError:  # not written yet
            meta = {}
        if meta.get("batch", 0) > 0:
            return meta
        time.sleep(0.01)
    pytest.fail("no mid-epoch checkpoint within the timeout")


@contextmanager
def _ctrl_c_not_ignored():
    """Start the run as a terminal does, with Ctrl-C at its default. This test process may be
    ignoring SIGINT (a library an earlier test used can leave it so), and an ignored signal stays
    ignored across exec: the run never saw the Ctrl-C and went on to exit 0 (seen once in a full
    `make test`, both cases, with SIGINT ignored here)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


@pytest.mark.slow
@pytest.mark.parametrize("extra", ["", "isolate = true"], ids=["in-process", "isolated-worker"])
def test_ctrl_c_stops_an_ngspice_run_at_once_and_it_resumes(tmp_path, extra):
    config = tmp_path / "c.toml"
    config.write_text(RUN.format(extra=extra))
    run = tmp_path / "run"
    with _ctrl_c_not_ignored():
        proc = subprocess.Popen([*memprop_command(), "train", str(config), "--out", str(run), "--quiet", "--no-plots"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _mid_epoch_checkpoint(proc, run / rundir.CHECKPOINT)
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        out, err = proc.communicate(timeout=30)
        elapsed = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out + err
    # ~0.3 s on an idle machine; 1.1-1.7 s measured with five other jobs on its two cores. A Ctrl-C
    # that was swallowed would instead run the training to its end and exit 0 (checked above).
    assert elapsed < 5.0, elapsed
    assert err == (f"memprop: error: interrupted; {run} keeps the run up to its last checkpoint (continue it with "
                   "--resume)\n")
    _, meta = rundir.load_checkpoint(run / rundir.CHECKPOINT)
    assert meta["epoch"] < 2
    done = subprocess.run([*memprop_command(), "train", "--out", str(run), "--resume", "--quiet", "--no-plots"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [r["epoch"] for r in rundir.read_metrics(run / rundir.METRICS)] == [1, 2]
