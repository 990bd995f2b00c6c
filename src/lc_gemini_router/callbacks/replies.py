"""What a finished (or failed) chat-model run reported, read from LangChain's ``LLMResult``.

A run's result holds one generation per candidate (``n`` > 1 asks Gemini for several).
langchain-google-genai gives every candidate the response's one usage (it covers them
all), so usage is read once while images and search queries are counted on every
candidate. The model is the one the reply names: ``response_metadata["model_name"]``,
else the router's decision, else the gateway metadata or ``llm_output``; a stream cut
before Gemini's ``finishReason`` names none, and the handler falls back on the run's
``ls_model_name``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from lc_gemini_router.keys import ROUTER_METADATA_KEY
from lc_gemini_router.pricing.images import image_sizes
from lc_gemini_router.pricing.usage import search_queries

__all__ = ["Reply", "is_llm_cache_hit", "read_reply"]


@dataclass(frozen=True)
class Reply:
    """The parts of a run's result that pricing needs."""

    usage: Mapping[str, Any] | None
    model: str | None
    images: list[str]
    """The size class of every generated image, over all candidates."""
    search_queries: int
    """Google Search queries executed, over all candidates."""
    decision: Mapping[str, Any] | None
    """The router's decision, when a router answered."""


def is_llm_cache_hit(response: LLMResult) -> bool:
    """LangChain's own cache answered: it marks the copy ``usage_metadata["total_cost"]=0``."""
    for generations in response.generations:
        for generation in generations:
            message = getattr(generation, "message", None)
            usage = getattr(message, "usage_metadata", None) or {}
            if "total_cost" in usage and usage["total_cost"] == 0:
                return True
    return False


def read_reply(response: LLMResult) -> Reply | None:
    """The run's usage, model, images, searches and decision; None without a chat reply."""
    candidates = [
        generation
        for generation in (response.generations[0] if response.generations else [])
        if isinstance(generation, ChatGeneration) and isinstance(generation.message, AIMessage)
    ]
    if not candidates:
        return None
    messages = [m for m in (g.message for g in candidates) if isinstance(m, AIMessage)]
    usage = next((m.usage_metadata for m in messages if m.usage_metadata), None)
    first = messages[0]
    router = first.response_metadata.get(ROUTER_METADATA_KEY)
    decision = router.get("decision") if isinstance(router, Mapping) else None
    decision = decision if isinstance(decision, Mapping) else None
    gateway = (candidates[0].generation_info or {}).get("lc_gateway_metadata")
    named = (
        first.response_metadata.get("model_name"),
        decision.get("model") if decision else None,
        gateway.get("model") if isinstance(gateway, Mapping) else None,
        (response.llm_output or {}).get("model_name"),
    )
    model = next((name for name in named if isinstance(name, str) and name), None)
    return Reply(
        usage=usage,
        model=model,
        images=[size for message in messages for size in image_sizes(message)],
        search_queries=sum(search_queries(message) for message in messages),
        decision=decision,
    )
