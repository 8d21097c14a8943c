"""Run the real `memprop` console script under a memory cap and measure its peak RSS.

The cap is an address-space limit (RLIMIT_AS) on the child, so an input that makes memprop allocate
more than the cap fails there (MemoryError: an internal error, or a kill) instead of taking the
machine; the peak resident set size comes from the kernel's accounting of that one child.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CAP_MB = 500

_WRAPPER = """
import resource, subprocess, sys
cap = int(sys.argv[1]) * 2**20
def limit():
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
try:
    code = subprocess.run(sys.argv[3:], preexec_fn=limit, timeout=float(sys.argv[2])).returncode
except subprocess.TimeoutExpired:  # the child is killed: no orphan keeps running
    code = 124
sys.stderr.write(f"\\nPEAK_RSS_KB={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n")
sys.exit(code)
"""


def memprop_command() -> list[str]:
    script = Path(sys.executable).with_name("memprop")
    if script.exists():
        return [str(script)]
    found = shutil.which("memprop")
    return [found] if found else [sys.executable, "-m", "memprop.cosim.cli"]


def run_capped(*args: str, cap_mb: int = CAP_MB, timeout: float = 120, cwd: Path | None = None,
               env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, float]:
    """(the finished `memprop ARGS`, with the wrapper's line removed from stderr; its peak RSS in MB).
    A run that takes longer than `timeout` is killed and returns code 124."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", **(env or {})}
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, str(cap_mb), str(timeout), *memprop_command(), *args],
                          capture_output=True, text=True, errors="replace", timeout=timeout + 30, cwd=cwd, env=env)
    head, _, tail = proc.stderr.rpartition("\nPEAK_RSS_KB=")
    proc.stderr = head
    return proc, int(tail.strip()) / 1024
