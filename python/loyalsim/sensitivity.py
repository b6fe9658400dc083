"""Global sensitivity of a sweep: which swept parameters move a metric, and how sure we are.

The engine's ``loyalsim sensitivity`` computes the same point estimates
(engine/sensitivity.hpp); only the bootstrap's random numbers differ (numpy
here, the engine's counter-based stream there), so intervals agree up to
bootstrap noise.

Outcome. One run's outcome is the metric at month t: its level for a stock
(``metric_kind = "stock"``: active customers, retention's ``cohort_active``),
its sum over months 1 … t for a flow (net value, revenue, complaints), so "net
value at month 36" is what was accumulated by then. With ``contrast`` it is the
run's outcome minus the baseline policy's in the same replication (common
random numbers make that difference far less noisy than either level). Y of a
point is the mean of its replications' outcomes.

Sobol' indices (Saltelli designs; rows j hold A_j, B_j and AB^(i)_j, A_j with
parameter i taken from B_j), with V the population variance (ddof 0) of the A
and B outputs together and m their mean (centring B leaves the estimator's
expectation unchanged, since E[AB_i − A] = 0, but removes the term m (AB_i − A)
whose variance swamps the index when the outcome's mean is large against its
spread, as net value's is):
    S1_i = mean_j( (B_j − m) (AB_ij − A_j) ) / V        (Saltelli et al. 2010, centred)
    ST_i = mean_j( (A_j − AB_ij)² ) / (2 V)             (Jansen 1999)

Regression indices (any design), X the parameter values (log value for a log
range, the choice's index in ``sweep_choices`` for choices):
    SRC_i  = b_i sd(x_i) / sd(Y), b from least squares with an intercept
             (sample sds); R² of that fit.
    PRCC_i = correlation of the residuals of rank(x_i) and rank(Y) after
             least squares (with an intercept) on the ranks of the other
             inputs; average ranks for ties.
A constant input gets NaN (the others are fitted without it); a constant Y
gives NaN everywhere.

Noise share: mean over points of (variance over replications, ddof 1) / R,
divided by the variance of Y over points (ddof 1): how much of the
point-to-point variation is Monte Carlo noise (≈ 0: the indices are about the
parameters; ≈ 1: about the dice). NaN with one replication.

Bootstrap: each resample draws rows (Saltelli rows, or points for regression)
with replacement and, once for all points, replications with replacement:
replication r of every point ran on the same random numbers, so drawing
replications separately per point would break those common random numbers.
The intervals are percentile intervals of the finite resample values (numpy's
default linear quantile); resamples draw from ``numpy.random.default_rng(seed)``:
first all rows, shape (bootstrap, rows), then all replications, shape
(bootstrap, replications), and the same draws serve every (policy, month).
"""
from __future__ import annotations

import warnings
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from ._stats import SALTELLI, did_you_mean, resolve_month, resolve_policies, sweep_parameters
from .tables import cumulative

#: The indices of each method, in the order the result lists them.
INDICES = {"sobol": ("S1", "ST"), "regression": ("SRC", "PRCC")}
#: Levels at the end of a month, for files older than the ``metric_kind`` attribute.
STOCKS = frozenset({"active", "cohort_active", "mean_satisfaction", "quality"})
COLUMNS = ["policy", "month", "parameter", "index", "estimate", "ci_low", "ci_high"]
_RAW_DIMS = ("point", "policy", "replication", "month")
_BATCH_NUMBERS = 4_000_000  # point means held at once while bootstrapping (32 MB)

Estimator = Callable[[np.ndarray, np.ndarray], np.ndarray]


