"""Hostile cost logs and samples: ``report`` and ``calibrate`` give one line and exit 2.

Each case corrupts one field of an otherwise valid log (as a careful user found
them: costs like 1e308, timestamps like 1e30, scores like 7.5, a negative
classifier cost) and checks that both commands name the file, the line and the
field on a single stderr line, with no traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli_kit import one_line_error, run

pytestmark = pytest.mark.usefixtures("offline_cli")

LITE = "gemini-3.1-flash-lite"
PRO = "gemini-3.1-pro-preview"
T0 = 1_790_000_000.0
RAW = "__raw__"
"""Stands for a value written into the JSON text as is (a number JSON cannot hold as a float)."""


def answer(run_id: str, lane: str, score: float, ts: float) -> dict[str, Any]:
    model = LITE if lane == "lite" else PRO
    return {
        "ts": ts,
        "run_id": run_id,
        "parent_run_id": None,
        "router_run_id": run_id,
        "model": model,
        "role": "answer",
        "service_tier": "standard",
        "input_tokens": 1200,
        "cached_tokens": 0,
        "output_tokens": 300,
        "reasoning_tokens": 0,
        "images": 0,
        "cost": "0.00075" if lane == "lite" else "0.006",
        "reference_cost": "0.006",
        "decision": {
            "lane": lane,
            "model": model,
            "source": "classifier",
            "score": score,
            "category": "chat",
            "needs_tools": False,
            "tools": 0,
            "tool_rounds": 0,
        },
    }


def classifier(router_run_id: str, ts: float) -> dict[str, Any]:
    return {
        "ts": ts,
        "run_id": f"c-{router_run_id}",
        "parent_run_id": None,
        "router_run_id": router_run_id,
        "model": LITE,
        "role": "classifier",
        "input_tokens": 400,
        "output_tokens": 20,
        "cost": "0.00013",
    }


def valid_log() -> list[dict[str, Any]]:
    """Line 1: a Flash-Lite answer, line 2: a Pro answer, line 3: the Pro answer's classifier."""
    return [answer("a1", "lite", 0.2, T0), answer("a2", "pro", 0.8, T0 + 60), classifier("a2", T0)]


def write(path: Path, records: list[dict[str, Any]], raw: str | None = None) -> Path:
    text = "".join(json.dumps(r) + "\n" for r in records)
    if raw is not None:
        text = text.replace(json.dumps(RAW), raw)
    path.write_text(text, encoding="utf-8")
    return path


def corrupt(records: list[dict[str, Any]], line: int, key: str, value: Any) -> list[dict[str, Any]]:
    target = records[line - 1]
    *parents, last = key.split(".")
    for parent in parents:
        target = target[parent]
    target[last] = value
    return records


def command_line(command: str, log: Path, tmp_path: Path) -> list[str]:
    """``report`` or ``calibrate`` on ``log``, writing only into ``tmp_path``."""
    if command == "report":
        return ["report", str(log), "--out", str(tmp_path / "out")]
    return [
        "calibrate",
        str(log),
        "--target-pro-share",
        "0.5",
        "--out",
        str(tmp_path / "router.toml"),
    ]


