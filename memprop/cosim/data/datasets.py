"""Datasets, all real and offline-first.

- `digits`: scikit-learn's load_digits (1797 8x8 handwritten digits, shipped with the package):
  the embedded default.
- `mnist`, `fashion-mnist`: the standard IDX files (.gz or raw) from a directory. Fashion-MNIST is
  found automatically where Debian's `dataset-fashion-mnist` is installed. Every file is checked
  against the published MD5 of the .gz or the SHA-256 of its decompressed content before use;
  `download()` fetches MNIST/Fashion-MNIST when the machine is online, with the same checks.
- `patterns`: binarised pattern sets for associative-memory reconstruction.

Pixel values are scaled to [0, 1]; splits are seeded and stratification-free but deterministic.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import os
import struct
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from memprop.circuits.validation import ConfigError
from memprop.cosim.data.files import read_bounded

#: The datasets a run can learn ([data] dataset; a config choice, see memprop.cosim.config.choices).
DatasetName = Literal["digits", "mnist", "fashion-mnist"]
DATASETS = get_args(DatasetName)
#: The largest IDX file memprop reads, on disk and decompressed (MNIST's 60 000 training images: 47 MB).
MAX_IDX_BYTES = 128 * 2**20
#: MNIST and Fashion-MNIST: 28 x 28 images of 10 classes.
IMAGE_SHAPE = (28, 28)
N_CLASSES = 10
IDX_FILES = {"train_x": "train-images-idx3-ubyte", "train_y": "train-labels-idx1-ubyte",
             "test_x": "t10k-images-idx3-ubyte", "test_y": "t10k-labels-idx1-ubyte"}
#: Accepted digests per file: md5 of the published .gz, sha256 of the decompressed bytes.
CHECKSUMS = {
    "mnist": {
        "train-images-idx3-ubyte": {"gz_md5": "f68b3c2dcbeaaa9fbdd348bbdeb94873"},
        "train-labels-idx1-ubyte": {"gz_md5": "d53e105ee54ea40749a09fcbcd1e9432"},
        "t10k-images-idx3-ubyte": {"gz_md5": "9fb629c4189551a2d022fa330f9573f3"},
        "t10k-labels-idx1-ubyte": {"gz_md5": "ec29112dd5afa0611ce80d1b7f02629c"},
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": {"gz_md5": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                                    "raw_sha256": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"},
        "train-labels-idx1-ubyte": {"gz_md5": "25c81989df183df01b3e8a0aad5dffbe",
                                    "raw_sha256": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"},
        "t10k-images-idx3-ubyte": {"gz_md5": "bef4ecab320f06d8554ea6380940ec79",
                                   "raw_sha256": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"},
        "t10k-labels-idx1-ubyte": {"gz_md5": "bb300cfdad3c16e7a12a480ee83cd310",
                                   "raw_sha256": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"},
    },
}
SYSTEM_DIRS = {"fashion-mnist": [Path("/usr/share/datasets/fashion-mnist")], "mnist": [Path("/usr/share/datasets/mnist")]}
MIRRORS = {"mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
           "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"}


@dataclass(frozen=True)
class Dataset:
    """Images scaled to [0, 1] (rows = samples) and integer labels."""

    name: str
    x: np.ndarray
    y: np.ndarray
    n_classes: int

    def subset(self, index: np.ndarray) -> "Dataset":
        return Dataset(self.name, self.x[index], self.y[index], self.n_classes)


@dataclass(frozen=True)
class Splits:
    train: Dataset
    validation: Dataset
    test: Dataset


def digits() -> Dataset:
    """scikit-learn's load_digits: 1797 real 8x8 handwritten digits, pixel values 0..16 -> [0, 1]."""
    from sklearn.datasets import load_digits

    raw = load_digits()
    return Dataset("digits", raw.data.astype(float) / 16.0, raw.target.astype(int), 10)


def _digest_ok(name: str, stem: str, path: Path, packed: bytes, raw: bytes) -> bool:
    known = CHECKSUMS.get(name, {}).get(stem, {})
    if path.suffix == ".gz" and known.get("gz_md5") == hashlib.md5(packed).hexdigest():
        return True
    return known.get("raw_sha256") == hashlib.sha256(raw).hexdigest()


def _idx_path(stem: str, directory: Path) -> Path:
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.is_file():
            return candidate
    raise ConfigError("data.data_dir", f"{directory}: no {stem}[.gz] (IDX files expected)")


