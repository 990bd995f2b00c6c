"""GeminiRouter on fake chat models: run structure, overrides, events, faults.

The same behaviour through the real ChatGoogleGenerativeAI client and the loopback
Gemini server is tested in test_router_live.py.
"""

from __future__ import annotations

import warnings
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler, UsageMetadataCallbackHandler
from langchain_core.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from pydantic import BaseModel

from lc_gemini_router import (
    COST_EVENT,
    DECISION_EVENT,
    ClassifierSettings,
    ConfigError,
    GeminiRouter,
    LaneError,
    RetiredModelError,
    RouterConfig,
    UnknownLaneError,
    UnknownPriceWarning,
    UnsupportedInputError,
    get_gemini_cost_callback,
)
from lc_gemini_router.keys import CLASSIFIER_TAG
from tests.fakes import FakeClassifierModel, UsageFakeChatModel
from tests.routing_kit import CaptureTracer

HARD = {"difficulty": 0.9, "needs_tools": False, "category": "reasoning"}
LITE_COST = Decimal("0.000275")  # 500 in / 100 out on Flash-Lite
PRO_COST = Decimal("0.0022")  # the same on Pro
CLASSIFIER_COST = Decimal("0.00006")  # 120 in / 20 out on Flash-Lite


class Recorder(BaseCallbackHandler):
    """Records what a user's handler sees."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any], UUID]] = []
        self.starts: list[tuple[UUID, UUID | None, list[str]]] = []
        self.decision_runs: list[tuple[UUID, UUID | None, list[str]]] = []
        self.tokens: list[str] = []

    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.events.append((name, data, run_id))

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.starts.append((run_id, parent_run_id, tags or []))

    def on_chain_start(
        self,
        serialized: Any,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        run_type: str | None = None,
        **kwargs: Any,
    ) -> None:
        if run_type == "llm":  # a decision model's run
            self.decision_runs.append((run_id, parent_run_id, tags or []))

    def on_llm_new_token(self, token: str | list[str | dict[str, Any]], **kwargs: Any) -> None:
        assert isinstance(token, str)
        self.tokens.append(token)

    def router_run(self) -> UUID:
        roots = [run for run, parent, _ in self.starts if parent is None]
        assert len(roots) == 1
        return roots[0]

    def classifier_runs(self) -> list[tuple[UUID, UUID | None, list[str]]]:
        # The classifier is a decision-model run (type "llm"), never a chat-model run.
        assert not [s for s in self.starts if CLASSIFIER_TAG in s[2]]
        return [s for s in self.decision_runs if CLASSIFIER_TAG in s[2]]


def make_router(**kwargs: Any) -> GeminiRouter:
    params: dict[str, Any] = {
        "classifier": FakeClassifierModel(scores={"riddle": HARD}),
        "lite": UsageFakeChatModel(text="lite says hi"),
        "pro": UsageFakeChatModel(model_name="gemini-3.1-pro-preview", text="pro thinks hard"),
        "pro_tools": UsageFakeChatModel(model_name="gemini-3.1-pro-preview-customtools"),
    }
    params.update(kwargs)
    return GeminiRouter(**params)


def decision_of(message: AIMessage) -> dict[str, Any]:
    return message.response_metadata["lc_gemini_router"]["decision"]  # type: ignore[no-any-return]


def test_easy_prompt_stays_on_lite_hard_goes_to_pro() -> None:
    router = make_router()
    easy = router.invoke("what is the capital of Peru?")
    hard = router.invoke("solve the riddle of the sphinx")
    assert easy.content == "lite says hi"
    assert decision_of(easy)["lane"] == "lite"
    assert hard.content == "pro thinks hard"
    assert decision_of(hard) | {"reasons": None} == {
        "lane": "pro",
        "model": "gemini-3.1-pro-preview",
        "source": "classifier",
        "reasons": None,
        "score": 0.9,
        "category": "reasoning",
        "needs_tools": False,
        "tools": 0,
        "tool_rounds": 0,
        "fallback_from": None,
        "classifier_error": None,
    }


def test_answer_metadata_carries_cost_with_langsmith_names() -> None:
    message = make_router().invoke("capital of Peru?")
    meta = message.response_metadata["lc_gemini_router"]
    assert meta["cost"]["total_cost"] == str(LITE_COST)
    assert meta["cost"]["input_cost"] == "0.000125"
    assert meta["cost"]["output_cost"] == "0.00015"
    assert meta["classifier"]["cost"] == str(CLASSIFIER_COST)
    # The lane's model name is untouched: usage handlers key on it.
    assert message.response_metadata["model_name"] == "gemini-3.1-flash-lite"


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_classifier_is_a_tagged_child_run_and_events_reach_handlers(mode: str) -> None:
    router = make_router()
    recorder = Recorder()
    config: Any = {"callbacks": [recorder]}
    if mode == "invoke":
        router.invoke("solve the riddle", config=config)
    else:
        # Top-level stream: LangChain calls _stream without a run manager.
        list(router.stream("solve the riddle", config=config))
    router_run = recorder.router_run()
    classifier_runs = recorder.classifier_runs()
    assert len(classifier_runs) == 1
    assert "nostream" in classifier_runs[0][2]
    names = [name for name, _, run_id in recorder.events if run_id == router_run]
    assert names == [DECISION_EVENT, COST_EVENT]
    decision = recorder.events[0][1]["decision"]
    assert (decision["lane"], decision["source"]) == ("pro", "classifier")
    cost = recorder.events[1][1]["answer"]["cost"]
    assert cost["total_cost"] == str(PRO_COST)


async def test_async_paths_parent_the_classifier_too() -> None:
    router = make_router()
    recorder = Recorder()
    await router.ainvoke("solve the riddle", config={"callbacks": [recorder]})
    async for _ in router.astream("solve another riddle", config={"callbacks": [recorder]}):
        pass
    roots = [run for run, parent, _ in recorder.starts if parent is None]
    assert len(roots) == 2
    assert len(recorder.classifier_runs()) == 2
    assert [name for name, _, _ in recorder.events] == [DECISION_EVENT, COST_EVENT] * 2


@pytest.mark.parametrize("mode", ["invoke", "stream", "batch"])
def test_usage_counted_once_by_every_handler(mode: str) -> None:
    router = make_router()
    usage = UsageMetadataCallbackHandler()
    with get_gemini_cost_callback() as cb:
        if mode == "invoke":
            router.invoke("solve the riddle", config={"callbacks": [usage]})
        elif mode == "stream":
            list(router.stream("solve the riddle", config={"callbacks": [usage]}))
        else:
            router.batch(["solve the riddle"], config={"callbacks": [usage]})
    assert usage.usage_metadata["gemini-3.1-pro-preview"]["input_tokens"] == 500
    # The classifier is a decision-model run: LangChain's usage handler only counts
    # chat-model runs, the cost handler counts it from the decision's usage.
    assert "gemini-3.1-flash-lite" not in usage.usage_metadata
    assert cb.by_role["classifier"].input_tokens == 120
    assert cb.calls == 2
    assert cb.total_cost == PRO_COST + CLASSIFIER_COST
    assert cb.by_role["classifier"].cost == CLASSIFIER_COST
    assert cb.by_role["answer"].cost == PRO_COST


def test_stream_shows_each_token_once_with_decision_first_and_cost_last() -> None:
    router = make_router()
    recorder = Recorder()
    chunks = list(router.stream("solve the riddle", config={"callbacks": [recorder]}))
    text_tokens = [t for t in recorder.tokens if t]
    assert text_tokens == ["pro ", "thinks ", "hard"]
    assert "lc_gemini_router" in chunks[0].response_metadata
    assert chunks[0].response_metadata["lc_gemini_router"]["decision"]["lane"] == "pro"
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    meta = merged.response_metadata["lc_gemini_router"]
    assert meta["decision"]["lane"] == "pro"  # not "propro": it was on one chunk
    assert meta["cost"]["total_cost"] == str(PRO_COST)
    assert merged.response_metadata["model_name"] == "gemini-3.1-pro-preview"


async def test_astream_events_v2_shows_decision_and_cost_events() -> None:
    router = make_router()
    names = [
        event["name"]
        async for event in router.astream_events("solve the riddle", version="v2")
        if event["event"] == "on_custom_event"
    ]
    assert names == [DECISION_EVENT, COST_EVENT]


def test_per_call_overrides_kwargs_bind_and_configurable() -> None:
    router = make_router()
    assert decision_of(router.invoke("hello", lane="pro"))["source"] == "override"
    # difficulty 0.1 escalates once the threshold drops below it
    bound = router.bind(escalation_threshold=0.05)
    assert decision_of(bound.invoke("capital of Peru?"))["lane"] == "pro"
    chain = ChatPromptTemplate.from_template("{q}") | router
    configured = chain.invoke(
        {"q": "capital of Peru?"},
        config={"configurable": {"lc_gemini_router": {"lane": "pro_tools"}}},
    )
    assert decision_of(configured)["lane"] == "pro_tools"


def test_invalid_per_call_override_names_field_before_any_call() -> None:
    classifier = FakeClassifierModel()
    router = make_router(classifier=classifier)
    with pytest.raises(ConfigError, match="escalation_threshold"):
        router.invoke("hello", escalation_threshold=3)
    with pytest.raises(UnknownLaneError, match="unknown lane 'ultra'"):
        router.invoke("hello", lane="ultra")
    with pytest.raises(UnsupportedInputError, match="at least one message"):
        router.invoke([])
    for bad in (123, {"text": "hi"}, [1, 2]):
        with pytest.raises(UnsupportedInputError, match="cannot route this input"):
            router.invoke(bad)  # type: ignore[arg-type]
    assert classifier.calls == []


def test_lcel_chain_with_cost_callback() -> None:
    chain = ChatPromptTemplate.from_template("{question}") | make_router() | StrOutputParser()
    with get_gemini_cost_callback() as cb:
        assert chain.invoke({"question": "capital of Peru?"}) == "lite says hi"
        assert chain.invoke({"question": "solve this riddle"}) == "pro thinks hard"
    assert cb.total_cost == LITE_COST + PRO_COST + 2 * CLASSIFIER_COST
    assert set(cb.by_model) == {"gemini-3.1-flash-lite", "gemini-3.1-pro-preview"}


def test_classifier_failure_falls_back_to_rules_lane() -> None:
    router = make_router(classifier=FakeClassifierModel(fail=True))
    message = router.invoke("solve the riddle")
    decision = decision_of(message)
    assert (decision["lane"], decision["source"]) == ("lite", "fallback")
    assert decision["reasons"] == ["ModelAPIError: injected failure"]


def test_circuit_breaker_skips_classifier_after_repeated_failures() -> None:
    classifier = FakeClassifierModel(fail=True)
    router = make_router(
        classifier=classifier,
        config=RouterConfig(classifier=ClassifierSettings(failure_threshold=2)),
    )
    for _ in range(4):
        router.invoke("capital of Peru?")
    assert len(classifier.calls) == 2  # two failures opened the circuit
    decision = decision_of(router.invoke("capital of Peru?"))
    assert decision["reasons"] == ["classifier circuit open (cooling down)"]


def test_lane_failure_answers_on_fallback_lane() -> None:
    router = make_router(pro=UsageFakeChatModel(model_name="gemini-3.1-pro-preview", fail=True))
    with get_gemini_cost_callback() as cb:
        message = router.invoke("solve the riddle")
    decision = decision_of(message)
    assert (decision["lane"], decision["source"], decision["fallback_from"]) == (
        "lite",
        "fallback",
        "pro",
    )
    assert "lane pro failed: ModelAPIError: injected failure" in decision["reasons"]
    assert cb.total_cost == LITE_COST + CLASSIFIER_COST  # the failed call cost nothing


def test_lane_failure_without_fallback_is_a_typed_error() -> None:
    router = make_router(
        pro=UsageFakeChatModel(model_name="gemini-3.1-pro-preview", fail=True),
        config=RouterConfig(fallback_on_error=False),
    )
    with pytest.raises(LaneError, match="lane 'pro' \\(gemini-3.1-pro-preview\\) failed") as info:
        router.invoke("solve the riddle")
    assert (info.value.lane, info.value.model) == ("pro", "gemini-3.1-pro-preview")
    assert isinstance(info.value.__cause__, ModelAPIError)


@pytest.mark.parametrize(
    "failure", [ModelRateLimitError, ModelAPIError, ModelTimeoutError, ModelNotFoundError]
)
def test_what_another_lane_can_answer_falls_back(failure: type[Exception]) -> None:
    broken = UsageFakeChatModel(model_name="gemini-3.1-pro-preview", fail=True, failure=failure)
    message = make_router(pro=broken).invoke("solve the riddle")
    decision = decision_of(message)
    assert (decision["lane"], decision["fallback_from"]) == ("lite", "pro")
    assert message.content == "lite says hi"


@pytest.mark.parametrize(
    "failure", [TypeError, ValueError, ModelInvalidRequestError, ModelAuthenticationError]
)
@pytest.mark.parametrize("method", ["invoke", "stream"])
def test_what_would_fail_on_any_lane_propagates(failure: type[Exception], method: str) -> None:
    """A bug or a 400 is not the lane's fault: answering it on Flash-Lite would hide it."""
    # A one-word reply fails before its first chunk, where a stream could still fall back.
    broken = UsageFakeChatModel(
        model_name="gemini-3.1-pro-preview", text="x", fail=True, failure=failure
    )
    router = make_router(pro=broken)

    def call() -> object:
        if method == "invoke":
            return router.invoke("solve the riddle")
        return list(router.stream("solve the riddle"))

    with get_gemini_cost_callback() as cb, pytest.raises(LaneError) as info:
        call()
    assert (info.value.lane, type(info.value.__cause__)) == ("pro", failure)
    assert [f.lane for f in info.value.failures] == ["pro"]
    assert cb.by_role.get("answer") is None  # Flash-Lite never answered


