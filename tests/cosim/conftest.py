"""The small run of tests/cosim/runs.py, trained once per test session and copied fresh for every
test that damages it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from memprop.cosim.runs.trainer import Trainer
from tests.cosim.runs import small_config


@pytest.fixture(scope="session")
def small_finished(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("small") / "run"
    Trainer(small_config(), run).run()
    return run


@pytest.fixture
def small_run(small_finished, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(small_finished, copy)
    return copy
