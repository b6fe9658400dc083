"""Synthetic results files for the report's tests, written as docs/results-format.md says the engine writes them.

Every raw metric is built from a few chosen numbers, so the tests know the
answer: each policy's net value effect per month (``effect``), the noise of
each replication (``noise``, exactly zero-mean when wanted), an up-front cost
(``upfront``: months 1 … ``upfront_months``) that delays the payback, and
money flows that add up the way the model's do:

    recovery_cost = compensation_paid + handling_cost + gestures
    net_value     = (margin − recovery_cost − programme_cost − acquisition_cost) · (1 + 0.1)^(−t/12)
    discounted_margin = margin · (1 + 0.1)^(−t/12)

Format 1.1 (``version="1.1"``) adds the ``measures`` attribute,
programme_cost, acquisition_cost, proactive_recoveries, quintile_* and
parameter_value, and ``represents``. Dimension scales come from xarray's
h5netcdf writer, so ``loyalsim.open`` and plain xarray both read the file.
"""
from __future__ import annotations

import json

import numpy as np
import xarray as xr

RATE = 0.1
CUSTOMERS = 1000
CLASSES = ["reference", "silent", "unresolved", "resolved", "resolved_quick"]
BANDS = ["minor", "major"]

MEASURES_1_1 = [
    {"name": "active", "label": "active customers", "kind": "count", "form": "level", "numerator": ["active"],
     "denominator": [], "divide_by_attribute": "", "better": "higher"},
    {"name": "retention", "label": "cohort retention", "kind": "share", "form": "level",
     "numerator": ["cohort_active"], "denominator": [], "divide_by_attribute": "customers", "better": "higher"},
    {"name": "revenue", "label": "revenue", "kind": "money", "form": "sum", "numerator": ["revenue"],
     "denominator": [], "divide_by_attribute": "", "better": "higher"},
    {"name": "recovery_cost", "label": "recovery cost", "kind": "money", "form": "sum",
     "numerator": ["recovery_cost"], "denominator": [], "divide_by_attribute": "", "better": "lower"},
    {"name": "programme_cost", "label": "programme cost", "kind": "money", "form": "sum",
     "numerator": ["programme_cost"], "denominator": [], "divide_by_attribute": "", "better": "lower"},
    {"name": "acquisition_cost", "label": "acquisition cost", "kind": "money", "form": "sum",
     "numerator": ["acquisition_cost"], "denominator": [], "divide_by_attribute": "", "better": "lower"},
    {"name": "net_value", "label": "net value (discounted, after all costs)", "kind": "money", "form": "sum",
     "numerator": ["net_value"], "denominator": [], "divide_by_attribute": "", "better": "higher"},
    {"name": "satisfied_share", "label": "satisfied recoveries", "kind": "share", "form": "sum",
     "numerator": ["recoveries_satisfied"], "denominator": ["complaints", "proactive_recoveries"],
     "divide_by_attribute": "", "better": "higher"},
    {"name": "paradox_share", "label": "paradox events", "kind": "share", "form": "sum",
     "numerator": ["paradox_events"], "denominator": ["complaints", "proactive_recoveries"],
     "divide_by_attribute": "", "better": "none"},
    {"name": "wom_positive", "label": "positive WOM", "kind": "messages", "form": "sum", "numerator": ["wom_positive"],
     "denominator": [], "divide_by_attribute": "", "better": "higher"},
    {"name": "wom_negative", "label": "negative WOM", "kind": "messages", "form": "sum", "numerator": ["wom_negative"],
     "denominator": [], "divide_by_attribute": "", "better": "lower"},
]  # fmt: skip

TOML = """\
name = "synthetic-report"
description = "synthetic results with a known answer"
seed = 1
replications = {reps}
horizon_months = {months}

[population]
customers = 1_000
prospects = 1_000

[model]
discount_rate_annual = 0.1
{policies}"""


