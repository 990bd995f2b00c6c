"""The one routing flow behind invoke, ainvoke, stream and astream.

Prepare the call, classify it when the rules leave it open, decide, execute the
lane (falling back only on retryable faults), annotate the answer with its decision
and exact cost. It is a sans-IO generator (see :mod:`lc_gemini_router.engine`): the
sync and async drivers carry out its effects, so all four entry points share every
rule, decision, fallback and annotation.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import AsyncCallbackManager, CallbackManager
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult

from lc_gemini_router.budgets.guard import BudgetGuard, guarded_classifier
from lc_gemini_router.callbacks.payloads import (
    annotate,
    answer_report,
    classifier_report,
    cost_chunk,
    decision_chunk,
    decision_payload,
    waste_payload,
)
from lc_gemini_router.classify.classifier import ClassifierOutcome
from lc_gemini_router.engine import (
    Cancel,
    Effect,
    Emit,
    Flow,
    Generate,
    LaneCall,
    NextChunk,
    OpenStream,
    Out,
)
from lc_gemini_router.errors import LaneError, LaneFailure
from lc_gemini_router.keys import (
    COST_EVENT,
    DECISION_EVENT,
    WASTED_EVENT,
)
from lc_gemini_router.lanes.models import lane_unavailable
from lc_gemini_router.lanes.speculation import AsyncStreamPump, StreamPump
from lc_gemini_router.router.calls import Call
from lc_gemini_router.router.runs import (
    Parent,
    child_callbacks,
    classifier_config,
    parent_of,
)
from lc_gemini_router.routing.policy import RouteDecision, score_decision
from lc_gemini_router.routing.signatures import strip_foreign_signatures

if TYPE_CHECKING:
    from lc_gemini_router.router.chat_model import GeminiRouter

__all__ = ["decide", "flow", "route_flow"]


def flow(
    router: GeminiRouter,
    messages: list[BaseMessage],
    stop: list[str] | None,
    run_manager: Any,
    kwargs: dict[str, Any],
    *,
    stream: bool,
    is_async: bool,
) -> Flow:
    """Prepare, classify, decide, execute the lane (with fallback), annotate.

    Returns the answer (``stream=False``) or passes chunks on as ``Out`` effects
    (``stream=True``).
    """
    guard = BudgetGuard(router, is_async)
    try:
        return (yield from _flow(router, messages, stop, run_manager, kwargs, guard, stream=stream))
    finally:
        guard.abandon()  # a run closed or cancelled mid-way leaves nothing held


def _flow(
    router: GeminiRouter,
    messages: list[BaseMessage],
    stop: list[str] | None,
    run_manager: Any,
    kwargs: dict[str, Any],
    guard: BudgetGuard,
    *,
    stream: bool,
) -> Flow:
    is_async = guard.is_async
    call = router.prepare_call(messages, kwargs)  # typed errors before any request
    lanes = router.lane_set
    catalog = router.catalog
    parent = parent_of(router, run_manager)
    tier = parent.service_tier
    guard.start(call, parent)  # the budgets that apply; typed errors before any request
    manager = child_callbacks(parent, AsyncCallbackManager if is_async else CallbackManager)
    run_id = parent.run_id
    events = manager if run_id is not None else None
    pump: StreamPump | AsyncStreamPump | None = None
    outcome = None
    if call.needs_classifier:
        runner = lanes.classifier
        request = call.request
        prompt = runner.prompt(request.messages, request.tool_names)
        yield from guard.hold_classifier(runner, prompt)  # or BudgetExceededError: nothing sent
        # A cached score decides at once: speculating would only waste a request.
        if call.config.speculative and not (yield from runner.is_cached(prompt)):
            lite_model = call.config.lite_model
            lite = LaneCall(
                lanes.for_call(call.config, "lite"),
                strip_foreign_signatures(request.messages, lite_model),
                stop,
                None,
                call.lane_kwargs,
            )
            pump = yield from guard.speculate(lite)
        # Built only here: a call the rules decided never needs it.
        config = classifier_config(manager, run_id)
        outcome = yield from runner.flow(
            request.messages, request.tool_names, config, prompt=prompt
        )
        yield from guard.settle_classifier(outcome)
    decision = yield from guard.fit(decide(call, outcome))  # downgraded, or nothing sent
    report = classifier_report(outcome, router.config.classifier.model, catalog, service_tier=tier)
    if events is not None:
        yield Emit(events, DECISION_EVENT, decision_payload(decision, report), run_id)
    if pump is not None and decision.lane != "lite":
        yield Cancel(pump)  # the tally is final now: report the waste before answering
        yield from guard.wasted(pump.tally)
        if events is not None:
            lite_model = call.config.lite_model
            waste = waste_payload(
                pump.tally, call.request.messages, lite_model, catalog, service_tier=tier
            )
            yield Emit(events, WASTED_EVENT, waste, run_id)
        pump = None
    while True:
        lane = LaneCall(
            lanes.for_call(call.config, decision.lane),
            strip_foreign_signatures(call.request.messages, decision.model),
            stop,
            run_manager,
            call.kwargs_for(decision.lane),
            call.config.lane_deadline_seconds,
        )
        try:
            if not stream:
                result: ChatResult = yield Generate(lane, pump)
            else:
                chunks = yield OpenStream(lane, pump)
                # A lane that fails before its first chunk can still be replaced.
                first: ChatGenerationChunk | None = yield NextChunk(chunks)
            break
        except Exception as exc:
            pump = None
            yield from guard.failed(exc)
            decision = yield from guard.fit(_fallback(decision, call, exc))
            if events is not None:
                yield Emit(events, DECISION_EVENT, decision_payload(decision, report), run_id)
    if not stream:
        budget = yield from guard.answered(result.generations[0].message)
        payload = annotate(result, decision, report, catalog, budget=budget, service_tier=tier)
        if events is not None:
            yield Emit(events, COST_EVENT, payload, run_id)
        return result
    tally = guard.stream_tally()
    yield Out(decision_chunk(decision, report, first))
    try:
        while first is not None:
            tally.add(first)
            yield Out(first)
            first = yield NextChunk(chunks)
    except Exception as exc:
        yield from guard.failed(exc)  # what the chunks so far reported is billed
        # Tokens already reached the caller: answering again elsewhere would show
        # them twice. Fail with the lane named instead.
        raise LaneError(decision.lane, decision.model, exc, earlier=call.failures) from exc
    budget = yield from guard.streamed(tally)
    cost_meta, payload = answer_report(
        decision, report, tally, catalog, budget=budget, service_tier=tier
    )
    if events is not None:
        yield Emit(events, COST_EVENT, payload, run_id)
    yield Out(cost_chunk(cost_meta))
    return None


def route_flow(
    router: GeminiRouter, call: Call, parent: Parent, *, is_async: bool
) -> Generator[Effect, Any, tuple[RouteDecision, ClassifierOutcome | None]]:
    """Decide ``call`` without answering it (``route()``, the batch lane).

    The classifier, when the rules leave the call open, runs as a child of ``parent``
    (``parent.run_id`` None: a run of its own), held and settled under the budgets.
    Returns the decision and the classifier's outcome (None when the rules decided).
    """
    if not call.needs_classifier:
        return decide(call, None), None
    manager = child_callbacks(parent, AsyncCallbackManager if is_async else CallbackManager)
    guard = BudgetGuard(router, is_async)
    guard.start(call, parent)
    config = classifier_config(manager, parent.run_id)
    try:
        outcome = yield from guarded_classifier(guard, router.lane_set.classifier, call, config)
    finally:
        guard.abandon()
    return decide(call, outcome), outcome


def decide(call: Call, outcome: ClassifierOutcome | None) -> RouteDecision:
    """The rules' decision, or the one the classifier's score (or its absence) gives."""
    if call.ruled is not None:
        return call.ruled
    return score_decision(
        call.request,
        call.config,
        outcome.score if outcome else None,
        classifier_error=outcome.error if outcome else None,
        cached=outcome.cached if outcome else False,
    )


def _fallback(decision: RouteDecision, call: Call, error: Exception) -> RouteDecision:
    """The decision to retry on, or raise LaneError when there is none."""
    target = call.config.fallback_of(decision.lane)
    if (
        not call.config.fallback_on_error
        or target is None
        or decision.fallback_from
        or not lane_unavailable(error)
    ):
        raise LaneError(decision.lane, decision.model, error, earlier=call.failures) from error
    call.failures.append(LaneFailure(decision.lane, decision.model, error))
    reason = f"lane {decision.lane} failed: {type(error).__name__}: {error}"
    return decision.model_copy(
        update={
            "lane": target,
            "model": call.config.lanes[target],
            "source": "fallback",
            "fallback_from": decision.lane,
            "reasons": (*decision.reasons, reason),
        }
    )
