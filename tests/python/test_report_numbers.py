"""The report's numbers (ReportData, no browser) against an independent recomputation from the file."""
import math

import numpy as np
import pytest
from report_support import close, horizon, open_raw, summary, t_interval, wilson
from reportfiles import CUSTOMERS, RATE, write_results

from loyalsim import report
from loyalsim.report import sections

SWEEP_GAIN = [0.2 + 0.6 * i / 15 for i in range(16)]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("report-files")
    return {
        "v10": write_results(d / "v10.h5"),
        "v11": write_results(d / "v11.h5", version="1.1", represents=50_000, preset="evidence"),
        "sweep": write_results(d / "sweep.h5", points=16, replications=4,
                               sweep={"model.gain": SWEEP_GAIN, "model.paradox_scope": ["none", "behavioural"] * 8}),
        "posterior": write_results(d / "posterior.h5", version="1.1", points=16, replications=4,
                                   sweep={"model.gain": SWEEP_GAIN}, design="posterior"),
    }  # fmt: skip


def _check_scorecard(rep, raw, across_points):
    card = rep.section("scorecard").data
    month = card["month"]
    policies = [r["policy"] for r in card["rows"]]
    assert policies == [str(p) for p in raw["policy"].values]
    for col in card["columns"]:
        v = horizon(raw, col["name"], month)
        if not across_points:
            v = v[:1]
        mean, lo, hi = summary(v, across_points)
        dmean, dlo, dhi = summary(v - v[:, :1], across_points)
        for i, row in enumerate(card["rows"]):
            cell = row["cells"][col["name"]]
            for key, want in (("mean", mean), ("ci_low", lo), ("ci_high", hi), ("diff_mean", dmean),
                              ("diff_ci_low", dlo), ("diff_ci_high", dhi)):  # fmt: skip
                assert close(cell[key], want[i]), (col["name"], row["policy"], key, cell[key], want[i])


@pytest.mark.parametrize("name", ["v10", "v11"])
def test_scorecard_equals_an_independent_recomputation(files, name):
    rep = report.build(files[name])
    with open_raw(files[name]) as raw:
        _check_scorecard(rep, raw, across_points=False)
    names = [c["name"] for c in rep.section("scorecard").data["columns"]]
    assert ("programme_cost" in names) == (name == "v11")  # the 1.1 measures come from the file


def test_scorecard_of_a_real_run(results_path):
    rep = report.build(results_path)
    with open_raw(results_path) as raw:
        _check_scorecard(rep, raw, across_points=False)


def test_scorecard_across_points_and_at_one_point(files):
    with open_raw(files["sweep"]) as raw:
        _check_scorecard(report.build(files["sweep"]), raw, across_points=True)
        at = report.build(files["sweep"], point=5)
        card = at.section("scorecard").data
        v = horizon(raw, "net_value", card["month"])[5]
        mean, lo, hi = t_interval(v)
        got = [r["cells"]["net_value"] for r in card["rows"]]
        assert all(close(g["mean"], m) and close(g["ci_low"], a) and close(g["ci_high"], b)
                   for g, m, a, b in zip(got, mean, lo, hi))  # fmt: skip


def test_represents_scales_counts_and_money_not_shares(files):
    rep = report.build(files["v11"])
    cells = {r["policy"]: r["cells"] for r in rep.section("scorecard").data["rows"]}
    with open_raw(files["v11"]) as raw:
        raw_nv = raw["net_value"].sel(month=slice(1, 24)).sum("month").isel(point=0).mean("replication").values
        raw_ret = (raw["cohort_active"].sel(month=24) / CUSTOMERS).isel(point=0).mean("replication").values
    assert close(cells["status_quo"]["net_value"]["mean"], raw_nv[0] * 50.0)  # 50,000 stand for 1,000
    assert close(cells["status_quo"]["retention"]["mean"], raw_ret[0])
    assert rep.meta["scale"] == 50.0 and rep.meta["firm_customers"] == 50_000


