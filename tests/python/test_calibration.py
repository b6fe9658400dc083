"""Calibration files from the real engine: open_calibration, the summary, the plots, and the example notebook."""
import os

import nbformat
import pytest
from conftest import REPO

import loyalsim

EXPERIMENT = """\
name = "py-calibration"
seed = 5
horizon_months = 12
[population]
customers = 500
prospects = 100
[[policies]]
name = "status_quo"
[calibration]
method = "abc-smc"
particles = 30
max_simulations = 1500
draws = 10
round_fill = 30
[calibration.parameters]
"model.complaint_intercept" = { prior = "uniform", bounds = [-5.0, -1.0] }
"segments.default.churn_hazard" = { prior = "loguniform", bounds = [0.005, 0.05] }
[[calibration.targets]]
name = "complaints"
quantity = "complaint_rate"
policy = "status_quo"
value = 0.26
sd = 0.03
[[calibration.targets]]
name = "churn"
quantity = "monthly_churn"
policy = "status_quo"
at_most = 0.02
soft = 0.002
"""


@pytest.fixture(scope="module")
def calibration(engine, tmp_path_factory):
    folder = tmp_path_factory.mktemp("calibration")
    (folder / "exp.toml").write_text(EXPERIMENT)
    return loyalsim.calibrate(folder / "exp.toml", folder / "cal.h5", threads=2, progress=False)


def test_open_calibration_reads_the_engines_file(calibration):
    ds = calibration
    assert ds.attrs["format"] == loyalsim.CALIBRATION_FORMAT
    assert list(ds["parameter"].values) == ["model.complaint_intercept", "segments.default.churn_hazard"]
    assert list(ds["target"].values) == ["complaints", "churn"]
    assert ds["theta"].dims == ("generation", "particle", "parameter")
    assert ds["posterior_draws"].shape == (10, 2)
    assert float(ds["temperature"][-1]) == 1.0


def test_summary_tables_match_the_file_and_the_priors(calibration):
    params, targets = loyalsim.calibration_summary(calibration)
    assert params.loc["model.complaint_intercept", "prior_low"] == pytest.approx(-5 + 0.025 * 4)
    assert params.loc["segments.default.churn_hazard", "prior_high"] == pytest.approx(0.005 * 10 ** 0.975)
    assert (params["posterior_low"] <= params["posterior_mean"]).all()
    assert (params["posterior_mean"] <= params["posterior_high"]).all()
    assert targets.loc["churn", "kind"] == "at_most" and targets.loc["churn", "high"] == 0.02
    assert targets["met"].all(), targets


def test_plots_draw_a_panel_per_parameter_pair_generation_series_and_target(calibration):
    assert len([a for a in loyalsim.plot_posterior(calibration).axes if a.axison]) == 3  # 2 marginals + 1 pair
    assert len(loyalsim.plot_generations(calibration).axes) == 3
    assert len([a for a in loyalsim.plot_predictive(calibration).axes if a.axison]) == 2


def test_a_results_file_is_not_a_calibration_file(results_path):
    with pytest.raises(loyalsim.FormatError, match="not a loyalsim calibration file"):
        loyalsim.open_calibration(results_path)


def test_calibration_notebook_executes(engine, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    paths = [str(REPO / "python"), os.environ.get("PYTHONPATH")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, paths)))
    monkeypatch.setenv("LOYALSIM_BIN", str(engine))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(REPO / "python" / "examples" / "calibration.ipynb", as_version=4)
    assert not any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), "commit it without outputs"
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert len([o for o in outputs if "image/png" in o.get("data", {})]) >= 3
    assert (tmp_path / "results" / "kpi-market.h5").is_file()
    assert (tmp_path / "results" / "kpi-market.preset.toml").is_file()
