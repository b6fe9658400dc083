"""python/pyproject.toml installs offline: pip install --no-build-isolation --no-deps (-e) python."""
import shutil
import subprocess
import sys

import pytest
from conftest import REPO


@pytest.mark.parametrize("editable", [True, False], ids=["editable", "regular"])
def test_installs_into_a_venv(tmp_path, editable):
    # Install from a copy so the build leaves no egg-info or build/ in the source tree.
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "examples")
    shutil.copytree(REPO / "python", src, ignore=ignore)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    cmd = [str(python), "-m", "pip", "install", "--no-build-isolation", "--no-deps", "--no-index", "-q"]
    cmd += ["-e", str(src)] if editable else [str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check = ("import loyalsim, sys; print(loyalsim.__file__); print(loyalsim.__version__); "
             "from loyalsim.report import render; print((render.TEMPLATES / 'sections' / 'decision.html.j2').is_file())")
    out = subprocess.run([str(python), "-c", check], cwd=tmp_path, capture_output=True, text=True, check=True)
    where, version, templates = out.stdout.split()
    assert templates == "True"  # the report's templates are shipped as package data
    assert where.startswith(str(src if editable else venv))
    assert version == __import__("loyalsim").__version__