def test_stream_failure_before_first_chunk_falls_back() -> None:
    # fail=True makes the fake raise on its last chunk; a one-word reply fails first.
    broken = UsageFakeChatModel(model_name="gemini-3.1-pro-preview", text="x", fail=True)
    router = make_router(pro=broken)
    chunks = list(router.stream("solve the riddle"))
    assert "".join(str(c.content) for c in chunks) == "lite says hi"
    assert chunks[0].response_metadata["lc_gemini_router"]["decision"]["fallback_from"] == "pro"


def test_stream_failure_after_tokens_raises_lane_error() -> None:
    broken = UsageFakeChatModel(model_name="gemini-3.1-pro-preview", text="a b c", fail=True)
    router = make_router(pro=broken)
    with pytest.raises(LaneError, match="lane 'pro'"):
        list(router.stream("solve the riddle"))


def test_retired_lane_model_is_rejected_at_construction() -> None:
    with pytest.raises(RetiredModelError, match="use 'gemini-3.1-flash-image' instead"):
        GeminiRouter(lite="gemini-3.1-flash-image-preview", api_key="k")
    with pytest.raises(RetiredModelError):
        GeminiRouter(config=RouterConfig(pro_model="gemini-3.1-flash-image-preview"), api_key="k")


def test_unknown_lane_model_warns_that_costs_are_unknown() -> None:
    with pytest.warns(UnknownPriceWarning, match="gemini-9-pro"):
        router = GeminiRouter(pro="gemini-9-pro", api_key="k")
    assert router.config.pro_model == "gemini-9-pro"


