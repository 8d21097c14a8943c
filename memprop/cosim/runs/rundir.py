"""The run directory: files that survive crashes, and one process at a time.

Every file is written to a temporary name, flushed, fsync'ed and renamed over the old one, so a
kill at any instant leaves either the old or the new version. The checkpoint carries a SHA-256 of
its own contents and is verified on load: a corrupted checkpoint is a clear error, never a
silently wrong resume. A process that trains in a run directory holds its lock (`RunLock`): a
second one is refused, naming the first one's pid, instead of silently mixing two runs' files.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import math
import os
import struct
import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from memprop.circuits.network import MAX_DEVICES
from memprop.circuits.validation import ConfigError
from memprop.cosim.data.files import atomic_write, check_replaceable, read_bounded, temporaries

CONFIG = "config.toml"
METRICS = "metrics.jsonl"
CHECKPOINT = "checkpoint.npz"
DECK = "network.cir"
LEARNING_CURVES = "learning_curves.png"
CONDUCTANCE_HIST = "conductance_hist.png"
CONDUCTANCE_MAPS = "conductance_maps.png"
WAVEFORMS = "waveforms.png"
#: Every file a run writes into its directory.
RUN_FILES = (CONFIG, METRICS, CHECKPOINT, DECK, LEARNING_CURVES, CONDUCTANCE_HIST, CONDUCTANCE_MAPS, WAVEFORMS)
LOCK = ".memprop.lock"
#: np.savez of the largest network's states (MAX_DEVICES float64) with its metadata fits in this.
MAX_CHECKPOINT_BYTES = 8 * MAX_DEVICES + 16 * 2**20
MAX_MEMBERS = 256
#: What reading a damaged zip or .npy can raise: zipfile raises NotImplementedError (a flipped
#: version/flag/method byte) and RuntimeError (a flipped encryption bit) for damaged headers, too.
#: numpy parses a .npy header with tokenize and ast (TokenError, SyntaxError, RecursionError).
CORRUPT = (OSError, ValueError, KeyError, TypeError, OverflowError, zipfile.BadZipFile, EOFError, NotImplementedError,
           RuntimeError, struct.error, zlib.error, tokenize.TokenError, SyntaxError, RecursionError)
#: A metrics.jsonl row is ~0.5 kB; 100 000 epochs fit in this.
MAX_METRICS_BYTES = 64 * 2**20


def _digest(arrays: dict[str, np.ndarray], meta: str) -> str:
    h = hashlib.sha256(meta.encode("utf-8"))
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(key.encode("utf-8"))
        h.update(str(a.dtype).encode("utf-8"))
        h.update(str(a.shape).encode("utf-8"))
        h.update(a.tobytes())
    return h.hexdigest()


def save_checkpoint(path: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    meta_text = json.dumps(meta, sort_keys=True)
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.array(meta_text), __sha256__=np.array(_digest(arrays, meta_text)), **arrays)
    atomic_write(path, buf.getvalue())


def load_checkpoint(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """A checkpoint's arrays and metadata, verified against its SHA-256; anything else is a ConfigError.

    The file is read with a bound, and parsed here rather than by np.load: only stored (not
    compressed) members, each a .npy of plain numbers or text whose header agrees with its size,
    so a forged header cannot make us allocate more than the file holds.
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise ConfigError("checkpoint", "no checkpoint to resume from", str(path))
    raw = read_bounded(path, MAX_CHECKPOINT_BYTES, "checkpoint")
    try:
        arrays = _npz_members(raw)
        meta_text, stored = _text(arrays.pop("__meta__")), _text(arrays.pop("__sha256__"))
    except CORRUPT as err:
        raise ConfigError("checkpoint", f"unreadable or corrupted ({type(err).__name__}: {err})", str(path)) from None
    if _digest(arrays, meta_text) != stored:
        raise ConfigError("checkpoint", "checksum mismatch: the file is corrupted", str(path))
    try:
        meta = json.loads(meta_text)
    except (ValueError, RecursionError):
        meta = None
    if not isinstance(meta, dict):
        raise ConfigError("checkpoint", "its metadata is not a JSON object", str(path))
    return arrays, meta


