"""Policy comparisons under a posterior (loyalsim.posterior_decision, policy_table and `loyalsim info`).

Synthetic posterior sweeps whose answer is known: the contrast of draw i,
replication r is Δ_ir = μ_i + β_r + e_ir with μ_i ~ N(m, τ²) over draws (the
parameters), e_ir ~ N(0, σ²) (Monte Carlo noise) and, where said, β_r ~ N(0,
σ_β²) shared by every draw (a replication's seed is the same at every draw).
Then the parameters' part of the variance split is τ², the Monte Carlo part
(σ_β² + σ²)/R, P(beats) = Φ(m / sqrt(τ² + σ_β² + σ²)), and the engine's
numbers for a real posterior sweep are checked against Python's.
"""
from __future__ import annotations

import math
import re
import subprocess

import h5py
import numpy as np
import pytest
from reportfiles import write_results
from scipy import stats
from sweepfiles import Param, write_sweep

import loyalsim
from loyalsim._format import table_numbers
from loyalsim._stats import crossed_table
from loyalsim.posterior import FEW_DRAWS

Z = 4.0  # two-sided normal tail 6e-5: every bound below holds with this probability or more


def contrast_file(path, delta: np.ndarray, *, base_noise: float = 100.0, seed: int = 0):
    """A posterior sweep of two policies whose horizon net value differs by ``delta`` (draw, replication).

    The baseline's own values are noise N(0, base_noise²) that the paired contrast cancels.
    """
    draws, reps = delta.shape
    base = np.random.default_rng(seed).normal(0.0, base_noise, size=(draws, reps))
    values = np.zeros((draws, 2, reps, 2))  # months 0 and 1: the horizon sum is month 1
    values[:, 0, :, 1] = base
    values[:, 1, :, 1] = base + delta
    return write_sweep(path, {"net_value": values}, {"model.gain": Param(np.linspace(0.2, 1.0, draws))},
                       design="posterior", policies=["status_quo", "programme"])  # fmt: skip


def crossed_delta(rng, draws, reps, m, tau, sigma, seed_sd=0.0) -> np.ndarray:
    mu = rng.normal(m, tau, size=(draws, 1))
    beta = rng.normal(0.0, seed_sd, size=(1, reps))
    return mu + beta + rng.normal(0.0, sigma, size=(draws, reps))


def split_sd(tau2: float, mc2: float, sigma2: float, draws: int, reps: int) -> float:
    """sd of the parameters' part S − residual/R: S is (τ² + σ²/R) χ²_{D−1}/(D−1), the residual σ² χ²_k/k with
    k = (D−1)(R−1), independent (normal theory), and Var(χ²_k/k) = 2/k."""
    return math.sqrt(2 * (tau2 + sigma2 / reps) ** 2 / (draws - 1) + 2 * (sigma2 / reps) ** 2 / ((draws - 1) * (reps - 1)))


def chi2_bounds(value: float, df: int) -> tuple[float, float]:
    """Where a variance estimate value · χ²_df / df lies with probability 1 − 6e-5."""
    tail = stats.norm.sf(Z)
    return value * stats.chi2.ppf(tail, df) / df, value * stats.chi2.ppf(1 - tail, df) / df


# ---------------------------------------------------------------- the variance split


SPLITS = pytest.mark.parametrize(
    "tau, sigma, reps, lever",
    [(1.0, 2.0, 8, "data"),  # τ² = 1 > σ²/R = 0.5: better data narrows the answer more
     (0.3, 4.0, 4, "replications")],  # τ² = 0.09 < σ²/R = 4: more replications do
)  # fmt: skip
SPLIT_DRAWS = 2000


def split_file(path, tau, sigma, reps):
    return contrast_file(path, crossed_delta(np.random.default_rng(7), SPLIT_DRAWS, reps, 5.0, tau, sigma))


def assert_known_split(parameter, monte_carlo, tau, sigma, reps, rounding=0.0):
    """The parameters' part τ² within Z sd of S − residual/R; the Monte Carlo part, a mean of D variances with
    R − 1 df each, σ²/R · χ²_{D(R−1)} / (D(R−1)). ``rounding``: how far a printed value may be from the estimate."""
    tau2, mc2 = tau**2, sigma**2 / reps
    assert abs(parameter - tau2) <= Z * split_sd(tau2, mc2, sigma**2, SPLIT_DRAWS, reps) + rounding, parameter
    low, high = chi2_bounds(mc2, SPLIT_DRAWS * (reps - 1))
    assert low - rounding <= monte_carlo <= high + rounding, (monte_carlo, low, high)


