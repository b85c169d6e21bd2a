"""The notebooks in notebooks/ run top to bottom in fast mode, and are committed with outputs.

Each notebook is executed from an in-memory copy (the committed file is never written) with
nbclient on this interpreter's python3 kernel, in notebooks/ as working folder, with
FER_KERAS_FAST=1 and a temporary FER_KERAS_NOTEBOOK_DIR shared by the four, so that the CK+ run
notebook 1 trains is reused by notebooks 2 and 4 as it would be in one session. Any cell error
fails the test. The real datasets are used where ../shared/data exists, the synthetic faces
otherwise (the notebooks decide, through fer_keras.plots.find_data).
"""

import base64
import os
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
EXPECTED = ["01_quickstart.ipynb", "02_train_ckplus.ipynb", "03_ablations.ipynb",
            "04_inference_export.ipynb"]
CELL_TIMEOUT_S = 600


def read(name):
    return nbformat.read(NOTEBOOKS / name, as_version=4)


@pytest.fixture(scope="module")
def notebook_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("notebook_runs")


def test_the_four_notebooks_are_there():
    assert NAMES == EXPECTED


@pytest.mark.tf
# The quickstart runs with the default tests; the training, ablation and export notebooks (a minute
# or more each) under the slow marker.
@pytest.mark.parametrize("name", [
    pytest.param(n, marks=[] if n == "01_quickstart.ipynb" else [pytest.mark.slow]) for n in NAMES])
def test_notebook_executes_in_fast_mode(name, notebook_dir, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("FER_KERAS_FAST", "1")
    monkeypatch.setenv("FER_KERAS_NOTEBOOK_DIR", str(notebook_dir))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    nb = read(name)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert _images(nb), f"{name} drew no figure"


def _images(nb):
    return [base64.b64decode(o.data["image/png"]) for c in nb.cells if c.cell_type == "code"
            for o in c.outputs if "image/png" in o.get("data", {})]


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_has_its_outputs(name):
    """Read unrendered (on GitHub, in a diff), a notebook must show what it computed: every code
    cell ran, in order, in one session, without error, and the figures are there."""
    nb = read(name)
    code = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), f"{name}: not executed top to bottom once"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert sum(bool(c.outputs) for c in code) >= len(code) - 1
    images = _images(nb)
    assert images and all(i.startswith(b"\x89PNG") for i in images)
    intro = nb.cells[0].source
    assert nb.cells[0].cell_type == "markdown" and "Committed outputs" in intro
    assert f"notebooks/{name}" in intro, "the first cell gives the command that re-executes it"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_uses_the_public_api_only(name):
    """Logic lives in fer_keras: no private names, no definitions inside the notebooks."""
    for cell in read(name).cells:
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            stripped = line.strip()
            assert not stripped.startswith(("def ", "class ")), f"{name}: {line}"
            assert not re.search(r"\._(?!_)", stripped.split("#")[0]), f"{name}: private {line}"
    assert os.path.getsize(NOTEBOOKS / name) < 5_000_000, "outputs too large to commit"
