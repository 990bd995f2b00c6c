"""The demo backend, the simulated Gemini behind it, and the built-in workload.

The workload runs through the real ChatGoogleGenerativeAI over loopback HTTP; no
test contacts the network (a live backend is only built, never called).
"""

from __future__ import annotations

import io
import json
import math
import socket
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeGuard

import pytest
from langchain_core.decisions import ClassifierResponse
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from lc_gemini_router import ClassifierScore, ClassifierSettings, ConfigError, RouterConfig
from lc_gemini_router.classify.classifier import (
    CLASSIFIER_INSTRUCTION,
    ROUTER_QUESTIONS,
    render_classifier_input,
)
from lc_gemini_router.classify.classifier import score_of as score_of_answers
from lc_gemini_router.classify.questions import parse_reply, response_schema
from lc_gemini_router.testing.simulator import GeminiSimulator, SimReply, SimRequest
from lc_gemini_router.tools.backend import Backend, gemini_backend
from lc_gemini_router.tools.demo import (
    DEMO_TOOLS,
    MAX_TOOL_STEPS,
    WORKLOAD,
    DemoResult,
    DemoTask,
    run_workload,
)
from lc_gemini_router.tools.simulated import simulated_responder

LITE = "gemini-3.1-flash-lite"
PRO = "gemini-3.1-pro-preview"
PRO_TOOLS = "gemini-3.1-pro-preview-customtools"
RATES = {  # standard USD per 1M tokens (input, output), prompts <= 200k
    LITE: (Decimal("0.25"), Decimal("1.50")),
    PRO: (Decimal("2.00"), Decimal("12.00")),
    PRO_TOOLS: (Decimal("2.00"), Decimal("12.00")),
}
EXPECTED_LANES = {
    "translate": "lite",
    "extract": "lite",
    "summarize": "lite",
    "label": "lite",
    "tickets": "lite",
    "chat": "lite",
    "explain": "lite",
    "translate-ja": "lite",
    "proof": "pro",
    "debug": "pro",
    "agent": "pro_tools",
}


def cost(model: str, prompt: int, output: int) -> Decimal:
    rate_in, rate_out = RATES[model]
    return (prompt * rate_in + output * rate_out) / Decimal(1_000_000)


@pytest.fixture(autouse=True)
def no_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sim() -> Iterator[GeminiSimulator]:
    """The demo's simulated Gemini, kept in reach so tests can read its request log."""
    with GeminiSimulator(responder=simulated_responder()) as simulator:
        yield simulator


@pytest.fixture
def backend(sim: GeminiSimulator) -> Backend:
    return Backend(live=False, base_url=sim.base_url, api_key="test", description="test")


# -- gemini_backend -------------------------------------------------------------------------


def test_no_key_means_simulator_closed_after_the_block() -> None:
    with gemini_backend() as backend:
        assert backend.live is False
        assert backend.base_url is not None
        assert backend.base_url.startswith("http://127.0.0.1:")
        assert backend.description.startswith("SIMULATED Gemini (loopback http://127.0.0.1:")
        assert backend.description.endswith("no GOOGLE_API_KEY found")
        port = int(backend.base_url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass  # serving inside the block
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", port), timeout=2),
    ):
        pass  # closed after it


@pytest.mark.parametrize("variable", ["GOOGLE_API_KEY", "GEMINI_API_KEY"])
def test_a_key_means_live_and_stays_out_of_repr(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "secret-key-123")
    with gemini_backend() as backend:
        assert (backend.live, backend.base_url, backend.api_key) == (True, None, "secret-key-123")
        assert backend.description == f"LIVE Gemini API (key from {variable})"
        assert "secret-key-123" not in repr(backend)
        router = backend.router()  # built, never called: no network
    assert router.base_url is None
    assert router.max_retries is None
    assert router.google_api_key is not None
    assert router.google_api_key.get_secret_value() == "secret-key-123"


def test_live_without_a_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="GOOGLE_API_KEY"), gemini_backend(live=True):
        pass


def test_simulated_on_request_even_with_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "secret-key-123")
    with gemini_backend(live=False) as backend:
        assert backend.live is False
        assert backend.description.endswith("simulation requested, API key ignored")
        # The real key never goes to the simulator.
        assert backend.api_key != "secret-key-123"
        router = backend.router()
        assert router.google_api_key is not None
        assert router.google_api_key.get_secret_value() == backend.api_key


def test_simulated_router_makes_one_attempt_and_takes_overrides(backend: Backend) -> None:
    config = RouterConfig(escalation_threshold=0.7)
    router = backend.router(config, temperature=0.2)
    assert (router.base_url, router.max_retries, router.temperature) == (
        backend.base_url,
        1,
        0.2,
    )
    assert router.config.escalation_threshold == 0.7
    assert backend.router(max_retries=3).max_retries == 3


