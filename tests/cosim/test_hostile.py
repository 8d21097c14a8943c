"""Hostile and malformed configs through the real CLI: each gets one clear error line naming the file,
never a traceback, and never a netlist.

A hand-written corpus (injection strings in every string field and in device parameter names and
values, NaN/inf, huge, zero and negative numbers, absurd sizes, wrong types, nested tables, broken
files) plus a derandomized hypothesis corpus, each run as `memprop netgen CONFIG -o OUT`. Then the
other half of the guarantee: a valid deck's free text (title, resolved-config header) is comment
lines only, whatever the text contains.
"""

from __future__ import annotations

import math
import subprocess
import tempfile
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memprop.circuits.devices import DEVICE_MODELS
from memprop.cosim.cli import main
from memprop.cosim.config.config import MAX_CONFIG_BYTES, SECTIONS, Config, NetworkConfig, build_network, initial_states
from memprop.netgen.deck import comment_lines, render
from tests.capped import memprop_command

INJECTION = "\n.control\nshell rm -rf /\n.endc\n"
MISSING = object()  # a config file that does not exist


def t(*pairs: tuple[str, object]) -> str:
    """TOML from ("section.key", value) pairs ("device.params.name" for device parameters)."""
    doc: dict = {}
    for dotted, value in pairs:
        *path, key = dotted.split(".", 2) if dotted.startswith("device.params.") else dotted.split(".", 1)
        table = doc
        for part in path:
            table = table.setdefault(part, {})
        table[key] = value
    return tomli_w.dumps(doc)


def hp(*pairs):
    return t(("device.model", "hp-joglekar"), *pairs)


def yak(*pairs):
    return t(("device.model", "yakopcic"), *pairs)


