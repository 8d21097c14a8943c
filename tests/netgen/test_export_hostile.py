"""Free text in exports stays comments, in every dialect: a run directory's name (or any title) that
holds `.control` / `shell` lines must not reach a netlist as lines of their own (issue 14, item 1)."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import glorot_states, layered_network
from memprop.circuits.neuron import Neuron
from memprop.cosim.cli import main
from memprop.cosim.config.config import parse
from memprop.cosim.runs.trainer import Trainer
from memprop.netgen.dialects import DIALECTS
from memprop.netgen.export import build

#: Lines that would run a command or change the reading of the rest of the file in some dialect.
INJECTION = "\n.control\nshell touch PWNED\n.endc\n.include /etc/passwd\nsimulator lang=spice\n\u2028control\n"
MARKERS = ("PWNED", "/etc/passwd", "lang=spice", "control")


def _hostile_files(dialect: str) -> dict[str, str]:
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (3, 2, 2))
    netlist = build(net, glorot_states(net, 0), np.array([0.1, 0.5, 0.9]), title=f"memprop export{INJECTION}",
                    comments=[f"a comment{INJECTION}"])
    return DIALECTS[dialect]().files(netlist)


def _assert_injection_is_only_comments(dialect: str, files: dict[str, str]) -> None:
    d = DIALECTS[dialect]()
    network = next(name for name in files if name.startswith("network"))
    assert "PWNED" in files[network], "the hostile text should be there, as comments"
    for name, text in files.items():
        assert text.splitlines() == text.split("\n")[:-1], f"{name}: a line break other than \\n"
        if name.startswith("testbench"):  # has its own control block, and no free text
            assert "PWNED" not in text
            continue
        for line in text.splitlines():
            if any(m in line for m in MARKERS):
                assert line.startswith(d.comment_prefix), f"{name}: {line!r} is not a comment"
        if name == network:
            assert d.violations(text) == [], name


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_hostile_title_and_comments_stay_comments(dialect):
    _assert_injection_is_only_comments(dialect, _hostile_files(dialect))


def test_ngspice_runs_the_hostile_export_without_running_its_text(tmp_path):
    for name, text in _hostile_files("ngspice").items():
        (tmp_path / name).write_text(text)
    proc = subprocess.run(["ngspice", "-b", "testbench.cir"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (tmp_path / "PWNED").exists()


RUN = """
[network]
layers = [64, 4, 10]
[data]
train_size = 20
test_size = 10
[train]
epochs = 1
backend = "behavioral"
"""


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> Path:
    """A trained run in a directory whose name holds the injection."""
    run = tmp_path_factory.mktemp("hostile") / f"run{INJECTION}"
    Trainer(parse(tomllib.loads(RUN)), run).run()
    return run


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_export_of_a_run_with_a_hostile_name(hostile_run, tmp_path, dialect):
    out = tmp_path / "export"
    result = CliRunner().invoke(main, ["export", str(hostile_run), "--dialect", dialect, "-o", str(out)])
    assert result.exit_code == 0, result.output
    files = {p.name: p.read_text() for p in out.iterdir()}
    _assert_injection_is_only_comments(dialect, files)
    if dialect == "ngspice" and shutil.which("ngspice"):
        proc = subprocess.run(["ngspice", "-b", "testbench.cir"], cwd=out, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert not (out / "PWNED").exists()


def test_one_safe_line_for_titles_and_report_cells():
    from memprop.circuits.validation import one_safe_line

    assert one_safe_line(f"quick{INJECTION}") == ("quick / .control / shell touch PWNED / .endc / .include "
                                                  "/etc/passwd / simulator lang=spice / control")
    assert one_safe_line("a\x00b") == "a?b"
