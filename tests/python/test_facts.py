"""facts / fact_checks against an independent loyalty-index computation."""
import shutil
import warnings
from contextlib import contextmanager

import h5py
import numpy as np
import pytest
from conftest import CUSTOMERS, POLICIES, REPLICATIONS
from scipy import stats

import loyalsim

CLASSES = ["silent", "unresolved", "resolved", "resolved_quick"]
CLASS_INDEX = {"reference": 0, "silent": 1, "unresolved": 2, "resolved": 3, "resolved_quick": 4}


@contextmanager
def quiet():
    """facts() may warn about skipped replications: allowed here, tested on its own below."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def expected_index(count, retained, policy, cls, band):
    """Per-replication loyalty indexes (skipping empty cohorts) of one cell, from raw arrays."""
    values = []
    for rep in range(count.shape[2]):
        c, r = count[0, policy, rep], retained[0, policy, rep]
        ref_n, ref_r = c[0, 0], r[0, 0]
        k = CLASS_INDEX[cls]
        n = c[k].sum() if band == "all" else c[k, ["minor", "major"].index(band)]
        kept = r[k].sum() if band == "all" else r[k, ["minor", "major"].index(band)]
        if n > 0 and ref_n > 0 and ref_r > 0:
            values.append((kept / n) / (ref_r / ref_n))
    return np.array(values)


def test_loyalty_index_matches_an_independent_computation(ds, raw):
    with quiet():
        table = loyalsim.facts(ds)
    assert list(table.index.unique("policy")) == POLICIES
    for p, policy in enumerate(POLICIES):
        ref = table.loc[(policy, "reference", "all")]
        assert ref["loyalty_index"] == 1.0
        assert ref["count"] == raw["fact_count"][0, p, :, 0, 0].sum()
        for cls in CLASSES:
            for band in ("minor", "major", "all"):
                row = table.loc[(policy, cls, band)]
                values = expected_index(raw["fact_count"], raw["fact_retained"], p, cls, band)
                assert row["replications"] == len(values)
                assert row["skipped"] == REPLICATIONS - len(values)
                if len(values) == 0:
                    assert np.isnan(row["loyalty_index"])
                    continue
                assert row["loyalty_index"] == pytest.approx(values.mean(), rel=1e-12)
                if len(values) > 1:
                    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
                    assert row["ci_low"] == pytest.approx(values.mean() - half, rel=1e-9, abs=1e-12)
                    assert row["ci_high"] == pytest.approx(values.mean() + half, rel=1e-9, abs=1e-12)
                k = CLASS_INDEX[cls]
                bands = slice(None) if band == "all" else ["minor", "major"].index(band)
                assert row["count"] == raw["fact_count"][0, p, :, k][:, bands].sum()
                assert row["retained"] == raw["fact_retained"][0, p, :, k][:, bands].sum()


def test_targets_and_tarp_context(ds):
    with quiet():
        table = loyalsim.facts(ds, policy="status_quo")
    assert list(table.index.unique("policy")) == ["status_quo"]
    t4 = table.loc[("status_quo", "unresolved", "all")]
    assert t4["target"].startswith("T4: 0.88 ± 0.04")
    assert t4["meets_target"] == (0.84 <= t4["loyalty_index"] <= 0.92)
    t5 = table.loc[("status_quo", "resolved", "all")]
    assert t5["target"].startswith("T5: ≤ 1.0")
    assert t5["meets_target"] == (t5["loyalty_index"] <= 1.0)
    assert table.loc[("status_quo", "silent", "minor"), "tarp_repurchase"] == 0.37
    assert table.loc[("status_quo", "resolved_quick", "major"), "tarp_repurchase"] == 0.82
    assert table["meets_target"].isna().sum() == len(table) - 2


def test_fact_checks(ds):
    with quiet():
        table = loyalsim.facts(ds)
        checks = loyalsim.fact_checks(ds)
    assert len(checks) == 9 * len(POLICIES)
    assert list(checks.columns) == ["policy", "target", "claim", "value", "passed"]
    for policy in POLICIES:
        c = checks[checks["policy"] == policy].set_index("claim")
        idx = {(c, b): v for (p, c, b), v in table["loyalty_index"].items() if p == policy}
        quick_vs_resolved = idx[("resolved_quick", "all")] - idx[("resolved", "all")]
        assert c.loc["resolved_quick ≥ resolved", "value"] == pytest.approx(quick_vs_resolved, nan_ok=True)
        minor_vs_major = idx[("silent", "minor")] - idx[("silent", "major")]
        assert c.loc["silent: minor > major", "value"] == pytest.approx(minor_vs_major, nan_ok=True)
        v = c.loc["resolved > unresolved", "value"]
        assert c.loc["resolved > unresolved", "passed"] == (v > 0)
        assert set(c["target"]) == {"T4", "T5", "T6", "T10"}
        ratio = loyalsim.quintile_retention(ds, policy=policy).loc[(policy, "hazard bottom/top"), "retention"]
        assert c.loc[c["target"] == "T10", "value"].item() == pytest.approx(ratio)


def test_quintile_retention_is_the_raw_counts(ds, raw):
    """Per replication retained/count by quintile, its mean; the top/bottom ratio per replication."""
    table = loyalsim.quintile_retention(ds)
    count = raw["quintile_count"][0].astype(float)  # (policy, replication, quintile)
    retained = raw["quintile_retained"][0].astype(float)
    rate = retained / count
    for i, policy in enumerate(POLICIES):
        assert table.loc[(policy, "1"), "count"] == count[i, :, 0].sum()
        assert table.loc[(policy, "1"), "count"] == table.loc[(policy, "5"), "count"] == 5 * CUSTOMERS // 5
        for q in range(5):
            assert table.loc[(policy, str(q + 1)), "retention"] == pytest.approx(rate[i, :, q].mean())
        assert table.loc[(policy, "top/bottom"), "retention"] == pytest.approx((rate[i, :, 4] / rate[i, :, 0]).mean())
        hazard = np.log(rate[i, :, 0]) / np.log(rate[i, :, 4])
        assert table.loc[(policy, "hazard bottom/top"), "retention"] == pytest.approx(hazard.mean())
    assert table.loc[(POLICIES[0], "hazard bottom/top"), "target"] == "T10: 2.80 ± 0.3"


def test_empty_cohorts_are_skipped_and_reported(results_path, tmp_path, raw):
    path = tmp_path / "holes.h5"
    shutil.copyfile(results_path, path)
    with h5py.File(path, "r+") as f:  # empty resolved_quick/major cohort in replication 0 of every policy
        count, retained = f["fact_count"][...], f["fact_retained"][...]
        count[:, :, 0, 4, 1] = 0
        retained[:, :, 0, 4, 1] = 0
        f["fact_count"][...] = count
        f["fact_retained"][...] = retained
    with loyalsim.open(path) as ds:
        with pytest.warns(UserWarning, match="left out replications with an empty cohort"):
            table = loyalsim.facts(ds)
    row = table.loc[("status_quo", "resolved_quick", "major")]
    assert row["skipped"] >= 1 and row["replications"] == REPLICATIONS - row["skipped"]
    values = expected_index(count, retained, 0, "resolved_quick", "major")
    assert row["loyalty_index"] == pytest.approx(values.mean(), rel=1e-12)


def test_unknown_policy(ds):
    with pytest.raises(KeyError, match="unknown policy 'nope'; this file has status_quo"):
        loyalsim.facts(ds, policy="nope")
