"""Reading and writing files so that no path can hang memprop, exhaust memory or lose data.

Reading (`read_bounded`, `open_regular`): a file is opened without blocking, so a FIFO cannot hang
us; it must be a regular file (`/dev/zero` is refused, not read); and it is read with a bound, so
a 10 GB file is refused by its size, not by running out of memory.

Writing (`atomic_write`): the data goes to a temporary file next to the target, is fsync'ed and
renamed over it, so a crash leaves the old or the new version, never half a file. Only a new path
or a regular file with a single link is replaced: a symbolic link, a hard link, a device, a FIFO or
a directory in its place is refused, since replacing it would silently cut the link or replace the
device. `write_output` (the CLI's `-o`) writes through to a stream (a character device such as
/dev/null or a terminal, or a FIFO) deliberately. New files get the user's umask (not 0600); a
replaced file keeps its permission bits. Every error names the target file.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from memprop.circuits.validation import ConfigError

#: Temporary files are `.{name}.{random}.tmp` beside their target (see `temporaries`).
TEMP_SUFFIX = ".tmp"
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symbolic link"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))


def kind(mode: int) -> str:
    """What a file mode is, in words ("a FIFO")."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_regular(path: str | os.PathLike, field: str = "file", wanted: str = "a regular file") -> int:
    """A file descriptor for reading a regular file; anything else is a ConfigError, at once
    (`wanted`: what the file should have been, for the message)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ConfigError(field, "no such file", str(path)) from None
    except OSError as err:
        raise ConfigError(field, f"cannot be read: {err.strerror}", str(path)) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise ConfigError(field, f"is {kind(mode)}, not {wanted}", str(path))
    return fd


def read_bounded(path: str | os.PathLike, limit: int, field: str = "file", wanted: str = "a regular file") -> bytes:
    """A regular file's bytes, refused (without reading them) when there are more than `limit`."""
    with os.fdopen(open_regular(path, field, wanted), "rb") as fh:
        try:
            too_big = os.fstat(fh.fileno()).st_size > limit
            data = b"" if too_big else fh.read(limit + 1)  # files in /proc report size 0
        except OSError as err:
            raise ConfigError(field, f"cannot be read: {err.strerror}", str(path)) from None
    if too_big or len(data) > limit:
        raise ConfigError(field, f"larger than {limit} bytes", str(path))
    return data


def check_replaceable(path: str | os.PathLike) -> os.stat_result | None:
    """The stat of the regular, singly linked file at `path` (None: nothing there); else a ConfigError."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISREG(st.st_mode) and st.st_nlink == 1:
        return st
    what = f"has {st.st_nlink} hard links" if stat.S_ISREG(st.st_mode) else f"is {kind(st.st_mode)}"
    raise ConfigError("file", f"{what}; memprop replaces only regular files with one link (remove it or write "
                              "elsewhere; nothing was written)", str(path))


def _named(err: OSError, path: Path) -> OSError:
    """The same error, naming the file we were writing (not a hidden temporary, not nothing)."""
    return OSError(err.errno, err.strerror or str(err), str(path))


def atomic_write(path: str | os.PathLike, data: bytes | str) -> None:
    """Write `data` to `path` atomically (see the module docstring for what may be replaced)."""
    path = Path(path)
    old = check_replaceable(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name[:200]}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_new(tmp, raw, None if old is None else stat.S_IMODE(old.st_mode))
        os.replace(tmp, path)
        _fsync_directory(path.parent)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise _named(err, path) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_new(tmp: Path, raw: bytes, mode: int | None) -> None:
    """Create `tmp` (the kernel applies the umask), write and fsync it; `mode`: keep an old file's bits."""
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    with os.fdopen(fd, "wb") as fh:
        fh.write(raw)
        fh.flush()
        if mode is not None:
            os.fchmod(fd, mode)
        os.fsync(fd)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_output(path: str | os.PathLike, data: str) -> None:
    """The CLI's `-o`: a stream (character device, FIFO) is written through; anything else atomically."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC) if _is_stream(path) else None
    except OSError as err:
        raise _named(err, path) from None
    if fd is not None and not _is_stream(fd):  # replaced by something else since we looked
        os.close(fd)
        fd = None
    if fd is None:
        atomic_write(path, data)
        return
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8"))
    except OSError as err:
        raise _named(err, path) from None


def _is_stream(path: Path | int) -> bool:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def temporaries(directory: Path, names: tuple[str, ...]) -> list[Path]:
    """Temporary files of `names` in `directory` left by a killed writer (ours, and the older
    `.{name}.XXXXXXXX` ones), for the directory's owner to remove."""
    return sorted(p for name in names for p in Path(directory).glob(f".{name}.*") if p.is_file())
