"""Sobol' indices from too small a base sample warn (loyalsim.SampleSizeWarning), with the engine's words."""
import subprocess
import warnings

import numpy as np
import pandas as pd
import pytest
from sweepfiles import Param, saltelli_layout, write_sweep

import loyalsim
from loyalsim.sensitivity import COLUMNS, sobol_sample_warning


def ishigami_file(path, n):
    """Ishigami (a = 7, b = 0.1) on a Saltelli design of N = n random rows, as net_value in month 1."""
    rng = np.random.default_rng(2024)
    a, b = rng.uniform(-np.pi, np.pi, (n, 3)), rng.uniform(-np.pi, np.pi, (n, 3))
    x, row, matrix = saltelli_layout(a, b)
    f = np.sin(x[:, 0]) + 7.0 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])
    net = np.zeros((len(x), 1, 1, 2))
    net[:, 0, 0, 1] = f
    params = {f"model.x{i + 1}": Param(x[:, i]) for i in range(3)}
    return write_sweep(path, {"net_value": net}, params, design="sobol", saltelli=(row, matrix), base_points=n)


def test_the_hand_example_gives_the_engines_text():
    """The case of tests/cpp/test_sensitivity_warning.cpp, with the same expected string."""
    rows = [("p", 12, "a", "S1", 1.234, 0.9, 1.5), ("p", 12, "b", "S1", 0.1, 0.05, 0.15),
            ("p", 12, "a", "ST", 1.05, 0.95, 1.15), ("p", 12, "b", "ST", 0.05, 0.0, 0.1)]  # fmt: skip
    assert sobol_sample_warning(pd.DataFrame(rows, columns=COLUMNS), 2, 16) == (
        "these Sobol' indices come from a base sample of N = 16 points, too small for them: "
        "S1 of a (p, month 12) is 1.234, above 1; S1 of a (p, month 12) is 1.234, above its ST 1.050. "
        "Run the sweep with points = 1024 (intervals narrow as 1/sqrt(N); N = 1024 should bring them to about +-0.05)"
    )
    plausible = [("p", 1, "a", "S1", -0.01, -0.04, 0.02), ("p", 1, "a", "ST", 0.01, 0.0, 0.03)]
    assert sobol_sample_warning(pd.DataFrame(plausible, columns=COLUMNS), 1, 1024) is None


def test_a_tiny_base_sample_warns_and_a_large_one_does_not(tmp_path):
    with loyalsim.open(ishigami_file(tmp_path / "small.h5", 8)) as ds:
        with pytest.warns(loyalsim.SampleSizeWarning, match=r"^these Sobol' indices come from a base sample of N = 8 "):
            small = loyalsim.sensitivity(ds, month=1, bootstrap=300)
    assert len(small.attrs["warnings"]) == 1
    assert "Run the sweep with points = " in small.attrs["warnings"][0]
    with loyalsim.open(ishigami_file(tmp_path / "large.h5", 4096)) as ds:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            large = loyalsim.sensitivity(ds, month=1, bootstrap=300)
    assert large.attrs["warnings"] == []


def test_the_engine_warns_with_the_same_text(engine, tmp_path):
    """Without bootstrap intervals both compute the same estimates, so the same warning, word for word."""
    path = ishigami_file(tmp_path / "small.h5", 8)
    with loyalsim.open(path) as ds:
        with pytest.warns(loyalsim.SampleSizeWarning) as caught:
            loyalsim.sensitivity(ds, month=1, bootstrap=0)
    ours = str(caught[0].message)
    proc = subprocess.run([str(engine), "sensitivity", str(path), "--month", "1", "--bootstrap", "0"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert f"\nwarning: {ours}\n" in proc.stdout


def test_unknown_names_get_the_engines_suggestion(tmp_path):
    """As `loyalsim sensitivity --metric netvalue` / `--policy empowred` (tests/cpp/test_cli_refusals.cpp)."""
    with loyalsim.open(ishigami_file(tmp_path / "small.h5", 4)) as ds:
        with pytest.raises(ValueError, match=r"^unknown metric 'netvalue' \(did you mean 'net_value'\?\); the raw"):
            loyalsim.sensitivity(ds, metric="netvalue", bootstrap=0)
        with pytest.raises(ValueError, match=r"^unknown policy 'polcy0' \(did you mean 'policy0'\?\); this file has"):
            loyalsim.sensitivity(ds, policy="polcy0", bootstrap=0)
        with pytest.raises(ValueError, match=r"^unknown policy 'xyz'; this file has policy0$"):
            loyalsim.sensitivity(ds, policy="xyz", bootstrap=0)
    from loyalsim._stats import did_you_mean

    assert did_you_mean("empowred", ["status_quo", "empowered_front_line"]) == " (did you mean 'empowered_front_line'?)"
