"""What a routed call reports: response metadata, custom-event payloads, stream chunks.

Pure functions of a decision, the usage the lanes returned and the price catalog. The
router puts their results under ``response_metadata["lc_gemini_router"]`` and on the
callback stream; money is always a decimal *string* (a float or ``Decimal`` in chunk
metadata breaks LangChain's merging and serialisation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata, add_usage
from langchain_core.outputs import ChatGenerationChunk, ChatResult

from lc_gemini_router.keys import ROUTER_METADATA_KEY
from lc_gemini_router.pricing.catalog import PriceCatalog, ServiceTier
from lc_gemini_router.pricing.costs import CostBreakdown, image_sizes, price_quietly
from lc_gemini_router.pricing.usage import search_queries
from lc_gemini_router.routing.policy import RouteDecision, estimate_tokens

if TYPE_CHECKING:
    from lc_gemini_router.classify.classifier import ClassifierOutcome

__all__ = [
    "StreamTally",
    "annotate",
    "answer_report",
    "classifier_report",
    "cost_chunk",
    "decision_chunk",
    "decision_payload",
    "money",
    "waste_payload",
]


@dataclass
class StreamTally:
    """Usage, model name, generated images and search queries gathered from a lane's chunks."""

    usage: UsageMetadata | None = None
    model_name: str | None = None
    images: list[str] = field(default_factory=list)
    chunks: int = 0
    search_queries: int = 0

    def add(self, chunk: ChatGenerationChunk) -> None:
        message = chunk.message
        self.chunks += 1
        usage = getattr(message, "usage_metadata", None)
        if usage:
            self.usage = add_usage(self.usage, usage)
        name = message.response_metadata.get("model_name")
        if isinstance(name, str) and name:
            self.model_name = name
        if not isinstance(message.content, str):
            self.images.extend(image_sizes(message))
        self.search_queries += search_queries(message)


def money(cost: CostBreakdown | None) -> dict[str, Any] | None:
    """Cost fields with LangSmith's names (``input_cost``, ``output_cost``, ``total_cost``)."""
    if cost is None:
        return None
    return {
        "input_cost": str(cost.input_cost + cost.cached_input_cost),
        "output_cost": str(cost.output_cost + cost.image_output_cost),
        "total_cost": str(cost.total),
        "breakdown": cost.to_dict(),
    }


def gateway_info(decision: RouteDecision) -> dict[str, Any]:
    """Generation info that names the model chosen for this run.

    LangChain's tracer promotes ``lc_gateway_metadata`` to ``ls_model_name`` /
    ``ls_provider`` at run end: the way to report a model chosen after the run started.
    """
    return {"lc_gateway_metadata": {"model": decision.model, "provider": "google_genai"}}


def classifier_report(
    outcome: ClassifierOutcome | None,
    default_model: str,
    catalog: PriceCatalog | None,
    *,
    service_tier: ServiceTier = "standard",
) -> dict[str, Any] | None:
    """The classifier call as reported with the answer: error, input size, tokens, cost."""
    if outcome is None:
        return None
    report: dict[str, Any] = {
        "error": outcome.error,
        "input_chars": outcome.input_chars,
        "cached": outcome.cached,
    }
    raw = outcome.raw
    if raw is not None and raw.usage_metadata:
        model = raw.response_metadata.get("model_name")
        cost, _ = price_quietly(
            model or default_model, raw.usage_metadata, catalog=catalog, service_tier=service_tier
        )
        report.update(
            model=model,
            input_tokens=raw.usage_metadata.get("input_tokens", 0),
            output_tokens=raw.usage_metadata.get("output_tokens", 0),
            cost=str(cost.total) if cost else None,
        )
    return report


def decision_payload(decision: RouteDecision, report: dict[str, Any] | None) -> dict[str, Any]:
    """The decision event's data."""
    return {"decision": decision.to_metadata(), "classifier": report}


