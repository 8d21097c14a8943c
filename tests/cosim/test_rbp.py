"""RBP with the analog side network: gradients agree with EP and finite differences; it trains."""

from __future__ import annotations

import json
import subprocess
import tomllib
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.network import glorot_states, layered_network, recurrent_network
from memprop.circuits.neuron import Neuron
from memprop.cosim.cli import main
from memprop.cosim.config.config import parse
from memprop.cosim.learning.gradcheck import gradcheck
from memprop.cosim.runs.trainer import Trainer
from memprop.netgen.deck import render

NETWORKS = {
    "layered-hard": '[network]\nlayers = [12, 8, 4]\ninit_gain = 0.6\n',
    "layered-smooth": '[network]\nlayers = [12, 8, 4]\ninit_gain = 0.6\n[neuron]\nactivation = "smooth"\n',
    "recurrent-hard": '[network]\ntopology = "recurrent"\nneurons = 16\ninputs = 8\noutputs = 4\ninit_gain = 0.5\n',
    "recurrent-smooth": '[network]\ntopology = "recurrent"\nneurons = 16\ninputs = 8\noutputs = 4\n'
                        'init_gain = 0.5\n[neuron]\nactivation = "smooth"\n',
}


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_ep_rbp_and_finite_differences_agree(ngspice, name):
    cfg = parse(tomllib.loads(NETWORKS[name]))
    result = gradcheck(cfg, batch=6, betas=(0.001,), max_fd=400, training=False)  # the training beta: below
    pairs = result["pairs"]
    for pair in ("ep_symmetric_b0.001 vs rbp_behavioral", "ep_symmetric_b0.001 vs finite_differences",
                 "rbp_behavioral vs finite_differences"):
        assert pairs[pair]["cosine"] >= 0.99, (pair, pairs[pair])
    assert pairs["rbp_behavioral vs rbp_spice_side_network"]["cosine"] >= 0.98
    assert result["norms"]["finite_differences"] > 1e-6  # a real, non-zero gradient


