"""The report's charts: matplotlib figures drawn from the sections' data, inlined as SVG.

SVG, not images: the text stays text (``svg.fonttype = 'none'``), so it can be
searched, read aloud and checked by a test. Each figure gets its own
``svg.hashsalt`` (the chart's id), so the ids matplotlib writes are the same
on every render and distinct between the figures of one page; the date is
left out (``metadata={'Date': None}``), so the same data gives the same bytes.
The XML prolog, DOCTYPE, RDF metadata and namespace declarations are dropped
(an HTML page needs none of them, and they are the only URLs matplotlib writes).

Every id in a figure is prefixed with the chart's id (matplotlib numbers its
groups ``figure_1``, ``axes_1`` … afresh in each figure).

Every policy has one colour, line style, marker and hatch (``loyalsim._style``);
the words on the chart (labels, legends) carry the meaning, so colour is never
the only carrier.
"""
from __future__ import annotations

import io
import math
import re

import numpy as np

from .._format import format_number
from .._style import policy_styles

FONT = "DejaVu Sans"
RC = {
    "svg.fonttype": "none",
    "font.family": [FONT],
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.labelsize": 8.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "path.simplify": True,
}


def figure(nrows=1, ncols=1, **kw):
    from matplotlib.figure import Figure

    fig = Figure(layout="constrained", **kw)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def to_svg(fig, chart_id: str, title: str, desc: str) -> str:
    """The figure as an inline ``<svg>`` element with a title and description, deterministic bytes."""
    import matplotlib as mpl

    buf = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": chart_id, "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    head_end = text.index(">") + 1
    head = text[:head_end]
    width = re.search(r'width="([\d.]+)pt"', head)
    head = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", head)
    head = re.sub(r'\s+(width|height)="[^"]*"', "", head)
    head = head.replace("<svg", f'<svg id="{chart_id}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
                        f'style="max-width:{width.group(1) if width else "100%"}pt" class="chart"', 1)  # fmt: skip
    body = _scoped_ids(text[head_end:].replace("xlink:href=", "href="), chart_id)
    from markupsafe import escape

    return (f'{head}<title id="{chart_id}-title">{escape(title)}</title>'
            f'<desc id="{chart_id}-desc">{escape(desc)}</desc>{body}').strip()  # fmt: skip


def _scoped_ids(body: str, prefix: str) -> str:
    """Every id of the figure (matplotlib names groups figure_1, axes_1 … in every figure) prefixed with the
    chart's, and every in-figure reference (href="#…", url(#…)) with it, so ids stay unique in one page."""
    body = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', body)
    body = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}-{m.group(1)}"', body)
    return re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}-{m.group(1)})", body)


def draw(func, chart_id: str, title: str, desc: str, *args, **kw) -> str:
    import matplotlib as mpl

    with mpl.rc_context(RC):
        fig = func(*args, **kw)
        return to_svg(fig, chart_id, title, desc)


def _money_axis(axis) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins=4))  # long labels (1,250,000): few of them, so they do not collide
    axis.set_major_formatter(lambda x, _pos=None: _tick(x))


