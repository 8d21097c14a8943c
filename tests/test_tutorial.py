"""docs/tutorial.md cannot rot: its python code blocks run in order, in one namespace, in an empty
directory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).parent.parent / "docs" / "tutorial.md"


def python_blocks(markdown: str) -> list[str]:
    """The bodies of the ```python fenced blocks, in order."""
    return re.findall(r"^```python\n(.*?)^```$", markdown, flags=re.S | re.M)


@pytest.mark.slow
def test_the_tutorial_runs(tmp_path, monkeypatch, ngspice, capsys):
    blocks = python_blocks(TUTORIAL.read_text())
    assert len(blocks) >= 6
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "tutorial"}
    for k, block in enumerate(blocks, start=1):
        exec(compile(block, f"{TUTORIAL}: python block {k}", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "refused: memprop.layered: neuron.level: must be one of" in printed and "ngspice in the loop" in printed
    assert (tmp_path / "export-hspice" / "network.sp").exists() and (tmp_path / "run" / "checkpoint.npz").exists()


def test_block_extraction_keeps_order_and_skips_other_languages():
    text = "```python\na = 1\n```\n```sh\nrm -rf /\n```\n```python\nb = a\n```\n"
    assert python_blocks(text) == ["a = 1\n", "b = a\n"]
