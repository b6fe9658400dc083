"""The report's sections: each turns the context into plain data (numbers and words), or says why it cannot.

A section builder takes a :class:`~loyalsim.report.context.Context` and
returns a dict of JSON-able data, or raises :class:`Unavailable` with the
reason. Rendering (charts, HTML) happens later, from that data only, so every
number shown can be tested without a browser. Money and counts are at the
firm's scale (``represents / customers``); statistics are over replications
for one run, over points across a sweep (see :mod:`.context`).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .._format import format_count, format_interval, format_number
from .._stats import mean_ci, sweep_parameters
from ..decision import STATES, payback, verdicts, wilson
from ..facts import fact_checks, facts
from ..measures import Measure, horizon_value
from ..robustness import robustness, winner_by_parameter
from .context import Context, Unavailable, stat

GLYPHS = {"better": "✓", "worse": "✗", "not distinguishable": "≈"}
MIN_REPLICATIONS = 10


def _f(x) -> float:
    return float(np.asarray(x))


def _money(x, half=math.nan, sign=False) -> str:
    return format_number(x, half, kind="money", sign=sign)


def _half(entry: dict, prefix: str = "") -> float:
    return (entry[f"{prefix}ci_high"] - entry[f"{prefix}ci_low"]) / 2


def _interval_text(entry: dict, prefix: str = "", kind: str = "money", sign: bool = True) -> str:
    return format_interval(entry[f"{prefix}ci_low"], entry[f"{prefix}ci_high"], _half(entry, prefix),
                           entry[f"{prefix}mean"], kind=kind, sign=sign)  # fmt: skip


def _net_value(ctx: Context) -> Measure:
    m = ctx.measure("net_value")
    if m is None:
        raise Unavailable("the file's measures have no net_value")
    return m


# ---------------------------------------------------------------- 1. decision


def _scope_arguments(ctx: Context) -> dict:
    """How loyalsim.verdicts / loyalsim.payback are told the report's scope: all points, or one."""
    return {"across_points": True} if ctx.across_points else {"point": ctx.point if ctx.is_sweep else None}


def _verdict_table(ctx: Context):
    if "verdicts" not in ctx.cache:
        ctx.cache["verdicts"] = verdicts(ctx.ds, month=ctx.month, **_scope_arguments(ctx))
    return ctx.cache["verdicts"]


def _payback_table(ctx: Context):
    if "payback" not in ctx.cache:
        ctx.cache["payback"] = payback(ctx.ds, **_scope_arguments(ctx))
    return ctx.cache["payback"]


def _comparison(ctx: Context, what: str) -> None:
    """Unavailable unless the file has a policy besides the baseline (``what`` says what would be missing)."""
    if len(ctx.policies) < 2:
        raise Unavailable(f"the file has one policy: there is {what}")


def decision(ctx: Context) -> dict:
    """The recommendation, its value against the baseline, how sure, and when it pays back."""
    _net_value(ctx)
    _comparison(ctx, "nothing to compare it with")
    table = _verdict_table(ctx)
    factor = ctx.factor(ctx.measure("net_value"))
    months = _payback_table(ctx).attrs["payback_month"]
    nv = ctx.values("net_value")
    spread = ctx.summary(nv - nv[:, :1])
    rows = []
    for i, (name, r) in enumerate(table.iterrows(), start=1):
        diff = {"diff_mean": r.diff_mean * factor, "diff_ci_low": r.diff_ci_low * factor,
                "diff_ci_high": r.diff_ci_high * factor}  # fmt: skip
        rows.append({
            "policy": name, "state": r.state, "glyph": GLYPHS[r.state], **diff,
            "per_customer": diff["diff_mean"] / ctx.customers if ctx.customers > 0 else math.nan,
            "p_beats_baseline": float(r.p_beats_baseline), "p_ci_low": float(r.p_ci_low),
            "p_ci_high": float(r.p_ci_high), "wins": float(r.wins), "runs": int(r.runs),
            "replications_needed": _needed(r.replications_needed), "payback_month": months.get(name),
            "band_low": _f(spread["band_low"][i]), "band_high": _f(spread["band_high"][i]),
        })  # fmt: skip
    attrs = table.attrs
    data = {
        "metric": "net_value", "month": ctx.month, "baseline": ctx.baseline, "replications": ctx.replications,
        "points": ctx.points, "across_points": ctx.across_points, "posterior": ctx.posterior,
        "unit": ctx.unit_name, "interval": ctx.interval_name, "policies": rows,
        "recommended": attrs["recommended"], "keep_baseline": attrs["recommended"] == ctx.baseline,
        "could_be_best": list(attrs["could_be_best"]),
        "top_two": None if attrs["top_two"] is None else {k: (v * factor if k != "policy" else v)
                                                          for k, v in attrs["top_two"].items()},
    }  # fmt: skip
    data["sentence"] = _sentence(ctx, data)
    data["alerts"] = _alerts(ctx, data)
    return data


def _needed(n) -> float | None:
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return None
    return float(n)


