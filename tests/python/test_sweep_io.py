"""Sweeps in files: loyalsim.open and partial snapshots, parameters as coordinates, and the
per-run functions (policy_table, facts, charts) on a file with several points."""
import shutil
import warnings

import h5py
import numpy as np
import pytest
import xarray as xr
from sweepfiles import Param, write_sweep

import loyalsim

PARAMS = ("model.gain", "model.paradox_scope")


def tiny_sweep(path, points=(0, 1, 2), total=3, complete=1, cf_coordinates=True):
    """Three policies × 2 replications × months 0..2, one range and one choice parameter."""
    points = np.asarray(points)
    rng = np.random.default_rng(1)
    net = rng.normal(size=(len(points), 3, 2, 3))
    params = {
        PARAMS[0]: Param(0.2 + 0.1 * points),
        PARAMS[1]: Param(np.array(["behavioural", "satisfaction_only"] * 5, dtype=object)[points], kind="choices",
                         choices=["satisfaction_only", "behavioural"]),
    }  # fmt: skip
    return write_sweep(path, {"net_value": net}, params, design="random", points=points, points_total=total,
                       complete=complete, cf_coordinates=cf_coordinates)  # fmt: skip


# ------------------------------------------------------------------ open


def test_a_running_sweep_is_not_opened_by_accident(tmp_path):
    tiny_sweep(tmp_path / "sweep.h5.partial", points=[0, 2, 5], total=10, complete=0)
    with pytest.raises(FileNotFoundError) as info:
        loyalsim.open(tmp_path / "sweep.h5")
    message = str(info.value)
    assert "in progress (or stopped)" in message and "3 of 10 points" in message
    assert "sweep.h5.partial" in message and "partial=True" in message


def test_partial_true_reads_the_snapshot_and_warns(tmp_path):
    tiny_sweep(tmp_path / "sweep.h5.partial", points=[0, 2, 5], total=10, complete=0)
    with pytest.warns(loyalsim.PartialResultsWarning, match=r"snapshot of a sweep in progress.*3 of 10 points"):
        ds = loyalsim.open(tmp_path / "sweep.h5", partial=True)
    with ds:
        assert list(ds["point"].values) == [0, 2, 5]  # design indices, not positions
        np.testing.assert_allclose(ds[PARAMS[0]].values, [0.2, 0.4, 0.7])
    assert issubclass(loyalsim.PartialResultsWarning, UserWarning)
    # The snapshot opened by its own name is still a snapshot.
    with pytest.warns(loyalsim.PartialResultsWarning, match="3 of 10 points"):
        loyalsim.open(tmp_path / "sweep.h5.partial").close()


