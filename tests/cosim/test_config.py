"""The TOML config: every field has a default, the resolved dump round-trips, and every unknown key or
bad value is rejected with a ConfigError whose message names the file, the field (`section.key`)
and the reason."""

from __future__ import annotations

import dataclasses
import math
import tomllib
from pathlib import Path

import pytest
import tomli_w

from memprop.circuits.devices import DEVICE_MODELS
from memprop.circuits.validation import ConfigError, one_line
from memprop.circuits.neuron import Neuron
from memprop.cosim.config.config import (MAX_CONFIG_BYTES, SECTIONS, Config, DeviceConfig, NetworkConfig, SampleConfig,
                                  SimConfig, build_network, dumps, load, loads, parse, to_dict)

# ---------------------------------------------------------------- helpers


def write(tmp_path: Path, text: str | bytes, name: str = "run.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def rejected(tmp_path: Path, text: str | bytes, field: str, *reason: str, name: str = "run.toml") -> ConfigError:
    """Load `text` from a file; it must fail naming that file, `field` and every `reason` fragment."""
    path = write(tmp_path, text, name)
    with pytest.raises(ConfigError) as info:
        load(path)
    err = info.value
    message = str(err)
    assert err.source == str(path)
    assert message.startswith(one_line(f"{path}: {field}: ")), message  # line breaks escaped
    assert err.field == field, message
    for fragment in reason:
        assert fragment in message, message
    assert "\n" not in message and "\r" not in message, message
    return err


def toml_of(section: str, key: str, value: object) -> str:
    return tomli_w.dumps({section: {key: value}})


#: Float fields of the non-device sections, with their defaults.
FLOAT_FIELDS = [(section, f.name) for section, cls in SECTIONS.items() if cls is not DeviceConfig
                for f in dataclasses.fields(cls) if isinstance(f.default, float)]
INT_FIELDS = [(section, f.name) for section, cls in SECTIONS.items() if cls is not DeviceConfig
              for f in dataclasses.fields(cls) if type(f.default) is int]
CHOICE_FIELDS = [("network", "topology"), ("network", "init"), ("neuron", "level"), ("neuron", "activation"),
                 ("device", "model"), ("sim", "analysis"), ("sample", "kind")]
DEVICE_FLOAT_PARAMS = [(model, f.name) for model, dev in DEVICE_MODELS.items() for f in dataclasses.fields(dev)
                       if isinstance(getattr(dev, f.name), float)]


def test_the_field_tables_cover_the_schema():
    assert len(FLOAT_FIELDS) >= 13 and len(INT_FIELDS) >= 6 and len(DEVICE_FLOAT_PARAMS) >= 39
    assert ("neuron", "r_f") in FLOAT_FIELDS and ("network", "seed") in INT_FIELDS


# ---------------------------------------------------------------- defaults and round trip


def test_no_file_and_an_empty_file_are_the_defaults(tmp_path):
    assert load(None) == Config()
    assert load(write(tmp_path, "")) == Config()
    assert load(write(tmp_path, "# only a comment\n", "c.toml")) == Config()
    assert parse({}) == Config()


def test_every_field_has_a_default():
    for cls in SECTIONS.values():
        cls()  # constructible with no arguments
        for f in dataclasses.fields(cls):
            assert f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING, f.name


def test_defaults_round_trip_through_the_dump():
    cfg = Config()
    text = dumps(cfg)
    back = parse(tomllib.loads(text))
    assert back == cfg
    assert dumps(back) == text
    assert to_dict(back) == to_dict(cfg)


@pytest.mark.parametrize("doc", [
    {"network": {"topology": "recurrent", "neurons": 12, "inputs": 4, "outputs": 3, "bias": False,
                 "init": "uniform", "seed": 7}},
    {"network": {"layers": [8, 6, 4, 2], "wire_resistance": 2.5, "init_gain": 1.5}},
    {"neuron": {"level": "macromodel", "activation": "smooth", "r_f": 2e4, "v_low": -1.0, "v_high": 1.0,
                "a0": 1e4, "v_offset": 1e-3}},
    {"device": {"model": "hp-biolek", "params": {"r_on": 2e4, "p": 3.0}}},
    {"device": {"model": "yakopcic", "params": {"eta": -1.0, "x_p": 0.4}}, "network": {"layers": [4, 3]}},
    {"sim": {"analysis": "tran", "tran_step": 1e-8, "tran_stop": 1e-5, "beta": 0.25}},
    {"sample": {"kind": "random", "seed": 3}, "network": {"layers": [5, 2]}},
], ids=["recurrent", "deep-wires", "macromodel", "hp-biolek", "yakopcic", "tran", "sample"])
def test_non_default_configs_round_trip(tmp_path, doc):
    cfg = load(write(tmp_path, tomli_w.dumps(doc)))
    text = dumps(cfg)
    back = load(write(tmp_path, text, "dumped.toml"))
    assert back == cfg
    assert dumps(back) == text
    assert back.device.build() == cfg.device.build()


def test_integers_are_accepted_for_float_fields_and_become_floats(tmp_path):
    cfg = load(write(tmp_path, "[neuron]\nr_f = 20000\n[device.params]\nr_on = 20000\n"))
    assert cfg.neuron.r_f == 20000.0 and type(cfg.neuron.r_f) is float
    assert cfg.device.build().r_on == 20000.0 and type(cfg.device.build().r_on) is float


def _dump_items():
    data = to_dict(Config())
    for section, table in data.items():
        for key, value in table.items():
            if key == "params":
                continue
            yield pytest.param(section, key, value, id=f"{section}.{key}")
    for model, dev in DEVICE_MODELS.items():
        for f in dataclasses.fields(dev):
            yield pytest.param("device.params", f.name, (model, getattr(dev, f.name)), id=f"{model}.{f.name}")


@pytest.mark.parametrize("section, key, value", list(_dump_items()))
def test_every_section_and_key_of_the_dump_is_accepted(tmp_path, section, key, value):
    if section == "device.params":
        model, default = value
        text = tomli_w.dumps({"device": {"model": model, "params": {key: default}}})
        cfg = load(write(tmp_path, text))
        assert cfg.device.build() == DEVICE_MODELS[model]
        assert cfg == parse({"device": {"model": model}})
        return
    cfg = load(write(tmp_path, toml_of(section, key, value)))
    assert cfg == Config()
    assert to_dict(cfg)[section][key] == value


# ---------------------------------------------------------------- unknown sections and keys


@pytest.mark.parametrize("text, field, reason", [
    ("[nonsense]\nx = 1\n", "nonsense", "unknown section; known sections: network, neuron, device, sim, sample"),
    ("stray = 1\n", "stray", "unknown section"),
    ("[Network]\nseed = 1\n", "Network", "unknown section"),
    ("[source]\n", "source", "unknown section"),
    ("[network]\nfoo = 1\n", "network.foo", "unknown key; known keys: topology, layers"),
    ("[network]\nLayers = [4, 2]\n", "network.Layers", "unknown key"),
    ("[neuron]\ntau = 1e-6\n", "neuron.tau", "unknown key; known keys: level, activation, r_f"),
    ("[device]\nname = 'vteam'\n", "device.name", "unknown key; known keys: model, params"),
    ("[sim]\nsteps = 10\n", "sim.steps", "unknown key"),
    ("[sample]\nimage = 3\n", "sample.image", "unknown key"),
    ("[network.extra]\nx = 1\n", "network.extra", "unknown key"),
    ("[sim]\nsource = 'x'\n", "sim.source", "unknown key"),
])
def test_unknown_sections_and_keys_are_rejected(tmp_path, text, field, reason):
    rejected(tmp_path, text, field, reason)


@pytest.mark.parametrize("model, key", [("vteam", "bogus"), ("vteam", "window"), ("vteam", "mu_v"),
                                        ("hp-joglekar", "v_on"), ("yakopcic", "r_on"), ("vteam", "kind"),
                                        ("vteam", "template")])
def test_unknown_device_parameter_is_rejected_with_the_known_ones(tmp_path, model, key):
    text = tomli_w.dumps({"device": {"model": model, "params": {key: 1.0}}})
    known = ", ".join(sorted(f.name for f in dataclasses.fields(DEVICE_MODELS[model])))
    rejected(tmp_path, text, f"device.params.{key}", f"not a parameter of device model {model!r}", f"known: {known}")


def test_unknown_device_model_is_rejected(tmp_path):
    rejected(tmp_path, "[device]\nmodel = 'memristor9000'\n", "device.model",
             "must be one of vteam, hp-joglekar, hp-biolek, yakopcic, stanford-rram; got 'memristor9000'")


def test_an_unknown_key_with_line_breaks_stays_one_escaped_line(tmp_path):
    text = tomli_w.dumps({"network": {"a\n.control\nshell rm -rf /\n.endc": 1}})
    err = rejected(tmp_path, text, "network.a\n.control\nshell rm -rf /\n.endc", "unknown key")
    assert "network.a\\n.control\\nshell rm -rf /\\n.endc: unknown key" in str(err)
    err = rejected(tmp_path, tomli_w.dumps({"x\u2028.include /etc/passwd": {}}), "x\u2028.include /etc/passwd")
    assert "x\\u2028.include /etc/passwd: unknown section" in str(err)


# ---------------------------------------------------------------- wrong types


@pytest.mark.parametrize("section, key, value, reason", [
    # a string where a number belongs
    ("neuron", "r_f", "10k", "must be a number, got str '10k'"),
    ("sim", "beta", "0", "must be a number, got str '0'"),
    ("network", "neurons", "50", "must be an integer, got str '50'"),
    ("device.params", "r_on", "10000", "must be a number, got str '10000'"),
    # a float where an integer belongs
    ("network", "seed", 1.0, "must be an integer, got float 1.0"),
    ("network", "neurons", 50.0, "must be an integer, got float 50.0"),
    ("sample", "index", 2.5, "must be an integer, got float 2.5"),
    ("network", "layers", [64.0, 32, 10], "must be a list of integers"),
    # a bool where a number belongs, and a number where a bool belongs
    ("neuron", "c_f", True, "must be a number, got bool True"),
    ("network", "inputs", False, "must be an integer, got bool False"),
    ("network", "layers", [True, 2], "must be a list of integers"),
    ("device.params", "x_hi", True, "must be a number, got bool True"),
    ("network", "bias", 1, "must be true or false, got 1"),
    ("network", "bias", "yes", "must be true or false, got 'yes'"),
    # a list or a table where a scalar belongs
    ("neuron", "v_high", [1.0], "must be a number, got list [1.0]"),
    ("network", "seed", [0], "must be an integer, got list [0]"),
    ("network", "topology", ["layered"], "must be one of layered, recurrent; got ['layered']"),
    ("neuron", "level", {"ideal": 1}, "must be one of ideal, macromodel, cmos, sky130; got {'ideal': 1}"),
    ("sim", "tran_step", {"value": 1e-8}, "must be a number, got dict"),
    ("device.params", "k_on", [5e5], "must be a number, got list [500000.0]"),
    ("device.params", "r_off", {"x": 1}, "must be a number, got dict"),
    # a scalar where a list or a table belongs
    ("network", "layers", 64, "must be a list, got int"),
    ("network", "layers", "64,32,10", "must be a list, got str"),
    ("device", "params", 5, "must be a table of parameter = value"),
    ("device", "params", [1, 2], "must be a table of parameter = value"),
    # strings that are not one of the choices
    ("sim", "analysis", "OP", "must be one of op, tran; got 'OP'"),
    ("sim", "analysis", "ac", "must be one of op, tran; got 'ac'"),
    ("sample", "kind", "", "must be one of auto, digits, random; got ''"),
    ("neuron", "activation", 1, "must be one of hard, smooth; got 1"),
    ("network", "init", " glorot", "must be one of glorot, uniform; got ' glorot'"),
])
def test_wrong_types_are_rejected(tmp_path, section, key, value, reason):
    if section == "device.params":
        text, field = tomli_w.dumps({"device": {"params": {key: value}}}), f"device.params.{key}"
    else:
        text, field = toml_of(section, key, value), f"{section}.{key}"
    rejected(tmp_path, text, field, reason)


def test_dates_and_times_are_rejected(tmp_path):
    rejected(tmp_path, "[network]\nseed = 1979-05-27\n", "network.seed", "must be an integer, got date")
    rejected(tmp_path, "[sim]\nbeta = 07:32:00\n", "sim.beta", "must be a number, got time")


@pytest.mark.parametrize("text, field", [
    ("network = 5\n", "network"), ("neuron = 'ideal'\n", "neuron"), ("sim = [1, 2]\n", "sim"),
    ("device = true\n", "device"), ("sample = 1979-05-27\n", "sample"),
])
def test_a_section_that_is_not_a_table_is_rejected(tmp_path, text, field):
    rejected(tmp_path, text, field, f"must be a table ([{field}])")


# ---------------------------------------------------------------- NaN and infinities


@pytest.mark.parametrize("literal", ["nan", "+nan", "-nan", "inf", "+inf", "-inf"])
@pytest.mark.parametrize("section, key", FLOAT_FIELDS + INT_FIELDS, ids=lambda v: str(v))
def test_nan_and_infinities_are_rejected(tmp_path, section, key, literal):
    err = rejected(tmp_path, f"[{section}]\n{key} = {literal}\n", f"{section}.{key}")
    assert "must be finite" in str(err) or "must be an integer, got float" in str(err)


@pytest.mark.parametrize("literal", ["nan", "inf", "-inf"])
@pytest.mark.parametrize("model, key", DEVICE_FLOAT_PARAMS, ids=lambda v: str(v))
def test_nan_and_infinities_in_device_parameters_are_rejected(tmp_path, model, key, literal):
    rejected(tmp_path, f"[device]\nmodel = '{model}'\n[device.params]\n{key} = {literal}\n",
             f"device.params.{key}", "must be finite")


@pytest.mark.parametrize("literal", ["nan", "inf", "-inf"])
def test_nan_and_infinities_in_layers_are_rejected(tmp_path, literal):
    rejected(tmp_path, f"[network]\nlayers = [64, {literal}, 10]\n", "network.layers", "must be a list of integers")


# ---------------------------------------------------------------- sizes


@pytest.mark.parametrize("layers, field, reason", [
    ([], "network.layers", "needs 2 to 16 entries"),
    ([64], "network.layers", "needs 2 to 16 entries"),
    ([2] * 17, "network.layers", "needs 2 to 16 entries (inputs, then neuron layers), got 17"),
    ([0, 3], "network.layers[0]", "must be between 1 and 4096, got 0"),
    ([64, 0], "network.layers[1]", "must be between 1 and 4096, got 0"),
    ([64, -1, 10], "network.layers[1]", "must be between 1 and 4096, got -1"),
    ([64, 32, 4097], "network.layers[2]", "must be between 1 and 4096, got 4097"),
    ([10 ** 9, 3], "network.layers[0]", "must be between 1 and 4096, got 1000000000"),
    ([2 ** 63 - 1, 3], "network.layers[0]", "must be between 1 and 4096"),
    ([4096, 4096, 4096], "network", "devices exceed the limit of 4000000"),
])
def test_bad_layer_sizes_are_rejected(tmp_path, layers, field, reason):
    rejected(tmp_path, toml_of("network", "layers", layers), field, reason)


def test_a_hundred_thousand_layers_are_rejected(tmp_path):
    text = "[network]\nlayers = [" + ", ".join(["3"] * 100_000) + "]\n"
    rejected(tmp_path, text, "network.layers", "got 100000")


@pytest.mark.parametrize("key, value, field, reason", [
    ("neurons", 0, "network.neurons", "must be between 1 and 4096, got 0"),
    ("neurons", -5, "network.neurons", "must be between 1 and 4096, got -5"),
    ("neurons", 100_000, "network.neurons", "must be between 1 and 4096, got 100000"),
    ("inputs", 0, "network.inputs", "must be between 1 and 4096"),
    ("inputs", 10 ** 12, "network.inputs", "must be between 1 and 4096"),
    ("outputs", 0, "network.outputs", "must be between 1 and 50, got 0"),
    ("outputs", 51, "network.outputs", "must be between 1 and 50, got 51"),
    ("seed", -1, "network.seed", "must be between 0 and 4294967295, got -1"),
    ("seed", 2 ** 63 - 1, "network.seed", "must be between 0 and 4294967295"),
])
def test_bad_recurrent_sizes_and_seeds_are_rejected(tmp_path, key, value, field, reason):
    rejected(tmp_path, tomli_w.dumps({"network": {"topology": "recurrent", key: value}}), field, reason)


def test_a_recurrent_network_too_large_to_hold_is_rejected(tmp_path):
    text = tomli_w.dumps({"network": {"topology": "recurrent", "neurons": 4096, "inputs": 4096, "outputs": 1}})
    rejected(tmp_path, text, "network", "devices exceed the limit of 4000000")


@pytest.mark.parametrize("section, key", [("neuron", "r_f"), ("sim", "beta"), ("network", "init_gain")])
def test_integers_beyond_float_range_are_rejected(tmp_path, section, key):
    rejected(tmp_path, f"[{section}]\n{key} = 1{'0' * 400}\n", f"{section}.{key}",
             "integer with 401 digits is out of range")
    rejected(tmp_path, f"[device.params]\nr_on = -1{'0' * 400}\n", "device.params.r_on",
             "integer with 401 digits is out of range", name="p.toml")


def test_integers_beyond_the_toml_parser_digit_limit_are_rejected(tmp_path):
    rejected(tmp_path, f"[network]\nseed = 1{'0' * 5000}\n", "file", "not valid TOML")


@pytest.mark.parametrize("section, key, value, reason", [
    ("neuron", "r_f", 1e308, "must be <= 1e+09"),
    ("neuron", "r_f", 0.0, "must be >= 1"),
    ("neuron", "r_f", -1e4, "must be >= 1"),
    ("neuron", "c_f", -1e-12, "must be >= 1e-18"),
    ("neuron", "c_f", 0.0, "must be >= 1e-18"),
    ("neuron", "v_high", 1e308, "must be <= 10"),
    ("neuron", "v_low", -1e308, "must be >= -10"),
    ("neuron", "gbw", 1e308, "must be <= 1e+12"),
    ("neuron", "v_offset", 0.5, "must be <= 0.1"),
    ("network", "wire_resistance", -1.0, "must be >= 0"),
    ("network", "wire_resistance", 1e308, "must be <= 1e+06"),
    ("network", "init_gain", 0.0, "must be > 0"),
    ("network", "init_gain", -0.5, "must be > 0"),
    ("sim", "tran_step", -1e-8, "must be >= 1e-15"),
    ("sim", "tran_step", 0.0, "must be >= 1e-15"),
    ("sim", "tran_stop", 1e308, "must be <= 10"),
    ("sim", "beta", 1e308, "must be <= 1000"),
    ("sim", "beta", -1e308, "must be >= -1000"),
    ("sample", "index", 1797, "must be between 0 and 1796, got 1797"),
    ("sample", "index", -1, "must be between 0 and 1796, got -1"),
    ("sample", "seed", -3, "must be between 0 and 4294967295"),
])
def test_out_of_range_numbers_are_rejected(tmp_path, section, key, value, reason):
    rejected(tmp_path, toml_of(section, key, value), f"{section}.{key}", reason)


# ---------------------------------------------------------------- device parameters


@pytest.mark.parametrize("model", ["vteam", "hp-joglekar", "hp-biolek"])
@pytest.mark.parametrize("r_on, r_off", [(1e4, 1e4), (1e6, 1e4), (2e6, 1e6), (1e308, 1e6)])
def test_r_off_must_exceed_r_on(tmp_path, model, r_on, r_off):
    text = tomli_w.dumps({"device": {"model": model, "params": {"r_on": r_on, "r_off": r_off}}})
    rejected(tmp_path, text, "device.params.r_off", f"must exceed r_on ({r_on:g}), got {r_off:g}")


@pytest.mark.parametrize("model, key, value, reason", [
    ("vteam", "r_on", -1.0, "must be > 0, got -1.0"),
    ("vteam", "r_on", 0.0, "must be > 0, got 0.0"),
    ("vteam", "r_on", -1e308, "must be > 0"),
    ("vteam", "r_off", -1e6, "must be > 0"),
    ("hp-joglekar", "r_on", -10.0, "must be > 0"),
    ("hp-biolek", "mu_v", -1e-14, "must be > 0"),
    ("hp-biolek", "thickness", 0.0, "must be > 0"),
    ("hp-joglekar", "p", 2.5, "must be a whole number"),
    ("hp-joglekar", "p", 0.0, "must be >= 1"),
    ("hp-joglekar", "x_lo", 0.2, "bounds are 0 and 1"),
    ("vteam", "k_on", -5e5, "must be > 0"),
    ("vteam", "alpha_off", 0.0, "must be > 0"),
    ("vteam", "v_on", -1.5, "must be > 0"),
    ("vteam", "v_off", 1.5, "must be <= -1e-09"),
    ("vteam", "p", 1e308, "must be <= 50"),
    ("vteam", "x_lo", -0.5, "must be >= 0"),
    ("vteam", "x_hi", 2.0, "must be <= 1"),
    ("vteam", "x_lo", 1.0, None),
    ("yakopcic", "a1", -2e-3, "must be > 0"),
    ("yakopcic", "b", 0.0, "must be > 0"),
    ("yakopcic", "v_n", -1.2, "must be > 0"),
    ("yakopcic", "x_p", 1.0, "must be <= 0.999"),
    ("yakopcic", "eta", 0.5, "must be +1 or -1, got 0.5"),
    ("yakopcic", "eta", "up", "must be +1 or -1, got 'up'"),
    ("yakopcic", "eta", True, "must be a number, got bool True"),  # True == 1.0, but a bool never reaches a deck
    ("yakopcic", "eta", False, "must be a number, got bool False"),
    ("hp-joglekar", "window", "hann", "must be one of joglekar, biolek; got 'hann'"),
    ("hp-joglekar", "window", 2.0, "must be one of joglekar, biolek; got 2.0"),
])
def test_bad_device_parameters_are_rejected(tmp_path, model, key, value, reason):
    text = tomli_w.dumps({"device": {"model": model, "params": {key: value}}})
    if reason is None:  # x_lo >= x_hi: the error names x_hi
        rejected(tmp_path, text, "device.params.x_hi", "must exceed x_lo (1)")
        return
    rejected(tmp_path, text, f"device.params.{key}", reason)


@pytest.mark.parametrize("model, params, reason", [
    ("hp-joglekar", {"thickness": 1e300}, "k = mu_v * r_on / thickness^2"),
    ("hp-biolek", {"thickness": 1e-300}, "k = mu_v * r_on / thickness^2"),
    ("hp-biolek", {"mu_v": 1e300}, "k = mu_v * r_on / thickness^2 = inf"),
    ("vteam", {"r_on": 1e-12}, "read conductance range"),
    ("vteam", {"r_on": 5e-324}, "read conductance range"),
    ("yakopcic", {"a1": 5e-324}, "read conductance range"),
    ("yakopcic", {"b": 5e-324, "a1": 1e-300}, "read conductance range"),
])
def test_parameters_that_combine_into_an_overflow_are_rejected(tmp_path, model, params, reason):
    """Each value is within its own bounds; together they overflow (or empty) the conductance range."""
    text = tomli_w.dumps({"device": {"model": model, "params": params}, "network": {"layers": [4, 3]}})
    rejected(tmp_path, text, "device.params", reason, "must be finite")


def test_a_nonlinear_read_device_with_wire_resistance_is_rejected_at_load(tmp_path):
    text = tomli_w.dumps({"device": {"model": "yakopcic"}, "network": {"wire_resistance": 1.0}})
    rejected(tmp_path, text, "network.wire_resistance", "needs a device with a linear read", "'yakopcic'")


# ---------------------------------------------------------------- cross-field checks


@pytest.mark.parametrize("doc, field, reason", [
    ({"neuron": {"v_low": 1.0, "v_high": 1.0}}, "neuron.v_high", "must exceed v_low (1), got 1"),
    ({"neuron": {"v_low": 2.0}}, "neuron.v_high", "must exceed v_low (2), got 1"),
    ({"neuron": {"v_high": 8.0}}, "neuron.v_rail", "must be >= 8"),
    ({"neuron": {"level": "cmos", "activation": "smooth"}}, "neuron.activation", "the cmos neuron clips at its rails"),
    ({"sim": {"tran_step": 1e-3, "tran_stop": 1e-3}}, "sim.tran_step", "must be smaller than tran_stop"),
    ({"sim": {"tran_step": 1e-12, "tran_stop": 1.0}}, "sim.tran_stop", "more than 1e6 transient steps"),
    ({"network": {"topology": "recurrent", "neurons": 4, "outputs": 5}}, "network.outputs",
     "must be between 1 and 4, got 5"),
])
def test_inconsistent_values_are_rejected(tmp_path, doc, field, reason):
    rejected(tmp_path, tomli_w.dumps(doc), field, reason)


# ---------------------------------------------------------------- the file itself


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere" / "missing.toml"
    with pytest.raises(ConfigError) as info:
        load(path)
    assert str(info.value) == f"{path}: file: no such file"


def test_directory_instead_of_a_file(tmp_path):
    path = tmp_path / "configs.toml"
    path.mkdir()
    with pytest.raises(ConfigError) as info:
        load(path)
    assert str(info.value) == f"{path}: file: is a directory, not a TOML file"


def test_a_path_through_a_regular_file_cannot_be_read(tmp_path):
    parent = write(tmp_path, "", "plain.toml")
    with pytest.raises(ConfigError) as info:
        load(parent / "inner.toml")
    assert str(info.value).startswith(f"{parent / 'inner.toml'}: file: ")
    assert "Not a directory" in str(info.value) or "no such file" in str(info.value)


def test_unreadable_file(tmp_path, monkeypatch):
    import os

    from memprop.cosim.data import files

    path = write(tmp_path, "[network]\n", "locked.toml")
    real_open = os.open

    def denied(name, *args, **kwargs):
        if str(name) == str(path):
            raise PermissionError(13, "Permission denied", str(name))
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(files.os, "open", denied)  # chmod 000 does not stop root
    with pytest.raises(ConfigError) as info:
        load(path)
    assert str(info.value) == f"{path}: file: cannot be read: Permission denied"


@pytest.mark.parametrize("raw, at", [(b"\xff\xfe[network]\n", "at byte 0"), (b"[network]\nseed = 1 # \xe9\n", "at byte"),
                                     (b"[sim]\nanalysis = '\xc3('\n", "at byte 18")])
def test_non_utf8_bytes(tmp_path, raw, at):
    rejected(tmp_path, raw, "file", "not UTF-8 text", at)


@pytest.mark.parametrize("text, reason", [
    ("[network\n", "not valid TOML: "),
    ("[network]\nlayers = [64, 32\n", "not valid TOML: "),
    ("[network]\nseed = 1\nseed = 2\n", "(at line 3"),
    ("[network]\n[network]\n", "not valid TOML: "),
    ("topology = layered\n", "Invalid value (at line 1"),
    ("\ufeff[network]\n", "(at line 1, column 1)"),
    ("[network]\ntopology = \"a\nb\"\n", "not valid TOML: "),
    ("[network]\ntopology = \"\x00\"\n", "not valid TOML: "),
    ("= 3\n", "not valid TOML: "),
    ("a = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ("[network]\ntopology = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n", "nested too deeply"),
])
def test_invalid_toml(tmp_path, text, reason):
    rejected(tmp_path, text, "file", "not valid TOML", reason)


def test_oversized_file(tmp_path):
    rejected(tmp_path, "#" * (MAX_CONFIG_BYTES + 1), "file", f"larger than {MAX_CONFIG_BYTES} bytes")


# ---------------------------------------------------------------- messages


def test_huge_values_are_cut_in_the_message(tmp_path):
    err = rejected(tmp_path, toml_of("network", "topology", "A" * 500_000), "network.topology", "must be one of")
    assert len(str(err)) < 1200 and "more characters)" in str(err)


def test_parse_without_a_file_names_the_source_given():
    with pytest.raises(ConfigError, match=r"^<config>: sim\.analysis: must be one of op, tran; got 'dc'$"):
        parse({"sim": {"analysis": "dc"}})
    with pytest.raises(ConfigError, match=r"^inline: network\.foo: unknown key"):
        parse({"network": {"foo": 1}}, "inline")


def test_section_dataclasses_validate_on_construction():
    """The same checks guard the API: a dataclass built in Python is validated like a TOML one."""
    with pytest.raises(ConfigError, match="layers"):
        NetworkConfig(layers=(64,))
    with pytest.raises(ConfigError, match="analysis"):
        SimConfig(analysis="tran\n.control")
    with pytest.raises(ConfigError, match="kind"):
        SampleConfig(kind="digits; rm")
    with pytest.raises(ConfigError, match="r_f"):
        Neuron(r_f=math.nan)
    with pytest.raises(ConfigError, match="model"):
        DeviceConfig(model=".include /etc/passwd")
    assert build_network(Config()).n_devices > 0


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[2] / "configs").glob("*.toml")), ids=lambda p: p.name)
def test_shipped_configs_load_and_build(path):
    from memprop.cosim.config.config import build_network, check_trainable, load

    cfg = load(path)
    network = build_network(cfg)
    check_trainable(cfg, network)
    assert network.n_inputs == cfg.network.layers[0]