def sensitivity(
    ds: xr.Dataset,
    metric: str = "net_value",
    month=None,
    policy=None,
    contrast: bool = False,
    method: str | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Which swept parameters move ``metric``: Sobol' indices or SRC/PRCC with bootstrap intervals.

    - ``metric``: a raw metric of the file (``net_value``, ``cohort_active``,
      ``complaints`` …); flows are summed over months 1 … t, stocks taken at t.
    - ``month``: None for the last month, a month number, or ``"all"`` for
      months 1 … T (time-resolved; month 0 is the initial state).
    - ``policy``: a name or a list; None for every policy (with ``contrast``,
      every policy but the baseline).
    - ``contrast``: analyse the paired difference to the baseline (policy 0)
      instead of the level. A policy identical to the baseline then has Y = 0
      at every point, so its indices are all NaN (nothing to apportion).
    - ``method``: ``"sobol"`` (needs a Saltelli design) or ``"regression"``;
      None picks Sobol' for a ``sobol`` design, regression otherwise. On a
      snapshot of a sweep in progress, Sobol' uses the complete rows only.
    - ``bootstrap``, ``seed``, ``confidence``: the percentile intervals (0
      resamples: NaN bounds).

    Returns a tidy DataFrame with columns policy, month, parameter, index
    (S1 and ST, or SRC and PRCC), estimate, ci_low, ci_high; ``.attrs`` holds
    method, metric, outcome (Y in words), contrast, baseline, design,
    parameters, points and rows used, replications, bootstrap, seed,
    confidence, ``noise_share`` and, for regression, ``r_squared`` (dicts
    keyed by (policy, month)) and ``warnings``. See the module docstring for the formulas.

    Sobol' estimates that cannot be right beyond their noise (an index
    outside [0, 1], S1 above ST) mean the base sample is too small: they warn
    with :class:`loyalsim.SampleSizeWarning`, saying which and what N to use
    (:func:`sobol_sample_warning`), and the text is in ``attrs["warnings"]``.

    >>> result = loyalsim.sensitivity(ds, contrast=True, policy="programme")  # doctest: +SKIP
    >>> result.attrs["noise_share"]                                            # doctest: +SKIP
    >>> loyalsim.plot_tornado(result)                                          # doctest: +SKIP
    """
    params, design = _sweep(ds)
    method = _method(method, design)
    policies = _policies(ds, policy, contrast)
    months = _months(ds, month)
    _check_bootstrap(bootstrap, confidence)
    outcomes, outcome_text = _outcomes(ds, metric, policies, months, contrast)  # (point, outcome, rep)
    replications = outcomes.shape[-1]

    if method == "sobol":
        positions = _saltelli_positions(ds, len(params))  # (rows, k + 2)
        if len(positions) < 2:
            raise ValueError(
                f"Sobol' indices need at least 2 complete Saltelli rows; this dataset has {len(positions)} "
                f"(a row is A, B and one point per parameter: {len(params) + 2} points)"
            )
        values = outcomes[positions]  # (rows, k + 2, outcome, rep)
        estimate: Estimator = _sobol_indices
    else:
        if len(outcomes) < len(params) + 3:
            raise ValueError(
                f"regression needs more points than parameters + 2 ({len(params) + 3} for {len(params)} "
                f"parameters); this dataset has {len(outcomes)}"
            )
        values = outcomes  # (point, outcome, rep)
        estimate = _regression_estimator(_design_matrix(ds, params))
    rows = len(values)

    # Every (policy, month) outcome at once: a resample's rows and inputs are shared by all of them.
    full = estimate(np.arange(rows)[None], values.mean(axis=-1)[None])[0]  # (outcome, index)
    draws = _draw(bootstrap, rows, replications, seed)
    low, high = _percentile_interval(_replicates(values, estimate, draws, full.shape), confidence)
    k = len(params)
    keys = [(pol, m) for pol in policies for m in months]  # the outcome axis, in this order
    records = [
        (pol, m, param, name, full[q, i * k + j], low[q, i * k + j], high[q, i * k + j])
        for q, (pol, m) in enumerate(keys)
        for i, name in enumerate(INDICES[method])
        for j, param in enumerate(params)
    ]
    noise = {key: _noise_share(values[..., q, :].reshape(-1, replications)) for q, key in enumerate(keys)}

    result = pd.DataFrame.from_records(records, columns=COLUMNS)
    result.attrs.update(
        method=method,
        metric=metric,
        outcome=outcome_text,
        contrast=bool(contrast),
        baseline=str(ds["policy"].values[0]),
        design=design,
        parameters=list(params),
        points=int(values[..., 0, 0].size),
        rows=int(rows),
        replications=int(replications),
        bootstrap=int(bootstrap),
        seed=seed,
        confidence=float(confidence),
        noise_share=noise,
    )
    if method == "regression":
        result.attrs["r_squared"] = {key: float(full[q, 2 * k]) for q, key in enumerate(keys)}
    warning = sobol_sample_warning(result, k, rows) if method == "sobol" else None
    result.attrs["warnings"] = [warning] if warning else []
    if warning:
        warnings.warn(warning, SampleSizeWarning, stacklevel=2)
    return result


class SampleSizeWarning(UserWarning):
    """Sobol' estimates that cannot be right (outside [0, 1], or S1 above ST) beyond their noise: N is too small."""


