"""Synthetic sweep results files, written the way docs/results-format.md says the engine writes them.

The tests choose the outcome of every run (a known function of the swept
parameters, plus noise where wanted), so that sensitivity indices can be
checked against analytic values and independent computations.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr


@dataclass
class Param:
    """One swept parameter: its value at every point, its sweep_kind and, for choices, the choices."""

    values: np.ndarray
    kind: str = "range"
    choices: list[str] = field(default_factory=list)


def saltelli_layout(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points of a Saltelli design from base matrices A, B (N × k): x (N (k+2) × k), row j, matrix m.

    Point j (k+2) + m is A_j (m = 0), B_j (m = 1) or A_j with column i from B_j (m = 2 + i).
    """
    n, k = a.shape
    blocks = [a, b]
    for i in range(k):
        ab = a.copy()
        ab[:, i] = b[:, i]
        blocks.append(ab)
    x = np.stack(blocks, axis=1).reshape(n * (k + 2), k)
    row, matrix = np.divmod(np.arange(n * (k + 2)), k + 2)
    return x, row, matrix


def write_sweep(
    path,
    metrics: dict[str, np.ndarray],
    params: dict[str, Param],
    *,
    design: str,
    policies: list[str] | None = None,
    points: np.ndarray | None = None,
    saltelli: tuple[np.ndarray, np.ndarray] | None = None,
    base_points: int | None = None,
    points_total: int | None = None,
    complete: int = 1,
    cf_coordinates: bool = True,
    metric_kind: dict[str, str] | None = None,
):
    """Writes a results file; ``metrics`` maps a name to values (point, policy, replication, month).

    ``points`` are the design indices (default 0 … P−1); with ``cf_coordinates``
    the parameters are xarray coordinates (so the file carries the CF
    ``coordinates`` attribute, as the engine writes it), else plain variables.
    Metrics are flows unless ``metric_kind`` says otherwise.
    """
    first = next(iter(metrics.values()))
    n_points, n_policies, n_reps, n_months = first.shape
    points = np.arange(n_points) if points is None else np.asarray(points)
    policies = policies or [f"policy{i}" for i in range(n_policies)]
    kinds = metric_kind or {}
    dims = ("point", "policy", "replication", "month")
    data = {
        name: (dims, np.asarray(v, dtype=float), {"units": "money", "long_name": name,
                                                   "metric_kind": kinds.get(name, "flow")})
        for name, v in metrics.items()
    }
    sweep = {}
    for name, p in params.items():
        attrs = {"long_name": f"swept parameter {name}", "sweep_kind": p.kind}
        values = np.asarray(p.values)
        if p.kind == "choices":
            attrs["sweep_choices"] = "\n".join(p.choices)
            values = np.array([str(v) for v in values], dtype=object)
        sweep[name] = (("point",), values, attrs)
    if saltelli is not None:
        sweep["saltelli_row"] = (("point",), np.asarray(saltelli[0], dtype=np.int32), {"long_name": "row j"})
        sweep["saltelli_matrix"] = (("point",), np.asarray(saltelli[1], dtype=np.int32), {"long_name": "matrix m"})
    coords = {
        "point": ("point", points.astype(np.int64)),
        "policy": ("policy", np.array(policies, dtype=object)),
        "replication": ("replication", np.arange(n_reps, dtype=np.int32)),
        "month": ("month", np.arange(n_months, dtype=np.int32)),
    }
    if cf_coordinates:
        coords.update(sweep)
    else:
        data.update(sweep)
    total = int(points_total if points_total is not None else n_points)
    attrs = {
        "format": "loyalsim-results",
        "format_version": "1.0",
        "experiment_name": "synthetic",
        "customers": np.int64(1000),
        "replications": np.int64(n_reps),
        "horizon_months": np.int64(n_months - 1),
        "sweep_design": design,
        "sweep_parameters": "\n".join(params),
        "sweep_base_points": np.int64(base_points if base_points is not None else total),
        "points_total": np.int64(total),
        "points_done": np.int64(n_points),
        "complete": np.int64(complete),
        # The provenance `loyalsim info` prints.
        "model": "SRP-1",
        "engine_version": "0.1.0",
        "git_commit": "synthetic",
        "experiment_sha256": "0" * 64,
        "seed": np.uint64(1),
        "prospects": np.int64(0),
        "created_utc": "2026-01-01T00:00:00Z",
        "host": "test",
        "threads": np.int64(1),
        "processes": np.int64(1),
        "wall_seconds": 1.0,
    }
    xr.Dataset(data, coords=coords, attrs=attrs).to_netcdf(path, engine="h5netcdf")
    return path
