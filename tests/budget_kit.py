"""Shared pieces of the budget tests: a backend whose prompts fit the worst-case bound,
stores to run against, and the exact costs the simulator bills."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from lc_gemini_router import GeminiRouter, MemoryStore, RedisStore, RouterConfig
from lc_gemini_router.state import StateStore
from lc_gemini_router.testing.simulator import GeminiSimulator
from tests.routing_kit import LITE, PRO, PRO_TOOLS, Backend, cost, live_router

__all__ = [
    "EASY_PROMPT",
    "HARD_PROMPT",
    "MAX_TOKENS",
    "budget_backend",
    "budget_router",
    "pro_worst",
    "store_of",
]

MAX_TOKENS = 1000
"""Every lane's max_output_tokens in these tests: the output part of a worst case."""
HARD_PROMPT = "solve the riddle of the sphinx"  # 30 bytes: the classifier scores it hard
EASY_PROMPT = "Translate 'thank you' into Italian"  # a text rule sends it to lite


def budget_backend() -> Backend:
    """Ten prompt tokens a call (under any prompt's bound), output within MAX_TOKENS."""
    return Backend(
        classifier_tokens=(10, 12),
        lane_tokens={LITE: (10, 100, 0), PRO: (10, 100, 300), PRO_TOOLS: (10, 60, 200)},
    )


def pro_worst(prompt: str) -> Decimal:
    """Pro's worst case for one human message: its bytes + 8 tokens in, MAX_TOKENS out."""
    return cost(PRO, len(prompt.encode()) + 8, MAX_TOKENS)


def store_of(kind: str, request: pytest.FixtureRequest, **options: Any) -> Iterator[StateStore]:
    """A fresh store of ``kind`` (``memory`` or ``redis``, on the session's real Redis)."""
    if kind == "memory":
        yield MemoryStore()
        return
    store = RedisStore(request.getfixturevalue("redis_url"), **options)
    yield store
    store.close()


def budget_router(
    sim: GeminiSimulator, store: StateStore | None = None, **kwargs: Any
) -> GeminiRouter:
    kwargs.setdefault("max_tokens", MAX_TOKENS)
    config = kwargs.pop("config", RouterConfig())
    return live_router(sim, config=config, store=store, **kwargs)