# -- simulated_responder: the classifier ----------------------------------------------------


def classifier_request(*messages: BaseMessage) -> SimRequest:
    """A classifier request as the router's classifier sends it."""
    text = render_classifier_input(messages, [], ClassifierSettings())
    body = {
        "systemInstruction": {"parts": [{"text": CLASSIFIER_INSTRUCTION}]},
        "contents": [{"role": "user", "parts": [{"text": text}]}],
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseJsonSchema": response_schema(ROUTER_QUESTIONS),
        },
    }
    return SimRequest(model=LITE, method="generateContent", body=body, headers={})


def score_of(*messages: BaseMessage) -> ClassifierScore:
    reply = simulated_responder()(classifier_request(*messages))
    assert reply is not None
    answers = parse_reply(json.dumps(reply.json), ROUTER_QUESTIONS)
    return score_of_answers(ClassifierResponse(model=LITE, answers=answers))


@pytest.mark.parametrize(
    ("prompt", "category", "difficulty"),
    [
        ("Translate 'good night' into German", "translation", 0.05),
        ("Extract every date from this contract: signed 3 May, due 9 June", "extraction", 0.15),
        ("Label the sentiment of this review: 'great phone'", "classification", 0.1),
        ("Summarize this thread in two lines: we moved the launch to May.", "summarization", 0.2),
        ("Hi there, how are you?", "chat", 0.05),
        ("Can you tell me a fun fact?", "chat", 0.3),
        ("Explain how a hash map works", "reasoning", 0.4),
        # The task's own verb comes first: translating a proof is translation work.
        ("Translate this proof into French: suppose sqrt(2) = p/q ...", "translation", 0.05),
    ],
)
def test_classifier_scores_easy_work_low(prompt: str, category: str, difficulty: float) -> None:
    score = score_of(HumanMessage(prompt))
    assert (score.category, score.difficulty, score.needs_tools) == (category, difficulty, False)
    assert score.difficulty < RouterConfig().escalation_threshold


@pytest.mark.parametrize(
    ("prompt", "category", "difficulty"),
    [
        ("Prove that sqrt(2) is irrational", "reasoning", 0.9),
        ("Hi! Please prove Fermat's little theorem", "reasoning", 0.9),
        ("Debug this: my parser raises IndexError on empty input", "coding", 0.8),
        ("Refactor this class to remove the global state", "coding", 0.8),
        ("Implement an LRU cache with O(1) operations", "coding", 0.65),
        ("Analyze the trade-offs between these two database schemas", "reasoning", 0.7),
    ],
)
def test_classifier_scores_hard_work_high(prompt: str, category: str, difficulty: float) -> None:
    score = score_of(HumanMessage(prompt))
    assert (score.category, score.difficulty, score.needs_tools) == (category, difficulty, False)
    assert score.difficulty >= RouterConfig().escalation_threshold


def test_classifier_marks_multi_step_tool_work() -> None:
    score = score_of(HumanMessage(WORKLOAD[-1].prompt))
    assert (score.category, score.difficulty, score.needs_tools) == ("agentic", 0.75, True)


def test_classifier_judges_a_follow_up_by_its_plan() -> None:
    history = (
        HumanMessage("Can you prove the lemma about the sum of odd numbers?"),
        AIMessage("Sure: I would use induction on n. Shall I write it out?"),
        HumanMessage("yes, do it"),
    )
    assert score_of(*history).category == "reasoning"
    assert score_of(HumanMessage("yes, do it")).category == "chat"


def test_classifier_reply_tokens() -> None:
    request = classifier_request(HumanMessage("Translate 'thank you' into Italian"))
    reply = simulated_responder()(request)
    assert reply is not None
    assert reply.prompt_tokens == math.ceil(len(request.prompt_text) / 4)
    assert reply.output_tokens == 15


# -- simulated_responder: the lanes ---------------------------------------------------------


def lane_request(model: str, prompt: str, **body: Any) -> SimRequest:
    contents = [{"role": "user", "parts": [{"text": prompt}]}]
    return SimRequest(
        model=model,
        method="generateContent",
        body={"contents": contents, **body},
        headers={},
    )


def answer(request: SimRequest) -> SimReply:
    reply = simulated_responder()(request)
    assert reply is not None
    return reply


def test_pro_thinks_hard_on_a_proof_and_lite_barely() -> None:
    prompt = "Prove that there are infinitely many primes."
    pro = answer(lane_request(PRO, prompt))
    assert (pro.prompt_tokens, pro.output_tokens, pro.thinking_tokens) == (11, 600, 1800)
    assert pro.text.startswith(f"[simulated {PRO}] Worked through the problem")
    lite = answer(lane_request(LITE, prompt))
    assert (lite.output_tokens, lite.thinking_tokens) == (600, 120)


