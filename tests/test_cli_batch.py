"""``lc-gemini-router batch``: the real CLI, through the real google-genai client, on the simulator.

In-process runs (``main([...])``) use the embedded simulator (no API key) or one this
test started, reached as the live API is: ``GOOGLE_API_KEY`` plus google-genai's
``GOOGLE_GEMINI_BASE_URL``. Where a job must outlive its process, each command runs
in a subprocess of its own against that one simulator. Costs are hand-computed from
``prices.toml`` (batch tier) and the kit backend's token counts.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import lc_gemini_router
import lc_gemini_router.tools.cli.batch as batch_cli
import lc_gemini_router.tools.cli.batch.display as batch_display
import lc_gemini_router.tools.cli.batch.jobs as batch_jobs
from lc_gemini_router.testing.simulator import GeminiSimulator
from lc_gemini_router.tools.cli.common import PROG
from lc_gemini_router.tools.formatting import usd
from tests.cli_kit import PREFIX, one_line_error, run
from tests.routing_kit import LITE, PRO, Backend

pytestmark = pytest.mark.usefixtures("offline_cli")

MILLION = Decimal(1_000_000)
# The kit backend: lanes answer 500 prompt + 100 output tokens (Pro also thinks 300);
# the classifier reads 150 and writes 12. Rates per 1M tokens from prices.toml.
LITE_BATCH = (500 * Decimal("0.125") + 100 * Decimal("0.75")) / MILLION  # 0.0001375
PRO_BATCH = (500 * Decimal("1.00") + 400 * Decimal("6.00")) / MILLION  # 0.0029
LITE_STANDARD = (500 * Decimal("0.25") + 100 * Decimal("1.50")) / MILLION
PRO_STANDARD = (500 * Decimal("2.00") + 400 * Decimal("12.00")) / MILLION
PRO_ON_LITE_USAGE = (500 * Decimal("1.00") + 100 * Decimal("6.00")) / MILLION  # reference
CLASSIFIER = (150 * Decimal("0.25") + 12 * Decimal("1.50")) / MILLION  # standard tier

RIDDLE = "Solve riddle {}: what has keys but no locks?"  # the kit's classifier says Pro
# Blank lines do not count; the third request is a conversation with a system message.
REQUESTS = "\n".join(
    [
        json.dumps("Translate item 0"),
        json.dumps({"id": "r1", "input": RIDDLE.format(1)}),
        "",
        json.dumps(
            {
                "id": 7,
                "input": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Translate item 2"},
                ],
            }
        ),
        json.dumps({"input": RIDDLE.format(3)}),
    ]
)
IDS = [None, "r1", 7, None]
LANES = ["lite", "pro", "lite", "pro"]
ANSWERS = 2 * LITE_BATCH + 2 * PRO_BATCH
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text + "\n", encoding="utf-8")
    return path


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _spend(out: str) -> dict[str, str]:
    """The cost table's rows: label -> USD cell."""
    rows = {}
    for line in out.splitlines():
        cells = [cell.strip() for cell in line.split("│")]
        if len(cells) == 5 and cells[2].startswith("$"):
            rows[cells[1]] = cells[2]
    return rows


def _job_id(out: str) -> str:
    found = re.search(r"Submitted batch job (lcgr-[0-9a-f]+)", out)
    assert found, out
    return found.group(1)