def test_the_verdict_names_the_known_answer(files):
    """better: +400 a month; worse: −400; undecided: +2 with ±60 noise: its interval must straddle zero."""
    rep = report.build(files["v10"])
    d = rep.section("decision").data
    states = {r["policy"]: r["state"] for r in d["policies"]}
    assert states == {"better": "better", "worse": "worse", "undecided": "not distinguishable"}
    assert d["recommended"] == "better" and not d["keep_baseline"]
    assert d["sentence"].startswith("Adopt better: it adds +")
    assert "against status_quo" in d["sentence"] and "10 of 10 paired replications" in d["sentence"]
    with open_raw(files["v10"]) as raw:
        nv = horizon(raw, "net_value", 24)[0]
    diff = nv - nv[:1]
    rows = {r["policy"]: r for r in d["policies"]}
    for i, p in enumerate(["better", "worse", "undecided"], start=1):
        m, lo, hi = t_interval(diff[i])
        r = rows[p]
        assert close(r["diff_mean"], m) and close(r["diff_ci_low"], lo) and close(r["diff_ci_high"], hi)
        wins = float((diff[i] > 0).sum() + 0.5 * (diff[i] == 0).sum())
        assert r["wins"] == wins and close(r["p_beats_baseline"], wins / 10)
        w_lo, w_hi = wilson(wins, 10)
        assert close(r["p_ci_low"], w_lo) and close(r["p_ci_high"], w_hi)
    und = rows["undecided"]
    half = (und["diff_ci_high"] - und["diff_ci_low"]) / 2
    assert und["replications_needed"] == math.ceil(10 * (half / abs(und["diff_mean"])) ** 2)
    assert und["replications_needed"] > 10
    assert any(a["kind"] == "straddles" and a["text"].startswith("undecided") for a in d["alerts"])


def test_keep_the_baseline_when_nothing_is_better(tmp_path):
    path = write_results(tmp_path / "none.h5", policies=("status_quo", "worse", "undecided"), effect=(0, -400, 2))
    d = report.build(path).section("decision").data
    assert d["recommended"] == "status_quo" and d["keep_baseline"]
    assert d["sentence"].startswith("Keep status_quo: no policy adds")
    assert "the best-looking, undecided" in d["sentence"] and "replications would resolve" in d["sentence"]
    path = write_results(tmp_path / "worse.h5", policies=("status_quo", "worse", "worst"), effect=(0, -400, -800))
    d = report.build(path).section("decision").data
    assert d["sentence"].startswith("Keep status_quo: every alternative loses") and "least bad, worse" in d["sentence"]


def test_several_could_be_best(tmp_path):
    """Two policies +400 and +401 a month, paired noise identical: both better, the gap between them not resolved."""
    noise = np.zeros((1, 3, 10))
    noise[0, 1:] = np.where(np.arange(10) % 2 == 0, 60.0, -60.0)
    noise[0, 2] += np.where(np.arange(10) % 3 == 0, 30.0, -15.0)
    path = write_results(tmp_path / "two.h5", policies=("status_quo", "a", "b"), effect=(0, 400, 401), noise=noise)
    d = report.build(path).section("decision").data
    assert {r["state"] for r in d["policies"]} == {"better"}
    assert set(d["could_be_best"]) == {"a", "b"} and d["could_be_best"][0] == d["recommended"]
    assert any(a["kind"] == "could_be_best" for a in d["alerts"])
    assert "could be as good" in d["sentence"]


def _payback_independent(cum_diff: np.ndarray, months):
    """First month ≥ 1 from which the t-interval's lower edge stays above 0, or None; cum_diff (month, replication)."""
    _, lo, _ = t_interval(cum_diff)
    found = None
    for i in range(len(months) - 1, -1, -1):
        if months[i] < 1 or not lo[i] > 0:
            break
        found = months[i]
    return found


