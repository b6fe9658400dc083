"""Calibration files (docs/calibration.md): open, summarise and plot what ``loyalsim calibrate`` found.

>>> ds = loyalsim.calibrate("experiments/my-market.toml")          # doctest: +SKIP
>>> ds = loyalsim.open_calibration("results/my-market.h5")         # doctest: +SKIP
>>> loyalsim.calibration_summary(ds)        # prior and posterior intervals, contraction, fit  # doctest: +SKIP
>>> loyalsim.plot_posterior(ds)             # marginals and pairs                            # doctest: +SKIP
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import xarray as xr

from ._io import FormatError, _major, _text
from .runner import RunError, find_engine

CALIBRATION_FORMAT = "loyalsim-calibration"
CALIBRATION_MAJOR = 1
_WITHIN = 2.0  # |misfit| <= 2 is within tolerance (the engine's kWithinMisfit)


def open_calibration(path: str | os.PathLike) -> xr.Dataset:
    """Opens a calibration file written by ``loyalsim calibrate`` as an ``xarray.Dataset``.

    Dimensions ``generation``, ``particle``, ``parameter``, ``target`` and
    ``draw`` (abc-smc), or ``evaluation``, ``parameter``, ``target`` and one
    ``draw`` (optimize). Raises ``FileNotFoundError`` for a missing path and
    ``loyalsim.FormatError`` for a file that is not a calibration file (a
    results file included).
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"no such calibration file: {path}")
    if path.is_dir() or not h5py.is_hdf5(path):
        raise FormatError(f"{path} is not an HDF5 file, so it is not a loyalsim calibration file")
    with h5py.File(path, "r") as f:
        fmt, version = _text(f.attrs.get("format")), _text(f.attrs.get("format_version"))
    if fmt != CALIBRATION_FORMAT:
        found = "no 'format' attribute" if fmt is None else f"its format is {fmt!r}"
        raise FormatError(f"{path} is not a loyalsim calibration file ({found}; expected {CALIBRATION_FORMAT!r})")
    if _major(version) != CALIBRATION_MAJOR:
        raise FormatError(f"{path} is {fmt} version {version}; this package reads version {CALIBRATION_MAJOR}.x")
    return xr.open_dataset(path, engine="h5netcdf")


def calibrate(experiment, output=None, *, threads: int | None = None, force: bool = True, progress: bool = True) -> xr.Dataset:
    """Runs ``loyalsim calibrate`` on an experiment file and opens the calibration file.

    Exit status 3 (the fit stopped short, or a target is missed) still
    returns the file: :func:`calibration_summary` says what is missed. Other
    failures raise :class:`loyalsim.RunError` with the engine's messages.
    """
    toml_path = Path(experiment).expanduser()
    cmd = [str(find_engine()), "calibrate", str(toml_path)]
    if output is not None:
        cmd += ["-o", str(output)]
    if force:
        cmd.append("--force")
    if threads is not None:
        cmd += ["--threads", str(int(threads))]
    if not progress:
        cmd.append("--quiet")
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if progress:
        sys.stderr.write(proc.stderr)
    if proc.returncode not in (0, 3):
        lines = proc.stderr.splitlines()
        raise RunError(f"loyalsim calibrate failed (exit code {proc.returncode}): {' '.join(cmd)}\n" +
                       "\n".join(lines[-40:]), proc.returncode, lines)
    written = [line.split(": ", 1)[1] for line in proc.stdout.splitlines() if line.startswith("calibration: ")]
    return open_calibration(written[-1] if written else output)


def _prior_interval(kind: str, a: float, b: float) -> tuple[float, float]:
    if kind == "uniform":
        return a + 0.025 * (b - a), a + 0.975 * (b - a)
    if kind == "loguniform":
        la, lb = np.log(a), np.log(b)
        return float(np.exp(la + 0.025 * (lb - la))), float(np.exp(la + 0.975 * (lb - la)))
    return a - 1.959963984540054 * b, a + 1.959963984540054 * b


def calibration_summary(ds: xr.Dataset) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two tables: per parameter its prior and posterior 95% intervals and contraction;
    per target its tolerance, posterior-predictive mean and interval, and whether it is met.

    The numbers are the file's own (computed by the engine from the final
    generation's weighted particles); the prior intervals are recomputed
    here from the prior specs as a check. ``met`` is |misfit of the
    predictive mean| <= 2, ``within`` the predictive share of runs within it.
    """
    params = pd.DataFrame({
        "prior": [str(k) for k in ds["prior_kind"].values],
        "prior_low": ds["prior_low"].values,
        "prior_high": ds["prior_high"].values,
        "posterior_mean": ds["posterior_mean"].values,
        "posterior_low": ds["posterior_low"].values,
        "posterior_high": ds["posterior_high"].values,
        "contraction": ds["contraction"].values,
    }, index=pd.Index([str(p) for p in ds["parameter"].values], name="parameter"))
    targets = pd.DataFrame({
        "quantity": [str(q) for q in ds["target_quantity"].values],
        "policy": [str(p) for p in ds["target_policy"].values],
        "kind": [str(k) for k in ds["target_kind"].values],
        "value": ds["target_value"].values,
        "sd": ds["target_sd"].values,
        "low": ds["target_low"].values,
        "high": ds["target_high"].values,
        "predictive_mean": ds["predictive_mean"].values,
        "predictive_low": ds["predictive_low"].values,
        "predictive_high": ds["predictive_high"].values,
        "within": ds["predictive_within"].values,
        "misfit": ds["predictive_misfit"].values,
    }, index=pd.Index([str(t) for t in ds["target"].values], name="target"))
    targets["met"] = targets["misfit"].abs() <= _WITHIN
    return params, targets


def _posterior_samples(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """The final generation's particles and normalised weights (optimize: the draws, equal weights)."""
    if "theta" in ds:
        theta = ds["theta"].isel(generation=-1).values
        w = np.exp(ds["log_weight"].isel(generation=-1).values)
        return theta, w / w.sum()
    draws = ds["posterior_draws"].values
    return draws, np.full(len(draws), 1.0 / len(draws))