# (id, file content: TOML text, raw bytes, or MISSING)
CASES: list[tuple[str, object]] = [
    # --- injection strings in every string field
    ("topology-control", t(("network.topology", "layered" + INJECTION))),
    ("topology-include", t(("network.topology", ".include /etc/passwd"))),
    ("topology-nul", t(("network.topology", "layered\x00"))),
    ("topology-ansi", t(("network.topology", "\x1b[2J\x1b[Hlayered"))),
    ("topology-100k", t(("network.topology", "layered" * 15_000))),
    ("topology-trailing-space", t(("network.topology", "layered "))),
    ("init-dquote", t(("network.init", 'glorot"'))),
    ("init-squote-shell", t(("network.init", "glorot'; shell reboot"))),
    ("init-backtick", t(("network.init", "`id`"))),
    ("level-u2028", t(("neuron.level", "ideal\u2028.control"))),
    ("level-braces", t(("neuron.level", "{ideal}"))),
    ("level-empty", t(("neuron.level", ""))),
    ("activation-brace", t(("neuron.activation", "hard}"))),
    ("activation-vt", t(("neuron.activation", "hard\x0b.endc"))),
    ("activation-u2029", t(("neuron.activation", "smooth\u2029.end"))),
    ("model-include", t(("device.model", "vteam\n.include /etc/passwd"))),
    ("model-formfeed", t(("device.model", "vteam\x0c"))),
    ("model-star", t(("device.model", "* vteam"))),
    ("model-semicolon", t(("device.model", "vteam;x"))),
    ("analysis-control", t(("sim.analysis", "op" + INJECTION))),
    ("analysis-cr", t(("sim.analysis", "op\r.endc"))),
    ("analysis-semicolon", t(("sim.analysis", "tran;shell id"))),
    ("analysis-param", t(("sim.analysis", ".param rf={1/0}"))),
    ("kind-u2029", t(("sample.kind", "auto\u2029.end"))),
    ("kind-nel", t(("sample.kind", "digits\x85shell ls"))),
    ("kind-subshell", t(("sample.kind", "$(reboot)"))),
    # --- device parameter names and values
    ("param-key-control", t(("device.params.r_on" + INJECTION, 1.0))),
    ("param-key-include", t(("device.params..include /etc/passwd", 1.0))),
    ("param-key-dquote", t(('device.params.r_on"', 1e4))),
    ("param-key-brace", t(("device.params.r_on}", 1e4))),
    ("param-key-semicolon", t(("device.params.r_on;x", 1e4))),
    ("param-key-star", t(("device.params.*", 1e4))),
    ("param-key-u2028", t(("device.params.r_on\u2028", 1e4))),
    ("param-key-case", t(("device.params.R_ON", 1e4))),
    ("param-key-empty", t(("device.params.", 1e4))),
    ("window-control", hp(("device.params.window", "joglekar" + INJECTION))),
    ("window-braces", hp(("device.params.window", "{biolek}"))),
    ("param-value-endc", t(("device.params.r_on", "1e4\n.endc"))),
    ("param-value-expression", t(("device.params.r_on", "{rf}"))),
    ("param-value-suffix", t(("device.params.r_off", "1meg"))),
    ("eta-string", yak(("device.params.eta", "+1\n.control"))),
    ("eta-bool", yak(("device.params.eta", True))),
    # --- unknown keys and sections carrying injections
    ("unknown-key-control", t(("network.a" + INJECTION, 1))),
    ("unknown-section-include", t((".include /etc/passwd.x", 1))),
    ("unknown-section-control", t(("control.shell", "rm -rf /"))),
    ("top-level-dot-control", '".control" = "shell rm -rf /"\n'),
    # --- NaN and infinities
    ("r_f-nan", "[neuron]\nr_f = nan\n"),
    ("c_f-inf", "[neuron]\nc_f = inf\n"),
    ("beta-minus-inf", "[sim]\nbeta = -inf\n"),
    ("wire-nan", "[network]\nwire_resistance = nan\n"),
    ("r_on-nan", "[device.params]\nr_on = nan\n"),
    ("r_off-inf", "[device.params]\nr_off = inf\n"),
    ("eta-nan", "[device]\nmodel = 'yakopcic'\n[device.params]\neta = nan\n"),
    ("thickness-minus-inf", "[device]\nmodel = 'hp-biolek'\n[device.params]\nthickness = -inf\n"),
    ("layers-nan", "[network]\nlayers = [64, nan, 10]\n"),
    ("seed-inf", "[network]\nseed = inf\n"),
    # --- huge numbers
    ("r_f-1e308", t(("neuron.r_f", 1e308))),
    ("tran_stop-1e308", t(("sim.tran_stop", 1e308))),
    ("r_on-1e308", t(("device.params.r_on", 1e308))),
    ("k_on-minus-1e308", t(("device.params.k_on", -1e308))),
    ("gbw-1e308", t(("neuron.gbw", 1e308))),
    ("r_f-int-1e400", f"[neuron]\nr_f = 1{'0' * 400}\n"),
    ("seed-5000-digits", f"[network]\nseed = 1{'0' * 5000}\n"),
    ("thickness-overflow", hp(("device.params.thickness", 1e300))),
    ("mu_v-overflow", hp(("device.params.mu_v", 1e300))),
    ("r_on-denormal", t(("device.params.r_on", 5e-324))),
    ("yakopcic-a1-denormal", yak(("device.params.a1", 5e-324))),
    # --- zero and negative values (negative conductance-related parameters)
    ("r_on-negative", t(("device.params.r_on", -1e4))),
    ("r_off-zero", t(("device.params.r_off", 0.0))),
    ("r_off-below-r_on", t(("device.params.r_off", 5e3))),
    ("c_f-negative", t(("neuron.c_f", -1e-10))),
    ("r_f-negative", t(("neuron.r_f", -1e4))),
    ("wire-negative", t(("network.wire_resistance", -10.0))),
    ("tran_step-zero", t(("sim.tran_step", 0.0))),
    ("yakopcic-a1-negative", yak(("device.params.a1", -2e-3))),
    ("v_on-negative", t(("device.params.v_on", -1.0))),
    ("hp-mu_v-negative", hp(("device.params.mu_v", -1e-14))),
    # --- absurd sizes
    ("layers-float-1e9", "[network]\nlayers = [1e9, 3]\n"),
    ("layers-int-1e9", t(("network.layers", [10 ** 9, 3]))),
    ("layers-0", t(("network.layers", [0]))),
    ("layers-0-0", t(("network.layers", [0, 0]))),
    ("layers-empty", t(("network.layers", []))),
    ("layers-negative", t(("network.layers", [-64, 32]))),
    ("layers-100000", "[network]\nlayers = [" + ", ".join(["3"] * 100_000) + "]\n"),
    ("layers-device-limit", t(("network.layers", [4096, 4096, 4096]))),
    ("neurons-100000", t(("network.topology", "recurrent"), ("network.neurons", 100_000))),
    ("recurrent-device-limit", t(("network.topology", "recurrent"), ("network.neurons", 4096),
                                 ("network.inputs", 4096))),
    ("outputs-zero", t(("network.outputs", 0))),
    # --- wrong types and nested tables where scalars belong
    ("layers-string", t(("network.layers", "64,32,10"))),
    ("layers-table", t(("network.layers", {"a": 1}))),
    ("topology-nested-table", t(("network.topology", {"nested": {"deep": "layered"}}))),
    ("r_f-string", t(("neuron.r_f", "10k"))),
    ("r_f-bool", t(("neuron.r_f", True))),
    ("seed-float", t(("network.seed", 1.5))),
    ("bias-string", t(("network.bias", "true"))),
    ("params-string", t(("device.params", "r_on=1"))),
    ("param-table", t(("device.params.r_on", {"value": 1e4}))),
    ("section-array", "sim = [1, 2]\n"),
    ("section-string", 'network = "layered"\n'),
    ("array-of-tables", "[[network]]\nseed = 1\n"),
    ("model-list", t(("device.model", ["vteam"]))),
    ("index-date", "[sample]\nindex = 1979-05-27\n"),
    # --- broken files
    ("toml-unclosed", "[network\n"),
    ("toml-raw-newline-in-string", '[network]\ntopology = "layered\n.control"\n'),
    ("toml-duplicate-key", "[sim]\nanalysis = 'op'\nanalysis = 'tran'\n"),
    ("toml-bom", "\ufeff[network]\n"),
    ("toml-deep-arrays", "a = " + "[" * 5000 + "]" * 5000 + "\n"),
    ("toml-deep-tables", "[network]\ntopology = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n"),
    ("bytes-not-utf8", b"[network]\ntopology = '\xff\xfe'\n"),
    ("bytes-latin1", "[network]\ntopology = 'layéred'\n".encode("latin-1")),
    ("file-too-big", "#" * (MAX_CONFIG_BYTES + 1)),
    ("file-missing", MISSING),
    # --- values valid alone, wrong together
    ("yakopcic-wires", yak(("network.wire_resistance", 1.0))),
    ("cmos-neuron", t(("neuron.level", "cmos"), ("neuron.activation", "smooth"))),
    ("digits-need-64-inputs", t(("network.layers", [10, 4]), ("sample.kind", "digits"))),
    ("v_high-below-v_low", t(("neuron.v_low", 2.0))),
]


