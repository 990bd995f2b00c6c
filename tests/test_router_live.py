"""GeminiRouter driving the real ChatGoogleGenerativeAI over HTTP (loopback Gemini).

Every lane and the classifier are real clients; the simulator scores requests,
answers, makes tool calls with thought signatures and rejects foreign signatures
as Gemini 3 does.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

import pytest
from langchain.agents import create_agent
from langchain_core.callbacks import BaseCallbackHandler, UsageMetadataCallbackHandler
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from langchain_google_genai import ChatGoogleGenerativeAI
from langchain_google_genai.chat_models import ChatGoogleGenerativeAIError
from pydantic import BaseModel

from lc_gemini_router import (
    COST_EVENT,
    DECISION_EVENT,
    ClassifierSettings,
    ConfigError,
    LaneError,
    RetiredModelError,
    RouterConfig,
    get_gemini_cost_callback,
)
from lc_gemini_router.keys import CLASSIFIER_TAG
from lc_gemini_router.testing.simulator import GeminiSimulator, SimReply
from tests.routing_kit import LITE, PRO, PRO_TOOLS, Backend, cost, is_classifier, live_router


def lanes_called(sim: GeminiSimulator) -> list[str]:
    return [r.model for r in sim.requests if not is_classifier(r)]


def decision(message: BaseMessage) -> dict[str, Any]:
    routed = message.response_metadata["lc_gemini_router"]["decision"]
    assert isinstance(routed, dict)
    return routed


@tool
def search(query: str) -> str:
    """Search the knowledge base."""
    return f"results for {query}"


@tool
def fetch(url: str) -> str:
    """Fetch a document."""
    return f"contents of {url}"


@tool
def calculate(expression: str) -> str:
    """Evaluate an arithmetic expression."""
    return "42"


class Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.events: list[tuple[str, UUID]] = []
        self.starts: list[list[str]] = []
        self.decision_starts: list[list[str]] = []

    def on_llm_new_token(self, token: Any, *, chunk: Any = None, **kwargs: Any) -> None:
        # Gemini 3 chunks carry content blocks: read the chunk's text.
        text = chunk.text if chunk is not None else str(token)
        if text:
            self.tokens.append(text)

    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.events.append((name, run_id))

    def on_chat_model_start(self, *args: Any, tags: list[str] | None = None, **kw: Any) -> None:
        self.starts.append(tags or [])

    def on_chain_start(
        self, *args: Any, tags: list[str] | None = None, run_type: str | None = None, **kw: Any
    ) -> None:
        if run_type == "llm":  # a decision model's run
            self.decision_starts.append(tags or [])


def test_lcel_chain_easy_to_lite_hard_to_pro_costs_exact(
    sim: GeminiSimulator, backend: Backend
) -> None:
    router = live_router(sim)
    chain = ChatPromptTemplate.from_template("{question}") | router | StrOutputParser()
    with get_gemini_cost_callback() as cb:
        easy = chain.invoke({"question": "What is the capital of Peru?"})
        hard = chain.invoke({"question": "solve this riddle about primes"})
    assert easy == f"{LITE} answers"
    assert hard == f"{PRO} answers"
    assert lanes_called(sim) == [LITE, PRO]
    classifier_requests = [r for r in sim.requests if is_classifier(r)]
    assert len(classifier_requests) == 2
    # Minimal thinking, temperature 0, capped output: as cheap as a call gets.
    generation = classifier_requests[0].body["generationConfig"]
    assert generation["temperature"] == 0
    assert generation["maxOutputTokens"] == 64
    assert generation["responseMimeType"] == "application/json"
    thinking = generation["thinkingConfig"]
    assert str(thinking.get("thinkingLevel") or thinking.get("thinking_level")).lower() == "minimal"
    assert cb.total_cost == (
        backend.answer_cost(LITE) + backend.answer_cost(PRO) + 2 * backend.classifier_cost
    )
    assert cb.by_role["classifier"].cost == 2 * backend.classifier_cost
    assert cb.by_role["answer"].cost == backend.answer_cost(LITE) + backend.answer_cost(PRO)
    assert cb.by_role["answer"].reasoning_tokens == 300  # Pro's thinking, billed as output


def test_decision_and_cost_reach_handlers_and_metadata(
    sim: GeminiSimulator, backend: Backend
) -> None:
    router = live_router(sim)
    handler = Tokens()
    message = router.invoke("solve this riddle about clocks", config={"callbacks": [handler]})
    meta = message.response_metadata["lc_gemini_router"]
    assert (meta["decision"]["lane"], meta["decision"]["source"]) == ("pro", "classifier")
    assert meta["decision"]["score"] == 0.9
    assert meta["cost"]["total_cost"] == str(backend.answer_cost(PRO))
    assert meta["classifier"]["cost"] == str(backend.classifier_cost)
    assert meta["classifier"]["input_tokens"] == 150
    assert [name for name, _ in handler.events] == [DECISION_EVENT, COST_EVENT]
    # The classifier is a decision-model run ("llm"), not a second chat-model run.
    assert not [tags for tags in handler.starts if CLASSIFIER_TAG in tags]
    classifier_tags = [tags for tags in handler.decision_starts if CLASSIFIER_TAG in tags]
    assert len(classifier_tags) == 1 and "nostream" in classifier_tags[0]


def test_stream_each_token_once_each_cost_once(sim: GeminiSimulator, backend: Backend) -> None:
    backend.lane_tokens[PRO] = (500, 100, 0)
    router = live_router(sim)
    tokens = Tokens()
    usage = UsageMetadataCallbackHandler()
    with get_gemini_cost_callback() as cb:
        chunks = list(router.stream("solve the riddle", config={"callbacks": [tokens, usage]}))
    text = "".join(str(c.content) if isinstance(c.content, str) else c.text for c in chunks)
    assert text == f"{PRO} answers"
    assert "".join(tokens.tokens) == f"{PRO} answers"  # no doubled tokens
    assert usage.usage_metadata[PRO]["input_tokens"] == 500
    # The classifier is a decision-model run: LangChain's usage handler (chat models
    # only) does not see it; the cost handler prices it once, from the decision's usage.
    assert LITE not in usage.usage_metadata
    assert cb.by_role["classifier"].input_tokens == 150
    assert cb.total_cost == cost(PRO, 500, 100) + backend.classifier_cost
    assert [name for name, _ in tokens.events] == [DECISION_EVENT, COST_EVENT]


async def test_async_stream_and_astream_events(sim: GeminiSimulator, backend: Backend) -> None:
    router = live_router(sim)
    with get_gemini_cost_callback() as cb:
        message = await router.ainvoke("what is the capital of Peru?")
        events = [e async for e in router.astream_events("solve the riddle", version="v2")]
    await router.aclose()
    assert decision(message)["lane"] == "lite"
    custom = [e["name"] for e in events if e["event"] == "on_custom_event"]
    assert custom == [DECISION_EVENT, COST_EVENT]
    router_streams = [
        e for e in events if e["event"] == "on_chat_model_stream" and "nostream" not in e["tags"]
    ]
    streamed = "".join(
        e["data"]["chunk"].text for e in router_streams if e["name"] == "GeminiRouter"
    )
    assert streamed == f"{PRO} answers"
    assert cb.total_cost == (
        backend.answer_cost(LITE) + backend.answer_cost(PRO) + 2 * backend.classifier_cost
    )


async def test_batch_and_abatch_exact_totals_with_decision_cache(
    sim: GeminiSimulator, backend: Backend
) -> None:
    router = live_router(sim)
    prompts: list[LanguageModelInput] = ["capital of a", "riddle b", "capital of c", "riddle d"]
    with get_gemini_cost_callback() as cb:
        results = router.batch(prompts)
        aresults = await router.abatch(prompts)  # the same requests again: cached scores
    await router.aclose()
    lanes = [decision(m)["lane"] for m in [*results, *aresults]]
    assert lanes == ["lite", "pro", "lite", "pro"] * 2
    assert [decision(m)["source"] for m in aresults] == ["cache"] * 4
    assert len([r for r in sim.requests if is_classifier(r)]) == 4
    per_round = 2 * backend.answer_cost(LITE) + 2 * backend.answer_cost(PRO)
    assert cb.total_cost == 2 * per_round + 4 * backend.classifier_cost


def test_agent_with_three_tools_stays_on_lite_for_an_easy_turn(
    sim: GeminiSimulator, backend: Backend
) -> None:
    """Tools bound are no evidence of hard work: one classifier call, then the turn's lane."""
    backend.tool_rounds = 2
    agent = create_agent(live_router(sim), tools=[search, fetch, calculate])
    with get_gemini_cost_callback() as cb:
        state = agent.invoke({"messages": [HumanMessage("research the topic")]})
    answers = [m for m in state["messages"] if isinstance(m, AIMessage)]
    steps = [(decision(m)["lane"], decision(m)["source"]) for m in answers]
    assert steps == [("lite", "classifier"), ("lite", "sticky"), ("lite", "sticky")]
    assert cb.total_cost == 3 * backend.answer_cost(LITE) + backend.classifier_cost


