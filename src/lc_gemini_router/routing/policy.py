"""The routing decision, as pure functions: request + config (+ classifier score) -> decision.

Nothing here does I/O, so the whole policy can be tested and changed in isolation.
:func:`decide` applies, in order:

1. an explicit lane override (``source="override"``);
2. tool rules (-> ``pro_tools``, ``source="rule"``): evidence from the current turn's
   tool use (failed results, a repeated call, an engineering tool called, a long loop;
   :func:`tool_evidence`), or, when ``tool_heavy_min_tools`` is set, many tools bound;
3. a sticky turn: later steps of an agent turn stay on the lane that started it
   (``source="sticky"``), so a turn costs one classifier call and keeps one model;
4. a very long prompt, a forced tool choice, or a text rule that recognises the
   latest user message outside ``rule_band`` (``source="rule"``);
5. the classifier's score (``source="classifier"``, or ``"cache"`` when an identical
   request was scored before): category lists first, then
   multi-step tool use with tools bound (-> ``pro_tools``), then the difficulty
   against ``escalation_threshold``;
6. with no score (classifier failed, slow, disabled or its circuit open), the
   classifier's fallback lane (``source="fallback"``).

Example:
    >>> from langchain_core.messages import HumanMessage
    >>> from lc_gemini_router import ClassifierScore, RouterConfig
    >>> from lc_gemini_router.routing.policy import RouteRequest, decide
    >>> request = RouteRequest(messages=(HumanMessage("Is 2,147,483,647 prime?"),))
    >>> score = ClassifierScore(difficulty=0.9, needs_tools=False, category="reasoning")
    >>> decision = decide(request, RouterConfig(), score)
    >>> decision.lane, decision.model, decision.source
    ('pro', 'gemini-3.1-pro-preview', 'classifier')
"""

from __future__ import annotations

import fnmatch
import functools
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from pydantic import BaseModel, ConfigDict, Field

from lc_gemini_router.config import LANES, Category, Lane, RouterConfig
from lc_gemini_router.errors import ConfigError
from lc_gemini_router.keys import ROUTER_METADATA_KEY
from lc_gemini_router.routing.heuristics import text_prior

__all__ = [
    "ClassifierScore",
    "DecisionSource",
    "RouteDecision",
    "RouteRequest",
    "decide",
    "estimate_tokens",
    "latest_user_text",
    "rule_decision",
    "score_decision",
    "tool_evidence",
    "tool_rounds_in_turn",
    "turn_lane",
    "turn_messages",
]

DecisionSource = Literal["override", "rule", "sticky", "classifier", "fallback", "cache", "budget"]

# About four characters per token for English text: close enough to pick a rule.
_CHARS_PER_TOKEN = 4


class ClassifierScore(BaseModel):
    """What the classifier returns for one request (its structured-output schema)."""

    model_config = ConfigDict(extra="ignore")

    difficulty: float = Field(
        ge=0,
        le=1,
        description="0-0.3 chat, translation, extraction, labeling, formatting, short summary; "
        "0.3-0.6 explanation, routine writing; 0.6-1 multi-step reasoning, math, proofs, "
        "non-trivial code, costly mistakes",
    )
    needs_tools: bool = Field(description="several rounds of tool calls needed")
    category: Category = Field(description="kind of work")
    wants_image: bool = Field(
        default=False, description="asks for an image to be generated (asked with an image lane)"
    )


