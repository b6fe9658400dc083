"""loyalsim.sensitivity on synthetic sweeps whose answers are known or computed independently here.

The files follow docs/results-format.md (tests/python/sweepfiles.py); the
outcome of every run is a chosen function of the swept parameters, so the
indices can be checked against analytic values (Ishigami), exact algebra
(linear models), textbook definitions recomputed with plain numpy, and the
stated bootstrap procedure replayed step by step.
"""
import subprocess

import numpy as np
import pandas as pd
import pytest
from sweepfiles import Param, saltelli_layout, write_sweep

import loyalsim

# The small synthetic design (N = 64, with noise) is meant to be small: that its Sobol' indices
# warn about the sample size is tested in test_sensitivity_warning.py.
pytestmark = pytest.mark.filterwarnings("ignore::loyalsim.SampleSizeWarning")

# ---------------------------------------------------------------- Ishigami

A_ISH, B_ISH = 7.0, 0.1
N_ISH = 4096


def ishigami(x):
    return np.sin(x[:, 0]) + A_ISH * np.sin(x[:, 1]) ** 2 + B_ISH * x[:, 2] ** 4 * np.sin(x[:, 0])


def ishigami_truth():
    """Analytic S1 and ST for x ~ U[-π, π]³ (Homma & Saltelli 1996): V1, V2, V13 are the only partial variances."""
    v1 = 0.5 * (1 + B_ISH * np.pi**4 / 5) ** 2
    v2 = A_ISH**2 / 8
    v13 = 8 * B_ISH**2 * np.pi**8 / 225
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


@pytest.fixture(scope="module")
def ishigami_path(tmp_path_factory):
    """Saltelli design, N = 4096 rows, one replication; net_value (a flow) is f(x) in month 1
    and x1 − f(x) in month 2, so summed over months 1..2 it is x1 alone."""
    rng = np.random.default_rng(12345)
    a = rng.uniform(-np.pi, np.pi, (N_ISH, 3))
    b = rng.uniform(-np.pi, np.pi, (N_ISH, 3))
    x, row, matrix = saltelli_layout(a, b)
    f = ishigami(x)
    net = np.zeros((len(x), 1, 1, 3))
    net[:, 0, 0, 1] = f
    net[:, 0, 0, 2] = x[:, 0] - f
    params = {f"model.x{i + 1}": Param(x[:, i]) for i in range(3)}
    path = tmp_path_factory.mktemp("ishigami") / "ishigami.h5"
    return write_sweep(path, {"net_value": net}, params, design="sobol", saltelli=(row, matrix), base_points=N_ISH)


def test_sobol_recovers_the_ishigami_indices(ishigami_path):
    with loyalsim.open(ishigami_path) as ds:
        result = loyalsim.sensitivity(ds, month=1)
    s1, st = ishigami_truth()
    truth = np.concatenate([s1, st])
    assert list(result["index"]) == ["S1"] * 3 + ["ST"] * 3
    assert list(result["parameter"]) == ["model.x1", "model.x2", "model.x3"] * 2
    est, low, high = (result[c].to_numpy() for c in ("estimate", "ci_low", "ci_high"))
    # The bootstrap half-widths are ≈ 0.044 (S1) and 0.013–0.044 (ST), i.e. a
    # standard error ≈ 0.022 at most: 0.05 is more than 2 standard errors.
    np.testing.assert_allclose(est, truth, atol=0.05)
    # Each true value inside its 95% interval, widened by a quarter of its
    # half-width (≈ a 99% interval): six 95% intervals all covering the truth
    # would happen for only ≈ 3/4 of seeds, and this is one fixed seed.
    slack = 0.25 * (high - low) / 2
    assert np.all((low - slack <= truth) & (truth <= high + slack)), result
    assert np.all(high - low < 0.1)  # the intervals are informative, not just wide
    assert result.attrs["method"] == "sobol" and result.attrs["rows"] == N_ISH
    assert result.attrs["points"] == N_ISH * 5
    assert np.isnan(result.attrs["noise_share"][("policy0", 1)])  # one replication: no noise estimate