def test_agent_with_three_tools_runs_on_pro_tools_when_configured(
    sim: GeminiSimulator, backend: Backend
) -> None:
    backend.tool_rounds = 2
    router = live_router(sim, config=RouterConfig(tool_heavy_min_tools=3))
    agent = create_agent(router, tools=[search, fetch, calculate])
    handler = Tokens()
    with get_gemini_cost_callback() as cb:
        state = agent.invoke(
            {"messages": [HumanMessage("research the topic")]}, config={"callbacks": [handler]}
        )
    answers = [m for m in state["messages"] if isinstance(m, AIMessage)]
    assert [decision(m)["lane"] for m in answers] == ["pro_tools"] * 3
    assert decision(answers[0])["source"] == "rule"  # 3 tools bound: no classifier call
    assert not any(is_classifier(r) for r in sim.requests)
    assert answers[-1].text == f"{PRO_TOOLS} answers"
    assert len([m for m in state["messages"] if isinstance(m, ToolMessage)]) == 2
    assert cb.total_cost == 3 * backend.answer_cost(PRO_TOOLS)
    # One decision and one cost event per model step, each on its own router run.
    assert [name for name, _ in handler.events] == [DECISION_EVENT, COST_EVENT] * 3
    assert len({run_id for _, run_id in handler.events}) == 3


