"""Summaries over replications, computed the way the engine computes them.

Sums run in replication order and the standard error is sqrt(ss/(n-1)/n), as
in the engine's ``mean_interval``, so a mean taken here from a raw metric is
bit-identical to the ``<metric>_mean`` the engine stored.
"""
from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import stats

LEVEL = 0.95

#: Coordinates a Saltelli (``sobol``) design adds on ``point``.
SALTELLI = ("saltelli_row", "saltelli_matrix")


def mean_ci(values: np.ndarray, *, skipna: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean and 95% Student-t interval over the LAST axis.

    Returns (mean, low, high, n). With ``skipna`` NaN values are left out
    cell by cell (n varies); otherwise a NaN makes the cell NaN. Bounds are
    NaN where n < 2; an all-equal sample gives a zero-width interval.
    """
    x = np.asarray(values, dtype=float)
    valid = ~np.isnan(x) if skipna else np.ones(x.shape, dtype=bool)
    n = valid.sum(axis=-1)
    total = np.zeros(x.shape[:-1])
    for r in range(x.shape[-1]):  # in replication order, like the engine
        total = total + np.where(valid[..., r], x[..., r], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n
        ss = np.zeros(x.shape[:-1])
        for r in range(x.shape[-1]):
            dev = x[..., r] - mean
            ss = ss + np.where(valid[..., r], dev * dev, 0.0)
        se = np.sqrt(ss / (n - 1) / n)
        t = stats.t.ppf(0.5 + 0.5 * LEVEL, np.where(n >= 2, n - 1, 1))
        half = np.where(n >= 2, t * se, np.nan)
    mean = np.where(n >= 1, mean, np.nan)
    return mean, mean - half, mean + half, n


def select_point(ds: xr.Dataset, point: int | None = None) -> xr.Dataset:
    """The dataset at one sweep point, ``point`` being its design index (the ``point`` coordinate).

    By design index, not position: a snapshot of a sweep in progress holds only
    the points finished so far, so the k-th point in the file need not be
    design point k; in a complete file the two agree. ``None`` picks the only
    point of a file without a sweep. With several points it refuses rather
    than silently showing point 0: each point is a different experiment, and
    one point's table passed off as "the" result would mislead. A dataset
    already narrowed with ``ds.sel(point=k)`` / ``ds.isel(point=k)`` is
    returned as it is.
    """
    if "point" not in ds.dims:
        here = point_label(ds)
        if point is not None and here is not None and point != here:
            raise IndexError(f"point {point!r} does not exist: this dataset was narrowed to point {here}")
        return ds
    labels = ds["point"].values
    if point is None:
        if labels.size == 1:
            return ds.isel(point=0)
        raise ValueError(
            f"this dataset holds {labels.size} sweep points: choose one with point=k (k is the point's design "
            f"index, one of ds['point'].values) or select it first with ds.sel(point=k) or ds.isel(point=i); "
            f"loyalsim.sensitivity(ds) analyses all points together"
        )
    matches = np.flatnonzero(labels == point) if isinstance(point, (int, np.integer)) else []
    if len(matches) == 0:
        raise IndexError(f"point {point!r} does not exist: this file has points {_describe_points(ds, labels)}")
    return ds.isel(point=int(matches[0]))


def _describe_points(ds: xr.Dataset, labels: np.ndarray) -> str:
    if labels.size and np.array_equal(labels, np.arange(labels.size)):
        text = f"0 … {labels.size - 1}"
    else:
        shown = ", ".join(str(v) for v in labels[:20]) + (", …" if labels.size > 20 else "")
        text = f"{shown} ({labels.size} in all)"
    if int(ds.attrs.get("complete", 1)) == 0:
        done, total = ds.attrs.get("points_done", labels.size), ds.attrs.get("points_total", "?")
        text += f", a snapshot of {done} of {total} points"
    return text


def sweep_parameters(ds: xr.Dataset) -> list[str]:
    """The swept parameters' paths, in sweep order, from the ``sweep_parameters`` attribute.

    Older files have no such attribute (and no sweep): then the non-index
    coordinates on ``point`` are the parameters, if any.
    """
    text = ds.attrs.get("sweep_parameters")
    if text is not None:
        return [line for line in str(text).split("\n") if line]
    return [str(n) for n, c in ds.coords.items() if n not in SALTELLI and c.dims == ("point",) and n != "point"]


def resolve_month(ds: xr.Dataset, month: int | None) -> int:
    """``month`` checked against the file's months; None means the last month T."""
    months = ds["month"].values
    last = int(months[-1])
    if month is None:
        return last
    if not isinstance(month, (int, np.integer)) or not 0 <= month <= last:
        raise ValueError(f"month {month!r} is outside this run's months 0 … {last}")
    return int(month)


def resolve_policies(ds: xr.Dataset, policies) -> list[str]:
    """Policy names to show: all (None), one name, or a list, checked against the file."""
    names = [str(p) for p in ds["policy"].values]
    if policies is None:
        return names
    wanted = [policies] if isinstance(policies, str) else list(policies)
    unknown = [p for p in wanted if p not in names]
    if unknown:
        raise KeyError(f"unknown policy {', '.join(map(repr, unknown))}{did_you_mean(unknown[0], names)}; "
                       f"this file has {', '.join(names)}")  # fmt: skip
    return wanted


def did_you_mean(name, known) -> str:
    """' (did you mean 'X'?)' when ``name`` is a likely typo of one of ``known`` or of its beginning, else ''.

    The engine's rule (engine::config::suggest, app/sensitivity.cpp): an edit
    distance below max(2, len/3) + 1, against whole names first, then against
    their first len + 1 characters ("empowred" → empowered_front_line).
    """
    name, known = str(name), [str(k) for k in known]

    def closest(candidates):
        best, limit = None, max(2, len(name) // 3) + 1
        for i, c in enumerate(candidates):
            d = _edit_distance(name, c)
            if d < limit:
                best, limit = i, d
        return best

    guess = closest(known)
    if guess is None and len(name) >= 4:
        guess = closest([k[: len(name) + 1] for k in known])
    return "" if guess is None else f" (did you mean {known[guess]!r}?)"


def _edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        diag, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            diag, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diag + (ca != cb))
    return row[-1]


def point_label(ds: xr.Dataset) -> int | None:
    """The design index of a point-selected dataset (None if the file had no ``point`` coordinate)."""
    return int(ds["point"]) if "point" in ds.coords and ds["point"].ndim == 0 else None


def point_parameters(ds: xr.Dataset) -> dict:
    """Values of the swept parameters (coordinates on ``point``) of a point-selected dataset."""
    return {name: ds[name].item() for name in sweep_parameters(ds) if name in ds.variables and ds[name].dims == ()}


def crossed_table(x: np.ndarray) -> dict[str, np.ndarray]:
    """The two-way analysis of variance of draws × replications over the LAST TWO axes (draw, replication).

    The rows are independent draws (of parameters); the columns are
    replications that reuse the same random numbers in every draw (a sweep's
    points share the experiment's seed), so part of a replication's noise is
    common to all draws. With one value per cell, x = mean + draw effect +
    replication effect + residual. Returns, as the engine's
    ``engine::crossed_table``:

    - ``mean``: of every cell;
    - ``between_rows``: variance over draws of the draw means (ddof 1);
    - ``within_rows``: mean over draws of the variance over replications (ddof 1);
    - ``between_columns``: variance over replications of the replication means (ddof 1);
    - ``residual``: Σ (x − draw mean − replication mean + mean)² / ((D − 1)(R − 1));
    - ``standard_error``: of ``mean``, clustered by draw and by replication
      (Cameron, Gelbach and Miller 2011): sqrt(between_rows/D +
      between_columns/R − residual/(DR)), never below either one-way term;
      with one replication sqrt(between_rows/D).

    NaN where a term needs two draws (or replications) and there are fewer;
    a NaN in the table makes its cell's results NaN.

    >>> t = crossed_table(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 9.0]]))
    >>> float(t["between_rows"]), float(t["within_rows"]), float(t["residual"]), round(float(t["standard_error"]), 4)
    (7.75, 3.0, 1.5, 1.8257)
    """
    x = np.asarray(x, dtype=float)
    rows, columns = x.shape[-2:]
    nan = np.full(x.shape[:-2], np.nan)
    mean = x.mean(axis=(-2, -1))
    row_mean, column_mean = x.mean(axis=-1), x.mean(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        between = row_mean.var(axis=-1, ddof=1) if rows >= 2 else nan
        by_column = column_mean.var(axis=-1, ddof=1) if columns >= 2 else nan
        within = x.var(axis=-1, ddof=1).mean(axis=-1) if columns >= 2 else nan
        residual = nan
        if rows >= 2 and columns >= 2:
            e = x - row_mean[..., :, None] - column_mean[..., None, :] + mean[..., None, None]
            residual = (e * e).sum(axis=(-2, -1)) / ((rows - 1) * (columns - 1))
        variance = between / rows
        if columns >= 2:
            variance = np.maximum.reduce([variance + by_column / columns - residual / (rows * columns),
                                          variance, by_column / columns])  # fmt: skip
        se = np.sqrt(variance) if rows >= 2 else nan
    return {"mean": mean, "between_rows": between, "within_rows": within, "between_columns": by_column,
            "residual": residual, "standard_error": se}  # fmt: skip
