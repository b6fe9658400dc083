"""The example notebook runs top to bottom in a real Jupyter kernel, and leaves the source tree as it was."""
import os
import subprocess

import nbformat
from conftest import REPO

NOTEBOOK = REPO / "python" / "examples" / "policy-comparison.ipynb"


def source_tree_state() -> str:
    """Every change git sees, ignored files included (a results folder under python/examples is not ignored)."""
    out = subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],
                         cwd=REPO, capture_output=True, text=True, check=True)  # fmt: skip
    return out.stdout


def test_example_notebook_executes(engine, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    # The kernel inherits this environment: it imports the package from the
    # source tree and uses the engine under test. It runs where a user opens
    # the notebook, in python/examples, and its results go to LOYALSIM_RESULTS.
    paths = [str(REPO / "python"), os.environ.get("PYTHONPATH")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, paths)))
    monkeypatch.setenv("LOYALSIM_BIN", str(engine))
    monkeypatch.setenv("LOYALSIM_RESULTS", str(tmp_path / "results"))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), "commit it without outputs"
    before = source_tree_state() if (REPO / ".git").exists() else None
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})  # fmt: skip
    client.execute()  # raises CellExecutionError naming the cell if any cell fails
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 4, "the four charts are displayed"
    if before is not None:
        assert source_tree_state() == before, "the notebook wrote into the source tree"
    assert (tmp_path / "results" / "policy-comparison-demo.h5").is_file()
    text = "".join(o.get("data", {}).get("text/markdown", "") for o in outputs)
    assert "net value" in text.lower(), "the conclusion is computed and shown"
    assert " ± " in text, "differences come with their intervals"
