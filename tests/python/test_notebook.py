"""The example notebook runs top to bottom in a real Jupyter kernel."""
import os

import nbformat
from conftest import REPO

NOTEBOOK = REPO / "python" / "examples" / "policy-comparison.ipynb"


def test_example_notebook_executes(engine, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    # The kernel inherits this environment: it imports the package from the
    # source tree and uses the engine under test. It runs in a scratch folder.
    paths = [str(REPO / "python"), os.environ.get("PYTHONPATH")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, paths)))
    monkeypatch.setenv("LOYALSIM_BIN", str(engine))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), "commit it without outputs"
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError naming the cell if any cell fails
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 4, "the four charts are displayed"
    assert (tmp_path / "results").is_dir()
    text = "".join(o.get("data", {}).get("text/markdown", "") for o in outputs)
    assert "net value" in text.lower(), "the conclusion is computed and shown"
