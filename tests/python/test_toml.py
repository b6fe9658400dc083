"""The TOML writer: everything it writes reads back identically with tomllib."""
import math
import tomllib

import numpy as np
import pytest

from loyalsim import _toml

EXPERIMENT = {
    "name": "policy-comparison",
    "description": 'quotes " and \\ backslashes, a tab\tand a newline\n, unicode ≥ é 😀, bell \x07',
    "seed": 7,
    "replications": 30,
    "horizon_months": 36,
    "population": {"customers": 100_000, "prospects": 0, "initial_tenure_max": 60},
    "segments": [
        {"name": "regular", "share": 0.97, "base_spend": 50.0, "churn_hazard": 0.015},
        {"name": "chronic", "share": 0.03, "recovery_responsiveness": 0.2, "complaint_bias": -1e-05},
    ],
    "model": {
        "paradox_scope": "behavioural",
        "cause_share": {"product": 0.4, "staff": 0.25, "process": 0.2, "customer": 0.15},
        "justice_weights": {"distributive": 0.45, "interactional": 0.35, "procedural": 0.2},
        "gain": 0.6,
    },
    "wom": {"strong_ties": 8, "advertising": 0.002},
    "policies": [
        {"name": "status_quo"},
        {"name": "fast apology", "response_days": 1.0, "apology": 1.0, "compensation": 1.5},
    ],
    "output": {"path": "results/policy-comparison.h5"},
    "sweep": {
        "design": "grid",
        "levels": 3,
        "parameters": {
            "model.gain": [0.2, 1.0],
            "policies.fast.compensation": [0.0, 2.0],
            "model.paradox_scope": ["none", "satisfaction_only", "behavioural"],
        },
    },
}


def test_experiment_round_trips():
    assert tomllib.loads(_toml.dumps(EXPERIMENT)) == EXPERIMENT


def test_layout_looks_hand_written():
    text = _toml.dumps(EXPERIMENT)
    assert "[population]" in text and "[model]" in text and "[sweep.parameters]" in text
    assert text.count("[[policies]]") == 2 and text.count("[[segments]]") == 2
    assert "cause_share = { product = 0.4, staff = 0.25, process = 0.2, customer = 0.15 }" in text
    assert '"model.gain" = [0.2, 1.0]' in text
    assert text.index("seed = 7") < text.index("[population]")  # key/values before tables


@pytest.mark.parametrize(
    "value",
    ["", "plain", 'a"b', "back\\slash", "line\nbreak", "\r\n\t\b\f", "\x00\x1f\x7f", "∑ ≥ é 漢字 😀", "'single'"],
)
def test_strings(value):
    assert tomllib.loads(_toml.dumps({"s": value}))["s"] == value


NUMBERS = [0, -1, 2**63 - 1, -(2**63), 0.1, -2.5, 1e-300, 1e300, 5e-324, 1.0, 123456789.125]


@pytest.mark.parametrize("value", NUMBERS)
def test_numbers(value):
    back = tomllib.loads(_toml.dumps({"x": value}))["x"]
    assert back == value and type(back) is type(value)


def test_special_floats_bools_and_numpy_scalars():
    data = {"a": math.inf, "b": -math.inf, "c": math.nan, "t": True, "f": False}
    data |= {"n64": np.int64(3), "f64": np.float64(0.25), "f32": np.float32(0.5), "nb": np.bool_(True)}
    back = tomllib.loads(_toml.dumps(data))
    assert back["a"] == math.inf and back["b"] == -math.inf and math.isnan(back["c"])
    assert back["t"] is True and back["f"] is False and back["nb"] is True
    assert back["n64"] == 3 and back["f64"] == 0.25 and back["f32"] == 0.5


def test_keys_that_need_quotes_and_deep_nesting():
    data = {
        "a b": 1, "ü": 2, "": 3, "dotted.key": 4, "x": {"y": {"z": {"deep": [1, [2, 3]], "t": {"u": 1}}}},
        "mixed": [1, "two", 3.0, {"k": "v"}], "empty_list": [], "empty_table": {},
    }  # fmt: skip
    assert tomllib.loads(_toml.dumps(data)) == data


def test_nested_tables_inside_arrays_of_tables():
    data = {"policies": [{"name": "a", "extra": {"deep": {"x": 1}, "v": [1]}}, {"name": "b"}]}
    assert tomllib.loads(_toml.dumps(data)) == data


def test_errors_name_the_key(tmp_path):
    with pytest.raises(TypeError, match="model.gain: TOML has no null"):
        _toml.dumps({"model": {"gain": None}})
    with pytest.raises(ValueError, match="seed: 18446744073709551615 does not fit"):
        _toml.dumps({"seed": 2**64 - 1})
    with pytest.raises(TypeError, match="cannot write object"):
        _toml.dumps({"x": object()})
    with pytest.raises(TypeError, match="keys are strings"):
        _toml.dumps({1: 2})
    with pytest.raises(TypeError, match="a TOML document is a mapping"):
        _toml.dumps([1, 2])


def test_dump_writes_utf8(tmp_path):
    path = _toml.dump({"name": "é", "output": {"path": tmp_path / "x.h5"}}, tmp_path / "e.toml")
    back = tomllib.loads(path.read_text(encoding="utf-8"))
    assert back == {"name": "é", "output": {"path": str(tmp_path / "x.h5")}}