def test_lanes_given_as_ids_or_models_set_the_config() -> None:
    router = GeminiRouter(lite="models/gemini-3.5-flash", api_key="k")
    assert router.config.lite_model == "gemini-3.5-flash"
    model = router.lane_model("lite")
    assert getattr(model, "model", None) in ("gemini-3.5-flash", "models/gemini-3.5-flash")
    with pytest.raises(UnknownLaneError):
        router.lane_model("turbo")


def test_standard_params_reach_the_lanes_the_router_builds() -> None:
    router = GeminiRouter(
        api_key="k", temperature=0.2, max_tokens=77, timeout=9, max_retries=1, stop=["END"]
    )
    lane = router.lane_model("pro")
    assert getattr(lane, "temperature", None) == 0.2
    assert getattr(lane, "max_output_tokens", None) == 77
    assert getattr(lane, "timeout", None) == 9
    assert getattr(lane, "max_retries", None) == 1
    assert getattr(lane, "stop", None) == ["END"]
    classifier = router.classifier_runner.model
    assert getattr(classifier, "temperature", None) == 0.0
    assert getattr(classifier, "max_output_tokens", None) == 64
    assert getattr(classifier, "thinking_level", None) == "minimal"
    # Pro's lowest thinking level is "low": "minimal" would be rejected live.
    pro_classifier = GeminiRouter(api_key="k", classifier="gemini-3.1-pro-preview")
    assert getattr(pro_classifier.classifier_runner.model, "thinking_level", None) == "low"
    unknown = GeminiRouter(api_key="k", classifier="gemini-3.5-flash")
    assert getattr(unknown.classifier_runner.model, "thinking_level", None) in (None, "minimal")


