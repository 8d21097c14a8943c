"""Resume, eval and export trust nothing in a checkpoint (issue 14, item 6).

A checkpoint's SHA-256 catches damage, not forgery: these tests also forge checkpoints with a valid
digest (NaN states, wrong shapes, impossible progress, another run's config) and check each is
refused by every command that reads one. The fuzz test damages a real checkpoint 1 500 ways (bits,
bytes, truncation, insertion, zip and .npy headers): each load is a clear error or the identical
checkpoint, never an internal error and never a silently different one.
"""

from __future__ import annotations

import io
import json
import math
import re
import shutil
import struct
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from memprop.circuits.validation import ConfigError
from memprop.cosim.runs import rundir
from memprop.cosim.cli import main
from memprop.cosim.runs.trainer import Trainer, load_run
from tests.capped import CAP_MB, run_capped
from tests.errors import one_error_line
from tests.cosim.runs import SMALL_RUN, small_config

def _forge(path: Path, arrays: dict | None = None, meta: object = None, meta_text: str | None = None) -> None:
    """Rewrite a checkpoint with other contents and a valid SHA-256 of them."""
    old_arrays, old_meta = rundir.load_checkpoint(path)
    arrays = old_arrays if arrays is None else arrays
    text = meta_text if meta_text is not None else json.dumps(old_meta if meta is None else meta, sort_keys=True)
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.array(text), __sha256__=np.array(rundir._digest(arrays, text)), **arrays)
    path.write_bytes(buf.getvalue())


def _commands(run: Path, tmp_path: Path) -> dict[str, list[str]]:
    return {"resume": ["train", "--out", str(run), "--resume", "--quiet", "--no-plots"],
            "eval": ["eval", str(run)],
            "export": ["export", str(run), "-o", str(tmp_path / "export")]}


def _refused_by_every_reader(run: Path, tmp_path: Path, *words: str) -> None:
    for name, args in _commands(run, tmp_path).items():
        before = {p.name: p.read_bytes() for p in run.iterdir()}
        line = one_error_line(CliRunner().invoke(main, args), 2, *words)
        assert line.startswith(f"memprop: error: {run / rundir.CHECKPOINT}: "), (name, line)
        assert {p.name: p.read_bytes() for p in run.iterdir()} == before, name
        assert not (tmp_path / "export").exists()


def _meta(run: Path) -> dict:
    return rundir.load_checkpoint(run / rundir.CHECKPOINT)[1]


def test_a_checkpoint_of_another_device_model_and_learning_rate_is_refused(small_run, tmp_path):
    other = tmp_path / "other"
    Trainer(small_config(SMALL_RUN + "lr = [0.1]\n[device]\nmodel = \"hp-joglekar\"\n"), other).run()
    shutil.copy(other / rundir.CHECKPOINT, small_run / rundir.CHECKPOINT)
    _refused_by_every_reader(small_run, tmp_path, "checkpoint.config: belongs to another run: device.model is "
                                            "'hp-joglekar' there, 'vteam' in config.toml (and ")


def test_how_long_and_where_a_run_goes_may_change_on_resume(small_run):
    text = (small_run / rundir.CONFIG).read_text()
    for key, value in (("epochs", "2"), ("workers", "1"), ("worker_timeout", "60.0"), ("checkpoint_every", "3")):
        text = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
    (small_run / rundir.CONFIG).write_text(text)
    result = CliRunner().invoke(main, ["train", "--out", str(small_run), "--resume", "--quiet", "--no-plots",
                                       "--update", "pulse"])  # an explicit override changes what it says
    assert result.exit_code == 0, result.output
    stored = tomllib.loads(_meta(small_run)["config"])["train"]
    assert (stored["epochs"], stored["update"], stored["checkpoint_every"]) == (2, "pulse", 3)
    assert tomllib.loads((small_run / rundir.CONFIG).read_text())["train"] == stored


@pytest.mark.parametrize("key, value, words", [
    ("momentum", "0.5", "train.momentum is 0.9 there, 0.5 in config.toml"),
    ("lr_schedule", '"cosine"', "train.lr_schedule is 'step' there, 'cosine' in config.toml"),
    ("lr_step_factor", "0.7", "train.lr_step_factor is 0.5 there, 0.7 in config.toml"),
])
def test_the_schedule_and_momentum_may_not_change_on_resume(small_run, tmp_path, key, value, words):
    config = small_run / rundir.CONFIG
    text, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", config.read_text())
    assert n == 1
    config.write_text(text)
    _refused_by_every_reader(small_run, tmp_path, words)


