"""A scripted Gemini backend for the loopback runs (``GeminiSimulator`` responder).

The classifier call (recognised by its response schema) scores a request HARD when
its latest message mentions "riddle", else EASY; each lane answers with fixed token
counts, so the exact cost of every HTTP request can be computed independently.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from benchmarks.common import lane_cost
from benchmarks.fakes import LITE, PRO, PRO_TOOLS
from lc_gemini_router.classify.classifier import wire_answer
from lc_gemini_router.classify.prompt import read_classifier_input
from lc_gemini_router.testing.simulator import SimReply, SimRequest

__all__ = ["CLASSIFIER_TOKENS", "LANE_TOKENS", "expected_cost", "is_classifier", "respond"]

CLASSIFIER_TOKENS = (150, 12)
LANE_TOKENS = {LITE: (500, 100, 0), PRO: (500, 100, 300), PRO_TOOLS: (800, 60, 200)}
EASY: dict[str, Any] = {"difficulty": 0.1, "needs_tools": False, "category": "chat"}
HARD: dict[str, Any] = {"difficulty": 0.9, "needs_tools": False, "category": "reasoning"}


def is_classifier(request: SimRequest) -> bool:
    schema = request.response_schema
    return schema is not None and "difficulty" in json.dumps(schema)


def respond(request: SimRequest) -> SimReply:
    if is_classifier(request):
        latest = read_classifier_input(request.last_user_text)[0].lower()
        prompt, output = CLASSIFIER_TOKENS
        score = HARD if "riddle" in latest else EASY
        return SimReply(json=wire_answer(**score), prompt_tokens=prompt, output_tokens=output)
    prompt, output, thinking = LANE_TOKENS[request.model]
    return SimReply(
        text=f"{request.model} answers",
        prompt_tokens=prompt,
        output_tokens=output,
        thinking_tokens=thinking,
    )


def expected_cost(request: SimRequest) -> Decimal:
    if is_classifier(request):
        return lane_cost(request.model, *CLASSIFIER_TOKENS)
    prompt, output, thinking = LANE_TOKENS[request.model]
    return lane_cost(request.model, prompt, output + thinking)
