"""The learning rate's schedule, the momentum and Adam: the factors, the velocity and moments, that
the trainer writes what they say, and that a run with momentum or Adam resumes exactly (its moments
travel in the checkpoint)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from memprop.circuits.validation import ConfigError
from memprop.cosim.runs import rundir
from memprop.cosim.config.config import LEGACY_SCHEDULE, build_network, dumps, loads_stored, parse
from memprop.cosim.learning import schedule
from memprop.cosim.learning.schedule import adam_step, lr_factor, step, zero_velocity
from memprop.cosim.runs.trainer import Trainer, read_checkpoint


def _train(**train) -> dict:
    return parse({"train": train}).train


def test_step_halves_each_epoch_down_to_its_floor():
    assert [lr_factor(_train(), e) for e in range(7)] == [1.0, 0.5, 0.25, 0.125, 0.0625, 0.05, 0.05]
    tcfg = _train(lr_step_epochs=2, lr_step_factor=0.1, lr_min=0.0)
    assert [lr_factor(tcfg, e) for e in range(5)] == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01])


def test_cosine_goes_from_one_to_lr_min_over_its_own_span_then_stays():
    tcfg = _train(lr_schedule="cosine", lr_min=0.1, lr_decay_epochs=4)
    factors = [lr_factor(tcfg, e) for e in range(7)]
    assert factors[0] == 1.0 and factors[2] == pytest.approx(0.55)
    assert factors[4:] == [pytest.approx(0.1)] * 3
    assert all(a > b for a, b in zip(factors[:5], factors[1:5]))
    assert [lr_factor(_train(lr_schedule="constant"), e) for e in (0, 3, 99)] == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("key, value, words", [
    ("lr_schedule", "linear", "must be one of constant, cosine, step"),
    ("momentum", 1.0, "momentum: must be <= 0.999"),
    ("momentum", -0.1, "momentum: must be >= 0"),
    ("lr_min", 1.5, "lr_min: must be <= 1"),
    ("lr_step_factor", 0.0, "lr_step_factor: must be > 0"),
    ("lr_step_epochs", 0, "lr_step_epochs: must be between 1"),
    ("lr_decay_epochs", 2.5, "lr_decay_epochs: must be an integer"),
    ("optimizer", "rmsprop", "must be one of sgd, adam"),
    ("adam_beta2", 1.0, "adam_beta2: must be <= 0.999999"),
    ("adam_eps", 0.0, "adam_eps: must be > 0"),
])
def test_bad_schedule_values_name_their_field(key, value, words):
    with pytest.raises(ConfigError) as err:
        parse({"train": {key: value}}, "run.toml")
    assert f"run.toml: train.{key}" in str(err.value) and words in str(err.value)


def test_momentum_accumulates_a_velocity_and_no_momentum_keeps_none():
    net = build_network(parse({"network": {"layers": [64, 6, 10]}}))
    dw = {name: np.full(v.shape, 0.01) for name, v in zero_velocity(net).items()}
    velocity = zero_velocity(net)
    tcfg = _train(momentum=0.5, lr_schedule="constant")
    for n in range(1, 4):
        out = step(tcfg, 0, dw, velocity)
        np.testing.assert_allclose(out["l1_x"], 0.01 * (1 - 0.5 ** n) / 0.5)
    assert out["l1_x"] is not velocity["l1_x"]  # what is written is a copy, not the velocity itself
    empty: dict = {}
    out = step(_train(momentum=0.0), 2, dw, empty)
    np.testing.assert_allclose(out["l2_l1"], 0.0025)
    assert empty == {}


def _reference_adam(grads, lr, b1, b2, eps):
    """Adam as Kingma & Ba write it, one step at a time, for a descent direction g (not a gradient)."""
    m = v = np.zeros_like(grads[0])
    out = []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        out.append(lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps))
    return out


def test_adam_steps_are_kingma_and_ba_at_each_crossbars_rate_and_the_epochs_factor():
    net = build_network(parse({"network": {"layers": [64, 6, 10]}}))
    rng = np.random.default_rng(3)
    shapes = {name: v.shape for name, v in zero_velocity(net).items()}
    grads = [{name: rng.normal(0, 1e-3, shape) for name, shape in shapes.items()} for _ in range(5)]
    tcfg = _train(optimizer="adam", momentum=0.8, adam_beta2=0.99, adam_eps=1e-6, lr_schedule="step")
    rates = {name: 0.01 * (k + 1) for k, name in enumerate(shapes)}
    first, second = zero_velocity(net), zero_velocity(net)
    written = [adam_step(tcfg, 2, g, rates, first, second, t) for t, g in enumerate(grads, start=1)]
    for name in shapes:
        ref = _reference_adam([g[name] for g in grads], rates[name] * 0.25, 0.8, 0.99, 1e-6)
        for t in range(5):
            np.testing.assert_allclose(written[t][name], ref[t], rtol=1e-12, atol=1e-18)
    # the first step of Adam is the rate times the sign (where |g| >> eps): the scale of g drops out
    g0 = grads[0]["l1_x"]
    large = np.abs(g0) > 1e-3
    assert large.sum() > 50
    np.testing.assert_allclose(written[0]["l1_x"][large], 0.25 * rates["l1_x"] * np.sign(g0[large]), rtol=2e-3)


@pytest.mark.parametrize("optimizer,epoch", [("sgd", 0), ("sgd", 3), ("adam", 0), ("adam", 3)])
def test_the_compiled_updates_equal_numpys_bit_for_bit(optimizer, epoch, monkeypatch):
    """Momentum and Adam through learning/fused_steps.py, and through numpy (where numba cannot be
    imported), over several steps at a factor of 1 (epoch 0) and below: the same writes and
    moments, every bit; a moment that is not contiguous, or a change of another shape, takes numpy."""
    net = build_network(parse({"network": {"layers": [300, 40, 10]}}))
    rng = np.random.default_rng(epoch)
    grads = [{name: rng.normal(0, 1e-3, v.shape) for name, v in zero_velocity(net).items()} for _ in range(4)]
    tcfg = _train(optimizer=optimizer, lr_schedule="cosine", lr_decay_epochs=5, adam_beta2=0.99)
    rates = {name: 0.01 * (k + 1) for k, name in enumerate(grads[0])}

    def run(moments):
        first, second = moments
        if optimizer == "sgd":
            return [step(tcfg, epoch, g, first) for g in grads], moments
        return [adam_step(tcfg, epoch, g, rates, first, second, t) for t, g in enumerate(grads, start=1)], moments
    compiled = run((zero_velocity(net), zero_velocity(net)))
    strided = run(({k: np.asfortranarray(v) for k, v in zero_velocity(net).items()}, zero_velocity(net)))
    monkeypatch.setattr(schedule, "_kernels", lambda: None)
    numpy = run((zero_velocity(net), zero_velocity(net)))
    for other in (compiled, strided):
        for ours, theirs in zip(other[0] + list(other[1]), numpy[0] + list(numpy[1])):
            assert ours.keys() == theirs.keys()
            assert all(np.array_equal(ours[k], theirs[k]) for k in ours)
    assert all(out[k] is not compiled[1][0][k] for out in compiled[0] for k in out)  # written: not the moment
    from memprop.cosim.learning import fused_steps
    d = grads[0]["l1_x"]
    v = np.zeros_like(d)
    assert fused_steps.fits(v, change=d) and not fused_steps.fits(v, change=d.T.copy())
    assert not fused_steps.fits(v, change=d.astype(np.float32)) and not fused_steps.fits(v.T, change=d.T)


def test_a_stored_config_from_before_the_schedule_reads_as_the_constant_rate_it_ran():
    text = dumps(parse({}))
    old = "\n".join(ln for ln in text.splitlines() if not ln.startswith(("lr_schedule =", "momentum =")))
    stored = loads_stored(old, "run")
    assert (stored.train.lr_schedule, stored.train.momentum) == (LEGACY_SCHEDULE["lr_schedule"], 0.0)
    assert (loads_stored(text, "run").train.lr_schedule, loads_stored(text, "run").train.momentum) == ("step", 0.9)


SMALL = {"network": {"layers": [64, 6, 10]}, "data": {"train_size": 60, "test_size": 20, "validation": 0.0},
         "train": {"backend": "behavioral", "epochs": 2, "batch_size": 10, "checkpoint_every": 2}}


def _observed(cfg, run) -> tuple[Trainer, list]:
    seen = []
    trainer = Trainer(cfg, run, observer=lambda e, b, before, after, dw: seen.append((e, b, dw)))
    trainer.run()
    return trainer, seen


def test_the_trainer_writes_the_scheduled_rate_of_each_epoch(tmp_path):
    """A step schedule of factor 1e-6 per epoch: the second epoch's writes are a millionth of the first's."""
    cfg = parse({**SMALL, "train": {**SMALL["train"], "momentum": 0.0, "lr_step_factor": 1e-6, "lr_min": 0.0}})
    _, seen = _observed(cfg, tmp_path / "run")
    size = {e: max(float(np.max(np.abs(dw["l1_x"]))) for ep, _, dw in seen if ep == e) for e in (0, 1)}
    assert size[0] > 1e-4
    assert size[1] < 1e-5 * size[0]


def test_the_velocity_is_the_last_write_carried_into_the_checkpoint(tmp_path):
    trainer, seen = _observed(parse(SMALL), tmp_path / "run")
    arrays, _ = rundir.load_checkpoint(tmp_path / "run" / rundir.CHECKPOINT)
    last = seen[-1][2]
    assert {k for k in arrays if k.startswith("velocity__")} == {"velocity__l1_x", "velocity__l2_l1",
                                                                "velocity__l1_b", "velocity__l2_b"}
    np.testing.assert_array_equal(arrays["velocity__l2_l1"], last["l2_l1"])
    np.testing.assert_array_equal(last["l1_l2"], last["l2_l1"].T)  # the feedback devices follow their primary


def _stop(cfg, run, at: tuple[int, int]) -> None:
    class Stop(Exception):
        pass

    trainer = Trainer(cfg, run)
    original = trainer._save

    def save_then_stop(states, prog):
        original(states, prog)
        if (prog.epoch, prog.batch) == at:
            raise Stop
    trainer._save = save_then_stop
    with pytest.raises(Stop):
        trainer.run()


def _final_states(run) -> dict:
    arrays, _ = rundir.load_checkpoint(run / rundir.CHECKPOINT)
    return {k: v for k, v in arrays.items() if k.startswith("state__")}


@pytest.mark.parametrize("schedule", [{}, {"lr_schedule": "cosine", "momentum": 0.5, "lr_decay_epochs": 2},
                                      {"optimizer": "adam", "lr": [0.002, 0.001]}])
def test_a_run_with_momentum_resumes_bit_identically_and_needs_its_velocity(tmp_path, schedule):
    cfg = parse({**SMALL, "train": {**SMALL["train"], **schedule}})
    Trainer(cfg, tmp_path / "ref").run()
    reference = _final_states(tmp_path / "ref")
    for at in ((0, 2), (1, 0), (1, 4)):
        run = tmp_path / f"run_{at[0]}_{at[1]}"
        _stop(cfg, run, at)
        Trainer(cfg, run).run(resume=True)
        for key, a in reference.items():
            np.testing.assert_array_equal(_final_states(run)[key], a, err_msg=f"{at} {key}")
    # the same resume with the velocity zeroed ends elsewhere: the checkpoint's velocity is what makes it exact
    run = tmp_path / "zeroed"
    _stop(cfg, run, (1, 0))
    arrays, meta = rundir.load_checkpoint(run / rundir.CHECKPOINT)
    assert any(np.any(v != 0) for k, v in arrays.items() if k.startswith("velocity__"))
    rundir.save_checkpoint(run / rundir.CHECKPOINT, {k: np.zeros_like(v) if k.startswith("velocity__") else v
                                                     for k, v in arrays.items()}, meta)
    Trainer(cfg, run).run(resume=True)
    assert not all(np.array_equal(_final_states(run)[k], a) for k, a in reference.items())


def test_a_checkpoint_without_momentum_keeps_no_velocity_and_one_with_it_must_have_it(tmp_path):
    plain = parse({**SMALL, "train": {**SMALL["train"], **LEGACY_SCHEDULE}})
    Trainer(plain, tmp_path / "plain").run()
    arrays, _ = rundir.load_checkpoint(tmp_path / "plain" / rundir.CHECKPOINT)
    assert not any(k.startswith("velocity__") for k in arrays)
    cfg = parse(SMALL)
    Trainer(cfg, tmp_path / "momentum").run()
    path = tmp_path / "momentum" / rundir.CHECKPOINT
    arrays, meta = rundir.load_checkpoint(path)
    network = build_network(cfg)
    for damage, words in ((lambda a: a.pop("velocity__l1_x"), "velocity.l1_x: must be (6, 64) finite float64"),
                          (lambda a: a.update(velocity__l2_b=np.full((10, 1), math.inf)), "velocity.l2_b")):
        forged = dict(arrays)
        damage(forged)
        rundir.save_checkpoint(path, forged, meta)
        with pytest.raises(ConfigError) as err:
            read_checkpoint(cfg, network, path)
        assert words in str(err.value)


def test_an_adam_run_learns_keeps_both_moments_and_refuses_a_damaged_second_moment(tmp_path):
    cfg = parse({**SMALL, "train": {**SMALL["train"], "optimizer": "adam", "lr": [0.002, 0.001], "epochs": 3}})
    rows = Trainer(cfg, tmp_path / "adam").run()
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    path = tmp_path / "adam" / rundir.CHECKPOINT
    arrays, meta = rundir.load_checkpoint(path)
    assert {k for k in arrays if k.startswith("second_moment__")} == {
        "second_moment__l1_x", "second_moment__l2_l1", "second_moment__l1_b", "second_moment__l2_b"}
    # >= 0, not > 0: the digits' border pixels are always 0, so their weights never see a gradient
    assert all(np.all(arrays[k] >= 0) and np.mean(arrays[k] > 0) > 0.5
               for k in arrays if k.startswith("second_moment__"))
    network = build_network(cfg)
    forged = {**arrays, "second_moment__l1_x": -arrays["second_moment__l1_x"]}
    rundir.save_checkpoint(path, forged, meta)
    with pytest.raises(ConfigError) as err:
        read_checkpoint(cfg, network, path)
    assert "second_moment.l1_x: must be (6, 64) finite float64 numbers >= 0" in str(err.value)
    # an sgd run's checkpoint carries no second moment
    Trainer(parse(SMALL), tmp_path / "sgd").run()
    sgd_arrays, sgd_meta = rundir.load_checkpoint(tmp_path / "sgd" / rundir.CHECKPOINT)
    assert not any(k.startswith("second_moment__") for k in sgd_arrays)
    rundir.save_checkpoint(tmp_path / "sgd" / rundir.CHECKPOINT, {**sgd_arrays, "second_moment__l1_x":
                                                                 arrays["second_moment__l1_x"]}, sgd_meta)
    with pytest.raises(ConfigError) as err:
        read_checkpoint(parse(SMALL), network, tmp_path / "sgd" / rundir.CHECKPOINT)
    assert "only adam keeps a second moment" in str(err.value)