def test_a_config_toml_of_another_network_is_refused_not_an_internal_error(small_run, tmp_path):
    config = small_run / rundir.CONFIG
    config.write_text(config.read_text().replace("layers = [\n    64,\n    6,", "layers = [\n    64,\n    7,"))
    _refused_by_every_reader(small_run, tmp_path, "network.layers is [64, 6, 10] there, [64, 7, 10] in config.toml")


@pytest.mark.parametrize("change, words", [
    (lambda a: a.update(state__l1_x=np.full_like(a["state__l1_x"], np.nan)), ["states.l1_x", "NaN"]),
    (lambda a: a.update(state__l1_x=a["state__l1_x"] + 10.0), ["states.l1_x", "outside the device bounds"]),
    (lambda a: a.update(state__l1_x=a["state__l1_x"][:, :, :-1]), ["states.l1_x: shape (2, 6, 63)"]),
    (lambda a: a.update(state__l1_x=a["state__l1_x"].astype(np.float32)), ["float32, not float64"]),
    (lambda a: a.pop("state__l2_l1"), ["states.l2_l1: missing"]),
    (lambda a: a.update(state__l9_x=a["state__l1_x"]), ["unknown array 'state__l9_x'"]),
    (lambda a: a.update(fidelity=np.full(8, np.inf)), ["fidelity: must be 8 finite numbers"]),
    (lambda a: a.pop("fidelity"), ["fidelity: must be 8 finite numbers"]),
], ids=["nan", "out-of-bounds", "shape", "float32", "missing", "unknown", "fidelity-inf", "no-fidelity"])
def test_forged_arrays_are_refused(small_run, tmp_path, change, words):
    arrays, _ = rundir.load_checkpoint(small_run / rundir.CHECKPOINT)
    change(arrays)
    _forge(small_run / rundir.CHECKPOINT, arrays)
    _refused_by_every_reader(small_run, tmp_path, *words)


@pytest.mark.parametrize("key, value, words", [
    ("batch", 10**9, ["checkpoint.batch: must be between 0 and"]),
    ("batch", -1, ["checkpoint.batch"]),
    ("batch", 1.5, ["checkpoint.batch: must be an integer"]),
    ("epoch", "1\n.control\nshell touch PWNED\n.endc", ["checkpoint.epoch: must be an integer"]),
    ("epoch", True, ["checkpoint.epoch: must be an integer"]),
    ("epoch", 10**9, ["checkpoint.epoch: must be between 0 and 100000"]),
    ("loss_sum", math.nan, ["checkpoint.loss_sum: must be finite"]),
    ("seconds", -5.0, ["checkpoint.seconds: must be >= 0"]),
    ("config", 3, ["checkpoint.config: must be the run's config as TOML text"]),
    ("config", "[network\n", ["checkpoint.config: is not a valid run config (file: not valid TOML"]),
    ("config", None, ["checkpoint.config: must be"]),
], ids=["batch-1e9", "batch-negative", "batch-float", "epoch-injection", "epoch-bool", "epoch-1e9", "loss-nan",
        "seconds-negative", "config-number", "config-not-toml", "config-null"])
def test_forged_metadata_is_refused(small_run, tmp_path, key, value, words):
    meta = _meta(small_run)
    meta[key] = value
    _forge(small_run / rundir.CHECKPOINT, meta=meta)
    _refused_by_every_reader(small_run, tmp_path, *words)


@pytest.mark.parametrize("text, words", [
    ("[1, 2]", ["its metadata is not a JSON object"]),
    ("{", ["its metadata is not a JSON object"]),
    ('{"epoch": 1}', ["checkpoint.batch: missing from the metadata"]),
], ids=["array", "broken-json", "missing-keys"])
def test_forged_metadata_text_is_refused(small_run, tmp_path, text, words):
    _forge(small_run / rundir.CHECKPOINT, meta_text=text)
    _refused_by_every_reader(small_run, tmp_path, *words)


def test_a_mid_epoch_checkpoint_must_count_the_samples_of_its_batches(small_run, tmp_path):
    meta = _meta(small_run)
    meta.update(batch=2, loss_count=7)
    _forge(small_run / rundir.CHECKPOINT, meta=meta)
    result = CliRunner().invoke(main, _commands(small_run, tmp_path)["resume"])
    assert result.exit_code == 2
    assert "checkpoint.loss_count: 7 samples cannot precede batch 2 of size 10" in result.stderr


# ---------------------------------------------------------------- the fuzz test