def _sentence(ctx: Context, data: dict) -> str:
    """The decision in one sentence (two or three, for the numbers that back it)."""
    rows = {r["policy"]: r for r in data["policies"]}
    base, h = data["baseline"], data["month"]
    over = f"over {h} months" if h != 1 else "over 1 month"
    if not data["keep_baseline"]:
        r = rows[data["recommended"]]
        text = (f"Adopt {r['policy']}: it adds {_money(r['diff_mean'], _half(r, 'diff_'), sign=True)} discounted net "
                f"value {over} against {base} ({data['interval']} {_interval_text(r, 'diff_')}")
        if math.isfinite(r["per_customer"]):
            text += f"; {_money(r['per_customer'], _half(r, 'diff_') / ctx.customers, sign=True)} per customer"
        text += "). " + _beats_text(ctx, r, base) + " " + _payback_text(r, h)
        if len(data["could_be_best"]) > 1:
            others = ", ".join(p for p in data["could_be_best"][1:])
            text += f" {others} could be as good: the difference to it is not distinguishable from zero."
        return text
    alternatives = [r for r in data["policies"]]
    best = max(alternatives, key=lambda r: r["diff_mean"] if math.isfinite(r["diff_mean"]) else -math.inf)
    if all(r["state"] == "worse" for r in alternatives):
        return (f"Keep {base}: every alternative loses discounted net value {over}; the least bad, {best['policy']}, "
                f"changes it by {_money(best['diff_mean'], _half(best, 'diff_'), sign=True)} "
                f"({data['interval']} {_interval_text(best, 'diff_')}).")
    text = (f"Keep {base}: no policy adds discounted net value {over} that {_runs_words(ctx)} can distinguish from "
            f"zero; the best-looking, {best['policy']}, changes it by "
            f"{_money(best['diff_mean'], _half(best, 'diff_'), sign=True)} ({data['interval']} "
            f"{_interval_text(best, 'diff_')}).")
    if best["replications_needed"] is not None and math.isfinite(best["replications_needed"]):
        text += (f" About {format_count(best['replications_needed'])} replications would resolve a difference of "
                 f"this size.")
    return text


def _runs_words(ctx: Context) -> str:
    if ctx.across_points:
        return f"the {ctx.points} {ctx.unit_name}"
    return f"{ctx.replications} replication{'s' if ctx.replications != 1 else ''}"


def _beats_text(ctx: Context, r: dict, base: str) -> str:
    low, high = r["p_ci_low"], r["p_ci_high"]
    what = "paired replications" if not ctx.across_points else ctx.unit_name
    wins = r["wins"]
    wins_text = format_count(wins) if float(wins).is_integer() else f"{wins:.1f}"
    return (f"It beats {base} in {wins_text} of {r['runs']} {what} (P(beats {base}) "
            f"{r['p_beats_baseline']:.0%}, 95% Wilson interval {low:.0%} to {high:.0%}).")


def _payback_text(r: dict, h: int) -> str:
    if r["payback_month"] is None:
        return f"It does not pay back within {h} months (the cumulative gain's interval does not stay above zero)."
    return f"It pays back in month {r['payback_month']}."


def _alerts(ctx: Context, data: dict) -> list[dict]:
    alerts = []
    rows = data["policies"]
    if int(ctx.ds.attrs.get("complete", 1)) == 0:
        alerts.append(_alert("partial", "This file is a snapshot of a sweep still running (or stopped): it holds "
                             "only the points finished so far."))  # fmt: skip
    if not ctx.across_points and ctx.replications < 2:
        alerts.append(_alert("replications", "One replication: no interval can be computed, so no policy can be "
                             "called better or worse. Run at least 10."))  # fmt: skip
    elif not ctx.across_points and ctx.replications < MIN_REPLICATIONS:
        alerts.append(_alert("replications", f"Only {ctx.replications} replications: the intervals rest on few runs "
                             f"and on the t distribution's assumption of normality. {MIN_REPLICATIONS} or more are "
                             f"advised for a decision."))  # fmt: skip
    for r in rows:
        if r["diff_ci_low"] == 0 and r["diff_ci_high"] == 0 and r["diff_mean"] == 0:
            alerts.append(_alert("identical", f"{r['policy']} gives exactly the same net value as {data['baseline']} "
                                 f"in every {'point' if ctx.across_points else 'replication'}: in this respect it is "
                                 f"the same policy."))  # fmt: skip
        elif r["state"] == "not distinguishable" and math.isfinite(r["diff_mean"]):
            text = (f"{r['policy']}: the interval of its difference to {data['baseline']} straddles zero "
                    f"({_interval_text(r, 'diff_')}).")
            if r["replications_needed"] is not None and math.isfinite(r["replications_needed"]):
                text += f" About {format_count(r['replications_needed'])} replications would resolve it."
            elif ctx.across_points:
                text += " The sign of the difference depends on where in the parameters' range the truth lies."
            alerts.append(_alert("straddles", text))
    if len(data["could_be_best"]) > 1:
        alerts.append(_alert("could_be_best", f"{' and '.join(data['could_be_best'])} could each be best: the paired "
                             f"difference between the top two is not distinguishable from zero."))  # fmt: skip
    missed = [c for c in credibility_checks(ctx) if c["status"] == "missed"]
    if missed:
        names = ", ".join(dict.fromkeys(c["target"] for c in missed))
        alerts.append(_alert("facts", f"{len(missed)} fact or calibration check(s) missed ({names}): the model does "
                             f"not reproduce everything known; see Credibility."))  # fmt: skip
    if ctx.is_sweep and len(ctx.policies) > 1:
        changes = winner_changes(ctx)
        if changes:
            alerts.append(_alert("sweep", f"The best policy changes with {', '.join(changes)}; see Robustness."))
    return alerts


def _alert(kind: str, text: str) -> dict:
    return {"kind": kind, "text": text}


# ---------------------------------------------------------------- 2. scorecard


def _p_beats(values: np.ndarray, better: str, across_points: bool) -> np.ndarray:
    """Share of runs (replications, or points by their means) in which each policy beats the baseline."""
    v = values.mean(axis=-1) if across_points else values[0].T  # (unit, policy)
    base = v[:, :1]
    wins = (v < base) if better == "lower" else (v > base)
    score = np.where(np.isnan(v) | np.isnan(base), np.nan, wins + 0.5 * (v == base))
    return score.mean(axis=0)


SCORECARD_GROUPS = (("value", "Money", ("money",)), ("customers", "Customers and service", ("count", "share", "messages")))


