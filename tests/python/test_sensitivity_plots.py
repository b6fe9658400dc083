"""The sensitivity charts render, show the result's numbers, and cope with NaN indices."""
import io
import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure
from test_sensitivity import write_small

import loyalsim

# The small synthetic design (N = 64, with noise) is meant to be small: that its Sobol' indices
# warn about the sample size is tested in test_sensitivity_warning.py.
pytestmark = pytest.mark.filterwarnings("ignore::loyalsim.SampleSizeWarning")


def png_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    return buf.getvalue()


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    path = write_small(tmp_path_factory.mktemp("plots") / "small.h5")
    with loyalsim.open(path) as ds:
        return {
            "sobol": loyalsim.sensitivity(ds, contrast=True, month="all", bootstrap=30),
            "regression": loyalsim.sensitivity(ds, policy="other", method="regression", month="all", bootstrap=30),
        }


@pytest.mark.parametrize("method", ["sobol", "regression"])
@pytest.mark.parametrize("plot", [loyalsim.plot_tornado, loyalsim.plot_indices_over_time], ids=lambda f: f.__name__)
def test_renders_without_warnings_even_with_nan_indices(results, method, plot):
    """The Sobol' contrast includes 'copy', identical to the baseline: all its indices are NaN."""
    import matplotlib.pyplot as plt

    result = results[method]
    before = plt.get_fignums()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        over_time_of_regression = method == "regression" and plot is loyalsim.plot_indices_over_time
        fig = plot(result, index="SRC") if over_time_of_regression else plot(result)
        data = png_bytes(fig)
    assert isinstance(fig, Figure) and data.startswith(b"\x89PNG") and len(data) > 3_000
    assert len(fig.axes) == result["policy"].nunique()  # one panel per policy
    assert plt.get_fignums() == before


def test_tornado_bars_are_the_estimates_sorted_by_magnitude(results):
    result = results["sobol"]
    fig = loyalsim.plot_tornado(result, policy="h_only")
    ax = fig.axes[0]
    rows = result[(result["policy"] == "h_only") & (result["month"] == 3)]
    st = rows[rows["index"] == "ST"].set_index("parameter")["estimate"]
    s1 = rows[rows["index"] == "S1"].set_index("parameter")["estimate"]
    # Long paths are broken after their last dot: the label without its line break is the path.
    ticks = sorted(zip(ax.get_yticks(), (t.get_text().replace("\n", "") for t in ax.get_yticklabels())), reverse=True)
    top_down = [label for _, label in ticks]
    assert top_down == list(st.abs().sort_values(ascending=False).index)  # largest on top
    assert abs(st[top_down[0]]) > 1.5 * abs(st[top_down[1]])  # the order is not a coin toss
    bars = sorted(ax.patches, key=lambda b: -b.get_y())  # top to bottom: ST then S1 for each parameter
    expected = [v for p in top_down for v in (st[p], s1[p])]
    np.testing.assert_allclose([b.get_width() for b in bars], expected, rtol=1e-12)
    assert "month 3" in ax.get_title()


def test_tornado_choices(results):
    result = results["sobol"]
    month1 = loyalsim.plot_tornado(result, policy="other", month=1, index="S1")
    assert len(month1.axes[0].patches) == 2 and "month 1" in month1.axes[0].get_title()
    regression = loyalsim.plot_tornado(results["regression"])
    assert {t.get_text() for t in regression.axes[0].get_legend().get_texts()} == {"SRC"}
    with pytest.raises(ValueError, match="ax= draws one policy"):
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
        loyalsim.plot_tornado(result, ax=ax)
    with pytest.raises(ValueError, match="month 9 is not in this result"):
        loyalsim.plot_tornado(result, month=9)
    with pytest.raises(ValueError, match="policy 'base' is not in this result"):
        loyalsim.plot_tornado(result, policy="base")  # the baseline of a contrast is not analysed
    with pytest.raises(ValueError, match="index 'SRC' is not in this result"):
        loyalsim.plot_tornado(result, index="SRC")


def test_indices_over_time_lines_are_the_estimates(results):
    import matplotlib.pyplot as plt

    result = results["sobol"]
    fig, ax = plt.subplots()
    assert loyalsim.plot_indices_over_time(result, policy="other", index="S1", ax=ax) is fig
    rows = result[(result["policy"] == "other") & (result["index"] == "S1")]
    lines = {line.get_label().replace("\n", ""): line for line in ax.lines if not line.get_label().startswith("_")}
    assert set(lines) == set(rows["parameter"])
    for name, line in lines.items():
        r = rows[rows["parameter"] == name].sort_values("month")
        np.testing.assert_array_equal(line.get_xdata(), r["month"])
        np.testing.assert_allclose(line.get_ydata(), r["estimate"], rtol=1e-12)
    plt.close(fig)


def test_indices_over_time_needs_months(tmp_path):
    path = write_small(tmp_path / "small.h5")
    with loyalsim.open(path) as ds:
        one_month = loyalsim.sensitivity(ds, policy="other", bootstrap=0)
    with pytest.raises(ValueError, match="month='all'"):
        loyalsim.plot_indices_over_time(one_month)


def test_a_sample_size_warning_is_printed_under_the_chart(results):
    import warnings

    result = results["sobol"]
    assert result.attrs["warnings"], "the small design (N = 64) warns; see test_sensitivity_warning.py"
    notes = [t.get_text() for t in loyalsim.plot_tornado(result).texts]
    assert any(n.startswith("Warning: these indices come from too small a base sample (N = 64)") for n in notes)
    quiet = result.copy()
    quiet.attrs = {**result.attrs, "warnings": []}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not [t for t in loyalsim.plot_tornado(quiet).texts if t.get_text().startswith("Warning")]


def test_long_parameter_paths_are_broken_and_the_legend_leaves_the_lines_alone(results):
    result = results["sobol"]
    fig = loyalsim.plot_indices_over_time(result, policy="other")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent(renderer)
    assert not legend.overlaps(ax.get_window_extent(renderer))  # outside: inside it hid the top of the bands
    tornado = loyalsim.plot_tornado(result, policy="other")
    labels = [t.get_text() for t in tornado.axes[0].get_yticklabels()]
    assert "policies.fast.\ncompensation" in labels and "model.gain" in labels
