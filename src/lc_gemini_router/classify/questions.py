"""Decision questions on the wire: the response schema Gemini fills, and what its reply means.

One JSON schema holds every question of a request (``responseJsonSchema``, so Gemini's
structured output guarantees the shape). The classifier states integer percentages:

* ``Noul``: one integer, the percent chance of yes;
* ``Choice``: an object with one optional integer per label (a label left out is 0);
* ``Score``: the same, one per rubric level ``"0"``, ``"1"``, ...

How answers are derived from those percentages (the numbers mean what they say):

* probabilities are the stated percentages normalised to sum to 1 (a reply of
  ``{"a": 70, "b": 20}`` is a=0.78, b=0.22, the rest 0). They are the model's own
  stated odds, not frequencies: calibrate thresholds on your traffic
  (``lc-gemini-router calibrate``);
* ``ChoiceAnswer.choice`` is the most probable label (ties: the first in the
  question's order) and its ``confidence`` that label's probability;
* ``ScoreAnswer.score`` is the expected level, ``sum(level * p)``; its ``confidence``
  is ``1 - sd / sd_max``, where ``sd`` is the spread of the distribution and
  ``sd_max = (levels - 1) / 2`` the largest possible (half the mass on each end):
  1 when all the mass is on one level, 0 when it is split between the extremes;
* ``NoulAnswer.noul`` is the stated percent of yes / 100.

A reply that is too long, not JSON, misses a question or has a number out of range is
a :class:`ReplyError` (the call failed; its usage is still priced).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from langchain_core.decisions import (
    Answer,
    Box,
    Choice,
    ChoiceAnswer,
    Noul,
    NoulAnswer,
    Question,
    Score,
    ScoreAnswer,
)

from lc_gemini_router.classify.prompt import MAX_REPLY_CHARS, bounded, encode
from lc_gemini_router.errors import ClassifierError, UnsupportedInputError

__all__ = ["ReplyError", "check_questions", "parse_reply", "response_schema"]

_PERCENT = {"type": "integer", "minimum": 0, "maximum": 100}
_MEDIA_TYPES = frozenset({"image", "image_url", "audio", "video", "file", "media"})


class ReplyError(ClassifierError):
    """The classifier's reply is unusable (too long, not JSON, off the schema)."""


def _describe(content: Any) -> str:
    """A question's instructions or criteria as schema description text."""
    if _has_media(content):
        msg = "media in decision questions is not supported by GeminiDecisionModel"
        raise UnsupportedInputError(msg)
    if content is None:
        return ""
    return content if isinstance(content, str) else encode(content)


def _has_media(content: Any) -> bool:
    if isinstance(content, Mapping):
        if content.get("type") in _MEDIA_TYPES:
            return True
        return any(_has_media(v) for v in content.values())
    if isinstance(content, list):
        return any(_has_media(v) for v in content)
    return False


def check_questions(questions: Mapping[str, Question]) -> None:
    """Raise :class:`UnsupportedInputError` for what cannot be asked (before any call)."""
    if not questions:
        msg = "a decision request needs at least one question"
        raise UnsupportedInputError(msg)
    for name, question in questions.items():
        if isinstance(question, Box):
            msg = f"question {name!r}: Box (image localisation) is not supported by Gemini here"
            raise UnsupportedInputError(msg)
        if not isinstance(question, (Choice, Score, Noul)):
            msg = f"question {name!r}: unknown question type {type(question).__name__}"
            raise UnsupportedInputError(msg)


