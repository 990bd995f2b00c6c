"""The notebooks run top to bottom on the simulated backend, and are committed clean.

Each notebook runs in a real ipykernel (the ``python3`` kernelspec, which resolves to
this interpreter) with the API keys removed from the environment, so CI always runs
them SIMULATED. The kernel talks to this process over ZMQ on 127.0.0.1.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat import NotebookNode

import lc_gemini_router

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
EXPECTED = ("01_quickstart.ipynb", "02_agents_and_tools.ipynb", "03_cost_report.ipynb")
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
CELL_TIMEOUT = 120
# A Python warning as the kernel prints it: "file.py:12: DeprecationWarning: ..."
WARNING_LINE = re.compile(r"\b\w+Warning: ")
# What each notebook must show: patterns over its text outputs, and its charts.
SHOWS = {
    "01_quickstart": [
        r"^cheap: lite .*\n.*\nhard: pro ",  # the classifier splits the two questions
        r"escalation_threshold=0\.95 +-> lite ",  # each per-call override flips a lane
        r"bound threshold 0\.3 +-> pro ",
        r"-> pro override: lane set by caller",
    ],
    "02_agents_and_tools": [
        r"3 tools bound \(>= 3\)",
        r"^lite +sticky .*continues a turn started on lite$",
        r"^pro_tools +rule .*2 tool rounds in this turn",
    ],
    "03_cost_report": [r"the handler's total to the last digit"],
}
CHARTS = {"01_quickstart": 0, "02_agents_and_tools": 0, "03_cost_report": 3}


@pytest.fixture
def offline_kernel(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The kernel inherits os.environ: no API key (SIMULATED), a private runtime dir."""
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter-runtime"))


def execute(nb: NotebookNode) -> NotebookNode:
    """Run every cell in a fresh kernel with the notebooks folder as cwd.

    Raises:
        nbclient.exceptions.CellExecutionError: a cell raised.
    """
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return nb


def outputs(nb: NotebookNode, kind: str | None = None) -> list[NotebookNode]:
    return [
        output
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if kind is None or output.output_type == kind
    ]


def text_of(output: NotebookNode) -> str:
    if output.output_type == "stream":
        return str(output.text)
    return str(output.get("data", {}).get("text/plain", ""))


def test_exactly_the_three_notebooks() -> None:
    assert tuple(path.name for path in PATHS) == EXPECTED
    assert sorted(SHOWS) == sorted(CHARTS) == [path.stem for path in PATHS]


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_notebook_is_valid_and_committed_clean(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.cells[0].cell_type == "markdown"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)


@pytest.mark.usefixtures("offline_kernel")
def test_kernel_is_this_interpreter_with_this_package() -> None:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import sys, lc_gemini_router\nprint(sys.prefix)\nprint(lc_gemini_router.__file__)"
            )
        ]
    )
    prefix, package = text_of(outputs(execute(nb))[0]).splitlines()
    assert (prefix, package) == (sys.prefix, lc_gemini_router.__file__)


@pytest.mark.usefixtures("offline_kernel")
@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_notebook_runs_simulated(path: Path) -> None:
    nb = execute(nbformat.read(path, as_version=4))

    first = text_of(outputs(nb)[0])
    assert first.startswith("SIMULATED"), first
    stderr = "".join(o.text for o in outputs(nb, "stream") if o.name == "stderr")
    assert not WARNING_LINE.search(stderr), stderr
    text = "\n".join(text_of(output) for output in outputs(nb))
    for pattern in SHOWS[path.stem]:
        assert re.search(pattern, text, re.M), f"{pattern!r} not in the outputs:\n{text}"
    charts = [o for o in outputs(nb, "display_data") if "image/png" in o.data]
    assert len(charts) == CHARTS[path.stem]