def run_netgen(config: Path, out: Path, *extra: str):
    return CliRunner().invoke(main, ["netgen", str(config), "-o", str(out), *extra])


def write_config(directory: Path, content: object, name: str = "hostile.toml") -> Path:
    path = directory / name
    if content is MISSING:
        return path
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def assert_clean_rejection(result, config: Path, out: Path) -> None:
    """Exit 2, exactly one `memprop: error: <file>: ...` line on stderr, nothing else, no deck."""
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.split("\n")
    assert lines[1:] == [""], f"not one line: {result.stderr!r}"
    assert lines[0].startswith(f"memprop: error: {config}: "), lines[0]
    assert len(lines[0]) < 1200
    assert not out.exists()
    assert not out.parent.exists() or not any(out.parent.iterdir())  # no deck, no temp file


def test_the_hand_written_corpus_is_large_enough():
    assert len(CASES) >= 60
    assert len({name for name, _ in CASES}) == len(CASES)


@pytest.mark.parametrize("content", [c for _, c in CASES], ids=[name for name, _ in CASES])
def test_hostile_config_is_rejected_by_netgen(tmp_path, content):
    config = write_config(tmp_path, content)
    out = tmp_path / "decks" / "out.cir"
    assert_clean_rejection(run_netgen(config, out), config, out)
    assert_clean_rejection(run_netgen(config, out, "--analysis", "tran", "--map", str(out.parent / "map.json")),
                           config, out)