def test_side_network_deck_runs_in_ngspice_batch(tmp_path):
    net = layered_network(Neuron(), DEVICE_MODELS["vteam"], (6, 4, 3))
    deck = render(net, glorot_states(net, 0), inputs=np.linspace(0, 1, 6), targets=np.array([1.0, 0, 0]),
                  side=True, analysis="op")
    path = tmp_path / "side.cir"
    path.write_text(deck.text)
    proc = subprocess.run(["ngspice", "-b", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-1500:] + proc.stderr[-1500:]
    assert "side_neuron" in deck.text and "xt_l2_l1_000_000" in deck.text
    assert sorted(deck.node_map["side"]["neurons"]) == sorted(deck.node_map["neurons"])


def test_side_network_is_gated_by_rho_prime(ngspice):
    """Saturated forward neurons block the adjoint: their lambda is exactly zero."""
    from memprop.cosim.engines.perphase import NgspiceEngine

    net = recurrent_network(Neuron(), DEVICE_MODELS["vteam"], 10, 6, 3)
    states = glorot_states(net, 1, gain=2.0)
    x = np.random.default_rng(1).uniform(0, 1, (3, 6))
    y = np.eye(3)
    engine = NgspiceEngine(net, side=True)
    engine.program(states)
    free, lam = engine.adjoint_phase(x, y)
    engine.close()
    saturated = (free.v <= 1e-9) | (free.v >= 1 - 1e-9)
    assert saturated.any() and (~saturated).any()
    assert np.all(lam[saturated] == 0.0)
    assert np.any(np.abs(lam[~saturated]) > 1e-6)


def test_gradcheck_cli_json():
    result = CliRunner().invoke(main, ["gradcheck", "--no-spice", "--batch", "4", "--max-fd", "60", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["pairs"]["rbp_behavioral vs finite_differences"]["cosine"] > 0.99
    assert data["weights_checked"] == 60


RBP_RUN = """
[network]
layers = [64, 16, 10]
[data]
train_size = 120
test_size = 60
validation = 0.0
[train]
rule = "{rule}"
backend = "{backend}"
epochs = 2
batch_size = 10
checkpoint_every = 1000
# the rates before [train] had a schedule: 240 samples at them learn; the default's momentum and
# halving rate are made for the 5-epoch digits run and barely start in 24 batches
lr = [0.2, 0.05]
lr_schedule = "constant"
momentum = 0.0
"""


def test_rbp_trains_in_ngspice_like_its_twin_and_like_ep(tmp_path, ngspice):
    rows = {}
    for rule, backend in (("rbp", "ngspice"), ("rbp", "behavioral"), ("ep", "behavioral")):
        cfg = parse(tomllib.loads(RBP_RUN.format(rule=rule, backend=backend)))
        rows[(rule, backend)] = Trainer(cfg, tmp_path / f"{rule}-{backend}").run()
    spice, twin = rows[("rbp", "ngspice")], rows[("rbp", "behavioral")]
    for a, b in zip(spice, twin):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert abs(a["test_accuracy"] - b["test_accuracy"]) <= 1 / 60
    assert spice[-1]["ngspice_max_lambda_diff_mv"] < 1.0
    assert spice[-1]["train_loss"] < spice[0]["train_loss"]
    assert spice[-1]["test_accuracy"] > 0.25  # above chance (0.1) after only 240 samples
    ep = rows[("ep", "behavioral")]
    assert abs(ep[-1]["test_accuracy"] - twin[-1]["test_accuracy"]) < 0.15


def test_gradcheck_reports_ep_at_the_training_beta_for_both_activations():
    """At train.beta the same batch, weights and finite differences as the beta -> 0 pairs: at a tiny
    training beta the two figures coincide; at 0.3 the finite nudge biases the one-sided estimate more
    than the symmetric one, and both less than a random direction would."""
    cfg = parse(tomllib.loads(NETWORKS["layered-hard"]))
    tiny = gradcheck(replace(cfg, train=replace(cfg.train, beta=0.001)), batch=6, betas=(0.001,), spice=False,
                     max_fd=200)
    trained = tiny["training_beta"]
    assert trained["beta"] == 0.001 and set(trained["activations"]) == {"hard", "smooth"}
    for nudging, name in (("one-sided", "ep_onesided_b0.001"), ("symmetric", "ep_symmetric_b0.001")):
        assert trained["activations"]["hard"][nudging] == pytest.approx(tiny["pairs"][f"{name} vs finite_differences"],
                                                                        rel=1e-9)
    at = gradcheck(cfg, batch=6, betas=(0.001,), spice=False, max_fd=200)["training_beta"]
    assert at["beta"] == 0.3
    for activation, figs in at["activations"].items():
        assert 0.5 < figs["one-sided"]["cosine"] < figs["symmetric"]["cosine"] <= 1.0, (activation, figs)
        assert figs["symmetric"]["relative_error"] < figs["one-sided"]["relative_error"], (activation, figs)
        assert figs["one-sided"]["cosine"] < trained["activations"][activation]["one-sided"]["cosine"]


def test_gradcheck_at_the_training_beta_skips_what_the_neuron_cannot_realise():
    cfg = parse(tomllib.loads('[network]\nlayers = [6, 4, 3]\n[neuron]\nlevel = "cmos"\n'))
    result = gradcheck(cfg, batch=4, betas=(0.01,), spice=False, max_fd=30)
    assert list(result["training_beta"]["activations"]) == ["hard"]


def test_gradcheck_cli_prints_the_training_beta_rows():
    result = CliRunner().invoke(main, ["gradcheck", "--no-spice", "--batch", "4", "--max-fd", "20"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    k = lines.index("EP at the training beta (0.3, train.beta) vs finite differences, same batch and weights:")
    assert [ln[:72].strip() for ln in lines[k + 1:]] == \
        ["hard activation, one-sided", "hard activation, symmetric", "smooth activation, one-sided",
         "smooth activation, symmetric"]
    data = json.loads(CliRunner().invoke(main, ["gradcheck", "--no-spice", "--batch", "4", "--max-fd", "20",
                                                "--json"]).output)["training_beta"]["activations"]
    figures = [data[a][n]["cosine"] for a in ("hard", "smooth") for n in ("one-sided", "symmetric")]
    assert [float(ln.split()[-2]) for ln in lines[k + 1:]] == pytest.approx(figures, abs=6e-6)
