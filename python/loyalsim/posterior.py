"""The decision under a calibration's posterior: policy comparisons that carry the parameters' uncertainty.

A posterior sweep (``sweep_design = "posterior"``) runs every policy at D
posterior draws of the calibrated parameters (its points), R replications
each, with the experiment's seed at every draw: replication r uses the same
random numbers in every draw and every policy (common random numbers). For a
measure X at the horizon (default ``net_value``, the discounted net value
summed over months 1 … T; any measure of :mod:`loyalsim.measures`), a policy p
and the baseline b (policy 0): Δ_ir = X_p − X_b in draw i, replication r, and
d_i = mean_r Δ_ir, the draw's replication mean. Per policy
(:func:`posterior_decision`):

- **contrast** ``diff_mean``: the mean over draws of d_i. Its **95% credible
  interval** ``diff_ci_low``, ``diff_ci_high``: the 2.5% and 97.5% quantiles of
  the d_i (linear interpolation between order statistics, numpy's default and
  the engine's). The d_i carry their own Monte Carlo noise too; the variance
  split below says how much. Few draws: the q-quantile sits at position
  (D − 1) q of the sorted d_i, so with fewer than 41 draws each end lies
  between the two most extreme draws on its side (``attrs["few_draws"]``,
  and `loyalsim info` says so); with one draw there is no interval.
  ``mean``, ``ci_low``, ``ci_high`` are the same for the level of X.
- **P(beats baseline)** ``p_beats_baseline``: the share of the D·R (draw,
  replication) runs in which Δ_ir is better than 0 (above 0, or below for a
  measure where lower is better; ties count half): the chance that one
  realisation, at parameters drawn from the posterior, turns out better. Its
  Monte Carlo error ``p_beats_se`` is the standard error of that share
  clustered two ways (:func:`loyalsim._stats.crossed_table`): by draw, since
  the runs of a draw share its parameters, and by replication, since a
  replication's seed is the same at every draw. The binomial
  sqrt(p(1 − p)/(DR)) would take the D·R runs as independent and be too small;
  clustering by draw alone would miss the shared seeds.
- **P(best)** ``p_best``: the share of draws in which the policy's mean of X
  over the replications is the best (ties share the draw); **expected regret**
  ``regret``: the mean over draws of (the best policy's draw mean − this
  policy's), in X's good direction, so ≥ 0 (:func:`loyalsim.robustness`).
- **variance split**: over all runs Var(Δ) = Var_draws(E[Δ | draw]) +
  E_draws(Var_reps(Δ | draw)). ``parameter_variance`` estimates the first,
  τ²: the variance over draws of the d_i (``contrast_variance``) less the
  Monte Carlo noise in it (the residual of the draw × replication table / R;
  :mod:`loyalsim.robustness` says why not E[Var_reps] / R: the shared seeds).
  ``monte_carlo_variance`` is E_draws(Var_reps(Δ | draw)) / R, the Monte Carlo
  variance of one draw's mean d_i (σ²/R). Better data (a narrower posterior)
  shrinks τ²; more replications shrink σ²/R. ``narrowed_by`` names the larger
  part, what would narrow the answer more: ``"data"`` or ``"replications"``.

docs/results-format.md ("Policy comparisons under a posterior") defines the same
numbers for `loyalsim info`, which prints them from the engine's own code.

A measure without a good direction (the paradox share) has no P(beats),
P(best) or regret (NaN). Values are raw (the file's scale); multiply money,
counts and messages by ``attrs["factor"]`` (``represents / customers``), and
variances by its square, for the firm's scale.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ._stats import crossed_table, resolve_month
from .decision import summarise
from .measures import display_factor, file_measures
from .measures import measure as find_measure
from .robustness import point_values, robustness

#: With fewer draws the credible interval's ends lie between the two most extreme draws on each side.
FEW_DRAWS = 41
COLUMNS = ("mean", "ci_low", "ci_high", "diff_mean", "diff_ci_low", "diff_ci_high", "p_beats_baseline", "p_beats_se",
           "p_best", "regret", "contrast_variance", "parameter_variance", "monte_carlo_variance", "narrowed_by")  # fmt: skip


def is_posterior_sweep(ds: xr.Dataset) -> bool:
    """A sweep of posterior draws (``sweep_design = "posterior"``) with more than one point."""
    return str(ds.attrs.get("sweep_design", "none")) == "posterior" and "point" in ds.dims and ds.sizes["point"] > 1


def posterior_decision(ds: xr.Dataset, measure: str = "net_value", month: int | None = None) -> pd.DataFrame:
    """Per policy, the comparison with the baseline across a posterior sweep's draws (see the module docstring).

    One row per policy (the baseline first: its contrast is 0, its P(beats)
    NaN); columns ``mean, ci_low, ci_high, diff_mean, diff_ci_low,
    diff_ci_high, p_beats_baseline, p_beats_se, p_best, regret,
    contrast_variance, parameter_variance, monte_carlo_variance,
    narrowed_by``. ``attrs``: measure, label, kind, better, month, draws,
    replications, baseline, few_draws, interval (in words), factor,
    source_calibration. Raises ValueError for a file that is not a posterior
    sweep of at least two draws.

    >>> decision = loyalsim.posterior_decision(ds)            # doctest: +SKIP
    >>> decision[["diff_mean", "diff_ci_low", "diff_ci_high", "p_beats_baseline"]]  # doctest: +SKIP
    """
    if not is_posterior_sweep(ds):
        raise ValueError(f"posterior_decision needs a posterior sweep (sweep_design = \"posterior\") of at least two "
                         f"draws; this file's design is {ds.attrs.get('sweep_design', 'none')!r} with "
                         f"{ds.sizes.get('point', 1)} point(s) (loyalsim.robustness compares policies across the "
                         f"points of any sweep)")  # fmt: skip
    m = find_measure(ds, measure)
    month = resolve_month(ds, month)
    v = point_values(ds, measure, month)  # (draw, policy, replication), raw
    draws, _, reps = v.shape
    diff = v - v[:, :1]
    level, contrast = summarise(v, across_points=True), summarise(diff, across_points=True)
    out = pd.DataFrame(index=pd.Index([str(p) for p in ds["policy"].values], name="policy"), columns=list(COLUMNS))
    for prefix, s in (("", level), ("diff_", contrast)):
        out[f"{prefix}mean"], out[f"{prefix}ci_low"], out[f"{prefix}ci_high"] = s["mean"], s["low"], s["high"]
    rob = robustness(ds, measure, month)
    for column in ("contrast_variance", "parameter_variance", "monte_carlo_variance"):
        out[column] = rob[column].to_numpy()
    out["p_best"], out["regret"] = rob["p_best"].to_numpy(), rob["regret_mean"].to_numpy()
    out["p_beats_baseline"], out["p_beats_se"] = _beats(diff, m.better)
    if m.better == "none":
        out[["p_beats_baseline", "p_beats_se", "p_best", "regret"]] = np.nan
    out["narrowed_by"] = [_lever(p, mc) for p, mc in zip(out["parameter_variance"], out["monte_carlo_variance"])]
    out.iloc[0, out.columns.get_loc("narrowed_by")] = None  # the baseline against itself
    out = out.astype({c: float for c in COLUMNS if c != "narrowed_by"})
    out.attrs.update(measure=measure, label=m.label, kind=m.kind, better=m.better, month=month, draws=draws,
                     replications=reps, baseline=str(out.index[0]), few_draws=draws < FEW_DRAWS,
                     interval=f"95% credible interval over {draws} posterior draws", factor=display_factor(ds, m),
                     source_calibration=str(ds.attrs.get("source_calibration", "")))  # fmt: skip
    return out


def _beats(diff: np.ndarray, better: str) -> tuple[np.ndarray, np.ndarray]:
    """P(beats baseline) over the (draw, replication) runs and its two-way clustered s.e.; diff is (draw, policy, rep)."""
    sign = -1.0 if better == "lower" else 1.0
    score = np.where(np.isnan(diff), np.nan, (sign * diff > 0) + 0.5 * (diff == 0))
    table = crossed_table(np.moveaxis(score, 1, 0))  # (policy, draw, replication)
    p, se = table["mean"], table["standard_error"]
    p[0] = se[0] = np.nan  # the baseline does not beat itself
    return p, se


def _lever(parameter: float, monte_carlo: float) -> str | None:
    """What would narrow the answer more: better data (the parameters' part is larger) or more replications."""
    if not (np.isfinite(parameter) and np.isfinite(monte_carlo)) or parameter == monte_carlo == 0:
        return None
    return "replications" if monte_carlo > parameter else "data"


def posterior_table(ds: xr.Dataset, month: int | None = None) -> pd.DataFrame:
    """:func:`loyalsim.policy_table` of a posterior sweep: every measure's :func:`posterior_decision` side by side.

    Columns are a MultiIndex (metric, statistic), the statistics those of
    :func:`posterior_decision` but ``narrowed_by`` (compare
    ``parameter_variance`` with ``monte_carlo_variance``).
    """
    columns, attrs = {}, {}
    for m in file_measures(ds):
        decision = posterior_decision(ds, m.name, month)
        attrs = decision.attrs
        for stat in COLUMNS[:-1]:
            columns[(m.name, stat)] = decision[stat].to_numpy()
    table = pd.DataFrame(columns, index=pd.Index([str(p) for p in ds["policy"].values], name="policy"))
    table.columns = pd.MultiIndex.from_tuples(table.columns, names=["metric", "statistic"])
    table.attrs.update(month=attrs["month"], point=None, replications=attrs["replications"], draws=attrs["draws"],
                       baseline=attrs["baseline"], parameters={}, design="posterior", few_draws=attrs["few_draws"],
                       interval=attrs["interval"], source_calibration=attrs["source_calibration"])  # fmt: skip
    return table
