"""A small behavioural run (digits, 64-6-10, 45 training images in 5 batches of 10, one epoch)."""

from __future__ import annotations

import tomllib

from memprop.cosim.config.config import Config, parse

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