@pytest.mark.parametrize("content", [c for n, c in CASES if n != "digits-need-64-inputs"],
                         ids=[n for n, _ in CASES if n != "digits-need-64-inputs"])
def test_hostile_config_is_rejected_by_config_show(tmp_path, content):
    """`config show` loads the same way (the sample is only checked when one is built)."""
    config = write_config(tmp_path, content)
    result = CliRunner().invoke(main, ["config", "show", str(config)])
    assert_clean_rejection(result, config, tmp_path / "none" / "none")


def test_the_error_names_file_field_and_reason(tmp_path):
    """A few exact messages, so 'clear error' means something."""
    expect = {
        "topology-control": "network.topology: must be one of layered, recurrent; got "
                            "'layered\\n.control\\nshell rm -rf /\\n.endc\\n'",
        "param-key-include": "device.params..include /etc/passwd: not a parameter of device model 'vteam'",
        "r_on-negative": "device.params.r_on: must be > 0, got -10000.0",
        "r_f-nan": "neuron.r_f: must be finite, got nan",
        "layers-0": "network.layers: needs 2 to 16 entries (inputs, then neuron layers), got 1",
        "layers-device-limit": "network: 100679680 devices exceed the limit of 4000000",
        "file-missing": "file: no such file",
        "toml-deep-arrays": "file: not valid TOML: arrays or tables nested too deeply",
        "yakopcic-wires": "network.wire_resistance: wire resistance needs a device with a linear read",
        "digits-need-64-inputs": "sample.kind: digits are 8x8 = 64 inputs; the network has 10",
    }
    cases = dict(CASES)
    for name, message in expect.items():
        config = write_config(tmp_path, cases[name], f"{name}.toml")
        result = run_netgen(config, tmp_path / "out.cir")
        assert result.stderr.startswith(f"memprop: error: {config}: {message}"), (name, result.stderr)


def test_a_directory_as_config_is_a_usage_error_not_a_traceback(tmp_path):
    config = tmp_path / "configs.toml"
    config.mkdir()
    out = tmp_path / "out.cir"
    result = run_netgen(config, out)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "configs.toml" in result.stderr and "is a directory" in result.stderr
    assert not out.exists()


def test_settle_rejects_before_simulating(tmp_path):
    for name in ("analysis-control", "r_on-nan", "layers-100000", "param-key-control"):
        config = write_config(tmp_path, dict(CASES)[name], f"{name}.toml")
        for backend in ("ngspice", "behavioral"):
            result = CliRunner().invoke(main, ["settle", str(config), "--backend", backend])
            assert_clean_rejection(result, config, tmp_path / "none" / "none")


SUBPROCESS_CASES = ["topology-control", "param-key-u2028", "r_f-int-1e400", "toml-deep-arrays", "layers-100000",
                    "bytes-not-utf8", "file-missing", "yakopcic-wires"]


