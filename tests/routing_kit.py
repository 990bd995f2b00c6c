"""A deterministic Gemini backend for router tests: classifier scores and lane replies."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from langchain_core.tracers.base import BaseTracer
from langchain_core.tracers.schemas import Run

from lc_gemini_router import GeminiRouter, RouterConfig
from lc_gemini_router.classify.classifier import wire_answer
from lc_gemini_router.classify.prompt import read_classifier_input
from lc_gemini_router.testing.simulator import GeminiSimulator, SimReply, SimRequest

LITE = "gemini-3.1-flash-lite"
PRO = "gemini-3.1-pro-preview"
PRO_TOOLS = "gemini-3.1-pro-preview-customtools"
IMAGE = "gemini-3.1-flash-image"

EASY = {"difficulty": 0.1, "needs_tools": False, "category": "translation"}
HARD = {"difficulty": 0.9, "needs_tools": False, "category": "reasoning"}

MILLION = Decimal(1_000_000)
RATES = {  # standard input / output per 1M, <= 200k prompt
    LITE: (Decimal("0.25"), Decimal("1.50")),
    PRO: (Decimal("2.00"), Decimal("12.00")),
    PRO_TOOLS: (Decimal("2.00"), Decimal("12.00")),
}


def cost(model: str, prompt: int, output: int) -> Decimal:
    rate_in, rate_out = RATES[model]
    return (prompt * rate_in + output * rate_out) / MILLION


def is_classifier(request: SimRequest) -> bool:
    schema = request.response_schema
    return schema is not None and "difficulty" in json.dumps(schema)


@dataclass
class Backend:
    """Classifier: HARD when the latest message mentions "riddle", else EASY.

    Lanes: ``(prompt, output, thinking)`` tokens per model; with tools bound they
    call the first tool until the turn has ``tool_rounds`` results, then answer.
    """

    classifier_tokens: tuple[int, int] = (150, 12)
    lane_tokens: dict[str, tuple[int, int, int]] = field(
        default_factory=lambda: {
            LITE: (500, 100, 0),
            PRO: (500, 100, 300),
            PRO_TOOLS: (800, 60, 200),
            IMAGE: (40, 10, 0),
        }
    )
    tool_rounds: int = 0
    scores: dict[str, dict[str, Any]] = field(default_factory=lambda: {"riddle": HARD})

    def __call__(self, request: SimRequest) -> SimReply:
        if is_classifier(request):
            latest = read_classifier_input(request.last_user_text)[0].lower()
            score = next((s for word, s in self.scores.items() if word in latest), EASY)
            prompt, output = self.classifier_tokens
            return SimReply(json=wire_answer(**score), prompt_tokens=prompt, output_tokens=output)
        prompt, output, thinking = self.lane_tokens[request.model]
        if request.response_schema is not None:  # structured output: schema-valid JSON
            return SimReply(prompt_tokens=prompt, output_tokens=output)
        if request.has_tools and request.tool_rounds < self.tool_rounds:
            call = (request.tool_names[0], {"query": f"round {request.tool_rounds}"})
            return SimReply(
                function_calls=[call],
                prompt_tokens=prompt,
                output_tokens=output,
                thinking_tokens=thinking,
            )
        return SimReply(
            text=f"{request.model} answers",
            prompt_tokens=prompt,
            output_tokens=output,
            thinking_tokens=thinking,
        )

    def answer_cost(self, model: str) -> Decimal:
        prompt, output, thinking = self.lane_tokens[model]
        return cost(model, prompt, output + thinking)

    @property
    def classifier_cost(self) -> Decimal:
        return cost(LITE, *self.classifier_tokens)


def live_router(sim: GeminiSimulator, **kwargs: Any) -> GeminiRouter:
    """A router whose lanes are real ChatGoogleGenerativeAI clients on the simulator."""
    config = kwargs.pop("config", RouterConfig())
    return GeminiRouter(
        config=config, api_key="test", base_url=sim.base_url, max_retries=1, **kwargs
    )


class CaptureTracer(BaseTracer):
    """A LangChain tracer that keeps the root runs it would send (to LangSmith, say)."""

    def __init__(self) -> None:
        super().__init__()
        self.roots: list[Run] = []

    def _persist_run(self, run: Run) -> None:
        self.roots.append(run)