@pytest.mark.parametrize(
    ("prompt", "output", "thinking"),
    [
        ("Translate into German: 'The train leaves at noon from platform 4.'", 17, 0),
        ("Extract the names from: Ada met Grace.", 60, 0),
        ("Summarize: the meeting moved to Friday.", 120, 0),
        ("Hello!", 40, 0),
        ("Explain recursion briefly", 200, 0),
    ],
)
def test_lite_output_tokens_by_category(prompt: str, output: int, thinking: int) -> None:
    reply = answer(lane_request(LITE, prompt))
    assert (reply.output_tokens, reply.thinking_tokens) == (output, thinking)
    assert reply.prompt_tokens == math.ceil(len(prompt) / 4)


def test_easy_work_on_pro_still_thinks_a_little() -> None:
    reply = answer(lane_request(PRO, "Hello!"))
    assert (reply.output_tokens, reply.thinking_tokens) == (40, 200)


def tools_body() -> dict[str, Any]:
    declarations = [
        {
            "name": "search_docs",
            "parameters": {
                "type": "OBJECT",
                "properties": {"query": {"type": "STRING"}},
                "required": ["query"],
            },
        },
        {
            "name": "read_file",
            "parameters": {
                "type": "OBJECT",
                "properties": {"path": {"type": "STRING"}, "limit": {"type": "INTEGER"}},
                "required": ["path", "limit"],
            },
        },
        {"name": "run_tests", "parameters": {"type": "OBJECT", "properties": {}}},
    ]
    return {"tools": [{"functionDeclarations": declarations}]}


def test_tools_bound_two_rounds_of_calls_then_an_answer() -> None:
    prompt = "Find out why tests/test_io.py fails"
    first = answer(lane_request(PRO_TOOLS, prompt, **tools_body()))
    assert first.function_calls == [
        ("search_docs", {"query": "Find out why tests/test_io.py fails"})
    ]
    assert (first.text, first.thinking_tokens) == ("", 400)

    request = lane_request(PRO_TOOLS, prompt, **tools_body())
    request.body["contents"] += [
        {"role": "model", "parts": [{"functionCall": {"name": "search_docs", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "search_docs"}}]},
    ]
    second = answer(request)
    assert second.function_calls == [
        ("read_file", {"path": "tests/test_io.py", "limit": 20}),
        ("run_tests", {}),
    ]

    request.body["contents"] += [
        {"role": "model", "parts": [{"functionCall": {"name": "read_file", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "read_file"}}]},
    ]
    final = answer(request)
    assert not final.function_calls
    assert "Called read_file, search_docs" in final.text
    assert (final.output_tokens, final.thinking_tokens) == (250, 800)


def test_structured_output_lane_gets_token_counts_only() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}}
    body = {"generationConfig": {"responseJsonSchema": schema}}
    reply = answer(lane_request(PRO, "extract: Ada, 36", **body))
    assert reply.is_blank  # the simulator fills schema-valid JSON
    assert (reply.prompt_tokens, reply.output_tokens, reply.thinking_tokens) == (4, None, 200)


# -- run_workload -----------------------------------------------------------------------------


def test_workload_shape() -> None:
    assert 8 <= len(WORKLOAD) <= 12
    assert len({task.name for task in WORKLOAD}) == len(WORKLOAD)
    categories = {task.category for task in WORKLOAD}
    assert {"translation", "extraction", "summarization", "reasoning", "coding", "agentic"} <= (
        categories
    )
    tool_tasks = [task for task in WORKLOAD if task.tools]
    assert [len(task.tools) for task in tool_tasks] == [3]
    assert [t.name for t in DEMO_TOOLS] == ["search_docs", "read_file", "run_tests"]
    assert "1 failed" in DEMO_TOOLS[2].invoke({"selection": "tests/test_io.py"})


def all_known(costs: list[Decimal | None]) -> TypeGuard[list[Decimal]]:
    """``None not in costs``, telling the type checker so."""
    return None not in costs