def test_tool_loop_switches_lane_mid_turn_with_signatures_enforced(
    sim: GeminiSimulator, backend: Backend
) -> None:
    """Lite starts the turn, two tool rounds move it to pro_tools: lite's signatures
    must not reach pro_tools (the simulator answers 400 to a foreign signature)."""
    backend.tool_rounds = 3
    router = live_router(sim, config=RouterConfig(tool_heavy_min_rounds=2))
    agent = create_agent(router, tools=[search])
    with get_gemini_cost_callback() as cb:
        state = agent.invoke({"messages": [HumanMessage("look something up")]})
    answers = [m for m in state["messages"] if isinstance(m, AIMessage)]
    steps = [(decision(m)["lane"], decision(m)["source"]) for m in answers]
    assert steps == [
        ("lite", "classifier"),
        ("lite", "sticky"),
        ("pro_tools", "rule"),
        ("pro_tools", "rule"),
    ]
    assert all(r.status == 200 for r in sim.requests)
    assert answers[-1].text == f"{PRO_TOOLS} answers"
    # The classifier ran once for the whole turn.
    assert len([r for r in sim.requests if is_classifier(r)]) == 1
    expected = (
        2 * backend.answer_cost(LITE) + 2 * backend.answer_cost(PRO_TOOLS)
    ) + backend.classifier_cost
    assert cb.total_cost == expected


def test_foreign_signature_is_rejected_without_the_router(
    sim: GeminiSimulator, backend: Backend
) -> None:
    """The control: replaying lite's signed call to pro directly fails as Gemini does."""
    backend.tool_rounds = 1
    lite = ChatGoogleGenerativeAI(
        model=LITE, google_api_key="t", base_url=sim.base_url, max_retries=1, api_version="v1beta"
    ).bind_tools([search])
    first = lite.invoke("look it up")
    assert first.tool_calls
    history = [
        HumanMessage("look it up"),
        first,
        ToolMessage("found", tool_call_id=first.tool_calls[0]["id"]),
    ]
    pro = ChatGoogleGenerativeAI(
        model=PRO, google_api_key="t", base_url=sim.base_url, max_retries=1, api_version="v1beta"
    ).bind_tools([search])
    with pytest.raises(ChatGoogleGenerativeAIError, match="(?i)signature"):
        pro.invoke(history)