def test_ls_params_report_google_genai() -> None:
    router = make_router()
    params = router._get_ls_params()
    assert params["ls_provider"] == "google_genai"
    assert params["ls_model_name"] == "gemini-3.1-flash-lite"
    assert router._get_ls_params(lane="pro")["ls_model_name"] == "gemini-3.1-pro-preview"


def test_bind_tools_counts_tools_for_the_rules() -> None:
    def search(query: str) -> str:
        """Search the web."""
        return query

    def fetch(url: str) -> str:
        """Fetch a page."""
        return url

    class Lookup(BaseModel):
        """Look a word up."""

        word: str

    # The tool-count rule is off by default; with it on, three tools decide.
    bound = make_router(config=RouterConfig(tool_heavy_min_tools=3)).bind_tools(
        [search, fetch, Lookup]
    )
    message = bound.invoke("capital of Peru?")
    decision = decision_of(message)
    assert (decision["lane"], decision["source"], decision["tools"]) == ("pro_tools", "rule", 3)


def test_no_warning_leaks_from_a_normal_call() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_router().invoke([HumanMessage("hello")])


class Decision(BaseModel):
    """Record a decision."""

    choice: str


def test_route_is_a_dry_run_with_the_same_decision() -> None:
    classifier = FakeClassifierModel(scores={"riddle": HARD})
    lite = UsageFakeChatModel()
    router = make_router(classifier=classifier, lite=lite)
    with get_gemini_cost_callback() as cb:
        ruled = router.route("Translate 'hi' into French")
        scored = router.route("solve the riddle", escalation_threshold=0.95)
        fetch = {"type": "function", "function": {"name": "fetch", "parameters": {}}}
        bound: list[Any] = [{"google_search": {}}, fetch, Decision]
        tools = router.route("capital of Peru?", tools=bound, tool_heavy_min_tools=3)
    assert (ruled.lane, ruled.source) == ("lite", "rule")
    assert (scored.lane, scored.source, scored.score) == ("lite", "classifier", 0.9)
    assert (tools.lane, tools.tools) == ("pro_tools", 3)
    names = ["search", "fetch", "notify"]
    named = router.route("capital of Peru?", tools=names, tool_heavy_min_tools=3)
    assert (named.lane, named.source, named.tools) == ("pro_tools", "rule", 3)
    assert cb.by_role == {"classifier": cb.by_role["classifier"]}  # no answer was made
    assert cb.by_role["classifier"].calls == 1


