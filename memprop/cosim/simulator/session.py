"""The process's one ngspice, driven in-process through PySpice's NgSpiceShared.

ngspice is a C library with global state: a second NgSpiceShared in one process fails (cffi
duplicate declaration), so `NgSpiceSession.instance()` hands out the single session, and parallel
work uses one process per ngspice. The deck is loaded once; sources and devices change with
`alter` between analyses; old plots and circuits are destroyed so memory stays flat.

PySpice quirks handled here, deliberately:
- it flags an error for any ngspice output line containing "error" (a node called `error_1` would
  do) and logs every stderr line as an error. We bypass that flagging: we send commands to the
  library ourselves and classify ngspice's own output with ERROR_PATTERNS, raising SimulationError
  with the offending lines, so real errors are never hidden and harmless lines never raise.
- it logs "Unsupported Ngspice version" for ngspice >= 35: filtered, only that message.
- commands are capped at 1023 characters: longer command batches go through a sourced script.
"""

from __future__ import annotations

import logging
import math
import os
import re
import signal
import threading
import time
from typing import Iterable, Sequence

import numpy as np

from memprop.circuits.validation import check_memory
from memprop.netgen.pdk import COMPAT_LINE

LOG = logging.getLogger("memprop.ngspice")
MAX_COMMAND = 1023
#: ngspice keeps every command line in its history (as word lists): the session frees it after
#: this many bytes of commands (about 50 000 single alters; packed lines count by their length).
HISTORY_BYTES = 2_500_000
ERROR_PATTERNS = re.compile(
    r"(^\s*error\b|\berror:|timestep too small|singular matrix|gmin stepping failed|source stepping failed"
    r"|no convergence|iteration limit reached|doanalyses:|could not find|unknown (?:sub)?circuit|no such"
    r"|unable to find|is not (?:a )?valid|syntax error|fatal|aborted|cannot recover)",
    re.IGNORECASE)
INSTALL_HINT = ("install it with `sudo apt-get install -y ngspice libngspice0` (Debian, Ubuntu), or set "
                "NGSPICE_LIBRARY_PATH to your libngspice.so")
#: stderr lines that look alarming but are informational in ngspice 39.
BENIGN = re.compile(r"^(Note:|Warning: .*(reltol|abstol|vntol) |Using (SPARSE|KLU)|Circuit: |Reference value)", re.IGNORECASE)
#: Deck lines memprop issues as commands instead (a deck's own .op/.tran/.dc/.print would run on `run`).
ANALYSIS_LINE = re.compile(r"^\s*\.(op|tran|dc|print|control|endc)\b", re.IGNORECASE)
#: What ngspice prints when an analysis stops at a breakpoint (`stop when ...`): a pause, not an error.
PAUSED = re.compile(r"^(doAnalyses: pause requested|\w+ simulation interrupted|simulation interrupted)$")
#: What ngspice prints when a `stop when` breakpoint's condition holds. It then reports the pause
#: through doAnalyses with the text of the last error it recorded, which after an operating point
#: that needed gmin stepping (transistor-level cells) is a stale "Too many iterations without
#: convergence" of one failed gmin step; whether the analysis got as far as the pause is checked
#: from its points (the batched engines' _collect).
BREAKPOINT_MET = re.compile(r"^\d+\s*: condition met: stop")


def transient_bytes(step: float, stop: float, vectors: int) -> int:
    """Memory of a transient's results: ngspice keeps every time point of every saved vector (and
    `time`), at least one point per `step` (the maximum step) up to `stop`."""
    return 8 * (math.ceil(stop / step) + 2) * (vectors + 1)


def pack_commands(cmds: Sequence[bytes], limit: int = MAX_COMMAND) -> list[bytes]:
    """Commands joined with `; ` into as few lines as fit `limit` characters (order kept; a
    command longer than the limit stays alone, for send to refuse)."""
    lines: list[bytes] = []
    parts: list[bytes] = []
    size = 0
    for c in cmds:
        if parts and size + 2 + len(c) > limit:
            lines.append(b"; ".join(parts))
            parts, size = [], 0
        size += len(c) + (2 if parts else 0)
        parts.append(c)
    if parts:
        lines.append(b"; ".join(parts))
    return lines