#: A violation within this half-width is noise; intervals wider than ``_NOISY`` cannot tell.
_NOISY, _TARGET_HALF_WIDTH = 0.1, 0.05


def sobol_sample_warning(result: pd.DataFrame, parameters: int, base_points: int) -> str | None:
    """Why Sobol' indices from ``base_points`` Saltelli rows are not to be trusted, or None.

    ``result`` has, per (policy, month), ``parameters`` S1 rows then as many ST
    rows (as :func:`sensitivity` returns them). An estimate is implausible
    when it lies outside [0, 1], or when S1 exceeds ST; that is reported when
    it does so by more than the intervals' half-widths (more than noise; 0.1
    without intervals, ``bootstrap=0``), or when a half-width exceeds 0.1
    (too noisy to tell). Either way the base
    sample is too small: the suggested N is the power of two at which the
    widest interval would shrink to about ±0.05, intervals narrowing as
    1/√N. The engine's ``loyalsim sensitivity`` warns with the same text
    (app/sensitivity.cpp).
    """
    problems, widest = [], 0.0
    rows = list(result.itertuples(index=False))
    for start in range(0, len(rows) - 2 * parameters + 1, 2 * parameters):
        s1, st = rows[start : start + parameters], rows[start + parameters : start + 2 * parameters]
        problems += _implausible(s1, st)
        widest = max([widest] + [h for h in map(_half_width, s1 + st) if np.isfinite(h)])
    if not problems:
        return None
    wanted = max(2.0, (widest / _TARGET_HALF_WIDTH) ** 2 if widest > 0 else 4.0) * base_points
    n = 1
    while n < wanted and n < 2**40:
        n *= 2
    listed = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
    return (f"these Sobol' indices come from a base sample of N = {base_points} points, too small for them: "
            f"{listed}. Run the sweep with points = {n} (intervals narrow as 1/sqrt(N); N = {n} should bring them "
            f"to about +-{_TARGET_HALF_WIDTH:.2f})")  # fmt: skip


def _half_width(row) -> float:
    return (row.ci_high - row.ci_low) / 2  # NaN without an interval


def _tolerance(row) -> float:
    """What noise can explain: the half-width, or _NOISY without an interval (bootstrap=0)."""
    h = _half_width(row)
    return h if np.isfinite(h) else _NOISY


def _implausible(s1: list, st: list) -> list[str]:
    out = []
    for a, b in zip(s1, st):
        where = f"{a.parameter} ({a.policy}, month {a.month})"
        for r in (a, b):
            beyond = max(-r.estimate, r.estimate - 1.0)
            if np.isfinite(beyond) and beyond > 0 and (beyond > _tolerance(r) or _half_width(r) > _NOISY):
                out.append(f"{r.index} of {where} is {r.estimate:.3f}, {'above 1' if r.estimate > 1 else 'below 0'}")
        excess = a.estimate - b.estimate
        noisy = _half_width(a) > _NOISY or _half_width(b) > _NOISY
        if np.isfinite(excess) and excess > 0 and (excess > _tolerance(a) + _tolerance(b) or noisy):
            out.append(f"S1 of {where} is {a.estimate:.3f}, above its ST {b.estimate:.3f}")
    return out


