"""Scoring a sample's pending requests with a router's classifier, without answering them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lc_gemini_router.callbacks.handler import get_gemini_cost_callback
from lc_gemini_router.router import GeminiRouter
from lc_gemini_router.routing.thresholds import ScoredRequest
from lc_gemini_router.tools.calibration.sample import PendingRequest, _from_decision, _tool_names


def score_sample(
    requests: Sequence[PendingRequest],
    router: GeminiRouter,
    *,
    on_scored: Callable[[ScoredRequest], None] | None = None,
) -> list[ScoredRequest]:
    """Score requests as the router would route them, without answering them.

    Each request goes through ``router.route(...)``: the router's rules decide some
    (``rule_lane``), its classifier scores the others. A classifier that fails leaves
    the request without a score (the fallback lane answers it at any threshold).

    Args:
        requests: the pending requests of a :class:`Sample`.
        router: the router whose classifier scores (live Gemini, or the simulator).
        on_scored: called after each request, e.g. to show progress.

    Returns:
        One request per input, in order, with the exact cost of its classifier call
        ($0 when the rules or the router's score cache decided).
    """
    scored = []
    for pending in requests:
        tools = _tool_names(pending.tools)
        with get_gemini_cost_callback() as cb:
            decision = router.route(list(pending.messages), tools=tools)
        request = _from_decision(
            pending.id, decision, pending.lite_cost, pending.pro_cost, cb.total_cost
        )
        scored.append(request)
        if on_scored is not None:
            on_scored(request)
    return scored