def test_cost_log_ties_each_classifier_call_to_its_answer(tmp_path: Any) -> None:
    import json

    log = tmp_path / "costs.jsonl"
    router = make_router()
    with get_gemini_cost_callback(log=log):
        first = router.invoke("solve the riddle")
        router.batch(["capital of Peru?", "capital of Chile?"])
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    answers = [line for line in lines if line["role"] == "answer"]
    classifiers = [line for line in lines if line["role"] == "classifier"]
    assert len(answers) == 3 and len(classifiers) == 3
    assert all(a["router_run_id"] == a["run_id"] for a in answers)
    assert {c["router_run_id"] for c in classifiers} == {a["run_id"] for a in answers}
    assert first.response_metadata["lc_gemini_router"]["decision"]["source"] == "classifier"


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_tracer_sees_the_chosen_model_and_google_genai(mode: str) -> None:
    tracer = CaptureTracer()
    router = make_router()
    if mode == "invoke":
        router.invoke("solve the riddle", config={"callbacks": [tracer]})
    else:
        list(router.stream("solve the riddle", config={"callbacks": [tracer]}))
    (run,) = tracer.roots
    metadata = run.extra["metadata"]
    # Reported at run end: the lane is chosen after the run starts.
    assert metadata["ls_model_name"] == "gemini-3.1-pro-preview"
    assert metadata["ls_provider"] == "google_genai"
    classifier = [child for child in run.child_runs if CLASSIFIER_TAG in (child.tags or [])]
    assert len(classifier) == 1  # the classifier is a child of the router's run