def _read_idx(name: str, stem: str, directory: Path, verify: bool) -> np.ndarray:
    """One IDX file as an array. A .gz is decompressed as a stream, never beyond what its header
    says (so a small gzip bomb cannot take the memory), and verified before its array is made."""
    path = _idx_path(stem, directory)
    packed = read_bounded(path, MAX_IDX_BYTES, "data.data_dir")
    try:
        stream = gzip.GzipFile(fileobj=io.BytesIO(packed)) if path.suffix == ".gz" else io.BytesIO(packed)
        raw, dims = _idx_bytes(stream, path)
    except (OSError, EOFError, zlib.error) as err:  # zlib.error: damaged deflate data in a .gz
        raise ConfigError("data.data_dir", f"{path}: cannot be read ({err})") from None
    if verify and not _digest_ok(name, stem, path, packed, raw):
        raise ConfigError("data.data_dir", f"{path}: checksum does not match the published {name} file "
                                           "(corrupt or a different file; set data.verify = false to skip)")
    return np.frombuffer(raw, dtype=np.uint8, offset=len(raw) - math.prod(dims)).reshape(dims)


def _idx_bytes(stream: Any, path: Path) -> tuple[bytes, tuple[int, ...]]:
    """(the whole file, its dims), read from `stream` only as far as its header allows."""
    head = stream.read(4)
    if len(head) < 4:
        raise ConfigError("data.data_dir", f"{path}: too short for an IDX file")
    zero, dtype, ndim = struct.unpack(">HBB", head)
    if zero != 0 or dtype != 0x08 or not 1 <= ndim <= 3:
        raise ConfigError("data.data_dir", f"{path}: not an unsigned-byte IDX file")
    dim_bytes = stream.read(4 * ndim)
    if len(dim_bytes) < 4 * ndim:
        raise ConfigError("data.data_dir", f"{path}: IDX header cut short ({ndim} dimensions, "
                                           f"{4 + len(dim_bytes)} bytes)")
    dims = struct.unpack(f">{ndim}I", dim_bytes)
    size = math.prod(dims)  # exact: np.prod wraps around in int64 (2^31 * 2^31 * 4 == 0)
    if size > MAX_IDX_BYTES:
        raise ConfigError("data.data_dir", f"{path}: header says {dims}, {size} bytes: more than the "
                                           f"{MAX_IDX_BYTES} bytes of an IDX file memprop reads")
    body = stream.read(size + 1)
    if len(body) != size:
        held = "more" if len(body) > size else f"{len(body)}"
        raise ConfigError("data.data_dir", f"{path}: header says {dims} but holds {held} bytes")
    return head + dim_bytes + body, dims


def find_idx_dir(name: str, data_dir: str | os.PathLike | None) -> Path:
    """The directory holding a dataset's IDX files: the given one, else a system location."""
    if data_dir:
        return Path(data_dir)
    for candidate in SYSTEM_DIRS.get(name, []):
        if (candidate / "train-images-idx3-ubyte.gz").is_file() or (candidate / "train-images-idx3-ubyte").is_file():
            return candidate
    hint = " (apt-get install dataset-fashion-mnist provides it offline)" if name == "fashion-mnist" else ""
    raise ConfigError("data.data_dir", f"no {name} files found: set data.data_dir to a directory with the "
                                       f"four IDX files, or run `memprop data download {name} DIR`{hint}")


def idx_dataset(name: str, data_dir: str | os.PathLike | None = None, verify: bool = True) -> tuple[Dataset, Dataset]:
    """(train, test) from the four standard IDX files."""
    directory = find_idx_dir(name, data_dir)
    arrays = {key: _read_idx(name, stem, directory, verify) for key, stem in IDX_FILES.items()}
    out = []
    for part in ("train", "test"):
        x, y = arrays[f"{part}_x"], arrays[f"{part}_y"]
        _check_contents(name, _idx_path(IDX_FILES[f"{part}_x"], directory), x,
                        _idx_path(IDX_FILES[f"{part}_y"], directory), y)
        out.append(Dataset(name, x.reshape(x.shape[0], -1).astype(float) / 255.0, y.astype(int), N_CLASSES))
    return out[0], out[1]