def test_flows_are_summed_over_months_one_to_t(ishigami_path):
    """Month 2's sum is x1 exactly, so AB^(i) = A for i ≠ 1: those indices are 0 (rounding aside)."""
    with loyalsim.open(ishigami_path) as ds:
        result = loyalsim.sensitivity(ds, month=2, bootstrap=0)
    est = result.set_index(["index", "parameter"])["estimate"]
    # Y = x1 uniform: S1 and ST of x1 estimate 1 with a sampling error ≈ 0.02.
    assert est[("S1", "model.x1")] == pytest.approx(1.0, abs=0.05)
    assert est[("ST", "model.x1")] == pytest.approx(1.0, abs=0.05)
    for name in ("model.x2", "model.x3"):
        assert abs(est[("S1", name)]) < 1e-12 and abs(est[("ST", name)]) < 1e-12
    assert result["ci_low"].isna().all()  # bootstrap=0: no interval


# ------------------------------------------------- a small noisy Saltelli file

K_SMALL, N_SMALL, R_SMALL = 2, 64, 4
POLICIES = ["base", "copy", "other", "h_only"]


def small_design(seed=7, n=N_SMALL):
    rng = np.random.default_rng(seed)
    a = rng.uniform(size=(n, K_SMALL))
    b = rng.uniform(size=(n, K_SMALL))
    x, row, matrix = saltelli_layout(a, b)
    gain = 0.2 + 0.8 * x[:, 0]
    compensation = np.exp(np.log(0.01) + x[:, 1] * (np.log(2.0) - np.log(0.01)))
    return gain, compensation, row, matrix


def small_metrics(gain, compensation, seed=8):
    """net_value per month t = 1..3: base = g_t(x) + noise; copy = base; other = base + h_t(x); h_only = h_t(x).

    The noise of a replication is shared by the policies of a point, as under common random numbers.
    """
    rng = np.random.default_rng(seed)
    p = len(gain)
    net = np.zeros((p, len(POLICIES), R_SMALL, 4))
    for t in (1, 2, 3):
        g = t * gain + np.log(compensation) / t
        h = gain * compensation * t
        noise = rng.normal(0.0, 0.3, (p, R_SMALL))
        base = g[:, None] + noise
        net[:, 0, :, t] = base
        net[:, 1, :, t] = base
        net[:, 2, :, t] = base + h[:, None]
        net[:, 3, :, t] = h[:, None]
    return net


SMALL_PARAMS = ("model.gain", "policies.fast.compensation")


def write_small(path, keep=None, **kw):
    """The small file, or with ``keep`` (positions) a file of just those points."""
    gain, compensation, row, matrix = small_design()
    net = small_metrics(gain, compensation)
    keep = np.arange(len(gain)) if keep is None else np.asarray(keep)
    params = {
        SMALL_PARAMS[0]: Param(gain[keep]),
        SMALL_PARAMS[1]: Param(compensation[keep], kind="log_range"),
    }
    kw.setdefault("saltelli", (row[keep], matrix[keep]))
    return write_sweep(path, {"net_value": net[keep]}, params, design="sobol", policies=POLICIES,
                       base_points=N_SMALL, points_total=len(gain), **kw)  # fmt: skip


@pytest.fixture(scope="module")
def small_path(tmp_path_factory):
    return write_small(tmp_path_factory.mktemp("small") / "small.h5")


def sobol_by_definition(y):
    """S1, ST of Saltelli rows y (row, k + 2), straight from the formulas."""
    a, b, ab = y[:, 0], y[:, 1], y[:, 2:]
    v = np.var(np.concatenate([a, b]))
    m = np.concatenate([a, b]).mean()
    s1 = [np.mean((b - m) * (ab[:, i] - a)) / v for i in range(ab.shape[1])]
    st = [np.mean((a - ab[:, i]) ** 2) / (2 * v) for i in range(ab.shape[1])]
    return np.array(s1 + st)