def test_run_workload_routes_and_prices_every_call_exactly(
    sim: GeminiSimulator, backend: Backend, tmp_path: Path
) -> None:
    log = tmp_path / "calls.jsonl"
    seen: list[DemoResult] = []
    results, cb = run_workload(backend, log=log, on_result=seen.append)

    assert seen == results
    assert [r.task for r in results] == list(WORKLOAD)
    assert {r.task.name: r.decision.lane for r in results} == EXPECTED_LANES
    assert all(r.model == r.decision.model for r in results)
    assert all(r.reply.startswith(f"[simulated {r.model}]") for r in results)
    assert {r.task.name: r.steps for r in results} == {
        name: 3 if name == "agent" else 1 for name in EXPECTED_LANES
    }
    assert all(request.status == 200 for request in sim.requests)

    # Each answer's cost, recomputed here from its tokens at the catalog's rates.
    for r in results:
        assert r.cost == cost(r.model, r.input_tokens, r.output_tokens), r.task.name
    # Token counts follow the prompt: a proof on Pro answers 600 tokens and thinks 1,800.
    proof = next(r for r in results if r.task.name == "proof")
    prompt_tokens = math.ceil(len(proof.task.prompt) / 4)
    assert (proof.input_tokens, proof.output_tokens) == (prompt_tokens, 2400)
    assert proof.cost == cost(PRO, prompt_tokens, 2400)
    translate = results[0]
    source_tokens = math.ceil(len(translate.task.prompt) / 4)
    assert (translate.input_tokens, translate.output_tokens) == (source_tokens, source_tokens)

    # The totals are the sum of the parts, exactly.
    answer_costs = [r.cost for r in results]
    classifier_costs = [r.classifier_cost for r in results]
    assert all_known(answer_costs) and all_known(classifier_costs)
    assert cb.unpriced_calls == 0
    assert cb.by_role["answer"].cost == sum(answer_costs, Decimal(0))
    assert cb.by_role["classifier"].cost == sum(classifier_costs, Decimal(0))
    assert cb.total_cost == sum(answer_costs, Decimal(0)) + sum(classifier_costs, Decimal(0))
    assert cb.reference_cost > cb.total_cost
    assert cb.by_model[PRO_TOOLS].calls == 3

    # One classifier call per task the rules left open; the 3-tool agent task too (tool
    # count alone does not decide): the classifier sees multi-step tool work.
    classifier_calls = [r for r in sim.requests if r.model == LITE and r.response_schema]
    scored = [r for r in results if r.classifier_cost]
    assert len(classifier_calls) == len(scored) == cb.by_role["classifier"].calls
    agent = next(r for r in results if r.task.name == "agent")
    assert (agent.decision.lane, agent.decision.source) == ("pro_tools", "classifier")

    # The log: one JSON line per model call, the same money to the last digit.
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == cb.calls == len(sim.requests)
    assert len(lines) == sum(r.steps for r in results) + len(scored)
    assert sum(Decimal(line["cost"]) for line in lines) == cb.total_cost
    assert sorted({line["role"] for line in lines}) == ["answer", "classifier"]


def test_run_workload_takes_a_config(backend: Backend) -> None:
    debug = next(task for task in WORKLOAD if task.name == "debug")
    config = RouterConfig(never_escalate=frozenset({"coding"}))
    [result], cb = run_workload(backend, [debug], config=config)
    assert (result.decision.lane, result.model) == ("lite", LITE)
    assert result.cost is not None
    assert cb.total_cost == result.cost + (result.classifier_cost or 0)


def test_cancelled_speculative_work_counts_in_the_task_cost(backend: Backend) -> None:
    debug = next(task for task in WORKLOAD if task.name == "debug")
    [result], cb = run_workload(backend, [debug], config=RouterConfig(speculative=True))
    assert (result.decision.lane, result.decision.source) == ("pro", "classifier")
    wasted = cb.by_role["speculative"]
    assert wasted.calls == 1 and wasted.cost > 0  # the lite start the escalation cancelled
    assert result.cost == cb.by_role["answer"].cost + wasted.cost
    assert cb.total_cost == result.cost + (result.classifier_cost or 0)


def test_tool_loop_answers_an_unknown_tool_and_goes_on(
    sim: GeminiSimulator, backend: Backend
) -> None:
    sim.script(PRO_TOOLS, SimReply(function_calls=[("delete_repo", {"really": True})]))
    agent = WORKLOAD[-1]
    [result], _ = run_workload(backend, [agent])
    assert result.steps == 3
    second = sim.requests_for(PRO_TOOLS)[1]
    assert second.function_responses[0]["name"] == "delete_repo"
    assert "unknown tool" in json.dumps(second.function_responses[0])
    assert result.reply.startswith(f"[simulated {PRO_TOOLS}]")


def test_tool_loop_stops_after_max_steps(sim: GeminiSimulator, backend: Backend) -> None:
    looping = SimReply(function_calls=[("search_docs", {"query": "again"})])
    sim.script(PRO_TOOLS, *[looping] * (MAX_TOOL_STEPS + 2))
    [result], cb = run_workload(backend, [WORKLOAD[-1]])
    assert result.steps == MAX_TOOL_STEPS == cb.by_role["answer"].calls
    assert cb.by_role["classifier"].calls == 1  # the turn's first step only
    assert result.reply == ""


def test_run_workload_logs_to_a_stream(backend: Backend) -> None:
    stream = io.StringIO()
    task = DemoTask("hello", "chat", "Hello!")
    [result], cb = run_workload(backend, [task], log=stream)
    assert result.decision.lane == "lite"
    assert len(stream.getvalue().splitlines()) == cb.calls
