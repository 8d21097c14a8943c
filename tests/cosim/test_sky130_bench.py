"""`memprop bench sky130`'s plumbing: every corner x temperature validated and reported, from the
run it trains. The validation itself is ngspice's (tests/cosim/test_validate_chained.py and
test_sky130.py); here it is a stand-in that records what it was asked, so the loop, the table, the
picture and results.json are checked in seconds."""

from __future__ import annotations

import json

from memprop.circuits.neuron import CORNERS
from memprop.cosim.bench import sky130


def _fake_validate(calls):
    def validate(cfg, states, level, *, images, transients, t_stop, corner="tt", temp=27.0, op_check=2):
        calls.append((level, corner, temp, images, op_check))
        energy = 1e-9 * (1 + CORNERS.index(corner)) * (1 + temp / 100)
        return {"corner": corner, "temp": temp, "macs": 2730, "accuracy_change_points": -0.5,
                "reference": {"accuracy": 0.97}, "validated_mean_energy_j": energy,
                "validated_mean_settling_time_s": 3e-5, "validated_energy_per_mac_j": energy / 2730,
                **{f"validated_mean_energy_{p}_j": energy / 3 for p in ("neurons", "read_rails", "sources")},
                "validated": {"images": min(images, 359), "accuracy": 0.965, "failed": 0, "unsettled": 1,
                              "mean_settling_time_s": 2e-5, "max_settling_time_s": 7e-5, "seconds_per_image": 1.4,
                              **({"op_check": {"images": 2, "max_diff_v": 1e-3, "same_class": 1.0}}
                                 if op_check else {})}}
    return validate


def test_every_corner_and_temperature_is_validated_tabled_and_drawn(tmp_path):
    calls = []
    results = sky130.run(tmp_path, quick=True, log=lambda _: None, validate=_fake_validate(calls))
    assert calls[0][:3] == ("sky130", "tt", 27.0) and calls[0][4] == 2  # the whole split, checked by .op
    assert sorted(c[1:3] for c in calls[1:]) == sorted((c, t) for c in CORNERS for t in sky130.TEMPS)
    assert len(results["corners"]) == 15 and results["whole_split"]["unsettled"] == 1
    report = (tmp_path / "report.md").read_text()
    for corner in CORNERS:
        assert f"| {corner} | 125 |" in report
    assert "within\n1.00 mV of the operating points" in report
    assert json.loads((tmp_path / "results.json").read_text())["corners"][0]["corner"] == CORNERS[0]
    assert (tmp_path / "sky130.png").stat().st_size > 10_000
    assert (tmp_path / "run" / "checkpoint.npz").exists()