def scorecard(ctx: Context) -> dict:
    """One row per policy, every measure with its interval, the paired difference and its verdict.

    Two tables, each one row per policy: money (with net value per customer
    beside the total), and customers and service.
    """
    columns, cells = [], {p: {} for p in ctx.policies}
    measures = list(ctx.measures)
    if ctx.measure("net_value") is not None and ctx.customers > 0:
        nv = ctx.measure("net_value")
        measures.insert(measures.index(nv) + 1, Measure("net_value_per_customer", "net value per customer",
                                                        "money", nv.form, nv.numerator, better=nv.better))  # fmt: skip
    for m in measures:
        if m.name == "net_value_per_customer":
            v = ctx.values("net_value") / ctx.customers
        else:
            v = ctx.values(m.name)
        s, d = ctx.summary(v), ctx.summary(v - v[:, :1])
        p_beats = _p_beats(v, m.better, ctx.across_points)
        columns.append({"name": m.name, "label": m.label, "kind": m.kind, "better": m.better})
        for i, p in enumerate(ctx.policies):
            cell = {**stat(s, i), **stat(d, i, "diff_"), "p_beats_baseline": _f(p_beats[i])}
            cell["state"] = None if (i == 0 or m.better == "none") else _state(cell, m.better)
            cells[p][m.name] = cell
    groups = [{"id": gid, "title": title, "columns": [c for c in columns if c["kind"] in kinds]}
              for gid, title, kinds in SCORECARD_GROUPS]  # fmt: skip
    return {"columns": columns, "groups": [g for g in groups if g["columns"]],
            "rows": [{"policy": p, "cells": cells[p]} for p in ctx.policies],
            "month": ctx.month, "interval": ctx.interval_name, "unit": ctx.unit_name, "runs": ctx.runs,
            "scale": ctx.factor(), "customers": ctx.customers}  # fmt: skip


def _state(cell: dict, better: str) -> str:
    from ..decision import state_of

    return state_of(cell["diff_ci_low"], cell["diff_ci_high"], better)


# ---------------------------------------------------------------- 3. payback


PAYBACK_TABLE_MONTHS = 4  # columns of the data table: evenly spread months, the horizon last


def payback_section(ctx: Context) -> dict:
    """Cumulative Δ net value by month: the mean, its interval (error), the runs' 10–90% band (risk)."""
    _net_value(ctx)
    _comparison(ctx, "no difference to accumulate")
    frame = _payback_table(ctx)
    factor = ctx.factor(ctx.measure("net_value"))
    months = [int(m) for m in frame.loc[ctx.policies[1]].index]
    shown = sorted(set(np.linspace(months[0], months[-1], PAYBACK_TABLE_MONTHS + 1).round().astype(int).tolist()[1:]))
    series = []
    for p in ctx.policies[1:]:
        rows = frame.loc[p] * factor
        series.append({"policy": p, "payback_month": frame.attrs["payback_month"][p],
                       **{c: [float(x) for x in rows[c]] for c in rows.columns}})  # fmt: skip
    return {"months": months, "table_months": shown, "series": series, "baseline": ctx.baseline,
            "interval": frame.attrs["interval"], "band": frame.attrs["band"], "month": ctx.month}  # fmt: skip


# ---------------------------------------------------------------- 4. cost and benefit


def _adhoc(name: str, kind: str, form: str, numerator) -> Measure:
    return Measure(name, name, kind, form, tuple(numerator))


def cost_benefit(ctx: Context) -> dict:
    """What the extra spend buys: Δ cost against Δ retained customers and Δ net value, the frontier."""
    _comparison(ctx, "nothing to compare it with")
    for name in ("recovery_cost", "cohort_active", "net_value"):
        ctx.raw(name)
    spend = ["recovery_cost"] + (["programme_cost"] if ctx.has("programme_cost") else [])
    money = ctx.factor(ctx.measure("net_value"))
    raw = {
        "cost": horizon_value(ctx.scope, _adhoc("cost", "money", "sum", spend), ctx.month),
        "retained": horizon_value(ctx.scope, _adhoc("retained", "count", "level", ["cohort_active"]), ctx.month),
        "net_value": horizon_value(ctx.scope, _adhoc("net_value", "money", "sum", ["net_value"]), ctx.month),
    }
    diffs, summaries = {}, {}
    for key, da in raw.items():
        v = da.transpose("point", "policy", "replication").values * money
        diffs[key] = v - v[:, :1]
        summaries[key] = ctx.summary(diffs[key])
    rows = []
    for i, p in enumerate(ctx.policies):
        row = {"policy": p}
        for key in raw:
            row[key] = stat(summaries[key], i, "diff_")
        dc, dr = row["cost"]["diff_mean"], row["retained"]["diff_mean"]
        row["cost_per_retained"] = dc / dr if i > 0 and dr > 0 else None
        row["saves_and_retains"] = bool(i > 0 and dr > 0 and dc < 0)
        row["cloud"] = _cloud(diffs, i, ctx.across_points)
        rows.append(row)
    status = frontier_status([r["cost"]["diff_mean"] for r in rows], [r["retained"]["diff_mean"] for r in rows])
    for r, s in zip(rows, status):
        r["status"] = s
    frontier = [r["policy"] for r in sorted(rows, key=lambda r: r["cost"]["diff_mean"]) if r["status"] in
                ("frontier", "baseline on the frontier")]  # fmt: skip
    incremental = _incremental(rows, frontier)
    return {"rows": rows, "frontier": frontier, "incremental": incremental, "spend": spend,
            "baseline": ctx.baseline, "month": ctx.month, "interval": ctx.interval_name, "unit": ctx.unit_name}  # fmt: skip


def _cloud(diffs: dict, i: int, across_points: bool) -> dict:
    """Each run's (Δ cost, Δ retained, Δ net value): replications of one point, or the points' means."""
    pick = (lambda a: a[:, i].mean(axis=-1)) if across_points else (lambda a: a[0, i])
    return {k: [float(x) for x in pick(v)] for k, v in diffs.items()}


