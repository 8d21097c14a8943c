"""Datasets: IDX reading and checksums, seeded digits splits, binary pattern sets and corruption."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from memprop.circuits.validation import ConfigError
from memprop.cosim.data import datasets
from memprop.cosim.data.datasets import IDX_FILES, binary_patterns, corrupt, idx_dataset, load_splits

FASHION = Path("/usr/share/datasets/fashion-mnist")


def _idx(array: np.ndarray) -> bytes:
    """An unsigned-byte IDX file: 0, 0, 0x08, ndim, then big-endian dims, then the bytes."""
    array = np.asarray(array, dtype=np.uint8)
    return struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def _write(directory: Path, stem: str, raw: bytes, gz: bool) -> Path:
    path = directory / (f"{stem}.gz" if gz else stem)
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


@pytest.fixture
def synthetic(tmp_path):
    """Four small IDX files (two gzipped, two raw) with known contents."""
    rng = np.random.default_rng(7)
    data = {"train_x": rng.integers(0, 256, (12, 28, 28)), "train_y": rng.integers(0, 10, 12),
            "test_x": rng.integers(0, 256, (7, 28, 28)), "test_y": rng.integers(0, 10, 7)}
    gz = {"train_x": True, "train_y": False, "test_x": False, "test_y": True}
    for key, stem in IDX_FILES.items():
        _write(tmp_path, stem, _idx(data[key]), gz[key])
    return tmp_path, data


def test_synthetic_idx_files_read_without_verification(synthetic):
    directory, data = synthetic
    train, test = idx_dataset("mnist", directory, verify=False)
    assert train.x.shape == (12, 784) and test.x.shape == (7, 784)
    np.testing.assert_array_equal(train.x, data["train_x"].reshape(12, -1) / 255.0)
    np.testing.assert_array_equal(test.x, data["test_x"].reshape(7, -1) / 255.0)
    np.testing.assert_array_equal(train.y, data["train_y"])
    np.testing.assert_array_equal(test.y, data["test_y"])
    assert train.x.min() >= 0.0 and train.x.max() <= 1.0
    assert train.y.dtype.kind == "i" and train.n_classes == 10 and train.name == "mnist"
    # and through load_splits (train shuffled by the seed, validation carved from it)
    splits = load_splits("mnist", seed=3, validation=0.25, data_dir=str(directory), verify=False)
    assert len(splits.validation.y) == 3 and len(splits.train.y) == 9 and len(splits.test.y) == 7
    both = np.concatenate([splits.validation.x, splits.train.x])
    assert sorted(map(bytes, (both * 255).astype(np.uint8))) == sorted(map(bytes, data["train_x"].reshape(12, -1)
                                                                             .astype(np.uint8)))


def test_gz_is_preferred_over_a_raw_file_of_the_same_name(synthetic):
    directory, data = synthetic
    stem = IDX_FILES["test_y"]
    (directory / stem).write_bytes(_idx(np.zeros(7)))  # a raw decoy next to the .gz
    _, test = idx_dataset("mnist", directory, verify=False)
    np.testing.assert_array_equal(test.y, data["test_y"])


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_synthetic_files_fail_verification_naming_the_file(synthetic, name):
    directory, _ = synthetic
    with pytest.raises(ConfigError) as info:
        idx_dataset(name, directory, verify=True)
    message = str(info.value)
    assert "checksum" in message
    assert str(directory / f"{IDX_FILES['train_x']}.gz") in message
    assert "verify" in message  # says how to skip the check


def test_verification_checks_every_file(synthetic, monkeypatch):
    """With the first three files' digests known-good, the fourth is still checked, and named."""
    directory, _ = synthetic
    known = {}
    for key, stem in IDX_FILES.items():
        path = directory / f"{stem}.gz" if (directory / f"{stem}.gz").exists() else directory / stem
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        known[stem] = {"raw_sha256": hashlib.sha256(raw).hexdigest()}
    monkeypatch.setitem(datasets.CHECKSUMS, "mnist", dict(known))
    train, test = idx_dataset("mnist", directory, verify=True)  # all four match: accepted
    assert len(train.y) == 12 and len(test.y) == 7
    last = IDX_FILES["test_y"]
    monkeypatch.setitem(datasets.CHECKSUMS, "mnist", {**known, last: {"raw_sha256": "0" * 64}})
    with pytest.raises(ConfigError, match="checksum") as info:
        idx_dataset("mnist", directory, verify=True)
    assert last in str(info.value)


def _malformed(directory: Path, body: bytes, gz: bool) -> None:
    stem = IDX_FILES["train_y"]
    for suffix in (".gz", ""):
        (directory / f"{stem}{suffix}").unlink(missing_ok=True)
    _write(directory, stem, body, gz)


