"""Deck-ready charts. Every function returns a matplotlib ``Figure``.

In a notebook the figure shows when it is the cell's value; elsewhere save
it (``fig.savefig("retention.png", dpi=200)``). A policy keeps its colour in
every chart; the baseline is drawn in dark grey. The figures are closed in
pyplot's registry, so a notebook shows each exactly once.

The charts of one run take ``point=`` (a sweep point's design index) like
:func:`loyalsim.policy_table`: required when the file holds a sweep. The
sensitivity charts (:func:`plot_tornado`, :func:`plot_indices_over_time`)
draw the table :func:`loyalsim.sensitivity` returns.
"""
from __future__ import annotations

import math

import numpy as np
import xarray as xr

from ._stats import mean_ci, resolve_policies, select_point
from .facts import CLASSES, INDEX_TARGETS, facts
from .measures import file_measures
from .tables import cumulative, policy_table

BASELINE_COLOUR = "#404040"
LABELS = {
    "retention": "retention (share of initial customers)",
    "active": "active customers",
    "revenue": "revenue (money)",
    "recovery_cost": "recovery cost (money)",
    "net_value": "net value, discounted (money)",
    "satisfied_share": "satisfied recoveries (share of recoveries)",
    "paradox_share": "paradox events (share of recoveries)",
    "wom_positive": "positive word of mouth (messages)",
    "wom_negative": "negative word of mouth (messages)",
    "programme_cost": "programme cost (money)",
    "acquisition_cost": "acquisition cost (money)",
}
_SHARES = ("retention", "satisfied_share", "paradox_share")
NEUTRAL_COLOUR = "#5d7fa3"  # a bar of a measure that is neither good nor bad news (better = "none")


def _figure(nrows=1, ncols=1, **kw):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, squeeze=False, layout="constrained", **kw)
    plt.close(fig)  # returned, not left for pyplot to show a second time
    return fig, axes


def _colours(ds: xr.Dataset) -> dict[str, str]:
    import matplotlib as mpl

    names = [str(p) for p in ds["policy"].values]
    cycle = [c for c in mpl.colormaps["tab10"].colors]
    return {n: BASELINE_COLOUR if i == 0 else cycle[(i - 1) % len(cycle)] for i, n in enumerate(names)}


def _percent_axis(axis) -> None:
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(1.0))


def _compact_axis(axis) -> None:
    """Tick labels like 40k, 1.2M, −500 and at most six of them: full numbers run together in a small panel."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    def compact(x, _pos=None) -> str:
        for divisor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if abs(x) >= divisor:
                return f"{x / divisor:.4g}{suffix}".replace("-", "\u2212")
        return f"{x:.4g}".replace("-", "\u2212")

    axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    axis.set_major_formatter(FuncFormatter(compact))


def _share_axis(axis, span: float) -> None:
    """Percent tick labels with the decimals the axis's span needs: 0% 1% 2%, not 0.00% 1.00% 2.00%."""
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    smallest_step = 100 * abs(span) / 6  # percentage points between ticks, at least
    decimals = max(0, -math.floor(math.log10(smallest_step))) if 0 < smallest_step < 1 else 0
    axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))  # no 2.5: its ticks need a decimal more
    axis.set_major_formatter(PercentFormatter(1.0, decimals=decimals))


def _bands(values: xr.DataArray, policies, ax, colours) -> None:
    """Mean line and 95% CI band per policy of values (policy, replication, month)."""
    months = values["month"].values
    for pol in policies:
        v = values.sel(policy=pol).transpose("month", "replication").values
        mean, lo, hi, _ = mean_ci(v)
        ax.plot(months, mean, color=colours[pol], lw=2, label=pol)
        ax.fill_between(months, lo, hi, color=colours[pol], alpha=0.2, lw=0)
    ax.set_xlabel("month")
    ax.set_xlim(months[0], months[-1])
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)


def _verdict_colour(better_low: float, better_high: float) -> str:
    """Green if the whole interval is on the better side of 0, red if on the worse side, else grey."""
    if np.isnan(better_low) or np.isnan(better_high):
        return "#8c8c8c"
    if min(better_low, better_high) > 0:
        return "#2a9d3f"
    if max(better_low, better_high) < 0:
        return "#c0392b"
    return "#8c8c8c"


def _target_axes(ax):
    if ax is None:
        fig, axes = _figure(figsize=(8, 4.5))
        return fig, axes[0, 0]
    return ax.figure, ax