# ---- what to analyse ----


def _sweep(ds: xr.Dataset) -> tuple[list[str], str]:
    """The swept parameters and the design, or a ValueError saying there is no sweep to analyse."""
    params = sweep_parameters(ds)
    design = str(ds.attrs.get("sweep_design", "unknown" if params else "none"))
    if "point" not in ds.dims:
        raise ValueError("this dataset was narrowed to one point (ds.sel(point=k)): sensitivity needs all points")
    if design == "none" or not params:
        raise ValueError(
            "this dataset holds no sweep (one point): nothing to analyse. Add a [sweep] table to the "
            "experiment (docs/experiment-format.md)"
        )
    missing = [p for p in params if p not in ds.variables]
    if missing:
        raise ValueError(f"the swept parameter(s) {', '.join(missing)} named in sweep_parameters are not in the file")
    return params, design


def _method(method: str | None, design: str) -> str:
    if method is None:
        return "sobol" if design == "sobol" else "regression"
    if method not in INDICES:
        raise ValueError(f"unknown method {method!r}: 'sobol' or 'regression'")
    if method == "sobol" and design != "sobol":
        raise ValueError(
            f"Sobol' indices need a Saltelli design (sweep_design = 'sobol'); this sweep's design is "
            f"{design!r}: use method='regression'"
        )
    return method


def _policies(ds: xr.Dataset, policy, contrast: bool) -> list[str]:
    names = [str(p) for p in ds["policy"].values]
    if policy is None:
        chosen = names[1:] if contrast else names
        if not chosen:
            raise ValueError("contrast=True needs a policy besides the baseline")
        return chosen
    try:
        return resolve_policies(ds, policy)
    except KeyError as e:
        raise ValueError(e.args[0]) from None


def _months(ds: xr.Dataset, month) -> list[int]:
    if isinstance(month, str):
        if month != "all":
            raise ValueError(f"month must be None (the last month), a month number or 'all', not {month!r}")
        months = [int(m) for m in ds["month"].values if m >= 1]
        if not months:
            raise ValueError("month='all' needs months after month 0; this run has none")
        return months
    return [resolve_month(ds, month)]


def _check_bootstrap(bootstrap: int, confidence: float) -> None:
    if not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0:
        raise ValueError(f"bootstrap must be a number of resamples ≥ 0, not {bootstrap!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, not {confidence!r}")


def _outcomes(ds: xr.Dataset, metric: str, policies: list[str], months: list[int], contrast: bool):
    """Every run's outcome, shape (point, policy × month, replication), and what it is in words."""
    raw = _raw_metric(ds, metric)
    flow = str(raw.attrs.get("metric_kind", "stock" if metric in STOCKS else "flow")) == "flow"
    baseline = str(ds["policy"].values[0])
    needed = list(dict.fromkeys(([baseline] if contrast else []) + policies))
    raw = raw.sel(policy=needed, month=slice(None, max(months)))
    level = (cumulative(raw) if flow else raw).sel(month=months).transpose("point", "policy", "month", "replication")
    out = level.sel(policy=policies).values.astype(float)
    if contrast:
        out = out - level.sel(policy=[baseline]).values
    out = out.reshape(out.shape[0], len(policies) * len(months), out.shape[-1])
    what = f"the sum of {metric} over months 1..t" if flow else f"{metric} at month t"
    prefix = f"paired difference to {baseline} of " if contrast else ""
    return out, f"{prefix}{what}, mean over {raw.sizes['replication']} replications"


def _raw_metric(ds: xr.Dataset, metric: str) -> xr.DataArray:
    available = [str(n) for n, v in ds.data_vars.items() if set(v.dims) == set(_RAW_DIMS)]
    if metric not in available:
        raise ValueError(f"unknown metric {metric!r}{did_you_mean(metric, available)}; the raw metrics of this "
                         f"file are: {', '.join(available)}")  # fmt: skip
    return ds[metric]


