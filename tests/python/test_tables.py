"""policy_table against an independent computation from the raw file (h5py + scipy.stats.t)."""
import numpy as np
import pandas as pd
import pytest
from conftest import CUSTOMERS, HORIZON, POLICIES, REPLICATIONS
from scipy import stats

import loyalsim

LOWER_IS_BETTER = {"recovery_cost", "programme_cost", "acquisition_cost", "wom_negative"}
NO_DIRECTION = {"paradox_share"}
# The measures of a format 1.1 file, in table order.
MEASURES_1_1 = ["active", "retention", "revenue", "recovery_cost", "programme_cost", "acquisition_cost", "net_value",
                "satisfied_share", "paradox_share", "wom_positive", "wom_negative"]


def t_interval(x):
    """Mean and 95% t interval over the last axis, straight from the textbook."""
    n = x.shape[-1]
    mean = x.mean(axis=-1)
    half = stats.t.ppf(0.975, n - 1) * x.std(axis=-1, ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half


def expected_outcomes(raw, month):
    """(policy, replication) values of every table metric at `month`, point 0."""
    r = {k: v[0] for k, v in raw.items() if k != "attrs"}  # point 0
    flows = lambda name: r[name][:, :, 1 : month + 1].sum(axis=-1)  # noqa: E731
    recoveries = flows("complaints") + flows("proactive_recoveries")
    return {
        "retention": r["cohort_active"][:, :, month] / CUSTOMERS,
        "active": r["active"][:, :, month],
        "revenue": flows("revenue"),
        "recovery_cost": flows("recovery_cost"),
        "programme_cost": flows("programme_cost"),
        "acquisition_cost": flows("acquisition_cost"),
        "net_value": flows("net_value"),
        "satisfied_share": flows("recoveries_satisfied") / recoveries,
        "paradox_share": flows("paradox_events") / recoveries,
        "wom_positive": flows("wom_positive"),
        "wom_negative": flows("wom_negative"),
    }


@pytest.mark.parametrize("month", [None, 12, 1])
def test_table_matches_an_independent_computation(ds, raw, month):
    table = loyalsim.policy_table(ds, month=month)
    m = HORIZON if month is None else month
    assert list(table.index) == POLICIES
    assert table.attrs["month"] == m and table.attrs["baseline"] == "status_quo"
    assert table.attrs["replications"] == REPLICATIONS
    assert list(table.columns.unique("metric")) == MEASURES_1_1
    for metric, values in expected_outcomes(raw, m).items():
        mean, lo, hi = t_interval(values)
        diff = values - values[:1]
        dmean, dlo, dhi = t_interval(diff)
        got = table[metric]
        for stat, want in [("mean", mean), ("ci_low", lo), ("ci_high", hi),
                           ("diff_mean", dmean), ("diff_ci_low", dlo), ("diff_ci_high", dhi)]:  # fmt: skip
            np.testing.assert_allclose(got[stat], want, rtol=1e-9, atol=1e-9, err_msg=f"{metric} {stat}")
        if metric in NO_DIRECTION:
            assert got["p_beats_baseline"].isna().all(), metric
            continue
        for p in range(len(POLICIES)):
            wins = 0.0
            for rep in range(REPLICATIONS):
                a, b = values[p, rep], values[0, rep]
                better = a < b if metric in LOWER_IS_BETTER else a > b
                wins += 1.0 if better else 0.5 if a == b else 0.0
            assert got["p_beats_baseline"].iloc[p] == pytest.approx(wins / REPLICATIONS), metric


def test_table_agrees_with_the_engines_own_summaries(ds, raw):
    """active and retention at T are plain stocks: the engine stored their summaries too."""
    table = loyalsim.policy_table(ds)
    for stat in ("mean", "ci_low", "ci_high", "diff_mean", "diff_ci_low", "diff_ci_high"):
        engine_active = raw[f"active_{stat}"][0, :, HORIZON]
        engine_retention = raw[f"cohort_active_{stat}"][0, :, HORIZON] / CUSTOMERS
        np.testing.assert_allclose(table["active"][stat], engine_active, rtol=1e-11, atol=1e-9)
        np.testing.assert_allclose(table["retention"][stat], engine_retention, rtol=1e-11, atol=1e-12)
    # Means are summed in the engine's order: identical to the last bit.
    np.testing.assert_array_equal(table["active"]["mean"], raw["active_mean"][0, :, HORIZON])


def test_the_duplicate_baseline_is_exactly_the_baseline(ds, raw):
    """Common random numbers: same policy under another name gives identical runs."""
    np.testing.assert_array_equal(raw["net_value"][0, 1], raw["net_value"][0, 0])
    table = loyalsim.policy_table(ds)
    for row in ("status_quo", "status_quo_copy"):
        for metric in MEASURES_1_1:
            got = table.loc[row, metric]
            assert got["diff_mean"] == 0.0 and got["diff_ci_low"] == 0.0 and got["diff_ci_high"] == 0.0, metric
            if metric not in NO_DIRECTION:
                assert got["p_beats_baseline"] == 0.5, metric
    pd.testing.assert_series_equal(table.loc["status_quo"], table.loc["status_quo_copy"], check_names=False)
    for name in ("net_value", "cohort_active", "recovery_cost"):
        for stat in ("diff_mean", "diff_ci_low", "diff_ci_high"):
            assert np.all(raw[f"{name}_{stat}"][0, 1] == 0.0), f"engine {name}_{stat}"


def test_month_zero_is_the_initial_state(ds):
    table = loyalsim.policy_table(ds, month=0)
    assert (table["retention"]["mean"] == 1.0).all()
    assert (table["revenue"]["mean"] == 0.0).all()
    assert table["satisfied_share"]["mean"].isna().all()  # no complaints yet


def test_replication_outcomes(ds, raw):
    out = loyalsim.replication_outcomes(ds, month=12)
    assert dict(out.sizes) == {"policy": 3, "replication": REPLICATIONS}
    np.testing.assert_allclose(out["net_value"].values, expected_outcomes(raw, 12)["net_value"], rtol=1e-12)


def test_bad_month_and_point(ds):
    with pytest.raises(ValueError, match=r"month 25 is outside this run's months 0 … 24"):
        loyalsim.policy_table(ds, month=HORIZON + 1)
    with pytest.raises(ValueError, match="outside"):
        loyalsim.policy_table(ds, month=-1)
    with pytest.raises(IndexError, match=r"point 1 does not exist: this file has points 0 … 0"):
        loyalsim.policy_table(ds, point=1)


def test_counts_and_money_are_at_the_firms_scale_and_shares_are_not(ds):
    """represents = 3 x customers: every count, money and message statistic x 3, shares unchanged."""
    plain = loyalsim.policy_table(ds)
    firm = ds.copy()
    firm.attrs = dict(ds.attrs, represents=3 * int(ds.attrs["customers"]))
    scaled = loyalsim.policy_table(firm)
    assert plain.attrs["factor"] == 1.0 and scaled.attrs["factor"] == 3.0
    assert scaled.attrs["represents"] == 3 * CUSTOMERS
    for m in loyalsim.file_measures(ds):
        for stat in ("mean", "ci_low", "ci_high", "diff_mean", "diff_ci_low", "diff_ci_high"):
            factor = 1.0 if m.kind == "share" else 3.0
            np.testing.assert_allclose(scaled[(m.name, stat)], factor * plain[(m.name, stat)], rtol=1e-12)
        np.testing.assert_array_equal(scaled[(m.name, "p_beats_baseline")], plain[(m.name, "p_beats_baseline")])
