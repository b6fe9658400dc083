"""Opening results files (docs/results-format.md) as xarray datasets."""
from __future__ import annotations

import os
from pathlib import Path

import h5py
import xarray as xr

FORMAT = "loyalsim-results"
SUPPORTED_MAJOR = 1
REQUIRED_DIMS = ("point", "policy", "replication", "month")


class FormatError(ValueError):
    """The file exists but is not a loyalsim results file this package can read."""


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def open_results(path: str | os.PathLike) -> xr.Dataset:
    """Opens a results file written by ``loyalsim run`` as a lazily loaded ``xarray.Dataset``.

    Only coordinates are read up front; a variable is read when it is used
    (and only the part that is selected). Close the dataset, or use it as a
    context manager, to release the file.

    Raises ``FileNotFoundError`` for a missing path, ``IsADirectoryError`` for
    a folder and ``loyalsim.FormatError`` for a file that is not a loyalsim
    results file (not HDF5, another HDF5 file, or an unknown major version of
    the format).

    >>> ds = loyalsim.open("results/policy-comparison.h5")   # doctest: +SKIP
    >>> ds["cohort_active_mean"].sel(month=12).to_pandas()     # doctest: +SKIP
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"no such results file: {path}")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a loyalsim results file")
    if not h5py.is_hdf5(path):
        raise FormatError(f"{path} is not an HDF5 file, so it is not a loyalsim results file")
    try:
        with h5py.File(path, "r") as f:
            fmt = _text(f.attrs.get("format"))
            version = _text(f.attrs.get("format_version"))
    except OSError as e:
        raise FormatError(f"{path} cannot be read as HDF5 (truncated or still being written?): {e}") from e
    if fmt != FORMAT:
        found = "no 'format' attribute" if fmt is None else f"its format is {fmt!r}"
        raise FormatError(f"{path} is not a loyalsim results file ({found}; expected {FORMAT!r})")
    major = _major(version)
    if major is None:
        raise FormatError(f"{path}: malformed format_version {version!r} (expected MAJOR.MINOR, e.g. '1.0')")
    if major != SUPPORTED_MAJOR:
        raise FormatError(
            f"{path} is {FORMAT} version {version}; this loyalsim package reads version "
            f"{SUPPORTED_MAJOR}.x only. Use a loyalsim package that matches the engine that wrote it."
        )
    ds = xr.open_dataset(path, engine="h5netcdf")
    missing = [d for d in REQUIRED_DIMS if d not in ds.dims]
    if missing:
        ds.close()
        raise FormatError(f"{path} claims to be {FORMAT} {version} but lacks the dimension(s) {', '.join(missing)}")
    return ds


def _major(version: str | None) -> int | None:
    if not version:
        return None
    head, _, minor = version.strip().partition(".")
    if not head.isdigit() or (minor and not minor.isdigit()) or not minor:
        return None
    return int(head)
