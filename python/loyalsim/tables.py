"""The policy comparison table: one row per policy, paired with the baseline.

The rows are the file's measures (:mod:`loyalsim.measures`: the results
file's ``measures`` attribute, or the built-in 1.0 definitions), the same ones
the engine's ``loyalsim info`` table uses. For a 1.0 file, for a horizon month
m, per replication, from the raw metrics:

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

A 1.1 file adds programme_cost and acquisition_cost (sums) and counts
proactive recoveries with complaints in the shares' denominators.

Across replications: the mean with its 95% Student-t interval; the paired
difference policy − baseline (policy 0, same replication, common random
numbers) with its interval; and the probability that the policy beats the
baseline, the share of replications in which it does better (higher is
better, except where the measure says lower: costs and negative word of
mouth; a measure without a direction, the paradox share, counts higher; ties
count half). A share is NaN in a replication without complaints, and so is its
summary. Values are the file's raw values (not scaled by ``represents``).

A posterior sweep (``sweep_design = "posterior"``: each point a posterior draw
of a calibration) without ``point`` gives the table across the draws instead:
per measure the statistics of :func:`loyalsim.posterior_decision` (module
:mod:`loyalsim.posterior`: the credible interval over draws, P(beats baseline)
over every run with its Monte Carlo error, P(best), expected regret and the
split of the contrast's variance into parameter and Monte Carlo parts).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ._stats import mean_ci, point_label, point_parameters, resolve_month, select_point
from .measures import BUILTIN_1_0, cumulative, display_factor, file_measures, firm_customers, horizon_values
from .posterior import COLUMNS as POSTERIOR_COLUMNS
from .posterior import is_posterior_sweep, posterior_table

__all__ = ["METRICS", "LOWER_IS_BETTER", "STATISTICS", "POSTERIOR_STATISTICS", "cumulative", "replication_outcomes", "policy_table"]

#: The measures of a 1.0 file, in table order (a 1.1 file's own list may add more).
METRICS = tuple(m.name for m in BUILTIN_1_0)
#: Measures where less is better, in 1.0 and 1.1 files.
LOWER_IS_BETTER = frozenset({"recovery_cost", "wom_negative", "programme_cost", "acquisition_cost"})
STATISTICS = ("mean", "ci_low", "ci_high", "diff_mean", "diff_ci_low", "diff_ci_high", "p_beats_baseline")
#: The statistics of a posterior sweep's table (across draws).
POSTERIOR_STATISTICS = POSTERIOR_COLUMNS[:-1]


def replication_outcomes(ds: xr.Dataset, month: int | None = None, *, point: int | None = None) -> xr.Dataset:
    """The table's metrics per policy and replication, before any summary.

    Returns a Dataset with dims (policy, replication): one variable per
    measure of the file (``METRICS`` for a 1.0 file). Use it for your own
    statistics or histograms. ``point`` is as in :func:`policy_table`.

    >>> out = loyalsim.replication_outcomes(ds, month=12)            # doctest: +SKIP
    >>> out["net_value"].to_pandas().T.describe()                      # doctest: +SKIP
    """
    m = resolve_month(ds, month)
    d = select_point(ds, point)
    result = horizon_values(d, m).drop_vars("point", errors="ignore")
    result.attrs.update(month=m, point=point_label(d))
    return result.transpose("policy", "replication")


def policy_table(ds: xr.Dataset, month: int | None = None, *, point: int | None = None) -> pd.DataFrame:
    """One row per policy: each metric with its 95% CI, contrast to the baseline and P(beats baseline).

    ``month`` is the horizon (default: the last month T). ``point`` is the
    sweep point's design index (``ds["point"]`` values); leave it out for a
    file without a sweep or a dataset already narrowed with
    ``ds.sel(point=k)``. On a sweep without ``point`` it raises ValueError
    (each point is a different experiment; see :func:`loyalsim.sensitivity`
    for all points at once), except on a posterior sweep, whose points are
    draws from one posterior: then the table is across the draws, with the
    statistics ``POSTERIOR_STATISTICS`` = ``mean, ci_low, ci_high, diff_mean,
    diff_ci_low, diff_ci_high`` (means over draws and 95% credible
    intervals), ``p_beats_baseline, p_beats_se, p_best, regret,
    contrast_variance, parameter_variance, monte_carlo_variance`` (see
    :mod:`loyalsim.posterior`) and ``attrs`` month, point (None),
    replications, draws, baseline, design, few_draws, interval,
    source_calibration. Otherwise columns are a MultiIndex (metric, statistic) with the
    statistics ``mean, ci_low, ci_high, diff_mean, diff_ci_low, diff_ci_high,
    p_beats_baseline`` (NaN for a measure without a better direction, the
    paradox share); ``table.attrs`` records month, point, replications,
    baseline and the swept parameters' values at that point.

    Counts, money and messages are at the firm's scale: multiplied by
    ``population.represents`` / the simulated customers (``attrs["factor"]``;
    1 when the experiment has no ``represents``), as ``loyalsim info`` prints
    them; shares are not. ``attrs["represents"]`` is the firm's customers, so
    ``table[("net_value", "diff_mean")] / table.attrs["represents"]`` is the
    contrast per real customer (``info``'s "Δ per customer" row).

    >>> table = loyalsim.policy_table(ds)                              # doctest: +SKIP
    >>> table["net_value"]                      # one metric, all statistics  # doctest: +SKIP
    >>> table.xs("mean", axis=1, level="statistic")   # all means     # doctest: +SKIP
    >>> table.loc["fast_apology", ("retention", "p_beats_baseline")]  # doctest: +SKIP
    """
    if point is None and is_posterior_sweep(ds):
        return posterior_table(ds, month)
    out = replication_outcomes(ds, month, point=point)
    policies = [str(p) for p in out["policy"].values]
    columns = {}
    for m in file_measures(ds):
        name = m.name
        v = out[name].values * display_factor(ds, m)  # (policy, replication), at the firm's scale
        base = v[:1]
        mean, lo, hi, _ = mean_ci(v)
        dmean, dlo, dhi, _ = mean_ci(v - base)
        better = (v < base) if m.better == "lower" else (v > base)
        score = np.where(np.isnan(v) | np.isnan(base), np.nan, better + 0.5 * (v == base))
        # A measure with no better direction (the paradox share) has no "beats".
        p_beats = np.full(len(v), np.nan) if m.better == "none" else score.mean(axis=-1)
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
        factor=display_factor(ds),
        represents=firm_customers(ds),
    )
    return table
