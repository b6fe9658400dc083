"""Stylised-fact cohorts: loyalty index by complaint class × severity band, beside the targets.

The engine counts, per replication, the customers whose FIRST failure fell
in months 1 … T−12, by class (silent, unresolved, resolved, resolved_quick)
and severity band (minor, major), and how many of them were still active 12
months later; the reference group is the initial customers without a failure
in months 1–12 (active at the end of month 12). The loyalty index of a cohort
is its 12-month retention divided by the reference's, per replication; the
table reports its mean and 95% Student-t interval over replications.

A replication in which the cohort or the reference is empty (or no reference
customer was retained) has no index: it is left out of that cell, counted in
the ``skipped`` column, and a warning says so. The band ``all`` pools minor
and major (the reference has no severity: it appears once, with band ``all``).

The facts and targets (T4, T5, T6, T10) are described in docs/facts.md, the
cohorts themselves in docs/model.md (section 10).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import xarray as xr

from ._stats import mean_ci, resolve_policies, select_point

CLASSES = ("silent", "unresolved", "resolved", "resolved_quick")
BANDS = ("minor", "major", "all")

#: F12 (TARP) repurchase rates: no complaint (= silent) / unresolved / resolved / resolved quickly.
TARP_REPURCHASE = {
    (cls, band): rate
    for band, rates in (("minor", (0.37, 0.46, 0.70, 0.95)), ("major", (0.09, 0.19, 0.54, 0.82)))
    for cls, rate in zip(("silent", "unresolved", "resolved", "resolved_quick"), rates)
}

#: F20: one-year retention of the most satisfied fifth 0.74 vs the least 0.43, a ratio 1.72 ± 0.15
#: in F20's own market (a quarter of even the best customers lost a year).
F20_RATIO = (0.74 / 0.43, 0.15)
#: T10: the same as a ratio of churn hazards, log 0.43 / log 0.74 = 2.80 ± 0.3, which carries over
#: to markets whose base churn differs (docs/facts.md, T10).
T10_HAZARD_RATIO = (math.log(0.43) / math.log(0.74), 0.3)

#: Calibration targets on the loyalty index: (class, band) -> (text, low, high).
INDEX_TARGETS = {
    ("unresolved", "all"): ("T4: 0.88 ± 0.04", 0.84, 0.92),
    ("resolved", "all"): ("T5: ≤ 1.0 (evidence)", -np.inf, 1.0),
}


def _cohort_counts(d: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(count, retained) per (policy, class, band, replication) with the pooled band, and the reference's."""
    dims = ("policy", "fact_class", "severity_band", "replication")
    cnt = d["fact_count"].transpose(*dims).astype(float)
    ret = d["fact_retained"].transpose(*dims).astype(float)

    def by_band(a: xr.DataArray) -> np.ndarray:
        a = a.sel(fact_class=list(CLASSES))
        pooled = a.sum("severity_band").values[:, :, None, :]
        return np.concatenate([a.sel(severity_band=["minor", "major"]).values, pooled], axis=2)

    # The reference has no severity: both bands hold the same numbers.
    ref_count = cnt.sel(fact_class="reference", severity_band="minor").values
    ref_retained = ret.sel(fact_class="reference", severity_band="minor").values
    return by_band(cnt), by_band(ret), ref_count, ref_retained