def plot_retention(ds: xr.Dataset, *, point: int | None = None, policy=None, ax=None):
    """Retention of the initial customers month by month, mean and 95% CI band per policy.

    >>> loyalsim.plot_retention(ds)                                  # doctest: +SKIP
    """
    d = select_point(ds, point)
    fig, ax = _target_axes(ax)
    retention = d["cohort_active"] / float(ds.attrs["customers"])
    _bands(retention, resolve_policies(ds, policy), ax, _colours(ds))
    _percent_axis(ax.yaxis)
    ax.set_ylabel("initial customers still active")
    ax.set_title("Retention by recovery policy (95% CI)")
    return fig


def plot_net_value(ds: xr.Dataset, *, point: int | None = None, policy=None, ax=None):
    """Cumulative discounted net value (margin − recovery cost), mean and 95% CI band per policy.

    >>> loyalsim.plot_net_value(ds)                                  # doctest: +SKIP
    """
    d = select_point(ds, point)
    fig, ax = _target_axes(ax)
    _bands(cumulative(d["net_value"]), resolve_policies(ds, policy), ax, _colours(ds))
    ax.set_ylabel("cumulative net value (money, discounted)")
    ax.set_title("Cumulative net value by recovery policy (95% CI)")
    ax.axhline(0, color="black", lw=0.8)
    return fig


def plot_contrasts(ds: xr.Dataset, month: int | None = None, *, point: int | None = None, metrics=None, ncols: int = 3):
    """Each policy against the baseline: paired difference with its 95% CI, one panel per metric.

    A bar is green when the interval lies entirely on the better side of 0,
    red when entirely on the worse side, grey otherwise; a metric that is
    neither good nor bad (``better == "none"``: the paradox share) is
    drawn in one neutral colour. Which side is better is the measure's
    ``better`` (loyalsim.file_measures). The label gives P(beats baseline)
    (not for a neutral metric, which has none). ``metrics`` defaults to every metric of the
    policy table except ``active`` and those no policy changes (all differences exactly 0,
    e.g. a programme cost no policy pays); ``ncols`` panels per row.

    >>> loyalsim.plot_contrasts(ds, month=12, metrics=["net_value", "retention"])   # doctest: +SKIP
    """
    table = policy_table(ds, month, point=point)
    directions = {m.name: m.better for m in file_measures(ds)}  # which way is good, from the file's measures
    if metrics is None:  # every measure but active, and none that no policy changes (a cost nobody pays)
        metrics = [m for m in table.columns.unique("metric") if m != "active" and not _all_zero(table[m])]
    metrics = list(metrics)
    unknown = [m for m in metrics if m not in table.columns.unique("metric")]
    if unknown:
        raise KeyError(f"unknown metric(s) {unknown}; choose from {list(table.columns.unique('metric'))}")
    others = list(table.index[1:])
    ncols = max(1, min(ncols, len(metrics)))
    nrows = -(-len(metrics) // ncols)
    fig, axes = _figure(nrows, ncols, figsize=(3.6 * ncols, 0.6 + (0.45 * max(len(others), 1) + 1.1) * nrows))
    for ax in axes.flat[len(metrics):]:
        ax.set_visible(False)
    y = np.arange(len(others))[::-1]
    for ax, metric in zip(axes.flat, metrics):
        t = table[metric].loc[others]
        better = directions.get(metric, "higher")
        sign = -1.0 if better == "lower" else 1.0
        colours = [NEUTRAL_COLOUR if better == "none" else _verdict_colour(sign * lo, sign * hi)
                   for lo, hi in zip(t["diff_ci_low"], t["diff_ci_high"])]  # fmt: skip
        err = np.vstack([t["diff_mean"] - t["diff_ci_low"], t["diff_ci_high"] - t["diff_mean"]])
        ax.barh(y, t["diff_mean"], color=colours, height=0.6)
        ax.errorbar(t["diff_mean"], y, xerr=np.nan_to_num(err), fmt="none", ecolor="black", capsize=3, lw=1)
        ax.axvline(0, color="black", lw=0.8)
        if _all_zero(t):
            ax.text(0.5, 0.5, "0 for every policy", transform=ax.transAxes, ha="center", va="center", fontsize=8,
                    color="#8c8c8c")  # fmt: skip
        # A measure that is neither good nor bad has no P(beats baseline): the policy's name alone.
        names = others if better == "none" else [f"{p}\nP(better) {pb:.0%}" for p, pb in zip(others, t["p_beats_baseline"])]
        ax.set_yticks(y, names, fontsize=8)
        ax.set_title(LABELS.get(metric, metric), fontsize=9)
        if metric in _SHARES:
            _share_axis(ax.xaxis, np.subtract(*ax.get_xlim()))
        else:
            _compact_axis(ax.xaxis)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"Difference to the baseline '{table.attrs['baseline']}' at month {table.attrs['month']} "
                 f"(paired, 95% CI, {table.attrs['replications']} replications)")  # fmt: skip
    return fig