HOSTILE_LOG_LINES = [
    # (line, key, value, raw JSON for the value, what the message names)
    (2, "cost", RAW, "1e308", "'cost' is not an amount"),
    (2, "cost", "1e308", None, "'cost' is not an amount"),
    (2, "cost", "-0.01", None, "'cost' is not an amount"),
    (3, "cost", "-0.5", None, "'cost' is not an amount"),  # a negative classifier cost
    (2, "cost", "NaN", None, "'cost' is not an amount"),
    (2, "cost", RAW, "1e-400", "'cost' is not an amount"),
    (2, "reference_cost", RAW, "1e400", "'reference_cost' is not an amount"),
    (2, "ts", RAW, "1e30", "'ts' is not a time"),
    (2, "ts", -1, None, "'ts' is not a time"),
    (2, "ts", "noon", None, "'ts' is not a time"),
    (2, "decision.score", 7.5, None, "decision: 'score' is not a score from 0 to 1"),
    (2, "decision.score", -0.1, None, "decision: 'score' is not a score from 0 to 1"),
    (2, "decision.score", True, None, "decision: 'score' is not a score from 0 to 1"),
    (2, "decision.tools", -1, None, "decision: 'tools' is not a whole number"),
    (2, "decision.lane", 5, None, "decision: 'lane' is not a non-empty string"),
    (2, "decision", ["pro"], None, "'decision' is not a JSON object"),
    (2, "input_tokens", 10**30, None, "'input_tokens' is not a whole number"),
    (2, "output_tokens", RAW, "1.5", "'output_tokens' is not a whole number"),
    (2, "output_tokens", "300", None, "'output_tokens' is not a whole number"),
    (2, "service_tier", "bogus", None, "'service_tier' is not one of"),
    (2, "model", 5, None, "'model' is not a non-empty string"),
    (2, "run_id", 5, None, "'run_id' is not a non-empty string"),
    (2, "decision", RAW, "[" * 50_000 + "]" * 50_000, "not valid JSON (nested too deeply)"),
]


@pytest.mark.parametrize("command", ["report", "calibrate"])
@pytest.mark.parametrize(
    ("line", "key", "value", "raw", "reason"),
    HOSTILE_LOG_LINES,
    ids=[f"{key}={raw or value!r}"[:40] for _, key, value, raw, _ in HOSTILE_LOG_LINES],
)
def test_hostile_log_line_is_one_line_naming_file_line_and_field(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    command: str,
    line: int,
    key: str,
    value: Any,
    raw: str | None,
    reason: str,
) -> None:
    log = write(tmp_path / "costs.jsonl", corrupt(valid_log(), line, key, value), raw)

    code, _, err = run(capsys, *command_line(command, log, tmp_path))

    assert code == 2
    message = one_line_error(err)  # exactly one line: no traceback
    assert message.startswith(f"{log}:{line}: ")
    assert reason in message
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "router.toml").exists()


@pytest.mark.parametrize("command", ["report", "calibrate"])
def test_the_valid_log_passes_both_commands(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    """The control: the log the hostile cases corrupt is accepted as it is."""
    log = write(tmp_path / "costs.jsonl", valid_log())
    code, out, err = run(capsys, *command_line(command, log, tmp_path))
    assert (code, err) == (0, "")
    if command == "calibrate":
        # Classifier cost $0.00013 on one of two requests: the answers alone decide savings.
        assert "saving" in out
        assert "1633986" not in out


HOSTILE_REQUEST_LINES = [
    ({"score": 7.5}, "'score' is not a score from 0 to 1"),
    ({"score": True}, "'score' is not a score from 0 to 1"),
    ({"score": "0.5"}, "'score' is not a score from 0 to 1"),
    ({"tools": 10**7}, "'tools' is not a whole number from 0 to 10,000"),
    ({"output_tokens": 10**30}, "'output_tokens' is not a whole number"),
    ({"classifier_cost": "1e308"}, "'classifier_cost' is not an amount"),
    ({"classifier_cost": -1}, "'classifier_cost' is not an amount"),
    ({"needs_tools": "yes"}, "needs_tools"),
]


@pytest.mark.parametrize(("fields", "reason"), HOSTILE_REQUEST_LINES)
def test_hostile_request_line_is_one_line_naming_file_line_and_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fields: dict[str, Any], reason: str
) -> None:
    sample = tmp_path / "requests.jsonl"
    lines = [{"id": "ok", "prompt": "How are you today?", "score": 0.3}]
    lines.append({"id": "bad", "prompt": "How do heaps work?", "score": 0.7, **fields})
    write(sample, lines)

    code, _, err = run(capsys, *command_line("calibrate", sample, tmp_path))

    assert code == 2
    message = one_line_error(err)
    assert f"{sample}:2: " in message
    assert reason in message


def test_report_bucket_beyond_the_calendar_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    log = write(tmp_path / "costs.jsonl", valid_log())
    code, _, err = run(capsys, "report", str(log), "--bucket", "99999999d")
    assert code == 2
    assert "a time bucket must be at most 100 years" in err
    assert "Traceback" not in err