@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_console_script_prints_one_line_and_no_traceback(tmp_path, name):
    config = write_config(tmp_path, dict(CASES)[name])
    out = tmp_path / "decks" / "out.cir"
    proc = subprocess.run([*memprop_command(), "netgen", str(config), "-o", str(out)], capture_output=True,
                          text=True, encoding="utf-8", errors="replace", timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith(f"memprop: error: {config}: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert not out.exists() and not out.parent.exists()


# ------------------------------------------------------------------ hypothesis corpus

UTF8 = st.characters(codec="utf-8")
HOSTILE_TOKENS = ["\n", "\r", "\r\n", "\u2028", "\u2029", "\x0b", "\x0c", "\x85", "\x1c", "\x1d", "\x1e", "\x00",
                  "\x1b[2J", "\t", " ", INJECTION, "\n.control\nshell rm -rf /\n.endc", ".include /etc/passwd",
                  ".control", ".endc", ".end", "shell ", '"', "'", "{", "}", ";", "*", "=", "$(", "`", "\\"]

#: Text that can never be one of the choices (they are plain lowercase words): it holds a hostile token.
hostile_text = st.builds(lambda a, tok, b: a + tok + b, st.text(UTF8, max_size=6), st.sampled_from(HOSTILE_TOKENS),
                         st.text(UTF8, max_size=6))
non_finite = st.sampled_from([math.nan, math.inf, -math.inf])
beyond_float = st.integers(min_value=10 ** 309, max_value=10 ** 4000).flatmap(lambda n: st.sampled_from([n, -n]))
nested = st.recursive(st.integers() | st.text(UTF8, max_size=4) | st.booleans(),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(UTF8, max_size=4), inner,
                                                                                   max_size=3), max_leaves=6)
tables = st.dictionaries(st.text(UTF8, max_size=5), nested, max_size=3)
dates = st.dates() | st.times() | st.datetimes()
strings = hostile_text | st.sampled_from(["1", "1e3", "nan", "inf", "true", "10k", "1meg", "layered", "op", ""])
floats_any = st.floats(allow_nan=True, allow_infinity=True)

#: Wrong types per kind of field (a value of the right type is never drawn here).
wrong_for_number = strings | st.booleans() | st.lists(st.floats(allow_nan=False), max_size=3) | tables | dates
wrong_for_int = wrong_for_number | floats_any
wrong_for_text = st.integers() | floats_any | st.booleans() | st.lists(st.text(max_size=3), max_size=3) | tables | dates
wrong_for_bool = st.integers() | floats_any | strings | st.lists(st.booleans(), max_size=3) | tables | dates

CHOICE_FIELDS = [("network", "topology"), ("network", "init"), ("neuron", "level"), ("neuron", "activation"),
                 ("device", "model"), ("sim", "analysis"), ("sample", "kind")]
INT_FIELDS = [("network", "neurons"), ("network", "inputs"), ("network", "outputs"), ("network", "seed"),
              ("sample", "index"), ("sample", "seed")]
FLOAT_FIELDS = [("network", "wire_resistance"), ("network", "init_gain"), ("sim", "tran_step"), ("sim", "tran_stop"),
                ("sim", "beta")] + [("neuron", k) for k in ("r_f", "c_f", "v_low", "v_high", "a0", "gbw", "v_rail",
                                                             "v_offset")]
#: Fields for which every negative number is out of range.
NO_NEGATIVE = {("network", "wire_resistance"), ("network", "init_gain"), ("sim", "tran_step"), ("sim", "tran_stop"),
               ("neuron", "r_f"), ("neuron", "c_f"), ("neuron", "a0"), ("neuron", "gbw"), ("neuron", "v_rail")}

TINY = 5e-324
BIG = 1e308


def between(lo: float, hi: float):
    return st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False)


NOT_POSITIVE = between(-BIG, 0.0)
#: Out-of-range values of each device parameter, for every model that has it (given the others' defaults).
BAD_PARAM = {
    "x_lo": between(-BIG, -TINY) | between(1.0, BIG),
    "x_hi": between(-BIG, 0.0) | between(1.0 + 1e-12, BIG),
    "r_on": NOT_POSITIVE | between(1e6, BIG),
    "r_off": between(-BIG, 1e4),
    "v_on": NOT_POSITIVE,
    "v_off": between(0.0, BIG),
    "p": between(-BIG, 1.0 - 1e-12) | between(50.0 + 1e-9, BIG),
    "x_p": between(-BIG, -TINY) | between(0.9991, BIG),
    "x_n": between(-BIG, -TINY) | between(0.9991, BIG),
    "eta": between(-BIG, BIG).filter(lambda v: v not in (1.0, -1.0)),
    "window": hostile_text,
}
PARAM_MODELS: dict[str, list[str]] = {}
for _model, _dev in DEVICE_MODELS.items():
    for _name in _dev.__dataclass_fields__:
        PARAM_MODELS.setdefault(_name, []).append(_model)


def bad_param(name: str):
    wrong = wrong_for_text if name == "window" else wrong_for_number | beyond_float | non_finite
    return BAD_PARAM.get(name, NOT_POSITIVE) | wrong


def bad_number(field: tuple[str, str]):
    out = non_finite | beyond_float | wrong_for_number | between(1e13, BIG) | between(-BIG, -1e13)
    return out | between(-BIG, -TINY) if field in NO_NEGATIVE else out