def test_bootstrap_follows_the_stated_procedure(small_path):
    """Replays the documented bootstrap: rows then replications from default_rng(seed), one
    replication draw shared by every point, percentile bounds with numpy's default quantile."""
    bootstrap, seed = 60, 11
    with loyalsim.open(small_path) as ds:
        result = loyalsim.sensitivity(ds, policy="base", bootstrap=bootstrap, seed=seed)
        values = ds["net_value"].sel(policy="base").values[:, :, 1:].sum(axis=-1)  # (point, replication), t = 3
    y_rows = values.reshape(N_SMALL, K_SMALL + 2, R_SMALL)  # complete file: point j (k+2) + m
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, N_SMALL, size=(bootstrap, N_SMALL))
    reps = rng.integers(0, R_SMALL, size=(bootstrap, R_SMALL))
    replicates = np.array([sobol_by_definition(y_rows[rows[b]][:, :, reps[b]].mean(axis=-1)) for b in range(bootstrap)])
    np.testing.assert_allclose(result["estimate"], sobol_by_definition(y_rows.mean(axis=-1)), rtol=1e-12)
    np.testing.assert_allclose(result["ci_low"], np.quantile(replicates, 0.025, axis=0), rtol=1e-12)
    np.testing.assert_allclose(result["ci_high"], np.quantile(replicates, 0.975, axis=0), rtol=1e-12)
    # noise share: mean over points of var(ddof=1)/R, over the variance of the point means (ddof=1)
    expected_noise = (values.var(axis=1, ddof=1) / R_SMALL).mean() / values.mean(axis=1).var(ddof=1)
    assert result.attrs["noise_share"][("base", 3)] == pytest.approx(expected_noise, rel=1e-12)


def test_same_seed_same_result_other_seed_other_intervals(small_path):
    with loyalsim.open(small_path) as ds:
        one = loyalsim.sensitivity(ds, policy="other", bootstrap=50, seed=3)
        again = loyalsim.sensitivity(ds, policy="other", bootstrap=50, seed=3)
        other = loyalsim.sensitivity(ds, policy="other", bootstrap=50, seed=4)
    pd.testing.assert_frame_equal(one, again)
    np.testing.assert_array_equal(one["estimate"], other["estimate"])
    assert not np.allclose(one["ci_low"], other["ci_low"])


def test_partial_sobol_file_uses_only_complete_rows(small_path, tmp_path):
    """A snapshot holding rows 0, 1, 2, 5 whole, row 3 without its last point and nothing else,
    in shuffled order, gives exactly the indices of a file of rows 0, 1, 2, 5 alone."""
    group = K_SMALL + 2
    rows = [0, 1, 2, 5]
    whole = np.concatenate([np.arange(j * group, (j + 1) * group) for j in rows])
    keep = np.random.default_rng(0).permutation(np.concatenate([whole, np.arange(3 * group, 4 * group - 1)]))
    partial = tmp_path / "sweep.h5.partial"
    write_small(partial, keep=keep, points=keep, complete=0)
    reference = write_small(tmp_path / "rows.h5", keep=whole, points=whole)
    with pytest.warns(loyalsim.PartialResultsWarning, match=f"{len(keep)} of {N_SMALL * group} points"):
        ds = loyalsim.open(tmp_path / "sweep.h5", partial=True)
    with ds, loyalsim.open(reference) as ref:
        got = loyalsim.sensitivity(ds, month="all", bootstrap=40)
        expected = loyalsim.sensitivity(ref, month="all", bootstrap=40)
        # Without saltelli_row/matrix the rows come from the design indices p = j (k+2) + m.
        derived = loyalsim.sensitivity(ds.drop_vars(["saltelli_row", "saltelli_matrix"]), month="all", bootstrap=40)
    pd.testing.assert_frame_equal(got, expected, rtol=1e-13)
    pd.testing.assert_frame_equal(derived, expected, rtol=1e-13)
    assert got.attrs["rows"] == 4 and got.attrs["points"] == 4 * group


def test_too_few_complete_rows(tmp_path):
    keep = np.arange(K_SMALL + 2 + 1)  # row 0 and one point of row 1
    write_small(tmp_path / "few.h5.partial", keep=keep, points=keep, complete=0)
    with pytest.warns(loyalsim.PartialResultsWarning), loyalsim.open(tmp_path / "few.h5", partial=True) as ds:
        with pytest.raises(ValueError, match="at least 2 complete Saltelli rows; this dataset has 1"):
            loyalsim.sensitivity(ds)


