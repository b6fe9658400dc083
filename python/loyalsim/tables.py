"""The policy comparison table: one row per policy, paired with the baseline.

Definitions (the engine's ``loyalsim info`` table uses the same ones), for a
horizon month m, per replication, from the raw metrics:

=================  ==========================================================
retention          cohort_active[m] / customers (share of the initial customers)
active             active[m]
revenue            sum of revenue over months 1 … m
recovery_cost      sum of recovery_cost over months 1 … m
net_value          sum of net_value (discounted) over months 1 … m
satisfied_share    Σ recoveries_satisfied / Σ complaints, months 1 … m
paradox_share      Σ paradox_events / Σ complaints, months 1 … m
wom_positive       sum of wom_positive over months 1 … m
wom_negative       sum of wom_negative over months 1 … m
=================  ==========================================================

Across replications: the mean with its 95% Student-t interval; the paired
difference policy − baseline (policy 0, same replication, common random
numbers) with its interval; and the probability that the policy beats the
baseline, the share of replications in which it does better (higher is
better, except recovery_cost and wom_negative; ties count half). A share is
NaN in a replication without complaints, and so is its summary.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ._stats import mean_ci, point_label, point_parameters, resolve_month, select_point

METRICS = (
    "retention",
    "active",
    "revenue",
    "recovery_cost",
    "net_value",
    "satisfied_share",
    "paradox_share",
    "wom_positive",
    "wom_negative",
)
LOWER_IS_BETTER = frozenset({"recovery_cost", "wom_negative"})
STATISTICS = ("mean", "ci_low", "ci_high", "diff_mean", "diff_ci_low", "diff_ci_high", "p_beats_baseline")
_SUMMED = ("revenue", "recovery_cost", "net_value", "wom_positive", "wom_negative")


def cumulative(raw: xr.DataArray) -> xr.DataArray:
    """Running sum of a flow over months 1 … t (month 0 stays 0), in month order."""
    flows = raw.where(raw["month"] >= 1, 0.0)
    return flows.cumsum("month", skipna=False)


def replication_outcomes(ds: xr.Dataset, month: int | None = None, *, point: int | None = None) -> xr.Dataset:
    """The table's metrics per policy and replication, before any summary.

    Returns a Dataset with dims (policy, replication): one variable per
    metric of ``METRICS``. Use it for your own statistics or histograms.
    ``point`` is as in :func:`policy_table`.

    >>> out = loyalsim.replication_outcomes(ds, month=12)            # doctest: +SKIP
    >>> out["net_value"].to_pandas().T.describe()                      # doctest: +SKIP
    """
    m = resolve_month(ds, month)
    d = select_point(ds, point)
    summed = {}
    for name in _SUMMED + ("complaints", "recoveries_satisfied", "paradox_events"):
        flows = d[name].sel(month=slice(1, m))
        summed[name] = cumulative(flows).isel(month=-1) if m >= 1 else flows.sum("month", skipna=False)
    complaints = summed["complaints"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {
            "retention": d["cohort_active"].sel(month=m) / float(ds.attrs["customers"]),
            "active": d["active"].sel(month=m),
            **{name: summed[name] for name in _SUMMED},
            "satisfied_share": summed["recoveries_satisfied"] / complaints.where(complaints != 0),
            "paradox_share": summed["paradox_events"] / complaints.where(complaints != 0),
        }
    result = xr.Dataset({name: out[name].drop_vars("month", errors="ignore") for name in METRICS})
    result.attrs.update(month=m, point=point_label(d))
    return result.transpose("policy", "replication")


def policy_table(ds: xr.Dataset, month: int | None = None, *, point: int | None = None) -> pd.DataFrame:
    """One row per policy: each metric with its 95% CI, contrast to the baseline and P(beats baseline).

    ``month`` is the horizon (default: the last month T). ``point`` is the
    sweep point's design index (``ds["point"]`` values); leave it out for a
    file without a sweep or a dataset already narrowed with
    ``ds.sel(point=k)``. On a sweep without ``point`` it raises ValueError
    (each point is a different experiment; see :func:`loyalsim.sensitivity`
    for all points at once). Columns are a MultiIndex (metric, statistic) with the
    statistics ``mean, ci_low, ci_high, diff_mean, diff_ci_low, diff_ci_high,
    p_beats_baseline``; ``table.attrs`` records month, point, replications,
    baseline and the swept parameters' values at that point.

    >>> table = loyalsim.policy_table(ds)                              # doctest: +SKIP
    >>> table["net_value"]                      # one metric, all statistics  # doctest: +SKIP
    >>> table.xs("mean", axis=1, level="statistic")   # all means     # doctest: +SKIP
    >>> table.loc["fast_apology", ("retention", "p_beats_baseline")]  # doctest: +SKIP
    """
    out = replication_outcomes(ds, month, point=point)
    policies = [str(p) for p in out["policy"].values]
    columns = {}
    for name in METRICS:
        v = out[name].values  # (policy, replication)
        base = v[:1]
        mean, lo, hi, _ = mean_ci(v)
        dmean, dlo, dhi, _ = mean_ci(v - base)
        better = (v < base) if name in LOWER_IS_BETTER else (v > base)
        score = np.where(np.isnan(v) | np.isnan(base), np.nan, better + 0.5 * (v == base))
        p_beats = score.mean(axis=-1)
        for stat, values in zip(STATISTICS, (mean, lo, hi, dmean, dlo, dhi, p_beats)):
            columns[(name, stat)] = values
    table = pd.DataFrame(columns, index=pd.Index(policies, name="policy"))
    table.columns = pd.MultiIndex.from_tuples(table.columns, names=["metric", "statistic"])
    table.attrs.update(
        month=out.attrs["month"],
        point=out.attrs["point"],
        replications=int(ds.sizes["replication"]),
        baseline=policies[0],
        parameters=point_parameters(select_point(ds, point)),
    )
    return table
