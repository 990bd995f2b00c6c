"""Evaluation on labelled data: exact endpoints on RouteLLM's data, a curve known by hand,
the PNG, and the ``eval`` command with its error paths.

The RouteLLM checks run on the copy of its data that ships with the package.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from lc_gemini_router.config import RouterConfig
from lc_gemini_router.pricing.catalog import default_catalog
from lc_gemini_router.tools.evaluation import (
    BUNDLED_DATA,
    DEFAULT_OUTPUT_TOKENS,
    STRONG_MODEL,
    WEAK_MODEL,
    DatasetError,
    EvalItem,
    EvalResult,
    detect_formats,
    evaluate,
    load_dataset,
    plot_curve,
    score_items,
)
from tests.cli_kit import one_line_error, run

pytestmark = pytest.mark.usefixtures("offline_cli")

DATA = BUNDLED_DATA
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 100 and height > 100
    assert data.endswith(b"IEND\xaeB`\x82")


# -- RouteLLM data: endpoints reproduce the files exactly -------------------------------------


def raw_mt_bench_means() -> dict[str, Fraction]:
    """Mean judge score of each model over every judgement (both turns), from the file."""
    scores: dict[str, list[Fraction]] = {STRONG_MODEL: [], WEAK_MODEL: []}
    for line in (DATA / "judgements.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            scores[row["model"]].append(Fraction(str(row["score"])))
    return {model: sum(values, Fraction(0)) / len(values) for model, values in scores.items()}


def raw_gsm8k_accuracy() -> dict[str, Fraction]:
    csv.field_size_limit(1 << 26)
    with (DATA / "gsm8k_responses.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        model: Fraction(sum(row[model] == "True" for row in rows), len(rows))
        for model in (STRONG_MODEL, WEAK_MODEL)
    }


@pytest.fixture(scope="module")
def routellm() -> dict[str, list[EvalItem]]:
    return {fmt: load_dataset(DATA, fmt) for fmt in ("mt-bench", "gsm8k")}


def test_folder_holds_both_datasets() -> None:
    assert detect_formats(DATA) == ["mt-bench", "gsm8k"]
    with pytest.raises(DatasetError, match="holds mt-bench and gsm8k data"):
        load_dataset(DATA)


def test_mt_bench_endpoints_reproduce_the_judge_scores(
    routellm: dict[str, list[EvalItem]],
) -> None:
    items = routellm["mt-bench"]
    means = raw_mt_bench_means()
    assert len(items) == 80
    result = evaluate(items, score_items(items, "rules"), dataset="mt-bench", scorer="rules")
    assert result.all_pro.quality == means[STRONG_MODEL]
    assert result.all_lite.quality == means[WEAK_MODEL]
    assert result.all_pro.quality == Fraction("9.228125")  # the files' figure, for the record
    assert (result.all_lite.pro_share, result.all_pro.pro_share) == (0.0, 1.0)
    assert result.all_pro.quality_retained == 1 and result.all_pro.pgr == 1
    assert result.all_lite.pgr == 0
    # Every item carries its recorded reply lengths: no default was needed.
    assert all(item.replies_recorded for item in items)


def test_gsm8k_endpoints_reproduce_the_accuracies(routellm: dict[str, list[EvalItem]]) -> None:
    items = routellm["gsm8k"]
    accuracy = raw_gsm8k_accuracy()
    scored = score_items(items, "rules")
    result = evaluate(items, scored, dataset="gsm8k", scorer="rules")
    assert result.all_pro.quality == accuracy[STRONG_MODEL] == Fraction(1130, 1319)
    assert result.all_lite.quality == accuracy[WEAK_MODEL]
    assert result.all_pro.spend == sum((s.pro_cost or Decimal(0) for s in scored), Decimal(0))
    assert result.all_lite.spend == sum((s.lite_cost or Decimal(0) for s in scored), Decimal(0))
    # The offline rules leave every GSM8K prompt open: one point, on the fallback lane.
    assert result.unscored == len(items)
    assert {p.pro_calls for p in result.points} == {0}
    assert result.target("quality_retained").point is None
    assert any("fallback lane (lite) at every threshold" in note for note in result.notes)


# -- a synthetic dataset whose curve is known by hand ------------------------------------------

SYNTHETIC = [
    {
        "id": "a",
        "prompt": "What could cause this?",
        "score": 0.1,
        "quality_lite": 5,
        "quality_pro": 5,
        "input_tokens": 1000,
        "output_tokens_lite": 100,
        "output_tokens_pro": 300,
    },
    {
        "id": "b",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Is this design sound?"},
        ],
        "score": 0.5,
        "quality_lite": 7,
        "quality_pro": 8,
        "input_tokens": 2000,
        "output_tokens_lite": 200,
        "output_tokens_pro": 250,
    },
    {
        "id": "c",
        "prompt": "Which option is cheaper?",
        "score": 0.9,
        "quality_lite": 0,
        "quality_pro": 10,
        "input_tokens": 500,
        "output_tokens_lite": 50,
        "output_tokens_pro": 600,
    },
    # No score: the fallback lane at every threshold. No token counts: the defaults.
    {"id": "d", "prompt": "Why does it fail?", "quality_lite": 4, "quality_pro": 4},
    # A text rule keeps it on Flash-Lite whatever its score.
    {
        "id": "e",
        "prompt": "Translate 'hello' into French",
        "score": 0.95,
        "quality_lite": 9,
        "quality_pro": 9,
        "input_tokens": 10,
        "output_tokens_lite": 5,
        "output_tokens_pro": 5,
    },
]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def cost(model: str, input_tokens: int, output_tokens: int) -> Decimal:
    rates = default_catalog().get(model)
    assert rates is not None
    standard = rates.standard
    assert standard.input is not None and standard.output is not None
    return (input_tokens * standard.input + output_tokens * standard.output) / Decimal(1_000_000)


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "mine.jsonl", SYNTHETIC)


def test_synthetic_curve_matches_the_hand_computation(synthetic: Path) -> None:
    items = load_dataset(synthetic)
    assert [i.id for i in items] == ["a", "b", "c", "d", "e"]
    scored = score_items(items, "recorded")
    assert [s.id for s in scored] == [i.id for i in items]
    assert scored[4].rule_lane == "lite" and scored[3].score is None
    result = evaluate(items, scored, dataset="jsonl", scorer="recorded")

    lite, pro = RouterConfig().lite_model, RouterConfig().pro_model
    prompt_d = 5  # "Why does it fail?": 17 characters, ~4 per token, rounded up
    lite_cost = {
        "a": cost(lite, 1000, 100),
        "b": cost(lite, 2000, 200),
        "c": cost(lite, 500, 50),
        "d": cost(lite, prompt_d, DEFAULT_OUTPUT_TOKENS),
        "e": cost(lite, 10, 5),
    }
    pro_cost = {
        "a": cost(pro, 1000, 300),
        "b": cost(pro, 2000, 250),
        "c": cost(pro, 500, 600),
        "d": cost(pro, prompt_d, DEFAULT_OUTPUT_TOKENS),
        "e": cost(pro, 10, 5),
    }
    assert [s.lite_cost for s in scored] == list(lite_cost.values())
    assert [s.pro_cost for s in scored] == list(pro_cost.values())

    def spend(*on_pro: str) -> Decimal:
        return sum((pro_cost[k] if k in on_pro else lite_cost[k] for k in lite_cost), Decimal(0))

    # Endpoints: every item on one lane, rules ignored.
    assert result.all_lite.quality == Fraction(25, 5)
    assert result.all_pro.quality == Fraction(36, 5)
    assert result.all_lite.spend == spend()
    assert result.all_pro.spend == spend("a", "b", "c", "d", "e")

    expected = [
        # threshold, on Pro, quality
        (0.0, ("a", "b", "c"), Fraction(36, 5)),
        (0.1, ("a", "b", "c"), Fraction(36, 5)),
        (0.5, ("b", "c"), Fraction(36, 5)),
        (0.9, ("c",), Fraction(7)),
        (1.01, (), Fraction(5)),
    ]
    assert [p.threshold for p in result.points] == [t for t, _, _ in expected]
    for point, (_, on_pro, quality) in zip(result.points, expected, strict=True):
        assert point.pro_calls == len(on_pro)
        assert point.pro_share == len(on_pro) / 5
        assert point.quality == quality
        assert point.spend == spend(*on_pro)
        assert point.all_pro_spend == spend("a", "b", "c", "d", "e")
        assert point.quality_retained == quality / Fraction(36, 5)
        assert point.pgr == (quality - 5) / (Fraction(36, 5) - 5)

    retained, pgr = result.target("quality_retained"), result.target("pgr")
    assert retained.point is not None and retained.point.threshold == 0.9
    assert retained.point.quality_retained == Fraction(35, 36)
    assert retained.random_pro_share == float(Fraction(46, 55))
    assert pgr.point is not None and pgr.point.threshold == 0.5 and pgr.point.pro_share == 0.4
    assert pgr.random_pro_share == 0.95
    assert "20.0% Pro calls" in result.routellm_comparison()
    assert any("1 of 5 items have no score" in note for note in result.notes)
    assert any("1 of 5 items were decided by the rules" in note for note in result.notes)

    data = json.loads(result.to_json())
    assert data["endpoints"]["all_pro"]["quality_exact"] == "36/5"
    assert data["points"][3]["spend"] == str(spend("c"))
    assert data["targets"][0] == {
        "metric": "quality_retained",
        "goal": 0.95,
        "reached": True,
        "pro_share": 0.2,
        "threshold": 0.9,
        "best": 1.0,
        "random_pro_share": float(Fraction(46, 55)),
    }


def test_thresholds_are_capped_at_evenly_spaced_ranks() -> None:
    items = [
        EvalItem(
            str(i), (("user", "What could cause this?"),), Fraction(0), Fraction(1), score=i / 200
        )
        for i in range(150)
    ]
    result = evaluate(items, score_items(items, "recorded"), max_points=11)
    assert len(result.points) == 11
    assert (result.points[0].threshold, result.points[-1].threshold) == (0.0, 1.01)
    assert any("151 candidate thresholds: 11 evaluated" in note for note in result.notes)


def test_scored_requests_must_match_items(synthetic: Path) -> None:
    items = load_dataset(synthetic)
    scored = score_items(items, "recorded")
    with pytest.raises(ValueError, match="does not match"):
        evaluate(items, list(reversed(scored)))
    with pytest.raises(ValueError, match="5 items but 4"):
        evaluate(items, scored[:4])


def test_recorded_scorer_needs_scores(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "bare.jsonl", [{"id": "x", "prompt": "hi?", "quality_lite": 1, "quality_pro": 2}]
    )
    with pytest.raises(DatasetError, match="needs items with a 'score'"):
        score_items(load_dataset(path), "recorded")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"id": "x", "quality_lite": 1, "quality_pro": 2}', "'prompt'"),
        ('{"id": "x", "prompt": "p", "quality_pro": 2}', "missing 'quality_lite'"),
        ('{"id": "x", "prompt": "p", "quality_lite": "high", "quality_pro": 2}', "a number"),
        ('{"id": "x", "prompt": "p", "quality_lite": 1, "quality_pro": 2, "score": 1.5}', "0 to 1"),
        (
            '{"id": "x", "prompt": "p", "quality_lite": 1, "quality_pro": 2, "input_tokens": -1}',
            "'input_tokens' must be a whole number",
        ),
        ('{"id": "a", "prompt": "p", "quality_lite": 1, "quality_pro": 2}', "duplicate id 'a'"),
        (
            '{"id": "x", "messages": [{"role": "assistant", "content": "hi"}], '
            '"quality_lite": 1, "quality_pro": 2}',
            "no user message",
        ),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "bad.jsonl"
    good = '{"id": "a", "prompt": "p", "quality_lite": 1, "quality_pro": 2}'
    path.write_text(f"{good}\n\n{line}\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="bad.jsonl:3: ") as caught:
        load_dataset(path)
    assert problem in str(caught.value)


def test_detect_formats_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="dataset not found"):
        detect_formats(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="no dataset in"):
        detect_formats(tmp_path)
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(DatasetError, match="cannot tell the format"):
        detect_formats(tmp_path / "notes.txt")


# -- the PNG ---------------------------------------------------------------------------------


def test_plot_curve_writes_a_png(synthetic: Path, tmp_path: Path) -> None:
    items = load_dataset(synthetic)
    result = evaluate(items, score_items(items, "recorded"))
    single = plot_curve(result, tmp_path / "one.png")
    assert_png(single)
    mt_bench_like = EvalResult(**{**result.__dict__, "dataset": "mt-bench", "scorer": "simulated"})
    both = plot_curve([result, mt_bench_like], tmp_path / "two.png")
    assert_png(both)
    width = int.from_bytes(both.read_bytes()[16:20], "big")
    assert width > int.from_bytes(single.read_bytes()[16:20], "big")


# -- the eval command ------------------------------------------------------------------------


def test_cli_rules_on_routellm(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    png, out_json = tmp_path / "curve.png", tmp_path / "results.json"
    code, out, err = run(
        capsys, "eval", str(DATA), "--scorer", "rules", "--png", str(png), "--json", str(out_json)
    )
    assert code == 0, err
    assert "mt-bench: 80 items" in out and "gsm8k: 1,319 items" in out
    assert "all Flash-Lite" in out and "all Pro" in out
    assert "95% quality retained: not reached" in out
    assert "RouteLLM" in out and "26% GPT-4 calls" in out
    assert "fallback lane (lite) at every threshold" in out
    assert "all Pro 2953/320" in out and "all Pro 1130/1319" in out
    assert f"Curve: {png}" in out and f"JSON: {out_json}" in out
    assert_png(png)
    results = json.loads(out_json.read_text(encoding="utf-8"))["results"]
    assert [r["dataset"] for r in results] == ["mt-bench", "gsm8k"]
    assert results[1]["endpoints"]["all_pro"]["quality_exact"] == "1130/1319"
    assert results[0]["scorer"] == "rules" and results[0]["simulated"] is False


def test_cli_format_picks_one_dataset(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "eval", str(DATA), "--format", "mt-bench", "--no-png")
    assert code == 0, err
    assert "scorer rules" in out  # the default without an API key
    assert "mt-bench: 80 items" in out and "gsm8k" not in out
    assert "Curve:" not in out


def test_cli_recorded_scores(
    capsys: pytest.CaptureFixture[str], synthetic: Path, tmp_path: Path
) -> None:
    out_json = tmp_path / "r.json"
    code, out, err = run(
        capsys, "eval", str(synthetic), "--scorer", "recorded", "--no-png", "--json", str(out_json)
    )
    assert code == 0, err
    assert "router, reaches 95% quality retained" in out
    assert "95% quality retained: reached at 20.0% Pro calls (threshold 0.90)" in out
    assert "not the same data" in out
    result = json.loads(out_json.read_text(encoding="utf-8"))["results"][0]
    assert [p["pro_calls"] for p in result["points"]] == [3, 3, 2, 1, 0]


def test_cli_default_png_in_current_folder(
    capsys: pytest.CaptureFixture[str],
    synthetic: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "eval", str(synthetic), "--scorer", "recorded")
    assert code == 0, err
    assert "Curve: eval-curve.png" in out
    assert_png(tmp_path / "eval-curve.png")


def test_cli_simulated_scorer(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rows = [
        {"id": "explain", "prompt": "Explain why the sky is blue", "quality_lite": 7},
        {"id": "debug", "prompt": "Debug this crash in my parser", "quality_lite": 3},
        {"id": "chat", "prompt": "What is the capital of France?", "quality_lite": 9},
    ]
    path = write_jsonl(tmp_path / "tiny.jsonl", [{**r, "quality_pro": 9} for r in rows])
    out_json = tmp_path / "sim.json"
    code, out, err = run(
        capsys, "eval", str(path), "--scorer", "simulated", "--no-png", "--json", str(out_json)
    )
    assert code == 0, err
    assert "SIMULATED" in out and "not a quality claim" in out
    result = json.loads(out_json.read_text(encoding="utf-8"))["results"][0]
    assert result["simulated"] is True
    assert result["decided"] == {"rules": 0, "score": 3, "fallback": 0}
    # The simulator's keyword classifier: debug 0.8, explain 0.4, the rest 0.3.
    assert [p["threshold"] for p in result["points"]] == [0.0, 0.3, 0.4, 0.8, 1.01]
    assert [p["pro_calls"] for p in result["points"]] == [3, 3, 2, 1, 0]
    # Classifier calls are priced into the spend of every point.
    spend = Decimal(result["points"][-1]["spend"])
    assert spend > Decimal(result["endpoints"]["all_lite"]["spend"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.jsonl"], "dataset not found"),
        (["{data}", "--format", "xml"], "unknown --format 'xml'"),
        (["{data}", "--format", "mt-bench"], "not MT-Bench data"),
        (["{data}", "--scorer", "oracle"], "unknown --scorer 'oracle'"),
        (["{data}", "--scorer", "live"], "--scorer live needs GOOGLE_API_KEY"),
        (["{bad}"], "bad.jsonl:2: not valid JSON"),
        (["{bare}", "--scorer", "recorded"], "needs items with a 'score'"),
        (["{data}", "--scorer", "recorded", "--png", "{tmp}/no/such/dir/c.png"], "cannot write"),
    ],
)
def test_cli_errors_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    synthetic: Path,
    argv: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # nothing may land in the project folder
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "prompt": "p", "quality_lite": 1, "quality_pro": 2}\n{oops\n')
    bare = write_jsonl(
        tmp_path / "bare.jsonl", [{"id": "x", "prompt": "hi?", "quality_lite": 1, "quality_pro": 2}]
    )
    paths = {"data": str(synthetic), "bad": str(bad), "bare": str(bare), "tmp": str(tmp_path)}
    code, _, err = run(capsys, "eval", *(a.format(**paths) for a in argv))
    assert code == 2
    assert message in one_line_error(err)


def test_cli_eval_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "eval", "--help")
    assert code == 0
    assert out.startswith("usage: lc-gemini-router eval")
    assert '"quality_lite"' in out