def test_time_resolved_shape(small_path):
    with loyalsim.open(small_path) as ds:
        result = loyalsim.sensitivity(ds, month="all", bootstrap=20)
    assert list(result.columns) == ["policy", "month", "parameter", "index", "estimate", "ci_low", "ci_high"]
    assert len(result) == len(POLICIES) * 3 * 2 * K_SMALL  # policies × months 1..3 × (S1, ST) × parameters
    assert sorted(result["month"].unique()) == [1, 2, 3]  # month 0, the initial state, is left out
    assert set(result.attrs["noise_share"]) == {(p, m) for p in POLICIES for m in (1, 2, 3)}
    per_block = result.groupby(["policy", "month", "index"]).size()
    assert (per_block == K_SMALL).all()


def test_contrast_analyses_the_paired_difference(small_path):
    """other − base is exactly h(x): its indices are those of the noiseless h_only policy's level.
    copy − base is 0 at every point: nothing to apportion, so every index is NaN (decided: not 0)."""
    with loyalsim.open(small_path) as ds:
        contrast = loyalsim.sensitivity(ds, contrast=True, bootstrap=30)
        level = loyalsim.sensitivity(ds, policy=["other", "h_only"], bootstrap=30)
        baseline = loyalsim.sensitivity(ds, policy="base", contrast=True, bootstrap=30)
    assert list(contrast["policy"].unique()) == ["copy", "other", "h_only"]  # the baseline is left out
    by = {p: g.reset_index(drop=True) for p, g in contrast.groupby("policy", sort=False)}
    h_level = level[level["policy"] == "h_only"].reset_index(drop=True)
    np.testing.assert_allclose(by["other"]["estimate"], h_level["estimate"], rtol=1e-9)
    np.testing.assert_allclose(by["other"]["ci_low"], h_level["ci_low"], rtol=1e-9)
    assert by["copy"][["estimate", "ci_low", "ci_high"]].isna().all().all()
    assert baseline[["estimate", "ci_low", "ci_high"]].isna().all().all()
    # The shared noise cancels in the paired difference, not in the level.
    assert contrast.attrs["noise_share"][("other", 3)] < 1e-20
    assert level.attrs["noise_share"][("other", 3)] > 1e-3  # ≈ 0.07 noise variance / ≈ 8 between points
    assert np.isnan(contrast.attrs["noise_share"][("copy", 3)])
    assert contrast.attrs["contrast"] and contrast.attrs["outcome"].startswith("paired difference to base")


# -------------------------------------------------------------- regression

P_REG = 200
CHOICES = ["satisfaction_only", "behavioural", "both"]  # deliberately not in sorted order
COEF = {"model.gain": 3.0, "wom.advertising": -2.0, "model.paradox_scope": 0.7, "wom.strong_ties": 0.1}


def regression_inputs(seed=21):
    """Parameter values, and the regression's X: log value for the log range, choice index for choices."""
    rng = np.random.default_rng(seed)
    gain = rng.uniform(0.2, 1.0, P_REG)
    advertising = np.exp(rng.uniform(np.log(1e-4), np.log(1e-2), P_REG))
    scope = rng.integers(0, 3, P_REG)
    ties = rng.choice([4, 6, 8, 10, 12], P_REG).astype(np.int64)
    params = {
        "model.gain": Param(gain),
        "wom.advertising": Param(advertising, kind="log_range"),
        "model.paradox_scope": Param(np.array(CHOICES, dtype=object)[scope], kind="choices", choices=CHOICES),
        "wom.strong_ties": Param(ties),
        "model.fixed": Param(np.full(P_REG, 0.5), kind="values"),  # constant: its indices are NaN
    }
    x = np.column_stack([gain, np.log(advertising), scope.astype(float), ties.astype(float)])
    return params, x


@pytest.fixture(scope="module")
def regression_file(tmp_path_factory):
    """LHS-like sweep, 2 identical replications, metrics:
    net_value (flow): the linear model in month 1, nothing after;
    revenue (flow): a noisy non-linear model in month 1;
    active (stock): exp(linear / 4) in month 1 (monotone in it), 7 everywhere in month 2 (constant)."""
    params, x = regression_inputs()
    linear = x @ np.array(list(COEF.values()))
    rng = np.random.default_rng(22)
    nonlinear = np.sin(3 * x[:, 0]) + 0.3 * x[:, 1] ** 2 + 0.2 * x[:, 2] * x[:, 3] + rng.normal(0, 0.3, P_REG)
    shape = (P_REG, 1, 2, 3)
    net, revenue, active = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    net[:, 0, :, 1] = linear[:, None]
    revenue[:, 0, :, 1] = nonlinear[:, None]
    active[:, 0, :, 1] = np.exp(linear / 4)[:, None]
    active[:, 0, :, 2] = 7.0
    path = tmp_path_factory.mktemp("regression") / "lhs.h5"
    write_sweep(path, {"net_value": net, "revenue": revenue, "active": active}, params,
                design="lhs", metric_kind={"active": "stock"})  # fmt: skip
    return path, x, linear, nonlinear


