"""Cost-log reports: loading, exact totals, escalation over time, plots, HTML and the CLI."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lc_gemini_router.callbacks.handler import GeminiCostCallbackHandler
from lc_gemini_router.config import RouterConfig
from lc_gemini_router.errors import ConfigError
from lc_gemini_router.tools.backend import gemini_backend
from lc_gemini_router.tools.demo import WORKLOAD, DemoResult, run_workload
from lc_gemini_router.tools.formatting import usd
from lc_gemini_router.tools.reports import (
    PLOT_FILES,
    REPORT_HTML,
    LogRecord,
    escalation_series,
    load_cost_log,
    parse_bucket,
    render_report,
    report_tables,
    summarize,
)
from tests.cli_kit import one_line_error, run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PRO = "gemini-3.1-pro-preview"
LITE = "gemini-3.1-flash-lite"


# -- a log produced for real ------------------------------------------------------------------


@dataclass(frozen=True)
class RealLog:
    path: Path
    results: list[DemoResult]
    handler: GeminiCostCallbackHandler


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "speculative"])
def real_log(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> RealLog:
    """The built-in workload routed offline, logged by the cost handler; with speculation
    on, the escalated classifier call also leaves a wasted speculative record."""
    path = tmp_path_factory.mktemp("real") / "costs.jsonl"
    config = RouterConfig(speculative=request.param)
    with gemini_backend(live=False) as backend:
        results, handler = run_workload(backend, WORKLOAD, config=config, log=path)
    return RealLog(path, results, handler)


def test_summary_of_a_real_log_equals_the_handler_totals_exactly(real_log: RealLog) -> None:
    handler = real_log.handler
    records = load_cost_log(real_log.path)
    report = summarize(records)

    assert len(records) == handler.calls
    assert report.total_cost == handler.total_cost
    assert report.reference_cost == handler.reference_cost
    assert report.savings == handler.savings
    assert report.unpriced_calls == handler.unpriced_calls == 0
    # UsageTotals compare every field: calls, tokens, cost and reference cost.
    assert report.totals == handler.totals
    assert report.by_model == handler.by_model
    assert report.by_role == handler.by_role
    assert {m: t.cost for m, t in report.by_model.items()} == {
        m: t.cost for m, t in handler.by_model.items()
    }
    assert {r: t.cost for r, t in report.by_role.items()} == {
        r: t.cost for r, t in handler.by_role.items()
    }
    assert report.decision_sources == handler.decision_sources
    assert report.classifier_cost == handler.by_role["classifier"].cost
    assert report.classifier_share == handler.by_role["classifier"].cost / handler.total_cost
    assert report.savings_share == handler.savings / handler.reference_cost
    # Every step of every task is a routed answer; some escalate, some stay on lite.
    assert report.routed_answers == sum(r.steps for r in real_log.results)
    assert 0 < report.escalated < report.routed_answers
    assert report.lanes["lite"] + report.escalated == report.routed_answers
    assert report.escalation_rate == report.escalated / report.routed_answers


def test_real_log_wasted_speculation(real_log: RealLog) -> None:
    report = summarize(load_cost_log(real_log.path))
    speculative = real_log.handler.by_role.get("speculative")
    if speculative is None:
        assert (report.wasted_calls, report.wasted_cost) == (0, Decimal(0))
        return
    assert report.wasted_calls == speculative.calls > 0
    assert report.wasted_cost == speculative.cost > 0
    assert report.wasted_share == speculative.cost / real_log.handler.total_cost


# -- a hand-written log with exact expected values ----------------------------------------------


def line(ts: float, model: str, role: str, cost: str | None, **extra: Any) -> str:
    data: dict[str, Any] = {
        "ts": ts,
        "run_id": f"run-{ts}",
        "parent_run_id": None,
        "model": model,
        "role": role,
        "service_tier": "standard",
        "input_tokens": 100,
        "cached_tokens": 0,
        "output_tokens": 10,
        "reasoning_tokens": 0,
        "images": 0,
        "cost": cost,
        "cost_breakdown": None,
        "reference_cost": None,
        "decision": None,
    }
    data.update(extra)
    return json.dumps(data)


def decision(lane: str, source: str) -> dict[str, Any]:
    return {"lane": lane, "model": PRO if lane != "lite" else LITE, "source": source}


LITE_RULE = decision("lite", "rule")
LITE_CACHE = decision("lite", "cache")
PRO_CLASSIFIER = decision("pro", "classifier")
T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC
HAND_LOG = [
    line(T0 + 10, LITE, "answer", "0.0001", reference_cost="0.0008", decision=LITE_RULE),
    line(T0 + 20, LITE, "classifier", "0.00005"),
    line(T0 + 30, PRO, "answer", "0.002", reference_cost="0.002", decision=PRO_CLASSIFIER),
    "",  # blank lines are skipped
    # Unpriced: counted as a call, left out of every sum, its reference too.
    line(T0 + 40, "gemini-unknown", "answer", None, reference_cost="0.5", decision=LITE_CACHE),
    line(T0 + 50, LITE, "speculative", "0.0003", decision={"wasted": True, "estimated": True}),
    # Not routed (a plain model call seen by the same handler): priced, with a reference.
    line(T0 + 7200, LITE, "answer", "0.00002", reference_cost="0.00016", future_key=[1, 2]),
    line(T0 + 7210, PRO + "-customtools", "answer", "0.001", reference_cost="0.001",
         decision=decision("pro_tools", "sticky"), input_tokens=400, reasoning_tokens=5),
    line(T0 + 7220, "gemini-unknown", "speculative", None, decision={"wasted": True}),
]  # fmt: skip


@pytest.fixture
def hand_log(tmp_path: Path) -> Path:
    path = tmp_path / "hand.jsonl"
    path.write_text("\n".join(HAND_LOG) + "\n", encoding="utf-8")
    return path


def test_load_cost_log_types_and_line_numbers(hand_log: Path) -> None:
    records = load_cost_log(hand_log)
    assert len(records) == 8
    first = records[0]
    assert first == LogRecord(
        ts=T0 + 10,
        model=LITE,
        role="answer",
        cost=Decimal("0.0001"),
        reference_cost=Decimal("0.0008"),
        run_id=f"run-{T0 + 10}",
        input_tokens=100,
        output_tokens=10,
        decision=decision("lite", "rule"),
        line=1,
    )
    assert first.time == datetime(2026, 1, 1, 0, 0, 10, tzinfo=timezone.utc)
    assert [r.line for r in records] == [1, 2, 3, 5, 6, 7, 8, 9]
    unpriced = records[3]
    assert (unpriced.cost, unpriced.priced, unpriced.reference_total) == (None, False, Decimal(0))
    assert unpriced.reference_cost == Decimal("0.5")
    assert records[4].wasted and records[4].estimated
    assert not records[5].routed_answer and records[5].lane is None
    assert records[6].escalated and records[6].source == "sticky"


def test_summarize_hand_log_exactly(hand_log: Path) -> None:
    report = summarize(load_cost_log(hand_log))
    total = Decimal("0.0001") + Decimal("0.00005") + Decimal("0.002") + Decimal("0.0003")
    total += Decimal("0.00002") + Decimal("0.001")
    assert total == Decimal("0.00347")
    assert report.total_cost == Decimal("0.00347")
    assert report.calls == 8
    assert report.unpriced_calls == 2
    assert report.reference_cost == Decimal("0.00396")  # 0.0008 + 0.002 + 0.00016 + 0.001
    assert report.savings == Decimal("0.00049")
    assert report.savings_share == Decimal("0.00049") / Decimal("0.00396")
    assert report.classifier_cost == Decimal("0.00005")
    assert report.classifier_share == Decimal("0.00005") / Decimal("0.00347")
    assert (report.wasted_calls, report.wasted_estimated) == (2, 1)
    assert report.wasted_cost == Decimal("0.0003")
    assert report.decision_sources == {"rule": 1, "classifier": 1, "cache": 1, "sticky": 1}
    assert report.lanes == {"lite": 2, "pro": 1, "pro_tools": 1}
    assert (report.routed_answers, report.escalated, report.escalation_rate) == (4, 2, 0.5)
    assert report.first == datetime(2026, 1, 1, 0, 0, 10, tzinfo=timezone.utc)
    assert report.last == datetime(2026, 1, 1, 2, 0, 20, tzinfo=timezone.utc)

    assert list(report.by_role) == ["answer", "classifier", "speculative"]
    answers = report.by_role["answer"]
    assert (answers.calls, answers.unpriced_calls) == (5, 1)
    assert answers.cost == Decimal("0.00312")
    assert answers.reference_cost == Decimal("0.00396")
    assert answers.input_tokens == 800 and answers.reasoning_tokens == 5
    speculative = report.by_role["speculative"]
    assert (speculative.calls, speculative.unpriced_calls, speculative.cost) == (
        2,
        1,
        Decimal("0.0003"),
    )

    assert {m: (t.calls, t.unpriced_calls, t.cost) for m, t in report.by_model.items()} == {
        LITE: (4, 0, Decimal("0.00047")),
        PRO: (1, 0, Decimal("0.002")),
        "gemini-unknown": (2, 2, Decimal(0)),
        PRO + "-customtools": (1, 0, Decimal("0.001")),
    }
    assert sum((t.cost for t in report.by_model.values()), Decimal(0)) == report.total_cost


def test_summarize_nothing() -> None:
    report = summarize([])
    assert (report.calls, report.total_cost, report.reference_cost) == (0, Decimal(0), Decimal(0))
    assert report.savings_share is None and report.classifier_share is None
    assert report.escalation_rate is None and report.first is None
    assert report_tables(report)[0].rows[0] == ("model calls", "0", "-")


def test_summary_table_is_exact(hand_log: Path) -> None:
    summary, by_model, by_role, lanes, sources = report_tables(summarize(load_cost_log(hand_log)))
    rows = {row[0]: row[1:] for row in summary.rows}
    assert rows["total spend"][0] == "$0.00347"
    assert "2 unpriced" in rows["total spend"][1]
    assert rows["all-Pro reference"][0] == "$0.00396"
    assert rows["savings"] == ("$0.00049", "12.4% of the reference")
    assert rows["classifier"] == ("$0.00005", "1.4% of spend")
    assert rows["wasted speculation"] == (
        "$0.0003",
        "8.6% of spend; 2 cancelled calls (1 estimated)",
    )
    assert rows["escalated"][0] == "2 of 4"
    assert by_role.total == ("total", "8", "2", "1,100", "80", "$0.00347", "100%")
    assert by_model.rows[0][0] == PRO  # the most expensive first
    assert lanes.rows[0] == ("lite", "2", "50.0%")
    assert {row[0] for row in sources.rows} == {"rule", "classifier", "cache", "sticky"}


# -- malformed logs ---------------------------------------------------------------------------


GOOD = line(T0, LITE, "answer", "0.0001")


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ('{"ts": 1, "model": "m", "role": "answer", "cost": "0.1"', "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"ts": 1, "model": "m", "role": "answer"}', "missing key 'cost'"),
        ('{"model": "m", "role": "answer", "cost": null}', "missing key 'ts'"),
        ('{"ts": "noon", "model": "m", "role": "answer", "cost": null}', "'ts' is not a time"),
        ('{"ts": 1, "model": "", "role": "answer", "cost": null}', "'model' is not"),
        ('{"ts": 1, "model": "m", "role": 3, "cost": null}', "'role' is not"),
        ('{"ts": 1, "model": "m", "role": "answer", "cost": "abc"}', "'cost' is not an amount"),
        ('{"ts": 1, "model": "m", "role": "answer", "cost": "-0.1"}', "'cost' is not an amount"),
        ('{"ts": 1, "model": "m", "role": "answer", "cost": "NaN"}', "'cost' is not an amount"),
        ('{"ts": 1, "model": "m", "role": "answer", "cost": true}', "'cost' is not an amount"),
        ('{"ts": NaN, "model": "m", "role": "answer", "cost": null}', "NaN is not a number"),
        (
            '{"ts": 1, "model": "m", "role": "answer", "cost": null, "reference_cost": [1]}',
            "'reference_cost' is not an amount",
        ),
        (
            '{"ts": 1, "model": "m", "role": "answer", "cost": null, "input_tokens": -5}',
            "'input_tokens' is not a whole number",
        ),
        (
            '{"ts": 1, "model": "m", "role": "answer", "cost": null, "output_tokens": "12"}',
            "'output_tokens' is not a whole number",
        ),
        (
            '{"ts": 1, "model": "m", "role": "answer", "cost": null, "decision": ["pro"]}',
            "'decision' is not a JSON object",
        ),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path: Path, bad: str, reason: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(f"{GOOD}\n\n{bad}\n{GOOD}\n", encoding="utf-8")
    # One wording for every JSON-lines file of the package: "file:line: reason".
    with pytest.raises(ConfigError, match=re.escape(f"{path}:3: ")) as info:
        load_cost_log(path)
    assert reason in str(info.value)


def test_non_utf8_line_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bin.jsonl"
    path.write_bytes(f"{GOOD}\n{GOOD}\n".encode() + b'{"model": "\xff"}\n')
    with pytest.raises(ConfigError, match=re.escape(f"{path}:3: not UTF-8")):
        load_cost_log(path)


def test_tolerant_of_numbers_and_missing_optional_keys(tmp_path: Path) -> None:
    path = tmp_path / "lean.jsonl"
    # Money as a JSON number is read exactly (never through a binary float).
    path.write_text('{"ts": 5, "model": "m", "role": "answer", "cost": 0.1, "new": {}}\n')
    (record,) = load_cost_log(path)
    assert record.cost == Decimal("0.1")
    assert (record.input_tokens, record.decision, record.service_tier) == (0, None, "standard")


def test_empty_and_missing_logs(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n  \n")
    assert load_cost_log(empty) == []
    with pytest.raises(ConfigError, match="cannot read cost log .*missing.jsonl"):
        load_cost_log(tmp_path / "missing.jsonl")


# -- escalation over time ---------------------------------------------------------------------


def routed(ts: float, lane: str) -> LogRecord:
    return LogRecord(ts=ts, model=LITE, role="answer", cost=Decimal(0), decision={"lane": lane})


def test_escalation_series_by_count() -> None:
    records = [
        routed(t, lane)
        for t, lane in [(3, "pro"), (1, "lite"), (2, "lite"), (4, "pro_tools"), (5, "lite")]
    ]
    records.append(LogRecord(ts=0, model=LITE, role="classifier", cost=Decimal(0)))
    series = escalation_series(records, 2)
    assert series.bucket == 2
    assert [(p.first_answer, p.answers, p.escalated) for p in series.points] == [
        (1, 2, 0),
        (3, 2, 2),
        (5, 1, 0),
    ]
    assert [p.rate for p in series.points] == [0.0, 1.0, 0.0]
    assert series.points[1].start == datetime.fromtimestamp(3, tz=timezone.utc)
    assert series.points[1].end == datetime.fromtimestamp(4, tz=timezone.utc)
    assert (series.answers, series.escalated) == (5, 2)
    # The default aims for about 20 buckets: one answer each here.
    assert escalation_series(records).bucket == 1
    assert escalation_series([routed(t, "lite") for t in range(45)]).bucket == 3
    assert escalation_series([]).points == ()
    with pytest.raises(ValueError, match="at least one"):
        escalation_series(records, 0)
    with pytest.raises(ValueError, match="positive"):
        escalation_series(records, timedelta(0))


def test_escalation_series_by_time_skips_empty_windows() -> None:
    hour = 3600
    records = [routed(T0 + 60, "pro"), routed(T0 + 120, "lite"), routed(T0 + 3 * hour + 5, "lite")]
    series = escalation_series(records, timedelta(hours=1))
    midnight = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert [(p.start, p.end, p.first_answer, p.answers, p.escalated) for p in series.points] == [
        (midnight, midnight + timedelta(hours=1), 1, 2, 1),
        (midnight + timedelta(hours=3), midnight + timedelta(hours=4), 3, 1, 0),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("25", 25), ("1", 1), ("30s", timedelta(seconds=30)), ("15m", timedelta(minutes=15)),
     ("6H", timedelta(hours=6)), (" 1d ", timedelta(days=1))],
)  # fmt: skip
def test_parse_bucket(text: str, expected: int | timedelta) -> None:
    assert parse_bucket(text) == expected


@pytest.mark.parametrize("text", ["0", "0h", "-3", "1.5", "h", "1w", "", "ten"])
def test_parse_bucket_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="expected N answers or a time span"):
        parse_bucket(text)


# -- plots and HTML ---------------------------------------------------------------------------


def assert_report_files(out: Path, written: list[Path]) -> str:
    pngs = [out / name for name in PLOT_FILES.values()]
    assert written == [*pngs, out / REPORT_HTML]
    for png in pngs:
        assert png.read_bytes().startswith(PNG_SIGNATURE), png
    page = (out / REPORT_HTML).read_text(encoding="utf-8")
    for png in pngs:
        assert f'<img src="{png.name}"' in page  # relative: the directory can move
    assert str(out) not in page
    return page


def test_render_report_writes_pngs_and_html(hand_log: Path, tmp_path: Path) -> None:
    records = load_cost_log(hand_log)
    # Text that HTML and matplotlib's mathtext must both take literally.
    records.append(LogRecord(ts=T0 + 60, model="<b>m$x&y</b>", role="a$b", cost=Decimal("0.01")))
    report = summarize(records)
    out = tmp_path / "nested" / "report"
    written = render_report(report, records, out, source="<hand>.jsonl")
    page = assert_report_files(out, written)
    assert page.startswith("<!DOCTYPE html>")
    assert "&lt;b&gt;m$x&amp;y&lt;/b&gt;" in page and "<b>m$x" not in page
    assert "<title>lc-gemini-router cost report: &lt;hand&gt;.jsonl</title>" in page
    assert '<td class="num">$0.01347</td>' in page  # the total spend, exact
    assert "Escalation rate per bucket of 1 routed answer<" in page


def test_render_report_time_buckets_and_empty_logs(hand_log: Path, tmp_path: Path) -> None:
    records = load_cost_log(hand_log)
    page = assert_report_files(
        tmp_path / "hourly",
        render_report(summarize(records), records, tmp_path / "hourly", bucket=timedelta(hours=1)),
    )
    assert "Escalation rate per bucket of 1h" in page
    assert "<td>2026-01-01 02:00:00</td><td>2026-01-01 03:00:00</td>" in page
    # No records at all, and no routed answers: every plot says so instead of failing.
    assert_report_files(tmp_path / "none", render_report(summarize([]), [], tmp_path / "none"))
    unrouted = [LogRecord(ts=1, model=LITE, role="classifier", cost=None)]
    assert_report_files(
        tmp_path / "u", render_report(summarize(unrouted), unrouted, tmp_path / "u")
    )


# -- the report command ------------------------------------------------------------------------


def test_cli_report_prints_tables_and_paths(
    capsys: pytest.CaptureFixture[str], real_log: RealLog, tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    code, out, err = run(capsys, "report", str(real_log.path), "--out", str(out_dir))
    assert code == 0, err
    assert err == ""
    handler = real_log.handler
    for title in ("Summary", "Spend by model", "Spend by role", "Routed answers by lane"):
        assert title in out
    assert usd(handler.total_cost) in out
    assert usd(handler.reference_cost) in out
    assert usd(handler.savings) in out
    for model in handler.by_model:
        assert model in out
    assert f"Wrote 5 files to {out_dir}:" in out
    for name in (*PLOT_FILES.values(), REPORT_HTML):
        assert str(out_dir / name) in out
        assert (out_dir / name).is_file()


def test_cli_report_default_dir_and_time_bucket(
    capsys: pytest.CaptureFixture[str], hand_log: Path
) -> None:
    code, out, err = run(capsys, "report", str(hand_log), "--bucket", "1h")
    assert code == 0, err
    report_dir = hand_log.with_name("hand-report")
    assert (report_dir / REPORT_HTML).is_file()
    assert "2 calls had no price" in out
    assert "per bucket of 1h" in (report_dir / REPORT_HTML).read_text(encoding="utf-8")


def test_cli_report_errors_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "report", str(tmp_path / "missing.jsonl"))
    assert code == 2
    assert one_line_error(err).startswith(f"cannot read cost log {tmp_path / 'missing.jsonl'}")

    bad = tmp_path / "bad.jsonl"
    bad.write_text(f'{GOOD}\n{{"ts": 1, "model": "m",\n')
    code, _, err = run(capsys, "report", str(bad))
    assert code == 2
    assert one_line_error(err).startswith(f"{bad}:2: not valid JSON")

    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    code, _, err = run(capsys, "report", str(empty))
    assert code == 2
    assert one_line_error(err) == f"cost log {empty} has no records: nothing to report"
    assert not empty.with_name("empty-report").exists()

    code, _, err = run(capsys, "report", str(tmp_path))  # a directory
    assert code == 2
    assert one_line_error(err).startswith("cannot read cost log")


def test_cli_report_unwritable_out_dir(capsys: pytest.CaptureFixture[str], hand_log: Path) -> None:
    blocker = hand_log.with_name("a-file")
    blocker.write_text("")
    code, _, err = run(capsys, "report", str(hand_log), "--out", str(blocker / "sub"))
    assert code == 2
    assert one_line_error(err).startswith(f"cannot write the report to {blocker / 'sub'}")


def test_cli_report_bad_bucket(capsys: pytest.CaptureFixture[str], hand_log: Path) -> None:
    code, _, err = run(capsys, "report", str(hand_log), "--bucket", "0")
    assert code == 2
    assert "expected N answers or a time span" in err


def test_cli_report_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "report", "--help")
    assert code == 0
    assert out.startswith("usage: lc-gemini-router report")
    assert "--bucket N" in out and "--out DIR" in out
