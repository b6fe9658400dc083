"""Every chart renders to PNG and shows the numbers of the tables."""
import io
import re
import warnings

import numpy as np
import pytest
from conftest import HORIZON, POLICIES
from matplotlib.figure import Figure

import loyalsim

PLOTS = [loyalsim.plot_retention, loyalsim.plot_net_value, loyalsim.plot_contrasts, loyalsim.plot_facts]


def png_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=72)
    return buf.getvalue()


@pytest.mark.parametrize("plot", PLOTS, ids=lambda f: f.__name__)
def test_plot_renders_to_png(ds, plot):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no stray warnings in a strategist's notebook
        fig = plot(ds)
        data = png_bytes(fig)
    assert isinstance(fig, Figure)
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5_000


def test_plots_are_not_left_open_in_pyplot(ds):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    for plot in PLOTS:
        plot(ds)
    assert plt.get_fignums() == before  # a notebook shows each figure once: as the returned value


def test_retention_curves_show_the_table_means(ds):
    fig = loyalsim.plot_retention(ds)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.lines}
    assert set(POLICIES) <= set(lines)
    table = loyalsim.policy_table(ds)
    for policy in POLICIES:
        y = lines[policy].get_ydata()
        assert len(y) == HORIZON + 1 and y[0] == 1.0
        assert y[-1] == pytest.approx(table.loc[policy, ("retention", "mean")], rel=1e-12)
    assert len(ax.collections) == len(POLICIES)  # one CI band per policy


def test_net_value_curves_end_at_the_table_values(ds):
    fig = loyalsim.plot_net_value(ds)
    lines = {line.get_label(): line for line in fig.axes[0].lines}
    table = loyalsim.policy_table(ds)
    for policy in POLICIES:
        assert lines[policy].get_ydata()[-1] == pytest.approx(table.loc[policy, ("net_value", "mean")], rel=1e-12)


def test_contrasts_subset_and_month(ds):
    fig = loyalsim.plot_contrasts(ds, month=12, metrics=["net_value", "retention"])
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 2
    table = loyalsim.policy_table(ds, month=12)
    bars = visible[0].patches  # net_value panel: one bar per non-baseline policy, top to bottom
    widths = [b.get_width() for b in sorted(bars, key=lambda b: -b.get_y())]
    np.testing.assert_allclose(widths, table["net_value"]["diff_mean"].iloc[1:], rtol=1e-12)
    with pytest.raises(KeyError, match="unknown metric"):
        loyalsim.plot_contrasts(ds, metrics=["profit"])


def test_plots_draw_into_given_axes_and_select_policies(ds):
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2)
    assert loyalsim.plot_retention(ds, ax=a, policy=["status_quo", "fast_empathetic"]) is fig
    assert loyalsim.plot_net_value(ds, ax=b, policy="fast_empathetic") is fig
    assert [line.get_label() for line in a.lines] == ["status_quo", "fast_empathetic"]
    assert png_bytes(fig).startswith(b"\x89PNG")
    plt.close(fig)


def test_facts_chart_one_panel_per_policy(ds):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = loyalsim.plot_facts(ds)
        one = loyalsim.plot_facts(ds, policy="status_quo")
    assert [ax.get_title() for ax in fig.axes] == POLICIES
    assert len(one.axes) == 1


# ---- what a reader sees at notebook size ------------------------------------------------


def drawn(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def overlapping_tick_labels(fig) -> list[str]:
    """Pairs of tick labels on one axis whose boxes overlap, as 'a / b' (nothing when all are readable)."""
    renderer = drawn(fig)
    found = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
            boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in labels if t.get_visible() and t.get_text()]
            for i, (a, box_a) in enumerate(boxes):
                found += [f"{a} / {b}" for b, box_b in boxes[i + 1 :] if box_a.overlaps(box_b)]
    return found


@pytest.mark.parametrize("plot", PLOTS, ids=lambda f: f.__name__)
def test_charts_fit_a_notebook_column_with_readable_ticks(ds, plot):
    """At most about 11 inches wide (wider figures are shrunk until 8-point labels cannot be read), and no
    tick labels running together (the contrasts chart's revenue axis printed 0 20000 40000 … 120000 as one smear)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = plot(ds)
    assert fig.get_figwidth() <= 11.0
    assert overlapping_tick_labels(fig) == []


def test_money_axes_use_compact_labels(ds):
    fig = loyalsim.plot_contrasts(ds, metrics=["revenue", "net_value"])
    drawn(fig)
    for ax in fig.axes:
        texts = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        assert texts and not any(re.search(r"\d{4}", text) for text in texts), texts  # "20k", "−1.5M", not "20000"


def test_the_paradox_share_is_coloured_as_neither_good_nor_bad(ds):
    from matplotlib.colors import to_hex

    better = {m.name: m.better for m in loyalsim.file_measures(ds)}  # the directions the chart follows
    assert better["paradox_share"] == "none" and better["recovery_cost"] == "lower" and better["net_value"] == "higher"
    fig = loyalsim.plot_contrasts(ds, metrics=["paradox_share", "satisfied_share"])
    paradox, satisfied = fig.axes[0], fig.axes[1]
    assert {to_hex(b.get_facecolor()) for b in paradox.patches} == {loyalsim.plots.NEUTRAL_COLOUR}
    assert sorted(t.get_text() for t in paradox.get_yticklabels()) == sorted(POLICIES[1:])  # no "P(better) nan%"
    # The satisfied share keeps its verdict colours: fast_empathetic is clearly better.
    colours = [to_hex(b.get_facecolor()) for b in sorted(satisfied.patches, key=lambda b: -b.get_y())]
    assert colours[-1] == "#2a9d3f"


def test_facts_panels_wrap_two_a_row_with_the_legend_below_them(ds):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = loyalsim.plot_facts(ds)
    renderer = drawn(fig)
    assert len(fig.axes) == len(POLICIES) and fig.get_figwidth() <= 11.0
    legend = next(ax.get_legend() for ax in fig.axes if ax.get_legend()).get_window_extent(renderer)
    for ax in fig.axes:
        assert not legend.overlaps(ax.get_window_extent(renderer)), ax.get_title()


def test_contrasts_leave_out_what_no_policy_changes(ds):
    """No policy of the tiny experiment has a running or acquisition cost: two empty panels, before."""
    table = loyalsim.policy_table(ds)
    assert (table["programme_cost"]["diff_mean"] == 0).all()
    titles = [ax.get_title() for ax in loyalsim.plot_contrasts(ds).axes if ax.get_visible()]
    assert "programme cost (money)" not in titles and "net value, discounted (money)" in titles
    asked = loyalsim.plot_contrasts(ds, metrics=["programme_cost"]).axes[0]
    assert [t.get_text() for t in asked.texts] == ["0 for every policy"]