def ranks_by_definition(v):
    """1-based ranks, ties averaged: (number smaller) + (number equal + 1) / 2."""
    v = np.asarray(v)
    return np.array([(v < e).sum() + ((v == e).sum() + 1) / 2 for e in v])


def src_by_definition(x, y):
    design = np.column_stack([np.ones(len(y)), x])
    b = np.linalg.lstsq(design, y, rcond=None)[0][1:]
    fitted = design @ np.linalg.lstsq(design, y, rcond=None)[0]
    r2 = 1 - np.sum((y - fitted) ** 2) / np.sum((y - y.mean()) ** 2)
    return b * x.std(axis=0, ddof=1) / y.std(ddof=1), r2


def prcc_by_definition(x, y):
    """Correlation of the residuals of rank(x_i) and rank(y), each fitted (with intercept) on the other ranks."""
    rx = np.column_stack([ranks_by_definition(c) for c in x.T])
    ry = ranks_by_definition(y)
    out = []
    for i in range(x.shape[1]):
        others = np.column_stack([np.ones(len(y)), np.delete(rx, i, axis=1)])
        resid = lambda v: v - others @ np.linalg.lstsq(others, v, rcond=None)[0]  # noqa: E731
        out.append(np.corrcoef(resid(rx[:, i]), resid(ry))[0, 1])
    return np.array(out)


def table(result, index):
    return result[result["index"] == index].set_index("parameter")["estimate"]


def test_src_of_a_linear_model_is_b_sd_x_over_sd_y(regression_file):
    path, x, linear, _ = regression_file
    with loyalsim.open(path) as ds:
        result = loyalsim.sensitivity(ds, bootstrap=20)
    assert result.attrs["method"] == "regression"
    src = table(result, "SRC")
    expected = np.array(list(COEF.values())) * x.std(axis=0, ddof=1) / linear.std(ddof=1)
    # The log transform and the choice index (in sweep_choices order, not sorted) are part of the check.
    np.testing.assert_allclose(src[list(COEF)], expected, rtol=0, atol=1e-10)
    assert result.attrs["r_squared"][("policy0", 2)] == pytest.approx(1.0, abs=1e-12)
    assert np.isnan(src["model.fixed"]) and np.isnan(table(result, "PRCC")["model.fixed"])


def test_src_and_prcc_match_their_definitions_on_a_noisy_nonlinear_model(regression_file):
    path, x, _, nonlinear = regression_file
    with loyalsim.open(path) as ds:
        result = loyalsim.sensitivity(ds, metric="revenue", bootstrap=20)
    src, r2 = src_by_definition(x, nonlinear)
    np.testing.assert_allclose(table(result, "SRC")[list(COEF)], src, rtol=0, atol=1e-10)
    np.testing.assert_allclose(table(result, "PRCC")[list(COEF)], prcc_by_definition(x, nonlinear), rtol=0, atol=1e-10)
    assert result.attrs["r_squared"][("policy0", 2)] == pytest.approx(r2, abs=1e-10)
    assert 0.3 < r2 < 0.99  # a real test: neither a perfect nor a useless fit


def test_prcc_is_invariant_under_a_monotone_transform_and_src_is_not(regression_file):
    """active = exp(linear / 4) has the same ranks as the linear net_value, so the same PRCCs."""
    path, *_ = regression_file
    with loyalsim.open(path) as ds:
        linear = loyalsim.sensitivity(ds, month=1, bootstrap=20)
        monotone = loyalsim.sensitivity(ds, metric="active", month=1, bootstrap=20)
        constant = loyalsim.sensitivity(ds, metric="active", month=2, bootstrap=20)
    np.testing.assert_allclose(table(monotone, "PRCC"), table(linear, "PRCC"), rtol=0, atol=1e-12)
    np.testing.assert_allclose(monotone["ci_low"][monotone["index"] == "PRCC"],
                               linear["ci_low"][linear["index"] == "PRCC"], atol=1e-12)  # fmt: skip
    assert np.nanmax(np.abs(table(monotone, "SRC") - table(linear, "SRC"))) > 0.01
    # A stock is taken at month t, not summed: at month 2 it is 7 everywhere, so nothing is defined.
    assert constant[["estimate", "ci_low", "ci_high"]].isna().all().all()
    assert np.isnan(constant.attrs["r_squared"][("policy0", 2)])


