#!/usr/bin/env python3
"""Sensitivity screen of the evidence targets (FACTS.md T1-T10) over the
candidate parameters of experiments/calibration/screen.toml.

For every point of the sweep it computes each target's quantity the way
`loyalsim calibrate` does (docs/calibration.md, "Quantities"), then regresses
each quantity on the standardised parameters: the standardised regression
coefficient (SRC) says how many standard deviations of the quantity one
standard deviation of the parameter moves, R^2 how much of the quantity's
variation is linear in the parameters. A parameter that moves no target by
|SRC| >= 0.1 is left at its default in evidence.toml.

    /usr/bin/python3 experiments/calibration/screen.py results/calibration-screen.h5 [--markdown]
"""
import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))
import loyalsim  # noqa: E402


def quantities(ds):
    """(target name -> values per point), months 1..T, replication 0."""
    d = ds.isel(replication=0)
    flows = lambda name, policy: d[name].sel(policy=policy).isel(month=slice(1, None)).sum("month").values  # noqa: E731

    def satisfied(policy):
        s, u = flows("recoveries_satisfied", policy), flows("recoveries_dissatisfied", policy)
        return s / (s + u)

    def index(cls, policy="status_quo"):
        c = d["fact_count"].sel(policy=policy)
        r = d["fact_retained"].sel(policy=policy)
        own = r.sel(fact_class=cls).sum("severity_band") / c.sel(fact_class=cls).sum("severity_band")
        ref = r.sel(fact_class="reference", severity_band="minor") / c.sel(fact_class="reference", severity_band="minor")
        return (own / ref).values

    sq = "status_quo"
    bands = d["band_complaints"].sel(policy=sq) / d["band_failures"].sel(policy=sq)
    qc, qr = d["quintile_count"].sel(policy=sq), d["quintile_retained"].sel(policy=sq)
    rate = qr / qc
    churned = d["churned"].sel(policy=sq).isel(month=slice(1, None)).values
    active = d["active"].sel(policy=sq).isel(month=slice(0, -1)).values
    slope, ref = ds["model.spend_slope"].values, 0.7
    return {
        "T1 money-only satisfied": satisfied("money_only"),
        "T2 money+apology+empathy satisfied": satisfied("money_apology_empathy"),
        "T3 status-quo satisfied": satisfied(sq),
        "T4 unresolved loyalty index": index("unresolved"),
        "T5 resolved loyalty index": index("resolved"),
        "T7 complaint rate, minor": bands.sel(severity_band="minor").values,
        "T7 complaint rate, major": bands.sel(severity_band="major").values,
        "T8 paradox share": flows("paradox_events", sq) / (flows("complaints", sq) + flows("proactive_recoveries", sq)),
        "T9 spend ratio": np.maximum(0.05, 1 + slope * (1 - ref)) / np.maximum(0.05, 1 - slope * ref),
        "T10 top/bottom retention": (rate.sel(satisfaction_quintile=5) / rate.sel(satisfaction_quintile=1)).values,
        "F22 monthly churn": (churned / active).mean(axis=-1),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("--threshold", type=float, default=0.1)
    args = ap.parse_args()
    with loyalsim.open(args.results) as ds:
        params = [p for p in ds.attrs["sweep_parameters"].splitlines() if p]
        X = np.column_stack([ds[p].values for p in params])
        Q = quantities(ds)
    Xs = (X - X.mean(0)) / X.std(0)
    print(f"{len(X)} points, {len(params)} parameters; |SRC| >= {args.threshold} shown\n")
    moved = set()
    for name, y in Q.items():
        ok = np.isfinite(y)
        ys = (y[ok] - y[ok].mean()) / y[ok].std() if y[ok].std() > 0 else y[ok] * 0
        coef, *_ = np.linalg.lstsq(np.column_stack([np.ones(ok.sum()), Xs[ok]]), ys, rcond=None)
        src = coef[1:]
        r2 = 1 - np.sum((ys - np.column_stack([np.ones(ok.sum()), Xs[ok]]) @ coef) ** 2) / max(np.sum(ys**2), 1e-300)
        big = sorted([(abs(c), c, p) for c, p in zip(src, params) if abs(c) >= args.threshold], reverse=True)
        moved |= {p for _, _, p in big}
        spread = f"range {np.nanmin(y):.3g} .. {np.nanmax(y):.3g}"
        print(f"{name}: R^2 {r2:.2f}, {spread}")
        for _, c, p in big:
            print(f"    {c:+.2f}  {p}")
    print("\nmove a target:", ", ".join(p for p in params if p in moved))
    print("move none:    ", ", ".join(p for p in params if p not in moved) or "-")


if __name__ == "__main__":
    main()