def plot_posterior(ds: xr.Dataset, *, bins: int = 25):
    """Marginals (diagonal: weighted histogram, prior 95% interval shaded) and pairs (below: weighted scatter)."""
    from .plots import _figure

    theta, w = _posterior_samples(ds)
    names = [str(p) for p in ds["parameter"].values]
    d = len(names)
    fig, axes = _figure(d, d, figsize=(2.6 * d + 1, 2.4 * d + 0.5))
    for i in range(d):
        for j in range(d):
            ax = axes[i][j]
            if j > i:
                ax.set_axis_off()
                continue
            if i == j:
                ax.hist(theta[:, i], bins=bins, weights=w, color="tab:blue", alpha=0.8)
                ax.axvspan(float(ds["prior_low"][i]), float(ds["prior_high"][i]), color="0.9", zorder=0, label="prior 95%")
                ax.set_yticks([])
            else:
                ax.scatter(theta[:, j], theta[:, i], s=8 + 400 * w, alpha=0.5, color="tab:blue")
            if i == d - 1:
                ax.set_xlabel(names[j], fontsize=8)
            if j == 0 and i > 0:
                ax.set_ylabel(names[i], fontsize=8)
    fig.suptitle(f"posterior of {ds.attrs.get('experiment_name', '')} ({ds.attrs.get('method', '')})")
    return fig


def plot_generations(ds: xr.Dataset):
    """Temperature, effective sample size and acceptance rate per generation (abc-smc)."""
    from .plots import _figure

    if "temperature" not in ds:
        raise ValueError("an optimize calibration has no generations; see ds['trace_objective']")
    fig, axes = _figure(1, 3, figsize=(11, 3.2))
    g = ds["generation"].values
    temperature = np.where(np.isfinite(ds["temperature"].values), ds["temperature"].values, np.nan)
    for ax, values, label in ((axes[0][0], temperature, "temperature (generation 0: the prior)"),
                              (axes[0][1], ds["ess"].values, "effective sample size"),
                              (axes[0][2], ds["acceptance_rate"].values, "acceptance rate")):
        ax.plot(g, values, marker="o")
        ax.set_xlabel("generation")
        ax.set_title(label, fontsize=10)
    axes[0][0].set_yscale("log")
    return fig


def plot_predictive(ds: xr.Dataset, *, bins: int = 25):
    """Each target's posterior-predictive distribution (the final particles' simulated values) against its tolerance band."""
    from .plots import _figure

    names = [str(t) for t in ds["target"].values]
    ncols = min(3, len(names))
    nrows = -(-len(names) // ncols)
    fig, axes = _figure(nrows, ncols, figsize=(4 * ncols, 3 * nrows))
    _, w = _posterior_samples(ds)
    for k, name in enumerate(names):
        ax = axes[k // ncols][k % ncols]
        kind = str(ds["target_kind"].values[k])
        if kind == "value":
            v, sd = float(ds["target_value"][k]), float(ds["target_sd"][k])
            low, high = v - _WITHIN * sd, v + _WITHIN * sd
            ax.axvline(v, color="black", lw=1)
        else:
            soft = float(ds["target_soft"][k])
            low = float(ds["target_low"][k]) - _WITHIN * soft if kind in ("at_least", "range") else -np.inf
            high = float(ds["target_high"][k]) + _WITHIN * soft if kind in ("at_most", "range") else np.inf
        if "target_sim" in ds:
            sim = ds["target_sim"].isel(generation=-1).values[:, k]
            ok = np.isfinite(sim)
            ax.hist(sim[ok], bins=bins, weights=w[ok], color="tab:blue", alpha=0.8)
        else:
            ax.axvline(float(ds["predictive_mean"][k]), color="tab:blue", lw=2)
        lo, hi = ax.get_xlim()
        ax.axvspan(max(low, lo), min(high, hi), color="tab:green", alpha=0.15, zorder=0, label="tolerance")
        ax.set_title(f"{name}: {ds['target_quantity'].values[k]}", fontsize=9)
        ax.set_yticks([])
    for k in range(len(names), nrows * ncols):
        axes[k // ncols][k % ncols].set_axis_off()
    return fig