def _all_zero(contrasts) -> bool:
    """Whether every paired difference and its interval is exactly 0 (or undefined): nothing to draw."""
    values = np.asarray(contrasts[["diff_mean", "diff_ci_low", "diff_ci_high"]], dtype=float)
    return bool(np.all(np.nan_to_num(values) == 0.0))


def plot_facts(ds: xr.Dataset, *, point: int | None = None, policy=None):
    """Loyalty index by complaint class and severity band with 95% CI, one panel per policy.

    The dashed line is the reference group (index 1); the shaded band is the
    T4 target for unresolved complainers (0.88 ± 0.04); T5 asks resolved
    complainers to stay at or below 1. ``ds`` may also be a table that
    :func:`loyalsim.facts` returned (then ``point`` and ``policy`` are not used).

    >>> loyalsim.plot_facts(ds, policy="status_quo")                  # doctest: +SKIP
    """
    import warnings

    if isinstance(ds, xr.Dataset):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the table itself reports skipped replications
            table = facts(ds, point=point, policy=policy)
    else:
        table = ds
    policies = list(table.index.unique("policy"))
    ncols = min(2, len(policies))  # a notebook is about 10 inches wide: two panels a row
    nrows = -(-len(policies) // ncols)
    fig, axes = _figure(nrows, ncols, figsize=(5.5 * ncols, 0.6 + 3.6 * nrows + 0.5), sharey=True)
    for ax in axes.flat[len(policies):]:
        ax.remove()
    x = np.arange(len(CLASSES))
    width = 0.27
    band_colours = {"minor": "#7fb3d5", "major": "#1f618d", "all": "#566573"}
    _, t4_low, t4_high = INDEX_TARGETS[("unresolved", "all")]
    for ax, pol in zip(axes.flat, policies):
        t = table.loc[pol]
        ax.fill_between([0.55, 1.45], t4_low, t4_high, color="#f39c12", alpha=0.45, lw=0, zorder=3,
                        label="T4 target (unresolved)")
        for k, band in enumerate(("minor", "major", "all")):
            rows = t.loc[[(c, band) for c in CLASSES]]
            mean = rows["loyalty_index"].to_numpy()
            err = np.vstack([mean - rows["ci_low"].to_numpy(), rows["ci_high"].to_numpy() - mean])
            ax.bar(x + (k - 1) * width, mean, width, color=band_colours[band], label=band,
                   yerr=np.nan_to_num(err), capsize=2, error_kw={"lw": 1})  # fmt: skip
        ax.axhline(1.0, color="black", ls="--", lw=1, label="reference (no failure)")
        ax.set_xticks(x, [c.replace("_", "\n") for c in CLASSES])
        ax.set_title(pol)
        ax.grid(axis="y", alpha=0.3)
    for row in axes:
        row[0].set_ylabel("12-month loyalty index\n(retention / reference)")
    # Below the bottom-left panel: under the last row, so it covers no other panel.
    axes[-1, 0].legend(*axes[0, 0].get_legend_handles_labels(), frameon=False, fontsize=8, ncol=3,
                       loc="upper left", bbox_to_anchor=(0, -0.16))  # fmt: skip
    fig.suptitle("Stylised facts: loyalty after a first failure (95% CI)")
    return fig


def plot_payback(data, *, point: int | None = None, policy=None, metric: str = "net_value",
                 across_points: bool = False, ax=None, ncols: int = 2, scale: float = 1.0):  # fmt: skip
    """Fan chart of the cumulative paired difference to the baseline, one panel per policy, payback marked.

    ``data`` is a results Dataset (then :func:`loyalsim.payback` is computed
    with ``point``, ``metric`` and ``across_points``) or a table it returned.
    Each panel shows the mean (line), its 95% interval (the dark band: how
    sure the mean is) and the 10–90% band of the replications (the light band:
    how one realisation may turn out), and a dotted line at the payback month,
    the first month from which the interval stays above 0. ``scale``
    multiplies the values (e.g. represents / customers). ``policy`` picks
    policies (not the baseline); ``ax=`` draws exactly one.

    >>> loyalsim.plot_payback(ds)                                  # doctest: +SKIP
    """
    from ._style import policy_styles
    from .decision import payback

    frame = data if hasattr(data, "attrs") and "payback_month" in data.attrs else payback(
        data, point=point, metric=metric, across_points=across_points)
    names = list(dict.fromkeys(frame.index.get_level_values("policy")))
    chosen = names if policy is None else ([policy] if isinstance(policy, str) else list(policy))
    unknown = [p for p in chosen if p not in names]
    if unknown:
        raise KeyError(f"unknown policy {', '.join(map(repr, unknown))}; this table has {', '.join(names)}")
    if ax is not None and len(chosen) != 1:
        raise ValueError(f"ax= draws one policy; choose one of {', '.join(chosen)} with policy=")
    styles = policy_styles([frame.attrs["baseline"], *names])
    if ax is None:
        ncols = max(1, min(ncols, len(chosen)))
        nrows = -(-len(chosen) // ncols)
        fig, grid = _figure(nrows, ncols, figsize=(4.8 * ncols, 3.0 * nrows + 0.4), sharey=True)
        axes = list(grid.flat)
        for extra in axes[len(chosen):]:
            extra.set_visible(False)
    else:
        fig, axes = ax.figure, [ax]
    for axis, name in zip(axes, chosen):
        _payback_panel(axis, frame.loc[name] * scale, styles[name], frame.attrs["payback_month"][name], name)
    axes[0].legend(frameon=False, fontsize=7, loc="upper left")
    if ax is None:
        _suptitle(fig, f"What each policy has added against '{frame.attrs['baseline']}' by month (cumulative "
                       f"{frame.attrs['metric']}; {frame.attrs['interval']}; light band: {frame.attrs['band']})")
    return fig


def _payback_panel(ax, rows, style, month, name) -> None:
    months = rows.index.to_numpy()
    colour = style["colour"]
    ax.fill_between(months, rows["band_low"], rows["band_high"], color=colour, alpha=0.16, lw=0,
                    label="10–90% of runs (risk)")  # fmt: skip
    ax.fill_between(months, rows["ci_low"], rows["ci_high"], color=colour, alpha=0.45, lw=0,
                    label="95% interval of the mean (error)")  # fmt: skip
    ax.plot(months, rows["mean"], color=colour, ls=style["linestyle"], lw=1.8, marker=style["marker"],
            markevery=max(1, len(months) // 6), ms=4, label="mean")  # fmt: skip
    ax.axhline(0, color="black", lw=0.8)
    if month is not None:
        ax.axvline(month, color="black", ls=":", lw=1.2)
        ax.annotate(f"pays back: month {month}", (month, 0), xytext=(4, 6), textcoords="offset points", fontsize=8)
    else:
        ax.text(0.02, 0.04, f"no payback by month {int(months[-1])}", transform=ax.transAxes, fontsize=8)
    ax.set_title(name, fontsize=9)
    ax.set_xlabel("month")
    ax.set_xlim(months[0], months[-1])
    ax.yaxis.set_major_formatter(_thousands)
    ax.grid(alpha=0.3)


def _thousands(x, _pos=None) -> str:
    """Axis numbers with thousands separators and a true minus sign."""
    text = f"{abs(x):,.0f}" if abs(x) >= 10 or x == 0 else f"{abs(x):,.2g}"
    return ("\u2212" if x < 0 else "") + text


# ---- sensitivity charts: they draw the table loyalsim.sensitivity returns ----

INDEX_COLOURS = {"ST": "#1f618d", "S1": "#7fb3d5", "SRC": "#1f618d", "PRCC": "#7fb3d5"}
INDEX_LABELS = {"S1": "first-order S1", "ST": "total ST", "SRC": "SRC", "PRCC": "PRCC"}


def plot_tornado(result, policy=None, month=None, index=None, ax=None):
    """Horizontal bars of the sensitivity indices with their bootstrap intervals, largest on top.

    ``result`` is what :func:`loyalsim.sensitivity` returns. By default a Sobol'
    result shows ST and S1 side by side (the gap between them is the
    interactions' share) and a regression result SRC; ``index`` picks others
    (a name or a list; the first sorts the bars, by magnitude). ``month``
    defaults to the last month of the result; ``policy`` to every policy of
    the result, one panel each (with ``ax=``, exactly one policy). An index
    that could not be computed (NaN, e.g. a policy identical to the baseline
    under ``contrast``) is marked "n/a".

    >>> loyalsim.plot_tornado(loyalsim.sensitivity(ds, contrast=True))   # doctest: +SKIP
    """
    policies = _result_policies(result, policy, ax)
    month = _result_month(result, month)
    default = ["ST", "S1"] if "ST" in set(result["index"]) else ["SRC"]
    indices = _result_indices(result, index, default)
    n_params = result["parameter"].nunique()
    fig, axes = _panels(len(policies), ax, (6.5, max(3.0, 1.4 + 0.3 * n_params * len(indices))))
    for axis, pol in zip(axes, policies):
        rows = result[(result["policy"] == pol) & (result["month"] == month)]
        _tornado_panel(axis, rows, indices)
        axis.set_title(_panel_title(result, pol, month), fontsize=9)
    if ax is None:
        _suptitle(fig, _sensitivity_title(result))
        _warning_note(fig, result)
    return fig


def plot_indices_over_time(result, policy=None, index="ST", ax=None):
    """One line per parameter of a sensitivity index over the months, with its bootstrap band.

    Needs a time-resolved result, ``loyalsim.sensitivity(ds, month="all")``.
    ``index`` is ``"ST"`` by default (``"S1"``, ``"SRC"`` or ``"PRCC"`` as the
    result has them); ``policy`` as in :func:`plot_tornado`.

    >>> loyalsim.plot_indices_over_time(loyalsim.sensitivity(ds, month="all"))   # doctest: +SKIP
    """
    policies = _result_policies(result, policy, ax)
    (index,) = _result_indices(result, index, None)
    if result["month"].nunique() < 2:
        raise ValueError("plot_indices_over_time needs a time-resolved result: loyalsim.sensitivity(ds, month='all')")
    from matplotlib.ticker import MaxNLocator

    fig, axes = _panels(len(policies), ax, (7.0, 4.2))
    params = list(dict.fromkeys(result["parameter"]))
    cycle = _parameter_colours(params)
    for axis, pol in zip(axes, policies):
        rows = result[(result["policy"] == pol) & (result["index"] == index)].sort_values("month")
        for param in params:
            r = rows[rows["parameter"] == param]
            axis.plot(r["month"], r["estimate"], color=cycle[param], lw=2, label=_wrapped(param))
            axis.fill_between(r["month"], r["ci_low"], r["ci_high"], color=cycle[param], alpha=0.2, lw=0)
        axis.axhline(0, color="black", lw=0.8)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_xlabel("month")
        axis.set_ylabel(INDEX_LABELS[index] if index in INDEX_LABELS else index)
        axis.grid(alpha=0.3)
        # Outside, right: lines and bands fill the axes, and a legend inside would hide them.
        axis.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        axis.set_title(f"{pol}: {index} by month ({_confidence(result)} bootstrap band)", fontsize=9)
    if ax is None:
        _suptitle(fig, _sensitivity_title(result))
        _warning_note(fig, result)
    return fig


def _tornado_panel(ax, rows, indices) -> None:
    stats = ("estimate", "ci_low", "ci_high")
    table = {stat: rows.pivot(index="parameter", columns="index", values=stat) for stat in stats}
    first = table["estimate"][indices[0]]
    params = sorted(first.index, key=lambda p: -np.nan_to_num(abs(first[p]), nan=-1.0))  # NaN last
    y = np.arange(len(params))[::-1].astype(float)
    height = 0.8 / len(indices)
    for j, name in enumerate(indices):
        est, lo, hi = (table[stat][name].reindex(params).to_numpy(dtype=float) for stat in stats)
        yy = y + ((len(indices) - 1) / 2 - j) * height
        colour = INDEX_COLOURS.get(name, "#566573")
        ax.barh(yy, np.nan_to_num(est), height, color=colour, label=INDEX_LABELS.get(name, name))
        ok = np.isfinite(est) & np.isfinite(lo) & np.isfinite(hi)
        if ok.any():  # a point estimate can sit outside its percentile interval: clip, do not fail
            err = np.clip(np.vstack([est[ok] - lo[ok], hi[ok] - est[ok]]), 0.0, None)
            ax.errorbar(est[ok], yy[ok], xerr=err, fmt="none", ecolor="black", capsize=2, lw=1)
        for yv in yy[~np.isfinite(est)]:
            ax.text(0.0, yv, " n/a", va="center", fontsize=8, color="#8c8c8c")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [_wrapped(p) for p in params], fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))  # outside: bars fill the axes


def _wrapped(path: str, width: int = 24) -> str:
    """A long parameter path on two lines, broken after its last dot: long labels squeeze the bars."""
    head, dot, tail = path.rpartition(".")
    return f"{head}{dot}\n{tail}" if len(path) > width and head else path


def _warning_note(fig, result) -> None:
    """The sample-size warning of a Sobol' result under the chart: its bars may show impossible values."""
    if result.attrs.get("warnings"):
        fig.text(0.5, 0.0, f"Warning: these indices come from too small a base sample (N = {result.attrs.get('rows')}); "
                 "see result.attrs['warnings'].", ha="center", va="top", fontsize=8, color="#c0392b")  # fmt: skip


def _chosen(result, column: str, wanted, default) -> list:
    """The values of ``column`` asked for (one name or several; ``default`` when None), checked against the result."""
    available = list(dict.fromkeys(result[column]))
    chosen = (available if default is None else default) if wanted is None else (
        [wanted] if isinstance(wanted, str) else list(wanted))
    unknown = [c for c in chosen if c not in available]
    if unknown:
        raise ValueError(f"{column} {', '.join(map(repr, unknown))} is not in this result; it has {', '.join(available)}")
    return chosen


def _result_policies(result, policy, ax) -> list:
    chosen = _chosen(result, "policy", policy, None)
    if ax is not None and len(chosen) != 1:
        raise ValueError(f"ax= draws one policy; this result has {', '.join(chosen)}: choose one with policy=")
    return chosen


def _result_month(result, month) -> int:
    months = sorted(set(int(m) for m in result["month"]))
    if month is None:
        return months[-1]
    if month not in months:
        raise ValueError(f"month {month!r} is not in this result; it has {', '.join(map(str, months))}")
    return int(month)


def _result_indices(result, index, default) -> list:
    return _chosen(result, "index", index, default)


def _panels(n: int, ax, size):
    """One panel per policy, two a row (a notebook is about 10 inches wide): narrower when there are several."""
    if ax is not None:
        return ax.figure, [ax]
    ncols = min(2, n)
    nrows = -(-n // ncols)
    width = size[0] if n == 1 else 0.8 * size[0]
    fig, axes = _figure(nrows, ncols, figsize=(width * ncols, size[1] * nrows))
    for extra in axes.flat[n:]:
        extra.remove()
    return fig, list(axes.flat[:n])


def _parameter_colours(params) -> dict:
    import matplotlib as mpl

    cycle = mpl.colormaps["tab10"].colors
    return {p: cycle[i % len(cycle)] for i, p in enumerate(params)}


def _confidence(result) -> str:
    return f"{result.attrs.get('confidence', 0.95):.0%}"


def _sensitivity_title(result) -> str:
    attrs = result.attrs
    what = attrs.get("outcome") or attrs.get("metric", "")
    points = f" from {attrs['points']} points" if "points" in attrs else ""
    return f"Sensitivity of {what}{points} ({_confidence(result)} bootstrap intervals)"


def _suptitle(fig, text: str) -> None:
    """A figure title wrapped to the figure's width (about 14 characters per inch at 10 pt)."""
    import textwrap

    fig.suptitle(textwrap.fill(text, width=max(40, int(14 * fig.get_figwidth()))), fontsize=10)


def _panel_title(result, policy, month) -> str:
    """Policy and month, with the numbers that say how far to trust the bars."""
    parts = [f"{policy}, month {month}"]
    noise = result.attrs.get("noise_share", {}).get((policy, month))
    if noise is not None and np.isfinite(noise):
        parts.append(f"Monte Carlo noise {noise:.1%} of the variance between points")
    r2 = result.attrs.get("r_squared", {}).get((policy, month))
    if r2 is not None and np.isfinite(r2):
        parts.append(f"R² {r2:.2f}")
    return "\n".join([parts[0], ", ".join(parts[1:])]) if len(parts) > 1 else parts[0]
