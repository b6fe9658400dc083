"""loyalsim.parameters(): the engine's parameter table, and the values a results file records."""
import math

import numpy as np
import pytest

import loyalsim


@pytest.fixture(scope="module")
def table(engine):
    return loyalsim.parameters(engine)


def test_the_table_has_every_scope_with_units_meanings_and_evidence(table):
    assert set(table["scope"]) == {"run", "population", "segments", "model", "wom", "policies"}
    assert table.loc["model.gain", "kind"] == "real"
    assert table.loc["model.gain", "default"] == 0.6
    assert table.loc["model.paradox_scope", "default"] == "satisfaction_only"
    assert table.loc["model.paradox_scope", "choices"] == ("none", "satisfaction_only", "behavioural")
    assert table.loc["wom.strong_ties", "kind"] == "even_integer"
    assert table.loc["policies.NAME.compensation", "allowed"] == "a number in [0, 1e+06]"
    assert table.loc["policies.NAME.start_month", "low"] == 1
    assert table.loc["model.gain", "high"] == math.inf
    assert math.isnan(table.loc["population.represents", "default"])
    assert table.loc["population.represents", "default_note"] == "customers"
    assert not table.loc["population.customers", "sweepable"]
    for column in ("unit", "meaning", "evidence"):
        assert (table[column].str.len() > 0).all(), column


def test_a_results_file_records_every_resolved_parameter(ds, table):
    """parameter_value holds every path of the table (entries named), with the file's values."""
    values = ds["parameter_value"].isel(point=0).to_series()
    expanded = set()
    for path, row in table.iterrows():
        if row["scope"] == "segments":
            expanded.add(path.replace("NAME", "default"))
        elif row["scope"] == "policies":
            expanded.update(path.replace("NAME", str(p)) for p in ds["policy"].values)
        else:
            expanded.add(path)
    assert set(values.index) == expanded
    # Set in the experiment, defaults elsewhere; customers as given, represents resolved to them.
    assert values["policies.fast_empathetic.compensation"] == 1.0
    assert values["model.gain"] == table.loc["model.gain", "default"]
    assert values["population.customers"] == float(ds.attrs["customers"])
    assert values["population.represents"] == float(ds.attrs["customers"]) == float(ds.attrs["represents"])
    choices = str(ds["parameter_choices"].sel(parameter="model.paradox_scope").values).split()
    assert choices[int(values["model.paradox_scope"])] == "satisfaction_only"
    assert np.isfinite(values.values).all()