bad_int = (st.integers(max_value=-1) | st.integers(min_value=2 ** 32, max_value=10 ** 4000) | wrong_for_int)
bad_count = bad_int | st.just(0)
small_sizes = st.lists(st.integers(1, 8), min_size=1, max_size=4)
bad_element = st.integers(max_value=0) | st.integers(min_value=4097, max_value=10 ** 30) | floats_any | strings \
    | st.booleans() | st.lists(st.integers(1, 8), max_size=2) | tables
bad_layers = (wrong_for_text.filter(lambda v: not isinstance(v, list))
              | st.tuples(small_sizes, bad_element, st.integers(0, 4)).map(
                  lambda a: a[0][:a[2]] + [a[1]] + a[0][a[2]:])
              | st.lists(st.integers(1, 8), max_size=1)
              | st.lists(st.integers(1, 8), min_size=17, max_size=40)
              | st.lists(st.integers(1500, 4096), min_size=2, max_size=3))

names = hostile_text | st.text(UTF8, min_size=1, max_size=8)

# An injection is (path, value); a config is one to three of them over the defaults.
injection = st.one_of(
    st.sampled_from(CHOICE_FIELDS).flatmap(lambda f: st.tuples(st.just(f), hostile_text | wrong_for_text)),
    st.sampled_from(FLOAT_FIELDS).flatmap(lambda f: st.tuples(st.just(f), bad_number(f))),
    st.sampled_from(INT_FIELDS).flatmap(
        lambda f: st.tuples(st.just(f), bad_count if f[1] in ("neurons", "inputs", "outputs") else bad_int)),
    st.tuples(st.just(("network", "layers")), bad_layers),
    st.tuples(st.just(("network", "bias")), wrong_for_bool),
    st.tuples(st.just(("device", "params")), wrong_for_text.filter(lambda v: not isinstance(v, dict))),
    st.sampled_from(sorted(PARAM_MODELS)).flatmap(lambda name: st.tuples(
        st.sampled_from(PARAM_MODELS[name]).map(lambda model: ("device", "params", name, model)), bad_param(name))),
    # unknown names: device parameters, keys, sections (a name that happens to be known is skipped)
    st.tuples(names.filter(lambda k: k not in PARAM_MODELS), nested).map(
        lambda kv: (("device", "params", kv[0], "vteam"), kv[1])),
    st.tuples(st.sampled_from(sorted(SECTIONS)), names).filter(
        lambda sk: sk[1] not in SECTIONS[sk[0]].__dataclass_fields__).flatmap(lambda sk: st.tuples(st.just(sk), nested)),
    st.tuples(names.filter(lambda k: k not in SECTIONS), tables).map(lambda kv: ((kv[0],), kv[1])),
    st.sampled_from(sorted(SECTIONS)).flatmap(lambda s: st.tuples(st.just((s,)), wrong_for_text.filter(
        lambda v: not isinstance(v, dict)))),
)


def build(injections) -> dict:
    doc: dict = {}
    for path, value in injections:
        if len(path) == 4:  # a device parameter: ("device", "params", name, model)
            device = doc.get("device") if isinstance(doc.get("device"), dict) else {}
            params = device.get("params") if isinstance(device.get("params"), dict) else {}
            params[path[2]] = value
            device.update(model=path[3], params=params)
            doc["device"] = device
        elif len(path) == 2:
            section = doc.get(path[0]) if isinstance(doc.get(path[0]), dict) else {}
            section[path[1]] = value
            doc[path[0]] = section
        else:
            doc[path[0]] = value
    return doc


hostile_docs = st.lists(injection, min_size=1, max_size=3).map(build)


