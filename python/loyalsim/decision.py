"""The decision: does a policy beat the baseline, by how much, how sure, and when does it pay back.

Everything is a **paired** contrast: policy − baseline (policy 0) in the same
replication, which ran on the same customers and random numbers (common random
numbers), so the difference is far less noisy than either level.

Verdict (:func:`verdicts`), per policy, on the horizon value of a measure
(default ``net_value``: discounted net value summed over months 1 … H):

- **better**: the 95% Student-t interval of the mean paired difference lies
  above 0 (below 0 for a measure where lower is better);
- **worse**: it lies on the other side;
- **not distinguishable** at R replications: it contains 0. The replications
  needed to resolve the observed difference d with the observed spread are
  n = ⌈R · (h / |d|)²⌉, h the interval's half-width t(0.975, R−1) · s/√R: the
  R at which the half-width would shrink to |d| if s and t stayed as they are
  (t shrinks a little with more replications, so n is slightly pessimistic).
  Infinite when d is exactly 0 (a policy identical to the baseline).

P(beats baseline): the share of replications in which the policy does better
(ties count half), with a 95% Wilson score interval.

Recommendation: the policy with the best mean among those **better** than the
baseline, else the baseline ("keep today's policy"). Several could be best
when the paired difference between the best two of those has a 95% interval
containing 0.

Payback (:func:`payback`): the cumulative paired difference of net value by
month, with its 95% interval of the mean (error) and the 10–90% band of the
replications (risk, kept apart from the error, as in Nelson's MORE plot). The
payback month is the first month m ≥ 1 from which the interval's lower edge
stays above 0 through the last month; None when there is no such month.

Across the points of a sweep (``across_points=True``), the unit is a point: a
point's value is the mean over its replications; the interval is the 2.5–97.5%
range of those point values over the points (for a posterior sweep, a 95%
credible interval; it also holds the points' own Monte Carlo noise), the
band the 10–90% range over every (point, replication) run, and "better" means
the interval lies above 0.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from ._stats import LEVEL, mean_ci, point_label, resolve_month, select_point
from .measures import cumulative, horizon_value, measure

Z95 = float(stats.norm.ppf(0.5 + 0.5 * LEVEL))
BAND = (0.10, 0.90)
STATES = ("better", "worse", "not distinguishable")
#: Metrics of the file that are levels at the end of a month (not summed over months).
STOCKS = frozenset({"active", "cohort_active", "mean_satisfaction", "quality"})


def wilson(score: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a proportion ``score / n`` (score may count ties as halves).

    >>> [round(x, 4) for x in wilson(8, 8)]
    [0.6756, 1.0]
    """
    if n <= 0:
        return math.nan, math.nan
    p = score / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0))
    return max(0.0, centre - half), min(1.0, centre + half)


def replications_needed(diff: float, half_width: float, replications: int) -> float:
    """⌈R (h/|d|)²⌉: replications at which the interval's half-width would equal the observed |d|.

    ``inf`` when d = 0 (nothing to resolve), NaN without an interval.

    >>> replications_needed(1.0, 2.0, 10)
    40
    """
    if not (math.isfinite(diff) and math.isfinite(half_width)):
        return math.nan
    if diff == 0:
        return math.inf
    return max(int(replications), math.ceil(replications * (half_width / abs(diff)) ** 2 - 1e-9))


def state_of(low: float, high: float, better: str = "higher") -> str:
    """better / worse / not distinguishable from an interval of the difference and the good direction."""
    sign = -1.0 if better == "lower" else 1.0
    lo, hi = sorted((sign * low, sign * high))
    if math.isfinite(lo) and lo > 0:
        return "better"
    if math.isfinite(hi) and hi < 0:
        return "worse"
    return "not distinguishable"


def summarise(values: np.ndarray, across_points: bool) -> dict[str, np.ndarray]:
    """Mean and 95% interval of values (point, …, replication), over replications or over points.

    Over replications (one point): Student t, as the engine. Over points: the
    mean of the point means and the 2.5–97.5% range of the point means. Both
    return ``mean``, ``low``, ``high`` and the 10–90% ``band_low``/``band_high``
    over all runs, with the point axis gone.
    """
    v = np.asarray(values, dtype=float)
    runs = np.moveaxis(v, 0, -2).reshape(*v.shape[1:-1], -1)  # (…, point × replication)
    with np.errstate(invalid="ignore"):
        band_low, band_high = np.quantile(runs, BAND, axis=-1)
    if not across_points:
        if v.shape[0] != 1:
            raise ValueError("a summary over replications needs exactly one point")
        mean, low, high, _ = mean_ci(v[0])
    else:
        means = mean_ci(v)[0]  # (point, …)
        mean = mean_ci(np.moveaxis(means, 0, -1))[0]
        tail = (1 - LEVEL) / 2
        low, high = np.quantile(means, [tail, 1 - tail], axis=0)
    return {"mean": mean, "low": low, "high": high, "band_low": band_low, "band_high": band_high}