def _npz_members(raw: bytes) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ValueError(f"{len(infos)} members")
        out = {}
        for info in infos:
            if info.compress_type != zipfile.ZIP_STORED or not info.filename.endswith(".npy"):
                raise ValueError(f"member {info.filename!r} is not a stored .npy file")
            if info.filename[:-4] in out or info.file_size > len(raw):
                raise ValueError(f"member {info.filename!r} repeated or larger than the file")
            out[info.filename[:-4]] = _npy(zf.read(info))
    return out


def _npy(data: bytes) -> np.ndarray:
    """One .npy member: numbers or text, exactly as many bytes as its header says."""
    from numpy.lib import format as npy

    fp = io.BytesIO(data)
    version = npy.read_magic(fp)
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f".npy version {version}")
    read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
    shape, fortran, dtype = read_header(fp)
    if dtype.kind not in "fiuU" or dtype.hasobject or dtype.itemsize == 0:
        raise ValueError(f"array of type {dtype}")
    count = math.prod(shape)
    if count * dtype.itemsize != len(data) - fp.tell():
        raise ValueError(f"header says {shape} of {dtype}, the member holds {len(data) - fp.tell()} bytes")
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=fp.tell())
    return flat.reshape(shape, order="F" if fortran else "C").copy()


def _text(a: np.ndarray) -> str:
    if a.shape != () or a.dtype.kind != "U":
        raise ValueError("metadata is not text")
    return str(a[()])


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The rows of metrics.jsonl (none when it is missing); a damaged row is a ConfigError naming its line."""
    path = Path(path)
    if not path.exists():
        return []
    raw = read_bounded(path, MAX_METRICS_BYTES, "metrics")
    return [_metrics_row(path, k, line) for k, line in enumerate(raw.split(b"\n"), start=1) if line.strip()]


def _metrics_row(path: Path, k: int, line: bytes) -> dict[str, Any]:
    try:
        row = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError("metrics", f"line {k} is not UTF-8 text", str(path)) from None
    except (ValueError, RecursionError):  # JSONDecodeError, or too deeply nested
        raise ConfigError("metrics", f"line {k} is not JSON", str(path)) from None
    epoch = row.get("epoch") if isinstance(row, dict) else None
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 1:
        raise ConfigError("metrics", f"line {k} is not a row of metrics (a JSON object with an epoch number)",
                          str(path))
    return row


def write_metrics(path: Path, rows: list[dict[str, Any]]) -> None:
    atomic_write(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


class RunLock:
    """Exclusive use of a run directory by this process (an flock on `.memprop.lock`, with our pid).

    The kernel drops an flock when its process dies, however it dies: a lock file left by a killed
    run is stale by construction and is simply taken over. While holding the lock, the temporary
    files a killed writer left behind are removed. A directory this lock created and in which nothing
    else was written is removed again on release, so a run that fails to start leaves no trace.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK
        self.fd: int | None = None
        self.created = False

    def __enter__(self) -> "RunLock":
        self.created = not self.run_dir.exists()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.fd = self._acquire()
        for tmp in temporaries(self.run_dir, RUN_FILES):
            tmp.unlink(missing_ok=True)
        return self

    def _acquire(self) -> int:
        """Lock the file that is at the path now (a releasing holder may have just removed it)."""
        for _ in range(100):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode("ascii", "replace").strip()
                os.close(fd)
                raise ConfigError("run directory", f"is in use by another memprop process (pid {holder or '?'}); "
                                                   "wait for it to finish or choose another directory",
                                  str(self.run_dir)) from None
            if _same_file(fd, self.path):
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode("ascii"))
                return fd
            os.close(fd)
        raise ConfigError("run directory", "its lock file keeps changing; is something removing it?", str(self.run_dir))

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)  # while still holding the lock: see _acquire
        os.close(self.fd)
        self.fd = None
        if self.created and not any(self.run_dir.iterdir()):
            self.run_dir.rmdir()


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    own = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


def check_run_files(run_dir: Path) -> None:
    """Refuse to start when a run file is a symlink, hard link or device (it would be replaced mid-run)."""
    for name in RUN_FILES:
        check_replaceable(Path(run_dir) / name)


def json_safe(obj: Any) -> Any:
    """JSON-able: NaN and infinities as null (strict JSON has none), keys as strings, numpy
    scalars and arrays as Python numbers and lists."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj


def write_results(path: Path, results: dict[str, Any]) -> None:
    """A report's results.json: strict JSON, sorted keys, written atomically."""
    atomic_write(path, json.dumps(json_safe(results), indent=1, sort_keys=True) + "\n")
