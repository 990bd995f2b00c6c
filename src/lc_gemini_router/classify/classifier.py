"""The router's classifier step: three decision questions about a request, one call.

The router asks its :class:`~lc_gemini_router.GeminiDecisionModel` (see
:data:`ROUTER_QUESTIONS`) how hard the request is (a ``Score`` on five levels), whether
it needs several tool rounds (a ``Noul``) and what kind of work it is (a ``Choice``),
and turns the answers into a :class:`~lc_gemini_router.ClassifierScore`:
``difficulty`` = expected level / 4 (so 0..1, as ``escalation_threshold`` expects),
``needs_tools`` = the chance of yes is at least 50%, ``category`` = the most likely.

Its input is the router's facts (bound tools, tool rounds of this turn) and the
conversation, as bounded JSON data (:func:`~lc_gemini_router.classify.prompt.router_state`).
The score cache, circuit breaker and deadline are the router's
(:func:`~lc_gemini_router.classify.guard.guarded`); the call is one decision-model run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.decisions import Choice, ClassifierResponse, Noul, Question, Score
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.runnables import RunnableConfig

from lc_gemini_router.classify.decision_model import GeminiDecisionModel, classifier_prompt
from lc_gemini_router.classify.guard import CIRCUIT_OPEN, guarded
from lc_gemini_router.classify.prompt import CLASSIFIER_INSTRUCTION, render_classifier_input
from lc_gemini_router.classify.prompt import router_state as router_data
from lc_gemini_router.config import CATEGORIES, ClassifierSettings
from lc_gemini_router.engine import Classify, Effect, State
from lc_gemini_router.errors import ClassifierError
from lc_gemini_router.routing.policy import ClassifierScore
from lc_gemini_router.state import Breaker, CircuitBreaker, ScoreCache, ScoreStore, score_key

__all__ = [
    "CLASSIFIER_INSTRUCTION",
    "DIFFICULTY_LEVELS",
    "IMAGE_QUESTIONS",
    "ROUTER_QUESTIONS",
    "Classifier",
    "ClassifierOutcome",
    "render_classifier_input",
    "score_of",
    "wire_answer",
]

DIFFICULTY_LEVELS: tuple[str, ...] = (
    "small talk, translation, extraction, labelling, formatting, a short summary",
    "a simple factual answer, a lookup, routine writing",
    "an explanation or text that needs some reasoning",
    "multi-step reasoning, maths, non-trivial code",
    "proofs, hard algorithms, large or risky engineering: mistakes are costly",
)
"""The difficulty rubric, level 0 to 4."""

ROUTER_QUESTIONS: dict[str, Question] = {
    "difficulty": Score(
        instructions="How hard is the latest request for a small, cheap model?",
        criteria=list(DIFFICULTY_LEVELS),
    ),
    "needs_tools": Noul(instructions="Will answering it take several rounds of tool calls?"),
    "category": Choice(instructions="What kind of work is it?", criteria=dict.fromkeys(CATEGORIES)),
}
"""What the router asks its decision model about every request the rules leave open."""

IMAGE_QUESTIONS: dict[str, Question] = {
    **ROUTER_QUESTIONS,
    "wants_image": Noul(instructions="Does it ask for an image to be generated or drawn?"),
}
"""The router's questions when it has a lane of kind ``image``: one more, so the
classifier can send a request for a picture there."""

_TOP_LEVEL = len(DIFFICULTY_LEVELS) - 1


def score_of(response: ClassifierResponse) -> ClassifierScore:
    """The router's score from the answers to :data:`ROUTER_QUESTIONS`.

    Example:
        >>> from langchain_core.decisions import ClassifierResponse
        >>> from lc_gemini_router.classify.questions import parse_reply
        >>> import json
        >>> reply = json.dumps(wire_answer(0.9, False, "reasoning"))
        >>> answers = parse_reply(reply, ROUTER_QUESTIONS)
        >>> score_of(ClassifierResponse(model="m", answers=answers))
        ClassifierScore(difficulty=0.9, needs_tools=False, category='reasoning')
    """
    try:
        level = response.scores["difficulty"].score
        tools = response.nouls["needs_tools"].noul
        category = response.choices["category"].choice
        image = response.nouls["wants_image"].noul if "wants_image" in response.answers else 0.0
    except KeyError as exc:
        msg = f"the router's question {exc.args[0]!r} has no answer"
        raise ClassifierError(msg) from None
    # Rounded: stated percentages carry no more precision than this.
    difficulty = round(level / _TOP_LEVEL, 4)
    # The labels are the categories (ROUTER_QUESTIONS): validation cannot fail here.
    return ClassifierScore.model_validate(
        {
            "difficulty": difficulty,
            "needs_tools": tools >= 0.5,
            "category": category,
            "wants_image": image >= 0.5,
        }
    )


def wire_answer(
    difficulty: float, needs_tools: bool, category: str, wants_image: bool | None = None
) -> dict[str, Any]:
    """The reply a classifier gives for a score: what test doubles and the demo answer.

    ``difficulty`` is spread over the two nearest levels so that :func:`score_of`
    gives it back exactly (to 0.0001).

    Example:
        >>> wire_answer(0.9, False, "reasoning")
        {'difficulty': {'3': 40, '4': 60}, 'needs_tools': 0, 'category': {'reasoning': 100}}
    """
    position = min(max(difficulty, 0.0), 1.0) * _TOP_LEVEL
    low = min(int(position), _TOP_LEVEL - 1)
    high_share = round((position - low) * 100)
    levels = {str(low): 100 - high_share, str(low + 1): high_share}
    answer: dict[str, Any] = {
        "difficulty": {level: share for level, share in levels.items() if share},
        "needs_tools": 100 if needs_tools else 0,
        "category": {category: 100},
    }
    if wants_image is not None:  # asked only of a router with an image lane
        answer["wants_image"] = 100 if wants_image else 0
    return answer


@dataclass(frozen=True)
class ClassifierOutcome:
    """The result of one classification attempt."""

    score: ClassifierScore | None
    error: str | None = None
    """Why there is no score (bounded): ``"timeout after 2.0s"``, the circuit, the error."""
    raw: AIMessage | None = None
    """The call's model name and ``usage_metadata`` (no reply text: it is not kept)."""
    input_chars: int = 0
    cached: bool = False
    """The score came from the cache: no classifier call was made."""


