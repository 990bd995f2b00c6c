"""The notebooks run top to bottom on the simulated backend, and are committed clean.

Each notebook runs in a real ipykernel (the ``python3`` kernelspec, which resolves to
this interpreter) with the API keys removed from the environment, so CI always runs
them SIMULATED. The kernel talks to this process over ZMQ on 127.0.0.1.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import cast

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat import NotebookNode

import lc_gemini_router

# Whole-suite runs only: the drift checks in CI leave them out (see .ci/run).
pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
EXPECTED = (
    "01_quickstart.ipynb",
    "02_agents_and_tools.ipynb",
    "03_cost_report.ipynb",
    "04_thresholds_from_data.ipynb",
    "05_batch_lane.ipynb",
)
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
        r"^lite +classifier +3 +0 ",  # three tools bound: the classifier still decides
        r"^lite +sticky .*continues a turn started on lite$",
        r"^pro_tools +rule .*engineering tool called: run_tests$",
        r"^GeminiRoutingMiddleware +\{'answer': '\$0\.\d+ \(3 calls\)', 'classifier': ",
        r"^ModelRouterMiddleware +\{'answer': '\$0\.\d+ \(3 calls\)', 'classifier': ",
    ],
    "03_cost_report": [r"the handler's total to the last digit"],
    # Routed at submit (rules, and the classifier for the rest), watched on the simulated
    # clock, resumed by id, the failed item answered on its re-queue, then the bill.
    "05_batch_lane": [
        r"^ 5 pro +rule +Prove that there are infinitely many primes\.$",
        r"^ 6 pro +classifier +Debug a race condition",
        r"^classifier at submit: 4 calls, \$0\.\d+ \(standard tier\)$",
        r"^t= +0s +PENDING +\{'PENDING': 10\}\n+t= +90s +RUNNING +\{'RUNNING': 10\}$",
        r"^resumed lcgr-[0-9a-f]+ from the FileBatchStore: RUNNING, \{'RUNNING': 10\}$",
        r"^t= +\d+s +PARTIALLY_SUCCEEDED +\{'SUCCEEDED': 9, 'failed': 1\}\n+"
        r"t= +\d+s +PENDING +\{'SUCCEEDED': 9, 'PENDING': 1\}$",
        r"^t= +\d+s +SUCCEEDED +\{'SUCCEEDED': 10\}$",
        r"^ 6 pro +attempt 1 +batches/\w+ ",
        r"^batch lane, routed +0\.\d+ +0\.\d+ +0\.\d+ +\d+\.\d%$",
        r"^all-Pro, standard tier +0\.\d+ +0\.000000 +0\.\d+ +100\.0%$",
        r"^tier discount \(the same answers, batch vs standard\): 50%$",
        r"^standard tier, measured \$(\S+); handler's standard_cost \$\1\n+equal: True$",
    ],
}
# Notebook 04, in three steps. Calibrate: the replay of the log at the threshold it ran
# with gives its bill to the digit; the 25% target is met exactly (10 of 40 answers) at
# 0.8, which router.toml holds when read back; a $3 budget picks the cheaper 1.0.
THRESHOLDS_CALIBRATE = [
    r"^\d+ routed answers: \d+ with a fixed lane \(\d+ on Pro\),\n+\d+ follow their",
    r"^replay at 0\.6: Pro share \S+, \$(\S+)\n+the log: +\$\1, the same to the last digit$",
    r"^target: Pro share 25% .*\n+(?:.*\n+)*?chosen +0\.8 +25\.0% +10/40 ",
    r"^target: at most \$3 per 1,000 requests .*\n+(?:.*\n+)*?chosen +1\.0 +20\.0% +8/40 ",
    r"^# From costs\.jsonl: Pro share 25%$",
    r"^chosen 0\.8 -> router\.toml -> escalation_threshold = 0\.8$",
]
# Evaluate: both scorers on all 80 questions, the endpoints are RouteLLM's MT-Bench
# scores (Mixtral 8.34, GPT-4 9.23), the simulated one is labelled as such, and both
# end on the comparison with RouteLLM's published point.
THRESHOLDS_EVALUATE = [
    r"^MT-Bench: 80 questions \(bundled RouteLLM data\)$",
    r"^scorer rules: 2 questions decided by rules, 0 by score, 78 on the fallback lane$",
    r"^router +0\.00-1\.01 +1\.2% ",  # rules: no threshold changes anything
    r"^scorer simulated - SIMULATED, not a quality claim: 2 questions decided by rules, 78 by",
    r"^all Flash-Lite +- +0\.0% +9\.6% +8\.341 +90\.4%$",
    r"^all Pro +- +100\.0% +100\.0% +9\.228 +100\.0%$",
    r"^95% quality retained: not reached \(at most 90\.5%, at 1\.2% Pro calls\)",
    r"^95% quality retained: reached at \d+\.\d% Pro calls \(threshold 0\.\d\d\)",
    r"^RouteLLM \(Ong et al\., 2024\), .* ~26% GPT-4 calls on MT-Bench; here not reached\.$",
    r"^RouteLLM \(Ong et al\., 2024\), .*; here \d+\.\d% Pro calls \((fewer|more) than",
]
# Report: the summary agrees with the handler and with the calibrated Pro share, and
# the HTML page is written.
THRESHOLDS_REPORT = [
    r"^  all-Pro reference +\$0\.\d+ +the answers' usage at Pro prices",
    r"^  escalated +10 of 40 +25\.0% of routed answers on pro or pro_tools$",
    r"^  classifier +6 +0 +[\d,]+ +[\d,]+ +\$0\.\d+ +\d+\.\d%$",
    r"^total \$0\.\d+ equals the handler's total$",
    r"^5 files; HTML report: \S+/report/report\.html$",
]
SHOWS["04_thresholds_from_data"] = [
    *THRESHOLDS_CALIBRATE,
    *THRESHOLDS_EVALUATE,
    *THRESHOLDS_REPORT,
]
CHARTS = {
    "01_quickstart": 0,
    "02_agents_and_tools": 0,
    "03_cost_report": 3,
    # The MT-Bench curve (with the data), the bill against all-Pro, the escalation rate.
    "04_thresholds_from_data": 3,
    "05_batch_lane": 0,
}


@pytest.fixture
def offline_kernel(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The kernel inherits os.environ: no API key (SIMULATED), a private runtime dir."""
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter-runtime"))


