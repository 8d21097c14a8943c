"""Hostile IDX files through the real CLI: gzip bombs and huge files are refused within a 500 MB
memory cap (issue 14, item 5); wrong contents are refused before anything trains (item 7)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from click.testing import CliRunner

from memprop.cosim.cli import main
from memprop.cosim.data.datasets import IDX_FILES, MAX_IDX_BYTES
from tests.capped import CAP_MB, run_capped


def _idx(array: np.ndarray) -> bytes:
    array = np.asarray(array, dtype=np.uint8)
    return struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def _dataset(directory: Path, **override: bytes) -> Path:
    """The four mnist IDX files (12 train, 7 test images), any of them replaced by raw bytes."""
    rng = np.random.default_rng(3)
    files = {"train_x": _idx(rng.integers(0, 256, (12, 28, 28))), "train_y": _idx(rng.integers(0, 10, 12)),
             "test_x": _idx(rng.integers(0, 256, (7, 28, 28))), "test_y": _idx(rng.integers(0, 10, 7))}
    directory.mkdir(parents=True, exist_ok=True)
    for key, raw in {**files, **override}.items():
        (directory / f"{IDX_FILES[key]}.gz").write_bytes(raw if raw.startswith(b"\x1f\x8b") else gzip.compress(raw))
    return directory


def _config(tmp_path: Path, data_dir: Path, verify: bool = False) -> Path:
    path = tmp_path / "mnist.toml"
    path.write_text(tomli_w.dumps({"network": {"layers": [784, 4, 10]},
                                   "data": {"dataset": "mnist", "data_dir": str(data_dir), "verify": verify,
                                            "validation": 0.0},
                                   "train": {"backend": "behavioral", "epochs": 1}}))
    return path


def _bomb(header_dims: tuple[int, ...], zeros_gb: float) -> bytes:
    """A gzip of an IDX header and `zeros_gb` GB of zeros, a few hundred kB (concatenated members)."""
    block = gzip.compress(bytes(16 * 2**20), compresslevel=9)
    head = gzip.compress(struct.pack(">HBB", 0, 0x08, len(header_dims)) + struct.pack(f">{len(header_dims)}I",
                                                                                     *header_dims))
    return head + block * int(zeros_gb * 2**30 / (16 * 2**20))


@pytest.mark.parametrize("verify", [False, True], ids=["unverified", "verified"])
def test_a_gzip_bomb_is_refused_without_being_decompressed(tmp_path, verify):
    bomb = _bomb((60000, 28, 28), 1.6)
    assert len(bomb) < 2 * 2**20
    data = _dataset(tmp_path / "data", train_x=bomb)
    proc, rss = run_capped("data", "info", str(_config(tmp_path, data, verify)), timeout=60)
    assert proc.returncode == 2, proc.stderr
    path = data / f"{IDX_FILES['train_x']}.gz"
    assert proc.stderr == (f"memprop: error: data.data_dir: {path}: header says (60000, 28, 28) but holds more "
                           "bytes\n")
    assert rss < CAP_MB


def test_a_header_asking_for_terabytes_is_refused_by_its_estimate(tmp_path):
    data = _dataset(tmp_path / "data", train_x=_bomb((2**32 - 1, 28, 28), 0.1))
    proc, rss = run_capped("data", "info", str(_config(tmp_path, data)), timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert (f"header says (4294967295, 28, 28), 3367254359280 bytes: more than the {MAX_IDX_BYTES} bytes of an IDX "
            "file memprop reads") in proc.stderr
    assert rss < CAP_MB


def test_a_huge_raw_idx_file_is_refused_by_its_size(tmp_path):
    data = _dataset(tmp_path / "data")
    (data / f"{IDX_FILES['train_x']}.gz").unlink()
    with open(data / IDX_FILES["train_x"], "wb") as fh:
        fh.truncate(4 * 2**30)
    proc, rss = run_capped("data", "info", str(_config(tmp_path, data)), timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (f"memprop: error: {data / IDX_FILES['train_x']}: data.data_dir: larger than "
                           f"{MAX_IDX_BYTES} bytes\n")
    assert rss < CAP_MB


# ---------------------------------------------------------------- item 7: contents

BAD_CONTENTS = {
    "pixels-28x27": ({"train_x": _idx(np.zeros((12, 28, 27)))}, "train-images-idx3-ubyte.gz: holds an array of "
                     "shape (12, 28, 27); mnist images are (N >= 1, 28, 28)"),
    "flat-images": ({"test_x": _idx(np.zeros((7, 784)))}, "t10k-images-idx3-ubyte.gz: holds an array of shape "
                    "(7, 784)"),
    "label-12": ({"train_y": _idx([0, 1, 2, 12] + [0] * 8)}, "train-labels-idx1-ubyte.gz: label 12 of image 3 is "
                 "not one of the 10 classes 0..9"),
    "labels-n11": ({"test_y": _idx(np.zeros((7, 1, 1)))}, "t10k-labels-idx1-ubyte.gz: holds an array of shape "
                   "(7, 1, 1); labels are one number per image (N,)"),
    "no-images": ({"train_x": _idx(np.zeros((0, 28, 28))), "train_y": _idx(np.zeros(0))},
                  "train-images-idx3-ubyte.gz: holds an array of shape (0, 28, 28)"),
    "count-differs": ({"train_y": _idx(np.zeros(11))}, "train-labels-idx1-ubyte.gz: 11 labels for 12 images"),
}


@pytest.mark.parametrize("case", list(BAD_CONTENTS))
def test_wrong_contents_are_refused_by_data_info(tmp_path, case):
    files, words = BAD_CONTENTS[case]
    config = _config(tmp_path, _dataset(tmp_path / "data", **files))
    result = CliRunner().invoke(main, ["data", "info", str(config)])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("memprop: error: data.data_dir: ") and words in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1


def test_labels_beyond_the_classes_are_refused_before_training(tmp_path):
    files, words = BAD_CONTENTS["label-12"]
    config = _config(tmp_path, _dataset(tmp_path / "data", **files))
    run = tmp_path / "run"
    result = CliRunner().invoke(main, ["train", str(config), "--out", str(run), "--quiet", "--no-plots"])
    assert result.exit_code == 2, result.output
    assert words in result.stderr
    assert not run.exists()


def test_good_synthetic_mnist_trains(tmp_path):
    """The same files without the damage: the refusals above are about the damage."""
    config = _config(tmp_path, _dataset(tmp_path / "data"))
    result = CliRunner().invoke(main, ["train", str(config), "--out", str(tmp_path / "run"), "--quiet", "--no-plots"])
    assert result.exit_code == 0, result.output
