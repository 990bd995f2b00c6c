"""The simulated Gemini: a keyword classifier and lane answers with realistic token counts.

:func:`simulated_responder` is the responder the offline backend
(:func:`~lc_gemini_router.tools.backend.gemini_backend`) gives its
:class:`~lc_gemini_router.testing.simulator.GeminiSimulator`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lc_gemini_router.classify.classifier import wire_answer
from lc_gemini_router.classify.prompt import read_classifier_input
from lc_gemini_router.config import Category
from lc_gemini_router.testing.simulator import Responder, SimReply, SimRequest

__all__ = ["simulated_responder"]


@dataclass(frozen=True)
class _Cue:
    """Words that mark a kind of request, and what Flash-Lite would score it."""

    category: Category
    difficulty: float
    pattern: re.Pattern[str]
    needs_tools: bool = False


def _cue(category: Category, difficulty: float, words: str, needs_tools: bool = False) -> _Cue:
    return _Cue(category, difficulty, re.compile(rf"\b(?:{words})\b", re.IGNORECASE), needs_tools)


# Strong cues name the task itself: the earliest one in the text wins, so
# "Translate this proof" is translation and "Prove ..., then summarize" is reasoning.
_STRONG_CUES = (
    _cue(
        "agentic",
        0.75,
        r"find out why|investigate|use the tools|using the tools|search the docs|"
        r"run the tests|look through the repo",
        needs_tools=True,
    ),
    _cue("reasoning", 0.9, r"prove|proof|theorem|lemma|derive|olympiad|by induction"),
    _cue(
        "coding",
        0.8,
        r"debug|bugs?|refactor|traceback|stack trace|race condition|deadlock|memory leak|"
        r"segfault",
    ),
    _cue("coding", 0.65, r"implement|write an? (?:\w+ )?(?:function|class|script|program)"),
    _cue("reasoning", 0.7, r"analy[sz]e|trade-?offs?|root cause|carefully|risk assessment"),
    _cue(
        "translation",
        0.05,
        r"translate|translation|into (?:french|german|spanish|italian|japanese|chinese|"
        r"portuguese|english|dutch|korean)",
    ),
    _cue("extraction", 0.15, r"extract|pull out|list (?:all|the) (?:names|dates|emails|fields)"),
    _cue("classification", 0.1, r"classify|label|categori[sz]e|sentiment"),
    _cue("summarization", 0.2, r"summari[sz]e|summary|tl;?dr|key points"),
)
# Weak cues count only when no strong cue matches: "Hi! Prove ..." is a proof.
_WEAK_CUES = (
    _cue("coding", 0.35, r"rename|docstring|add (?:a )?comments?|format (?:this|the) code"),
    _cue("reasoning", 0.4, r"explain|why|how does|how do"),
    _cue("chat", 0.05, r"hi|hello|hey|thanks|thank you|good morning|how are you"),
)
_DEFAULT_SCORE: tuple[Category, float, bool] = ("chat", 0.3, False)
"""What Flash-Lite answers for a request no cue describes."""

# Visible output tokens of a final answer, by category (translation follows its source).
_OUTPUT_TOKENS: dict[str, int] = {
    "extraction": 60,
    "classification": 20,
    "summarization": 120,
    "chat": 40,
    "coding": 450,
    "reasoning": 600,
    "agentic": 250,
}
_MEDIUM_OUTPUT_TOKENS = 200
"""Visible output of reasoning or coding work that is not hard (an explanation, a rename)."""
_HARD_DIFFICULTY = 0.6
# Thinking tokens of a final answer on Pro; Flash-Lite thinks only a little, on hard work.
_PRO_THINKING: dict[str, int] = {"reasoning": 1800, "coding": 1200, "agentic": 800}
_PRO_THINKING_EASY = 200
_LITE_THINKING_HARD = 120
_HARD_CATEGORIES = frozenset({"reasoning", "coding", "agentic"})
_TOOL_STEP_THINKING = {"pro": 400, "lite": 0}
_CLASSIFIER_OUTPUT_TOKENS = 15
_TOOL_ROUNDS = 2
"""Tool rounds the simulated model runs in a turn before it answers."""

_ACTIONS: dict[str, str] = {
    "translation": "Translated the text, keeping its tone and formatting.",
    "extraction": "Extracted the requested fields into a short structured list.",
    "classification": "Labeled the input with one of the requested classes.",
    "summarization": "Summarized the text in three short points.",
    "chat": "Replied briefly and conversationally.",
    "coding": "Found the defect, explained the fix and returned the refactored code.",
    "reasoning": "Worked through the problem step by step and wrote out the full argument.",
    "agentic": "Planned the steps and reported what the tools found.",
}


def _tokens(text: str) -> int:
    """About four characters per token, as Gemini counts English text."""
    return max(1, math.ceil(len(text) / 4))


def _score(text: str) -> tuple[Category, float, bool]:
    """Category, difficulty and needs_tools that Flash-Lite would give ``text``."""
    for cues in (_STRONG_CUES, _WEAK_CUES):
        hits = [(m.start(), i, c) for i, c in enumerate(cues) if (m := c.pattern.search(text))]
        if hits:
            _, _, cue = min(hits, key=lambda hit: (hit[0], hit[1]))
            return cue.category, cue.difficulty, cue.needs_tools
    return _DEFAULT_SCORE


def _classifier_text(request: SimRequest) -> tuple[str, str]:
    """The latest user message and the earlier context from a classifier request."""
    return read_classifier_input(request.last_user_text)


def _is_classifier(request: SimRequest) -> bool:
    schema = request.response_schema
    text = json.dumps(schema) if schema is not None else ""
    return "difficulty" in text and "needs_tools" in text


def _classify(request: SimRequest) -> SimReply:
    latest, earlier = _classifier_text(request)
    category, difficulty, needs_tools = _score(latest)
    # A bare follow-up ("yes, do it") has the difficulty of the plan it approves.
    if (category, difficulty, needs_tools) == _DEFAULT_SCORE and earlier.strip():
        category, difficulty, needs_tools = _score(f"{earlier}\n{latest}")
    return SimReply(
        json=wire_answer(difficulty, needs_tools, category),
        prompt_tokens=_tokens(request.prompt_text),
        output_tokens=_CLASSIFIER_OUTPUT_TOKENS,
    )


_PATH_IN_TEXT = re.compile(r"[\w./-]+\.(?:py|md|toml|txt|json|yaml|yml|cfg|ini|js|ts|rs|go)\b")


def _argument(name: str, schema: Mapping[str, Any], text: str) -> Any:
    """A plausible value for one tool parameter, taken from the user's request."""
    kind = str(schema.get("type", "string")).lower()
    if kind in ("integer", "number"):
        return 20
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    lowered = name.lower()
    if any(word in lowered for word in ("path", "file", "selection", "target")):
        found = _PATH_IN_TEXT.search(text)
        return found.group(0) if found else "README.md"
    # A query: the request's first clause ("Find out why the nightly build fails").
    return re.split(r"[:\n]|\.\s", text.strip(), maxsplit=1)[0][:80]