class RouteDecision(BaseModel):
    """Where one request went and why. Read it from ``response_metadata`` or events."""

    model_config = ConfigDict(frozen=True)

    lane: Lane
    model: str
    source: DecisionSource
    reasons: tuple[str, ...] = ()
    score: float | None = None
    """Difficulty: the classifier's, or the text rules' prior when a text rule decided."""
    category: Category | None = None
    needs_tools: bool | None = None
    tools: int = 0
    """Tools bound to the request."""
    tool_rounds: int = 0
    """Tool rounds already run in the current turn."""
    fallback_from: Lane | None = None
    """The lane that failed when this answer came from its fallback lane."""
    classifier_error: str | None = None
    """Why the classifier, when asked, gave no score (a timeout, an open circuit, the
    API's error); the request then went to the classifier's fallback lane."""
    budget: dict[str, Any] | None = None
    """With budgets: this call's hold for the lane and each budget's state at that
    moment (see the README, "Budgets and shared state"); None without budgets."""

    def to_metadata(self) -> dict[str, Any]:
        """A JSON-safe dict, as put into ``response_metadata`` and custom events."""
        # Without budgets the metadata stays as it was: no "budget" key at all.
        return self.model_dump(mode="json", exclude=None if self.budget else {"budget"})


@dataclass(frozen=True)
class RouteRequest:
    """The parts of a chat-model call that routing looks at."""

    messages: Sequence[BaseMessage]
    tool_names: tuple[str, ...] = ()
    tool_choice: str | None = None
    """Normalised: None / ``"auto"`` / ``"none"`` / ``"any"`` / a tool name."""
    lane_override: Lane | None = None
    structured_output: bool = False
    """The call asks for JSON (``response_json_schema`` or a JSON mime type)."""
    wants_images: bool = False
    """The call asks for generated images (``response_modalities`` include IMAGE)."""
    overrides: Mapping[str, Any] = field(default_factory=dict)
    """Per-call config overrides already applied to the config (kept for the record)."""

    @property
    def forces_tool(self) -> bool:
        return self.tool_choice not in (None, "auto", "none")

    @functools.cached_property
    def estimated_tokens(self) -> int:
        """:func:`estimate_tokens` of the messages, computed once for the window check
        and the long-context rule."""
        return estimate_tokens(self.messages)


def turn_messages(messages: Sequence[BaseMessage]) -> Sequence[BaseMessage]:
    """The current turn: the messages from the last human message on."""
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], HumanMessage):
            return messages[index:]
    return messages


def tool_rounds_in_turn(messages: Sequence[BaseMessage]) -> int:
    """How many times the model has called tools since the last human message."""
    return sum(
        1 for m in turn_messages(messages) if isinstance(m, AIMessage) and bool(m.tool_calls)
    )


def turn_lane(messages: Sequence[BaseMessage], lanes: Collection[Lane] = LANES) -> Lane | None:
    """The lane that answered the latest routed step of the current turn, if any."""
    for message in reversed(turn_messages(messages)):
        if isinstance(message, AIMessage):
            meta = message.response_metadata.get(ROUTER_METADATA_KEY)
            decision = meta.get("decision") if isinstance(meta, Mapping) else None
            lane = decision.get("lane") if isinstance(decision, Mapping) else None
            if isinstance(lane, str) and lane in lanes:
                return lane
    return None


def tool_evidence(messages: Sequence[BaseMessage], config: RouterConfig) -> str | None:
    """Why the current turn's tool use calls for pro_tools, or None.

    Evidence, not counts: failed tool results, a call repeated with the same arguments
    (a stuck loop), a call to an engineering tool (``heavy_tools``), or a long loop
    (``tool_heavy_min_rounds``). Bound tools alone, or a few easy rounds, are none.
    """
    rounds = errors = 0
    seen: set[str] = set()
    repeated = heavy = None
    patterns = [p.lower() for p in config.heavy_tools]
    for message in turn_messages(messages):
        if isinstance(message, ToolMessage) and message.status == "error":
            errors += 1
        if not isinstance(message, AIMessage) or not message.tool_calls:
            continue
        rounds += 1
        for call in message.tool_calls:
            name = call["name"]
            signature = f"{name}\x00{json.dumps(call['args'], sort_keys=True, default=str)}"
            if signature in seen and repeated is None:
                repeated = name
            seen.add(signature)
            if heavy is None and any(fnmatch.fnmatchcase(name.lower(), p) for p in patterns):
                heavy = name
    limit = config.escalate_after_tool_errors
    if limit and errors >= limit:
        return f"{errors} failed tool results in this turn (>= {limit})"
    if config.escalate_on_repeated_call and repeated is not None:
        return f"{repeated} called again with the same arguments"
    if heavy is not None:
        return f"engineering tool called: {heavy}"
    if rounds >= config.tool_heavy_min_rounds:
        return f"{rounds} tool rounds in this turn (>= {config.tool_heavy_min_rounds})"
    return None


