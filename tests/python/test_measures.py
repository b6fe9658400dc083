"""Measures defined once: the results file's `measures` attribute, or the built-in 1.0 definitions."""
import json

import numpy as np
import pytest
from reportfiles import MEASURES_1_1, write_results

import loyalsim
from loyalsim import measures


def test_a_1_0_file_gets_the_built_in_definitions(tmp_path):
    with loyalsim.open(write_results(tmp_path / "v10.h5", version="1.0")) as ds:
        found = measures.file_measures(ds)
        assert found == measures.BUILTIN_1_0
        assert [m.name for m in found] == list(loyalsim.METRICS)
        assert {m.name for m in found if m.better == "lower"} == {"recovery_cost", "wom_negative"}
        assert measures.measure(ds, "paradox_share").better == "none"


def test_the_engine_writes_the_measures_it_uses(ds):
    """A file of today's engine carries its definitions (srp1::kMeasureInfo) as JSON, and the package uses them."""
    written = json.loads(ds.attrs["measures"])
    assert [m.name for m in measures.file_measures(ds)] == [m["name"] for m in written]
    assert {m["name"] for m in written} >= set(loyalsim.METRICS) | {"programme_cost", "acquisition_cost"}
    share = measures.measure(ds, "satisfied_share")
    assert share.denominator == ("complaints", "proactive_recoveries")
    assert measures.measure(ds, "paradox_share").better == "none"


def test_a_1_1_file_brings_its_own(tmp_path):
    path = write_results(tmp_path / "v11.h5", version="1.1", represents=4000)
    with loyalsim.open(path) as ds:
        found = measures.file_measures(ds)
        assert [m.name for m in found] == [m["name"] for m in MEASURES_1_1]
        share = measures.measure(ds, "satisfied_share")
        assert share.denominator == ("complaints", "proactive_recoveries")
        assert measures.display_factor(ds, measures.measure(ds, "net_value")) == 4.0
        assert measures.display_factor(ds, share) == 1.0
        table = loyalsim.policy_table(ds)
        assert list(table.columns.unique("metric")) == [m["name"] for m in MEASURES_1_1]
        d = ds.isel(point=0)
        want = (d["recoveries_satisfied"].sel(month=slice(1, 24)).sum("month")
                / (d["complaints"] + d["proactive_recoveries"]).sel(month=slice(1, 24)).sum("month"))
        np.testing.assert_allclose(table["satisfied_share"]["mean"], want.mean("replication"), rtol=1e-12)
        # programme cost is a cost: P(beats) counts the replications where it is lower
        assert (table["programme_cost"]["p_beats_baseline"].iloc[1:] == 0.0).all()


def test_a_level_with_two_numerators_adds_them(tmp_path):
    items = [{"name": "both", "label": "active + cohort", "kind": "count", "form": "level",
              "numerator": ["active", "cohort_active"], "denominator": [], "divide_by_attribute": "", "better": "higher"}]
    path = write_results(tmp_path / "two.h5", version="1.1")
    import h5py

    with h5py.File(path, "a") as f:
        f.attrs["measures"] = json.dumps(items)
    with loyalsim.open(path) as ds:
        v = measures.horizon_values(ds, 6)["both"]
        np.testing.assert_array_equal(v, ds["active"].sel(month=6) + ds["cohort_active"].sel(month=6))


@pytest.mark.parametrize(
    "text, message",
    [
        ("not json", "not valid JSON"),
        ("{}", "non-empty JSON list"),
        ('[{"name": "x"}]', "lacks or mistypes"),
        ('[{"name": "x", "kind": "gold", "form": "sum", "numerator": ["net_value"]}]', "kind 'gold'"),
        ('[{"name": "x", "kind": "money", "form": "sum", "numerator": ["profit"]}]', "needs the metric"),
        ('[{"name": "x", "kind": "share", "form": "level", "numerator": ["active"], "divide_by_attribute": "nope"}]',
         "attribute 'nope'"),
    ],
)
def test_a_bad_measures_attribute_is_a_format_error(tmp_path, text, message):
    import h5py

    path = write_results(tmp_path / "bad.h5")
    with h5py.File(path, "a") as f:
        f.attrs["measures"] = text
    with loyalsim.open(path) as ds, pytest.raises(loyalsim.FormatError, match=message):
        measures.file_measures(ds)


def test_payback_and_its_chart(ds):
    pb = loyalsim.payback(ds)
    assert list(pb.index.unique("policy")) == ["status_quo_copy", "fast_empathetic"]
    copy = pb.loc["status_quo_copy"]
    assert (copy["mean"] == 0).all() and pb.attrs["payback_month"]["status_quo_copy"] is None
    cum = ds["net_value"].isel(point=0).cumsum("month")
    want = (cum.sel(policy="fast_empathetic") - cum.sel(policy="status_quo")).mean("replication").values
    np.testing.assert_allclose(pb.loc["fast_empathetic", "mean"], want, rtol=1e-9, atol=1e-6)
    fig = loyalsim.plot_payback(ds)
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["status_quo_copy", "fast_empathetic"]
    month = pb.attrs["payback_month"]["fast_empathetic"]
    if month is not None:
        assert any(list(line.get_xdata()) == [month, month] for line in fig.axes[1].lines)
    with pytest.raises(ValueError, match="unknown metric"):
        loyalsim.payback(ds, metric="profit")
