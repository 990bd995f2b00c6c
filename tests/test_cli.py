"""The lc-gemini-router command, in-process: every command and every user-error path."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from lc_gemini_router import LaneError
from lc_gemini_router.tools.backend import gemini_backend
from lc_gemini_router.tools.demo import WORKLOAD, run_workload
from lc_gemini_router.tools.formatting import usd
from tests.cli_kit import one_line_error, run

pytestmark = pytest.mark.usefixtures("offline_cli")


def test_usd_is_exact_and_plain() -> None:
    assert usd(Decimal("0.000275")) == "$0.000275"
    assert usd(Decimal("0.00000025")) == "$0.00000025"  # never 2.5E-7
    assert usd(Decimal("0.4000")) == "$0.4"
    assert usd(Decimal("12E+1")) == "$120"
    assert usd(Decimal(0)) == "$0"
    assert usd(None) == "unknown"


# -- help -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["demo"],
        ["route"],
        ["price"],
        ["models"],
        ["doctor"],
        ["calibrate"],
        ["eval"],
        ["report"],
    ],
)
def test_help(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    assert out.startswith(f"usage: lc-gemini-router {' '.join(command)}".rstrip())


def test_help_explains_output_and_thinking(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "price", "--help")
    flat = " ".join(out.split())
    assert "--output counts visible output tokens only" in flat
    assert "Gemini bills thinking as output" in flat


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert code == 2 and not out
    assert "required: COMMAND" in err


def test_python_dash_m() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lc_gemini_router", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: lc-gemini-router")


def test_missing_rich_says_which_extra(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)  # import rich -> ImportError
    code, out, err = run(capsys, "models")
    assert code == 2 and not out
    assert "install lc-gemini-router[cli]" in one_line_error(err)


# -- demo -------------------------------------------------------------------------------------


def test_demo_simulated_without_a_key(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with gemini_backend(live=False) as backend:
        expected, cb = run_workload(backend)
    log = tmp_path / "calls.jsonl"

    code, out, err = run(capsys, "demo", "--log", str(log))

    assert code == 0, err
    assert not err
    assert "SIMULATED Gemini (loopback http://127.0.0.1:" in out
    assert "no GOOGLE_API_KEY found" in out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 9}
    for result in expected:  # one row per request, cost exact to the last digit
        row = rows[result.task.name]
        assert f" {result.decision.lane} " in row
        assert f" {result.model} " in row
        assert f" {usd(result.cost)} " in row
    for heading in ("Spend by model", "Spend by role", "Totals", "all-Pro reference"):
        assert heading in out
    totals = {
        cells[1].strip(): cells[2].strip()
        for cells in (line.split("│") for line in out.splitlines() if line.count("│") == 4)
    }
    assert totals["total spend"] == usd(cb.total_cost)
    assert totals["all-Pro reference"] == usd(cb.by_role["answer"].reference_cost)
    assert totals["savings"] == usd(cb.by_role["answer"].reference_cost - cb.total_cost)
    assert totals["classifier"] == usd(cb.by_role["classifier"].cost)
    assert totals["on Flash-Lite"] == f"8 of {len(WORKLOAD)}"
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(records) == cb.calls
    assert sum(Decimal(r["cost"]) for r in records) == cb.total_cost
    assert f"Log: {cb.calls} JSON lines appended to {log}" in out


def test_demo_simulated_on_request_with_a_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "secret-key-123")
    code, out, _ = run(capsys, "demo", "--simulated")
    assert code == 0
    assert "SIMULATED" in out and "simulation requested, API key ignored" in out
    assert "secret-key-123" not in out


def test_demo_live_without_a_key(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "demo", "--live")
    assert code == 2 and not out
    assert one_line_error(err).startswith("live mode needs GOOGLE_API_KEY")


def test_demo_live_and_simulated_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "demo", "--live", "--simulated")
    assert code == 2
    assert "not allowed with argument" in err


def test_demo_log_that_cannot_be_opened(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "demo", "--log", str(tmp_path / "missing" / "calls.jsonl"))
    assert code == 2 and not out
    assert one_line_error(err).startswith("cannot open log file")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("escalation_threshold = \n", "is not valid TOML"),
        ("escalation_threshold = 1.5\n", "escalation_threshold: Input should be less than or"),
        (
            "escalation_treshold = 0.5\n",
            "router.toml: escalation_treshold: unknown setting 'escalation_treshold'; did you"
            " mean 'escalation_threshold'?",
        ),
        ("classifier = { deadline_seconds = 0 }\n", "classifier.deadline_seconds: Input should"),
        (
            'pro_model = "gemini-3.1-flash-image-preview"\n',
            "has been shut down (since 2026-06-25); use 'gemini-3.1-flash-image' instead",
        ),
    ],
)
@pytest.mark.parametrize("command", ["demo", "route"])
def test_bad_config_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, toml: str, message: str, command: str
) -> None:
    config = tmp_path / "router.toml"
    config.write_text(toml, encoding="utf-8")
    args = ["route", "hello"] if command == "route" else ["demo"]
    code, out, err = run(capsys, *args, "--config", str(config))
    assert code == 2 and not out  # nothing printed before the error
    assert message in one_line_error(err)


def test_missing_config_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "demo", "--config", str(tmp_path / "nope.toml"))
    assert code == 2
    assert one_line_error(err).startswith("cannot read router config")


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (LaneError("pro", "gemini-3.1-pro-preview", RuntimeError("boom")), 1, "lane 'pro'"),
        (KeyboardInterrupt(), 130, "interrupted"),
    ],
)
def test_demo_failures_are_one_line(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    error: BaseException,
    code: int,
    message: str,
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr("lc_gemini_router.tools.demo.run_workload", fail)
    exit_code, _, err = run(capsys, "demo")
    assert exit_code == code
    assert message in one_line_error(err)


# -- route ------------------------------------------------------------------------------------


def route_rows(out: str) -> dict[str, str]:
    rows = [line.split("│") for line in out.splitlines() if line.count("│") == 3]
    return {cells[1].strip(): cells[2].strip() for cells in rows}


def test_route_hard_prompt_to_pro(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "route", "Prove that the square root of 2 is irrational")
    assert code == 0, err
    assert "SIMULATED" in out
    rows = route_rows(out)
    assert (rows["lane"], rows["model"], rows["category"]) == (
        "pro",
        "gemini-3.1-pro-preview",
        "reasoning",
    )
    assert rows["score"] == "0.90"
    assert rows["source"] == "rule"  # the proof text rule decides; no classifier call
    assert rows["reasons"]


def test_route_classifier_decision_with_its_cost(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "route", "Hi! Can you suggest a name for a grey cat?")
    assert code == 0
    rows = route_rows(out)
    assert (rows["lane"], rows["source"], rows["score"], rows["category"]) == (
        "lite",
        "classifier",
        "0.05",
        "chat",
    )
    assert rows["needs tools"] == "False"
    assert rows["reasons"] == "difficulty 0.05 < threshold 0.60"
    assert rows["classifier cost"].startswith("$0.0000")


def test_route_with_tools(capsys: pytest.CaptureFixture[str]) -> None:
    # Tools bound are counted, but their number alone does not decide: the classifier does.
    _, out, _ = run(capsys, "route", "anything at all", "--tools", "4")
    rows = route_rows(out)
    assert (rows["lane"], rows["source"]) == ("lite", "classifier")
    assert rows["tools bound"] == "4 (search_docs, read_file, run_tests, tool_4)"
    assert rows["classifier cost"].startswith("$0.0000")  # the classifier was asked

    _, out, _ = run(capsys, "route", "Find out why CI fails and fix it", "--tools", "1")
    rows = route_rows(out)
    assert (rows["lane"], rows["source"], rows["needs tools"]) == (
        "pro_tools",
        "classifier",
        "True",
    )
    assert rows["reasons"] == "multi-step tool use with tools bound"


def test_route_with_a_pyproject_config(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.lc_gemini_router]\nnever_escalate = ["coding"]\n', "utf-8")
    prompt = "Debug this: my parser raises IndexError on empty input"
    code, out, _ = run(capsys, "route", prompt, "--config", str(pyproject))
    assert code == 0
    assert route_rows(out)["lane"] == "lite"


def test_route_deprecated_lane_model_is_a_note(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "router.toml"
    config.write_text('lite_model = "gemini-3.1-flash-lite-preview"\n', encoding="utf-8")
    code, out, err = run(capsys, "route", "Hello!", "--config", str(config))
    assert code == 0
    assert route_rows(out)["model"] == "gemini-3.1-flash-lite-preview"
    assert err.splitlines() == [
        "lc-gemini-router: note: model 'gemini-3.1-flash-lite-preview' is deprecated; "
        "use 'gemini-3.1-flash-lite' instead"
    ]


def test_route_live_without_a_key(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "route", "hello", "--live")
    assert code == 2
    assert "live mode needs GOOGLE_API_KEY" in one_line_error(err)


def test_route_negative_tools(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "route", "hello", "--tools", "-1")
    assert code == 2
    assert "argument --tools: expected a token count (a whole number >= 0), got '-1'" in err


# -- price ------------------------------------------------------------------------------------


def price_rows(out: str) -> dict[str, list[str]]:
    rows = [line.split("│") for line in out.splitlines() if line.count("│") == 5]
    return {cells[1].strip(): [c.strip() for c in cells[2:5]] for cells in rows}


@pytest.mark.parametrize(
    ("args", "total"),
    [
        # gemini-facts.md's worked check, per request: 500 in + 100 out on Flash-Lite.
        (["gemini-3.1-flash-lite", "--input", "500", "--output", "100"], "$0.000275"),
        (["gemini-3.1-flash-lite", "--input", "500", "--output", "100", "--batch"], "$0.0001375"),
        (
            ["gemini-3.1-flash-lite", "--input", "500", "--output", "100", "--tier", "priority"],
            "$0.000495",
        ),
        (["models/Gemini-3.1-Pro-Preview", "--input", "1,000", "--output", "0"], "$0.002"),
        (["nano-banana-2", "--input", "0", "--output", "0", "--images", "4k"], "$0.1512"),
    ],
)
def test_price_totals(capsys: pytest.CaptureFixture[str], args: list[str], total: str) -> None:
    code, out, err = run(capsys, "price", *args)
    assert code == 0, err
    assert not err
    assert price_rows(out)["total"][-1] == total


def test_price_breakdown_thinking_cache_long_context(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--input", "250000", "--cached", "50000", "--output", "1000", "--thinking", "2000"]
    code, out, _ = run(capsys, "price", "gemini-3.1-pro-preview", *args)
    assert code == 0
    rows = price_rows(out)
    # Over 200k prompt tokens the whole request moves to 4.00 / 18.00 / 0.40.
    assert rows["input"] == ["200,000", "4.00", "$0.8"]
    assert rows["cached input"] == ["50,000", "0.40", "$0.02"]
    assert rows["output"] == ["1,000", "18.00", "$0.018"]
    assert rows["thinking (billed as output)"] == ["2,000", "18.00", "$0.036"]
    assert rows["total"][-1] == "$0.874"
    assert "Long-context rates: the prompt is over 200,000 tokens." in out
    assert "gemini-3.1-pro-preview, standard tier" in out


def test_price_images(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--input", "100", "--output", "10", "--images", "1K:2", "--images", "512"]
    code, out, _ = run(capsys, "price", "gemini-3.1-flash-image", *args)
    assert code == 0
    rows = price_rows(out)
    assert rows["images (2 x 1K, 1 x 512)"] == ["2,987", "60.00", "$0.17922"]
    assert rows["output"] == ["10", "1.50", "$0.000015"]
    assert rows["total"][-1] == "$0.17926"


def test_price_deprecated_model_prices_with_a_note(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["gemini-3.1-flash-lite-preview", "--input", "500", "--output", "100"]
    code, out, err = run(capsys, "price", *args)
    assert code == 0
    assert price_rows(out)["total"][-1] == "$0.000275"
    assert err.splitlines() == [
        "lc-gemini-router: note: model 'gemini-3.1-flash-lite-preview' is deprecated; "
        "use 'gemini-3.1-flash-lite' instead"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["gemini-9-ultra", "--input", "1", "--output", "1"],
            "unknown model 'gemini-9-ultra': not in the price catalog; "
            "see `lc-gemini-router models`",
        ),
        (
            ["gemini-3.1-flash-image-preview", "--input", "1", "--output", "1"],
            "model 'gemini-3.1-flash-image-preview' has been shut down (since 2026-06-25); "
            "use 'gemini-3.1-flash-image' instead",
        ),
        (
            ["gemini-3.1-flash-lite", "--input", "10", "--output", "1", "--cached", "11"],
            "--cached counts part of --input",
        ),
        (
            ["gemini-3.1-flash-lite", "--input", "1", "--output", "1", "--images", "1K"],
            "model 'gemini-3.1-flash-lite' does not generate images",
        ),
        (
            ["gemini-3.1-flash-image", "--input", "1", "--output", "1", "--tier", "flex"],
            "no flex price for model 'gemini-3.1-flash-image'",
        ),
    ],
)
def test_price_user_errors(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, "price", *args)
    assert code == 2 and not out
    assert message in one_line_error(err)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input", "-5", "--output", "1"], "expected a token count"),
        (["--input", "lots", "--output", "1"], "expected a token count"),
        (["--input", "1"], "the following arguments are required: --output"),
        (["--input", "1", "--output", "1", "--images", "3K"], "image size '3K' is not one of"),
        (["--input", "1", "--output", "1", "--images", "1K:0"], "must be a positive integer"),
        (["--input", "1", "--output", "1", "--batch", "--tier", "flex"], "not allowed with"),
    ],
)
def test_price_usage_errors(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, "price", "gemini-3.1-flash-image", *args)
    assert code == 2 and not out
    assert message in err
    assert "Traceback" not in err


# -- models -----------------------------------------------------------------------------------


def test_models(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "models")
    assert code == 0 and not err
    rows = {
        cells[1].strip(): [c.strip() for c in cells[2:]]
        for cells in (line.split("│") for line in out.splitlines() if line.count("│") == 10)
        if cells[1].strip()
    }
    assert rows["gemini-3.1-flash-lite"][:7] == [
        "ga",
        "v1beta",
        "0.25",
        "1.50",
        "0.025",
        "0.125 / 0.75",
        "2026-11-23",
    ]
    assert rows["gemini-3.1-pro-preview"][:6] == [
        "preview",
        "v1beta (not v1)",
        "2.00",
        "12.00",
        "0.20",
        "1.00 / 6.00",
    ]
    assert "prompt > 200k: 4.00 / 18.00" in rows["gemini-3.1-pro-preview"][7]
    assert rows["gemini-3.1-flash-image-preview"][0] == "shutdown"
    flat = " ".join(out.split())
    assert "SHUT DOWN 2026-06-25: use gemini-3.1-flash-image" in flat
    assert "deprecated: use gemini-3.1-flash-lite" in flat
    assert "alias nano-banana-2" in flat
    assert "Catalog as of 2026-11-23." in flat
    assert "lanes the router builds (router default;" in flat