GOOD_LABELS = _idx(np.arange(12) % 10)
MALFORMED = {
    "empty": b"",
    "shorter than a header": b"\x00\x00\x08",
    "bad magic zero": b"\x01\x00\x08\x01" + struct.pack(">I", 12) + bytes(12),
    "float dtype": b"\x00\x00\x0d\x01" + struct.pack(">I", 12) + bytes(48),
    "ndim 0": b"\x00\x00\x08\x00" + struct.pack(">I", 12) + bytes(12),
    "ndim 4": b"\x00\x00\x08\x04" + struct.pack(">4I", 12, 1, 1, 1) + bytes(12),
    "dims cut short": b"\x00\x00\x08\x03" + struct.pack(">I", 12),
    "truncated body": GOOD_LABELS[:-3],
    "extra bytes": GOOD_LABELS + b"\x00\x00",
    "huge dims": b"\x00\x00\x08\x03" + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 2**32 - 1) + bytes(12),
    # 2^31 * 2^31 * 4 = 2^64: a product that wraps to 0 in int64 must not match an empty body
    "dims overflowing to zero": b"\x00\x00\x08\x03" + struct.pack(">3I", 2**31, 2**31, 4),
    "count differs from images": _idx(np.arange(11) % 10),
}


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_idx_is_a_config_error(synthetic, case, gz):
    directory, _ = synthetic
    _malformed(directory, MALFORMED[case], gz)
    with pytest.raises(ConfigError) as info:
        idx_dataset("mnist", directory, verify=False)
    assert str(directory) in str(info.value)


