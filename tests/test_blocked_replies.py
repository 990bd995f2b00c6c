"""A prompt Gemini blocks (no candidates) is billed for its prompt tokens."""

from __future__ import annotations

from decimal import Decimal

import pytest
from langchain_google_genai import ChatGoogleGenerativeAI

from lc_gemini_router import UnknownPriceWarning, get_gemini_cost_callback
from lc_gemini_router.testing.simulator import GeminiSimulator, SimReply

PRO = "gemini-3.1-pro-preview"


def _model(sim: GeminiSimulator) -> ChatGoogleGenerativeAI:
    return ChatGoogleGenerativeAI(
        model=PRO, api_key="t", base_url=sim.base_url, max_retries=0, api_version="v1beta"
    )


def test_a_blocked_stream_is_priced_from_the_usage_gemini_sent(
    gemini_sim: GeminiSimulator,
) -> None:
    gemini_sim.script(PRO, SimReply(blocked="SAFETY", prompt_tokens=1000))
    with get_gemini_cost_callback() as cb:
        chunks = list(_model(gemini_sim).stream("something Gemini refuses"))
    assert chunks[0].response_metadata["prompt_feedback"]["block_reason"] == "SAFETY"
    assert (cb.calls, cb.unpriced_calls) == (1, 0)
    assert cb.total_cost == Decimal("0.002")  # 1,000 prompt tokens at $2 / 1M


def test_a_blocked_invoke_is_unpriced_never_zero(gemini_sim: GeminiSimulator) -> None:
    # langchain-google-genai drops the usage of a non-streamed reply without
    # candidates: the handler cannot know the bill, so it says so.
    gemini_sim.script(PRO, SimReply(blocked="SAFETY", prompt_tokens=1000))
    with get_gemini_cost_callback() as cb, pytest.warns(UnknownPriceWarning, match="no usage"):
        _model(gemini_sim).invoke("something Gemini refuses")
    assert (cb.calls, cb.unpriced_calls) == (1, 1)
    assert gemini_sim.requests[0].usage == {"promptTokenCount": 1000, "totalTokenCount": 1000}