# nbformat's reader and v4 builders carry no annotations; these wrappers give them types.
def read_notebook(path: Path) -> NotebookNode:
    read = cast("Callable[..., NotebookNode]", nbformat.read)
    return read(path, as_version=4)


def code_notebook(source: str) -> NotebookNode:
    """A v4 notebook of one code cell."""
    new_notebook = cast("Callable[..., NotebookNode]", nbformat.v4.new_notebook)
    new_code_cell = cast("Callable[[str], NotebookNode]", nbformat.v4.new_code_cell)
    return new_notebook(cells=[new_code_cell(source)])


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


def test_exactly_the_five_notebooks() -> None:
    assert tuple(path.name for path in PATHS) == EXPECTED
    assert sorted(SHOWS) == sorted(CHARTS) == [path.stem for path in PATHS]


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_notebook_is_valid_and_committed_clean(path: Path) -> None:
    nb = read_notebook(path)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.cells[0].cell_type == "markdown"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)


@pytest.mark.usefixtures("offline_kernel")
def test_kernel_is_this_interpreter_with_this_package() -> None:
    nb = code_notebook(
        "import sys, lc_gemini_router\nprint(sys.prefix)\nprint(lc_gemini_router.__file__)"
    )
    prefix, package = text_of(outputs(execute(nb))[0]).splitlines()
    assert (prefix, package) == (sys.prefix, lc_gemini_router.__file__)


@pytest.mark.usefixtures("offline_kernel")
@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_notebook_runs_simulated(path: Path) -> None:
    nb = execute(read_notebook(path))

    first = text_of(outputs(nb)[0])
    assert first.startswith("SIMULATED"), first
    stderr = "".join(o.text for o in outputs(nb, "stream") if o.name == "stderr")
    assert not WARNING_LINE.search(stderr), stderr
    text = "\n".join(text_of(output) for output in outputs(nb))
    for pattern in SHOWS[path.stem]:
        assert re.search(pattern, text, re.M), f"{pattern!r} not in the outputs:\n{text}"
    charts = [o for o in outputs(nb, "display_data") if "image/png" in o.data]
    assert len(charts) == CHARTS[path.stem]