def _saltelli_positions(ds: xr.Dataset, k: int) -> np.ndarray:
    """File positions of the complete Saltelli rows, shape (rows, k + 2), rows in design order.

    A snapshot of a running sweep can hold part of a row, and a row is only
    usable with A, B and every AB^(i). The row and matrix of a point come from
    ``saltelli_row`` / ``saltelli_matrix``, else from its design index
    p = j (k + 2) + m.
    """
    if all(n in ds.variables for n in SALTELLI):
        row = ds["saltelli_row"].values.astype(np.int64)
        matrix = ds["saltelli_matrix"].values.astype(np.int64)
    else:
        row, matrix = np.divmod(ds["point"].values.astype(np.int64), k + 2)
    if row.size == 0:
        return np.empty((0, k + 2), dtype=np.int64)
    if matrix.min() < 0 or matrix.max() > k + 1 or row.min() < 0:
        raise ValueError(f"saltelli_row/saltelli_matrix do not describe a Saltelli design of {k} parameters")
    grid = np.full((row.max() + 1, k + 2), -1, dtype=np.int64)
    grid[row, matrix] = np.arange(row.size)
    return grid[(grid >= 0).all(axis=1)]


def _design_matrix(ds: xr.Dataset, params: list[str]) -> np.ndarray:
    """Regression inputs, (point, parameter): log values for log ranges, where effects are multiplicative
    and the design is uniform; the index in ``sweep_choices`` for choices, which have no numbers."""
    columns = []
    for name in params:
        var = ds[name]
        kind = var.attrs.get("sweep_kind", "")
        if kind == "choices" or var.dtype.kind in "OUS":
            columns.append(_choice_index(name, var.values, var.attrs.get("sweep_choices")))
        elif kind == "log_range":
            columns.append(np.log(var.values.astype(float)))
        else:
            columns.append(var.values.astype(float))
    return np.column_stack(columns)


def _choice_index(name: str, values: np.ndarray, choices_text) -> np.ndarray:
    values = [v.decode() if isinstance(v, bytes) else str(v) for v in values]
    choices = [c for c in str(choices_text).split("\n") if c] if choices_text else sorted(set(values))
    unknown = sorted(set(values) - set(choices))
    if unknown:
        raise ValueError(f"{name}: value(s) {', '.join(unknown)} are not among its sweep_choices {choices}")
    position = {c: i for i, c in enumerate(choices)}
    return np.array([position[v] for v in values], dtype=float)


# ---- estimators: y has a leading resample axis; each returns (resample, outcome, index) ----


def _sobol_indices(rows: np.ndarray, y: np.ndarray) -> np.ndarray:
    """S1_0 … S1_{k−1}, ST_0 … ST_{k−1} per outcome of Saltelli rows y (resample, row, k + 2, outcome).

    Returns (resample, outcome, 2k); NaN where V = 0 (nothing to apportion).
    """
    a, b, ab = y[:, :, 0], y[:, :, 1], y[:, :, 2:]  # (resample, row, outcome), …, (resample, row, k, outcome)
    v = np.concatenate([a, b], axis=1).var(axis=1)[:, None]  # (resample, 1, outcome)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.concatenate([a, b], axis=1).mean(axis=1)[:, None]  # (resample, 1, outcome)
        first = ((b - m)[:, :, None] * (ab - a[:, :, None])).mean(axis=1) / v
        total = ((a[:, :, None] - ab) ** 2).mean(axis=1) / (2.0 * v)
    scale = np.maximum(np.abs(a).max(axis=1), np.abs(b).max(axis=1))[:, None]
    indices = np.where(~_negligible(v, scale), np.concatenate([first, total], axis=1), np.nan)  # (resample, 2k, outcome)
    return indices.transpose(0, 2, 1)