def _tick(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 1e6:
        return format_number(x, abs(x) / 100)
    step = 10 ** max(0, math.floor(math.log10(abs(x))) - 1)
    return format_number(round(x / step) * step, step)


# ---------------------------------------------------------------- decision: the MORE-style forest


def decision_chart(data: dict) -> object:
    """Δ net value per policy: the 95% interval of the mean (thick) inside the runs' 10–90% (thin)."""
    rows = data["policies"]
    styles = policy_styles([data["baseline"], *[r["policy"] for r in rows]])
    fig, axes = figure(figsize=(6.6, 0.55 * len(rows) + 1.0))
    ax = axes[0, 0]
    y = np.arange(len(rows))[::-1]
    for yy, r in zip(y, rows):
        st = styles[r["policy"]]
        ax.plot([r["diff_ci_low"], r["diff_ci_high"]], [yy, yy], color=st["colour"], lw=7, solid_capstyle="butt")
        ax.plot([r["band_low"], r["band_high"]], [yy, yy], color="black", lw=1, marker="|", ms=9)  # on top: visible
        ax.plot([r["diff_mean"]], [yy], marker=st["marker"], color="white", mec="black", ms=6, ls="none")
        ax.annotate(f"{r['glyph']} {r['state']}", (1.0, yy), xycoords=("axes fraction", "data"), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=8)  # fmt: skip
    ax.axvline(0, color="black", lw=0.9)
    ax.set_yticks(y, [r["policy"] for r in rows])
    _money_axis(ax.xaxis)
    ax.set_xlabel(f"Δ discounted net value against {data['baseline']}, months 1–{data['month']}")
    ax.grid(axis="x", alpha=0.3)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    return fig


# ---------------------------------------------------------------- payback


def payback_chart(data: dict) -> object:
    import pandas as pd

    from ..plots import plot_payback

    frames = []
    for s in data["series"]:
        idx = pd.MultiIndex.from_product([[s["policy"]], data["months"]], names=["policy", "month"])
        frames.append(pd.DataFrame({c: s[c] for c in ("mean", "ci_low", "ci_high", "band_low", "band_high")},
                                   index=idx))  # fmt: skip
    frame = pd.concat(frames)
    frame.attrs.update(payback_month={s["policy"]: s["payback_month"] for s in data["series"]},
                       baseline=data["baseline"], metric="net_value", interval=data["interval"], band=data["band"])  # fmt: skip
    fig = plot_payback(frame, ncols=2)
    fig.suptitle("")
    for ax in fig.axes:
        if ax.get_visible():
            _money_axis(ax.yaxis)
    return fig


# ---------------------------------------------------------------- cost and benefit


def cost_benefit_chart(data: dict) -> object:
    rows = data["rows"]
    styles = policy_styles([r["policy"] for r in rows])
    fig, axes = figure(1, 2, figsize=(8.4, 3.6))
    for ax, key, label in ((axes[0, 0], "retained", f"Δ retained customers at month {data['month']}"),
                           (axes[0, 1], "net_value", "Δ discounted net value")):  # fmt: skip
        for r in rows:
            st = styles[r["policy"]]
            cloud = r["cloud"]
            ax.scatter(cloud["cost"], cloud[key], s=6, color=st["colour"], alpha=0.25, lw=0)
            c, b = r["cost"], r[key]
            xerr = _err(c)
            yerr = _err(b)
            ax.errorbar([c["diff_mean"]], [b["diff_mean"]], xerr=xerr, yerr=yerr, color=st["colour"],
                        marker=st["marker"], ms=6, mec="black", capsize=2, lw=1, label=r["policy"])  # fmt: skip
            ax.annotate(r["policy"], (c["diff_mean"], b["diff_mean"]), xytext=(5, 4), textcoords="offset points",
                        fontsize=7.5)  # fmt: skip
        if key == "retained" and len(data["frontier"]) > 1:
            pts = sorted(((r["cost"]["diff_mean"], r["retained"]["diff_mean"]) for r in rows
                          if r["policy"] in data["frontier"]))  # fmt: skip
            ax.plot(*zip(*pts), color="black", ls="--", lw=1)
            mid = len(pts) // 2
            ax.annotate("efficient frontier", pts[mid], xytext=(6, -10), textcoords="offset points", fontsize=7,
                        style="italic")  # fmt: skip
        ax.axhline(0, color="black", lw=0.7)
        ax.axvline(0, color="black", lw=0.7)
        ax.set_xlabel("Δ spend: " + " + ".join(s.replace("_", " ") for s in data["spend"]))
        ax.set_ylabel(label)
        _money_axis(ax.xaxis)
        _money_axis(ax.yaxis)
        ax.grid(alpha=0.3)
    return fig


def _err(entry: dict):
    lo, hi, m = entry["diff_ci_low"], entry["diff_ci_high"], entry["diff_mean"]
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    return [[max(0.0, m - lo)], [max(0.0, hi - m)]]


# ---------------------------------------------------------------- value bridge


def bridge_chart(data: dict) -> object:
    rows = data["rows"]
    ncols = 2 if len(rows) > 1 else 1
    nrows = -(-len(rows) // ncols)
    fig, axes = figure(nrows, ncols, figsize=(4.4 * ncols, 2.7 * nrows))
    for ax in axes.flat[len(rows):]:
        ax.set_visible(False)
    for ax, r in zip(axes.flat, rows):
        steps = [s for s in r["steps"] if not s["absent"]]
        labels = [s["label"] for s in steps] + ["= Δ net value"]
        y = np.arange(len(steps) + 1)[::-1]
        start = 0.0
        for yy, s in zip(y, steps):
            v = s["diff_mean"]
            colour = "#0072B2" if v >= 0 else "#D55E00"
            ax.barh(yy, v, left=start, color=colour, height=0.6, hatch="" if v >= 0 else "//", edgecolor="white")
            end = start + v
            ax.annotate(format_number(v, _half(s), kind="money", sign=True), (max(start, end), yy), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize=7.5)  # fmt: skip
            ax.plot([end, end], [yy - 0.3, yy - 0.7], color="black", lw=0.6)  # joins the next bar's start
            start = end
        total = r["total"]["diff_mean"]
        ax.barh(y[-1], total, color="#555555", height=0.6)
        ax.annotate(format_number(total, _half(r["total"]), kind="money", sign=True), (max(total, 0.0), y[-1]),
                    xytext=(3, 0), textcoords="offset points", va="center", fontsize=7.5, weight="bold")  # fmt: skip
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(y, labels)
        ax.set_title(f"{r['policy']} against {data['baseline']}")
        _money_axis(ax.xaxis)
        ax.grid(axis="x", alpha=0.3)
        lo, hi = ax.get_xlim()
        ax.set_xlim(lo - 0.05 * (hi - lo), hi + 0.25 * (hi - lo))  # room for the labels
    return fig


def _half(entry: dict) -> float:
    return (entry["diff_ci_high"] - entry["diff_ci_low"]) / 2


# ---------------------------------------------------------------- journey

SEGMENTS = (  # (panel, flows, labels, colours, hatches)
    ("failures", ("silent_failures", "complaints", "proactive_recoveries"),
     ("silent", "complained", "found by the firm"), ("#999999", "#E69F00", "#56B4E9"), ("", "//", "..")),
    ("recoveries", ("recoveries_satisfied", "recoveries_dissatisfied"),
     ("satisfied", "dissatisfied"), ("#009E73", "#D55E00"), ("", "xx")),
)  # fmt: skip


def journey_chart(data: dict) -> object:
    rows = data["rows"]
    fig, axes = figure(1, 3, figsize=(9.6, 0.5 * len(rows) + 1.6))
    y = np.arange(len(rows))[::-1]
    names = [r["policy"] for r in rows]
    for ax, (panel, flows, labels, colours, hatches) in zip(axes.flat, SEGMENTS):
        present = [(f, lab, c, h) for f, lab, c, h in zip(flows, labels, colours, hatches) if f in rows[0]]
        totals = np.array([sum(r[f]["mean"] for f, *_ in present) for r in rows])
        left = np.zeros(len(rows))
        for f, lab, c, h in present:
            share = np.array([r[f]["mean"] for r in rows]) / np.where(totals > 0, totals, np.nan)
            ax.barh(y, share, left=left, color=c, hatch=h, edgecolor="white", height=0.6, label=lab)
            for yy, l0, w in zip(y, left, share):
                if np.isfinite(w) and w >= 0.08:
                    ax.text(l0 + w / 2, yy, f"{w:.0%}", ha="center", va="center", fontsize=7,
                            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0, "alpha": 0.85})  # fmt: skip
            left = left + np.nan_to_num(share)
        ax.set_xlim(0, 1)
        ax.set_yticks(y, names if panel == "failures" else [""] * len(rows))
        ax.xaxis.set_major_formatter(lambda x, _pos=None: f"{x:.0%}")
        ax.set_title(f"share of {panel}, months 1–{data['month']}")
        ax.legend(frameon=False, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=len(present))
    ax = axes[0, 2]
    pos = np.array([r["wom_positive"]["mean"] for r in rows])
    neg = np.array([r["wom_negative"]["mean"] for r in rows])
    ax.barh(y + 0.17, pos, height=0.32, color="#009E73", label="positive")
    ax.barh(y - 0.17, neg, height=0.32, color="#D55E00", hatch="xx", edgecolor="white", label="negative")
    ax.set_yticks(y, [""] * len(rows))
    ax.set_title("word-of-mouth messages")
    _money_axis(ax.xaxis)
    ax.legend(frameon=False, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    return fig


# ---------------------------------------------------------------- robustness


def robustness_chart(data: dict) -> object:
    rows = data["rows"]
    styles = policy_styles([r["policy"] for r in rows])
    fig, axes = figure(1, 2, figsize=(8.4, 0.5 * len(rows) + 1.4))
    y = np.arange(len(rows))[::-1]
    ax = axes[0, 0]
    for yy, r in zip(y, rows):
        st = styles[r["policy"]]
        ax.barh(yy, r["p_best"], color=st["colour"], hatch=st["hatch"], edgecolor="white", height=0.6)
        noise = r["p_best_noise"]
        if math.isfinite(noise):
            ax.errorbar([r["p_best"]], [yy], xerr=[[min(noise * 2, r["p_best"])], [noise * 2]], color="black",
                        capsize=2, lw=1)  # fmt: skip
    ax.set_xlim(0, 1)
    ax.set_yticks(y, [f"{r['policy']} ({r['p_best']:.0%})" for r in rows])
    ax.xaxis.set_major_formatter(lambda x, _pos=None: f"{x:.0%}")
    ax.set_title(f"P(best) across {data['points']} points (bars: ± 2 × noise floor)")
    ax = axes[0, 1]
    ax.barh(y + 0.17, [r["regret_mean"] for r in rows], height=0.32, color="#0072B2", label="mean")
    ax.barh(y - 0.17, [r["regret_p90"] for r in rows], height=0.32, color="#D55E00", hatch="//", edgecolor="white",
            label="90th percentile")  # fmt: skip
    ax.set_yticks(y, [""] * len(rows))
    _money_axis(ax.xaxis)
    ax.set_title("regret: net value lost against the best policy")
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    for a in axes.flat:
        a.grid(axis="x", alpha=0.3)
    return fig


def tornado_chart(data: dict, policy: str) -> object:
    import pandas as pd

    from ..plots import plot_tornado

    s = data["sensitivity"]
    result = pd.DataFrame.from_records(s["records"])
    result.attrs.update(method=s["method"], confidence=s["confidence"], outcome=s["outcome"], points=s["points"],
                        noise_share={(p, data["month"]): v for p, v in s["noise_share"].items()},
                        r_squared={(p, data["month"]): v for p, v in s["r_squared"].items()})  # fmt: skip
    fig = plot_tornado(result, policy=policy)
    fig.suptitle("")
    return fig


# ---------------------------------------------------------------- credibility


def facts_chart(table) -> object:
    from ..plots import plot_facts

    fig = plot_facts(table)
    fig.suptitle("")
    return fig