def answer_report(
    decision: RouteDecision,
    report: dict[str, Any] | None,
    tally: StreamTally,
    catalog: PriceCatalog | None,
    *,
    budget: dict[str, Any] | None = None,
    service_tier: ServiceTier = "standard",
    at: datetime | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Price the answer: its cost metadata entry and the cost event's data.

    ``budget`` (with budgets) is what the call settled and each budget's state after;
    ``at`` when the call was made, if not now (the rates in force then apply).
    """
    cost = None
    if tally.usage and tally.model_name:
        cost, _ = price_quietly(
            tally.model_name,
            tally.usage,
            catalog=catalog,
            service_tier=service_tier,
            images=tally.images,
            search_queries=tally.search_queries,
            at=at,
        )
    priced = money(cost)
    usage = dict(tally.usage) if tally.usage else None
    payload = {
        **decision_payload(decision, report),
        "answer": {"model": tally.model_name, "usage": usage, "cost": priced},
    }
    if budget is None:
        return {"cost": priced}, payload
    payload["budget"] = budget
    return {"cost": priced, "budget": budget}, payload


def annotate(
    result: ChatResult,
    decision: RouteDecision,
    report: dict[str, Any] | None,
    catalog: PriceCatalog | None,
    *,
    budget: dict[str, Any] | None = None,
    service_tier: ServiceTier = "standard",
    at: datetime | None = None,
) -> dict[str, Any]:
    """Put decision and cost on a complete answer; returns the cost event's data.

    With several candidates (``n`` > 1) the usage covers them all, and every
    candidate's images and searches are priced; the metadata goes on the first.
    """
    generation = result.generations[0]
    message = generation.message
    messages = [g.message for g in result.generations]
    tally = StreamTally(
        usage=getattr(message, "usage_metadata", None),
        model_name=message.response_metadata.get("model_name"),
        images=[size for m in messages for size in image_sizes(m)],
        search_queries=sum(search_queries(m) for m in messages),
    )
    cost_meta, payload = answer_report(
        decision, report, tally, catalog, budget=budget, service_tier=service_tier, at=at
    )
    message.response_metadata[ROUTER_METADATA_KEY] = {
        "decision": payload["decision"],  # dumped once, shared with the event
        "classifier": report,
        **cost_meta,
    }
    generation.generation_info = {**(generation.generation_info or {}), **gateway_info(decision)}
    return payload


def decision_chunk(
    decision: RouteDecision,
    report: dict[str, Any] | None,
    first: ChatGenerationChunk | None = None,
) -> ChatGenerationChunk:
    """A stream's first chunk: the decision travels on one chunk only, since strings in
    chunk metadata are concatenated when chunks merge. Its empty content has the type of
    the lane's first chunk: ``""`` merged into list content would add an empty block."""
    meta = {ROUTER_METADATA_KEY: decision_payload(decision, report)}
    empty: str | list[Any] = [] if first and isinstance(first.message.content, list) else ""
    return ChatGenerationChunk(
        message=AIMessageChunk(content=empty, response_metadata=meta),
        generation_info=gateway_info(decision),
    )


def cost_chunk(cost_meta: dict[str, Any]) -> ChatGenerationChunk:
    """A stream's last chunk, with the answer's cost."""
    meta = {ROUTER_METADATA_KEY: cost_meta}
    return ChatGenerationChunk(message=AIMessageChunk(content="", response_metadata=meta))


def waste_payload(
    tally: StreamTally,
    messages: Sequence[BaseMessage],
    lite_model: str,
    catalog: PriceCatalog | None,
    *,
    service_tier: ServiceTier = "standard",
) -> dict[str, Any]:
    """What cancelled speculative work consumed: its chunks' usage, or an estimate."""
    usage: dict[str, Any] | None = dict(tally.usage) if tally.usage else None
    estimated = usage is None
    if usage is None:
        # Closed before its first chunk: the prompt was sent, nothing was reported.
        prompt = estimate_tokens(messages)
        usage = {"input_tokens": prompt, "output_tokens": 0, "total_tokens": prompt}
    model = tally.model_name or lite_model
    cost, _ = price_quietly(model, usage, catalog=catalog, service_tier=service_tier)
    return {"model": model, "usage": usage, "estimated": estimated, "cost": money(cost)}