def _options(description: str, options: Mapping[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for key, criterion in options.items():
        text = _describe(criterion)
        properties[key] = {**_PERCENT, "description": text} if text else dict(_PERCENT)
    return {"type": "object", "description": description, "properties": properties}


def response_schema(questions: Mapping[str, Question]) -> dict[str, Any]:
    """The JSON schema of the reply: one property per question, all required.

    Example:
        >>> from langchain_core.decisions import Noul
        >>> response_schema({"urgent": Noul(instructions="Is it urgent?")})["properties"]
        {'urgent': {'type': 'integer', 'minimum': 0, 'maximum': 100, 'description': \
'Is it urgent? Percent chance of yes.'}}
    """
    check_questions(questions)
    properties: dict[str, Any] = {}
    for name, question in questions.items():
        text = _describe(question.instructions)
        if isinstance(question, Noul):
            criteria = question.criteria
            if criteria is not None and (criteria.true is not None or criteria.false is not None):
                yes, no = _describe(criteria.true), _describe(criteria.false)
                text += f" Yes means: {yes}. No means: {no}."
            properties[name] = {**_PERCENT, "description": f"{text} Percent chance of yes."}
        elif isinstance(question, Choice):
            properties[name] = _options(f"{text} Percent per label.", question.criteria)
        else:
            assert isinstance(question, Score)
            levels = {str(i): c for i, c in enumerate(question.criteria)}
            properties[name] = _options(f"{text} Percent per level.", levels)
    return {"type": "object", "properties": properties, "required": list(questions)}


def _percent(value: Any, where: str) -> float:
    # bool is an int in Python; true/false is not a percentage.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ReplyError(bounded(f"{where}: expected a percentage, got {type(value).__name__}"))
    if not 0 <= value <= 100:
        raise ReplyError(bounded(f"{where}: percentage {value!r} is outside 0..100"))
    return float(value)


def _weights(value: Any, keys: list[str], where: str) -> list[float]:
    if not isinstance(value, Mapping):
        raise ReplyError(bounded(f"{where}: expected an object of percentages"))
    # Keys the schema does not name are ignored: they are not options.
    weights = [_percent(value[k], f"{where}.{k}") if k in value else 0.0 for k in keys]
    if sum(weights) <= 0:
        raise ReplyError(bounded(f"{where}: no option got any weight"))
    return weights


def _answer(name: str, question: Question, value: Any) -> Answer:
    if isinstance(question, Noul):
        return NoulAnswer(type="noul", noul=_percent(value, name) / 100)
    if isinstance(question, Choice):
        labels = list(question.criteria)
        weights = _weights(value, labels, name)
        total = sum(weights)
        probabilities = {label: w / total for label, w in zip(labels, weights, strict=True)}
        best = max(range(len(labels)), key=lambda i: (weights[i], -i))
        choice = labels[best]
        return ChoiceAnswer(
            type="choice",
            choice=choice,
            probabilities=probabilities,
            confidence=probabilities[choice],
        )
    assert isinstance(question, Score)
    levels = len(question.criteria)
    weights = _weights(value, [str(i) for i in range(levels)], name)
    total = sum(weights)
    # One division of integer-valued sums: 40% at 0 and 60% at 1 is exactly 0.6.
    mean = sum(i * w for i, w in enumerate(weights)) / total
    spread = math.sqrt(max(sum(w * (i - mean) ** 2 for i, w in enumerate(weights)) / total, 0.0))
    confidence = min(max(1 - spread / ((levels - 1) / 2), 0.0), 1.0)
    return ScoreAnswer(
        type="score",
        score=mean,
        legend=dict(enumerate(question.criteria)),
        probabilities={i: w / total for i, w in enumerate(weights)},
        confidence=confidence,
    )


def parse_reply(text: str, questions: Mapping[str, Question]) -> dict[str, Answer]:
    """Answers from the classifier's reply text, or :class:`ReplyError`.

    The reply is read only up to :data:`~lc_gemini_router.classify.prompt.MAX_REPLY_CHARS`;
    no part of it is copied into the error.
    """
    if len(text) > MAX_REPLY_CHARS:
        msg = f"classifier reply too long ({len(text):,} characters > {MAX_REPLY_CHARS:,})"
        raise ReplyError(msg)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReplyError(bounded(f"classifier reply is not JSON: {exc.msg}")) from None
    if not isinstance(data, Mapping):
        raise ReplyError("classifier reply is not a JSON object")
    answers: dict[str, Answer] = {}
    for name, question in questions.items():
        if name not in data:
            raise ReplyError(bounded(f"classifier reply has no answer for {name!r}"))
        answers[name] = _answer(name, question, data[name])
    return answers