@pytest.mark.parametrize("backend, refused", [("ngspice", True), ("behavioral", False)])
def test_rbp_with_transistor_neurons_in_ngspice_is_refused_when_the_run_starts(backend, refused):
    """ngspice's side network exists at the ideal and macromodel levels only: say so before training,
    not when the deck fails to render; the twin computes the adjoint at any level."""
    from memprop.cosim.config.config import build_network, check_trainable

    cfg = parse({"neuron": {"level": "cmos"}, "train": {"rule": "rbp", "backend": backend}})
    if refused:
        with pytest.raises(ConfigError, match="train.rule.*side network.*cmos"):
            check_trainable(cfg, build_network(cfg))
    else:
        check_trainable(cfg, build_network(cfg))


CONFIG_FILES = sorted((Path(__file__).parents[2] / "configs").glob("*.toml"))


@pytest.mark.parametrize("model", sorted(DEVICE_MODELS))
def test_config_show_doc_is_toml_that_loads_back_with_every_field_explained(model):
    from memprop.circuits.params import describe
    from memprop.cosim.config.config import documented

    cfg = parse({"device": {"model": model}, "train": {"update": "pulse"}})
    text = documented(cfg)
    assert dumps(loads(text)) == dumps(cfg)
    tables = {}
    for block in text.split("\n\n"):
        header, *rows = block.splitlines()
        tables[header.strip("[]")] = {ln.split(" = ", 1)[0]: ln for ln in rows}
    objects = {**{s: getattr(cfg, s) for s in SECTIONS}, "device.params": cfg.device.build()}
    for header, obj in objects.items():
        for name, value, unit, doc in describe(obj):
            if isinstance(value, dict):
                continue
            line = tables[header][name]
            assert (not doc or one_line(doc)[:20] in line) and (not unit or f"[{unit}]" in line), (header, line)


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: p.name)
def test_config_show_doc_of_every_shipped_config(path):
    from click.testing import CliRunner

    from memprop.cosim.cli import main

    result = CliRunner().invoke(main, ["config", "show", "--doc", str(path)])
    assert result.exit_code == 0, result.output
    assert dumps(loads(result.output)) == dumps(load(path)) and "# " in result.output
