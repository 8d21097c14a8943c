"""Output paths are written, never replaced unless they are regular files; inputs are read with a
bound and only when regular (issue 14, items 2 and 3, and the nameless 'No space left' of item 9).

All through the real CLI; memory is measured on the console script under a 500 MB address-space cap.
"""

from __future__ import annotations

import os
import select
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from memprop.cosim.cli import main
from tests.capped import CAP_MB, memprop_command, run_capped
from tests.errors import one_error_line

DECK_HEAD = "* memprop layered network"


def _netgen(out: Path, *extra: str):
    return CliRunner().invoke(main, ["netgen", "-o", str(out), *extra])


# ---------------------------------------------------------------- item 2: what -o may replace

def test_a_symlink_as_output_is_refused_and_both_stay(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    link = tmp_path / "deck.cir"
    link.symlink_to(target)
    one_error_line(_netgen(link), 2, str(link), "symbolic link", "nothing was written")
    assert link.is_symlink() and target.read_text() == "keep me\n"


def test_a_hard_link_as_output_is_refused_and_both_names_stay(tmp_path):
    first = tmp_path / "a.cir"
    first.write_text("keep me\n")
    second = tmp_path / "b.cir"
    os.link(first, second)
    one_error_line(_netgen(second), 2, str(second), "2 hard links")
    assert os.stat(first).st_ino == os.stat(second).st_ino and second.read_text() == "keep me\n"


def test_a_fifo_as_output_is_written_through(tmp_path):
    fifo = tmp_path / "deck.fifo"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # a reader that never blocks the writer
    received, stop = bytearray(), threading.Event()

    def drain() -> None:
        while not stop.is_set() or select.select([fd], [], [], 0)[0]:
            if select.select([fd], [], [], 0.05)[0]:
                received.extend(os.read(fd, 1 << 16))

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        result = _netgen(fifo)
    finally:
        stop.set()
        reader.join(10)
        os.close(fd)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert received.decode().startswith(DECK_HEAD) and received.decode().rstrip().endswith(".end")


def _device(tmp_path: Path, name: str, minor: int) -> Path:
    """A character device of our own (1, minor: 3 = null, 7 = full), so no test touches /dev."""
    path = tmp_path / name
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
        os.close(os.open(path, os.O_WRONLY))
    except OSError as err:  # not root, or a nodev mount
        pytest.skip(f"cannot make a character device here ({err.strerror})")
    return path


def test_a_character_device_as_output_is_written_through_not_replaced(tmp_path):
    null = _device(tmp_path, "null", 3)
    result = _netgen(null)
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_a_full_device_names_itself_in_the_error(tmp_path):
    full = _device(tmp_path, "full", 7)
    one_error_line(_netgen(full), 4, f"memprop: error: {full}: No space left on device")
    assert stat.S_ISCHR(os.lstat(full).st_mode)


def test_new_files_get_the_umask_and_replaced_files_keep_their_mode(tmp_path):
    old = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.cir"
        assert _netgen(fresh, "--map", str(tmp_path / "map.json")).exit_code == 0
        assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o644
        assert stat.S_IMODE(os.stat(tmp_path / "map.json").st_mode) == 0o644
        kept = tmp_path / "kept.cir"
        kept.write_text("old\n")
        kept.chmod(0o640)
        assert _netgen(kept).exit_code == 0
        assert stat.S_IMODE(os.stat(kept).st_mode) == 0o640 and kept.read_text().startswith(DECK_HEAD)
    finally:
        os.umask(old)


def test_a_full_disk_names_the_file_and_keeps_the_old_one(tmp_path):
    """RLIMIT_FSIZE makes the write fail like a full disk does (an OSError without a file name)."""
    out = tmp_path / "deck.cir"
    out.write_text("old deck\n")
    code = ("import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            "resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000)); "
            "from memprop.cosim.cli import main; sys.argv = ['memprop', 'netgen', '-o', sys.argv[1]]; main()")
    proc = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr == f"memprop: error: {out}: File too large\n"
    assert out.read_text() == "old deck\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deck.cir"]  # no temporary left


# ---------------------------------------------------------------- item 3: bounded reads of regular files

def test_config_show_of_dev_zero_is_refused_without_reading_it():
    proc, rss = run_capped("config", "show", "/dev/zero", timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == "memprop: error: /dev/zero: file: is a character device, not a TOML file\n"
    assert rss < CAP_MB


def test_config_show_of_a_fifo_does_not_hang(tmp_path):
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    proc = subprocess.run([*memprop_command(), "config", "show", str(fifo)], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 2
    assert proc.stderr == f"memprop: error: {fifo}: file: is a FIFO, not a TOML file\n"


def test_a_huge_config_is_refused_by_its_size(tmp_path):
    big = tmp_path / "big.toml"
    with open(big, "wb") as fh:
        fh.truncate(4 * 2**30)  # sparse: 4 GiB of zeros that take no disk
    proc, rss = run_capped("config", "show", str(big), timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == f"memprop: error: {big}: file: larger than 1000000 bytes\n"
    assert rss < CAP_MB
