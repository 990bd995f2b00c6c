"""Input no lane can answer is a typed error before any request, on every entry point."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from lc_gemini_router import RouterConfig, UnsupportedInputError
from lc_gemini_router.testing.simulator import GeminiSimulator
from tests.routing_kit import live_router

BAD_INPUTS: dict[str, tuple[Any, str]] = {
    "empty text": ("", "only empty or whitespace"),
    "whitespace": ("  \n\t ", "only empty or whitespace"),
    "empty blocks": ([HumanMessage(content=[{"type": "text", "text": " "}])], "empty"),
    "system alone": ([SystemMessage("You are terse.")], "only a system message"),
    "lone surrogate": ("caf\ud800e", "lone surrogate '\\ud800' at character 3"),
    "unknown block": (
        [HumanMessage(content=[{"type": "hologram", "data": "x"}])],
        "type 'hologram'",
    ),
    "beyond the window": ("x" * 4_300_000, "beyond the lanes' input window of 1,048,576"),
}


def _call(router: Any, how: str, value: Any) -> None:
    if how == "invoke":
        router.invoke(value)
    elif how == "stream":
        list(router.stream(value))
    elif how == "ainvoke":
        asyncio.run(router.ainvoke(value))
    else:

        async def drain() -> None:
            async for _ in router.astream(value):
                pass

        asyncio.run(drain())


@pytest.mark.parametrize("how", ["invoke", "ainvoke", "stream", "astream"])
@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_refused_before_any_request(sim: GeminiSimulator, name: str, how: str) -> None:
    value, message = BAD_INPUTS[name]
    router = live_router(sim)
    with pytest.raises(UnsupportedInputError, match=re.escape(message)):
        _call(router, how, value)
    assert sim.requests == []


def test_a_prompt_within_a_raised_window_is_sent(sim: GeminiSimulator) -> None:
    router = live_router(sim, config=RouterConfig(max_prompt_tokens=5, text_rules=False))
    with pytest.raises(UnsupportedInputError, match="about 6 tokens"):
        router.invoke("y" * 24)
    assert sim.requests == []
    router.invoke("y" * 20)  # 5 tokens: within the window
    assert len(sim.requests) >= 1


def test_an_assistant_history_keeps_its_provider_blocks(sim: GeminiSimulator) -> None:
    from langchain_core.messages import AIMessage

    history = [
        HumanMessage("What is 2 + 2?"),
        AIMessage(content=[{"type": "tool_use", "id": "1", "name": "add", "input": {}}]),
        HumanMessage("And 3 + 3?"),
    ]
    answer = live_router(sim).invoke(history)
    assert answer.text