def _check_contents(name: str, x_path: Path, x: np.ndarray, y_path: Path, y: np.ndarray) -> None:
    """Images (N, 28, 28) and labels (N,) below 10, N >= 1: else training would fail deep inside,
    or worse, silently learn the wrong targets (a label 12 is no class of a 10-output network)."""
    if x.ndim != 3 or x.shape[1:] != IMAGE_SHAPE or x.shape[0] == 0:
        raise ConfigError("data.data_dir", f"{x_path}: holds an array of shape {x.shape}; {name} images are "
                                           f"(N >= 1, {IMAGE_SHAPE[0]}, {IMAGE_SHAPE[1]})")
    if y.ndim != 1:
        raise ConfigError("data.data_dir", f"{y_path}: holds an array of shape {y.shape}; labels are one "
                                           "number per image (N,)")
    if len(y) != len(x):
        raise ConfigError("data.data_dir", f"{y_path}: {len(y)} labels for {len(x)} images")
    if y.max() >= N_CLASSES:
        k = int(np.argmax(y >= N_CLASSES))
        raise ConfigError("data.data_dir", f"{y_path}: label {int(y[k])} of image {k} is not one of the "
                                           f"{N_CLASSES} classes 0..{N_CLASSES - 1}")


def download(name: str, directory: str | os.PathLike) -> list[Path]:
    """Fetch the four IDX .gz files of mnist / fashion-mnist (needs network), verifying checksums."""
    if name not in MIRRORS:
        raise ConfigError("dataset", f"can download {', '.join(MIRRORS)}; not {name!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for stem in IDX_FILES.values():
        target = directory / f"{stem}.gz"
        with urllib.request.urlopen(MIRRORS[name] + f"{stem}.gz", timeout=60) as response:  # noqa: S310
            data = response.read()
        if hashlib.md5(data).hexdigest() != CHECKSUMS[name][stem]["gz_md5"]:
            raise ConfigError("download", f"{stem}.gz from {MIRRORS[name]} failed its checksum; nothing kept")
        tmp = target.with_suffix(".gz.part")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        written.append(target)
    return written


def load_splits(name: str, *, seed: int, validation: float, train_size: int = 0, test_size: int = 0,
                data_dir: str | None = None, verify: bool = True) -> Splits:
    """Seeded train / validation / test splits. digits: 80/20 train/test before validation is carved."""
    rng = np.random.default_rng(seed)
    if name == "digits":
        full = digits()
        order = rng.permutation(len(full.y))
        n_test = int(round(0.2 * len(order)))
        train, test = full.subset(order[n_test:]), full.subset(order[:n_test])
    elif name in ("mnist", "fashion-mnist"):
        train, test = idx_dataset(name, data_dir, verify)
        train = train.subset(rng.permutation(len(train.y)))
    else:
        raise ConfigError("data.dataset", f"must be one of {', '.join(DATASETS)}; got {name!r}")
    n_val = int(round(validation * len(train.y)))
    val, train = train.subset(np.arange(n_val)), train.subset(np.arange(n_val, len(train.y)))
    if train_size:
        train = train.subset(np.arange(min(train_size, len(train.y))))
    if test_size:
        test = test.subset(np.arange(min(test_size, len(test.y))))
    return Splits(train, val, test)


def binary_patterns(kind: str, count: int, seed: int, size: int = 64) -> np.ndarray:
    """Stored patterns in {0, 1}: `digits` (binarised 8x8 digits, one per class first) or `random`."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        return (rng.random((count, size)) < 0.5).astype(float)
    if kind != "digits" or size != 64:
        raise ConfigError("patterns", "pattern sets: random (any size) or digits (64)")
    d = digits()
    per_class = [np.nonzero(d.y == c)[0] for c in range(10)]
    # round-robin over the classes: pick k is class k % 10's (k // 10)-th image, so the first class
    # to run out (10 * its size + its label) bounds the count
    limit = min(10 * len(p) + c for c, p in enumerate(per_class))
    if count > limit:
        raise ConfigError("patterns", f"at most {limit} digit patterns")
    picks = [per_class[k % 10][k // 10] for k in range(count)]
    return (d.x[picks] >= 0.5).astype(float)


def corrupt(patterns: np.ndarray, flip_fraction: float, seed: int) -> np.ndarray:
    """Flip a fraction of the bits of each pattern (exactly round(p * size) bits, chosen at random)."""
    rng = np.random.default_rng(seed)
    out = patterns.copy()
    n_flip = int(round(flip_fraction * patterns.shape[1]))
    for row in out:
        idx = rng.choice(patterns.shape[1], size=n_flip, replace=False)
        row[idx] = 1.0 - row[idx]
    return out