@SPLITS
def test_the_variance_split_recovers_the_parameter_and_monte_carlo_parts(tmp_path, tau, sigma, reps, lever):
    draws = SPLIT_DRAWS
    with loyalsim.open(split_file(tmp_path / "split.h5", tau, sigma, reps)) as ds:
        row = loyalsim.posterior_decision(ds).loc["programme"]
    tau2, mc2 = tau**2, sigma**2 / reps
    assert_known_split(row["parameter_variance"], row["monte_carlo_variance"], tau, sigma, reps)
    # The spread of the draw means: (τ² + σ²/R) χ²_{D−1}/(D−1).
    low, high = chi2_bounds(tau2 + mc2, draws - 1)
    assert low <= row["contrast_variance"] <= high
    assert row["narrowed_by"] == lever


def _printed(cell: str) -> tuple[float, float]:
    """A number as `loyalsim info` prints it, and half a unit of its last digit."""
    decimals = len(cell.split(".")[1]) if "." in cell else 0
    return float(cell.replace(",", "")), 0.5 * 10.0**-decimals


@SPLITS
def test_loyalsim_info_recovers_the_same_known_split(engine, tmp_path, tau, sigma, reps, lever):
    """The engine's own split (app/posterior_report.cpp), as printed: standard deviations, squared here."""
    path = split_file(tmp_path / "split.h5", tau, sigma, reps)
    text = subprocess.run([str(engine), "info", str(path)], capture_output=True, text=True, check=True).stdout
    parameter_cell, monte_carlo_cell, remedy = _rows(text, "policy parameters")["programme"]
    (p, p_half), (mc, mc_half) = _printed(parameter_cell), _printed(monte_carlo_cell)
    # A printed sd x ± h squares to within (2x + h) h of the estimate's square.
    assert_known_split(p**2, mc**2, tau, sigma, reps, rounding=(2 * max(p, mc) + max(p_half, mc_half)) * max(p_half, mc_half))
    assert remedy == {"data": "better data", "replications": "more replications"}[lever]


def test_noise_shared_by_every_draw_does_not_count_as_parameter_spread(tmp_path):
    """β_r is common to every draw: the draw means do not spread with it, so the parameters' part stays τ².

    Subtracting E[Var_reps]/R, which holds σ_β², would give τ² − σ_β²/R = 1 − 1.5 < 0 (clipped to 0): the
    bound below excludes it by far. The Monte Carlo part of one draw's mean does hold the shared noise:
    given the realised β, (s²(β) + σ²)/R, whose σ² part is chi-square with D(R − 1) df.
    """
    draws, reps, tau, sigma, seed_sd = 2000, 4, 1.0, 1.0, math.sqrt(6.0)
    rng = np.random.default_rng(11)
    delta = crossed_delta(rng, draws, reps, 0.0, tau, sigma, seed_sd)
    beta = (delta - delta.mean(axis=1, keepdims=True)).mean(axis=0)  # the realised β_r − β̄ (plus noise of sd σ/√D)
    with loyalsim.open(contrast_file(tmp_path / "shared.h5", delta)) as ds:
        row = loyalsim.posterior_decision(ds).loc["programme"]
    assert abs(row["parameter_variance"] - tau**2) <= Z * split_sd(tau**2, sigma**2 / reps, sigma**2, draws, reps)
    # Exactly, Monte Carlo part − s²(β̂)/R = (mean_i s²_r(e_ir) − s²_r(ē_r))/R: the first term is σ²/R ·
    # χ²_{D(R−1)}/(D(R−1)), the second ≥ 0 and at most σ²/(DR) · χ²_{R−1}/(R−1) (upper 6e-5 point).
    low, high = chi2_bounds(sigma**2 / reps, draws * (reps - 1))
    shared = beta.var(ddof=1) / reps
    column_noise = chi2_bounds(sigma**2 / (draws * reps), reps - 1)[1]
    assert shared + low - column_noise <= row["monte_carlo_variance"] <= shared + high
    assert row["narrowed_by"] == "replications"  # (s²(β) + σ²)/R ≈ 1.75 > τ² = 1


