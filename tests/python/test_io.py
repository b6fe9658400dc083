"""loyalsim.open: lazy loading, the format check, clear errors."""
import shutil

import h5py
import numpy as np
import pytest
import xarray as xr
from conftest import CUSTOMERS, HORIZON, POLICIES, REPLICATIONS

import loyalsim

METRIC_NAMES = [
    "active", "acquired", "acquired_referred", "churned", "failures", "complaints", "silent_failures",
    "proactive_recoveries", "recoveries_satisfied", "recoveries_dissatisfied", "paradox_events", "revenue", "margin",
    "compensation_paid", "handling_cost", "recovery_cost", "programme_cost", "acquisition_cost",
    "wom_positive", "wom_negative",
    "mean_satisfaction", "cohort_active", "quality", "root_cause_fixes", "discounted_margin", "net_value",
]  # fmt: skip


def test_open_gives_a_lazy_dataset_with_the_contract_dimensions(ds):
    assert isinstance(ds, xr.Dataset)
    sizes = dict(ds.sizes)
    # One resolved value per parameter path (every scalar, and each segment's and policy's keys).
    assert sizes.pop("parameter") == len(ds["parameter"]) > 100
    assert sizes == {
        "point": 1, "policy": 3, "replication": REPLICATIONS, "month": HORIZON + 1,
        "fact_class": 5, "severity_band": 2, "satisfaction_quintile": 5, "segment": 1,
    }  # fmt: skip
    assert list(ds["policy"].values) == POLICIES
    assert list(ds["month"].values) == list(range(HORIZON + 1))
    assert list(ds["fact_class"].values) == ["reference", "silent", "unresolved", "resolved", "resolved_quick"]
    assert list(ds["severity_band"].values) == ["minor", "major"]
    # Nothing but the coordinates is read until used.
    assert not ds["active"].variable._in_memory
    assert not ds["fact_count"].variable._in_memory


def test_the_file_has_what_the_package_relies_on(ds):
    attrs = ds.attrs
    assert attrs["format"] == loyalsim.FORMAT
    assert attrs["format_version"].split(".")[0] == str(loyalsim.SUPPORTED_MAJOR)
    assert int(attrs["customers"]) == CUSTOMERS
    assert int(attrs["replications"]) == REPLICATIONS
    assert int(attrs["horizon_months"]) == HORIZON
    assert "experiment_toml" in attrs and "pytest-tiny" in attrs["experiment_toml"]
    for name in METRIC_NAMES:
        var = ds[name]
        assert var.dims == ("point", "policy", "replication", "month"), name
        assert var.attrs.get("units") and var.attrs.get("long_name"), name
        for suffix in ("mean", "ci_low", "ci_high", "diff_mean", "diff_ci_low", "diff_ci_high"):
            assert ds[f"{name}_{suffix}"].dims == ("point", "policy", "month"), f"{name}_{suffix}"
    for name in ("fact_count", "fact_retained"):
        assert ds[name].dims == ("point", "policy", "replication", "fact_class", "severity_band")
    # The reference has no severity: its numbers are repeated in both bands.
    ref = ds["fact_count"].sel(fact_class="reference")
    np.testing.assert_array_equal(ref.sel(severity_band="minor"), ref.sel(severity_band="major"))


def test_plain_xarray_reads_the_same_data(results_path, ds):
    with xr.open_dataset(results_path, engine="h5netcdf") as plain:
        xr.testing.assert_identical(plain, ds)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such results file: .*nowhere.h5"):
        loyalsim.open(tmp_path / "nowhere.h5")


def test_folder(tmp_path):
    with pytest.raises(IsADirectoryError, match=f"^{tmp_path} is a directory, not a loyalsim results file$"):
        loyalsim.open(tmp_path)


def test_not_hdf5(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("name = 'this is TOML, not HDF5'\n")
    with pytest.raises(loyalsim.FormatError, match="not an HDF5 file"):
        loyalsim.open(path)


def test_truncated_file(results_path, tmp_path):
    """Said as the engine says it (tests/cpp/test_cli_refusals.cpp): the sizes, and that it looks truncated."""
    path = tmp_path / "truncated.h5"
    whole = results_path.read_bytes()
    path.write_bytes(whole[:4096])
    with pytest.raises(loyalsim.FormatError) as err:
        loyalsim.open(path)
    assert str(err.value) == (
        f"{path} is not a complete HDF5 file: it has 4096 of the {len(whole)} bytes its header records, so it looks "
        "truncated (a copy cut short, or a file still being written; loyalsim writes NAME.tmp and renames it only "
        "when complete)"
    )


@pytest.mark.parametrize("libver", ["earliest", "latest"])
def test_recorded_size_reads_either_superblock_layout(tmp_path, libver):
    path = tmp_path / f"{libver}.h5"
    with h5py.File(path, "w", libver=libver) as f:
        f["x"] = np.arange(1000.0)
    assert path.read_bytes()[8] == (0 if libver == "earliest" else 3)  # superblock version
    assert loyalsim._io.recorded_size(path) == path.stat().st_size
    path.write_bytes(path.read_bytes()[:3000])
    assert loyalsim._io.recorded_size(path) > 3000


def test_damaged_but_complete_hdf5(results_path, tmp_path):
    path = tmp_path / "damaged.h5"
    data = bytearray(results_path.read_bytes())
    data[8] = 7  # a superblock version that does not exist: HDF5's signature, but unreadable
    path.write_bytes(bytes(data))
    with pytest.raises(loyalsim.FormatError, match=r"is an HDF5 file that cannot be opened \(\d+ bytes\)"):
        loyalsim.open(path)


def test_foreign_hdf5(tmp_path):
    path = tmp_path / "foreign.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(loyalsim.FormatError, match="not a loyalsim results file.*no 'format' attribute"):
        loyalsim.open(path)


def test_foreign_netcdf(tmp_path):
    path = tmp_path / "other.nc"
    xr.Dataset({"t": ("x", [1.0, 2.0])}, attrs={"format": "cf-climate"}).to_netcdf(path, engine="h5netcdf")
    with pytest.raises(loyalsim.FormatError, match="its format is 'cf-climate'"):
        loyalsim.open(path)


def _copy_with_version(results_path, tmp_path, version):
    path = tmp_path / f"v{version}.h5"
    shutil.copyfile(results_path, path)
    with h5py.File(path, "r+") as f:
        f.attrs["format_version"] = version
    return path


def test_unknown_major_version_is_refused(results_path, tmp_path):
    path = _copy_with_version(results_path, tmp_path, "2.0")
    with pytest.raises(loyalsim.FormatError, match=r"version 2\.0.*reads version 1\.x only"):
        loyalsim.open(path)


def test_newer_minor_version_is_read(results_path, tmp_path):
    path = _copy_with_version(results_path, tmp_path, "1.9")
    with loyalsim.open(path) as ds:
        assert ds.attrs["format_version"] == "1.9"


@pytest.mark.parametrize("version", ["", "one", "1", "1.x", "v1.0"])
def test_malformed_version_is_refused(results_path, tmp_path, version):
    path = _copy_with_version(results_path, tmp_path, version)
    with pytest.raises(loyalsim.FormatError, match="malformed format_version"):
        loyalsim.open(path)