def test_agent_stream_mode_messages_streams_answer_tokens_once(
    sim: GeminiSimulator, backend: Backend
) -> None:
    backend.tool_rounds = 1
    router = live_router(sim)
    agent = create_agent(router, tools=[search])
    pieces: list[str] = []
    for chunk, meta in agent.stream(
        {"messages": [HumanMessage("find the capital and look it up")]}, stream_mode="messages"
    ):
        assert isinstance(meta, dict)
        if meta.get("langgraph_node") == "model" and isinstance(chunk, AIMessage):
            pieces.append(chunk.text)
    assert "".join(pieces) == f"{LITE} answers"  # once, and no classifier JSON
    assert len([r for r in sim.requests if is_classifier(r)]) == 1


def test_structured_output_json_schema_and_function_calling(sim: GeminiSimulator) -> None:
    class Person(BaseModel):
        name: str
        age: int

    router = live_router(sim)
    person = router.with_structured_output(Person).invoke("extract: Ada, 36")
    assert isinstance(person, Person)
    lane_request = [r for r in sim.requests if not is_classifier(r)][-1]
    assert lane_request.response_schema is not None
    assert lane_request.model == LITE

    sim.script(LITE, SimReply(function_calls=[("Person", {"name": "Ada", "age": 36})]))
    called = router.with_structured_output(Person, method="function_calling").invoke("Ada, 36")
    assert called == Person(name="Ada", age=36)


# -- faults ------------------------------------------------------------------------------


def fault_router(sim: GeminiSimulator, **config: Any) -> Any:
    # A classifier on its own model ID, so faults can target it alone.
    settings = ClassifierSettings(**{"model": "gemini-3.5-flash", **config.pop("classifier", {})})
    return live_router(sim, config=RouterConfig(classifier=settings, **config))


def classifier_answers(backend: Backend) -> None:
    backend.lane_tokens["gemini-3.5-flash"] = (150, 12, 0)


@pytest.mark.parametrize(
    ("status", "error"), [(429, "GoogleRateLimitError"), (503, "GoogleAPIError")]
)
def test_classifier_error_falls_back_to_lite(
    sim: GeminiSimulator, backend: Backend, status: int, error: str
) -> None:
    router = fault_router(sim)
    sim.fail_next(status, model="gemini-3.5-flash")
    with get_gemini_cost_callback() as cb:
        message = router.invoke("solve this riddle")
    d = decision(message)
    assert (d["lane"], d["source"]) == ("lite", "fallback")
    assert d["reasons"][0].startswith(error)
    assert cb.calls == 1  # the failed classifier call costs nothing
    assert cb.total_cost == backend.answer_cost(LITE)


def test_classifier_deadline(sim: GeminiSimulator, backend: Backend) -> None:
    router = fault_router(sim, classifier={"deadline_seconds": 0.2})
    sim.set_delay(5, model="gemini-3.5-flash")
    message = router.invoke("solve this riddle")
    d = decision(message)
    assert (d["lane"], d["source"], d["reasons"]) == ("lite", "fallback", ["timeout after 0.2s"])


def test_classifier_output_failing_schema_falls_back(sim: GeminiSimulator) -> None:
    router = fault_router(sim)
    sim.script("gemini-3.5-flash", SimReply(json={"difficulty": 7, "category": "poetry"}))
    d = decision(router.invoke("solve the riddle"))
    assert d["source"] == "fallback"
    assert d["reasons"][0].startswith("classifier output failed the schema")


def test_circuit_breaker_skips_a_failing_classifier(sim: GeminiSimulator) -> None:
    router = fault_router(sim, classifier={"failure_threshold": 2, "cooldown_seconds": 3600})
    sim.fail_next(503, model="gemini-3.5-flash", count=10)
    reasons = [decision(router.invoke("solve the riddle"))["reasons"][0] for _ in range(4)]
    assert len(sim.requests_for("gemini-3.5-flash")) == 2
    assert reasons[2:] == ["classifier circuit open (cooling down)"] * 2


def test_lane_5xx_answers_on_fallback_lane(sim: GeminiSimulator, backend: Backend) -> None:
    router = live_router(sim)
    sim.fail_next(503, model=PRO)
    with get_gemini_cost_callback() as cb:
        message = router.invoke("solve the riddle")
    d = decision(message)
    assert (d["lane"], d["source"], d["fallback_from"]) == ("lite", "fallback", "pro")
    assert lanes_called(sim) == [PRO, LITE]
    assert cb.total_cost == backend.answer_cost(LITE) + backend.classifier_cost