def test_the_credible_interval_and_p_beats_match_the_posterior(tmp_path):
    """μ ~ N(5, 1²), σ = 2, R = 8, D = 2000: the draw means are N(5, 1 + 0.5); P(Δ > 0) = Φ(5/√5)."""
    draws, reps, m, tau, sigma = 2000, 8, 5.0, 1.0, 2.0
    rng = np.random.default_rng(3)
    delta = crossed_delta(rng, draws, reps, m, tau, sigma)
    with loyalsim.open(contrast_file(tmp_path / "interval.h5", delta)) as ds:
        table = loyalsim.posterior_decision(ds)
    row = table.loc["programme"]
    spread = math.sqrt(tau**2 + sigma**2 / reps)
    # The mean of D normal draw means: sd spread/√D. A q-quantile of D values: sd sqrt(q(1−q)/D)/φ(z_q) · spread.
    assert abs(row["diff_mean"] - m) <= Z * spread / math.sqrt(draws)
    q_sd = math.sqrt(0.025 * 0.975 / draws) / stats.norm.pdf(1.96) * spread
    assert abs(row["diff_ci_low"] - (m - 1.96 * spread)) <= Z * q_sd
    assert abs(row["diff_ci_high"] - (m + 1.96 * spread)) <= Z * q_sd
    truth = stats.norm.cdf(m / math.sqrt(tau**2 + sigma**2))
    assert abs(row["p_beats_baseline"] - truth) <= Z * row["p_beats_se"]
    assert 0 < row["p_beats_se"] < 0.02
    means = delta.mean(axis=1)
    # P(best) and regret of two policies: the programme is best where its draw mean beats the baseline's.
    assert row["p_best"] == pytest.approx((means > 0).mean())
    assert row["regret"] == pytest.approx(np.maximum(-means, 0).mean())
    assert table.loc["status_quo", "regret"] == pytest.approx(np.maximum(means, 0).mean())
    assert math.isnan(table.loc["status_quo", "p_beats_baseline"]) and table.loc["status_quo", "narrowed_by"] is None
    assert table.attrs["draws"] == draws and table.attrs["replications"] == reps and not table.attrs["few_draws"]


def test_p_beats_standard_error_accounts_for_draws_and_shared_seeds():
    """Over 400 independent posterior sweeps the spread of P(beats) matches the two-way clustered s.e.

    Δ_ir = μ_i + β_r + e_ir, μ ~ N(0.2, 0.5²), β ~ N(0, 0.5²), e ~ N(0, 1), D = 40, R = 10. The
    empirical sd of 400 estimates is within ±3.5% (1/√(2 · 399)) of the truth, so 0.85 … 1.15 is a 4 sd
    band for the ratio to the root-mean-square reported s.e. The binomial s.e. (runs independent) and
    the s.e. clustered by draw only (seeds independent) both fall outside it.
    """
    rng = np.random.default_rng(5)
    tables = np.stack([crossed_delta(rng, 40, 10, 0.2, 0.5, 1.0, 0.5) for _ in range(400)])
    scores = (tables > 0).astype(float)
    result = crossed_table(scores)
    p = result["mean"]
    empirical = p.std(ddof=1)
    reported = math.sqrt(np.mean(result["standard_error"] ** 2))
    assert 0.85 <= reported / empirical <= 1.15, (reported, empirical)
    binomial = math.sqrt(np.mean(p * (1 - p) / 400))
    by_draw = math.sqrt(np.mean(result["between_rows"] / 40))
    assert binomial / empirical < 0.75 and by_draw / empirical < 0.85, (binomial, by_draw, empirical)


# ---------------------------------------------------------------- policy_table on a posterior sweep


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    d = tmp_path_factory.mktemp("posterior")
    return write_results(d / "posterior.h5", version="1.1", points=16, replications=4, represents=50_000,
                         sweep={"model.gain": [0.2 + 0.04 * i for i in range(16)]}, design="posterior")  # fmt: skip


@pytest.fixture(scope="module")
def one_replication(tmp_path_factory):
    """A posterior sweep of one replication per draw: no Monte Carlo variance within a draw, so no split."""
    d = tmp_path_factory.mktemp("posterior-one")
    return write_results(d / "one.h5", version="1.1", points=16, replications=1, represents=50_000,
                         sweep={"model.gain": [0.2 + 0.04 * i for i in range(16)]}, design="posterior")  # fmt: skip