def test_average_ranks_matches_the_definition():
    v = np.array([3.0, 1.0, 3.0, 2.0, 3.0, 1.0, 5.0])
    from loyalsim.sensitivity import average_ranks

    np.testing.assert_array_equal(average_ranks(v), ranks_by_definition(v))
    m = np.column_stack([v, v[::-1]])
    np.testing.assert_array_equal(average_ranks(m, axis=0)[:, 1], ranks_by_definition(v[::-1]))


def test_noise_share_estimates_the_injected_noise(tmp_path):
    """Y_point = gain (1000 grid points) + mean of R = 10 draws of N(0, σ²), σ² chosen so that the
    noise variance σ²/R is a third of the grid's variance: expected share 1/4.

    Standard errors (normal theory): the numerator, a mean of 1000 sample variances with 9 degrees of
    freedom, has relative error sqrt(2/9000) ≈ 0.015; the denominator's noise part and its cross term
    with the grid add ≈ 0.011 and ≈ 0.027 relative; so the share's standard error is ≈ 0.25 · 0.033
    ≈ 0.008. The bound 0.035 is over 4 standard errors.
    """
    p, r = 1000, 10
    gain = np.linspace(0.0, 1.0, p)
    var_grid = gain.var(ddof=1)
    sigma = np.sqrt(r * var_grid / 3)
    rng = np.random.default_rng(5)
    net = np.zeros((p, 1, r, 2))
    net[:, 0, :, 1] = gain[:, None] + rng.normal(0, sigma, (p, r))
    write_sweep(tmp_path / "noise.h5", {"net_value": net}, {"model.gain": Param(gain)}, design="grid")
    net_flat = net.copy()
    net_flat[:, 0, :, 1] = gain[:, None]  # the same grid without noise
    write_sweep(tmp_path / "flat.h5", {"net_value": net_flat}, {"model.gain": Param(gain)}, design="grid")
    with loyalsim.open(tmp_path / "noise.h5") as ds, loyalsim.open(tmp_path / "flat.h5") as flat:
        noisy = loyalsim.sensitivity(ds, bootstrap=0).attrs["noise_share"][("policy0", 1)]
        clean = loyalsim.sensitivity(flat, bootstrap=0).attrs["noise_share"][("policy0", 1)]
        single = loyalsim.sensitivity(ds.isel(replication=[0]), bootstrap=0).attrs["noise_share"][("policy0", 1)]
    assert noisy == pytest.approx(0.25, abs=0.035)
    assert clean < 1e-25  # identical replications: zero up to the rounding of their mean
    assert np.isnan(single)  # one replication cannot tell noise from signal


def test_replications_are_resampled_together_for_all_points(regression_file, tmp_path):
    """With values = signal + e[point, r], e summing to 0 over r at every point, the point means (and
    so the estimates) are the signal's, but resampling replications must widen the intervals.
    With values = signal + c[r], a shift common to all points (common random numbers), every
    resample's point means are signal + a constant: SRC and PRCC do not move, and the intervals
    equal the noiseless ones exactly, which they would not if each point drew its own replications."""
    _, x, linear, _ = regression_file
    params, _ = regression_inputs()
    rng = np.random.default_rng(9)
    r = 4
    e = rng.normal(0, 1.0, (P_REG, r))
    e -= e.mean(axis=1, keepdims=True)
    c = rng.normal(0, 5.0, r)
    files = {}
    for name, noise in {"clean": 0.0, "centred": e, "common": np.broadcast_to(c, (P_REG, r))}.items():
        net = np.zeros((P_REG, 1, r, 2))
        net[:, 0, :, 1] = linear[:, None] + noise
        files[name] = write_sweep(tmp_path / f"{name}.h5", {"net_value": net}, params, design="random")
    results = {}
    for name, path in files.items():
        with loyalsim.open(path) as ds:
            results[name] = loyalsim.sensitivity(ds, bootstrap=50, seed=1)
    clean, centred, common = results["clean"], results["centred"], results["common"]
    np.testing.assert_allclose(centred["estimate"], clean["estimate"], atol=1e-9)
    width = lambda res: (res["ci_high"] - res["ci_low"]).to_numpy()  # noqa: E731
    src = (clean["index"] == "SRC") & clean["estimate"].notna()
    assert np.all(width(centred)[src] > width(clean)[src])
    np.testing.assert_allclose(common[["estimate", "ci_low", "ci_high"]], clean[["estimate", "ci_low", "ci_high"]],
                               atol=1e-9)  # fmt: skip


