"""HTML from a ReportData: Jinja2 templates (package data) and the charts, inline.

The helpers the templates call write every number as an element carrying
``data-metric``, ``data-policy``, ``data-stat`` and ``data-value`` (the exact
value, ``repr`` of the float), beside its rounded text, so a test (or a
reader's script) can check the page against the file.
"""
from __future__ import annotations

import math
from pathlib import Path

from markupsafe import Markup, escape

from .._format import decimals, format_count, format_interval, format_number
from . import charts

TEMPLATES = Path(__file__).with_name("templates")
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'"


def _attr_value(x) -> str:
    if x is None:
        return ""
    if isinstance(x, float):
        return repr(x) if math.isfinite(x) else "nan"
    return str(x)


def num(value, half=math.nan, *, kind="count", sign=False, metric="", policy="", stat="", places=None) -> Markup:
    """One number: rounded text in a span that carries its exact value."""
    text = format_number(value, half, kind=kind, sign=sign, places=places)
    attrs = [("data-metric", metric), ("data-policy", policy), ("data-stat", stat)]
    shown = "".join(f' {k}="{escape(v)}"' for k, v in attrs if v)
    if stat:
        shown += f' data-value="{_attr_value(value)}"'
    return Markup(f'<span class="n"{shown}>{escape(text)}</span>')


def est(entry: dict, *, kind="count", metric="", policy="", prefix="", sign=False, interval=True) -> Markup:
    """``mean (low to high)`` from an entry with ``{prefix}mean``, ``{prefix}ci_low``, ``{prefix}ci_high``."""
    m, lo, hi = entry[f"{prefix}mean"], entry[f"{prefix}ci_low"], entry[f"{prefix}ci_high"]
    half = (hi - lo) / 2 if _finite(lo) and _finite(hi) else math.nan
    places = decimals(m, half) if _finite(m) else 0
    out = num(m, half, kind=kind, sign=sign, metric=metric, policy=policy, stat=f"{prefix}mean")
    if interval and _finite(lo) and _finite(hi):
        low = num(lo, kind=kind, sign=sign, metric=metric, policy=policy, stat=f"{prefix}ci_low", places=places)
        high = num(hi, kind=kind, sign=sign, metric=metric, policy=policy, stat=f"{prefix}ci_high", places=places)
        out += Markup(f' <span class="ci">({low} to {high})</span>')
    return out


def interval(entry: dict, *, kind="count", prefix="", sign=False) -> str:
    """``low to high`` of an entry, rounded like its estimate ('' without bounds)."""
    m, lo, hi = entry[f"{prefix}mean"], entry[f"{prefix}ci_low"], entry[f"{prefix}ci_high"]
    if not (_finite(lo) and _finite(hi)):
        return ""
    return format_interval(lo, hi, (hi - lo) / 2, m, kind=kind, sign=sign)


def pct(x, *, metric="", policy="", stat="", places=0) -> Markup:
    if not _finite(x):
        return Markup('<span class="n">n/a</span>')
    text = f"{x * 100:.{places}f}%"
    attrs = "".join(f' {k}="{escape(v)}"' for k, v in (("data-metric", metric), ("data-policy", policy),
                                                       ("data-stat", stat)) if v)  # fmt: skip
    if stat:
        attrs += f' data-value="{_attr_value(float(x))}"'
    return Markup(f'<span class="n"{attrs}>{escape(text)}</span>')


def _finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def glyph(state) -> Markup:
    if not state:
        return Markup("")
    g = {"better": "✓", "worse": "✗", "not distinguishable": "≈"}[state]
    return Markup(f'<span class="verdict v-{state.split()[0]}" title="{escape(state)}">'
                  f'<span aria-hidden="true">{g}</span> {escape(state)}</span>')  # fmt: skip


def count(n) -> str:
    return format_count(n) if _finite(n) else "n/a"


def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True, trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)  # fmt: skip
    env.globals.update(num=num, est=est, interval=interval, pct=pct, glyph=glyph, count=count, fmt=format_number, finite=_finite,
                       CSP=CSP)  # fmt: skip
    return env


def render(report) -> str:
    """The report's HTML text (deterministic: the same ReportData gives the same bytes)."""
    import matplotlib

    from . import to_json

    env = _environment()
    drawn = {}
    with matplotlib.rc_context(charts.RC):
        for s in report.sections:
            if s.state == "ok":
                drawn[s.id] = _charts(s)
    parts = []
    for n, s in enumerate(report.sections, start=1):
        context = dict(section=s, data=s.data, report=report, meta=report.meta, charts=drawn.get(s.id, {}), number=n)
        if s.state != "ok":
            body = env.get_template("unavailable.html.j2").render(**context)
        elif s.template and not s.template.endswith(".j2"):
            body = env.from_string(s.template).render(**context)
        else:
            body = env.get_template(s.template or f"sections/{s.id}.html.j2").render(**context)
        parts.append((s, Markup(body)))
    return env.get_template("report.html.j2").render(meta=report.meta, sections=parts, data_json=Markup(to_json(report)))


def _charts(section) -> dict:
    """The section's charts as {name: {"svg", "title"}}; a chart that fails to draw is left out, not fatal."""
    out = {}
    for name, func, title, args in _chart_plan(section):
        chart_id = f"chart-{section.id}-{name}"
        out[name] = {"svg": Markup(charts.draw(func, chart_id, title, title, *args)), "id": chart_id, "title": title}
    return out


def _chart_plan(section) -> list:
    d = section.data
    if section.id == "decision":
        return [("forest", charts.decision_chart, "Difference in net value to the baseline, per policy", (d,))]
    if section.id == "payback":
        return [("fan", charts.payback_chart, "Cumulative difference in net value to the baseline by month", (d,))]
    if section.id == "cost-benefit":
        return [("plane", charts.cost_benefit_chart, "Extra spend against extra retained customers and net value",
                 (d,))]  # fmt: skip
    if section.id == "bridge":
        return [("waterfall", charts.bridge_chart, "Value bridge from the baseline's net value to each policy's",
                 (d,))]  # fmt: skip
    if section.id == "journey":
        return [("flows", charts.journey_chart, "What follows a failure, per policy", (d,))]
    if section.id == "robustness":
        plan = [("pbest", charts.robustness_chart, "P(best) and regret per policy across the sweep", (d,))]
        s = d.get("sensitivity", {})
        if s.get("available"):
            for i, p in enumerate(s["top"]):
                plan.append((f"tornado-{i}", charts.tornado_chart, f"Which parameters move {p}'s Δ net value",
                             (d, p)))  # fmt: skip
        return plan
    if section.id == "credibility" and d.get("facts"):
        import pandas as pd

        table = pd.DataFrame(d["facts"]).set_index(["policy", "fact_class", "severity_band"])
        return [("facts", charts.facts_chart, "Loyalty index by complaint class and severity band", (table,))]
    return []