def test_policy_table_of_a_posterior_sweep_is_across_the_draws(synthetic, tmp_path):
    with loyalsim.open(synthetic) as ds:
        table = loyalsim.policy_table(ds)
        assert table.attrs["design"] == "posterior" and table.attrs["draws"] == 16 and table.attrs["few_draws"]
        assert table.attrs["interval"] == "95% credible interval over 16 posterior draws"
        assert set(table.columns.get_level_values("statistic")) == set(loyalsim.tables.POSTERIOR_STATISTICS)
        for m in loyalsim.file_measures(ds):
            decision = loyalsim.posterior_decision(ds, m.name)
            for stat in loyalsim.tables.POSTERIOR_STATISTICS:
                np.testing.assert_array_equal(table[(m.name, stat)].to_numpy(), decision[stat].to_numpy())
        paradox = loyalsim.posterior_decision(ds, "paradox_share")  # no better direction: no beats, best, regret
        assert paradox[["p_beats_baseline", "p_best", "regret"]].isna().all().all()
        point = loyalsim.policy_table(ds, point=3)  # one draw's table stays available
        assert point.attrs["point"] == 3 and "p_beats_se" not in point.columns.get_level_values("statistic")
    with loyalsim.open(write_results(tmp_path / "lhs.h5", points=4, sweep={"model.gain": [0.2, 0.4, 0.6, 0.8]})) as ds:
        with pytest.raises(ValueError, match="sweep points"):
            loyalsim.policy_table(ds)  # any other sweep: each point is another experiment
        with pytest.raises(ValueError, match="posterior sweep"):
            loyalsim.posterior_decision(ds)


def test_the_split_is_the_one_the_report_shows(synthetic):
    with loyalsim.open(synthetic) as ds:
        decision, rob = loyalsim.posterior_decision(ds), loyalsim.robustness(ds)
    for column in ("contrast_variance", "parameter_variance", "monte_carlo_variance", "p_best"):
        np.testing.assert_array_equal(decision[column].to_numpy(), rob[column].to_numpy())
    np.testing.assert_array_equal(decision["regret"].to_numpy(), rob["regret_mean"].to_numpy())


# ---------------------------------------------------------------- the engine's table agrees

CALIBRATED = ["model.complaint_intercept", "segments.default.churn_hazard"]
SWEEP = """\
name = "posterior-pytest"
seed = 11
replications = 4
horizon_months = 12
[population]
customers = 400
prospects = 100
[[segments]]
name = "default"
[[policies]]
name = "status_quo"
[[policies]]
name = "status_quo_again"
[[policies]]
name = "a_little_more"
compensation = 0.2
[[policies]]
name = "fast_apology"
response_days = 1.0
apology = 1.0
[[policies]]
name = "fast_apology_again"
response_days = 1.0
apology = 1.0
[sweep]
design = "posterior"
source = "calibration.h5"
points = 12
"""