def latest_user_text(messages: Sequence[BaseMessage]) -> str:
    """Text of the last human message ("" when there is none)."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return message.text
    return ""


def estimate_tokens(messages: Sequence[BaseMessage]) -> int:
    """A cheap prompt-size estimate (characters / 4) for the long-context rule."""
    chars = 0
    for message in messages:
        content = message.content
        if isinstance(content, str):
            chars += len(content)
        else:
            for block in content:
                if isinstance(block, str):
                    chars += len(block)
                elif isinstance(block, Mapping) and isinstance(block.get("text"), str):
                    chars += len(block["text"])
    return chars // _CHARS_PER_TOKEN


def _decision(
    request: RouteRequest,
    config: RouterConfig,
    lane: Lane,
    source: DecisionSource,
    *reasons: str,
    score: ClassifierScore | None = None,
    rounds: int,
) -> RouteDecision:
    return RouteDecision(
        lane=lane,
        model=config.lanes[lane],
        source=source,
        reasons=reasons,
        score=score.difficulty if score else None,
        category=score.category if score else None,
        needs_tools=score.needs_tools if score else None,
        tools=len(request.tool_names),
        tool_rounds=rounds,
    )


def rule_decision(request: RouteRequest, config: RouterConfig) -> RouteDecision | None:
    """The decision the rules make on their own, or None when the classifier must score.

    Never returns a ``"fallback"`` decision: a disabled or failing classifier is
    handled by :func:`decide`.
    """
    rounds = tool_rounds_in_turn(request.messages)
    tools = len(request.tool_names)

    if request.lane_override is not None:
        return _decision(
            request, config, request.lane_override, "override", "lane set by caller", rounds=rounds
        )
    if request.wants_images:
        lane = config.image_lane()
        if lane is None:
            msg = (
                "the request asks for images (response_modalities include IMAGE) but no "
                "lane of kind 'image' is configured: add one, e.g. RouterConfig(extra_lanes="
                "{'image': LaneSpec(model='gemini-3.1-flash-image', kind='image')})"
            )
            raise ConfigError(msg)
        reason = "response_modalities ask for images"
        return _decision(request, config, lane, "rule", reason, rounds=rounds)
    if config.tool_heavy_min_tools and tools >= config.tool_heavy_min_tools:
        reason = f"{tools} tools bound (>= {config.tool_heavy_min_tools})"
        return _decision(request, config, "pro_tools", "rule", reason, rounds=rounds)
    evidence = tool_evidence(request.messages, config)
    if evidence is not None:
        return _decision(request, config, "pro_tools", "rule", evidence, rounds=rounds)
    if config.sticky_turns:
        lane = turn_lane(request.messages, config.lanes)
        if lane is not None:
            reason = f"continues a turn started on {lane}"
            return _decision(request, config, lane, "sticky", reason, rounds=rounds)
    size = request.estimated_tokens
    if size >= config.long_context_tokens:
        reason = f"~{size:,} prompt tokens (>= {config.long_context_tokens:,})"
        return _decision(request, config, config.long_context_lane, "rule", reason, rounds=rounds)
    if request.forces_tool and config.forced_tool_choice_lane is not None:
        reason = f"tool_choice forces a tool call ({request.tool_choice})"
        lane = config.forced_tool_choice_lane
        return _decision(request, config, lane, "rule", reason, rounds=rounds)
    if request.structured_output and config.forced_tool_choice_lane is not None:
        # Structured output is extraction-shaped work, whichever method asks for it.
        reason = "structured output (JSON schema)"
        lane = config.forced_tool_choice_lane
        return _decision(request, config, lane, "rule", reason, rounds=rounds)
    if config.text_rules:
        return _text_rule(request, config, rounds)
    return None


def _text_rule(request: RouteRequest, config: RouterConfig, rounds: int) -> RouteDecision | None:
    prior = text_prior(latest_user_text(request.messages), broad=config.broad_text_rules)
    low, high = config.rule_band
    if low <= prior.score <= high:
        return None
    lane: Lane = "lite" if prior.score < low else "pro"
    if prior.category in config.always_escalate:
        lane = "pro"
    elif prior.category in config.never_escalate:
        lane = "lite"
    return RouteDecision(
        lane=lane,
        model=config.lanes[lane],
        source="rule",
        reasons=(f"text rule: {prior.reason}",),
        score=prior.score,
        category=prior.category,
        tools=len(request.tool_names),
        tool_rounds=rounds,
    )


def decide(
    request: RouteRequest,
    config: RouterConfig,
    score: ClassifierScore | None = None,
    *,
    classifier_error: str | None = None,
    cached: bool = False,
) -> RouteDecision:
    """Route one request.

    Args:
        request: messages, bound tools, tool choice and lane override of the call.
        config: the effective configuration (per-call overrides applied).
        score: the classifier's score; None when it was not called or failed.
        classifier_error: why there is no score (``"timeout"``, ``"circuit open"``, ...).
        cached: the score came from the decision cache (``source="cache"``).

    Returns:
        The decision, with the reasons that led to it.
    """
    ruled = rule_decision(request, config)
    if ruled is not None:
        return ruled
    return score_decision(request, config, score, classifier_error=classifier_error, cached=cached)


def score_decision(
    request: RouteRequest,
    config: RouterConfig,
    score: ClassifierScore | None,
    *,
    classifier_error: str | None = None,
    cached: bool = False,
) -> RouteDecision:
    """The decision for a request the rules left open: from the score, or the fallback.

    :func:`decide` is ``rule_decision(...) or score_decision(...)``; callers that
    already know the rules decided nothing (the router) call this directly.
    """
    rounds = tool_rounds_in_turn(request.messages)
    if score is None:
        why = classifier_error or (
            "classifier disabled" if not config.classifier.enabled else "no classifier score"
        )
        lane = config.classifier.fallback_lane
        decision = _decision(request, config, lane, "fallback", why, rounds=rounds)
        if classifier_error is None:
            return decision
        return decision.model_copy(update={"classifier_error": classifier_error})

    threshold = config.escalation_threshold
    source: DecisionSource = "cache" if cached else "classifier"
    image_lane = config.image_lane()
    if score.wants_image and image_lane is not None:
        reason = "the classifier says it asks for an image"
        return _decision(request, config, image_lane, source, reason, score=score, rounds=rounds)
    if score.category in config.never_escalate:
        reason = f"category {score.category} never escalates"
        return _decision(request, config, "lite", source, reason, score=score, rounds=rounds)
    if score.category in config.always_escalate:
        reason = f"category {score.category} always escalates"
        return _decision(request, config, "pro", source, reason, score=score, rounds=rounds)
    if score.needs_tools and request.tool_names:
        reason = "multi-step tool use with tools bound"
        return _decision(request, config, "pro_tools", source, reason, score=score, rounds=rounds)
    if score.difficulty >= threshold:
        reason = f"difficulty {score.difficulty:.2f} >= threshold {threshold:.2f}"
        return _decision(request, config, "pro", source, reason, score=score, rounds=rounds)
    reason = f"difficulty {score.difficulty:.2f} < threshold {threshold:.2f}"
    return _decision(request, config, "lite", source, reason, score=score, rounds=rounds)
