"""Fixtures: a results file produced by the real engine on a tiny experiment.

Run from the repository root after the build:  /usr/bin/python3 -m pytest tests/python
The engine is found like loyalsim.find_engine() does ($LOYALSIM_BIN, build/loyalsim,
PATH); tests that need it are skipped, with a message, only when it does not exist.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "python"))  # test the source tree, installed or not

import loyalsim  # noqa: E402

# 2,000 customers and prospects, 24 months, 5 replications, 3 policies. The
# second policy duplicates the baseline under another name: with common
# random numbers its paired difference must be exactly 0.
TINY_EXPERIMENT = """\
name = "pytest-tiny"
description = "tiny experiment for the Python test suite"
seed = 20240607
replications = 5
horizon_months = 24

[population]
customers = 2_000
prospects = 2_000

[[policies]]
name = "status_quo"
response_days = 7.0
first_contact_resolution = 0.5
compensation = 0.1

[[policies]]
name = "status_quo_copy"
response_days = 7.0
first_contact_resolution = 0.5
compensation = 0.1

[[policies]]
name = "fast_empathetic"
response_days = 0.5
first_contact_resolution = 0.9
apology = 1.0
empathy = 1.0
explanation = 1.0
follow_up = 1.0
compensation = 1.0
root_cause_fix = 0.3
"""
POLICIES = ["status_quo", "status_quo_copy", "fast_empathetic"]
REPLICATIONS, HORIZON, CUSTOMERS = 5, 24, 2000


@pytest.fixture(scope="session")
def engine() -> Path:
    """The engine binary; skips only when it does not exist (a bad $LOYALSIM_BIN fails)."""
    try:
        return loyalsim.find_engine()
    except loyalsim.EngineNotFoundError as e:
        if os.environ.get("LOYALSIM_BIN"):
            raise  # a wrong $LOYALSIM_BIN is an error, not a reason to skip
        pytest.skip(f"the loyalsim engine binary is missing; build it first ({e})")


@pytest.fixture(scope="session")
def experiment_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("experiment") / "tiny.toml"
    path.write_text(TINY_EXPERIMENT, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def results_path(engine, experiment_file, tmp_path_factory) -> Path:
    """The tiny experiment run once by the engine's command line (not through loyalsim.run)."""
    out = tmp_path_factory.mktemp("results") / "tiny.h5"
    proc = subprocess.run(
        [str(engine), "run", str(experiment_file), "-o", str(out), "--force"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, f"loyalsim run failed ({proc.returncode}):\n{proc.stderr}"
    assert out.is_file()
    return out


@pytest.fixture
def ds(results_path):
    with loyalsim.open(results_path) as dataset:
        yield dataset


@pytest.fixture(scope="session")
def raw(results_path) -> dict:
    """Everything in the file read with plain h5py: the independent view of the data."""
    out = {}
    with h5py.File(results_path, "r") as f:
        for name, obj in f.items():
            data = obj[()]
            if data.dtype.kind in "OS":
                data = np.array([v.decode() if isinstance(v, bytes) else v for v in data], dtype=object)
            out[name] = data
        out["attrs"] = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    return out