@pytest.fixture(scope="module")
def engine_sweep(engine, tmp_path_factory):
    """A real posterior sweep: the engine runs 12 draws of a calibration file written here."""
    d = tmp_path_factory.mktemp("engine-posterior")
    rng = np.random.default_rng(2)
    draws = np.column_stack([rng.normal(-3.0, 0.3, 12), np.exp(rng.normal(math.log(0.015), 0.3, 12))])
    with h5py.File(d / "calibration.h5", "w") as f:
        f.attrs["format"] = "loyalsim-calibration"
        f["parameter"] = np.array(CALIBRATED, dtype=h5py.string_dtype())
        f["posterior_draws"] = draws
    (d / "sweep.toml").write_text(SWEEP)
    out = d / "sweep.h5"
    proc = subprocess.run([str(engine), "run", str(d / "sweep.toml"), "-o", str(out), "-q", "--threads", "2"],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    with loyalsim.open(out) as ds:
        for i, name in enumerate(CALIBRATED):
            np.testing.assert_array_equal(ds[name].values, draws[:, i])
    return out


def _rows(text: str, header: str) -> dict[str, list[str]]:
    """The rows (by policy) of the table under ``header``; cells are separated by two spaces or more."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split() and line.split()[:2] == header.split()[:2])
    rows = {}
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        cells = re.split(r"\s{2,}", line.strip())
        rows[cells[0]] = cells[1:]
    return rows


def expected_cells(d) -> tuple[dict, dict]:
    """The engine's two tables (app/posterior_report.cpp) from posterior_decision, with loyalsim's table formatting."""
    f, kind, rest = d.attrs["factor"], d.attrs["kind"], d.iloc[1:]
    contrast = table_numbers(np.column_stack([rest["diff_mean"], rest["diff_ci_low"], rest["diff_ci_high"]]).ravel() * f,
                             kind, _smallest((rest["diff_ci_high"] - rest["diff_ci_low"]) / 2 * f), sign=True)  # fmt: skip
    se = _smallest(rest["p_beats_se"])
    beats, beats_se = table_numbers(rest["p_beats_baseline"], "share", se), table_numbers(rest["p_beats_se"], "share", se)
    best, regret = table_numbers(d["p_best"], "share"), table_numbers(d["regret"] * f, kind)
    sds = table_numbers(np.sqrt(np.column_stack([rest["parameter_variance"], rest["monte_carlo_variance"]])).ravel() * f,
                        kind)  # fmt: skip
    decision = {d.index[0]: ["baseline", best[0], regret[0]]}
    split = {}
    for i, (policy, row) in enumerate(rest.iterrows()):
        cell = beats[i] + (" ± " + beats_se[i] if row["p_beats_se"] > 0 else "")
        decision[policy] = [contrast[3 * i], f"{contrast[3 * i + 1]} to {contrast[3 * i + 2]}", cell, best[i + 1],
                            regret[i + 1]]  # fmt: skip
        lever = {"data": "better data", "replications": "more replications", None: ""}[row["narrowed_by"]]
        split[policy] = [sds[2 * i], sds[2 * i + 1]] + ([lever] if lever else [])
    return decision, split


def _smallest(values) -> float:
    positive = [float(v) for v in values if v > 0]
    return min(positive) if positive else math.inf


@pytest.mark.parametrize("which", ["engine", "synthetic", "one replication"])
def test_loyalsim_info_prints_the_numbers_of_posterior_decision(engine, engine_sweep, synthetic, one_replication, which):
    path = {"engine": engine_sweep, "synthetic": synthetic, "one replication": one_replication}[which]
    text = subprocess.run([str(engine), "info", str(path)], capture_output=True, text=True, check=True).stdout
    with loyalsim.open(path) as ds:
        d = loyalsim.posterior_decision(ds)
    if which == "one replication":
        assert d[["parameter_variance", "monte_carlo_variance"]].isna().all().all() and d["narrowed_by"].isna().all()
    decision, split = expected_cells(d)
    assert _rows(text, "policy Δ mean") == decision, text
    assert _rows(text, "policy parameters") == split, text
    runs = d.attrs["draws"] * d.attrs["replications"]
    reps = d.attrs["replications"]
    assert f"over {d.attrs['draws']} posterior draws x {reps} replication{'' if reps == 1 else 's'}" in text
    assert f"the share of the {runs} runs" in text
    assert (f"Only {d.attrs['draws']} draws" in text) == (d.attrs["draws"] < FEW_DRAWS)
    assert ("Money in currency units at the firm's scale: x 50 the simulation's (population.represents 50000 / 1000 "
            "simulated customers)" in text) == (which != "engine")
    assert ("One replication per draw" in text) == (which == "one replication")
    assert ("400 customers, as simulated" in text) == (which == "engine")
    if which == "engine":  # the real sweep's contrasts are not all decided by every run
        assert any("±" in cells[2] for cells in list(decision.values())[1:]), text
        # A copy of the baseline ties in every run: P(beats) is one half, exactly, and nothing narrows a zero.
        copy = d.loc["status_quo_again"]
        assert copy["p_beats_baseline"] == 0.5 and copy["p_beats_se"] == 0 and copy["narrowed_by"] is None
        assert decision["status_quo_again"][:3] == ["+0", "+0 to +0", "50%"], decision
        # Two identical policies tie in every draw: they share P(best), and their regret is the same.
        again, first = d.loc["fast_apology_again"], d.loc["fast_apology"]
        assert again["p_best"] == first["p_best"] > 0 and again["regret"] == first["regret"]