@pytest.mark.parametrize("damage", ["truncated gzip", "not gzip", "corrupt gzip"])
def test_damaged_gzip_is_a_config_error(synthetic, damage):
    directory, _ = synthetic
    path = directory / f"{IDX_FILES['train_x']}.gz"
    raw = path.read_bytes()
    if damage == "truncated gzip":
        path.write_bytes(raw[:len(raw) // 2])
    elif damage == "not gzip":
        path.write_bytes(b"this is not a gzip file at all")
    else:
        bad = bytearray(raw)
        bad[len(bad) // 2] ^= 0xFF
        path.write_bytes(bytes(bad))
    with pytest.raises(ConfigError, match=IDX_FILES["train_x"]):
        idx_dataset("mnist", directory, verify=False)


def test_every_single_byte_corruption_of_a_gz_is_caught_or_harmless(tmp_path):
    """Flip each byte of a small .gz IDX file: a ConfigError, or (gzip header fields) the same data."""
    stem = IDX_FILES["train_y"]
    labels = np.random.default_rng(0).integers(0, 10, 300)
    good = gzip.compress(_idx(labels))
    escaped = []
    for pos in range(len(good)):
        for mask in (0xFF, 0x01, 0x10):
            bad = bytearray(good)
            bad[pos] ^= mask
            (tmp_path / f"{stem}.gz").write_bytes(bytes(bad))
            try:
                got = datasets._read_idx("mnist", stem, tmp_path, verify=False)
            except ConfigError as err:
                assert stem in str(err)
                continue
            except Exception as err:  # noqa: BLE001 - that is what this test looks for
                escaped.append((pos, mask, type(err).__name__, str(err)[:50]))
                continue
            np.testing.assert_array_equal(got, labels)
    assert not escaped, escaped[:10]


def test_missing_file_is_a_config_error(synthetic):
    directory, _ = synthetic
    (directory / IDX_FILES["test_x"]).unlink()
    with pytest.raises(ConfigError, match=IDX_FILES["test_x"]):
        idx_dataset("mnist", directory, verify=False)


def test_unknown_dataset_is_a_config_error():
    with pytest.raises(ConfigError, match="data.dataset"):
        load_splits("cifar", seed=0, validation=0.1)


# ---- digits splits ----

def _rows(d) -> list[bytes]:
    return [x.tobytes() + bytes([int(y)]) for x, y in zip(d.x, d.y)]


@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_digits_splits_are_seeded_disjoint_and_cover_the_set(seed):
    a = load_splits("digits", seed=seed, validation=0.1)
    b = load_splits("digits", seed=seed, validation=0.1)
    for part in ("train", "validation", "test"):
        np.testing.assert_array_equal(getattr(a, part).x, getattr(b, part).x)
        np.testing.assert_array_equal(getattr(a, part).y, getattr(b, part).y)
    assert (len(a.train.y), len(a.validation.y), len(a.test.y)) == (1294, 144, 359)
    full = datasets.digits()
    assert len(set(_rows(full))) == len(full.y)  # no duplicate images: rows identify samples
    parts = [set(_rows(getattr(a, p))) for p in ("train", "validation", "test")]
    assert not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]
    assert parts[0] | parts[1] | parts[2] == set(_rows(full))
    assert len(np.unique(a.test.y)) == 10 and len(np.unique(a.train.y)) == 10
    other = load_splits("digits", seed=seed + 1, validation=0.1)
    assert not np.array_equal(a.test.y, other.test.y)


def test_digits_sizes_cut_prefixes_of_the_same_splits():
    full = load_splits("digits", seed=4, validation=0.1)
    small = load_splits("digits", seed=4, validation=0.1, train_size=60, test_size=25)
    np.testing.assert_array_equal(small.train.x, full.train.x[:60])
    np.testing.assert_array_equal(small.test.y, full.test.y[:25])
    np.testing.assert_array_equal(small.validation.x, full.validation.x)
    none = load_splits("digits", seed=4, validation=0.0)
    assert len(none.validation.y) == 0 and len(none.train.y) == 1438
    assert full.train.x.min() >= 0.0 and full.train.x.max() <= 1.0


# ---- patterns ----

@pytest.mark.parametrize("kind,size", [("random", 64), ("random", 30), ("digits", 64)])
@pytest.mark.parametrize("p", [0.0, 0.05, 0.1, 0.125, 0.3, 0.5, 1.0])
def test_corrupt_flips_exactly_round_p_size_bits(kind, size, p):
    patterns = binary_patterns(kind, 12, seed=2, size=size)
    assert patterns.shape == (12, size)
    assert set(np.unique(patterns)) <= {0.0, 1.0}
    keep = patterns.copy()
    noisy = corrupt(patterns, p, seed=5)
    np.testing.assert_array_equal(patterns, keep)  # the input is not modified
    assert set(np.unique(noisy)) <= {0.0, 1.0}
    flipped = np.sum(noisy != patterns, axis=1)
    assert np.all(flipped == int(round(p * size))), (flipped, p * size)
    np.testing.assert_array_equal(noisy, corrupt(patterns, p, seed=5))  # seeded


def test_corrupt_picks_different_bits_per_row_and_seed():
    patterns = np.zeros((50, 64))
    a, b = corrupt(patterns, 0.25, seed=0), corrupt(patterns, 0.25, seed=1)
    assert len({row.tobytes() for row in a}) > 40
    assert not np.array_equal(a, b)


def test_binary_patterns_digits_and_random():
    d = binary_patterns("digits", 10, seed=0)
    digits = datasets.digits()
    firsts = [np.nonzero(digits.y == c)[0][0] for c in range(10)]
    np.testing.assert_array_equal(d, (digits.x[firsts] >= 0.5).astype(float))  # one per class, in order
    assert 0.2 < d.mean() < 0.8
    r = binary_patterns("random", 20, seed=3, size=100)
    np.testing.assert_array_equal(r, binary_patterns("random", 20, seed=3, size=100))
    assert not np.array_equal(r, binary_patterns("random", 20, seed=4, size=100))
    assert 0.4 < r.mean() < 0.6


@pytest.mark.parametrize("count", [1, 100, 1740, 1748, 1749, 1797, 1798, 5000])
def test_binary_patterns_digits_count_is_served_or_refused_clearly(count):
    try:
        out = binary_patterns("digits", count, seed=0)
    except ConfigError as err:
        assert "at most" in str(err)
        assert count > 1700
        return
    assert out.shape == (count, 64)
    assert len({row.tobytes() for row in out}) > 0.9 * count or count < 10


def test_binary_patterns_bad_kind_is_a_config_error():
    with pytest.raises(ConfigError):
        binary_patterns("digits", 5, seed=0, size=30)
    with pytest.raises(ConfigError):
        binary_patterns("letters", 5, seed=0)


# ---- the real Fashion-MNIST, when Debian's dataset-fashion-mnist is installed ----

@pytest.mark.skipif(not (FASHION / "train-images-idx3-ubyte.gz").is_file(),
                    reason=f"Fashion-MNIST not installed at {FASHION} (apt-get install dataset-fashion-mnist)")
@pytest.mark.slow
def test_fashion_mnist_from_the_system_location_verifies(tmp_path):
    splits = load_splits("fashion-mnist", seed=0, validation=0.0, verify=True)  # found automatically
    train, test = splits.train, splits.test
    assert train.x.shape == (60000, 784) and test.x.shape == (10000, 784)
    assert train.y.shape == (60000,) and test.y.shape == (10000,)
    assert 0.0 <= min(train.x.min(), test.x.min()) and max(train.x.max(), test.x.max()) <= 1.0
    assert train.x.max() == 1.0 and train.x.min() == 0.0
    assert np.array_equal(np.bincount(test.y), np.full(10, 1000))
    assert np.array_equal(np.bincount(train.y), np.full(10, 6000))
    del splits, train, test
    # a recompressed copy (different .gz bytes, same content) still verifies by its content digest,
    # and a copy with one label changed does not
    for stem in IDX_FILES.values():
        (tmp_path / f"{stem}.gz").symlink_to(FASHION / f"{stem}.gz")
    labels = tmp_path / f"{IDX_FILES['test_y']}.gz"
    raw = gzip.decompress((FASHION / labels.name).read_bytes())
    labels.unlink()
    labels.write_bytes(gzip.compress(raw, compresslevel=1, mtime=0))
    assert labels.read_bytes() != (FASHION / labels.name).read_bytes()
    _, test = idx_dataset("fashion-mnist", tmp_path, verify=True)
    assert len(test.y) == 10000
    bad = bytearray(raw)
    bad[-1] = (bad[-1] + 1) % 10
    labels.write_bytes(gzip.compress(bytes(bad)))
    with pytest.raises(ConfigError, match="checksum") as info:
        idx_dataset("fashion-mnist", tmp_path, verify=True)
    assert str(labels) in str(info.value)
    shutil.rmtree(tmp_path, ignore_errors=True)