def test_generated_hostile_configs_are_rejected():
    seen: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)

        @settings(max_examples=200, derandomize=True, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(doc=hostile_docs)
        def check(doc):
            seen.append(doc)
            config = directory / "generated.toml"
            config.write_text(tomli_w.dumps(doc), encoding="utf-8")
            out = directory / "decks" / "out.cir"
            assert_clean_rejection(run_netgen(config, out), config, out)

        check()
    assert len(seen) >= 150


# ------------------------------------------------------------------ valid decks: free text stays comments

LINE_BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def test_the_line_break_list_is_every_unicode_line_break():
    found = [chr(c) for c in range(0x110000) if len(f"a{chr(c)}b".splitlines()) == 2]
    assert sorted(found) == sorted(b for b in LINE_BREAKS if len(b) == 1)


@pytest.mark.parametrize("brk", LINE_BREAKS, ids=lambda b: f"U+{ord(b[-1]):04X}" + ("-crlf" if len(b) == 2 else ""))
def test_comment_lines_splits_on_every_line_break(brk):
    text = f"resolved{brk}.control{brk}shell rm -rf /{brk}.endc"
    expected = ["resolved", ".control", "shell rm -rf /", ".endc"]
    assert comment_lines(text) == expected
    assert comment_lines([text, f"x{brk}.include /etc/passwd"]) == expected + ["x", ".include /etc/passwd"]


def test_comment_lines_replaces_other_control_characters():
    assert comment_lines("a\x00b\x1b[2Jc\x7fd\u200be") == ["a?b?[2Jc?d?e"]
    assert comment_lines("") == []


@given(st.text() | st.lists(st.text(), max_size=4))
@settings(max_examples=100, derandomize=True, deadline=None, database=None)
def test_comment_lines_are_single_printable_lines(text):
    for line in comment_lines(text):
        assert line.isprintable()
        assert len(f"*{line}".splitlines()) == 1


def header_lines(deck: str) -> list[str]:
    """Every line before the first `.param`, split the way the strictest reader would (any line break)."""
    lines = deck.splitlines()
    first = next(k for k, line in enumerate(lines) if line.startswith(".param"))
    return lines[:first]


@pytest.mark.parametrize("doc", [
    {"network": {"layers": [4, 3]}},
    {"network": {"layers": [4, 3], "wire_resistance": 1.0}, "sim": {"analysis": "tran", "beta": 0.5}},
    {"network": {"topology": "recurrent", "neurons": 4, "inputs": 3, "outputs": 2}, "neuron": {"level": "macromodel"}},
    {"network": {"layers": [4, 3]}, "device": {"model": "yakopcic"}},
    {"network": {"layers": [4, 3]}, "device": {"model": "hp-biolek", "params": {"r_on": 2e4}}},
], ids=["layered", "wires-tran-nudge", "recurrent-macromodel", "yakopcic", "hp-biolek"])
def test_valid_deck_header_is_only_comment_lines(tmp_path, doc):
    config = tmp_path / "ok.toml"
    config.write_text(tomli_w.dumps(doc), encoding="utf-8")
    out = tmp_path / "deck.cir"
    result = run_netgen(config, out)
    assert result.exit_code == 0, result.output
    deck = out.read_text(encoding="utf-8")
    head = header_lines(deck)
    assert all(line.startswith("*") for line in head), head
    assert "* [network]" in head and "* resolved config:" in head  # the resolved config is in the header
    assert deck.splitlines() == deck.split("\n")[:-1]  # "\n" is the only line break in the deck


SMALL_CONFIG = Config(network=NetworkConfig(layers=(3, 2)))
SMALL = build_network(SMALL_CONFIG)
SMALL_STATES = initial_states(SMALL_CONFIG, SMALL)


@pytest.mark.parametrize("brk", LINE_BREAKS, ids=lambda b: f"U+{ord(b[-1]):04X}" + ("-crlf" if len(b) == 2 else ""))
def test_hostile_header_and_title_stay_comments(brk):
    hostile = f"x{brk}.control{brk}shell rm -rf /{brk}.endc{brk}.include /etc/passwd"
    deck = render(SMALL, SMALL_STATES, header=["resolved config:", hostile, f"{brk}.end", "\x00\x1b"],
                  title=hostile).text
    head = header_lines(deck)
    assert all(line.startswith("*") for line in head), head
    assert "* .include /etc/passwd" in head and "* shell rm -rf /" in head
    assert deck.splitlines() == deck.split("\n")[:-1]
    assert not any(line.startswith((".include", "shell", ".endc", ".end ")) or line == ".end"
                   for line in head)


@given(header=st.lists(st.text(), max_size=5), title=st.text())
@settings(max_examples=60, derandomize=True, deadline=None, database=None)
def test_any_header_text_stays_comments(header, title):
    deck = render(SMALL, SMALL_STATES, header=header, title=title).text
    head = header_lines(deck)
    assert all(line.startswith("*") for line in head)
    assert deck.splitlines() == deck.split("\n")[:-1]
