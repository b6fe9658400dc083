"""Opening results files (docs/results-format.md) as xarray datasets."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import h5py
import xarray as xr

from ._stats import SALTELLI, sweep_parameters

FORMAT = "loyalsim-results"
SUPPORTED_MAJOR = 1
REQUIRED_DIMS = ("point", "policy", "replication", "month")


class FormatError(ValueError):
    """The file exists but is not a loyalsim results file this package can read."""


class PartialResultsWarning(UserWarning):
    """The opened file is a snapshot of a sweep in progress (or stopped): only some of its points."""


def snapshot_path(path: str | os.PathLike) -> Path:
    """Where the engine publishes the finished points of a running sweep: ``<path>.partial``."""
    path = Path(path)
    return path.with_name(path.name + ".partial")


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def open_results(path: str | os.PathLike, partial: bool = False) -> xr.Dataset:
    """Opens a results file written by ``loyalsim run`` as a lazily loaded ``xarray.Dataset``.

    Only coordinates are read up front; a variable is read when it is used
    (and only the part that is selected). Close the dataset, or use it as a
    context manager, to release the file.

    While a sweep runs, the engine publishes the points finished so far as
    ``<path>.partial`` and ``path`` appears only at the end. Without
    ``partial`` a missing ``path`` is an error even when the snapshot exists
    (saying how many points it holds), so that nobody analyses half a sweep
    by accident; with ``partial=True`` the final file is opened if it exists,
    else the snapshot. Opening a snapshot (``complete = 0``) warns with
    :class:`PartialResultsWarning`; its ``point`` coordinate holds the design
    indices of the points it has. The snapshot is replaced atomically as
    points finish: an open dataset keeps reading the version it opened.

    The swept parameters are coordinates on ``point`` (the engine asks for
    that with the CF ``coordinates`` attribute; they are set here too, from
    ``sweep_parameters``, for readers that skip it).

    Raises ``FileNotFoundError`` for a missing path, ``IsADirectoryError`` for
    a folder and ``loyalsim.FormatError`` for a file that is not a loyalsim
    results file (not HDF5, another HDF5 file, or an unknown major version of
    the format).

    >>> ds = loyalsim.open("results/policy-comparison.h5")   # doctest: +SKIP
    >>> ds["cohort_active_mean"].sel(month=12).to_pandas()     # doctest: +SKIP
    >>> ds = loyalsim.open("results/sweep.h5", partial=True)  # doctest: +SKIP
    """
    path = _existing(Path(path).expanduser(), partial)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory, not a loyalsim results file")
    if not h5py.is_hdf5(path):
        raise FormatError(f"{path} is not an HDF5 file, so it is not a loyalsim results file")
    try:
        with h5py.File(path, "r") as f:
            fmt = _text(f.attrs.get("format"))
            version = _text(f.attrs.get("format_version"))
    except OSError as e:
        raise FormatError(_unopenable(path)) from e
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
    ds = _sweep_coordinates(ds)
    if int(ds.attrs.get("complete", 1)) == 0:
        warnings.warn(
            f"{path} is a snapshot of a sweep in progress (or stopped): it holds {_progress(ds.attrs)} "
            f"(ds['point'] lists their design indices)",
            PartialResultsWarning,
            stacklevel=2,  # the caller's line
        )
    return ds


def _unopenable(path: Path) -> str:
    """Why HDF5 will not open a file that starts like one, in the engine's words (engine/hdf5.cpp)."""
    size, recorded = path.stat().st_size, recorded_size(path)
    if recorded is not None and size < recorded:
        return (f"{path} is not a complete HDF5 file: it has {size} of the {recorded} bytes its header records, "
                "so it looks truncated (a copy cut short, or a file still being written; "
                "loyalsim writes NAME.tmp and renames it only when complete)")  # fmt: skip
    return f"{path} is an HDF5 file that cannot be opened ({size} bytes): its structure is damaged, or it is still being written"


def recorded_size(path: str | os.PathLike) -> int | None:
    """The file size an HDF5 superblock records (base address + end-of-file address), or None.

    The superblock is at 0, 512, 1024, 2048 … (HDF5 file format
    specification, II.A); versions 0 and 1 put the base, free-space and
    end-of-file addresses after 24 (28) bytes, versions 2 and 3 the base,
    extension and end-of-file addresses after 12. A file shorter than this
    was cut short.
    """
    signature = b"\x89HDF\r\n\x1a\n"
    with open(path, "rb") as f:
        at = 0
        while True:
            f.seek(at)
            block = f.read(64)
            if len(block) < 8:
                return None
            if block[:8] == signature:
                break
            at = 512 if at == 0 else at * 2
    version = block[8]
    offsets = block[13] if version <= 1 else block[9]
    first = {0: 24, 1: 28}.get(version, 12)
    if version > 3 or offsets not in (2, 4, 8) or first + 3 * offsets > len(block):
        return None
    address = lambda i: int.from_bytes(block[first + i * offsets : first + (i + 1) * offsets], "little")  # noqa: E731
    return address(0) + address(2)


def _existing(path: Path, partial: bool) -> Path:
    """The file to open: ``path``, or with ``partial`` its snapshot when ``path`` is not there yet."""
    if path.exists():
        return path
    snapshot = snapshot_path(path)
    if not snapshot.exists():
        raise FileNotFoundError(f"no such results file: {path}")
    if partial:
        return snapshot
    try:
        with h5py.File(snapshot, "r") as f:
            progress = _progress(f.attrs)
    except (OSError, KeyError, ValueError, TypeError):
        progress = "some points"
    raise FileNotFoundError(
        f"no such results file: {path}; a sweep in progress (or stopped) has written {progress} to {snapshot}, "
        f"and loyalsim.open({str(path)!r}, partial=True) reads them"
    )


def _progress(attrs) -> str:
    """'N of P points' from the file attributes ``points_done`` and ``points_total``."""
    done, total = attrs.get("points_done"), attrs.get("points_total")
    if done is None or total is None:
        return "some points"
    return f"{int(done)} of {int(total)} points"


def _sweep_coordinates(ds: xr.Dataset) -> xr.Dataset:
    """Makes the swept parameters (and the Saltelli row/matrix) coordinates on ``point``.

    xarray does this itself from the CF ``coordinates`` attribute; this covers
    readers or files without it, so that ``ds.sel(point=k)`` always carries
    the point's parameter values along.
    """
    names = [n for n in [*sweep_parameters(ds), *SALTELLI] if n in ds.data_vars]
    if not names:
        return ds
    out = ds.set_coords(names)
    out.set_close(ds.close)  # set_coords returns a new Dataset: keep it able to close the file
    return out


def _major(version: str | None) -> int | None:
    if not version:
        return None
    head, _, minor = version.strip().partition(".")
    if not head.isdigit() or (minor and not minor.isdigit()) or not minor:
        return None
    return int(head)