class Classifier:
    """The router's classifier step over a :class:`GeminiDecisionModel`.

    The scoring is :meth:`flow`, a pipeline step that yields its I/O (the cache, the
    breaker, the decision-model call) to the router's driver, so it runs the same
    under ``invoke`` and ``ainvoke``.

    Args:
        model: the classifier chat model (Flash-Lite, minimal thinking, temperature 0).
        settings: deadline, input bound, circuit breaker, cache.
        cache: a shared score store; by default an in-memory :class:`ScoreCache` sized
            by ``settings`` (none when ``settings.cache_size`` is 0).
        breaker: a shared breaker; by default a :class:`CircuitBreaker` from ``settings``.
        clock: time source of the default cache and breaker.
    """

    def __init__(
        self,
        model: BaseChatModel,
        settings: ClassifierSettings,
        *,
        cache: ScoreStore | None = None,
        breaker: Breaker | None = None,
        clock: Callable[[], float] = time.monotonic,
        questions: Mapping[str, Question] = ROUTER_QUESTIONS,
    ) -> None:
        self.model = model
        self.questions = dict(questions)
        self.settings = settings
        self.breaker: Breaker = breaker or CircuitBreaker(
            settings.failure_threshold, settings.cooldown_seconds, clock
        )
        self.cache: ScoreStore | None = cache
        if cache is None and settings.cache_size > 0:
            self.cache = ScoreCache(settings.cache_size, settings.cache_ttl_seconds, clock)
        # The router's guards are the ones above: the decision model's own stay unused.
        self.decision_model = GeminiDecisionModel(llm=model, settings=settings)
        self._model_id = self.decision_model.model
        # Scores of another question set must not be read from a shared cache.
        extra = sorted(set(self.questions) - set(ROUTER_QUESTIONS))
        self._key_model = "+".join([self._model_id, *extra])

    def prompt(
        self, messages: Sequence[BaseMessage], tool_names: Sequence[str]
    ) -> list[BaseMessage]:
        """The two messages sent to the classifier model."""
        return classifier_prompt(router_data(messages, tool_names, self.settings))

    def key(self, prompt: Sequence[BaseMessage]) -> str:
        """The score store key of a prompt made by :meth:`prompt`."""
        return score_key(self._key_model, str(prompt[-1].content))

    def flow(
        self,
        messages: Sequence[BaseMessage],
        tool_names: Sequence[str],
        config: RunnableConfig,
        prompt: list[BaseMessage] | None = None,
    ) -> Generator[Effect, Any, ClassifierOutcome]:
        """Score one request: a cached score, or one call within the deadline."""
        prompt = prompt or self.prompt(messages, tool_names)
        text = str(prompt[-1].content)
        chars = len(text)
        key = self.key(prompt) if self.cache is not None else ""
        data = json.loads(text)  # the bounded data the prompt was made from
        traced = self.decision_model.traced({"state": data, "questions": self.questions})
        call = Classify(traced, prompt, config, self.settings.deadline_seconds)
        responses: list[ClassifierResponse] = []

        def accept(response: Any) -> ClassifierScore:
            responses.append(response)
            return score_of(response)

        outcome = yield from guarded(self.cache, self.breaker, key, call, accept)
        if outcome.cached:
            return ClassifierOutcome(outcome.value, input_chars=chars, cached=True)
        usage, model = outcome.usage, outcome.model
        if responses:
            usage, model = responses[0].usage, responses[0].model
        raw = None
        if usage is not None:
            raw = AIMessage(
                content="",
                usage_metadata=cast("UsageMetadata", usage),
                response_metadata={"model_name": model or self._model_id},
            )
        sent = 0 if outcome.error == CIRCUIT_OPEN else chars
        return ClassifierOutcome(outcome.value, outcome.error, raw, sent)

    def is_cached(self, prompt: list[BaseMessage]) -> Generator[Effect, Any, bool]:
        """Whether the score of ``prompt`` is cached (a call would cost nothing)."""
        if self.cache is None:
            return False
        return bool((yield State(self.cache, "peek", (self.key(prompt),))))
