"""What every section of the report needs: the file, the scope (one point or all), the horizon values.

Two modes. **One run** (a file without a sweep, or one point of a sweep with
``point=K``): statistics over the R replications, Student-t intervals, paired
differences. **Across points** (a sweep without ``point``): a point's value is
the mean over its replications, and statistics run over the points: the mean
of the point values and their 2.5–97.5% range (a credible interval for a
posterior sweep, whose points are posterior draws; the spread over a design's
points otherwise).

Values are shown at the firm's scale: counts, money and messages multiplied by
``represents / customers`` (1 without ``represents``); shares as they are.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from .._stats import point_label, select_point
from ..decision import summarise
from ..measures import Measure, display_factor, file_measures, firm_customers, horizon_values


class Unavailable(Exception):
    """A section cannot be drawn from this file; the message says why (shown in its place)."""


@dataclass
class Context:
    ds: xr.Dataset
    scope: xr.Dataset  # always with a point dimension: one point, or every point
    across_points: bool
    posterior: bool
    point: int | None
    month: int
    source: str
    measures: tuple[Measure, ...]
    hv: xr.Dataset  # measure -> (point, policy, replication), raw values
    experiment: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict)

    # ---- shape ----
    @property
    def policies(self) -> list[str]:
        return [str(p) for p in self.scope["policy"].values]

    @property
    def baseline(self) -> str:
        return self.policies[0]

    @property
    def replications(self) -> int:
        return int(self.scope.sizes["replication"])

    @property
    def points(self) -> int:
        return int(self.scope.sizes["point"])

    @property
    def file_points(self) -> int:
        return int(self.ds.sizes["point"]) if "point" in self.ds.dims else 1

    @property
    def is_sweep(self) -> bool:
        return self.file_points > 1

    # ---- words ----
    @property
    def interval_name(self) -> str:
        if not self.across_points:
            return "95% CI"
        return "95% credible interval" if self.posterior else "95% range over points"

    @property
    def unit_name(self) -> str:
        """What the statistics run over: replications, points or posterior draws."""
        if not self.across_points:
            return "replications"
        return "posterior draws" if self.posterior else "points"

    @property
    def runs(self) -> int:
        return self.points if self.across_points else self.replications

    # ---- numbers ----
    def factor(self, m: Measure | None = None) -> float:
        return display_factor(self.ds, m)

    @property
    def customers(self) -> float:
        return firm_customers(self.ds)

    def measure(self, name: str) -> Measure | None:
        return next((m for m in self.measures if m.name == name), None)

    def values(self, name: str) -> np.ndarray:
        """Horizon values of a measure, (point, policy, replication), scaled for display."""
        return self.hv[name].transpose("point", "policy", "replication").values * self.factor(self.measure(name))

    def summary(self, values: np.ndarray) -> dict[str, np.ndarray]:
        """Per policy (or whatever axes lie between point and replication): mean, low, high, bands."""
        return summarise(values, self.across_points)

    def raw(self, name: str) -> xr.DataArray:
        if name not in self.scope.data_vars:
            raise Unavailable(f"the results file has no variable {name!r}")
        return self.scope[name]

    def has(self, *names: str) -> bool:
        return all(n in self.scope.data_vars for n in names)


def stat(summary: dict, i, prefix: str = "") -> dict:
    """One policy's mean/low/high (and bands) of a summary, as plain floats."""
    keys = {"mean": "mean", "low": "ci_low", "high": "ci_high"}
    return {f"{prefix}{out}": _float(summary[key][i]) for key, out in keys.items()}


def _float(x) -> float:
    return float(np.asarray(x))


def make_context(ds: xr.Dataset, *, point: int | None = None, month: int | None = None, source: str = "") -> Context:
    """The context of a report on ``ds`` (one point with ``point``; across points for a sweep without it)."""
    points = int(ds.sizes["point"]) if "point" in ds.dims else 1
    across = point is None and points > 1
    if across:
        scope = ds
    else:
        scope = select_point(ds, point)
        scope = scope.expand_dims("point") if "point" not in scope.dims else scope
    design = str(ds.attrs.get("sweep_design", "none"))
    hv = horizon_values(scope, month)
    return Context(
        ds=ds,
        scope=scope,
        across_points=across,
        posterior=design == "posterior",
        point=None if across else point_label(scope.isel(point=0)),
        month=int(hv.attrs["month"]),
        source=source,
        measures=file_measures(ds),
        hv=hv,
        experiment=_experiment(ds),
    )


def _experiment(ds: xr.Dataset) -> dict:
    """The experiment file as stored in the results (empty when unreadable)."""
    text = ds.attrs.get("experiment_toml")
    if not text:
        return {}
    try:
        return tomllib.loads(text.decode() if isinstance(text, bytes) else str(text))
    except tomllib.TOMLDecodeError:
        return {}


def source_name(path) -> str:
    return Path(path).name if path else ""
