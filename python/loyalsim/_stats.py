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


def select_point(ds: xr.Dataset, point: int) -> xr.Dataset:
    """The dataset at sweep point ``point`` (an index 0 … P−1)."""
    size = ds.sizes["point"]
    if not isinstance(point, (int, np.integer)) or not 0 <= point < size:
        raise IndexError(f"point {point!r} does not exist: this file has points 0 … {size - 1}")
    return ds.isel(point=int(point))


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
        raise KeyError(f"unknown policy {', '.join(map(repr, unknown))}; this file has {', '.join(names)}")
    return wanted


def point_parameters(ds: xr.Dataset) -> dict:
    """Values of the swept parameters (coordinates on ``point``) of a point-selected dataset."""
    return {name: c.item() for name, c in ds.coords.items() if name != "point" and c.dims == ()}
