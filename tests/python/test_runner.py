"""loyalsim.run / find_engine / apply_overrides."""
import os
import stat
import sys
import tomllib

import pytest
from conftest import REPO, TINY_EXPERIMENT

import loyalsim
from loyalsim import runner

SMALL = {
    "name": "pytest-run",
    "seed": 11,
    "replications": 2,
    "horizon_months": 6,
    "population": {"customers": 500, "prospects": 500},
    "policies": [{"name": "status_quo"}, {"name": "fast", "response_days": 1.0, "apology": 1.0}],
}


def fake_engine(tmp_path, body: str):
    """An executable standing in for the engine (for what the real one cannot be made to do)."""
    path = tmp_path / "fake-loyalsim"
    path.write_text(f"#!{sys.executable}\nimport sys\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


# ---- finding the engine ----------------------------------------------------------------


def test_env_var_wins(tmp_path, monkeypatch):
    exe = fake_engine(tmp_path, "")
    monkeypatch.setenv("LOYALSIM_BIN", str(exe))
    assert loyalsim.find_engine() == exe


def test_bad_env_var_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LOYALSIM_BIN", str(tmp_path / "missing"))
    with pytest.raises(loyalsim.EngineNotFoundError, match="LOYALSIM_BIN=.*missing is not an executable"):
        loyalsim.find_engine()


def test_repo_build_then_path(tmp_path, monkeypatch):
    monkeypatch.delenv("LOYALSIM_BIN", raising=False)
    monkeypatch.setattr(runner, "REPO_ROOT", tmp_path / "repo")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    monkeypatch.setenv("PATH", str(bindir))
    with pytest.raises(loyalsim.EngineNotFoundError, match=r"repo/build/loyalsim does not exist .*cmake"):
        loyalsim.find_engine()
    on_path = fake_engine(bindir, "")
    on_path.rename(bindir / "loyalsim")
    assert loyalsim.find_engine() == bindir / "loyalsim"
    (tmp_path / "repo" / "build").mkdir(parents=True)
    built = fake_engine(tmp_path / "repo" / "build", "")
    built.rename(tmp_path / "repo" / "build" / "loyalsim")
    assert loyalsim.find_engine() == tmp_path / "repo" / "build" / "loyalsim"


def test_import_from_the_repo_root_finds_the_built_engine():
    """PYTHONPATH=python /usr/bin/python3 -c 'import loyalsim' from the repo root, after the build."""
    import subprocess

    built = REPO / "build" / "loyalsim"
    if not built.exists():
        pytest.skip(f"{built} is missing; build the engine first")
    env = {k: v for k, v in os.environ.items() if k != "LOYALSIM_BIN"}
    env["PYTHONPATH"] = "python"
    out = subprocess.run(
        [sys.executable, "-c", "import loyalsim; print(loyalsim.find_engine())"],
        cwd=REPO, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == str(built)


# ---- overrides ---------------------------------------------------------------------------


def test_overrides_by_path():
    exp = tomllib.loads(TINY_EXPERIMENT)
    new = loyalsim.apply_overrides(exp, {
        "replications": 3,
        "population__customers": 100,
        "policies.fast_empathetic.compensation": 0.0,
        "model__gain": 0.9,
        "model": {"margin": 0.4},
        "wom": {"advertising": 0.01},
    })  # fmt: skip
    assert new["replications"] == 3 and new["population"] == {"customers": 100, "prospects": 2000}
    assert new["policies"][2]["compensation"] == 0.0 and new["policies"][2]["apology"] == 1.0
    assert new["model"] == {"gain": 0.9, "margin": 0.4} and new["wom"] == {"advertising": 0.01}
    assert exp == tomllib.loads(TINY_EXPERIMENT)  # the input is not modified


@pytest.mark.parametrize(
    "key, message",
    [
        ("policies__nope__compensation", "no policies entry named 'nope'"),
        ("policies__status_quo", "names a whole policies entry"),
        ("seed__x", "'seed' is a value, not a table"),
        ("model..gain", "empty part"),
    ],
)
def test_bad_overrides(key, message):
    with pytest.raises(KeyError, match=message):
        loyalsim.apply_overrides(tomllib.loads(TINY_EXPERIMENT), {key: 1})


# ---- running: errors and streaming with a stand-in engine --------------------------------


def test_a_failure_is_shown_once_with_the_dicts_keys_not_the_temporary_file(tmp_path, monkeypatch, capfd):
    """The plan is shown when the run is under way; the error only in the RunError (it was printed twice)."""
    exe = fake_engine(tmp_path, (
        "print('loyalsim: pytest-run: 2 policies', file=sys.stderr, flush=True)\n"
        "print('progress: 1/4 runs (25%) elapsed 0s eta 1s', file=sys.stderr, flush=True)\n"
        "print(sys.argv[2] + ':3: policies.fast.response_days: must be > 0 (got -1)', file=sys.stderr)\n"
        "print('loyalsim: could not finish ' + sys.argv[2], file=sys.stderr)\n"
        "sys.exit(2)"
    ))  # fmt: skip
    monkeypatch.setenv("LOYALSIM_BIN", str(exe))
    with pytest.raises(loyalsim.RunError) as err:
        loyalsim.run(SMALL, output=tmp_path / "out.h5")
    assert str(err.value) == (
        "loyalsim run of the experiment dict 'pytest-run' failed (exit code 2):\n"
        "policies.fast.response_days: must be > 0 (got -1)\n"
        "loyalsim: could not finish the experiment dict 'pytest-run'"
    )
    assert err.value.returncode == 2
    assert err.value.messages == [
        "loyalsim: pytest-run: 2 policies",
        "policies.fast.response_days: must be > 0 (got -1)",
        "loyalsim: could not finish the experiment dict 'pytest-run'",
    ]
    streamed = capfd.readouterr().err
    assert streamed == "loyalsim: pytest-run: 2 policies\nprogress: 1/4 runs (25%) elapsed 0s eta 1s\n"


def test_a_refusal_before_the_run_prints_nothing_besides_the_error(tmp_path, monkeypatch, capfd):
    exe = fake_engine(tmp_path, "print(sys.argv[2] + ':5: model.gain: must be >= 0 (got -1)', file=sys.stderr)\nsys.exit(2)")
    monkeypatch.setenv("LOYALSIM_BIN", str(exe))
    with pytest.raises(loyalsim.RunError, match=r"failed \(exit code 2\):\nmodel.gain: must be >= 0 \(got -1\)$"):
        loyalsim.run(SMALL, output=tmp_path / "out.h5")
    assert capfd.readouterr() == ("", "")


def test_none_values_are_refused_with_the_full_path_of_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("LOYALSIM_BIN", str(fake_engine(tmp_path, "sys.exit(9)")))
    named = {**SMALL, "policies": [{"name": "status_quo"}, {"name": "fast", "response_days": None}]}
    with pytest.raises(ValueError, match=r"^policies\.fast\.response_days: None is not a value"):
        loyalsim.run(named, output=tmp_path / "out.h5")
    unnamed = {**SMALL, "policies": [{"name": "status_quo"}, {"response_days": None}]}
    with pytest.raises(ValueError, match=r"^policies\[1\]\.response_days: None is not a value"):
        loyalsim.run(unnamed, output=tmp_path / "out.h5")
    swept = {**SMALL, "sweep": {"design": "grid", "parameters": {"model.gain": [0.2, None]}}}
    with pytest.raises(ValueError, match=r'^sweep\.parameters\."model\.gain"\[1\]: None'):
        loyalsim.run(swept, output=tmp_path / "out.h5")
    with pytest.raises(TypeError, match=r"^model\.gain: set cannot be written"):
        loyalsim.run({**SMALL, "model": {"gain": {0.5}}}, output=tmp_path / "out.h5")
    with pytest.raises(ValueError, match=r"^model\.gain: None"):  # overrides are checked too
        loyalsim.run(SMALL, output=tmp_path / "out.h5", model__gain=None)


def test_progress_can_be_hidden(tmp_path, monkeypatch, capfd):
    exe = fake_engine(tmp_path, "print('progress: 1/1 runs (100%) elapsed 0s eta 0s', file=sys.stderr)\nsys.exit(1)")
    monkeypatch.setenv("LOYALSIM_BIN", str(exe))
    with pytest.raises(loyalsim.RunError):
        loyalsim.run(SMALL, output=tmp_path / "out.h5", progress=False)
    assert "progress:" not in capfd.readouterr().err


def test_command_line(tmp_path, monkeypatch):
    """The engine gets: run EXP.toml -o OUT [--force] [--threads N], EXP.toml being the dict as TOML."""
    log = tmp_path / "argv.txt"
    exe = fake_engine(tmp_path, (
        f"open({str(log)!r}, 'w').write(repr(sys.argv[1:]) + '\\n' + open(sys.argv[2]).read())\nsys.exit(3)"
    ))  # fmt: skip
    monkeypatch.setenv("LOYALSIM_BIN", str(exe))
    with pytest.raises(loyalsim.RunError):
        loyalsim.run(SMALL, output=tmp_path / "o.h5", threads=3, replications=4)
    argv_line, toml_text = log.read_text().split("\n", 1)
    argv = eval(argv_line)
    assert argv[0] == "run" and argv[1].endswith("pytest-run.toml")
    assert argv[2:] == ["-o", str(tmp_path / "o.h5"), "--force", "--threads", "3"]
    assert tomllib.loads(toml_text) == {**SMALL, "replications": 4}
    with pytest.raises(loyalsim.RunError):
        loyalsim.run(SMALL, output=tmp_path / "o.h5", force=False)
    assert "--force" not in eval(log.read_text().split("\n", 1)[0])


def test_missing_experiment_file(tmp_path, monkeypatch):
    monkeypatch.setenv("LOYALSIM_BIN", str(fake_engine(tmp_path, "")))
    with pytest.raises(FileNotFoundError, match="no such experiment file"):
        loyalsim.run(tmp_path / "nope.toml")


# ---- running the real engine -------------------------------------------------------------


def test_run_a_dict(engine, tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    with loyalsim.run(SMALL) as ds:  # default output: results/<name>.h5 in the current folder
        assert ds.encoding["source"] == str(tmp_path / "results" / "pytest-run.h5")
        assert list(ds["policy"].values) == ["status_quo", "fast"]
        assert ds.sizes["replication"] == 2 and ds.sizes["month"] == 7
        assert tomllib.loads(ds.attrs["experiment_toml"]) == SMALL
    assert "loyalsim: pytest-run: 2 policies" in capfd.readouterr().err  # progress lines only after 1 s
    with loyalsim.run(SMALL, replications=3) as ds:  # re-running replaces the file
        assert ds.sizes["replication"] == 3


def test_run_a_file_with_overrides(engine, experiment_file, tmp_path):
    out = tmp_path / "o.h5"
    with loyalsim.run(experiment_file, out, replications=2, horizon_months=3, population__customers=300) as ds:
        assert ds.sizes["replication"] == 2 and int(ds.attrs["customers"]) == 300
        assert list(ds["policy"].values) == ["status_quo", "status_quo_copy", "fast_empathetic"]


def test_run_a_file_as_is_keeps_its_text(engine, tmp_path):
    path = tmp_path / "exp.toml"
    text = "# a comment that must survive\n" + TINY_EXPERIMENT.replace("replications = 5", "replications = 2")
    text = text.replace("horizon_months = 24", "horizon_months = 3")
    path.write_text(text)
    with loyalsim.run(path, tmp_path / "o.h5", progress=False) as ds:
        assert ds.attrs["experiment_toml"] == text


def test_progress_false_prints_nothing_from_a_successful_run(engine, tmp_path, capfd):
    with loyalsim.run(SMALL, tmp_path / "quiet.h5", progress=False) as ds:
        assert ds.sizes["replication"] == 2
    assert capfd.readouterr() == ("", "")  # the engine's table went to stdout before


def test_engine_errors_for_a_dict_name_its_keys_once(engine, tmp_path, capfd):
    bad = {**SMALL, "policies": [{"name": "status_quo"}, {"name": "fast", "response_days": -1.0}]}
    with pytest.raises(loyalsim.RunError) as err:
        loyalsim.run(bad, tmp_path / "bad.h5")
    text = str(err.value)
    assert text.startswith("loyalsim run of the experiment dict 'pytest-run' failed (exit code 2):\n"
                           "policies.fast.response_days: value -1 is out of range")  # fmt: skip
    assert "loyalsim-" not in text and ".toml" not in text  # no trace of the deleted temporary file
    assert capfd.readouterr().err == ""  # said once, in the exception


def test_engine_errors_for_a_file_with_overrides_name_the_file(engine, experiment_file, tmp_path):
    with pytest.raises(loyalsim.RunError) as err:
        loyalsim.run(experiment_file, tmp_path / "o.h5", replications=0)
    assert str(err.value).startswith(f"loyalsim run of {experiment_file} with overrides failed (exit code 2):\n"
                                     "replications: ")  # fmt: skip


def test_an_output_folder_is_refused_before_the_run(engine, tmp_path):
    (tmp_path / "adir.h5").mkdir()
    with pytest.raises(loyalsim.RunError, match=r"adir.h5 is a directory; -o needs a file path"):
        loyalsim.run(SMALL, tmp_path / "adir.h5")


def test_engine_refusals_surface_as_run_errors(engine, tmp_path):
    with pytest.raises(loyalsim.RunError, match="no_such_key"):
        loyalsim.run({**SMALL, "no_such_key": 1}, tmp_path / "bad.h5")
    assert not (tmp_path / "bad.h5").exists()
    out = tmp_path / "exists.h5"
    out.write_bytes(b"keep me")
    with pytest.raises(loyalsim.RunError):
        loyalsim.run(SMALL, out, force=False)
    assert out.read_bytes() == b"keep me"
