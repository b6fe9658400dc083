"""Every chart renders to PNG and shows the numbers of the tables."""
import io
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
