"""An independent recomputation of the report's numbers from a results file, with xarray and scipy only.

Nothing here imports loyalsim: the measures are written out from
docs/results-format.md and ROUND-INTERFACES (format 1.1), the statistics from
the textbook, so a test that compares the report with these numbers compares
two implementations.
"""
from __future__ import annotations

import math

import numpy as np
import xarray as xr
from scipy import stats

SHARES = {"retention", "satisfied_share", "paradox_share"}


def open_raw(path) -> xr.Dataset:
    return xr.open_dataset(path, engine="h5netcdf")


def scale(raw: xr.Dataset, name: str) -> float:
    """represents / customers for counts and money (1 without represents); 1 for shares."""
    if name in SHARES or "represents" not in raw.attrs:
        return 1.0
    return float(raw.attrs["represents"]) / float(raw.attrs["customers"])


def flows(raw: xr.Dataset, name: str, month: int) -> xr.DataArray:
    return raw[name].sel(month=slice(1, month)).sum("month")


def horizon(raw: xr.Dataset, name: str, month: int) -> np.ndarray:
    """A measure at the horizon, (point, policy, replication), at the firm's scale."""
    if name == "retention":
        v = raw["cohort_active"].sel(month=month) / float(raw.attrs["customers"])
    elif name == "active":
        v = raw["active"].sel(month=month)
    elif name in ("satisfied_share", "paradox_share"):
        den = flows(raw, "complaints", month)
        if "proactive_recoveries" in raw and "measures" in raw.attrs:
            den = den + flows(raw, "proactive_recoveries", month)
        num = flows(raw, "recoveries_satisfied" if name == "satisfied_share" else "paradox_events", month)
        v = num / den
    elif name == "net_value_per_customer":
        return horizon(raw, "net_value", month) / float(raw.attrs.get("represents", raw.attrs["customers"]))
    else:
        v = flows(raw, name, month)
    return v.transpose("point", "policy", "replication").values * scale(raw, name)


def t_interval(x: np.ndarray):
    """Mean and 95% Student-t interval over the last axis."""
    n = x.shape[-1]
    m = x.mean(axis=-1)
    h = stats.t.ppf(0.975, n - 1) * x.std(axis=-1, ddof=1) / math.sqrt(n)
    return m, m - h, m + h


def over_points(x: np.ndarray):
    """Across points: mean of the point means and the 2.5/97.5% quantiles of the point means (axis 0)."""
    means = x.mean(axis=-1)
    return means.mean(axis=0), np.quantile(means, 0.025, axis=0), np.quantile(means, 0.975, axis=0)


def summary(x: np.ndarray, across_points: bool):
    """(mean, low, high) per policy of x (point, policy, replication)."""
    return over_points(x) if across_points else t_interval(x[0])


def wilson(k: float, n: int):
    z = stats.norm.ppf(0.975)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def close(a, b, rel=1e-9, abs_=1e-9) -> bool:
    a, b = float(a), float(b)
    if math.isnan(a) and math.isnan(b):
        return True
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), abs_)