# ------------------------------------------------------------------ errors


def test_clear_errors(small_path, regression_file, tmp_path):
    one = write_sweep(tmp_path / "one.h5", {"net_value": np.zeros((1, 1, 2, 3))}, {}, design="none")
    with loyalsim.open(small_path) as ds:
        with pytest.raises(ValueError, match=r"unknown metric 'profit'.*net_value"):
            loyalsim.sensitivity(ds, metric="profit")
        with pytest.raises(ValueError, match="unknown policy 'nope'.*; this file has base, copy"):
            loyalsim.sensitivity(ds, policy="nope")
        with pytest.raises(ValueError, match="month 9 is outside"):
            loyalsim.sensitivity(ds, month=9)
        with pytest.raises(ValueError, match="'all'"):
            loyalsim.sensitivity(ds, month="last")
        with pytest.raises(ValueError, match="unknown method 'morris'"):
            loyalsim.sensitivity(ds, method="morris")
        with pytest.raises(ValueError, match="narrowed to one point"):
            loyalsim.sensitivity(ds.isel(point=0))
        with pytest.raises(ValueError, match="confidence"):
            loyalsim.sensitivity(ds, confidence=95)
        regression = loyalsim.sensitivity(ds, method="regression", bootstrap=0)  # any design allows regression
        assert set(regression["index"]) == {"SRC", "PRCC"}
        with pytest.raises(ValueError, match="more points than parameters"):
            loyalsim.sensitivity(ds.isel(point=slice(0, 4)), method="regression")
    with loyalsim.open(regression_file[0]) as ds:
        with pytest.raises(ValueError, match="need a Saltelli design.*'lhs'.*method='regression'"):
            loyalsim.sensitivity(ds, method="sobol")
    with loyalsim.open(one) as ds:
        with pytest.raises(ValueError, match="holds no sweep"):
            loyalsim.sensitivity(ds)


# ------------------------------------------------ the engine computes the same


def engine_sensitivity(engine, path, *args):
    proc = subprocess.run([str(engine), "sensitivity", str(path), "--csv", "--bootstrap", "0", *args],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    from io import StringIO

    return pd.read_csv(StringIO(proc.stdout), na_values=["nan", "-nan"])


@pytest.mark.parametrize(
    "which, kwargs, args",
    [
        ("small", dict(month="all"), ["--month", "all"]),
        ("small", dict(contrast=True, policy="other"), ["--contrast", "--policy", "other"]),
        ("regression", dict(month="all"), ["--month", "all"]),
        ("regression", dict(metric="active", month=1), ["--metric", "active", "--month", "1"]),
    ],
)
def test_point_estimates_match_the_engine(engine, small_path, regression_file, which, kwargs, args):
    help_text = subprocess.run([str(engine), "sensitivity", "--help"], capture_output=True, text=True)
    if help_text.returncode != 0:
        pytest.skip("this engine build has no `loyalsim sensitivity`")
    path = small_path if which == "small" else regression_file[0]
    theirs = engine_sensitivity(engine, path, *args)
    with loyalsim.open(path) as ds:
        ours = loyalsim.sensitivity(ds, bootstrap=0, **kwargs)
    key = ["policy", "month", "parameter", "index"]
    assert ours[key].astype(str).values.tolist() == theirs[key].astype(str).values.tolist()
    np.testing.assert_allclose(ours["estimate"], theirs["estimate"], rtol=1e-9, atol=1e-12)
