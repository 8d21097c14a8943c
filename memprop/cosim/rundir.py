"""The run directory: files that survive crashes.

Every file is written to a temporary name, flushed, fsync'ed and renamed over the old one, so a
kill at any instant leaves either the old or the new version. The checkpoint carries a SHA-256 of
its own contents and is verified on load: a corrupted checkpoint is a clear error, never a
silently wrong resume.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from memprop.circuits.validation import ConfigError
from memprop.cosim.files import atomic_write, read_bounded

CONFIG = "config.toml"
METRICS = "metrics.jsonl"
CHECKPOINT = "checkpoint.npz"
DECK = "network.cir"
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
    path = Path(path)
    if not path.is_file():
        raise ConfigError("checkpoint", "no checkpoint to resume from", str(path))
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files if not k.startswith("__")}
            meta_text = str(data["__meta__"])
            stored = str(data["__sha256__"])
    # zipfile raises NotImplementedError (a flipped version/flag/method byte) and RuntimeError (a flipped
    # encryption bit) for damaged headers, too
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError) as err:
        raise ConfigError("checkpoint", f"unreadable or corrupted ({type(err).__name__}: {err})", str(path)) from None
    if _digest(arrays, meta_text) != stored:
        raise ConfigError("checkpoint", "checksum mismatch: the file is corrupted", str(path))
    return arrays, json.loads(meta_text)


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
