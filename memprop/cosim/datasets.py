"""Datasets: scikit-learn's 8x8 digits ship offline and are the embedded default."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Dataset:
    """Images scaled to [0, 1] (rows = samples) and integer labels."""

    name: str
    x: np.ndarray
    y: np.ndarray
    n_classes: int


def digits() -> Dataset:
    """scikit-learn's load_digits: 1797 real 8x8 handwritten digits, pixel values 0..16 -> [0, 1]."""
    from sklearn.datasets import load_digits

    raw = load_digits()
    return Dataset("digits", raw.data.astype(float) / 16.0, raw.target.astype(int), 10)