def _damaged(raw: bytes, rng: np.random.Generator) -> bytes:
    """One random corruption of a checkpoint's bytes."""
    data = bytearray(raw)
    kind = int(rng.integers(7))
    if kind == 0:  # bit flips
        for pos in rng.integers(len(data), size=int(rng.integers(1, 9))):
            data[pos] ^= 1 << int(rng.integers(8))
    elif kind == 1:  # random bytes
        for pos in rng.integers(len(data), size=int(rng.integers(1, 17))):
            data[pos] = int(rng.integers(256))
    elif kind == 2:  # truncation
        del data[int(rng.integers(len(data))):]
    elif kind == 3:  # inserted or removed bytes
        pos = int(rng.integers(len(data)))
        if rng.random() < 0.5:
            data[pos:pos] = rng.integers(256, size=int(rng.integers(1, 33))).astype(np.uint8).tobytes()
        else:
            del data[pos:pos + int(rng.integers(1, 33))]
    elif kind == 4:  # a zip header field (local header, central directory, end record) set to anything
        _zip_field(data, rng)
    elif kind == 5:  # an .npy header's shape or type rewritten (in place, or re-zipped with valid CRCs)
        if rng.random() < 0.5:
            _npy_header(data, rng)
        else:
            data = bytearray(_rezipped_with_new_header(bytes(data), rng))
    else:  # a forged size or CRC in a header, consistent elsewhere
        starts = [m.start() for m in re.finditer(rb"PK\x01\x02", bytes(data))]
        pos = starts[int(rng.integers(len(starts)))] + int(rng.choice([16, 20, 24]))
        data[pos:pos + 4] = struct.pack("<I", int(rng.choice([0, 1, 2**31, 2**32 - 1, int(rng.integers(2**32))])))
    return bytes(data)


#: (offset, size) of every field after each zip signature; the values that mean something in a field
#: (compression methods, flag bits) are drawn more often than chance would draw them.
ZIP_FIELDS = {b"PK\x03\x04": [(4, 2), (6, 2), (8, 2), (14, 4), (18, 4), (22, 4), (26, 2), (28, 2)],
              b"PK\x01\x02": [(4, 2), (6, 2), (8, 2), (10, 2), (16, 4), (20, 4), (24, 4), (28, 2), (30, 2), (38, 4),
                              (42, 4)],
              b"PK\x05\x06": [(8, 2), (10, 2), (12, 4), (16, 4), (20, 2)]}
METHOD_FIELDS = {(b"PK\x03\x04", 8), (b"PK\x01\x02", 10)}
FLAG_FIELDS = {(b"PK\x03\x04", 6), (b"PK\x01\x02", 8)}