def _regression_estimator(x: np.ndarray) -> Estimator:
    """SRC, PRCC and R² of each resample: rows picks the resample's points of the inputs x.

    The inputs' ranks within a resample follow from their ranks in the whole
    design (:func:`_ranks_of_codes`), which saves sorting k columns per resample.
    """
    codes = np.column_stack([np.unique(column, return_inverse=True)[1] for column in x.T])

    def estimate(rows: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.stack([_regression_indices(x[r], yr, _ranks_of_codes(codes[r])) for r, yr in zip(rows, y)])

    return estimate


def _regression_indices(x: np.ndarray, y: np.ndarray, x_ranks: np.ndarray) -> np.ndarray:
    """SRC_0 … SRC_{k−1}, PRCC_0 … PRCC_{k−1}, R² of inputs x (point, parameter) for each
    column of y (point, outcome): returns (outcome, 2k + 1)."""
    k = x.shape[1]
    out = np.full((y.shape[1], 2 * k + 1), np.nan)
    # A constant Y (to 12 digits) has nothing to explain.
    explained = np.isfinite(y).all(axis=0) & ~_negligible(y.var(axis=0), np.abs(y).max(axis=0))
    varying = np.flatnonzero(x.min(axis=0) != x.max(axis=0))  # a constant input explains nothing
    if len(y) < 3 or not explained.any() or varying.size == 0:
        return out
    xv, yv = x[:, varying], y[:, explained]
    # Least squares on centred data is least squares with an intercept.
    xc, yc = xv - xv.mean(axis=0), yv - yv.mean(axis=0)
    beta, _, rank, _ = np.linalg.lstsq(xc, yc, rcond=None)  # (input, outcome)
    residual = yc - xc @ beta
    out[explained, 2 * k] = 1.0 - (residual**2).sum(axis=0) / (yc**2).sum(axis=0)
    if rank == varying.size:  # collinear inputs: the coefficients are not identified
        src = beta * xv.std(axis=0, ddof=1)[:, None] / yv.std(axis=0, ddof=1)
        out[np.ix_(explained, varying)] = src.T
    out[np.ix_(explained, k + varying)] = _prcc(x_ranks[:, varying], average_ranks(yv, axis=0)).T
    return out


def _prcc(x_ranks: np.ndarray, y_ranks: np.ndarray) -> np.ndarray:
    """Partial rank correlation of each input with each output column, given the other inputs: (input, outcome).

    The correlation of the residuals of rank(x_i) and rank(y) after least
    squares (with an intercept) on the other ranked inputs is −P_iy / sqrt(P_ii
    P_yy), P the inverse of the centred ranks' cross products. With A the
    inputs' block, c = A⁻¹ b the fit of y's ranks on the inputs' and s its
    residual sum of squares, the block inverse turns that into
    c_i / sqrt(s (A⁻¹)_ii + c_i²): one m × m inverse serves every input and
    every outcome. Undefined (NaN) when the ranks are collinear.
    """
    zx = x_ranks - x_ranks.mean(axis=0)
    zy = y_ranks - y_ranks.mean(axis=0)
    m = zx.shape[1]
    a = zx.T @ zx
    if np.linalg.matrix_rank(a) < m:
        return np.full((m, zy.shape[1]), np.nan)
    a_inv = np.linalg.inv(a)
    fit = a_inv @ (zx.T @ zy)  # (input, outcome)
    total = (zy**2).sum(axis=0)
    rss = total - ((zx.T @ zy) * fit).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        prcc = fit / np.sqrt(rss * np.diag(a_inv)[:, None] + fit**2)
    return np.where(rss > 1e-12 * total, prcc, np.nan)  # y's ranks a combination of the inputs': undefined


def _ranks_of_codes(codes: np.ndarray) -> np.ndarray:
    """Average ranks of each column of ``codes``, the values' positions among the column's
    distinct values (so equal codes are ties): a value's rank is the number of smaller values
    plus (the number of equal values + 1) / 2."""
    ranks = np.empty(codes.shape)
    for i, c in enumerate(codes.T):
        counts = np.bincount(c)
        below = np.cumsum(counts) - counts
        ranks[:, i] = below[c] + (counts[c] + 1) / 2.0
    return ranks


def average_ranks(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """Ranks 1 … n along ``axis``, ties getting the mean of the ranks they span (scipy's 'average')."""
    a = np.moveaxis(np.asarray(a), axis, -1)
    order = np.argsort(a, axis=-1, kind="stable")
    s = np.take_along_axis(a, order, axis=-1)
    n = s.shape[-1]
    pos = np.arange(n)
    starts = np.ones(s.shape, dtype=bool)
    starts[..., 1:] = s[..., 1:] != s[..., :-1]
    ends = np.ones(s.shape, dtype=bool)
    ends[..., :-1] = starts[..., 1:]
    first = np.maximum.accumulate(np.where(starts, pos, 0), axis=-1)  # tie group's first position
    last = np.flip(np.minimum.accumulate(np.flip(np.where(ends, pos, n), axis=-1), axis=-1), axis=-1)
    ranks = np.empty(s.shape)
    np.put_along_axis(ranks, order, (first + last) / 2.0 + 1.0, axis=-1)
    return np.moveaxis(ranks, -1, axis)


def _negligible(variance, scale):
    """A variance of values of largest magnitude ``scale`` counts as none below a
    12-digit agreement: outcomes that differ only by the order of floating-point
    sums have nothing to apportion (the engine, engine/sensitivity.cpp, agrees)."""
    return ~(np.asarray(variance) > (1e-12 * np.asarray(scale)) ** 2)


def _noise_share(values: np.ndarray) -> float:
    """Monte Carlo share of the variance between points; values is (point, replication)."""
    points, replications = values.shape
    if replications < 2 or points < 2:
        return np.nan
    means = values.mean(axis=1)
    between = means.var(ddof=1)
    if _negligible(between, np.abs(means).max()):
        return np.nan
    return float((values.var(axis=1, ddof=1) / replications).mean() / between)


# ---- bootstrap ----


class _Draws(NamedTuple):
    """The resamples: ``rows`` (resample, row) drawn with replacement and ``weights``
    (resample, replication), how often each replication was drawn divided by R,
    so ``values @ weights[b]`` is every point's mean over resample b's replications."""

    rows: np.ndarray
    weights: np.ndarray


def _draw(bootstrap: int, rows: int, replications: int, seed) -> _Draws:
    rng = np.random.default_rng(seed)
    drawn_rows = rng.integers(0, rows, size=(bootstrap, rows))
    drawn_reps = rng.integers(0, replications, size=(bootstrap, replications))
    counts = np.zeros((bootstrap, replications))
    np.add.at(counts, (np.arange(bootstrap)[:, None], drawn_reps), 1.0)
    return _Draws(drawn_rows, counts / replications)


def _replicates(values: np.ndarray, estimate: Estimator, draws: _Draws, shape: tuple) -> np.ndarray:
    """The indices of every resample, (resample, outcome, index); values is (row, …, replication)."""
    out = [np.empty((0, *shape))]
    batch = max(1, _BATCH_NUMBERS // max(1, values[..., 0].size))
    for start in range(0, len(draws.rows), batch):
        rows = draws.rows[start : start + batch]
        means = np.einsum("...r,br->b...", values, draws.weights[start : start + batch])  # (resample, row, …)
        out.append(estimate(rows, means[np.arange(len(rows))[:, None], rows]))
    return np.concatenate(out)


def _percentile_interval(replicates: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bounds over the resamples (axis 0) of the finite values (NaN when none)."""
    if replicates.shape[0] == 0:
        nan = np.full(replicates.shape[1:], np.nan)
        return nan, nan
    tail = (1.0 - confidence) / 2.0
    finite = np.where(np.isfinite(replicates), replicates, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column has no interval: NaN
        low, high = np.nanquantile(finite, [tail, 1.0 - tail], axis=0)
    return low, high
