"""What one device write costs inside ngspice, in every spelling of `alter` it accepts.

Run: .venv/bin/python bench/alter_forms.py [--devices 5000] [--repeats 3]

Issue 13 asks two worker processes for >= 1.8x one at the default batch (10): each worker must
write every device the batch changed (~4 000 of 5 460 on the default network) before its half of
the sweep, so the write decides the ceiling. This bench loads a deck of `--devices` resistors and
re-writes all of them, packed many commands to a line as the engines do, in each form ngspice
takes: `alter r = v`, `alter r v`, `alter @r[resistance] = v`, the value with 17 or 6 digits.
Measured here (2026-12-07, best of 5 at 5 000 devices and of 2 at 20 000): 3.2-3.6 us per device in
every form alike (single runs up to 8 us on the shared cores): the cost is the command line's
interpreter (a perf profile is mostly libc allocation and string comparison), not the number.
libngspice 39 exports only its ngSpice_* API (`nm -D`), none of which sets a device parameter, so
no cheaper path exists in this build. At 3.2 us, ~3 900 writes are 12.5 ms per batch and worker,
beside a 36 ms sweep of the batch for one worker: two workers can reach (36 + 12.5) / (18 + 12.5)
= 1.59x at best, before any cost of their own.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from memprop.cosim.simulator.session import NgSpiceSession

#: The spellings ngspice accepts for a resistor's value ({i}: the device, {v}: the new value).
FORMS = {
    "alter r = v": "alter r{i} = {v:.17g}",
    "alter r v": "alter r{i} {v:.17g}",
    "alter r = v (6 digits)": "alter r{i} = {v:.6g}",
    "alter @r[resistance] = v": "alter @r{i}[resistance] = {v:.17g}",
}


def deck(devices: int, nodes: int = 50) -> str:
    """`devices` resistors from one driven line to `nodes` loaded nodes."""
    lines = ["* alter forms", "v1 a 0 1"] + [f"r{i} a n{i % nodes} 1k" for i in range(devices)]
    return "\n".join(lines + [f"rg{k} n{k} 0 1k" for k in range(nodes)] + [".end"])


def per_device_us(session: NgSpiceSession, form: str, devices: int, seed: int) -> float:
    """Microseconds per device to re-write all of them in this form (packed, as the engines send)."""
    values = np.random.default_rng(seed).uniform(1e3, 2e3, devices)
    cmds = [form.format(i=i, v=v).encode() for i, v in enumerate(values)]
    t0 = time.perf_counter()
    session.send_packed(cmds)
    return 1e6 * (time.perf_counter() - t0) / devices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    session = NgSpiceSession()
    session.load(deck(args.devices))
    for name, form in FORMS.items():
        times = [per_device_us(session, form, args.devices, k) for k in range(args.repeats)]
        print(f"{name:28s} {min(times):6.2f} us per device (best of {args.repeats}; all: "
              f"{', '.join(f'{t:.2f}' for t in times)})")


if __name__ == "__main__":
    main()