def _scope(ds: xr.Dataset, point, across_points: bool) -> xr.Dataset:
    """The dataset the statistics use, always with a point dimension (one point unless across points)."""
    if across_points:
        if point is not None:
            raise ValueError("across_points=True uses every point; leave point out")
        if "point" not in ds.dims or ds.sizes["point"] < 2:
            raise ValueError("across_points=True needs a sweep with more than one point")
        return ds
    d = select_point(ds, point)
    return d.expand_dims("point") if "point" not in d.dims else d


def verdicts(ds: xr.Dataset, *, point: int | None = None, month: int | None = None, metric: str = "net_value",
             across_points: bool = False) -> pd.DataFrame:  # fmt: skip
    """Per policy other than the baseline: the paired difference of ``metric`` at the horizon and its verdict.

    ``metric`` is a measure of the file (:mod:`loyalsim.measures`). Columns:
    ``diff_mean, diff_ci_low, diff_ci_high, state, p_beats_baseline, p_ci_low,
    p_ci_high, wins, runs, replications_needed``. ``attrs``: ``recommended``
    (a policy, or the baseline), ``could_be_best`` (the policies that could be
    best, the recommended one first), ``top_two`` (the paired difference of the
    best two: mean, low, high), ``baseline``, ``metric``, ``month``, ``point``,
    ``replications``, ``points``, ``across_points``. See the module docstring.

    >>> loyalsim.verdicts(ds).attrs["recommended"]      # doctest: +SKIP
    """
    m = measure(ds, metric)
    month = resolve_month(ds, month)
    d = _scope(ds, point, across_points)
    value = horizon_value(d, m, month).transpose("point", "policy", "replication").values
    policies = [str(p) for p in d["policy"].values]
    diff = value - value[:, :1]  # (point, policy, replication)
    s = summarise(diff, across_points)
    sign = -1.0 if m.better == "lower" else 1.0
    rows = []
    reps = int(d.sizes["replication"])
    for i, name in enumerate(policies[1:], start=1):
        if across_points:
            point_diff = diff[:, i].mean(axis=-1)
            score = float(np.sum(sign * point_diff > 0) + 0.5 * np.sum(point_diff == 0))
            runs = int(point_diff.size)
            needed = math.nan
        else:
            x = diff[0, i]
            score = float(np.sum(sign * x > 0) + 0.5 * np.sum(x == 0))
            runs = reps
            needed = replications_needed(s["mean"][i], (s["high"][i] - s["low"][i]) / 2, reps)
        low_p, high_p = wilson(score, runs)
        rows.append(dict(policy=name, diff_mean=s["mean"][i], diff_ci_low=s["low"][i], diff_ci_high=s["high"][i],
                         state=state_of(s["low"][i], s["high"][i], m.better), p_beats_baseline=score / runs,
                         p_ci_low=low_p, p_ci_high=high_p, wins=score, runs=runs,
                         replications_needed=needed))  # fmt: skip
    table = pd.DataFrame(rows, columns=["policy", "diff_mean", "diff_ci_low", "diff_ci_high", "state",
                                        "p_beats_baseline", "p_ci_low", "p_ci_high", "wins", "runs",
                                        "replications_needed"]).set_index("policy")  # fmt: skip
    recommended, could_be_best, top_two = _recommend(table, diff, policies, sign, across_points)
    table.attrs.update(recommended=recommended, could_be_best=could_be_best, top_two=top_two, baseline=policies[0],
                       metric=metric, better=m.better, month=month, point=None if across_points else point_label(d.isel(point=0)),
                       replications=reps, points=int(d.sizes["point"]), across_points=bool(across_points))  # fmt: skip
    return table


