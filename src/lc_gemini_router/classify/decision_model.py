"""GeminiDecisionModel: the Flash-Lite classifier as a LangChain decision model.

It answers ``Choice``, ``Score`` and ``Noul`` questions (``langchain_core.decisions``)
with one structured-output call (Gemini's JSON schema) on a model set to its least
thinking, temperature 0. Around that call it keeps the router's guards: a score
cache, a circuit breaker and a deadline (:func:`~lc_gemini_router.classify.guard.guarded`).
The state is shown as bounded JSON data (:mod:`~lc_gemini_router.classify.prompt`),
and how answers and confidences are derived is in
:mod:`~lc_gemini_router.classify.questions`.

The call is one traced run of type ``llm`` (not a chat-model run), tagged ``nostream``
and marked with the classifier role; the Gemini request is made inline, so the run
is the only one and :class:`~lc_gemini_router.GeminiCostCallbackHandler` prices its
usage (``ClassifierResponse.usage``) once, as classifier spend. A cached answer makes
no call and no run, and carries no usage.

Example:
    >>> from langchain_core.decisions import Choice
    >>> from lc_gemini_router import GeminiDecisionModel
    >>> decider = GeminiDecisionModel(api_key="...")
    >>> decider.model
    'gemini-3.1-flash-lite'
    >>> answer = decider.invoke({  # doctest: +SKIP
    ...     "state": "Stripe fails whenever I connect my account.",
    ...     "questions": {"team": Choice(instructions="Which team handles this?",
    ...                                  criteria={"billing": "payments", "technical": "bugs"})},
    ... }).choices["team"]
    >>> answer.choice, answer.confidence  # doctest: +SKIP
    ('technical', 0.8)
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from langchain_core.decisions import (
    BaseDecisionModel,
    ClassifierRequest,
    ClassifierResponse,
    Question,
)
from langchain_core.decisions import State as DecisionState
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import ensure_config
from langchain_core.utils import secret_from_env
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, ValidationError

from lc_gemini_router.api_versions import lane_api_version
from lc_gemini_router.classify.cache import ResponseCache
from lc_gemini_router.classify.guard import guarded
from lc_gemini_router.classify.prompt import (
    CLASSIFIER_INSTRUCTION,
    MAX_NAME_CHARS,
    bounded,
    encode,
    fit_state,
)
from lc_gemini_router.classify.questions import (
    ReplyError,
    check_questions,
    parse_reply,
    response_schema,
)
from lc_gemini_router.config import ClassifierSettings
from lc_gemini_router.engine import Admission, Classify, adrive, aresult_of, drive, result_of
from lc_gemini_router.errors import ClassifierError, ConfigError
from lc_gemini_router.keys import CLASSIFIER_TAG, ROLE_CLASSIFIER, ROLE_METADATA_KEY
from lc_gemini_router.lanes.models import least_thinking
from lc_gemini_router.state import Breaker, CircuitBreaker, score_key

__all__ = ["GeminiDecisionModel", "classifier_prompt"]

_INSTRUCTION = SystemMessage(CLASSIFIER_INSTRUCTION)


def classifier_prompt(data: Any) -> list[BaseMessage]:
    """The two messages sent for ``data`` (already bounded): the instruction, the JSON."""
    return [_INSTRUCTION, HumanMessage(encode(data))]


class GeminiDecisionModel(BaseDecisionModel):
    """Answers decision questions with Gemini Flash-Lite (or any Gemini chat model).

    Args:
        model: Gemini model ID (ignored when ``llm`` is given: its ID is used).
        llm: a ready chat model to call instead of building one.
        settings: deadline, input bound, output cap, breaker and cache settings.
        api_key, base_url, api_version: for the model built from ``model``.
        cache: a store of answers (``get``/``put`` and ``aget``/``aput``); by default
            an in-memory :class:`~lc_gemini_router.classify.cache.ResponseCache` sized
            by ``settings`` (none when ``settings.cache_size`` is 0).
        breaker: a shared :class:`~lc_gemini_router.Breaker`; by default one from
            ``settings``.

    Raises from ``invoke``: :class:`~lc_gemini_router.UnsupportedInputError` for a
    question it cannot ask (``Box``, media; before any call) and
    :class:`~lc_gemini_router.ClassifierError` when no answer came (timeout, open
    circuit, API error, a reply off the schema).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, populate_by_name=True)

    model: str = "gemini-3.1-flash-lite"
    llm: BaseChatModel | None = None
    settings: ClassifierSettings = Field(default_factory=ClassifierSettings)
    google_api_key: SecretStr | None = Field(
        alias="api_key",
        default_factory=secret_from_env(["GOOGLE_API_KEY", "GEMINI_API_KEY"], default=None),
    )
    base_url: str | None = None
    api_version: str | None = None
    cache: Any = None
    breaker: Breaker | None = None

    _chat: BaseChatModel | None = PrivateAttr(default=None)
    _store: Any = PrivateAttr(default=None)
    _circuit: Breaker | None = PrivateAttr(default=None)
    _pool: ThreadPoolExecutor | None = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, **kwargs: Any) -> None:
        try:
            super().__init__(**kwargs)
        except ValidationError as exc:
            raise ConfigError.from_validation("GeminiDecisionModel", exc) from None

    def model_post_init(self, context: Any) -> None:
        if self.llm is not None:
            name = getattr(self.llm, "model", None) or getattr(self.llm, "model_name", None)
            if isinstance(name, str) and name:
                self.model = name.removeprefix("models/")

    @property
    def _provider(self) -> str:
        return "google_genai"

    # -- the model, the store and the breaker, built on first use ------------------

    @property
    def chat_model(self) -> BaseChatModel:
        """The chat model that answers (``llm``, or one built from ``model``)."""
        if self._chat is None:
            with self._lock:
                if self._chat is None:
                    self._chat = self.llm or self._build()
        return self._chat

    def _build(self) -> BaseChatModel:
        from langchain_google_genai import ChatGoogleGenerativeAI

        params: dict[str, Any] = {
            "model": self.model,
            "temperature": 0.0,
            "max_tokens": self.settings.max_output_tokens,
            "max_retries": 1,  # the deadline, not retries, bounds a slow classifier
            "base_url": self.base_url,
            "api_version": lane_api_version(self.api_version).version,
            "google_api_key": self.google_api_key,
        }
        built = ChatGoogleGenerativeAI(**{k: v for k, v in params.items() if v is not None})
        return least_thinking(built)

    @property
    def store(self) -> Any:
        """Where answers are cached (None when caching is off)."""
        if self._store is None and (self.cache is not None or self.settings.cache_size > 0):
            with self._lock:
                if self._store is None:
                    self._store = self.cache or ResponseCache(
                        self.settings.cache_size, self.settings.cache_ttl_seconds
                    )
        return self._store

    @property
    def circuit(self) -> Breaker:
        """The circuit breaker in front of the model."""
        if self._circuit is None:
            with self._lock:
                if self._circuit is None:
                    s = self.settings
                    self._circuit = self.breaker or CircuitBreaker(
                        s.failure_threshold, s.cooldown_seconds
                    )
        return self._circuit

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(
                        self.settings.max_in_flight, thread_name_prefix="lc-gemini-decisions"
                    )
        return self._pool

    @property
    def _admission(self) -> Admission:
        # Classifier calls in flight and the wait for a slot (see engine.Admission).
        return Admission(self.settings.max_in_flight, self.settings.admission_wait_seconds)

    def close(self, *, wait: bool = False) -> None:
        """Stop the deadline pool; calls already running finish and report their cost
        (``wait=True`` waits for them)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait)

    # -- entry points: guards outside, one traced run inside -----------------------

    def invoke(
        self, input: ClassifierRequest, config: RunnableConfig | None = None, **_: Any
    ) -> ClassifierResponse:
        """Answer ``input["questions"]`` about ``input["state"]`` (see the class)."""
        flow = self._answer(input, config)
        return cast(
            "ClassifierResponse",
            result_of(drive(flow, executor=self._executor, admission=self._admission)),
        )

    async def ainvoke(
        self, input: ClassifierRequest, config: RunnableConfig | None = None, **_: Any
    ) -> ClassifierResponse:
        flow = self._answer(input, config)
        response = await aresult_of(
            adrive(flow, executor=self._executor, admission=self._admission)
        )
        return cast("ClassifierResponse", response)

    def _answer(self, request: ClassifierRequest, config: RunnableConfig | None) -> Any:
        questions = dict(request["questions"])
        check_questions(questions)  # typed errors before any call
        data = fit_state(request["state"], self.settings)
        prompt = classifier_prompt(data)
        schema = response_schema(questions)
        key = ""
        if self.store is not None:
            key = score_key(self.model, encode(schema) + str(prompt[-1].content))
        traced = self.traced({"state": data, "questions": questions})
        call = Classify(traced, prompt, ensure_config(config), self.settings.deadline_seconds)
        outcome = yield from guarded(self.store, self.circuit, key, call, _response_of)
        if outcome.value is None:
            raise ClassifierError(outcome.error or "no answer", usage=outcome.usage)
        if outcome.cached:
            # A stored answer made no call now: it reports no usage, so nothing is billed twice.
            return outcome.value.model_copy(update={"usage": None, "request_id": None})
        return outcome.value

    def traced(self, request: ClassifierRequest) -> Runnable[Any, ClassifierResponse]:
        """A runnable that makes the one traced, unguarded call for ``request``."""
        return _Traced(self, request)

    # -- the call itself (inside the traced run) -----------------------------------

    def _classify(self, state: DecisionState, questions: dict[str, Question]) -> ClassifierResponse:
        prompt, schema = self._request(state, questions)
        result = self.chat_model._generate(prompt, **_json_kwargs(schema))
        return self._response(result.generations[0].message, questions)

    async def _aclassify(
        self, state: DecisionState, questions: dict[str, Question]
    ) -> ClassifierResponse:
        prompt, schema = self._request(state, questions)
        result = await self.chat_model._agenerate(prompt, **_json_kwargs(schema))
        return self._response(result.generations[0].message, questions)

    def _request(
        self, state: DecisionState, questions: Mapping[str, Question]
    ) -> tuple[list[BaseMessage], dict[str, Any]]:
        return classifier_prompt(fit_state(state, self.settings)), response_schema(questions)

    def _response(
        self, message: BaseMessage, questions: Mapping[str, Question]
    ) -> ClassifierResponse:
        usage = message.usage_metadata if isinstance(message, AIMessage) else None
        name = message.response_metadata.get("model_name")
        model = bounded(name, MAX_NAME_CHARS) if isinstance(name, str) and name else self.model
        try:
            answers = parse_reply(message.text, questions)
        except ReplyError as exc:
            # The call was billed: the error carries its usage so it is still priced.
            raise ReplyError(str(exc), usage=usage, model=model) from None
        request_id = message.id if isinstance(message.id, str) else None
        return ClassifierResponse(
            model=model,
            answers=answers,
            usage=usage,
            request_id=bounded(request_id, MAX_NAME_CHARS) if request_id else None,
        )


def _response_of(response: Any) -> ClassifierResponse:
    if not isinstance(response, ClassifierResponse):
        msg = f"decision model returned {type(response).__name__}"
        raise ClassifierError(msg)
    return response


def _json_kwargs(schema: dict[str, Any]) -> dict[str, Any]:
    return {"response_mime_type": "application/json", "response_json_schema": schema}


class _Traced(Runnable[Any, ClassifierResponse]):
    """One decision run for a fixed request: ``BaseDecisionModel.invoke``, marked.

    The engine's classifier effect calls ``invoke(prompt, config)``; the prompt is
    already inside ``request``.
    """

    def __init__(self, owner: GeminiDecisionModel, request: ClassifierRequest) -> None:
        self.owner = owner
        self.request = request

    def invoke(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> ClassifierResponse:
        return BaseDecisionModel.invoke(self.owner, self.request, _marked(config))

    async def ainvoke(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> ClassifierResponse:
        return await BaseDecisionModel.ainvoke(self.owner, self.request, _marked(config))


def _marked(config: RunnableConfig | None) -> RunnableConfig:
    """The run's config with the classifier's tags and role (a caller's role wins)."""
    config = ensure_config(config)
    tags = list(config.get("tags") or [])
    # "nostream" keeps LangGraph's message stream free of classifier output.
    tags += [t for t in ("nostream", CLASSIFIER_TAG) if t not in tags]
    metadata = {ROLE_METADATA_KEY: ROLE_CLASSIFIER, **(config.get("metadata") or {})}
    return cast(
        "RunnableConfig",
        {
            **config,
            "tags": tags,
            "metadata": metadata,
            "run_name": config.get("run_name") or "gemini_decision_model",
        },
    )
