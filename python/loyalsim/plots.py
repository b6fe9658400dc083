"""Deck-ready charts. Every function returns a matplotlib ``Figure``.

In a notebook the figure shows when it is the cell's value; elsewhere save
it (``fig.savefig("retention.png", dpi=200)``). A policy keeps its colour in
every chart; the baseline is drawn in dark grey. The figures are closed in
pyplot's registry, so a notebook shows each exactly once.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from ._stats import mean_ci, resolve_policies, select_point
from .facts import CLASSES, INDEX_TARGETS, facts
from .tables import LOWER_IS_BETTER, cumulative, policy_table

BASELINE_COLOUR = "#404040"
LABELS = {
    "retention": "retention (share of initial customers)",
    "active": "active customers",
    "revenue": "revenue (money)",
    "recovery_cost": "recovery cost (money)",
    "net_value": "net value, discounted (money)",
    "satisfied_share": "satisfied recoveries (share of complaints)",
    "paradox_share": "paradox events (share of complaints)",
    "wom_positive": "positive word of mouth (messages)",
    "wom_negative": "negative word of mouth (messages)",
}
_SHARES = ("retention", "satisfied_share", "paradox_share")


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


def plot_retention(ds: xr.Dataset, *, point: int = 0, policy=None, ax=None):
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


def plot_net_value(ds: xr.Dataset, *, point: int = 0, policy=None, ax=None):
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


def plot_contrasts(ds: xr.Dataset, month: int | None = None, *, point: int = 0, metrics=None, ncols: int = 4):
    """Each policy against the baseline: paired difference with its 95% CI, one panel per metric.

    A bar is green when the interval lies entirely on the better side of 0,
    red when entirely on the worse side, grey otherwise; the label gives
    P(beats baseline). ``metrics`` defaults to every metric of the policy table
    except ``active``.

    >>> loyalsim.plot_contrasts(ds, month=12, metrics=["net_value", "retention"])   # doctest: +SKIP
    """
    table = policy_table(ds, month, point=point)
    metrics = list(metrics) if metrics is not None else [m for m in table.columns.unique("metric") if m != "active"]
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
        sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
        colours = [_verdict_colour(sign * lo, sign * hi) for lo, hi in zip(t["diff_ci_low"], t["diff_ci_high"])]
        err = np.vstack([t["diff_mean"] - t["diff_ci_low"], t["diff_ci_high"] - t["diff_mean"]])
        ax.barh(y, t["diff_mean"], color=colours, height=0.6)
        ax.errorbar(t["diff_mean"], y, xerr=np.nan_to_num(err), fmt="none", ecolor="black", capsize=3, lw=1)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(y, [f"{p}\nP(better) {pb:.0%}" for p, pb in zip(others, t["p_beats_baseline"])], fontsize=8)
        ax.set_title(LABELS[metric], fontsize=9)
        if metric in _SHARES:
            from matplotlib.ticker import PercentFormatter

            ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"Difference to the baseline '{table.attrs['baseline']}' at month {table.attrs['month']} "
                 f"(paired, 95% CI, {table.attrs['replications']} replications)")  # fmt: skip
    return fig


def plot_facts(ds: xr.Dataset, *, point: int = 0, policy=None):
    """Loyalty index by complaint class and severity band with 95% CI, one panel per policy.

    The dashed line is the reference group (index 1); the shaded band is the
    T4 target for unresolved complainers (0.88 ± 0.04); T5 asks resolved
    complainers to stay at or below 1.

    >>> loyalsim.plot_facts(ds, policy="status_quo")                  # doctest: +SKIP
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the table itself reports skipped replications
        table = facts(ds, point=point, policy=policy)
    policies = list(table.index.unique("policy"))
    fig, axes = _figure(1, len(policies), figsize=(5.5 * len(policies), 4.2), sharey=True)
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
    axes[0, 0].set_ylabel("12-month loyalty index (retention / reference)")
    axes[0, 0].legend(frameon=False, fontsize=8, ncol=3, loc="upper left", bbox_to_anchor=(0, -0.16))
    fig.suptitle("Stylised facts: loyalty after a first failure (95% CI)")
    return fig