def _recommend(table: pd.DataFrame, diff: np.ndarray, policies: list[str], sign: float, across_points: bool):
    """The best 'better' policy (else the baseline), who else could be best, and the top two's paired difference."""
    better = table[table["state"] == "better"]
    if better.empty:
        return policies[0], [policies[0]], None
    order = sorted(better.index, key=lambda p: -sign * better.loc[p, "diff_mean"])
    best = order[0]
    if len(order) == 1:
        return best, [best], None
    could, top_two = [best], None
    for other in order[1:]:
        gap = diff[:, policies.index(best)] - diff[:, policies.index(other)]  # (point, replication)
        s = summarise(gap[:, None, :], across_points)
        lo, hi = float(s["low"][0]), float(s["high"][0])
        if top_two is None:
            top_two = {"policy": other, "mean": float(s["mean"][0]), "low": lo, "high": hi}
        if state_of(lo, hi, "lower" if sign < 0 else "higher") != "better":
            could.append(other)
    return best, could, top_two


def _cumulative_metric(d: xr.Dataset, metric: str) -> xr.DataArray:
    raw = d[metric]
    kind = str(raw.attrs.get("metric_kind", "stock" if metric in STOCKS else "flow"))
    return cumulative(raw) if kind == "flow" else raw


def payback(ds: xr.Dataset, *, point: int | None = None, metric: str = "net_value",
            across_points: bool = False) -> pd.DataFrame:  # fmt: skip
    """The cumulative paired difference to the baseline by month, with its interval, band and payback month.

    ``metric`` is a raw metric of the file: a flow is summed over months 1 … t
    (net value: what the policy has added by month t), a stock taken at t.
    Rows: (policy, month) for every policy but the baseline; columns ``mean,
    ci_low, ci_high`` (95% Student t over replications, or the 95% range over
    points with ``across_points``) and ``band_low, band_high`` (10% and 90%
    of the replications: how one realisation may turn out). ``attrs``:
    ``payback_month`` {policy: month or None}, ``baseline``, ``metric``,
    ``point``, ``replications``, ``points``, ``across_points``, ``interval`` and
    ``band`` (both in words). The payback month is the first month from which
    ``ci_low`` stays above 0 to the end (see the module docstring).

    >>> pb = loyalsim.payback(ds)                        # doctest: +SKIP
    >>> pb.attrs["payback_month"]                         # doctest: +SKIP
    {'fast_apology': 4, 'money_only': None}
    """
    d = _scope(ds, point, across_points)
    if metric not in d.data_vars or set(d[metric].dims) != {"point", "policy", "replication", "month"}:
        raise ValueError(f"unknown metric {metric!r}: payback needs a raw metric with dims (point, policy, "
                         f"replication, month)")  # fmt: skip
    level = _cumulative_metric(d, metric).transpose("point", "policy", "month", "replication").values.astype(float)
    policies = [str(p) for p in d["policy"].values]
    months = [int(t) for t in d["month"].values]
    diff = level[:, 1:] - level[:, :1]  # (point, policy, month, replication)
    s = summarise(diff, across_points)
    index = pd.MultiIndex.from_product([policies[1:], months], names=["policy", "month"])
    frame = pd.DataFrame({"mean": s["mean"].ravel(), "ci_low": s["low"].ravel(), "ci_high": s["high"].ravel(),
                          "band_low": s["band_low"].ravel(), "band_high": s["band_high"].ravel()}, index=index)  # fmt: skip
    reps, points = int(d.sizes["replication"]), int(d.sizes["point"])
    frame.attrs.update(
        payback_month={p: payback_month(frame.loc[p, "ci_low"].to_numpy(), months) for p in policies[1:]},
        baseline=policies[0], metric=metric, point=None if across_points else point_label(d.isel(point=0)),
        replications=reps, points=points, across_points=bool(across_points),
        interval=(f"95% range of the point means over {points} points" if across_points
                  else f"95% confidence interval of the mean over {reps} replications"),
        band=f"10–90% of the {points * reps if across_points else reps} {'runs' if across_points else 'replications'}",
    )  # fmt: skip
    return frame


def payback_month(ci_low: np.ndarray, months) -> int | None:
    """The first month ≥ 1 from which ``ci_low`` stays above 0 through the last month, or None.

    >>> payback_month(np.array([0.0, -2.0, 1.0, -0.5, 0.5, 2.0]), range(6))
    4
    >>> payback_month(np.array([0.0, 1.0, 2.0, -1.0]), range(4)) is None
    True
    """
    months = list(months)
    above = np.asarray(ci_low, dtype=float) > 0
    found = None
    for i in range(len(months) - 1, -1, -1):
        if months[i] < 1 or not above[i]:
            break
        found = months[i]
    return found