def frontier_status(cost, benefit) -> list[str]:
    """Per option (the first is the baseline at 0, 0): frontier, dominated or extendedly dominated.

    Dominated: another option costs no more and gives at least as much, one of
    them strictly. Extendedly dominated: a mix of its two neighbours on the
    frontier would give more for the same cost (its incremental cost per unit
    of benefit exceeds the next option's).

    >>> frontier_status([0, 10, 5, 20], [0, 10, 1, 11])
    ['baseline on the frontier', 'frontier', 'extendedly dominated', 'frontier']
    >>> frontier_status([0, 5], [0, -1])
    ['baseline on the frontier', 'dominated']
    """
    n = len(cost)
    status = ["frontier"] * n
    for i in range(n):
        for j in range(n):
            if i != j and cost[j] <= cost[i] and benefit[j] >= benefit[i] and (cost[j] < cost[i] or benefit[j] > benefit[i]):
                status[i] = "dominated"
                break
    alive = sorted((i for i in range(n) if status[i] == "frontier"), key=lambda i: (cost[i], benefit[i]))
    changed = True
    while changed and len(alive) > 2:
        changed = False
        ratios = [(benefit[b] - benefit[a]) / (cost[b] - cost[a]) if cost[b] != cost[a] else math.inf
                  for a, b in zip(alive, alive[1:])]  # benefit per unit of cost: must fall along the frontier
        for k in range(len(ratios) - 1):
            if ratios[k] < ratios[k + 1]:
                status[alive[k + 1]] = "extendedly dominated"
                del alive[k + 1]
                changed = True
                break
    if status[0] == "frontier":
        status[0] = "baseline on the frontier"
    elif status[0] == "dominated":
        status[0] = "baseline (dominated)"
    else:
        status[0] = "baseline (extendedly dominated)"
    return status


def _incremental(rows: list[dict], frontier: list[str]) -> list[dict]:
    """Along the frontier, from the cheapest: the extra cost per extra retained customer of each step."""
    by_name = {r["policy"]: r for r in rows}
    steps = []
    for a, b in zip(frontier, frontier[1:]):
        dc = by_name[b]["cost"]["diff_mean"] - by_name[a]["cost"]["diff_mean"]
        dr = by_name[b]["retained"]["diff_mean"] - by_name[a]["retained"]["diff_mean"]
        steps.append({"from": a, "to": b, "cost": dc, "retained": dr, "per_retained": dc / dr if dr > 0 else None})
    return steps


# ---------------------------------------------------------------- 5. value bridge

BRIDGE = (  # (key, label, metric(s), sign): net value = margin − the costs, each discounted
    ("margin", "margin", "discounted_margin", +1),
    ("compensation", "compensation paid", "compensation_paid", -1),
    ("handling", "complaint handling", "handling_cost", -1),
    ("gestures", "gestures", None, -1),  # recovery_cost − compensation − handling
    ("programme", "programme cost", "programme_cost", -1),
    ("acquisition", "acquisition cost", "acquisition_cost", -1),
)
#: Below this share of the recovery cost, a gesture total is floating-point dust of recovery − compensation − handling.
DUST = 1e-9