def _arguments(declaration: Mapping[str, Any], text: str) -> dict[str, Any]:
    params = declaration.get("parameters") or declaration.get("parametersJsonSchema") or {}
    properties: Mapping[str, Any] = params.get("properties") or {}
    required = set(params.get("required") or properties)
    return {
        name: _argument(name, schema, text)
        for name, schema in properties.items()
        if name in required
    }


def _tool_calls(request: SimRequest, rounds: int, text: str) -> list[tuple[str, dict[str, Any]]]:
    """Round 0 calls the first tool; round 1 calls the remaining ones in parallel."""
    declarations = request.function_declarations
    chosen = declarations[:1] if rounds == 0 else declarations[1:3] or declarations[:1]
    return [(str(d.get("name")), _arguments(d, text)) for d in chosen]


def _answer_text(request: SimRequest, category: str, difficulty: float) -> str:
    action = _ACTIONS[category]
    used = sorted({str(r.get("name")) for r in request.function_responses})
    if used:
        action = f"Called {', '.join(used)} and summarized what they returned."
    return (
        f"[simulated {request.model}] {action} "
        f"(category {category}, difficulty {difficulty:.2f}; no real model was called)"
    )


def _answer(request: SimRequest) -> SimReply:
    user_text = request.last_user_text
    category, difficulty, _ = _score(user_text)
    tier = "pro" if "pro" in request.model.lower() else "lite"
    prompt = _tokens(request.prompt_text)
    if request.response_schema is not None:
        # Structured output: the simulator writes schema-valid JSON and counts it.
        thinking = _PRO_THINKING_EASY if tier == "pro" else 0
        return SimReply(prompt_tokens=prompt, thinking_tokens=thinking)
    rounds = request.tool_rounds
    if request.function_declarations and rounds < _TOOL_ROUNDS:
        return SimReply(
            function_calls=_tool_calls(request, rounds, user_text),
            prompt_tokens=prompt,
            thinking_tokens=_TOOL_STEP_THINKING[tier],
        )
    hard = category in _HARD_CATEGORIES and difficulty >= _HARD_DIFFICULTY
    if tier == "pro":
        thinking = _PRO_THINKING[category] if hard else _PRO_THINKING_EASY
    else:
        thinking = _LITE_THINKING_HARD if hard else 0
    if category == "translation":
        output = _tokens(user_text)
    elif category in _HARD_CATEGORIES and not hard:
        output = _MEDIUM_OUTPUT_TOKENS
    else:
        output = _OUTPUT_TOKENS[category]
    return SimReply(
        text=_answer_text(request, category, difficulty),
        prompt_tokens=prompt,
        output_tokens=output,
        thinking_tokens=thinking,
    )


def simulated_responder() -> Responder:
    """How the simulated Gemini answers: deterministic, with realistic token counts.

    Classifier requests (a response schema with ``difficulty``) are scored with
    keyword heuristics that mimic Flash-Lite: translation, extraction, labeling,
    summaries and chit-chat score low; proofs, debugging and careful analysis
    high; multi-step work with tools is ``agentic`` with ``needs_tools``.

    Lane requests get a short text saying what the model did, with output tokens
    by category (translation ~ its source, extraction 60, summary 120, chat 40,
    coding 450, reasoning 600), thinking tokens on Pro (800-1,800 for hard work)
    and few or none on Flash-Lite. With tools bound, the model calls them for two
    rounds (first tool, then the others in parallel) before answering. Structured
    output gets token counts only; the simulator fills schema-valid JSON.

    Returns:
        A responder for :class:`~lc_gemini_router.testing.simulator.GeminiSimulator`.

    Example:
        >>> from lc_gemini_router.tools.simulated import simulated_responder
        >>> from lc_gemini_router.testing.simulator import GeminiSimulator
        >>> from langchain_google_genai import ChatGoogleGenerativeAI
        >>> with GeminiSimulator(responder=simulated_responder()) as sim:
        ...     llm = ChatGoogleGenerativeAI(
        ...         model="gemini-3.1-pro-preview", google_api_key="k",
        ...         base_url=sim.base_url, api_version="v1beta",
        ...     )
        ...     reply = llm.invoke("Prove that there are infinitely many primes.")
        >>> reply.usage_metadata["output_token_details"]["reasoning"]
        1800
    """

    def respond(request: SimRequest) -> SimReply:
        return _classify(request) if _is_classifier(request) else _answer(request)

    return respond