def test_partial_true_prefers_the_finished_file(tmp_path):
    tiny_sweep(tmp_path / "sweep.h5.partial", points=[0], total=3, complete=0)
    tiny_sweep(tmp_path / "sweep.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a complete file does not warn
        with loyalsim.open(tmp_path / "sweep.h5", partial=True) as ds:
            assert ds.sizes["point"] == 3 and int(ds.attrs["complete"]) == 1


def test_nothing_at_all(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such results file: .*nowhere.h5$"):
        loyalsim.open(tmp_path / "nowhere.h5", partial=True)


@pytest.mark.parametrize("cf_coordinates", [True, False], ids=["cf-attribute", "no-attribute"])
def test_swept_parameters_are_coordinates_on_point(tmp_path, cf_coordinates):
    """With or without the CF `coordinates` attribute, ds.sel(point=k) carries the point's values."""
    path = tiny_sweep(tmp_path / "sweep.h5", cf_coordinates=cf_coordinates)
    with h5py.File(path) as f:
        assert ("coordinates" in f["net_value"].attrs) == cf_coordinates
    with loyalsim.open(path) as ds:
        for name in PARAMS:
            assert name in ds.coords and ds[name].dims == ("point",)
        one = ds.sel(point=1)
        assert float(one[PARAMS[0]]) == pytest.approx(0.3) and str(one[PARAMS[1]].values) == "satisfaction_only"


def test_closing_releases_the_file_after_setting_coordinates(tmp_path):
    path = tiny_sweep(tmp_path / "sweep.h5", cf_coordinates=False)
    with loyalsim.open(path) as ds:
        ds["net_value"].load()
    shutil.move(path, tmp_path / "moved.h5")  # works on every platform only when the file is closed
    with h5py.File(tmp_path / "moved.h5", "r+") as f:  # and HDF5 lets us open it for writing again
        f.attrs["touched"] = 1


def test_a_file_without_the_sweep_attributes_still_opens(results_path, tmp_path):
    """Files written before sweeps existed have no sweep_* / points_* / complete attributes."""
    path = tmp_path / "old.h5"
    shutil.copyfile(results_path, path)
    with h5py.File(path, "r+") as f:
        for name in ("sweep_design", "sweep_parameters", "sweep_base_points", "points_total", "points_done",
                     "complete"):  # fmt: skip
            if name in f.attrs:
                del f.attrs[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with loyalsim.open(path) as ds:
            table = loyalsim.policy_table(ds)
            assert table.attrs["point"] == 0 and table.attrs["parameters"] == {}
            with pytest.raises(ValueError, match="holds no sweep"):
                loyalsim.sensitivity(ds)


# ------------------------------------------------ per-run functions on a sweep


@pytest.fixture(scope="module")
def engine_sweep(results_path, tmp_path_factory):
    """The engine's tiny run made into a two-point sweep: point 1 is point 0 with every money metric
    doubled, so a function reading the wrong point gives numbers off by a factor of 2."""
    path = tmp_path_factory.mktemp("sweep") / "two.h5"
    with xr.open_dataset(results_path, engine="h5netcdf") as one:
        summaries = [n for n in one.data_vars if one[n].dims == ("point", "policy", "month")]
        one = one.drop_vars(summaries).load()  # the functions under test read raw metrics only
    doubled = one.copy(deep=True)
    for name in ("net_value", "revenue", "recovery_cost"):
        doubled[name] = doubled[name] * 2
    two = xr.concat([one, doubled.assign_coords(point=[1])], dim="point", data_vars="minimal", coords="minimal")
    two = two.assign_coords({"model.gain": ("point", [0.4, 0.8])})
    two["model.gain"].attrs.update(long_name="swept parameter model.gain", sweep_kind="range")
    two.attrs.update(sweep_design="grid", sweep_parameters="model.gain", sweep_base_points=2, points_total=2,
                     points_done=2, complete=1)  # fmt: skip
    for var in two.variables.values():
        var.encoding.clear()
    two.to_netcdf(path, engine="h5netcdf")
    return path


def test_per_run_functions_ask_which_point(engine_sweep):
    with loyalsim.open(engine_sweep) as ds:
        for call in (loyalsim.policy_table, loyalsim.replication_outcomes, loyalsim.facts, loyalsim.fact_checks,
                     loyalsim.plot_retention, loyalsim.plot_net_value, loyalsim.plot_contrasts, loyalsim.plot_facts):
            with pytest.raises(ValueError, match=r"2 sweep points: choose one with point=k .*ds\.sel\(point=k\)"):
                call(ds)  # fmt: skip


def test_point_selects_by_design_index(engine_sweep):
    with loyalsim.open(engine_sweep) as ds:
        first, second = loyalsim.policy_table(ds, point=0), loyalsim.policy_table(ds, point=1)
        narrowed = loyalsim.policy_table(ds.sel(point=1))
        with pytest.raises(IndexError, match=r"point 2 does not exist: this file has points 0 … 1"):
            loyalsim.policy_table(ds, point=2)
        with pytest.raises(IndexError, match="narrowed to point 1"):
            loyalsim.policy_table(ds.sel(point=1), point=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tiny run has empty cohorts; test_facts covers that warning
            facts = loyalsim.facts(ds, point=1)  # cohorts were not doubled: the same at both points
            assert facts.equals(loyalsim.facts(ds, point=0))
    np.testing.assert_allclose(second[("net_value", "mean")], 2 * first[("net_value", "mean")], rtol=1e-12)
    np.testing.assert_allclose(second[("retention", "mean")], first[("retention", "mean")], rtol=0)
    assert narrowed.equals(second)
    assert second.attrs["point"] == 1 and second.attrs["parameters"] == {"model.gain": 0.8}
    assert narrowed.attrs["point"] == 1 and narrowed.attrs["parameters"] == {"model.gain": 0.8}


def test_point_in_a_snapshot_is_the_design_index(tmp_path, engine_sweep):
    with xr.open_dataset(engine_sweep, engine="h5netcdf") as two:
        snap = two.load().assign_coords(point=[3, 7])
    snap.attrs.update(points_total=10, points_done=2, complete=0)
    snap.to_netcdf(tmp_path / "s.h5.partial", engine="h5netcdf")
    with pytest.warns(loyalsim.PartialResultsWarning):
        ds = loyalsim.open(tmp_path / "s.h5", partial=True)
    with ds:
        table = loyalsim.policy_table(ds, point=7)
        assert table.attrs["point"] == 7 and table.attrs["parameters"] == {"model.gain": 0.8}
        with pytest.raises(IndexError, match=r"point 1 does not exist: this file has points 3, 7 \(2 in all\), "
                                             r"a snapshot of 2 of 10 points"):  # fmt: skip
            loyalsim.policy_table(ds, point=1)


def test_the_engines_snapshot_of_a_stopped_sweep_reads_and_resumes(engine, experiment_file, tmp_path):
    """A real sweep stopped with Ctrl-C: its finished points are a readable,
    incomplete file; --resume completes it, and the finished points did not change."""
    import signal
    import subprocess
    import time

    sweep = tmp_path / "sweep.toml"
    sweep.write_text(
        experiment_file.read_text(encoding="utf-8")
        + '\n[sweep]\ndesign = "lhs"\npoints = 12\n[sweep.parameters]\n"model.gain" = [0.2, 1.0]\n',
        encoding="utf-8",
    )
    out = tmp_path / "sweep.h5"
    checkpoint = tmp_path / "sweep.h5.checkpoint"
    proc = subprocess.Popen([str(engine), "run", str(sweep), "-o", str(out), "--threads", "1", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 120
    # Two points are 2 x 5 replications: wait for 11 units, so at least two points are whole.
    while time.monotonic() < deadline and len(list(checkpoint.glob("unit-*.bin"))) < 11 and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the sweep finished before it could be stopped (a very fast machine)")
    assert proc.returncode == 130, err
    assert "readable in" in err and not out.exists()

    with pytest.warns(loyalsim.PartialResultsWarning):
        snapshot = loyalsim.open(out, partial=True)
    with snapshot:
        done = [int(p) for p in snapshot["point"]]
        assert len(done) >= 2 and int(snapshot.attrs["complete"]) == 0
        assert done == sorted(done) and done[:2] == [0, 1]
        early = snapshot["net_value"].sel(point=done).load()

    subprocess.run([str(engine), "run", str(sweep), "-o", str(out), "--resume", "-q"], check=True, timeout=600)
    assert not (tmp_path / "sweep.h5.partial").exists()
    with loyalsim.open(out) as final:
        assert int(final.attrs["complete"]) == 1 and final.sizes["point"] == 12
        np.testing.assert_array_equal(final["net_value"].sel(point=done).values, early.values)
        table = loyalsim.sensitivity(final, metric="net_value", policy="fast_empathetic", bootstrap=100)
        assert set(table["parameter"]) == {"model.gain"} and set(table["index"]) == {"SRC", "PRCC"}