def discount_factors(d) -> np.ndarray:
    """(point, month) discount factor of each month: Σ discounted_margin / Σ margin over policies and runs.

    The engine discounts every money flow of month t by the same factor; the
    margin's pair of variables gives it without knowing where the rate came
    from (experiment, preset or sweep). A month without margin anywhere takes
    (1 + rate)^(−t/12) with the experiment's rate (0.1 by default).
    """
    margin = d["margin"].transpose("point", "month", "policy", "replication").values
    disc = d["discounted_margin"].transpose("point", "month", "policy", "replication").values
    m_sum, d_sum = margin.sum(axis=(2, 3)), disc.sum(axis=(2, 3))
    months = d["month"].values.astype(float)
    rate = float(_model_setting(d, "discount_rate_annual", 0.1))
    fallback = np.broadcast_to((1.0 + rate) ** (-months / 12.0), m_sum.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(m_sum != 0, d_sum / m_sum, fallback)


def _model_setting(d, key: str, default):
    import tomllib

    text = d.attrs.get("experiment_toml", "")
    try:
        return tomllib.loads(str(text)).get("model", {}).get(key, default)
    except tomllib.TOMLDecodeError:
        return default


def bridge(ctx: Context) -> dict:
    """From the baseline's net value to each policy's: Δ margin minus each Δ cost, all discounted."""
    _comparison(ctx, "no difference to explain")
    needed = ["discounted_margin", "margin", "compensation_paid", "handling_cost", "recovery_cost", "net_value"]
    missing = [n for n in needed if not ctx.has(n)]
    if missing:
        raise Unavailable(f"the results file lacks {', '.join(missing)}")
    d = ctx.scope.sel(month=slice(0, ctx.month))
    factor = ctx.factor(ctx.measure("net_value"))
    disc = discount_factors(d)[:, None, None, :]  # (point, 1, 1, month)
    flows = lambda name: d[name].transpose("point", "policy", "replication", "month").values  # noqa: E731
    flow_month = (d["month"].values >= 1).astype(float)
    parts, absent = {}, []
    for key, _, metric, _ in BRIDGE:
        if key == "margin":
            x = flows("discounted_margin")
        elif key == "gestures":
            recovery = flows("recovery_cost")
            x = recovery - flows("compensation_paid") - flows("handling_cost")
            x = np.where(np.abs(x) <= DUST * np.abs(recovery), 0.0, x) * disc
        elif metric in d.data_vars:
            x = flows(metric) * disc
        else:
            absent.append(key)
            x = np.zeros_like(flows("net_value"))
        parts[key] = (x * flow_month).sum(axis=-1) * factor  # (point, policy, replication)
    nv = (flows("net_value") * flow_month).sum(axis=-1) * factor
    nv_s = ctx.summary(nv)
    rows = []
    for i, p in enumerate(ctx.policies[1:], start=1):
        steps = []
        for key, label, _, sign in BRIDGE:
            x = sign * (parts[key] - parts[key][:, :1])
            steps.append({"key": key, "label": label, "sign": sign, "absent": key in absent,
                          **stat(ctx.summary(x), i, "diff_")})  # fmt: skip
        total = stat(ctx.summary(nv - nv[:, :1]), i, "diff_")
        gap = total["diff_mean"] - sum(s["diff_mean"] for s in steps)
        rows.append({"policy": p, "steps": steps, "total": total, "residual": gap,
                     "baseline_value": _f(nv_s["mean"][0]), "policy_value": _f(nv_s["mean"][i])})  # fmt: skip
    return {"rows": rows, "baseline": ctx.baseline, "absent": absent, "month": ctx.month,
            "interval": ctx.interval_name}  # fmt: skip


# ---------------------------------------------------------------- 6. journey

JOURNEY = (
    ("failures", "service failures"),
    ("silent_failures", "silent (no complaint)"),
    ("complaints", "complaints"),
    ("proactive_recoveries", "found and recovered by the firm"),
    ("recoveries_satisfied", "satisfied recoveries"),
    ("recoveries_dissatisfied", "dissatisfied recoveries"),
    ("paradox_events", "paradox events"),
    ("wom_positive", "positive word of mouth"),
    ("wom_negative", "negative word of mouth"),
    ("churned", "customers who left"),
    ("acquired_referred", "customers won by referral"),
)


def journey(ctx: Context) -> dict:
    """What happens after a failure, per policy: the flows summed over months 1 … H."""
    required = ["failures", "silent_failures", "complaints", "recoveries_satisfied", "recoveries_dissatisfied",
                "paradox_events", "wom_positive", "wom_negative"]  # fmt: skip
    missing = [n for n in required if not ctx.has(n)]
    if missing:
        raise Unavailable(f"the results file lacks {', '.join(missing)}")
    factor = ctx.factor(ctx.measure("active"))
    present = [(k, label) for k, label in JOURNEY if ctx.has(k)]
    rows = []
    sums = {k: horizon_value(ctx.scope, _adhoc(k, "count", "sum", [k]), ctx.month)
            .transpose("point", "policy", "replication").values * factor for k, _ in present}  # fmt: skip
    for i, p in enumerate(ctx.policies):
        row = {"policy": p}
        for k, _ in present:
            row[k] = stat(ctx.summary(sums[k]), i)
        rows.append(row)
    return {"rows": rows, "flows": [{"key": k, "label": label} for k, label in present],
            "proactive": ctx.has("proactive_recoveries"), "month": ctx.month, "interval": ctx.interval_name}  # fmt: skip


# ---------------------------------------------------------------- 7. robustness

SENSITIVITY_BOOTSTRAP = 200
TOP_PARAMETERS = 5


def robustness_section(ctx: Context) -> dict:
    """Across the sweep's points: P(best), regret, verdicts per point, variance split, what moves the winner."""
    if not ctx.is_sweep:
        raise Unavailable("no sweep: this file holds one point. Robustness needs a sweep (a [sweep] table in the "
                          "experiment), so that the answer can be tested across parameter values")  # fmt: skip
    _comparison(ctx, "nothing to compare it with")
    ds = ctx.ds
    table = robustness(ds, month=ctx.month)
    money = ctx.factor(ctx.measure("net_value"))
    per_point = _per_point_verdicts(ds, ctx)
    rows = []
    for p, r in table.iterrows():
        row = {"policy": p, **{c: _f(r[c]) for c in ("p_best", "p_best_noise", "satisficing", "noise_share")}}
        for c in ("regret_mean", "regret_mean_noise", "regret_p90", "regret_max"):
            row[c] = _f(r[c]) * money
        for c in ("contrast_variance", "monte_carlo_variance", "parameter_variance"):
            row[c] = _f(r[c]) * money**2
        row.update(per_point.get(p, {}))
        rows.append(row)
    by_param = _winners(ctx)
    changes = winner_changes(ctx)
    return {"rows": rows, "winner": table.attrs["winner"], "points": int(table.attrs["points"]),
            "replications": int(table.attrs["replications"]), "by_parameter": by_param, "changes": changes,
            "design": str(ds.attrs.get("sweep_design", "")), "posterior": ctx.posterior,
            "parameters": sweep_parameters(ds), "sensitivity": _sensitivity(ds, ctx), "month": ctx.month}  # fmt: skip


def _winners(ctx: Context) -> list[dict]:
    if "winners" not in ctx.cache:
        table = winner_by_parameter(ctx.ds, month=ctx.month)
        ctx.cache["winners"] = [
            {"parameter": param, "part": part, "points": int(w.points), "winner": w.winner,
             "p_best_winner": float(w.p_best_winner), "changes_winner": bool(w.changes_winner)}
            for (param, part), w in table.iterrows()
        ]
    return ctx.cache["winners"]


def winner_changes(ctx: Context) -> list[str]:
    """The swept parameters whose lower and upper halves (or choices) have different winners."""
    return list(dict.fromkeys(b["parameter"] for b in _winners(ctx) if b["changes_winner"]))


def _per_point_verdicts(ds, ctx: Context) -> dict:
    """Per policy: at how many points its paired 95% CI says better, worse or not distinguishable."""
    m = ctx.measure("net_value")
    v = horizon_value(ds, m, ctx.month).transpose("point", "policy", "replication").values
    _, lo, hi, _ = mean_ci(v - v[:, :1])  # (point, policy)
    out = {}
    for i, p in enumerate(ctx.policies[1:], start=1):
        from ..decision import state_of

        states = [state_of(a, b, m.better) for a, b in zip(lo[:, i], hi[:, i])]
        out[p] = {f"points_{s.replace(' ', '_')}": states.count(s) for s in STATES}
    return out


def _sensitivity(ds, ctx: Context) -> dict:
    """Which swept parameters move each policy's Δ net value (loyalsim.sensitivity), or why not."""
    from ..sensitivity import sensitivity

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = sensitivity(ds, contrast=True, month=ctx.month, bootstrap=SENSITIVITY_BOOTSTRAP, seed=0)
    except ValueError as e:
        return {"available": False, "reason": str(e)}
    first = "ST" if result.attrs["method"] == "sobol" else "SRC"
    records = [{k: (v.item() if hasattr(v, "item") else v) for k, v in rec.items()}
               for rec in result.to_dict("records")]  # fmt: skip
    top = {}
    for p in dict.fromkeys(result["policy"]):
        rows = result[(result["policy"] == p) & (result["index"] == first)].copy()
        rows["size"] = rows["estimate"].abs()
        rows = rows.sort_values("size", ascending=False, na_position="last").head(TOP_PARAMETERS)
        top[p] = [{"parameter": r.parameter, "estimate": float(r.estimate), "ci_low": float(r.ci_low),
                   "ci_high": float(r.ci_high)} for r in rows.itertuples()]  # fmt: skip
    attrs = result.attrs
    return {"available": True, "method": attrs["method"], "index": first, "records": records, "top": top,
            "noise_share": {p: float(attrs["noise_share"][(p, m)]) for p, m in attrs["noise_share"]},
            "r_squared": {p: float(attrs["r_squared"][(p, m)]) for p, m in attrs.get("r_squared", {})},
            "confidence": attrs["confidence"], "outcome": attrs["outcome"], "points": attrs["points"],
            "bootstrap": attrs["bootstrap"]}  # fmt: skip


# ---------------------------------------------------------------- 8. credibility

#: Targets this report checks beyond loyalsim.fact_checks (T4–T6): docs/facts.md, with the stated tolerances.
T7 = {"minor": ("at most 10% of minor first failures lead to a complaint", -math.inf, 0.10),
      "major": ("at least 70% of major first failures lead to a complaint", 0.70, math.inf)}  # fmt: skip
T8 = ("paradox events in low single digits of complaints under the baseline (below 5%)", 0.0, 0.05)
T10 = ("churn hazard of the least satisfied fifth / the most satisfied fifth, from one-year retentions "
       "0.43 and 0.74: log 0.43 / log 0.74 = 2.80 (within ±0.3)", 2.5, 3.1)  # fmt: skip


def credibility_checks(ctx: Context) -> list[dict]:
    """Every check as {target, claim, policy, value, ci_low, ci_high, status, note}; cached per context."""
    if "checks" in ctx.cache:
        return ctx.cache["checks"]
    checks = []
    notes = []
    scope, where = _facts_scope(ctx)
    if ctx.has("fact_count", "fact_retained"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = fact_checks(scope, policy=ctx.baseline)
            index = facts(scope, policy=ctx.baseline)
        for r in table.itertuples():
            if r.target == "T10":
                continue  # checked below with its interval (and its reason when the file has no quintiles)
            ci = _index_ci(index, r.target, r.claim)
            checks.append({"target": r.target, "claim": r.claim, "policy": r.policy, "value": _f(r.value),
                           "ci_low": ci[0], "ci_high": ci[1], "status": _status(r.passed), "note": where})  # fmt: skip
        checks += _t7(scope, ctx.baseline, where)
    else:
        notes.append("the file has no fact cohorts (fact_count, fact_retained): T4–T7 cannot be checked")
    checks.append(_t8(ctx))
    t10 = _t10(ctx, scope, where)
    if t10 is not None:
        checks.append(t10)
    else:
        notes.append("T10 (retention by initial-satisfaction quintile) needs quintile_count and quintile_retained, "
                     "which results files of format 1.1 carry; this file has none")  # fmt: skip
    ctx.cache["checks"], ctx.cache["check_notes"] = checks, notes
    return checks


def _facts_scope(ctx: Context):
    """The fact cohorts of the point, or pooled over every point across a sweep (counts summed per replication)."""
    if not ctx.across_points:
        return ctx.scope.isel(point=0), ""
    names = [n for n in ("fact_count", "fact_retained", "quintile_count", "quintile_retained") if ctx.has(n)]
    pooled = ctx.scope[names].sum("point").assign_coords(month=ctx.scope["month"])  # facts() reads the months
    pooled.attrs = dict(ctx.scope.attrs)
    return pooled, f"cohorts pooled over the {ctx.points} {ctx.unit_name}"


def _index_ci(index, target: str, claim: str):
    if target not in ("T4", "T5"):
        return math.nan, math.nan
    cls = "unresolved" if target == "T4" else "resolved"
    row = index.xs((cls, "all"), level=("fact_class", "severity_band")).iloc[0]
    return float(row["ci_low"]), float(row["ci_high"])


def _status(passed) -> str:
    try:
        return "unavailable" if passed is None or bool(np.isnan(float(passed))) else ("met" if bool(passed) else "missed")
    except (TypeError, ValueError):
        return "unavailable"


def _t7(scope, baseline: str, where: str) -> list[dict]:
    """T7: complaints among first failures by band (fact cohorts: every class but silent complained)."""
    cnt = scope["fact_count"].sel(policy=baseline).astype(float)
    out = []
    for band, (claim, lo, hi) in T7.items():
        c = cnt.sel(severity_band=band)
        total = c.sel(fact_class=["silent", "unresolved", "resolved", "resolved_quick"]).sum("fact_class").values
        silent = c.sel(fact_class="silent").values
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(total > 0, 1.0 - silent / np.where(total > 0, total, 1), np.nan)
        mean, low, high, n = mean_ci(np.asarray(rate, dtype=float).ravel()[None, :], skipna=True)
        value = float(mean[0])
        status = "unavailable" if not math.isfinite(value) else ("met" if lo <= value <= hi else "missed")
        out.append({"target": "T7", "claim": f"{band}: {claim}", "policy": baseline, "value": value,
                    "ci_low": float(low[0]), "ci_high": float(high[0]), "status": status,
                    "note": ("first failures in months 1 … T−12 (the fact cohorts)" + (f"; {where}" if where else ""))})  # fmt: skip
    return out


def _t8(ctx: Context) -> dict:
    claim, lo, hi = T8
    m = ctx.measure("paradox_share")
    if m is None:
        return {"target": "T8", "claim": claim, "policy": ctx.baseline, "value": math.nan, "ci_low": math.nan,
                "ci_high": math.nan, "status": "unavailable", "note": "no paradox_share measure"}  # fmt: skip
    s = ctx.summary(ctx.values("paradox_share"))
    value = _f(s["mean"][0])
    status = "unavailable" if not math.isfinite(value) else ("met" if lo <= value <= hi else "missed")
    return {"target": "T8", "claim": claim, "policy": ctx.baseline, "value": value, "ci_low": _f(s["low"][0]),
            "ci_high": _f(s["high"][0]), "status": status, "note": "paradox_events / recoveries, months 1 … H"}  # fmt: skip


def _t10(ctx: Context, scope, where: str):
    if not ctx.has("quintile_count", "quintile_retained"):
        return None
    claim, lo, hi = T10
    cnt = scope["quintile_count"].sel(policy=ctx.baseline).astype(float)
    ret = scope["quintile_retained"].sel(policy=ctx.baseline).astype(float)
    q = cnt["satisfaction_quintile"].values
    top, bottom = int(q.max()), int(q.min())
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = ret / cnt.where(cnt > 0)
        ratio = (np.log(rate.sel(satisfaction_quintile=bottom)) / np.log(rate.sel(satisfaction_quintile=top))).values
    mean, low, high, _ = mean_ci(np.where(np.isfinite(ratio), ratio, np.nan).ravel()[None, :], skipna=True)
    value = float(mean[0])
    status = "unavailable" if not math.isfinite(value) else ("met" if lo <= value <= hi else "missed")
    return {"target": "T10", "claim": claim, "policy": ctx.baseline, "value": value, "ci_low": float(low[0]),
            "ci_high": float(high[0]), "status": status, "note": where or "initial customers, months 1 … 12"}  # fmt: skip


def credibility(ctx: Context) -> dict:
    """The facts and calibration targets the baseline meets or misses, and the preset used."""
    checks = credibility_checks(ctx)
    preset = ctx.ds.attrs.get("preset")
    counts = {s: sum(c["status"] == s for c in checks) for s in ("met", "missed", "unavailable")}
    return {"checks": checks, "notes": ctx.cache.get("check_notes", []), "counts": counts,
            "preset": None if preset is None else str(preset),
            "preset_toml": None if ctx.ds.attrs.get("preset_toml") is None else str(ctx.ds.attrs["preset_toml"]),
            "baseline": ctx.baseline, "has_facts": ctx.has("fact_count", "fact_retained"),
            "across_points": ctx.across_points, "points": ctx.points, "facts": _facts_records(ctx)}  # fmt: skip


def _facts_records(ctx: Context) -> list[dict]:
    """The loyalty-index table of the baseline (pooled across points), for the chart and its data table."""
    if not ctx.has("fact_count", "fact_retained"):
        return []
    scope, _ = _facts_scope(ctx)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = facts(scope, policy=ctx.baseline)
    out = []
    for (policy, cls, band), r in table.iterrows():
        out.append({"policy": policy, "fact_class": cls, "severity_band": band, "count": int(r["count"]),
                    "retained": int(r["retained"]), "loyalty_index": float(r["loyalty_index"]),
                    "ci_low": float(r["ci_low"]), "ci_high": float(r["ci_high"]),
                    "replications": int(r["replications"]), "target": str(r["target"])})  # fmt: skip
    return out


# ---------------------------------------------------------------- 9. assumptions and method

#: Policy levers and their defaults (docs/experiment-format.md), in the order a reader weighs them.
LEVERS = (
    ("response_days", 7.0, "days to respond"), ("first_contact_resolution", 0.5, "first-contact resolution"),
    ("apology", 0.0, "apology"), ("empathy", 0.0, "empathy"), ("explanation", 0.0, "explanation"),
    ("follow_up", 0.0, "follow-up"), ("gesture", 0.0, "gesture"), ("gesture_cost", 0.0, "gesture cost"),
    ("compensation", 0.0, "compensation (× loss)"), ("root_cause_fix", 0.0, "root-cause fixing"),
    ("cost_per_contact", 8.0, "cost per contact"), ("complaint_encouragement", 0.0, "complaint encouragement"),
    ("proactive_detection", 0.0, "proactive detection"), ("cost_per_customer_month", 0.0, "programme cost per customer-month"),
    ("start_month", 1, "start month"),
)  # fmt: skip
KEY_MODEL = (("paradox_scope", "satisfaction_only"), ("gain", 0.6), ("margin", 0.3), ("discount_rate_annual", 0.1),
             ("churn_satisfaction", 4.0), ("loss_value_months", 2.0), ("acquisition_cost", 0.0))  # fmt: skip
KEY_WOM = (("advertising", 0.002), ("strong_ties", 8), ("weak_ties", 8), ("negative_weight", 2.0))
SEGMENT_KEYS = (("share", None), ("base_spend", 50.0), ("churn_hazard", 0.015), ("failure_rate", 0.05),
                ("satisfaction_mean", 0.7))  # fmt: skip


RUN_FACTS = ("experiment_name", "experiment_description", "seed", "replications", "horizon_months", "customers",
             "prospects", "represents", "warmup_months", "engine_version", "git_commit", "experiment_sha256",
             "created_utc", "format_version", "model", "model_revision", "sweep_design", "points_total",
             "points_done", "threads", "processes", "wall_seconds", "host", "preset", "source_calibration",
             "source_calibration_sha256")  # fmt: skip
ALWAYS_SHOWN = ("response_days", "first_contact_resolution", "compensation")


def assumptions(ctx: Context) -> dict:
    """The policies' levers, the key parameters, the run's shape and provenance, and how to rerun it."""
    exp, attrs = ctx.experiment, ctx.ds.attrs
    swept = set(sweep_parameters(ctx.ds)) if ctx.is_sweep else set()
    model, wom = exp.get("model", {}), exp.get("wom", {})
    params = [_param(ctx, f"model.{k}", model.get(k), d, swept) for k, d in KEY_MODEL]
    params += [_param(ctx, f"wom.{k}", wom.get(k), d, swept) for k, d in KEY_WOM]
    segments = [{"name": s.get("name", "?"), **{k: s.get(k, d) for k, d in SEGMENT_KEYS}}
                for s in exp.get("segments", []) or [{"name": "default"}]]  # fmt: skip
    population = exp.get("population", {})
    text = attrs.get("experiment_toml")
    return {"policies": ctx.policies, "levers": _levers(ctx, swept), "parameters": params, "segments": segments,
            "population": {k: population.get(k) for k in ("customers", "prospects", "initial_tenure_max")},
            "run": {k: _plain(attrs.get(k)) for k in RUN_FACTS}, **_commands(ctx),
            "experiment_toml": None if text is None else str(text), "sweep": _sweep_ranges(ctx, swept),
            "point": ctx.point, "across_points": ctx.across_points, "crn": _crn_gain(ctx),
            "measures": [{"name": m.name, "label": m.label, "kind": m.kind, "form": m.form,
                          "numerator": list(m.numerator), "denominator": list(m.denominator),
                          "divide_by_attribute": m.divide_by_attribute, "better": m.better} for m in ctx.measures],
            "measures_source": "the file's measures attribute" if "measures" in attrs else
                                "the built-in 1.0 definitions (the file has no measures attribute)",
            "scale": ctx.factor(), "month": ctx.month}  # fmt: skip


def _levers(ctx: Context, swept: set) -> list[dict]:
    """Each lever set (or swept) in some policy, with every policy's value; defaults from docs/experiment-format.md."""
    by_name = {p.get("name"): p for p in ctx.experiment.get("policies", []) if isinstance(p, dict)}
    levers = []
    for key, default, label in LEVERS:
        values = []
        for p in ctx.policies:
            entry, path = by_name.get(p, {}), f"policies.{p}.{key}"
            values.append({"value": _value_at(ctx, path, entry.get(key, default)), "set": key in entry,
                           "swept": path in swept})  # fmt: skip
        if key in ALWAYS_SHOWN or any(v["set"] or v["swept"] for v in values):
            levers.append({"key": key, "label": label, "default": default, "values": values})
    return levers


def _commands(ctx: Context) -> dict:
    """The commands that rerun the experiment and remake this report."""
    attrs, source = ctx.ds.attrs, ctx.source or "RESULTS.h5"
    reps = attrs.get("replications")
    rerun = f"loyalsim run {attrs.get('experiment_name', 'experiment')}.toml -o {source}"
    if reps is not None and int(reps) != int(ctx.experiment.get("replications", reps)):
        rerun += f" --replications {int(reps)}"
    point = f" --point {ctx.point}" if ctx.is_sweep and not ctx.across_points else ""
    return {"rerun": rerun, "report_command": f"loyalsim report {source}{point}"}


def _sweep_ranges(ctx: Context, swept: set) -> list[dict]:
    """Each swept parameter's range (or choices) over the file's points, in sweep order."""
    out = []
    for name in [n for n in sweep_parameters(ctx.ds) if n in swept and n in ctx.ds.variables]:
        vals = ctx.ds[name].values
        if vals.dtype.kind in "fiu":
            out.append({"parameter": name, "low": float(np.min(vals)), "high": float(np.max(vals)),
                        "kind": str(ctx.ds[name].attrs.get("sweep_kind", ""))})  # fmt: skip
        else:
            labels = [v.decode() if isinstance(v, bytes) else str(v) for v in vals]
            out.append({"parameter": name, "choices": list(dict.fromkeys(labels)), "kind": "choices"})
    return out


def _value_at(ctx: Context, path: str, fallback):
    """A parameter's value at the report's point: its sweep coordinate or parameter_value (1.1), else the file's."""
    if ctx.across_points:
        return _plain(fallback)
    sel = ctx.scope.isel(point=0)
    if path in sel.variables and sel[path].ndim == 0:
        return _plain(sel[path].values.item())
    if "parameter_value" in sel.data_vars and "parameter" in sel.coords:
        names = [str(n) for n in sel["parameter"].values]
        if path in names:
            return _plain(float(sel["parameter_value"].values[names.index(path)]))
    return _plain(fallback)


def _param(ctx: Context, path: str, given, default, swept) -> dict:
    value = _value_at(ctx, path, default if given is None else given)
    return {"path": path, "value": value, "default": default, "set": given is not None, "swept": path in swept}


def _plain(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.generic):
        return v.item()
    return v


def _crn_gain(ctx: Context) -> list[dict]:
    """Per policy: how much narrower common random numbers make the difference's interval (√ of the variance ratio)."""
    if ctx.across_points or ctx.replications < 2 or ctx.measure("net_value") is None:
        return []
    v = ctx.values("net_value")[0]  # (policy, replication)
    out = []
    for i, p in enumerate(ctx.policies[1:], start=1):
        var_d = np.var(v[i] - v[0], ddof=1)
        var_sum = np.var(v[i], ddof=1) + np.var(v[0], ddof=1)
        out.append({"policy": p, "narrower": float(math.sqrt(var_sum / var_d)) if var_d > 0 else None})
    return out