def facts(ds: xr.Dataset, *, point: int | None = None, policy=None) -> pd.DataFrame:
    """The stylised-fact cohort table beside the targets of docs/facts.md.

    One row per (policy, fact_class, severity_band); ``policy`` selects one
    policy or a list (default: all); ``point`` is a sweep point's design index,
    as in :func:`loyalsim.policy_table` (needed when the file has several). Columns:

    - ``count``, ``retained``: totals over all replications;
    - ``retention``: mean 12-month retention of the cohort;
    - ``loyalty_index``, ``ci_low``, ``ci_high``: retention / reference
      retention, mean and 95% CI over replications;
    - ``replications``, ``skipped``: replications used / left out (empty cohort);
    - ``tarp_repurchase``: the F12 (TARP) repurchase rate for context;
    - ``target``, ``meets_target``: T4 (unresolved) and T5 (resolved), pooled bands.

    The T6 orderings compare rows; see :func:`fact_checks`.

    >>> loyalsim.facts(ds, policy="status_quo")                       # doctest: +SKIP
    """
    d = select_point(ds, point).sel(policy=resolve_policies(ds, policy))
    count, retained, ref_count, ref_retained = _cohort_counts(d)
    ref_ok = (ref_count > 0) & (ref_retained > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ref_rate = np.where(ref_ok, ref_retained / ref_count, np.nan)  # (policy, replication)
        rate = np.where(count > 0, retained / count, np.nan)
        index = rate / ref_rate[:, None, None, :]
    rows = []
    n_rep = d.sizes["replication"]
    for i, pol in enumerate(str(p) for p in d["policy"].values):
        ref_mean, _, _, ref_n = mean_ci(ref_rate[i], skipna=True)
        rows.append(dict(policy=pol, fact_class="reference", severity_band="all",
                         count=int(ref_count[i].sum()), retained=int(ref_retained[i].sum()),
                         retention=float(ref_mean), loyalty_index=1.0 if ref_n else np.nan,
                         ci_low=1.0 if ref_n else np.nan, ci_high=1.0 if ref_n else np.nan,
                         replications=int(ref_n), skipped=int(n_rep - ref_n)))  # fmt: skip
        idx_mean, idx_lo, idx_hi, idx_n = mean_ci(index[i], skipna=True)  # (class, band)
        ret_mean, _, _, _ = mean_ci(np.where(np.isnan(index[i]), np.nan, rate[i]), skipna=True)
        for c, cls in enumerate(CLASSES):
            for b, band in enumerate(BANDS):
                rows.append(dict(policy=pol, fact_class=cls, severity_band=band,
                                 count=int(count[i, c, b].sum()), retained=int(retained[i, c, b].sum()),
                                 retention=float(ret_mean[c, b]), loyalty_index=float(idx_mean[c, b]),
                                 ci_low=float(idx_lo[c, b]), ci_high=float(idx_hi[c, b]),
                                 replications=int(idx_n[c, b]), skipped=int(n_rep - idx_n[c, b])))  # fmt: skip
    table = pd.DataFrame(rows).set_index(["policy", "fact_class", "severity_band"])
    keys = [(c, b) for _, c, b in table.index]
    table["tarp_repurchase"] = [TARP_REPURCHASE.get(k, np.nan) for k in keys]
    table["target"] = [INDEX_TARGETS[k][0] if k in INDEX_TARGETS else "" for k in keys]
    meets = [_within(v, *INDEX_TARGETS[k][1:]) if k in INDEX_TARGETS else pd.NA
             for k, v in zip(keys, table["loyalty_index"])]  # fmt: skip
    table["meets_target"] = pd.array(meets, dtype="boolean")
    _warn_skipped(table, ds)
    return table


def fact_checks(ds: xr.Dataset, *, point: int | None = None, policy=None) -> pd.DataFrame:
    """T4, T5, the T6 orderings and T10 of docs/facts.md, one row per (policy, check), on mean loyalty indexes.

    ``value`` is the index (T4, T5) or the difference of the two indexes the
    ordering compares (T6: ``passed`` when it is ≥ 0 or > 0 as stated).
    ``passed`` is NA when a cohort has no data.

    >>> loyalsim.fact_checks(ds)                                       # doctest: +SKIP
    """
    table = facts(ds, point=point, policy=policy)
    rows = []
    for pol in table.index.unique("policy"):
        idx = {(c, b): v for (p, c, b), v in table["loyalty_index"].items() if p == pol}
        for (cls, band), (text, lo, hi) in INDEX_TARGETS.items():
            v = idx[(cls, band)]
            rows.append((pol, text.split(":")[0], f"{cls} loyalty index {text.split(': ')[1]}", v, _within(v, lo, hi)))
        orderings = [("resolved_quick", "all", "resolved", "all", "≥"), ("resolved", "all", "unresolved", "all", ">")]
        orderings += [(c, "minor", c, "major", ">") for c in CLASSES]
        for c1, b1, c2, b2, op in orderings:
            v = idx[(c1, b1)] - idx[(c2, b2)]
            claim = f"{c1} {op} {c2}" if b1 == b2 else f"{c1}: {b1} {op} {b2}"
            ok = pd.NA if np.isnan(v) else bool(v >= 0 if op == "≥" else v > 0)
            rows.append((pol, "T6", claim, v, ok))
    if "quintile_count" in ds and int(ds.sizes["month"]) - 1 >= 12:
        q = quintile_retention(ds, point=point, policy=policy)
        for pol in table.index.unique("policy"):
            row = q.loc[(pol, "hazard bottom/top")]
            rows.append((pol, "T10", f"bottom / top satisfaction quintile churn hazard {row['target'].split(': ')[1]}",
                         row["retention"], row["meets_target"]))
    checks = pd.DataFrame(rows, columns=["policy", "target", "claim", "value", "passed"])
    checks["passed"] = checks["passed"].astype("boolean")
    return checks


def quintile_retention(ds: xr.Dataset, *, point: int | None = None, policy=None) -> pd.DataFrame:
    """12-month retention of the initial customers by quintile of their satisfaction at month 0 (T10).

    One row per (policy, quintile), quintile 1 the least satisfied fifth and 5
    the most; a row ``top/bottom`` per policy with the ratio of quintile 5's
    retention to quintile 1's (F20 reports 0.74 / 0.43 = 1.72 in a market with
    far more churn); and a row ``hazard bottom/top`` with the ratio of their
    churn hazards, log(retention 1) / log(retention 5), beside target T10 of
    docs/facts.md (2.80 ± 0.3). Ratios per replication, then mean and 95% CI.
    Columns: ``count``, ``retained`` (totals), ``retention`` (the ratio on the
    two ratio rows), ``ci_low``, ``ci_high``, ``target``, ``meets_target``. Needs a results file of format 1.1 with a horizon of at
    least 12 months.

    >>> loyalsim.quintile_retention(ds, policy="status_quo")        # doctest: +SKIP
    """
    if "quintile_count" not in ds:
        raise ValueError("this results file has no quintile_count (format 1.0): rerun it with this engine")
    if int(ds.sizes["month"]) - 1 < 12:
        raise ValueError("quintile retention needs a horizon of at least 12 months")
    d = select_point(ds, point).sel(policy=resolve_policies(ds, policy))
    dims = ("policy", "satisfaction_quintile", "replication")
    count = d["quintile_count"].transpose(*dims).values.astype(float)
    retained = d["quintile_retained"].transpose(*dims).values.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(count > 0, retained / count, np.nan)
        ratio = rate[:, -1, :] / rate[:, 0, :]
        hazard = np.log(rate[:, 0, :]) / np.log(rate[:, -1, :])
    target, sd = T10_HAZARD_RATIO
    rows = []
    for i, pol in enumerate(str(p) for p in d["policy"].values):
        mean, lo, hi, _ = mean_ci(rate[i], skipna=True)
        for q, quintile in enumerate(int(v) for v in d["satisfaction_quintile"].values):
            rows.append(dict(policy=pol, quintile=str(quintile), count=int(count[i, q].sum()),
                             retained=int(retained[i, q].sum()), retention=float(mean[q]),
                             ci_low=float(lo[q]), ci_high=float(hi[q]), target="", meets_target=pd.NA))  # fmt: skip
        r_mean, r_lo, r_hi, _ = mean_ci(ratio[i], skipna=True)
        rows.append(dict(policy=pol, quintile="top/bottom", count=int(count[i].sum()), retained=int(retained[i].sum()),
                         retention=float(r_mean), ci_low=float(r_lo), ci_high=float(r_hi),
                         target=f"F20: {F20_RATIO[0]:.2f} in its market", meets_target=pd.NA))  # fmt: skip
        h_mean, h_lo, h_hi, _ = mean_ci(np.where(np.isfinite(hazard[i]), hazard[i], np.nan), skipna=True)
        rows.append(dict(policy=pol, quintile="hazard bottom/top", count=int(count[i].sum()),
                         retained=int(retained[i].sum()), retention=float(h_mean), ci_low=float(h_lo),
                         ci_high=float(h_hi), target=f"T10: {target:.2f} ± {sd:.1f}",
                         meets_target=_within(float(h_mean), target - sd, target + sd)))  # fmt: skip
    table = pd.DataFrame(rows).set_index(["policy", "quintile"])
    table["meets_target"] = table["meets_target"].astype("boolean")
    return table


def _within(v: float, lo: float, hi: float):
    return pd.NA if np.isnan(v) else bool(lo <= v <= hi)


def _warn_skipped(table: pd.DataFrame, ds: xr.Dataset) -> None:
    partial = int(((table["skipped"] > 0) & (table["replications"] > 0)).sum())
    empty = int((table["replications"] == 0).sum())
    if not (partial or empty):
        return
    msg = f"loyalsim.facts: {partial} cohort cell(s) left out replications with an empty cohort"
    if empty:
        msg += f", {empty} cell(s) have no data in any replication"
    msg += " (see the 'skipped' column)."
    if int(ds.sizes["month"]) - 1 <= 12:
        msg += " Cohorts need a horizon over 12 months."
    warnings.warn(msg, stacklevel=3)