def write_results(
    path,
    *,
    policies=("status_quo", "better", "worse", "undecided"),
    effect=(0.0, 400.0, -400.0, 2.0),
    noise=None,
    upfront=None,
    upfront_months=0,
    replications=10,
    months=24,
    points=1,
    sweep=None,
    design=None,
    version="1.0",
    represents=None,
    preset=None,
    drop=(),
    seed=3,
):
    """Writes a results file; returns the path. See the module docstring.

    ``effect[i]``: policy i's extra margin per month (money); ``noise``: an
    array (point, policy, replication) added to the margin of every month
    (default: ±60 alternating by replication for every policy but the
    baseline, plus a replication-common term, so paired differences are
    exactly zero-mean around the effect); ``upfront[i]``: extra compensation
    paid in each of months 1 … upfront_months. ``sweep``: {path: values per
    point} (numeric or strings), with ``design`` ("lhs", "posterior" …).
    ``drop``: variables to leave out.
    """
    n_pol, reps, m1 = len(policies), replications, months + 1
    rng = np.random.default_rng(seed)
    t = np.arange(m1, dtype=float)
    flow = (t >= 1).astype(float)
    disc = (1.0 + RATE) ** (-t / 12.0)
    effect = np.asarray(effect, dtype=float)
    if noise is None:
        alternating = np.where(np.arange(reps) % 2 == 0, 60.0, -60.0)
        common = rng.normal(0.0, 200.0, size=reps)  # the same in every policy: cancels in a paired difference
        noise = np.broadcast_to(common, (points, n_pol, reps)).copy()
        noise[:, 1:, :] += alternating
    noise = np.broadcast_to(np.asarray(noise, dtype=float), (points, n_pol, reps))
    shape = (points, n_pol, reps, m1)
    pol_effect = effect[None, :, None, None] + np.zeros(shape)
    if sweep is not None and "model.gain" in sweep:  # the 'better' policy's effect grows with the gain
        gain = np.asarray(sweep["model.gain"], dtype=float)
        pol_effect[:, 1] = effect[1] * (gain[:, None, None] - 0.5) * 4.0
    active = CUSTOMERS * (1.0 - 0.004 * t) + 0.02 * pol_effect * t / 10.0
    active = np.broadcast_to(active, shape).copy()
    active[..., 0] = CUSTOMERS
    cohort = np.broadcast_to(CUSTOMERS * (1.0 - 0.006 * t), shape).copy() + 0.01 * pol_effect * t / 10.0
    cohort[..., 0] = CUSTOMERS
    revenue = 50.0 * active * flow
    failures = 0.05 * active * flow
    complaints = 0.3 * failures
    proactive = (0.05 * failures if version == "1.1" else np.zeros(shape)) * (np.arange(n_pol) > 0)[None, :, None, None]
    silent = failures - complaints - proactive
    recovered = complaints + proactive
    share_sat = np.linspace(0.2, 0.7, n_pol)[None, :, None, None]
    satisfied = share_sat * recovered
    dissatisfied = recovered - satisfied
    paradox = 0.1 * satisfied
    compensation = 2.0 * complaints + np.arange(n_pol)[None, :, None, None] * 5.0 * flow
    handling = 8.0 * complaints
    gestures = np.arange(n_pol)[None, :, None, None] * 1.5 * complaints
    recovery = compensation + handling + gestures
    programme = (0.01 * np.arange(n_pol)[None, :, None, None] * active if version == "1.1" else 0.0 * active) * flow
    acquired = 12.0 * flow * np.ones(shape)
    acquisition = 2.0 * acquired if version == "1.1" else 0.0 * acquired
    # The margin carries the effect and the noise, and pays back each policy's extra costs, so the paired
    # difference of net value in month t is exactly (effect + noise difference) · discount.
    costs = recovery + programme + acquisition
    base_revenue = 50.0 * active[:, :1] * flow
    margin = (0.3 * base_revenue + pol_effect + noise[..., None] + (costs - costs[:, :1])) * flow
    if upfront is not None:  # an up-front compensation the margin does not pay back: it delays the payback
        up = np.asarray(upfront, dtype=float)[None, :, None, None] * ((t >= 1) & (t <= upfront_months))
        compensation = compensation + up
        recovery = recovery + up
    net_value = (margin - recovery - programme - acquisition) * disc
    metrics = {
        "active": (active, "stock"), "acquired": (acquired, "flow"), "acquired_referred": (4.0 * acquired / 12.0, "flow"),
        "churned": (10.0 * flow * np.ones(shape), "flow"), "failures": (failures, "flow"),
        "complaints": (complaints, "flow"), "silent_failures": (silent, "flow"),
        "recoveries_satisfied": (satisfied, "flow"), "recoveries_dissatisfied": (dissatisfied, "flow"),
        "paradox_events": (paradox, "flow"), "revenue": (revenue, "flow"), "margin": (margin, "flow"),
        "compensation_paid": (compensation, "flow"), "handling_cost": (handling, "flow"),
        "recovery_cost": (recovery, "flow"), "wom_positive": (2.0 * satisfied, "flow"),
        "wom_negative": (3.0 * dissatisfied + silent, "flow"), "mean_satisfaction": (0.7 + 0 * active, "stock"),
        "cohort_active": (cohort, "stock"), "quality": (1.0 + 0 * active, "stock"),
        "root_cause_fixes": (0 * active, "flow"), "discounted_margin": (margin * disc, "flow"),
        "net_value": (net_value, "flow"),
    }  # fmt: skip
    if version == "1.1":
        metrics.update(proactive_recoveries=(proactive, "flow"), programme_cost=(programme, "flow"),
                       acquisition_cost=(acquisition, "flow"))  # fmt: skip
    dims = ("point", "policy", "replication", "month")
    data = {name: (dims, np.asarray(v, dtype=float), {"units": "x", "long_name": name, "metric_kind": kind})
            for name, (v, kind) in metrics.items()}  # fmt: skip
    fdims = ("point", "policy", "replication", "fact_class", "severity_band")
    count = rng.integers(50, 200, size=(points, n_pol, reps, len(CLASSES), len(BANDS)))
    count[..., 0, 1] = count[..., 0, 0]  # the reference has no severity: both bands the same
    ratio = np.array([0.9, 0.8, 0.75, 0.85, 0.95])[None, None, None, :, None] * np.array([1.0, 0.8])
    ratio[..., 0, 1] = ratio[..., 0, 0]
    retained = np.floor(count * ratio).astype(np.int64)
    data["fact_count"] = (fdims, count.astype(np.int64), {"long_name": "first failures"})
    data["fact_retained"] = (fdims, retained, {"long_name": "retained 12 months later"})
    if version == "1.1":
        qdims = ("point", "policy", "replication", "satisfaction_quintile")
        qcount = np.full((points, n_pol, reps, 5), 200, dtype=np.int64)
        qret = np.floor(qcount * np.array([0.43, 0.5, 0.6, 0.68, 0.74])).astype(np.int64)
        data["quintile_count"] = (qdims, qcount, {"long_name": "initial customers by quintile"})
        data["quintile_retained"] = (qdims, qret, {"long_name": "active at the end of month 12"})
    coords = {
        "point": ("point", np.arange(points, dtype=np.int64)),
        "policy": ("policy", np.array(list(policies), dtype=object)),
        "replication": ("replication", np.arange(reps, dtype=np.int32)),
        "month": ("month", np.arange(m1, dtype=np.int32)),
        "fact_class": ("fact_class", np.array(CLASSES, dtype=object)),
        "severity_band": ("severity_band", np.array(BANDS, dtype=object)),
    }
    if version == "1.1":
        coords["satisfaction_quintile"] = ("satisfaction_quintile", np.arange(1, 6, dtype=np.int32))
        names = ["model.gain", "model.discount_rate_annual"]
        values = np.column_stack([np.asarray(sweep["model.gain"], dtype=float) if sweep and "model.gain" in sweep
                                  else np.full(points, 0.6), np.full(points, RATE)])  # fmt: skip
        coords["parameter"] = ("parameter", np.array(names, dtype=object))
        data["parameter_value"] = (("point", "parameter"), values, {"long_name": "resolved parameter values"})
    for name, values in (sweep or {}).items():
        values = np.asarray(values)
        if values.dtype.kind in "fiu":
            coords[name] = (("point",), values.astype(float), {"long_name": name, "sweep_kind": "range"})
        else:
            choices = list(dict.fromkeys(str(v) for v in values))
            coords[name] = (("point",), np.array([str(v) for v in values], dtype=object),
                            {"long_name": name, "sweep_kind": "choices", "sweep_choices": "\n".join(choices)})  # fmt: skip
    policy_toml = "".join(f'\n[[policies]]\nname = "{p}"\ncompensation = {0.1 * i:.1f}\n' for i, p in enumerate(policies))
    attrs = {
        "format": "loyalsim-results",
        "format_version": version,
        "model": "SRP-1",
        "engine_version": "0.1.0",
        "git_commit": "synthetic",
        "experiment_name": "synthetic-report",
        "experiment_description": "synthetic results with a known answer",
        "experiment_toml": TOML.format(reps=reps, months=months, policies=policy_toml),
        "experiment_sha256": "0" * 64,
        "seed": np.uint64(1),
        "replications": np.int64(reps),
        "horizon_months": np.int64(months),
        "customers": np.int64(CUSTOMERS),
        "prospects": np.int64(CUSTOMERS),
        "baseline_policy": policies[0],
        "created_utc": "2026-01-01T00:00:00Z",
        "sweep_design": design or ("none" if sweep is None else "lhs"),
        "sweep_parameters": "\n".join(sweep or {}),
        "sweep_base_points": np.int64(points),
        "points_total": np.int64(points),
        "points_done": np.int64(points),
        "complete": np.int64(1),
        "threads": np.int64(1),
        "processes": np.int64(1),
        "wall_seconds": 1.0,
        "host": "test",
    }
    if version == "1.1":
        attrs.update(model_revision="1.1", measures=json.dumps(MEASURES_1_1), warmup_months=np.int64(0),
                     represents=float(represents if represents is not None else CUSTOMERS))  # fmt: skip
        if preset:
            attrs.update(preset=preset, preset_toml="[model]\ngain = 0.6\n")
        if design == "posterior":
            attrs.update(source_calibration="results/calibration.h5", source_calibration_sha256="1" * 64)
    ds = xr.Dataset({k: v for k, v in data.items() if k not in drop}, coords=coords, attrs=attrs)
    ds.to_netcdf(path, engine="h5netcdf")
    return path