def test_lane_429_in_stream_before_first_token_falls_back(
    sim: GeminiSimulator, backend: Backend
) -> None:
    router = live_router(sim)
    sim.fail_next(429, model=PRO)
    chunks = list(router.stream("solve the riddle"))
    assert chunks[0].response_metadata["lc_gemini_router"]["decision"]["fallback_from"] == "pro"
    assert "".join(c.text for c in chunks) == f"{LITE} answers"


def test_lane_failure_with_fallback_off_is_lane_error(sim: GeminiSimulator) -> None:
    router = live_router(sim, config=RouterConfig(fallback_on_error=False))
    sim.fail_next(503, model=PRO)
    with get_gemini_cost_callback() as cb, pytest.raises(LaneError, match="lane 'pro'"):
        router.invoke("solve the riddle")
    assert cb.calls == 1 and cb.by_role["classifier"].calls == 1  # nothing lost or doubled


def test_close_closes_only_the_clients_the_router_built(
    sim: GeminiSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = ChatGoogleGenerativeAI(
        model=PRO, google_api_key="t", base_url=sim.base_url, api_version="v1beta"
    )
    router = live_router(sim, pro=mine)
    router.invoke("what is the capital of Peru?")  # builds the classifier and the lite lane
    closed: list[str] = []
    lite, classifier = router.lane_model("lite"), router.classifier_runner.model
    assert isinstance(lite, ChatGoogleGenerativeAI)
    assert isinstance(classifier, ChatGoogleGenerativeAI)
    for name, model in [("lite", lite), ("pro", mine)]:
        monkeypatch.setattr(model.client, "close", lambda name=name: closed.append(name))
    monkeypatch.setattr(classifier.client, "close", lambda: closed.append("classifier"))
    router.close()
    assert sorted(closed) == ["classifier", "lite"]  # the caller's Pro model is theirs


# -- strict settings, through the real client: nothing is sent for a bad setting -------------


def test_per_call_lane_model_answers_on_that_model(sim: GeminiSimulator, backend: Backend) -> None:
    backend.lane_tokens["gemini-3.5-flash"] = (500, 100, 0)
    router = live_router(sim)
    reply = router.invoke("what is the capital of Peru?", lite_model="gemini-3.5-flash")
    meta = reply.response_metadata
    assert (meta["lc_gemini_router"]["decision"]["model"], meta["model_name"]) == (
        "gemini-3.5-flash",
        "gemini-3.5-flash",
    )
    assert lanes_called(sim) == ["gemini-3.5-flash"]
    router.invoke("what is the capital of Chile?")  # the configured lane is untouched
    assert lanes_called(sim) == ["gemini-3.5-flash", LITE]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"escalation_treshold": 0.1}, ConfigError, "did you mean 'escalation_threshold'"),
        ({"classifier": {"deadline_seconds": 9}}, ConfigError, "cannot change per call"),
        ({"escalation_threshold": 3}, ConfigError, "escalation_threshold: Input should be"),
        (
            {"pro_model": "gemini-3.1-flash-image-preview"},
            RetiredModelError,
            "use 'gemini-3.1-flash-image' instead",
        ),
    ],
)
def test_bad_per_call_settings_send_nothing(
    sim: GeminiSimulator, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    router = live_router(sim)
    with pytest.raises(error, match=re.escape(message)):
        router.invoke("solve the riddle", **kwargs)
    assert sim.requests == []


def test_a_ready_lane_cannot_be_replaced_per_call(sim: GeminiSimulator) -> None:
    mine = ChatGoogleGenerativeAI(
        model=PRO, google_api_key="t", base_url=sim.base_url, api_version="v1beta"
    )
    router = live_router(sim, pro=mine)
    with pytest.raises(ConfigError, match="lane 'pro' is a ready chat model"):
        router.invoke("solve the riddle", pro_model="gemini-3.5-flash")
    assert sim.requests == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"escalation_treshold": 0.5}, "did you mean 'escalation_threshold'? (a routing setting"),
        ({"temprature": 0.5}, "unknown keyword 'temprature'; did you mean 'temperature'?"),
        ({"vertexai": True}, "'vertexai' is a ChatGoogleGenerativeAI setting"),
        ({"thinking_level": "low"}, "pro=ChatGoogleGenerativeAI(model=..., thinking_level=...)"),
        ({"temperature": "hot"}, "invalid GeminiRouter: temperature: Input should be"),
    ],
)
def test_bad_constructor_keywords_are_config_errors(
    sim: GeminiSimulator, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        live_router(sim, **kwargs)
    assert sim.requests == []