class SimulationError(RuntimeError):
    """ngspice reported an error (the offending output lines are in the message)."""

    def __init__(self, what: str, lines: Sequence[str] = ()) -> None:
        self.what = what
        self.lines = list(lines)
        detail = ("\n  " + "\n  ".join(self.lines[-12:])) if self.lines else ""
        super().__init__(f"{what}{detail}")


class _DeferredInterrupt:
    """Ctrl-C while ngspice runs is held until its call returns, then raised as KeyboardInterrupt.

    PySpice's callbacks run Python code inside ngspice's calls; a KeyboardInterrupt raised there is
    printed and swallowed by cffi, and the run went on to its end. Held here instead, it stops the
    run as soon as the analysis in progress returns (milliseconds), never mid-call. A second
    Ctrl-C while one is held stops the process at once (the run directory's files are atomic).
    Installed only in the main thread, over Python's own handler, which it passes other Ctrl-Cs to.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.pending = False
        self._previous = signal.getsignal(signal.SIGINT)
        if threading.current_thread() is threading.main_thread() and callable(self._previous):
            signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        if not self.depth:
            self._previous(signum, frame)  # Python's: raises KeyboardInterrupt here and now
            return
        if self.pending:
            os.write(2, b"memprop: error: interrupted twice; stopping at once\n")
            os._exit(130)
        self.pending = True

    def __enter__(self) -> None:
        self.depth += 1

    def __exit__(self, *exc: object) -> None:
        self.depth -= 1
        if self.pending and not self.depth:
            self.pending = False
            raise KeyboardInterrupt


class _VersionWarningFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Unsupported Ngspice version" not in record.getMessage()


class NgSpiceSession:
    """The one ngspice of this process. Use `NgSpiceSession.instance()`."""

    _instance: "NgSpiceSession | None" = None

    def __init__(self) -> None:
        if NgSpiceSession._instance is not None:
            raise RuntimeError("one ngspice per process: use NgSpiceSession.instance()")
        pyspice_log = logging.getLogger("PySpice")
        pyspice_log.addFilter(_VersionWarningFilter())
        # PySpice re-logs every stderr line as an error; we classify and raise ourselves.
        logging.getLogger("PySpice.Spice.NgSpice.Shared").setLevel(logging.CRITICAL)
        for handler_logger in (pyspice_log, logging.getLogger("PySpice.Spice.NgSpice.Shared.NgSpiceShared")):
            handler_logger.addFilter(_VersionWarningFilter())
        from PySpice.Spice.NgSpice.Shared import NgSpiceShared  # heavy import, only when needed

        self._interrupt = _DeferredInterrupt()
        try:
            with self._interrupt:
                self._ng = NgSpiceShared.new_instance()
        except (OSError, AttributeError) as err:  # no library there, or one that is not ngspice's
            reason = str(err).split(".  Additionally")[0]
            raise SimulationError(f"cannot load ngspice's shared library ({reason}); {INSTALL_HINT}") from None
        self._lib = self._ng._ngspice_shared
        self.loaded = False
        self.analyses = 0
        #: seconds spent inside ngspice (every command, circuit load and vector read): what the
        #: engines report as analysis time, and the complement of memprop's own Python time
        self.busy_seconds = 0.0
        self._sent = 0
        self._hsa = False  # ngspice's compatibility mode (see _compatibility)
        self._saved: int | None = None  # vectors kept by `save_only` for the loaded circuit (None: all)
        self.command("set nomoremode")
        self.solver = self._probe_solver()
        self.xspice = self._probe_xspice()

    def _probe_solver(self) -> str:
        """"klu" when this ngspice has the KLU sparse solver, else "sparse" (Sparse 1.3).

        Detected, not assumed from the version: a build with KLU prints "Using KLU as Direct Linear
        Solver" for a circuit with `.options klu`; Debian's build ignores the option silently.
        """
        self._load_lines(["* memprop solver probe", "r1 1 0 1k", "v1 1 0 1", ".options klu", ".end"])
        self.commands(["op"])
        lines = self._output()
        self.clear()
        return "klu" if any("using klu" in ln.lower() for ln in lines) else "sparse"

    def _probe_xspice(self, model: str = "divide") -> bool:
        """True when this ngspice has XSPICE's analog code models (Debian's build loads them from
        its spinit): the dynamic form then reads linear devices through the compiled `divide`.
        Detected by loading one divider; a build without them refuses the `a` element."""
        try:
            self._load_lines(["* memprop code model probe", "v1 1 0 1", "v2 2 0 2", "r1 3 0 1",
                              f".model d {model}(den_gain=1 den_offset=0)", "a1 1 2 3 d", ".end"])
            self.commands(["op"])
        except SimulationError:
            return False
        finally:
            self.clear()
        return True

    @classmethod
    def instance(cls) -> "NgSpiceSession":
        if cls._instance is None:
            cls._instance = NgSpiceSession()
        return cls._instance

    # ---- low level ----
    def _output(self) -> list[str]:
        return list(self._ng._stdout) + list(self._ng._stderr)

    def _check(self, what: str) -> list[str]:
        lines = self._output()
        bad = [ln for ln in lines if ERROR_PATTERNS.search(ln) and not BENIGN.match(ln)]
        if bad:
            raise SimulationError(f"ngspice failed: {what}", bad)
        return lines

    def _send(self, cmd: str) -> int:
        """Hand one command to ngspice with its output cleared first (so what follows is this
        command's), Ctrl-C left to the interrupt guard, and its time counted as busy."""
        self._ng.clear_output()
        t0 = time.perf_counter()
        try:
            with self._interrupt:
                return self._lib.ngSpice_Command(cmd.encode("ascii"))
        finally:
            self.busy_seconds += time.perf_counter() - t0

    def command(self, cmd: str) -> list[str]:
        """Run one ngspice command; raise SimulationError if ngspice reports an error."""
        if "\n" in cmd or "\r" in cmd or "\x00" in cmd:
            raise ValueError("one command per call: no line breaks or NUL characters")
        if len(cmd) > MAX_COMMAND:
            raise ValueError(f"ngspice commands are capped at {MAX_COMMAND} characters; got {len(cmd)}")
        rc = self._send(cmd)
        if rc:
            raise SimulationError(f"ngspice command returned {rc}: {cmd[:80]}", self._output())
        return self._check(cmd[:80])

    def commands(self, cmds: Iterable[str]) -> None:
        """Run many commands back to back, checking ngspice's output once at the end.

        Measured on the 64-32-10 deck: 7 us per `alter @dev[param]`, against 13 us through a sourced
        script and about 20 us with a check after every command.
        """
        cmds = list(cmds)
        if cmds:
            joined = "\x00".join(cmds)  # checked once for the whole batch: hundreds of thousands per epoch
            if joined.count("\x00") != len(cmds) - 1:
                raise ValueError("one command per line (no line breaks or NUL characters)")
            self.send(joined.encode("ascii").split(b"\x00"))

    def send_packed(self, cmds: Sequence[bytes]) -> None:
        """Run ASCII commands packed many to a line with `;` (each line within the length cap):
        ngspice's per-line overhead is paid once per line. Measured on the 64-32-10 deck with
        short-form device alters (netgen.updates.DeviceWriter): ~2.8x faster than a line each.
        An error in any command of a line is reported as for a line of its own."""
        self.send(pack_commands(cmds))

    def send(self, cmds: Sequence[bytes]) -> None:
        """Run ASCII commands back to back (each checked: no line break, within the length cap),
        checking ngspice's output once at the end. The device writers build their `alter`s as bytes
        and send them here: ~380 000 per default epoch."""
        if not cmds:
            return
        joined = b"\x00".join(cmds)
        if b"\n" in joined or b"\r" in joined or joined.count(b"\x00") != len(cmds) - 1:
            raise ValueError("one command per line (no line breaks or NUL characters)")
        if max(map(len, cmds)) > MAX_COMMAND:
            raise ValueError(f"ngspice commands are capped at {MAX_COMMAND} characters; got {max(map(len, cmds))}")
        self._ng.clear_output()
        send = self._lib.ngSpice_Command
        self._sent += len(joined)
        if self._sent > HISTORY_BYTES:  # ngspice keeps every command in its history: free it now and then
            from PySpice.Spice.NgSpice.Shared import FFI

            send(FFI.NULL)
            self._sent = len(joined)
        t0 = time.perf_counter()
        try:
            with self._interrupt:
                for c in cmds:
                    if send(c):
                        raise SimulationError(f"ngspice command failed: {c[:80].decode()}", self._output())
        finally:
            self.busy_seconds += time.perf_counter() - t0
        self._check(f"{len(cmds)} commands starting with {cmds[0][:60].decode()}")

    # ---- circuits ----
    def load(self, deck_text: str) -> None:
        """Replace the loaded circuit (old plots and circuit destroyed first, so memory stays flat)."""
        self.clear()
        body = [ln for ln in deck_text.splitlines() if ln.strip()]
        self._compatibility(COMPAT_LINE in body)
        # analysis lines are issued as commands; a deck's own .op/.tran/.print would run on `run`
        body = [ln for ln in body if not ANALYSIS_LINE.match(ln)]
        if self.solver == "klu" and body:
            body.insert(1, ".options klu")  # the faster solver for the large sparse crossbar matrices
        self._load_lines(body)

    def _compatibility(self, hsa: bool) -> None:
        """ngspice's HSPICE compatibility for the next load only: decks with the SKY130 cards
        declare it (COMPAT_LINE; it parses them 10x faster in a tenth of the memory); every other
        deck loads in ngspice's default mode, as before. ngspice reads the mode at each load."""
        if hsa != self._hsa:
            # SkyWater's models/all.spice says `.option scale=1.0u`; read in this mode it becomes the
            # front end's `scale` variable and outlives its circuit: every later deck's MOSFET
            # geometry would shrink by 1e6 (the cmos level's capacitances, so its transients; not
            # its operating points, W/L being unchanged). Leaving the mode drops it again.
            self.commands(["set ngbehavior=hsa"] if hsa else ["unset ngbehavior", "unset scale"])
            self._hsa = hsa

    def _load_lines(self, body: list[str]) -> None:
        self._ng.clear_output()
        from PySpice.Spice.NgSpice.Shared import ffi, FFI  # noqa: F401  (cffi handles)

        keep = [ffi.new("char[]", ln.encode("utf8")) for ln in body] + [ffi.new("char[]", b"")]
        array = ffi.new("char *[]", keep + [FFI.NULL])
        t0 = time.perf_counter()
        try:
            with self._interrupt:
                rc = self._lib.ngSpice_Circ(array)
        finally:
            self.busy_seconds += time.perf_counter() - t0
        if rc:
            raise SimulationError("ngspice could not load the circuit", self._output())
        self._check("loading the circuit")
        self.loaded = True

    def clear(self) -> None:
        """Destroy all plots and remove the loaded circuit."""
        self._saved = None
        self.command("destroy all")
        if self.loaded:
            self.command("remcirc")
            self.loaded = False

    # ---- analyses ----
    def op(self) -> str:
        """Operating point (old plots destroyed first, so memory stays flat); returns the plot name."""
        self.commands(["destroy all", "op"])
        self.analyses += 1
        return self._last_plot("op")

    def tran(self, step: float, stop: float, *, uic: bool = True, max_step: float | None = None) -> str:
        dt = min(step, max_step or step)
        if self._saved is not None:  # refused before ngspice allocates it
            check_memory("transient", f"a transient of {stop / dt:.3g} steps keeping {self._saved} vectors",
                         transient_bytes(dt, stop, self._saved))
        self.command("destroy all")
        parts = ["tran", f"{step:.12g}", f"{stop:.12g}"]
        if max_step is not None:
            parts += ["0", f"{max_step:.12g}"]
        if uic:
            parts.append("uic")
        self.command(" ".join(parts))
        self.analyses += 1
        return self._last_plot("tran")

    def _last_plot(self, kind: str) -> str:
        name = self._ng.last_plot
        if not name.startswith(kind):
            raise SimulationError(f"{kind} analysis produced no results (last plot {name!r})", self._output())
        return name

    def vector(self, plot: str, name: str) -> np.ndarray:
        from PySpice.Spice.NgSpice.Shared import ffi, FFI

        t0 = time.perf_counter()
        info = self._lib.ngGet_Vec_Info(f"{plot}.{name}".encode("utf8"))
        if info == FFI.NULL or info.v_realdata == FFI.NULL:
            raise SimulationError(f"no vector {name!r} in plot {plot!r}")
        out = np.frombuffer(ffi.buffer(info.v_realdata, info.v_length * 8), dtype=np.float64).copy()
        self.busy_seconds += time.perf_counter() - t0
        return out

    def scalars(self, plot: str, names: Sequence[bytes]) -> np.ndarray:
        """The first value of each named vector of `plot` (names pre-encoded, as `.op` results are
        read hundreds of thousands of times in a training run)."""
        from PySpice.Spice.NgSpice.Shared import FFI

        get = self._lib.ngGet_Vec_Info
        prefix = plot.encode("utf8") + b"."
        out = np.empty(len(names))
        t0 = time.perf_counter()
        for k, name in enumerate(names):
            info = get(prefix + name)
            if info == FFI.NULL or info.v_realdata == FFI.NULL or info.v_length < 1:
                raise SimulationError(f"no vector {name.decode()!r} in plot {plot!r}")
            out[k] = info.v_realdata[0]
        self.busy_seconds += time.perf_counter() - t0
        return out

    def rows(self, plot: str, names: Sequence[bytes], start: int, stop: int) -> np.ndarray:
        """Points start..stop-1 of the named vectors of `plot` as an array (points, vectors).

        A paused sweep's vectors hold the points solved so far; asking for more is an error."""
        from PySpice.Spice.NgSpice.Shared import ffi, FFI

        get = self._lib.ngGet_Vec_Info
        prefix = plot.encode("utf8") + b"."
        out = np.empty((stop - start, len(names)))
        t0 = time.perf_counter()
        for k, name in enumerate(names):
            info = get(prefix + name)
            if info == FFI.NULL or info.v_realdata == FFI.NULL or info.v_length < stop:
                have = 0 if info == FFI.NULL else info.v_length
                raise SimulationError(f"vector {name.decode()!r} of plot {plot!r} has {have} points, not {stop}")
            out[:, k] = np.frombuffer(ffi.buffer(info.v_realdata, stop * 8), dtype=np.float64)[start:]
        self.busy_seconds += time.perf_counter() - t0
        return out

    def points_done(self, plot: str, name: bytes) -> int:
        """How many points of a (possibly paused or failed) analysis `plot` holds."""
        from PySpice.Spice.NgSpice.Shared import FFI

        info = self._lib.ngGet_Vec_Info(plot.encode("utf8") + b"." + name)
        return 0 if info == FFI.NULL else int(info.v_length)

    # ---- sweeps that pause between batches ----
    def sweep(self, source: str, last: int, pause_after: int | None) -> str:
        """Start `dc source 0 last 1` (old plots destroyed first); with pause_after, stop after that
        point (a breakpoint on the index node `idx`, which must be saved). Returns the plot name."""
        self.commands(["destroy all"])
        self._until(f"dc {source} 0 {int(last)} 1", None if pause_after is None else f"v(idx) > {pause_after - 0.5:g}")
        return self._last_plot("dc")

    def resume(self, pause_after: int | None) -> None:
        """Continue a paused sweep from its next point (warm: no set-up, no re-ordering), up to
        and including point pause_after (None: to the end)."""
        self._until("resume", None if pause_after is None else f"v(idx) > {pause_after - 0.5:g}")

    def transient(self, step: float, stop: float, max_step: float, pause_after: float | None,
                  uic: bool = True) -> str:
        """Start `tran step stop 0 max_step [uic]` (old plots destroyed first), pausing at the first
        time point after pause_after seconds (None: run to the end). Returns the plot name.
        Without uic the transient starts from the operating point (transistor-level cells)."""
        self.commands(["destroy all"])
        self._until(f"tran {step:.12g} {stop:.12g} 0 {max_step:.12g}" + (" uic" if uic else ""),
                    None if pause_after is None else f"time > {pause_after:.12g}")
        return self._last_plot("tran")

    def resume_transient(self, pause_after: float | None) -> None:
        """Continue a paused transient from where it stopped, up to pause_after seconds."""
        self._until("resume", None if pause_after is None else f"time > {pause_after:.12g}")

    def _until(self, cmd: str, condition: str | None) -> None:
        """Run an analysis command until `condition` holds (`stop when ...`). The breakpoint is
        deleted as soon as the analysis pauses: while one is set every command costs ~20 % more
        (measured on `alter`, the commands that run between two batches)."""
        if condition is not None:
            self.commands([f"stop when {condition}"])
        try:
            self._analysis(cmd)
        finally:
            if condition is not None:
                self.commands(["delete all"])

    def _analysis(self, cmd: str) -> None:
        """Run an analysis command; a pause at a breakpoint is expected, anything else alarming raises."""
        rc = self._send(cmd)
        self.analyses += 1
        lines = [ln for ln in self._output() if not PAUSED.match(ln.strip())]
        if any(BREAKPOINT_MET.match(ln.strip()) for ln in lines):
            lines = [ln for ln in lines if not ln.strip().startswith("doAnalyses:")]
        bad = [ln for ln in lines if ERROR_PATTERNS.search(ln) and not BENIGN.match(ln)]
        if rc or bad:
            raise SimulationError(f"ngspice failed: {cmd}", bad or lines)

    def save_only(self, vectors: Sequence[str]) -> None:
        """Keep only these vectors in later analyses' plots (`save`): a 64-32-10 `.op` then takes
        ~4 % less time and reading its results half the time."""
        self._saved = len(vectors)
        cmds, line = [], "save"
        for name in vectors:
            if len(line) + 1 + len(name) > MAX_COMMAND:
                cmds.append(line)
                line = "save"
            line += " " + name
        self.commands(cmds + [line])

    def drop_plots(self) -> None:
        """Destroy result plots. `alter` runs ~30 % slower while an analysis' plot is kept."""
        self.commands(["destroy all"])

    def vectors(self, plot: str, names: Sequence[str]) -> dict[str, np.ndarray]:
        return {n: self.vector(plot, n) for n in names}

    def vector_names(self, plot: str) -> list[str]:
        from PySpice.Spice.NgSpice.Shared import ffi_string_utf8, FFI

        vecs = self._lib.ngSpice_AllVecs(plot.encode("utf8"))
        out, i = [], 0
        while vecs[i] != FFI.NULL:
            out.append(ffi_string_utf8(vecs[i]))
            i += 1
        return out

    # ---- changing values between analyses ----
    def set_values(self, assignments: Iterable[tuple[str, float]]) -> None:
        """Change element parameters: ("element parameter", value), e.g. ("vx_000 dc", 0.5)."""
        cmds = []
        for target, value in assignments:
            v = float(value)
            if not np.isfinite(v):
                raise ValueError(f"non-finite value for {target}")
            parts = target.split()
            if len(parts) == 2:
                cmds.append(f"alter @{parts[0]}[{parts[1]}] = {v:.12g}")
            elif len(parts) == 1:
                cmds.append(f"alter {parts[0]} = {v:.12g}")
            else:
                raise ValueError(f"not an element and parameter: {target!r}")
        self.commands(cmds)

    def version(self) -> str:
        lines = self.command("version")
        for ln in lines:
            m = re.search(r"ngspice-(\d+(?:\.\d+)?)", ln)
            if m:
                return m.group(1)
        return "unknown"