def _check_results(path: Path, *, errors: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    lines = _lines(path)
    assert [line["index"] for line in lines] == [0, 1, 2, 3]
    assert [line["id"] for line in lines] == IDS
    assert [line["lane"] for line in lines] == LANES
    for line in lines:
        model = LITE if line["lane"] == "lite" else PRO
        assert line["model"] == model
        if line["index"] in errors:
            assert line["text"] is None and line["cost"] is None
            continue
        assert line["error"] is None
        assert line["text"] == f"{model} answers"
        assert Decimal(line["cost"]) == (LITE_BATCH if model == LITE else PRO_BATCH)
    return lines


@pytest.fixture
def kit_simulated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulated mode (no key, the embedded simulator) answering as the kit backend."""
    monkeypatch.setattr("lc_gemini_router.tools.backend.simulated_responder", Backend)


@pytest.fixture
def live_sim(
    sim: GeminiSimulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> GeminiSimulator:
    """Live mode pointed at this test's simulator, run from tmp_path (where jobs are kept)."""
    monkeypatch.setenv("GOOGLE_API_KEY", "test")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", sim.base_url)
    for name in ("LANGSMITH_GATEWAY", "GOOGLE_GENAI_USE_VERTEXAI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return sim


_RUN_ALL = """
import json, sys
from lc_gemini_router.tools.cli import main
for argv in json.loads(sys.argv[1]):
    code = main(argv)
    print(f"\\n@@ exit {code}", flush=True)
"""


def _process(*commands: list[str]) -> list[tuple[int, str]]:
    """CLI commands run one after the other in a process of their own (this checkout's
    package); each one's exit code and stdout. A process costs seconds: few are started."""
    src = str(Path(lc_gemini_router.__file__).resolve().parents[1])
    path = os.pathsep.join([src, *filter(None, [os.environ.get("PYTHONPATH")])])
    done = subprocess.run(
        [sys.executable, "-c", _RUN_ALL, json.dumps([["batch", *argv] for argv in commands])],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": path},
    )
    assert done.returncode == 0, done.stderr
    pieces = re.split(r"\n@@ exit (-?\d+)\n", done.stdout)
    results = [(int(code), out) for out, code in zip(pieces[0::2], pieces[1::2], strict=False)]
    assert len(results) == len(commands), done.stdout + done.stderr
    return results


def _clock_pauses(sim: GeminiSimulator, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Pauses between polls move the simulator's clock instead of sleeping."""
    pauses: list[float] = []

    def advance(seconds: float) -> None:
        pauses.append(seconds)
        sim.batches.advance(seconds)

    monkeypatch.setattr(batch_display, "_sleep", advance)
    return pauses


# -- submit and wait, simulated ---------------------------------------------------------


@pytest.mark.usefixtures("kit_simulated")
def test_simulated_submit_waits_and_writes_results_in_input_order_at_batch_rates(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    requests = _write(tmp_path / "prompts.jsonl", REQUESTS)
    out = tmp_path / "answers.jsonl"

    code, stdout, err = run(capsys, "batch", "submit", str(requests), "--out", str(out))

    assert code == 0, err
    assert not err
    assert stdout.startswith("SIMULATED Gemini (loopback http://127.0.0.1:")
    assert "kept in memory only" in stdout
    job_id = _job_id(stdout)
    assert "Routed 4 requests: 2 on lite, 2 on pro (decided by classifier 2, rule 2)" in stdout
    assert f"2 classifier calls, {usd(2 * CLASSIFIER)}" in stdout
    assert len(re.findall(r"batches/[0-9a-f]+", stdout)) >= 2  # one Gemini job per model
    assert "poll 1 (0s): SUCCEEDED - 4 items: 4 SUCCEEDED" in stdout  # the progress display
    assert f"Batch job {job_id} SUCCEEDED: 4 answers, 0 errors" in stdout
    _check_results(out)

    total = ANSWERS + 2 * CLASSIFIER
    standard = 2 * LITE_STANDARD + 2 * PRO_STANDARD + 2 * CLASSIFIER
    reference = 2 * PRO_ON_LITE_USAGE + 2 * PRO_BATCH
    assert _spend(stdout) == {
        "answers at batch rates": usd(ANSWERS),
        "classifier, standard tier": usd(2 * CLASSIFIER),
        "total spend": usd(total),
        "the same on the standard tier": usd(standard),
        "saved by batch rates": usd(standard - total),
        "all-Pro reference, batch rates": usd(reference),
        "all-Pro reference, standard tier": usd(2 * reference),  # batch is half price
        "saved against all-Pro, batch rates": usd(reference - total),
        "saved against all-Pro, standard tier": usd(2 * reference - total),
    }
    assert not (tmp_path / ".lc-gemini-router").exists()  # simulated jobs are not stored


def test_simulated_submit_with_the_default_responder_and_default_out(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The simulated responder counts ~4 characters per token: 36 characters in, and a
    # translation as long as its source out.
    requests = _write(tmp_path / "fr.jsonl", json.dumps("Translate 'good morning' into French"))
    code, _, err = run(capsys, "batch", "submit", str(requests), "--simulated")
    assert code == 0, err
    (line,) = _lines(tmp_path / "fr-results.jsonl")
    assert line["lane"] == "lite" and line["model"] == LITE and line["error"] is None
    assert Decimal(line["cost"]) == (9 * Decimal("0.125") + 9 * Decimal("0.75")) / MILLION
    assert "[simulated gemini-3.1-flash-lite]" in line["text"]


def test_simulated_no_wait_is_refused_before_anything_runs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    requests = _write(tmp_path / "p.jsonl", json.dumps("Translate item 0"))
    code, stdout, err = run(capsys, "batch", "submit", str(requests), "--no-wait")
    assert code == 2 and not stdout
    assert "--no-wait needs the live Gemini API" in one_line_error(err)


def test_later_commands_say_they_need_the_live_api(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("status", "results", "cancel"):
        code, stdout, err = run(capsys, "batch", command, "lcgr-0123")
        assert code == 2 and not stdout, command
        assert f"batch {command} needs the live Gemini API" in one_line_error(err)


# -- the progress display, polls on the simulator's clock -------------------------------


def test_waiting_shows_items_per_state_on_every_poll_and_requeues_failures(
    live_sim: GeminiSimulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    live_sim.batches.pending_seconds = 60
    live_sim.batches.running_seconds = 60
    live_sim.fail_next(500, model=PRO, count=1, message="backend error")
    pauses = _clock_pauses(live_sim, monkeypatch)
    _write(Path("prompts.jsonl"), REQUESTS)

    code, stdout, err = run(capsys, "batch", "submit", "prompts.jsonl", "--poll-every", "40")

    assert code == 0, err
    assert f"LIVE Gemini API at {live_sim.base_url} (GOOGLE_GEMINI_BASE_URL" in stdout
    polls = [line for line in stdout.splitlines() if line.startswith("poll ")]
    # Pauses grow 1.5x per poll; the job runs from 60 s to 120 s, Gemini fails one Pro
    # item, and that item is sent again (attempt 1) at once: 190 s to 310 s on its own.
    assert polls == [
        "poll 1 (0s): PENDING - 4 items: 4 PENDING",
        "poll 2 (40s): PENDING - 4 items: 4 PENDING",
        "poll 3 (100s): RUNNING - 4 items: 4 RUNNING",
        "poll 4 (190s): PARTIALLY_SUCCEEDED - 4 items: 3 SUCCEEDED, 1 failed",
        "poll 5 (190s): PENDING - 4 items: 1 PENDING, 3 SUCCEEDED",
        "poll 6 (230s): PENDING - 4 items: 1 PENDING, 3 SUCCEEDED",
        "poll 7 (290s): RUNNING - 4 items: 1 RUNNING, 3 SUCCEEDED",
        "poll 8 (380s): SUCCEEDED - 4 items: 4 SUCCEEDED",
    ]
    assert pauses == [40, 60, 90, 40, 60, 90]
    _check_results(Path("prompts-results.jsonl"))
    assert _spend(stdout)["answers at batch rates"] == usd(ANSWERS)  # the failure is free
    assert len(list(Path(".lc-gemini-router/batches").glob("lcgr-*.json"))) == 2


def test_the_progress_display_on_a_terminal_is_a_bar_refreshed_per_poll(
    live_sim: GeminiSimulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich takes the output for a terminal
    live_sim.batches.pending_seconds = 30
    monkeypatch.setattr(batch_display, "_sleep", live_sim.batches.advance)
    _write(Path("prompts.jsonl"), REQUESTS)

    code, stdout, err = run(capsys, "batch", "submit", "prompts.jsonl", "--poll-every", "30")

    assert code == 0, err
    plain = _ANSI.sub("", stdout)
    assert "━" in plain  # the bar
    assert "0/4 final" in plain and "4 items: 4 PENDING" in plain and "(poll 1, 0s)" in plain
    assert "4/4 final" in plain and "4 items: 4 SUCCEEDED" in plain and "(poll 2, 30s)" in plain
    assert "poll 1 (0s):" not in plain  # no log lines on a terminal


# -- a job that outlives its process --------------------------------------------------


def test_submit_status_results_and_cancel_in_separate_processes(
    live_sim: GeminiSimulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Two processes besides this one (each costs seconds): one submits and ends, the
    # other finds the jobs in the store and asks Gemini about them.
    live_sim.fail_next(500, model=PRO, count=1, message="backend error")  # item 1, for good
    _write(tmp_path / "prompts.jsonl", REQUESTS)
    ((code, stdout),) = _process(
        ["submit", "prompts.jsonl", "--no-wait", "--display-name", "nightly",
         "--out", "out.jsonl", "--max-requeues", "0", "--store", "jobs"],
    )  # fmt: skip
    assert code == 0, stdout
    first = _job_id(stdout)
    assert (
        f"{PROG} batch status {first} --store jobs, then {PROG} batch results {first} --store jobs"
    ) in stdout
    assert f"2 classifier calls, {usd(2 * CLASSIFIER)}" in stdout
    gemini_jobs = sorted(set(re.findall(r"batches/[0-9a-f]+", stdout)))
    assert len(gemini_jobs) == 2
    assert (tmp_path / "jobs" / f"{first}.json").is_file()

    # A second job that stays pending: not ready here, cancelled from the other process.
    live_sim.batches.pending_seconds = 3600
    code, stdout, err = run(
        capsys, "batch", "submit", "prompts.jsonl", "--no-wait", "--store", "jobs"
    )
    assert code == 0, err
    second = _job_id(stdout)
    code, stdout, err = run(capsys, "batch", "results", second, "--store", "jobs")
    assert code == batch_cli.EXIT_NOT_READY == 3
    assert "4 items: 4 PENDING" in stdout
    assert "is PENDING: its results are not ready yet" in one_line_error(err)

    (code, status), (code2, collected), (code3, cancel) = _process(
        ["status", first, "--store", "jobs"],
        ["results", first, "--store", "jobs"],
        ["cancel", second, "--store", "jobs"],
    )
    assert (code, code2, code3) == (0, 0, 0), status + collected + cancel
    assert f"LIVE Gemini API at {live_sim.base_url}" in status
    assert f'Batch job {first} "nightly": PARTIALLY_SUCCEEDED' in status
    assert "4 items: 3 SUCCEEDED, 1 failed" in status and "from prompts.jsonl" in status
    assert all(name in status for name in gemini_jobs)
    assert "Collected so far: 0 of 4" in status
    assert f"Batch job {first} PARTIALLY_SUCCEEDED: 3 answers, 1 error" in collected
    assert "item 1 (id 'r1'): INTERNAL: backend error (sent once)" in collected
    lines = _check_results(tmp_path / "out.jsonl", errors=(1,))  # submit's --out, kept
    assert lines[1]["error"] == {
        "message": "backend error",
        "code": 13,
        "status": "INTERNAL",
        "attempts": 1,
        "job_state": "SUCCEEDED",
    }
    spend = _spend(collected)
    answers = 2 * LITE_BATCH + PRO_BATCH
    assert spend["answers at batch rates"] == usd(answers)
    assert spend["classifier, standard tier"] == usd(2 * CLASSIFIER)  # from the record
    assert spend["total spend"] == usd(answers + 2 * CLASSIFIER)
    assert f"Cancelled batch job {second}: PENDING -> CANCELLED" in cancel

    # Collected again here: the same file, nothing priced twice, and it says so.
    (tmp_path / "out.jsonl").unlink()
    code, stdout, err = run(capsys, "batch", "results", first, "--store", "jobs")
    assert code == 0, err
    assert _lines(tmp_path / "out.jsonl") == lines
    assert not _spend(stdout)  # no table: nothing was priced now
    assert (
        f"All 3 answers had been collected before, their cost reported then: {usd(answers)}"
        in stdout
    )

    # The cancelled job, seen from here: every item an error, nothing billed.
    code, stdout, err = run(capsys, "batch", "status", second, "--store", "jobs")
    assert code == 0, err
    assert f"Batch job {second}: CANCELLED" in stdout and "4 items: 4 CANCELLED" in stdout
    code, stdout, err = run(capsys, "batch", "cancel", second, "--store", "jobs")
    assert code == 0 and "already CANCELLED: nothing to cancel" in stdout
    code, stdout, err = run(capsys, "batch", "results", second, "--store", "jobs")
    assert code == 0, err
    assert "0 answers, 4 errors" in stdout
    assert len(_lines(tmp_path / "prompts-results.jsonl")) == 4  # submit's default --out
    billed = [r for r in live_sim.requests if r.usage is not None and r.batch is not None]
    assert len(billed) == 3  # the first job's answers only


# -- user mistakes: one line, exit 2, nothing sent --------------------------------------

HOSTILE = [
    ('"ok"\n{"input": "x"', 2, "not valid JSON (Expecting ',' delimiter"),
    ("42", 1, 'expected a prompt string, or an object {"id": ..., "input": ...}, got a number'),
    ("null", 1, "got null"),
    ('["a", "b"]', 1, "got an array"),
    ('"   "', 1, "'prompt' is an empty prompt"),
    ('{"input": ""}', 1, "'input' is an empty prompt"),
    ('{"input": 5}', 1, "'input' must be a prompt string or a list of"),
    ('{"input": []}', 1, "'input' is an empty list of messages"),
    ('{"id": "a"}', 1, "'input' is missing"),
    ('{"prompt": "x"}', 1, "'prompt': unknown field (a request has input and id)"),
    ('{"id": 1.5, "input": "x"}', 1, "'id' must be a string or a whole number, got a number"),
    ('{"id": true, "input": "x"}', 1, "'id' must be a string or a whole number, got a boolean"),
    ('"a"\n{"id": "q", "input": "x"}\n{"id": "q", "input": "y"}', 3, "'id' 'q' is already the id"),
    ('{"input": ["hi"]}', 1, "'input[0]' must be an object"),
    ('{"input": [{"role": "robot", "content": "x"}]}', 1, "input[0].role must be 'system'"),
    ('{"input": [{"role": "user", "content": ""}]}', 1, "'input[0].content' is an empty prompt"),
    ('{"input": [{"role": "user", "content": 3}]}', 1, "'input[0].content' must be a string"),
    ('{"input": [{"role": "user"}]}', 1, "'input[0]' has no 'content'"),
    ('{"input": [{"role": "user", "content": "x", "n": 1}]}', 1, "input[0].n: unknown field"),
    ('{"input": [{"role": "system", "content": "Be brief."}]}', 1, "only a system message"),
    ('"ok"\n"\\ud800 broken"', 2, "lone surrogate"),
    ('{"input": NaN}', 1, "not valid JSON (NaN is not a number)"),
    ("[" * 100_000, 1, "not valid JSON (nested too deeply)"),
    (b'"ok"\n"caf\xe9"\n', 2, "not UTF-8 text"),
]


def test_hostile_input_files_name_the_line_and_send_nothing(
    live_sim: GeminiSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    # One test for every case: each pytest test pays for a garbage collection.
    path = Path("in.jsonl")
    for content, line, message in HOSTILE:
        path.write_bytes(content if isinstance(content, bytes) else str(content).encode())
        code, stdout, err = run(capsys, "batch", "submit", str(path), "--no-wait")
        assert code == 2 and not stdout, (content, err)
        text = one_line_error(err)
        assert text.startswith(f"in.jsonl:{line}: "), text
        assert message in text, text
    assert live_sim.requests == [] and live_sim.batches.jobs == []


MISTAKES = [
    (["submit", "missing.jsonl"], "cannot read batch input missing.jsonl: No such file"),
    (["submit", "."], "cannot read batch input .: Is a directory"),
    (["submit", "empty.jsonl"], "empty.jsonl: no requests (the file has no JSON lines)"),
    (["submit", "ok.jsonl", "--lane", "turbo"], "turbo"),
    (["submit", "ok.jsonl", "--out", "nowhere/r.jsonl"], "no directory nowhere"),
    (["submit", "ok.jsonl", "--config", "missing.toml"], "missing.toml"),
    (["status", "../etc/passwd"], "not a batch job id"),
    (["status", "lcgr-unknown"], "no batch job store at .lc-gemini-router/batches"),
    (["results", "lcgr-unknown", "--store", "."], "no batch job 'lcgr-unknown' in ."),
    (["results", "lcgr-0", "--timeout", "60"], "--timeout applies to --wait: pass --wait too"),
    (["results", "lcgr-0", "--poll-every", "5"], "--poll-every applies to --wait"),
]


def test_user_mistakes_are_one_line_and_exit_2(
    live_sim: GeminiSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(Path("empty.jsonl"), "\n  \n")
    _write(Path("ok.jsonl"), json.dumps("Translate item 0"))
    for argv, message in MISTAKES:
        code, _, err = run(capsys, "batch", *argv)
        assert code == 2, (argv, err)
        assert message in one_line_error(err), argv
    assert live_sim.batches.jobs == []


def test_a_broken_record_and_a_refusing_gemini(
    live_sim: GeminiSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Path("jobs")
    store.mkdir()
    (store / "lcgr-broken.json").write_text('{"id": "lcgr-broken"}', encoding="utf-8")
    code, _, err = run(capsys, "batch", "status", "lcgr-broken", "--store", "jobs")
    assert code == 2
    assert "the store holds a broken record for lcgr-broken" in one_line_error(err)

    _write(Path("ok.jsonl"), json.dumps("Translate item 0"))
    code, stdout, err = run(capsys, "batch", "submit", "ok.jsonl", "--no-wait", "--store", "jobs")
    assert code == 0, err
    job_id = _job_id(stdout)
    live_sim.batches.reset()  # Gemini forgot the job: a 404
    code, _, err = run(capsys, "batch", "status", job_id, "--store", "jobs")
    assert code == 1
    line = err.strip().splitlines()[-1]
    assert line.startswith(PREFIX + "Gemini answered 404 NOT_FOUND"), err


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ([], ["submit"], ["status"], ["results"], ["cancel"]):
        code, stdout, _ = run(capsys, "batch", *command, "--help")
        assert code == 0
        assert stdout.startswith(f"usage: lc-gemini-router batch {' '.join(command)}".rstrip())


def test_poll_every_and_max_requeues_are_checked_by_the_parser(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for flag, value in (
        ("--poll-every", "0"),
        ("--poll-every", "nan"),
        ("--timeout", "-5"),
        ("--max-requeues", "-1"),
    ):
        code, _, err = run(capsys, "batch", "submit", "x.jsonl", flag, value)
        assert code == 2 and f"argument {flag}" in err
    code, _, err = run(capsys, "batch", "results", "lcgr-0", "--wait", "--timeout", "inf")
    assert code == 2 and "argument --timeout" in err


def test_transport_errors_of_any_http_client_google_genai_uses_are_told_apart() -> None:
    import httpx

    assert batch_jobs._transport_error(httpx.ConnectError("refused"))
    assert batch_jobs._transport_error(ConnectionRefusedError())
    assert not batch_jobs._transport_error(ValueError("a bug"))


def test_results_sends_failed_items_again_first_and_counts_what_was_collected_before(
    live_sim: GeminiSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    live_sim.fail_next(500, model=PRO, count=1, message="backend error")
    _write(Path("prompts.jsonl"), REQUESTS)
    code, stdout, err = run(capsys, "batch", "submit", "prompts.jsonl", "--no-wait")
    assert code == 0, err
    job_id = _job_id(stdout)

    # --no-requeue: collect now, the failed item as its error.
    code, stdout, err = run(capsys, "batch", "results", job_id, "--no-requeue")
    assert code == 0, err
    assert "3 answers, 1 error" in stdout
    # By default the failed item goes again first (max-requeues 1): not ready yet.
    code, stdout, err = run(capsys, "batch", "results", job_id)
    assert code == 3
    assert "1 failed item sent again (re-queue 1 of 1)" in one_line_error(err)
    code, stdout, err = run(capsys, "batch", "results", job_id)
    assert code == 0, err
    assert "4 answers, 0 errors" in stdout
    assert _spend(stdout)["answers at batch rates"] == usd(PRO_BATCH)  # the new one only
    assert "3 answers had been collected before" in stdout
    _check_results(Path("prompts-results.jsonl"))


def test_interrupting_the_wait_leaves_the_job_to_collect_later(
    live_sim: GeminiSimulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    live_sim.batches.pending_seconds = 60

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(batch_display, "_sleep", interrupt)
    _write(Path("prompts.jsonl"), REQUESTS)
    code, stdout, err = run(capsys, "batch", "submit", "prompts.jsonl")
    assert code == 130
    job_id = _job_id(stdout)
    assert one_line_error(err) == (
        f"interrupted: batch job {job_id} goes on at Gemini; collect it with "
        f"{PROG} batch results {job_id}"
    )


def test_what_the_router_refuses_is_named_by_its_line(
    live_sim: GeminiSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("small.toml").write_text("max_prompt_tokens = 50\n", encoding="utf-8")
    _write(Path("prompts.jsonl"), "\n".join([json.dumps("short"), json.dumps("long " * 400)]))
    code, _, err = run(capsys, "batch", "submit", "prompts.jsonl", "--config", "small.toml")
    assert code == 2
    text = one_line_error(err)
    assert text.startswith("prompts.jsonl:2: ") and "max_prompt_tokens" in text
    assert live_sim.requests == []
    assert not Path(".lc-gemini-router").exists()  # a refused file leaves no store behind


def test_results_wait_polls_a_later_process_job_until_final_then_collects(
    live_sim: GeminiSimulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    live_sim.batches.pending_seconds = 60
    live_sim.fail_next(500, model=PRO, count=1, message="backend error")
    _write(Path("prompts.jsonl"), REQUESTS)
    code, stdout, err = run(capsys, "batch", "submit", "prompts.jsonl", "--no-wait")
    assert code == 0, err
    job_id = _job_id(stdout)
    pauses = _clock_pauses(live_sim, monkeypatch)

    code, stdout, err = run(capsys, "batch", "results", job_id, "--wait", "--poll-every", "40")

    assert code == 0, err
    polls = [line for line in stdout.splitlines() if line.startswith("poll ")]
    # Pending until 60 s; the failed Pro item is re-queued and pending 60 s on its own.
    assert polls == [
        "poll 1 (0s): PENDING - 4 items: 4 PENDING",
        "poll 2 (40s): PENDING - 4 items: 4 PENDING",
        "poll 3 (100s): PARTIALLY_SUCCEEDED - 4 items: 3 SUCCEEDED, 1 failed",
        "poll 4 (100s): PENDING - 4 items: 1 PENDING, 3 SUCCEEDED",
        "poll 5 (140s): PENDING - 4 items: 1 PENDING, 3 SUCCEEDED",
        "poll 6 (200s): SUCCEEDED - 4 items: 4 SUCCEEDED",
    ]
    assert pauses == [40, 60, 40, 60]
    assert "4 answers, 0 errors" in stdout
    assert _spend(stdout)["answers at batch rates"] == usd(ANSWERS)  # the failure is free
    _check_results(Path("prompts-results.jsonl"))  # submit's default --out


def test_a_wait_that_reaches_its_timeout_exits_3_and_the_job_goes_on(
    live_sim: GeminiSimulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    live_sim.batches.pending_seconds = 3600
    pauses = _clock_pauses(live_sim, monkeypatch)
    _write(Path("prompts.jsonl"), REQUESTS)

    code, stdout, err = run(
        capsys, "batch", "submit", "prompts.jsonl", "--poll-every", "40", "--timeout", "100"
    )

    assert code == 3
    job_id = _job_id(stdout)
    assert pauses == [40, 60]  # the second pause is cut to what the timeout leaves
    assert one_line_error(err) == (
        f"batch job {job_id!r} is still PENDING after 100s of waiting; it goes on at "
        f"Gemini: collect it with {PROG} batch results {job_id} (--wait to wait again)"
    )
    assert not Path("prompts-results.jsonl").exists()
    # The job went on: a later wait, without re-queues, collects it.
    code, stdout, err = run(capsys, "batch", "results", job_id, "--wait", "--no-requeue")
    assert code == 0, err
    assert "4 answers, 0 errors" in stdout
    _check_results(Path("prompts-results.jsonl"))
    assert _spend(stdout)["answers at batch rates"] == usd(ANSWERS)
