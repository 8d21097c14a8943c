"""A small finished behavioural run (digits, 64-6-10, 45 training images in 5 batches of 10, one
epoch): trained once per test session, copied fresh for every test that damages it."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from memprop.cosim.config import Config, parse
from memprop.cosim.trainer import Trainer

SMALL_RUN = """
[network]
layers = [64, 6, 10]
[data]
train_size = 50
test_size = 20
[train]
epochs = 1
batch_size = 10
checkpoint_every = 2
backend = "behavioral"
"""


def small_config(text: str = SMALL_RUN) -> Config:
    return parse(tomllib.loads(text))


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