def _zip_field(data: bytearray, rng: np.random.Generator) -> None:
    sig = list(ZIP_FIELDS)[int(rng.integers(len(ZIP_FIELDS)))]
    starts = [m.start() for m in re.finditer(re.escape(sig), bytes(data))]
    offset, size = ZIP_FIELDS[sig][int(rng.integers(len(ZIP_FIELDS[sig])))]
    pos = starts[int(rng.integers(len(starts)))] + offset
    limit = 2 ** (8 * size)
    choices = [0, 1, limit - 1, limit // 2, int(rng.integers(limit))]
    if (sig, offset) in METHOD_FIELDS:
        choices += [8, 9, 12, 14, 93, 98, 99]  # deflate, deflate64, bzip2, lzma, zstd, ppmd, AES
    if (sig, offset) in FLAG_FIELDS:
        choices += [0x1, 0x8, 0x40, 0x800, 0x2000]  # encrypted, data descriptor, strong encryption, UTF-8, masked
    value = int(rng.choice(choices))
    data[pos:pos + size] = value.to_bytes(size, "little")


NPY_EDITS = [(rb"'shape': \([^)]*\)", [b"'shape': (99999999, 99999999)", b"'shape': (2, 6)", b"'shape': ()",
                                        b"'shape': (-1, 6, 64)", b"'shape': (2, 6, 64, 1)", b"'shape': (0,)",
                                        b"'shape': (2, 6, 999999999999)", b"'shape': (1.5,)", b"'shape': 'x'"]),
             (rb"'descr': '[^']*'", [b"'descr': '<f4'", b"'descr': '|O'", b"'descr': '<U99999999'",
                                      b"'descr': '<c16'", b"'descr': 'V8'", b"'descr': '<i8'", b"'descr': '>f8'",
                                      b"'descr': [('a', '<f8')]", b"'descr': '<M8[s]'", b"'descr': 'S0'"]),
             (rb"'fortran_order': \w+", [b"'fortran_order': True", b"'fortran_order': 1", b"'fortran_order': None"]),
             (rb"\{'descr'", [b"{'descr': '<f8', 'descr'", b"{" + b"(" * 40 + b"'descr'", b"{1e999999: 'descr'"])]


def _npy_header(data: bytearray, rng: np.random.Generator) -> None:
    pattern, options = NPY_EDITS[int(rng.integers(len(NPY_EDITS)))]
    found = list(re.finditer(pattern, bytes(data)))
    _rewrite(data, found[int(rng.integers(len(found)))], options[int(rng.integers(len(options)))])


def _rewrite(data: bytearray, m: re.Match, new: bytes) -> None:
    """Replace a match in a .npy header dict, keeping the header's length (its padding spaces give
    or take), so numpy reads the rewritten dict as the header."""
    end = data.index(b"\n", m.end())
    padding = end - len(bytes(data[m.end():end]).rstrip(b" ")) - m.end()
    grow = len(new) - (m.end() - m.start())
    if grow <= padding:
        data[m.start():end] = new + bytes(data[m.end():end - padding]) + b" " * (padding - grow)


def _same(states, meta, ref_states, ref_meta) -> bool:
    return (meta == ref_meta and states.states.keys() == ref_states.states.keys()
            and all(np.array_equal(states[k], ref_states[k]) for k in ref_states.states))


def _rezipped_with_new_header(raw: bytes, rng: np.random.Generator) -> bytes:
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    name = sorted(members)[int(rng.integers(len(members)))]
    member = bytearray(members[name])
    _npy_header(member, rng)
    members[name] = bytes(member)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for key, value in members.items():
            zf.writestr(key, value)
    return buf.getvalue()


def test_a_thousand_random_corruptions_give_clear_errors_or_identical_loads(small_run, monkeypatch):
    """Through load_run, what eval, export and validate read a run with (its config.toml, which no
    trial touches, parsed once: the pulse calibration of a config load would take most of the time)."""
    from memprop.cosim.runs import trainer

    path = small_run / rundir.CHECKPOINT
    raw = path.read_bytes()
    cfg, states, meta = load_run(small_run)
    monkeypatch.setattr(trainer, "load_stored", lambda _path: cfg)
    rng = np.random.default_rng(14)
    outcomes = {"refused": 0, "identical": 0}
    internal, wrong = [], []
    for trial in range(1500):
        path.write_bytes(_damaged(raw, rng))
        try:
            _, got_states, got_meta = load_run(small_run)
        except ConfigError as err:
            assert str(err).startswith(f"{path}: checkpoint"), str(err)
            outcomes["refused"] += 1
            continue
        except Exception as err:  # noqa: BLE001 - exactly what this test counts
            internal.append((trial, type(err).__name__, str(err)[:80]))
            continue
        if _same(got_states, got_meta, states, meta):
            outcomes["identical"] += 1
        else:
            wrong.append(trial)
    assert not internal, internal[:10]
    assert not wrong, wrong[:10]
    assert outcomes["refused"] > 1000 and outcomes["identical"] > 0, outcomes


def test_a_huge_checkpoint_is_refused_by_its_size(small_run):
    with open(small_run / rundir.CHECKPOINT, "ab") as fh:
        fh.truncate(4 * 2**30)
    proc, rss = run_capped("eval", str(small_run), timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (f"memprop: error: {small_run / rundir.CHECKPOINT}: checkpoint: larger than "
                           f"{rundir.MAX_CHECKPOINT_BYTES} bytes\n")
    assert rss < CAP_MB


def test_a_header_asking_for_petabytes_is_refused_without_allocating(small_run):
    """A state's .npy header rewritten (with valid CRCs) to a shape of 8 PB: np.load would allocate it."""
    path = small_run / rundir.CHECKPOINT
    with zipfile.ZipFile(path) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    member = bytearray(members["state__l1_x.npy"])
    _rewrite(member, re.search(rb"'shape': \([^)]*\)", bytes(member)), b"'shape': (999999999999, 999)")
    assert b"999999999999" in member
    members["state__l1_x.npy"] = bytes(member)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for key, value in members.items():
            zf.writestr(key, value)
    path.write_bytes(buf.getvalue())
    proc, rss = run_capped("eval", str(small_run), timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"memprop: error: {path}: checkpoint: unreadable or corrupted"), proc.stderr
    assert rss < CAP_MB
