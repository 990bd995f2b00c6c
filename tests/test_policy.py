"""The pure routing decision: rules, classifier scores, fallbacks."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import ValidationError

from lc_gemini_router import ClassifierScore, ClassifierSettings, RouteDecision, RouterConfig
from lc_gemini_router.config import LEGACY_AGENT_RULES, Category
from lc_gemini_router.routing.policy import (
    RouteRequest,
    decide,
    estimate_tokens,
    rule_decision,
    tool_rounds_in_turn,
    turn_lane,
)

CONFIG = RouterConfig()
BEFORE = RouterConfig(**LEGACY_AGENT_RULES)  # the defaults before evidence-based escalation


def score(
    difficulty: float, category: Category = "chat", *, tools: bool = False
) -> ClassifierScore:
    return ClassifierScore(difficulty=difficulty, needs_tools=tools, category=category)


def ask(text: str = "What is the capital of Peru?", **kwargs: Any) -> RouteRequest:
    return RouteRequest(messages=(HumanMessage(text),), **kwargs)


def routed_ai(lane: str, *, tool: bool = False) -> AIMessage:
    calls = [{"name": "search", "args": {}, "id": f"c-{lane}", "type": "tool_call"}] if tool else []
    return AIMessage(
        content="",
        tool_calls=calls,
        response_metadata={"lc_gemini_router": {"decision": {"lane": lane}}},
    )


def tool_result() -> ToolMessage:
    return ToolMessage("result", tool_call_id="c")


@pytest.mark.parametrize(
    ("difficulty", "lane"), [(0.0, "lite"), (0.59, "lite"), (0.6, "pro"), (1.0, "pro")]
)
def test_threshold_is_inclusive(difficulty: float, lane: str) -> None:
    decision = decide(ask(), CONFIG, score(difficulty))
    assert decision.lane == lane
    assert decision.source == "classifier"
    assert decision.score == difficulty
    assert decision.model == CONFIG.lanes[lane]


def test_needs_classifier_when_no_rule_applies() -> None:
    assert rule_decision(ask(), CONFIG) is None


def test_no_score_falls_back_with_reason() -> None:
    decision = decide(ask(), CONFIG, classifier_error="timeout after 2.0s")
    assert decision == RouteDecision(
        lane="lite",
        model="gemini-3.1-flash-lite",
        source="fallback",
        reasons=("timeout after 2.0s",),
        classifier_error="timeout after 2.0s",
    )


def test_fallback_lane_configurable_and_disabled_classifier() -> None:
    config = RouterConfig(classifier=ClassifierSettings(enabled=False, fallback_lane="pro"))
    decision = decide(ask(), config)
    assert (decision.lane, decision.source, decision.reasons) == (
        "pro",
        "fallback",
        ("classifier disabled",),
    )


def test_override_wins_over_everything() -> None:
    request = ask(tool_names=("a", "b", "c", "d"), lane_override="lite")
    decision = decide(request, CONFIG, score(0.99))
    assert (decision.lane, decision.source) == ("lite", "override")


def test_tool_count_alone_does_not_decide_by_default() -> None:
    assert rule_decision(ask(tool_names=tuple("abcdefgh")), CONFIG) is None


def test_many_tools_go_to_pro_tools_when_configured() -> None:
    request = ask(tool_names=("a", "b", "c"))
    decision = rule_decision(request, BEFORE)
    assert decision is not None
    assert (decision.lane, decision.source, decision.tools) == ("pro_tools", "rule", 3)
    assert decision.model == "gemini-3.1-pro-preview-customtools"
    assert decision.reasons == ("3 tools bound (>= 3)",)
    assert rule_decision(ask(tool_names=("a", "b")), BEFORE) is None


def test_tool_rounds_in_turn_escalate_even_a_sticky_turn() -> None:
    messages: list[BaseMessage] = [
        HumanMessage("old question"),
        routed_ai("lite", tool=True),
        tool_result(),
        routed_ai("lite", tool=True),
        tool_result(),
        AIMessage("old answer"),
        HumanMessage("new question"),
        routed_ai("lite", tool=True),
        tool_result(),
    ]
    one_round = RouteRequest(messages=tuple(messages), tool_names=("search",))
    assert tool_rounds_in_turn(one_round.messages) == 1  # earlier turns do not count
    sticky = decide(one_round, BEFORE, score(0.0))
    assert (sticky.lane, sticky.source) == ("lite", "sticky")
    two = RouteRequest(
        messages=(*messages, routed_ai("lite", tool=True), tool_result()), tool_names=("search",)
    )
    decision = decide(two, BEFORE)
    assert (decision.lane, decision.source, decision.tool_rounds) == ("pro_tools", "rule", 2)

    # Today two easy rounds (new arguments each time) stay on the turn's lane; a long
    # loop escalates.
    def rounds(n: int) -> RouteRequest:
        steps = [m for i in range(n) for m in (call("search", {"q": i}), result())]
        return RouteRequest(messages=(HumanMessage("q"), *steps), tool_names=("search",))

    assert decide(rounds(2), CONFIG, score(0.0)).source == "sticky"
    decision = decide(rounds(8), CONFIG)
    assert (decision.lane, decision.reasons) == (
        "pro_tools",
        ("8 tool rounds in this turn (>= 8)",),
    )


def call(name: str, args: dict[str, Any], lane: str = "lite") -> AIMessage:
    calls = [{"name": name, "args": args, "id": f"c-{name}-{len(args)}", "type": "tool_call"}]
    meta = {"lc_gemini_router": {"decision": {"lane": lane}}}
    return AIMessage(content="", tool_calls=calls, response_metadata=meta)


def result(text: str = "ok", *, error: bool = False) -> ToolMessage:
    return ToolMessage(text, tool_call_id="x", status="error" if error else "success")


@pytest.mark.parametrize(
    ("steps", "reason"),
    [
        (
            [
                call("query_db", {"q": 1}),
                result("denied", error=True),
                call("query_db", {"q": 2}),
                result("denied", error=True),
            ],
            "2 failed tool results in this turn (>= 2)",
        ),
        (
            [call("fetch", {"url": "a"}), result(), call("fetch", {"url": "a"}), result()],
            "fetch called again with the same arguments",
        ),
        ([call("bash", {"cmd": "make"}), result()], "engineering tool called: bash"),
        ([call("Edit_File", {"path": "x"}), result()], "engineering tool called: Edit_File"),
    ],
)
def test_tool_evidence_escalates_a_lite_turn(steps: list[BaseMessage], reason: str) -> None:
    request = RouteRequest(messages=(HumanMessage("go"), *steps), tool_names=("t",))
    decision = decide(request, CONFIG, score(0.0))
    assert (decision.lane, decision.source, decision.reasons) == ("pro_tools", "rule", (reason,))
    assert decide(request, BEFORE, score(0.0)).reasons != (reason,)  # the old rules had none


def test_easy_tool_use_is_no_evidence() -> None:
    steps = [
        call("search", {"q": 1}),
        result(),
        call("search", {"q": 2}),
        result("none", error=True),
    ]
    request = RouteRequest(messages=(HumanMessage("go"), *steps), tool_names=("search",))
    decision = decide(request, CONFIG, score(0.0))
    assert (decision.lane, decision.source) == ("lite", "sticky")
    off = RouterConfig(
        heavy_tools=(), escalate_on_repeated_call=False, escalate_after_tool_errors=0
    )
    heavy = RouteRequest(
        messages=(HumanMessage("go"), call("bash", {}), result(), call("bash", {}), result()),
        tool_names=("bash",),
    )
    assert decide(heavy, off, score(0.0)).source == "sticky"


def test_sticky_turn_can_be_switched_off() -> None:
    messages = (HumanMessage("q"), routed_ai("pro", tool=True), tool_result())
    config = RouterConfig(sticky_turns=False)
    assert rule_decision(RouteRequest(messages=messages), config) is None
    assert turn_lane(messages) == "pro"


def test_turn_lane_ignores_unrouted_and_earlier_turn_messages() -> None:
    assert turn_lane((routed_ai("pro"), HumanMessage("next"))) is None
    assert turn_lane((HumanMessage("q"), AIMessage("plain"))) is None


def test_long_context_rule() -> None:
    config = RouterConfig(long_context_tokens=1000, long_context_lane="lite")
    decision = rule_decision(ask("x" * 4000), config)
    assert decision is not None
    assert (decision.lane, decision.source) == ("lite", "rule")
    assert rule_decision(ask("x" * 3996), config) is None


def test_forced_tool_choice_rule() -> None:
    request = ask(tool_names=("Extract",), tool_choice="Extract")
    decision = rule_decision(request, CONFIG)
    assert decision is not None and (decision.lane, decision.source) == ("lite", "rule")
    assert rule_decision(ask(tool_names=("x",), tool_choice="auto"), CONFIG) is None
    open_config = RouterConfig(forced_tool_choice_lane=None)
    assert rule_decision(request, open_config) is None


def test_category_lists() -> None:
    config = RouterConfig(
        never_escalate=frozenset({"translation"}), always_escalate=frozenset({"coding"})
    )
    assert decide(ask(), config, score(0.95, "translation")).lane == "lite"
    assert decide(ask(), config, score(0.05, "coding")).lane == "pro"


def test_needs_tools_goes_to_pro_tools_only_with_tools_bound() -> None:
    assert decide(ask(tool_names=("a",)), CONFIG, score(0.1, tools=True)).lane == "pro_tools"
    assert decide(ask(), CONFIG, score(0.1, tools=True)).lane == "lite"


def test_estimate_tokens_counts_text_blocks() -> None:
    messages = (
        SystemMessage("abcd" * 10),
        HumanMessage(content=[{"type": "text", "text": "abcd" * 5}, {"type": "image"}]),
    )
    assert estimate_tokens(messages) == 15


def test_decision_metadata_is_json_safe() -> None:
    decision = decide(ask(), CONFIG, score(0.7, "reasoning"))
    assert decision.to_metadata() == {
        "lane": "pro",
        "model": "gemini-3.1-pro-preview",
        "source": "classifier",
        "reasons": ["difficulty 0.70 >= threshold 0.60"],
        "score": 0.7,
        "category": "reasoning",
        "needs_tools": False,
        "tools": 0,
        "tool_rounds": 0,
        "fallback_from": None,
        "classifier_error": None,
    }


def test_score_schema_bounds() -> None:
    with pytest.raises(ValidationError, match="difficulty"):
        ClassifierScore(difficulty=1.5, needs_tools=False, category="chat")
    with pytest.raises(ValidationError, match="category"):
        # "poetry" is deliberately not a Category: the schema must reject it.
        ClassifierScore(difficulty=0.5, needs_tools=False, category="poetry")  # type: ignore[arg-type]