def test_payback_month_against_an_independent_computation(tmp_path):
    """An up-front cost of 1,000 a month in months 1–6 against +400 a month pays back after month 15."""
    path = write_results(tmp_path / "pay.h5", upfront=(0, 1000, 0, 0), upfront_months=6)
    rep = report.build(path)
    series = {s["policy"]: s for s in rep.section("payback").data["series"]}
    with open_raw(path) as raw:
        cum = raw["net_value"].isel(point=0).cumsum("month").transpose("policy", "month", "replication").values
        months = [int(m) for m in raw["month"].values]
    want = _payback_independent(cum[1] - cum[0], months)
    assert series["better"]["payback_month"] == want and 15 <= want <= 18
    assert series["worse"]["payback_month"] is None
    m, lo, hi = t_interval(cum[1] - cum[0])
    np.testing.assert_allclose(series["better"]["mean"], m, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(series["better"]["ci_low"], lo, rtol=1e-9, atol=1e-9)
    band = np.quantile(cum[1] - cum[0], [0.1, 0.9], axis=-1)
    np.testing.assert_allclose(series["better"]["band_low"], band[0], rtol=1e-9, atol=1e-9)
    assert {r["policy"]: r["payback_month"] for r in rep.section("decision").data["policies"]}["better"] == want


@pytest.mark.parametrize("name", ["v10", "v11"])
def test_the_value_bridge_sums_to_the_difference_in_net_value(files, name):
    rep = report.build(files[name])
    data = rep.section("bridge").data
    with open_raw(files[name]) as raw:
        t = raw["month"].values.astype(float)
        disc = (1 + RATE) ** (-t / 12.0)
        k = 50.0 if name == "v11" else 1.0
        part = lambda v: (raw[v].isel(point=0) * disc).sel(month=slice(1, 24)).sum("month").values * k  # noqa: E731
        gestures = ((raw["recovery_cost"] - raw["compensation_paid"] - raw["handling_cost"]).isel(point=0) * disc)
        parts = {"margin": part("discounted_margin") / disc[0], "compensation": -part("compensation_paid"),
                 "handling": -part("handling_cost"),
                 "gestures": -gestures.sel(month=slice(1, 24)).sum("month").values * k}  # fmt: skip
        parts["margin"] = raw["discounted_margin"].isel(point=0).sel(month=slice(1, 24)).sum("month").values * k
        if name == "v11":
            parts["programme"] = -part("programme_cost")
            parts["acquisition"] = -part("acquisition_cost")
        nv = horizon(raw, "net_value", 24)[0]
    for i, row in enumerate(data["rows"], start=1):
        steps = {s["key"]: s for s in row["steps"]}
        total = sum(s["diff_mean"] for s in row["steps"])
        assert close(total, row["total"]["diff_mean"], rel=1e-9), (total, row["total"]["diff_mean"])
        assert close(row["total"]["diff_mean"], (nv[i] - nv[0]).mean())
        for key, v in parts.items():
            assert close(steps[key]["diff_mean"], (v[i] - v[0]).mean(), abs_=1e-6), key
        assert (steps["programme"]["absent"], steps["acquisition"]["absent"]) == ((name == "v10"),) * 2


def test_the_bridge_of_a_real_run(results_path):
    """The engine's own discounting: the parts reproduce net_value to 1e-9."""
    rep = report.build(results_path)
    with open_raw(results_path) as raw:
        nv = horizon(raw, "net_value", int(raw["month"].values[-1]))[0]
    for i, row in enumerate(rep.section("bridge").data["rows"], start=1):
        total = sum(s["diff_mean"] for s in row["steps"])
        assert close(total, (nv[i] - nv[0]).mean(), rel=1e-9, abs_=1e-6)
    copy = rep.section("bridge").data["rows"][0]  # status_quo_copy: every part exactly 0
    assert copy["policy"] == "status_quo_copy" and all(s["diff_mean"] == 0 for s in copy["steps"])


def test_cost_benefit(files):
    data = report.build(files["v11"]).section("cost-benefit").data
    with open_raw(files["v11"]) as raw:
        spend = horizon(raw, "recovery_cost", 24)[0] + horizon(raw, "programme_cost", 24)[0]
        retained = raw["cohort_active"].sel(month=24).isel(point=0).values * 50.0
    assert data["spend"] == ["recovery_cost", "programme_cost"]
    for i, r in enumerate(data["rows"]):
        assert close(r["cost"]["diff_mean"], (spend[i] - spend[0]).mean())
        assert close(r["retained"]["diff_mean"], (retained[i] - retained[0]).mean())
        if r["cost_per_retained"] is not None:
            assert close(r["cost_per_retained"], r["cost"]["diff_mean"] / r["retained"]["diff_mean"])
    assert data["rows"][0]["status"].startswith("baseline")


def test_frontier_status():
    f = sections.frontier_status
    assert f([0, 10, 20], [0, 5, 6]) == ["baseline on the frontier", "frontier", "frontier"]
    assert f([0, 10, 20], [0, 1, 10]) == ["baseline on the frontier", "extendedly dominated", "frontier"]
    assert f([0, -5, 3], [0, 2, 1]) == ["baseline (dominated)", "frontier", "dominated"]


def test_robustness_across_points(files):
    rep = report.build(files["sweep"])
    data = rep.section("robustness").data
    with open_raw(files["sweep"]) as raw:
        nv = horizon(raw, "net_value", 24)  # (point, policy, replication)
    y = nv.mean(axis=-1)
    best = (y == y.max(axis=1, keepdims=True)).astype(float)
    p_best = (best / best.sum(axis=1, keepdims=True)).mean(axis=0)
    regret = y.max(axis=1, keepdims=True) - y
    halves = [nv[..., 0::2].mean(-1), nv[..., 1::2].mean(-1)]
    diff = nv - nv[:, :1]
    point_means = diff.mean(-1)
    mc = (diff.var(axis=-1, ddof=1) / nv.shape[-1]).mean(axis=0)
    for i, r in enumerate(data["rows"]):
        assert close(r["p_best"], p_best[i]) and close(r["regret_mean"], regret[:, i].mean())
        assert close(r["regret_max"], regret[:, i].max())
        assert close(r["regret_p90"], np.quantile(regret[:, i], 0.9))
        hb = [(h == h.max(axis=1, keepdims=True)).mean(axis=0)[i] for h in halves]
        assert close(r["p_best_noise"], abs(hb[0] - hb[1]) / 2)
        if i > 0:
            assert close(r["contrast_variance"], point_means[:, i].var(ddof=1))
            assert close(r["monte_carlo_variance"], mc[i])
            v = point_means[:, i].var(ddof=1)
            assert close(r["noise_share"], mc[i] / v if v > 0 else np.nan)
    # The better policy loses below gain 0.5 and wins above it: the gain changes the winner.
    assert data["changes"] == ["model.gain"]
    winners = {(b["parameter"], b["part"][:1]): b["winner"] for b in data["by_parameter"]}
    assert winners[("model.gain", "≤")] != winners[("model.gain", ">")]
    assert data["sensitivity"]["available"] and data["sensitivity"]["method"] == "regression"
    alerts = rep.section("decision").data["alerts"]
    assert any(a["kind"] == "sweep" and "model.gain" in a["text"] for a in alerts)


def test_a_posterior_sweep_reports_credible_intervals(files):
    rep = report.build(files["posterior"])
    d = rep.section("decision").data
    assert d["across_points"] and d["posterior"] and d["interval"] == "95% credible interval"
    assert "posterior draws" in d["sentence"] or d["sentence"].startswith("Adopt")
    with open_raw(files["posterior"]) as raw:
        nv = horizon(raw, "net_value", 24)
    point_diff = (nv - nv[:, :1]).mean(-1)
    for i, r in enumerate(d["policies"], start=1):
        assert close(r["diff_mean"], point_diff[:, i].mean())
        assert close(r["diff_ci_low"], np.quantile(point_diff[:, i], 0.025))
        assert r["runs"] == 16 and close(r["wins"], (point_diff[:, i] > 0).sum() + 0.5 * (point_diff[:, i] == 0).sum())
    assert rep.meta["posterior"] and rep.section("robustness").state == "ok"
    assert rep.section("assumptions").data["run"]["source_calibration"] == "results/calibration.h5"


def test_credibility_checks(files, tmp_path):
    rep = report.build(files["v11"])
    c = rep.section("credibility").data
    by = {(x["target"], x["claim"]): x for x in c["checks"]}
    assert c["preset"] == "evidence"
    t10s = [x for x in c["checks"] if x["target"] == "T10"]
    assert len(t10s) == 1, "T10 is checked once"
    t10 = t10s[0]
    assert close(t10["value"], np.log(np.floor(200 * 0.43) / 200) / np.log(np.floor(200 * 0.74) / 200))
    assert t10["status"] == "met"
    with open_raw(files["v11"]) as raw:
        cnt = raw["fact_count"].isel(point=0, policy=0)
        minor = cnt.sel(severity_band="minor")
        rate = 1 - minor.sel(fact_class="silent") / minor.sel(fact_class=["silent", "unresolved", "resolved",
                                                                           "resolved_quick"]).sum("fact_class")  # fmt: skip
    t7 = [x for x in c["checks"] if x["target"] == "T7" and x["claim"].startswith("minor")][0]
    assert close(t7["value"], float(rate.mean())) and t7["status"] == "missed"  # 75% of minor failures complain
    assert {x["target"] for x in c["checks"]} >= {"T4", "T5", "T6", "T7", "T8", "T10"}
    assert len(by) == len(c["checks"])
    v10 = report.build(files["v10"]).section("credibility").data
    assert not any(x["target"] == "T10" for x in v10["checks"]) and any("T10" in n for n in v10["notes"])


def test_sections_say_why_they_are_unavailable(tmp_path, files):
    plain = report.build(files["v10"])
    rob = plain.section("robustness")
    assert rob.state == "unavailable" and rob.reason.startswith("no sweep")
    path = write_results(tmp_path / "nofacts.h5", drop=("fact_count", "fact_retained", "discounted_margin"))
    rep = report.build(path)
    assert rep.section("bridge").state == "unavailable" and "discounted_margin" in rep.section("bridge").reason
    cred = rep.section("credibility")
    assert cred.state == "ok" and not cred.data["has_facts"] and any("fact cohorts" in n for n in cred.data["notes"])
    one = report.build(write_results(tmp_path / "one.h5", policies=("only",), effect=(0,)))
    for sid in ("decision", "payback", "cost-benefit", "bridge"):
        assert one.section(sid).state == "unavailable" and "one policy" in one.section(sid).reason
    assert one.section("scorecard").state == "ok"


def test_a_bad_point_names_the_valid_points(files):
    with pytest.raises(IndexError, match=r"point 99 does not exist: this file has points 0 … 15"):
        report.build(files["sweep"], point=99)
