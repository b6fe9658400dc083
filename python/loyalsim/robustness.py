"""Across the points of a sweep: which policy is best where, how much choosing wrongly costs, and how sure we are.

Y[p, i] is policy i's value at point p: the mean over its R replications of
the measure at the horizon (default net value). With it, per policy:

- **P(best)**: the share of points where the policy has the highest Y (ties
  share the point equally);
- **regret** at a point: max_j Y[p, j] − Y[p, i] (0 where it is best); its
  mean, 90th percentile and maximum over points (Rhodium's "regret type 2",
  in money, not relative);
- **satisficing**: the share of points where the policy beats the baseline
  with a 95% paired interval above 0.

A maximum over noisy means is biased upwards: with no real difference, regret
is still positive and P(best) spread across policies. The **Monte Carlo noise
floor** of each statistic comes from a split-half: the same statistic computed
from the even and from the odd replications, A and B; for a statistic that
behaves like a mean, each half has twice the variance of the whole, so
|A − B| / 2 estimates the whole's Monte Carlo standard error. Statistics
smaller than about twice their noise floor are not distinguishable from noise.

Variance split of the paired contrast Δ (policy − baseline) across points,
from the point × replication table of Δ (:func:`loyalsim._stats.crossed_table`):
V = the variance over points (ddof 1) of the point means of Δ; its Monte Carlo
part M = the mean over points of (variance over replications of Δ, ddof 1) / R,
the Monte Carlo variance of one point's mean; the parameters' part is
V − residual / R (clipped at 0), the residual being the interaction mean square
of the table: the points share the experiment's seed, so part of a
replication's noise is common to every point and does not spread the point
means; only the residual does (with noise independent between points the
residual and the mean within-point variance estimate the same σ²). M / V is
the noise share (as in :func:`loyalsim.sensitivity`; above 1 when much of the
noise is common to the points).

Winner by parameter (:func:`winner_by_parameter`): for each swept parameter
the points are split at its median (a numeric parameter: at or below / above;
a choice: by choice) and the policy best at most points of each part is
named; a parameter "changes the winner" when the parts name different policies.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ._stats import crossed_table, mean_ci, resolve_month, sweep_parameters
from .measures import horizon_value, measure

COLUMNS = ["p_best", "p_best_noise", "regret_mean", "regret_mean_noise", "regret_p90", "regret_max", "satisficing",
           "contrast_variance", "monte_carlo_variance", "parameter_variance", "noise_share"]  # fmt: skip


def point_values(ds: xr.Dataset, metric: str = "net_value", month: int | None = None) -> np.ndarray:
    """The measure at the horizon per (point, policy, replication), raw values (higher-is-better sign applied not)."""
    m = measure(ds, metric)
    return horizon_value(ds, m, resolve_month(ds, month)).transpose("point", "policy", "replication").values


def _best_shares(y: np.ndarray) -> np.ndarray:
    """Share of points where each policy is best, ties splitting a point; y is (point, policy), higher better."""
    top = np.nanmax(y, axis=1, keepdims=True)
    is_best = (y == top).astype(float)
    return (is_best / is_best.sum(axis=1, keepdims=True)).mean(axis=0)


def _regret(y: np.ndarray) -> np.ndarray:
    return np.nanmax(y, axis=1, keepdims=True) - y  # (point, policy)


def variance_split(diff: np.ndarray) -> dict[str, np.ndarray]:
    """The variance split of the paired contrast per policy; diff is (point, policy, replication) (module docstring).

    Returns ``contrast_variance`` (V), ``monte_carlo_variance`` (M),
    ``parameter_variance`` and ``noise_share`` (M / V), each per policy.
    """
    table = crossed_table(np.moveaxis(diff, 1, 0))  # (policy, point, replication)
    reps = diff.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        between = table["between_rows"]
        mc = table["within_rows"] / reps
        parameter = np.clip(between - table["residual"] / reps, 0.0, None)
        noise = np.where(between > 0, mc / between, np.nan)
    return {"contrast_variance": between, "monte_carlo_variance": mc, "parameter_variance": parameter,
            "noise_share": noise}  # fmt: skip


def robustness(ds: xr.Dataset, metric: str = "net_value", month: int | None = None) -> pd.DataFrame:
    """P(best), regret, satisficing and the variance split per policy across a sweep's points.

    One row per policy (the baseline included: its contrast statistics are 0
    or NaN); columns ``p_best, p_best_noise, regret_mean, regret_mean_noise,
    regret_p90, regret_max, satisficing, contrast_variance,
    monte_carlo_variance, parameter_variance, noise_share`` (see the module
    docstring; regrets in the measure's raw units, with the measure's good
    direction, so a cost's regret is also ≥ 0). ``attrs``: metric, month,
    points, replications, ``winner`` (the policy with the largest P(best)).

    >>> loyalsim.robustness(sweep).loc["programme", "p_best"]   # doctest: +SKIP
    """
    if "point" not in ds.dims or ds.sizes["point"] < 2:
        raise ValueError("robustness needs a sweep with more than one point")
    m = measure(ds, metric)
    sign = -1.0 if m.better == "lower" else 1.0
    v = sign * point_values(ds, metric, month)  # (point, policy, replication), higher is better
    points, n_pol, reps = v.shape
    y = v.mean(axis=-1)
    regret = _regret(y)
    halves = [v[..., 0::2].mean(axis=-1), v[..., 1::2].mean(axis=-1)] if reps >= 2 else None
    diff = v - v[:, :1]
    _, d_low, _, _ = mean_ci(diff)  # (point, policy)
    split = variance_split(diff)
    p_best = _best_shares(y)
    out = pd.DataFrame(index=pd.Index([str(p) for p in ds["policy"].values], name="policy"), columns=COLUMNS,
                       dtype=float)  # fmt: skip
    out["p_best"] = p_best
    out["regret_mean"] = regret.mean(axis=0)
    out["regret_p90"] = np.quantile(regret, 0.9, axis=0)
    out["regret_max"] = regret.max(axis=0)
    out["satisficing"] = (d_low > 0).mean(axis=0) if reps >= 2 else np.nan
    if halves is not None:
        out["p_best_noise"] = np.abs(_best_shares(halves[0]) - _best_shares(halves[1])) / 2
        out["regret_mean_noise"] = np.abs(_regret(halves[0]).mean(axis=0) - _regret(halves[1]).mean(axis=0)) / 2
    for column in ("contrast_variance", "monte_carlo_variance", "parameter_variance", "noise_share"):
        out[column] = split[column]
    out.iloc[0, out.columns.get_loc("satisficing")] = np.nan  # the baseline against itself
    out.attrs.update(metric=metric, month=resolve_month(ds, month), points=points, replications=reps,
                     winner=str(out["p_best"].idxmax()), better=m.better)  # fmt: skip
    return out


def winner_by_parameter(ds: xr.Dataset, metric: str = "net_value", month: int | None = None) -> pd.DataFrame:
    """For each swept parameter, the policy best at most points in each part of its range (see module docstring).

    Rows: (parameter, part), part "≤ median" / "> median" or a choice; columns
    ``points, winner, p_best_winner, changes_winner`` (the last is the same
    for every part of a parameter).
    """
    m = measure(ds, metric)
    sign = -1.0 if m.better == "lower" else 1.0
    y = sign * point_values(ds, metric, month).mean(axis=-1)
    policies = [str(p) for p in ds["policy"].values]
    rows = []
    for name in sweep_parameters(ds):
        if name not in ds.variables:
            continue
        values = ds[name].values
        numeric = values.dtype.kind in "fiu"
        if numeric:
            median = float(np.median(values))
            parts = [(f"≤ {median:.4g}", values <= median), (f"> {median:.4g}", values > median)]
        else:
            labels = [v.decode() if isinstance(v, bytes) else str(v) for v in values]
            parts = [(c, np.array([x == c for x in labels])) for c in dict.fromkeys(labels)]
        found = []
        for label, mask in parts:
            if not mask.any():
                continue
            shares = _best_shares(y[mask])
            w = int(np.argmax(shares))
            found.append((name, label, int(mask.sum()), policies[w], float(shares[w])))
        changes = len({f[3] for f in found}) > 1
        rows += [(*f, changes) for f in found]
    table = pd.DataFrame(rows, columns=["parameter", "part", "points", "winner", "p_best_winner", "changes_winner"])
    return table.set_index(["parameter", "part"])
