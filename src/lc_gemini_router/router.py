"""GeminiRouter: a LangChain chat model that routes each call to Flash-Lite or Pro.

Per call it (1) applies the free rules of :mod:`lc_gemini_router.routing.policy`, (2) when
they leave the call open, asks the Flash-Lite classifier for a score in a child
run tagged ``nostream`` and marked with the classifier role, (3) calls the chosen
lane's model *inline* (``_generate`` / ``_stream`` with the router's own run
manager), so every token and every usage count appears once on the callback
stream, and (4) puts the decision and the exact cost on the callback stream (custom
events) and in the answer's ``response_metadata["lc_gemini_router"]``.

Example:
    >>> from langchain_core.output_parsers import StrOutputParser
    >>> from langchain_core.prompts import ChatPromptTemplate
    >>> from lc_gemini_router import GeminiRouter, RouterConfig, get_gemini_cost_callback
    >>> router = GeminiRouter(config=RouterConfig(escalation_threshold=0.6), api_key="...")
    >>> chain = ChatPromptTemplate.from_template("{question}") | router | StrOutputParser()
    >>> with get_gemini_cost_callback() as cb:  # doctest: +SKIP
    ...     chain.invoke({"question": "Translate 'thank you' into Italian"})
    'Grazie'
"""

from __future__ import annotations

import asyncio
import difflib
import functools
import threading
import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    BaseCallbackHandler,
    CallbackManager,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput, ModelProfile
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import ensure_config
from langchain_core.tools import BaseTool
from langchain_core.utils import secret_from_env
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    model_validator,
)

from lc_gemini_router.api_versions import (
    ApiVersion,
    effective_api_version,
    lane_api_version,
    v1_problem,
)
from lc_gemini_router.callbacks.payloads import (
    StreamTally,
    annotate,
    answer_report,
    classifier_report,
    cost_chunk,
    decision_chunk,
    decision_payload,
    waste_payload,
)
from lc_gemini_router.classify.classifier import Classifier, ClassifierOutcome
from lc_gemini_router.config import LANES, Lane, RouterConfig
from lc_gemini_router.engine import (
    Cancel,
    Done,
    Emit,
    Flow,
    Generate,
    LaneCall,
    NextChunk,
    OpenStream,
    Out,
    Speculate,
    adrive,
    aresult_of,
    drive,
    result_of,
)
from lc_gemini_router.errors import (
    ApiVersionWarning,
    ConfigError,
    LaneError,
    LaneFailure,
    UnknownLaneError,
    UnknownPriceWarning,
    UnsupportedInputError,
    unknown_name_hint,
)
from lc_gemini_router.keys import (
    CLASSIFIER_TAG,
    COST_EVENT,
    DECISION_EVENT,
    ROLE_CLASSIFIER,
    ROLE_METADATA_KEY,
    ROUTER_RUN_METADATA_KEY,
    WASTED_EVENT,
)
from lc_gemini_router.lanes.models import (
    google_profile,
    lane_unavailable,
    least_thinking,
    shared_profile,
)
from lc_gemini_router.lanes.speculation import AsyncStreamPump, StreamPump
from lc_gemini_router.pricing.catalog import PriceCatalog, default_catalog, normalize_model_id
from lc_gemini_router.routing.policy import (
    RouteDecision,
    RouteRequest,
    rule_decision,
    score_decision,
)
from lc_gemini_router.routing.request import (
    CONFIG_FIELDS,
    ROUTER_KWARGS,
    check_per_call,
    format_tools,
    named_tool,
    normalise_tool_choice,
    tool_names,
)
from lc_gemini_router.routing.signatures import strip_foreign_signatures
from lc_gemini_router.state import Breaker, ScoreStore
from lc_gemini_router.structured_output import structured_output

__all__ = ["GeminiRouter"]


_CONFIGURABLE_KEY = "lc_gemini_router"


@dataclass(frozen=True)
class _RunContext:
    """What a router run needs inside ``_stream`` when LangChain passes no run manager."""

    owner: int
    run_id: uuid.UUID
    handlers: list[BaseCallbackHandler]
    tags: list[str]
    metadata: dict[str, Any]
    overrides: Mapping[str, Any] = field(default_factory=dict)


# BaseChatModel.stream()/astream() (and invoke() under a streaming handler) call
# _stream without a run manager; the public-method overrides below publish the
# run's identity here so the classifier is still a child of the router's run.
_run_context: ContextVar[_RunContext | None] = ContextVar("lc_gemini_router_run", default=None)


@dataclass
class _Call:
    """One call after its arguments are sorted into routing and lane arguments."""

    request: RouteRequest
    config: RouterConfig
    lane_kwargs: dict[str, Any]
    ruled: RouteDecision | None
    """The rules' decision, computed once; None when the classifier must score."""
    failures: list[LaneFailure] = field(default_factory=list)
    """Lanes that already failed in this call, for a LaneError that names them all."""


@functools.cache
def _constructor_names() -> frozenset[str]:
    """Every keyword ``GeminiRouter(...)`` accepts: its fields and their aliases."""
    fields = GeminiRouter.model_fields
    return frozenset(fields) | {f.alias for f in fields.values() if f.alias}


def _unknown_constructor_keyword(name: str) -> str:
    from langchain_google_genai import ChatGoogleGenerativeAI

    if name in CONFIG_FIELDS or name == "lane":
        where = "per call" if name == "lane" else "in config=RouterConfig(...) or per call"
        return f"{name!r} is a routing setting, not a GeminiRouter field: set it {where}"
    google = ChatGoogleGenerativeAI.model_fields
    if name in google or name in {f.alias for f in google.values()}:
        return (
            f"{name!r} is a ChatGoogleGenerativeAI setting the router does not pass on: "
            f"give a ready lane, e.g. pro=ChatGoogleGenerativeAI(model=..., {name}=...)"
        )
    close = difflib.get_close_matches(name, sorted(CONFIG_FIELDS), n=1, cutoff=0.75)
    if close and close[0] not in difflib.get_close_matches(name, _constructor_names(), n=1):
        return (
            f"GeminiRouter: unknown keyword {name!r}; did you mean {close[0]!r}? (a routing "
            "setting: set it in config=RouterConfig(...) or per call)"
        )
    return f"GeminiRouter: {unknown_name_hint(name, _constructor_names(), 'keyword')}"


class GeminiRouter(BaseChatModel):
    """A chat model that sends each call to Flash-Lite, Pro or Pro's custom-tools endpoint.

    Lanes (``classifier``, ``lite``, ``pro``, ``pro_tools``) accept a model ID or a
    ready chat model; lanes given as IDs are built as ``ChatGoogleGenerativeAI``
    with the router's ``api_key``, ``base_url``, ``temperature``, ``max_tokens``,
    ``timeout``, ``max_retries`` and ``stop``. Lanes are called inline, so their
    own callbacks, cache and rate limiter are skipped: set those on the router.

    Per call, ``lane="pro"`` forces a lane and any :class:`RouterConfig` field
    (``escalation_threshold=0.8``) overrides the config, as keyword arguments, via
    ``.bind(...)``, or in ``config={"configurable": {"lc_gemini_router": {...}}}``.

    Example:
        >>> from lc_gemini_router import GeminiRouter, RouterConfig
        >>> router = GeminiRouter(config=RouterConfig(escalation_threshold=0.7), api_key="k")
        >>> router.config.lanes["pro"]
        'gemini-3.1-pro-preview'
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, populate_by_name=True)

    config: RouterConfig = Field(default_factory=RouterConfig)
    classifier: str | BaseChatModel | None = None
    """Classifier model: an ID or a chat model (default ``config.classifier.model``)."""
    lite: str | BaseChatModel | None = None
    pro: str | BaseChatModel | None = None
    pro_tools: str | BaseChatModel | None = None
    catalog: PriceCatalog | None = None
    """Prices for the cost metadata; the packaged catalog by default."""
    google_api_key: SecretStr | None = Field(
        alias="api_key",
        default_factory=secret_from_env(["GOOGLE_API_KEY", "GEMINI_API_KEY"], default=None),
    )
    """Key for the lanes the router builds (default: ``GOOGLE_API_KEY`` or ``GEMINI_API_KEY``)."""
    base_url: str | None = None
    """API endpoint for the lanes the router builds (a proxy, or a local stand-in)."""
    api_version: str | None = None
    """Gemini API version of the lanes the router builds. None: ``GOOGLE_GENAI_API_VERSION``
    when set, else ``v1beta``, which serves preview models too (see ``api_versions``)."""
    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float | None = None
    max_retries: int | None = None
    stop: list[str] | None = None
    streaming: bool = False
    """Answer ``invoke`` through the lanes' streaming path (LangChain's convention)."""

    lane_models: dict[str, BaseChatModel] = Field(default_factory=dict)
    """Ready chat models for lanes beyond the built-in three, by lane name; a name not
    yet in ``config.extra_lanes`` is added there with the model's ID."""
    score_cache: ScoreStore | None = None
    """Where classifier scores are cached; pass one store to share it between routers.
    Default: an in-memory :class:`ScoreCache` per router, sized by ``config.classifier``."""
    breaker: Breaker | None = None
    """The classifier's circuit breaker; shareable like ``score_cache``. Default: a
    :class:`CircuitBreaker` per router from ``config.classifier``."""

    _lanes: dict[str, BaseChatModel] = PrivateAttr(default_factory=dict)
    _pool: ThreadPoolExecutor | None = PrivateAttr(default=None)
    _background: set[asyncio.Task[Any]] = PrivateAttr(default_factory=set)
    """Classifier calls that missed their deadline, kept until they end (and report)."""
    _override_lanes: dict[str, BaseChatModel] = PrivateAttr(default_factory=dict)
    """Lanes built for per-call model IDs (``pro_model=...``), by model ID."""
    _classifier: Classifier | None = PrivateAttr(default=None)
    _params_cache: tuple[RouterConfig, dict[str, Any]] | None = PrivateAttr(default=None)
    _build_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @model_validator(mode="after")
    def _resolve_lanes(self) -> GeminiRouter:
        # Lane IDs given directly (or read from ready models) become the config's
        # lane IDs, so decisions and prices name the model that really answers.
        updates: dict[str, Any] = {}
        for lane in LANES:
            value = getattr(self, lane)
            model_id = self._model_id(value)
            if model_id:
                updates[f"{lane}_model"] = model_id
        extra = {name: spec.model_dump() for name, spec in self.config.extra_lanes.items()}
        for name, model in self.lane_models.items():
            model_id = self._model_id(model)
            if model_id is None:
                msg = f"lane_models[{name!r}]: cannot tell the model ID of {type(model).__name__}"
                raise ConfigError(msg)
            extra[name] = {**extra.get(name, {}), "model": model_id}
        if self.lane_models:
            updates["extra_lanes"] = extra
        classifier_id = self._model_id(self.classifier)
        if classifier_id:
            updates["classifier"] = {"model": classifier_id}
        if updates:
            self.config = self.config.with_overrides(updates)
        if self.profile is None:
            self.profile = self._lanes_profile()
        return self

    def _lanes_profile(self) -> ModelProfile | None:
        """The profile every lane shares; None when a lane's profile is unknown."""
        profiles = []
        for lane, model_id in self.config.lanes.items():
            ready = self._ready(lane)
            profile = ready.profile if ready is not None else google_profile(model_id)
            if not profile:
                return None
            profiles.append(profile)
        return shared_profile(profiles)

    def __init__(self, **kwargs: Any) -> None:
        unknown = [key for key in kwargs if key not in _constructor_names()]
        if unknown:
            raise ConfigError(_unknown_constructor_keyword(unknown[0]))
        try:
            super().__init__(**kwargs)
        except ValidationError as exc:
            names = _constructor_names()
            raise ConfigError.from_validation("GeminiRouter", exc, known=names) from None
        # Checked here, not in a validator, so the typed RetiredModelError (naming
        # the replacement) reaches the caller instead of a pydantic ValidationError.
        catalog = self.catalog or default_catalog()
        models = {*self.config.lanes.values(), self.config.classifier.model}
        for model_id in sorted(models):
            if catalog.ensure_servable(model_id) is None:
                msg = f"model {model_id!r} is not in the price catalog: its costs will be None"
                warnings.warn(msg, UnknownPriceWarning, stacklevel=2)
        for lane in ("classifier", *self.config.lanes):
            version = self.lane_api_version(lane)
            model_id = self._lane_id(lane)
            problem = v1_problem(model_id, version.version) if version else None
            if problem and version is not None:
                # A ready lane is the caller's: warn with the fix, never change it.
                owner = "ready lane" if self._ready(lane) is not None else "lane"
                msg = f"{owner} {lane!r} will fail: {problem} (API version from {version.source})"
                warnings.warn(msg, ApiVersionWarning, stacklevel=2)

    def _lane_id(self, lane: str) -> str:
        if lane == "classifier":
            return self.config.classifier.model
        return self.config.lanes[lane]

    def _ready(self, lane: str) -> BaseChatModel | None:
        """The caller's own chat model for ``lane`` (``classifier`` too), if any."""
        value = getattr(self, lane, None) if lane in ("classifier", *LANES) else None
        value = self.lane_models.get(lane) if lane not in LANES else value
        return value if isinstance(value, BaseChatModel) else None

    def _known_lane(self, lane: str, *, classifier: bool = False) -> None:
        names = (*(("classifier",) if classifier else ()), *self.config.lanes)
        if lane not in names:
            raise UnknownLaneError(lane, names)

    def lane_api_version(self, lane: str) -> ApiVersion | None:
        """The Gemini API version ``lane`` calls, and where that choice came from.

        None for a ready lane that is not a Gemini Developer API model (Vertex AI,
        another provider). ``lane`` is ``classifier`` or a lane name.

        Raises:
            UnknownLaneError: no such lane.
        """
        self._known_lane(lane, classifier=True)
        ready = self._ready(lane)
        if ready is not None:
            return effective_api_version(ready)
        return lane_api_version(self.api_version)

    @staticmethod
    def _model_id(value: str | BaseChatModel | None) -> str | None:
        if isinstance(value, str):
            return normalize_model_id(value)
        if isinstance(value, BaseChatModel):
            name = getattr(value, "model", None) or getattr(value, "model_name", None)
            return normalize_model_id(name) if isinstance(name, str) else None
        return None

    # -- LangChain plumbing ------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return "gemini-router"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        # LangChain reads this on every call; the config is frozen, so dump it once
        # per config object.
        cached = self._params_cache
        if cached is None or cached[0] is not self.config:
            cached = (self.config, {"config": self.config.model_dump(mode="json")})
            self._params_cache = cached
        return dict(cached[1])

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "google_genai"
        lane = kwargs.get("lane")
        # The lane is chosen after the run starts; the answer reports the chosen
        # model at run end (see _gateway_info), this is the default lane's.
        lanes = self.config.lanes
        model = kwargs.get("model") or lanes.get(str(lane), self.config.lite_model)
        params["ls_model_name"] = model
        return params

    def lane_model(self, lane: str) -> BaseChatModel:
        """The chat model behind a lane, built on first use.

        Raises:
            UnknownLaneError: ``lane`` is not one of the router's lanes.
        """
        model = self._lanes.get(lane)
        if model is None:
            self._known_lane(lane)
            with self._build_lock:
                model = self._lanes.get(lane)
                if model is None:
                    model = self._ready(lane) or self._build_google(self.config.lanes[lane])
                    self._lanes[lane] = model
        return model

    @property
    def classifier_runner(self) -> Classifier:
        """The :class:`~lc_gemini_router.classify.classifier.Classifier` (built on first use)."""
        if self._classifier is None:
            with self._build_lock:
                if self._classifier is None:
                    settings = self.config.classifier
                    model = self.classifier
                    if not isinstance(model, BaseChatModel):
                        model = self._build_google(
                            settings.model,
                            temperature=0.0,
                            max_tokens=settings.max_output_tokens,
                            max_retries=1,
                        )
                        model = least_thinking(model)
                    self._classifier = Classifier(
                        model, settings, cache=self.score_cache, breaker=self.breaker
                    )
        return self._classifier

    def _built_models(self) -> list[BaseChatModel]:
        """The models the router built itself (models passed in are the caller's)."""
        built = [model for lane, model in self._lanes.items() if self._ready(lane) is None]
        if self._classifier is not None and not isinstance(self.classifier, BaseChatModel):
            built.append(self._classifier.model)
        built += self._override_lanes.values()
        return list({id(m): m for m in built}.values())

    def close(self) -> None:
        """Close the HTTP clients of the models the router built itself, and its pool."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)
        for model in self._built_models():
            client = getattr(model, "client", None)
            if client is not None and hasattr(client, "close"):
                client.close()

    async def aclose(self) -> None:
        """Close the sync and async HTTP clients of the models the router built itself.

        Call it before the event loop that made async calls ends.
        """
        for model in self._built_models():
            close = getattr(model, "aclose", None)
            if close is not None:
                await close()

    def _build_google(self, model_id: str, **overrides: Any) -> BaseChatModel:
        from langchain_google_genai import ChatGoogleGenerativeAI

        params: dict[str, Any] = {
            "model": model_id,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "base_url": self.base_url,
            "stop": self.stop,
            "api_version": lane_api_version(self.api_version).version,
        }
        if self.google_api_key is not None:
            params["google_api_key"] = self.google_api_key
        params.update(overrides)
        return ChatGoogleGenerativeAI(**{k: v for k, v in params.items() if v is not None})

    def get_num_tokens(self, text: str) -> int:
        """Tokens in ``text`` as the lite lane counts them (Gemini's countTokens)."""
        return self.lane_model("lite").get_num_tokens(text)

    # -- tools and structured output ---------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools; every lane receives them in OpenAI function format.

        Gemini built-in tools given as dicts (``{"google_search": {}}``) pass as-is.
        """
        if tool_choice is not None and tool_choice is not False:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=format_tools(tools), **kwargs)

    def route(
        self,
        input: LanguageModelInput,
        *,
        tools: Sequence[str | dict[str, Any] | type | Callable[..., Any] | BaseTool] = (),
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> RouteDecision:
        """Where a request would go, without answering it.

        Applies the rules and, when they leave the request open, calls the classifier
        (a run marked and priced as classifier spend; its score is cached like any).
        ``tools`` may be plain names: routing only counts and names tools. Keyword
        arguments are per-call settings, as for ``invoke``.

        Example:
            >>> from lc_gemini_router import GeminiRouter
            >>> GeminiRouter(api_key="k").route("Translate 'hi' into French").lane
            'lite'
        """
        messages = self._convert_input(input).to_messages()
        if tools:
            kwargs["tools"] = format_tools(
                [named_tool(t) if isinstance(t, str) else t for t in tools]
            )
        call = self._prepare(messages, kwargs)
        if not self._needs_classifier(call):
            return self._decide(call, None)
        config = ensure_config(config)
        manager = CallbackManager.configure(
            config.get("callbacks"), None, False, config.get("tags"), None, config.get("metadata")
        )
        child = self._child_callbacks(
            list(manager.handlers),
            list(manager.tags),
            dict(manager.metadata),
            None,
            CallbackManager,
        )
        classifier_config = self._classifier_config(child, None)
        runner = self.classifier_runner
        flow = runner.flow(call.request.messages, call.request.tool_names, classifier_config)
        outcome = result_of(drive(flow, executor=self._executor))
        return self._decide(call, outcome)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        method: Literal["function_calling", "json_mode", "json_schema"] = "json_schema",
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """Structured output through Gemini's JSON schema (default) or a forced tool call."""
        return structured_output(self, schema, include_raw=include_raw, method=method, **kwargs)

    def _convert_input(self, model_input: LanguageModelInput) -> PromptValue:
        # LangChain raises ValueError / NotImplementedError for inputs it cannot read;
        # surface them as the package's typed error, before any API call.
        try:
            return super()._convert_input(model_input)
        except (ValueError, NotImplementedError) as exc:
            msg = f"GeminiRouter cannot route this input: {exc}"
            raise UnsupportedInputError(msg) from exc

    # -- public entry points: publish the run context ------------------------------------

    def _enter(self, config: RunnableConfig | None) -> tuple[RunnableConfig, _RunContext]:
        config = ensure_config(config)
        run_id = config.get("run_id") or uuid.uuid4()
        # One manager for the router run and its classifier child: a tracer created
        # by configure() must be the same object for both, or the child is orphaned.
        manager = CallbackManager.configure(
            config.get("callbacks"),
            None,
            False,
            config.get("tags"),
            None,
            config.get("metadata"),
            None,
        )
        configurable = config.get("configurable") or {}
        overrides = configurable.get(_CONFIGURABLE_KEY) or {}
        if not isinstance(overrides, Mapping):
            msg = f"configurable[{_CONFIGURABLE_KEY!r}] must be a mapping of router settings"
            raise UnsupportedInputError(msg)
        context = _RunContext(
            owner=id(self),
            run_id=run_id,
            handlers=list(manager.inheritable_handlers),
            tags=list(manager.inheritable_tags),
            metadata=dict(manager.inheritable_metadata),
            overrides=dict(overrides),
        )
        return cast("RunnableConfig", {**config, "callbacks": manager, "run_id": run_id}), context

    @contextmanager
    def _published(self, config: RunnableConfig | None) -> Iterator[RunnableConfig]:
        """The run's config, with its identity published for ``_stream`` meanwhile."""
        config, context = self._enter(config)
        token = _run_context.set(context)
        try:
            yield config
        finally:
            _run_context.reset(token)

    def invoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        with self._published(config) as run_config:
            return super().invoke(input, run_config, stop=stop, **kwargs)

    async def ainvoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        with self._published(config) as run_config:
            return await super().ainvoke(input, run_config, stop=stop, **kwargs)

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        # Routing happens before the first chunk: the identity is published for that
        # step only, so it never leaks into the caller's code between chunks.
        with self._published(config) as run_config:
            chunks = super().stream(input, run_config, stop=stop, **kwargs)
            first = next(chunks, None)
        if first is not None:
            yield first
            yield from chunks

    async def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        with self._published(config) as run_config:
            chunks = super().astream(input, run_config, stop=stop, **kwargs)
            first = await anext(chunks, None)
        if first is not None:
            yield first
            async for chunk in chunks:
                yield chunk

    # -- routing ------------------------------------------------------------------------

    def _context(self) -> _RunContext | None:
        context = _run_context.get()
        return context if context is not None and context.owner == id(self) else None

    def _prepare(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> _Call:
        if not messages:
            msg = "GeminiRouter needs at least one message; got an empty list"
            raise UnsupportedInputError(msg)
        context = self._context()
        overrides: dict[str, Any] = dict(context.overrides) if context else {}
        lane_kwargs: dict[str, Any] = {}
        for key, value in kwargs.items():
            if key in ROUTER_KWARGS:
                overrides[key] = value
            else:
                lane_kwargs[key] = value
        # LangChain's per-call model override: answer on that model, without routing.
        pinned = lane_kwargs.pop("model", None)
        check_per_call(overrides, lane_kwargs)
        lane = overrides.pop("lane", None)
        config = self.config.with_overrides(overrides)
        if pinned and lane is None:
            model_id = normalize_model_id(str(pinned))
            lane = next((n for n, m in config.lanes.items() if m == model_id), None)
            if lane is None:  # a model no lane has: the pro lane answers on it
                lane, config = "pro", config.with_overrides({"pro_model": model_id})
        if lane is not None and lane not in config.lanes:
            raise UnknownLaneError(str(lane), tuple(config.lanes))
        self._check_lane_overrides(config)
        tools = lane_kwargs.get("tools") or []
        names = tuple(n for t in tools if isinstance(t, Mapping) for n in tool_names(t))
        request = RouteRequest(
            messages=tuple(messages),
            tool_names=names,
            tool_choice=normalise_tool_choice(lane_kwargs.get("tool_choice")),
            lane_override=lane,
            structured_output="response_json_schema" in lane_kwargs
            or lane_kwargs.get("response_mime_type") == "application/json",
            overrides=overrides,
        )
        ruled = rule_decision(request, config)
        return _Call(request=request, config=config, lane_kwargs=lane_kwargs, ruled=ruled)

    def _check_lane_overrides(self, config: RouterConfig) -> None:
        """Per-call lane models pass the constructor's checks, before any API call."""
        if config is self.config:  # no per-call settings: nothing new to check
            return
        for lane, model_id in config.lanes.items():
            if model_id == self.config.lanes.get(lane):
                continue
            if self._ready(lane) is not None:
                msg = (
                    f"lane {lane!r} is a ready chat model; a per-call model "
                    f"({model_id!r}) cannot replace it"
                )
                raise ConfigError(msg)
            # RetiredModelError for a shut-down ID; a warning for an unknown price.
            (self.catalog or default_catalog()).ensure_servable(model_id)

    def _lane_for(self, call: _Call, lane: Lane) -> BaseChatModel:
        """The model that answers ``lane`` for this call: a per-call model ID wins."""
        if call.config is self.config:
            return self.lane_model(lane)
        model_id = call.config.lanes[lane]
        if model_id == self.config.lanes.get(lane):
            return self.lane_model(lane)
        model = self._override_lanes.get(model_id)
        if model is None:
            with self._build_lock:
                model = self._override_lanes.get(model_id)
                if model is None:
                    model = self._override_lanes[model_id] = self._build_google(model_id)
        return model

    def _child_manager(
        self, run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None
    ) -> tuple[uuid.UUID | None, list[BaseCallbackHandler], list[str], dict[str, Any]]:
        if run_manager is not None:
            parts = (
                run_manager.run_id,
                list(run_manager.inheritable_handlers),
                list(run_manager.inheritable_tags),
                dict(run_manager.inheritable_metadata),
            )
        else:
            context = self._context()
            if context is None:
                return None, [], [], {}
            parts = (context.run_id, context.handlers, context.tags, context.metadata)
        run_id, handlers, tags, metadata = parts
        # The router's LangSmith identity must not leak into the classifier's run.
        metadata = {k: v for k, v in metadata.items() if not k.startswith("ls_")}
        return run_id, list(handlers), list(tags), metadata

    @staticmethod
    def _child_callbacks(
        handlers: list[BaseCallbackHandler],
        tags: list[str],
        metadata: dict[str, Any],
        run_id: uuid.UUID | None,
        manager_cls: type[CallbackManager] | type[AsyncCallbackManager],
    ) -> CallbackManager | AsyncCallbackManager:
        """Callbacks bound to the router's run: its events, and the classifier's parent."""
        return manager_cls(
            handlers=handlers,
            inheritable_handlers=list(handlers),
            parent_run_id=run_id,
            tags=list(tags),
            inheritable_tags=list(tags),
            metadata=dict(metadata),
            inheritable_metadata=dict(metadata),
        )

    @staticmethod
    def _classifier_config(
        manager: CallbackManager | AsyncCallbackManager, run_id: uuid.UUID | None
    ) -> RunnableConfig:
        """The classifier run's config: a child of the router's run, tagged and marked."""
        return {
            "callbacks": manager,
            # "nostream" keeps LangGraph's message stream free of classifier tokens.
            "tags": ["nostream", CLASSIFIER_TAG],
            "metadata": {
                ROLE_METADATA_KEY: ROLE_CLASSIFIER,
                # Lets cost logs tie this call to the answer it routed.
                **({ROUTER_RUN_METADATA_KEY: str(run_id)} if run_id else {}),
            },
            "run_name": "gemini_router_classifier",
        }

    def _decide(self, call: _Call, outcome: ClassifierOutcome | None) -> RouteDecision:
        if call.ruled is not None:
            return call.ruled
        return score_decision(
            call.request,
            call.config,
            outcome.score if outcome else None,
            classifier_error=outcome.error if outcome else None,
            cached=outcome.cached if outcome else False,
        )

    def _needs_classifier(self, call: _Call) -> bool:
        return call.config.classifier.enabled and call.ruled is None

    def _lane_messages(self, call: _Call, decision: RouteDecision) -> list[BaseMessage]:
        return strip_foreign_signatures(call.request.messages, decision.model)

    def _fallback(self, decision: RouteDecision, call: _Call, error: Exception) -> RouteDecision:
        """The decision to retry on, or raise LaneError when there is none."""
        target = call.config.fallback_of(decision.lane)
        if (
            not call.config.fallback_on_error
            or target is None
            or decision.fallback_from
            or not lane_unavailable(error)
        ):
            raise LaneError(decision.lane, decision.model, error, earlier=call.failures) from error
        call.failures.append(LaneFailure(decision.lane, decision.model, error))
        reason = f"lane {decision.lane} failed: {type(error).__name__}: {error}"
        return decision.model_copy(
            update={
                "lane": target,
                "model": call.config.lanes[target],
                "source": "fallback",
                "fallback_from": decision.lane,
                "reasons": (*decision.reasons, reason),
            }
        )

    def _speculative_messages(self, call: _Call) -> list[BaseMessage]:
        return strip_foreign_signatures(call.request.messages, call.config.lite_model)

    def _waste(self, call: _Call, pump: StreamPump | AsyncStreamPump) -> dict[str, Any]:
        lite = call.config.lite_model
        return waste_payload(pump.tally, call.request.messages, lite, self.catalog)

    # -- the pipeline: one flow for invoke, ainvoke, stream and astream ----------------

    def _flow(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        run_manager: Any,
        kwargs: dict[str, Any],
        *,
        stream: bool,
        is_async: bool,
    ) -> Flow:
        """Prepare, classify, decide, execute the lane (with fallback), annotate.

        A sans-IO generator (see :mod:`lc_gemini_router.engine`): it yields effects and
        gets their results back from the sync or async driver. Returns the answer
        (``stream=False``) or passes chunks on as ``Out`` effects (``stream=True``).
        """
        call = self._prepare(messages, kwargs)  # typed errors before any request
        run_id, handlers, tags, metadata = self._child_manager(run_manager)
        manager_cls = AsyncCallbackManager if is_async else CallbackManager
        manager = self._child_callbacks(handlers, tags, metadata, run_id, manager_cls)
        events = manager if run_id is not None else None
        pump: StreamPump | AsyncStreamPump | None = None
        outcome = None
        if self._needs_classifier(call):
            runner = self.classifier_runner
            request = call.request
            prompt = runner.prompt(request.messages, request.tool_names)
            # A cached score decides at once: speculating would only waste a request.
            if call.config.speculative and not (yield from runner.is_cached(prompt)):
                lite = LaneCall(
                    self._lane_for(call, "lite"),
                    self._speculative_messages(call),
                    stop,
                    None,
                    call.lane_kwargs,
                )
                pump = yield Speculate(lite)
            # Built only here: a call the rules decided never needs it.
            config = self._classifier_config(manager, run_id)
            outcome = yield from runner.flow(
                request.messages, request.tool_names, config, prompt=prompt
            )
        decision = self._decide(call, outcome)
        report = classifier_report(outcome, self.config.classifier.model, self.catalog)
        if events is not None:
            yield Emit(events, DECISION_EVENT, decision_payload(decision, report), run_id)
        if pump is not None and decision.lane != "lite":
            yield Cancel(pump)  # the tally is final now: report the waste before answering
            if events is not None:
                yield Emit(events, WASTED_EVENT, self._waste(call, pump), run_id)
            pump = None
        while True:
            lane = LaneCall(
                self._lane_for(call, decision.lane),
                self._lane_messages(call, decision),
                stop,
                run_manager,
                call.lane_kwargs,
            )
            try:
                if not stream:
                    result: ChatResult = yield Generate(lane, pump)
                else:
                    chunks = yield OpenStream(lane, pump)
                    # A lane that fails before its first chunk can still be replaced.
                    first: ChatGenerationChunk | None = yield NextChunk(chunks)
                break
            except Exception as exc:
                pump = None
                decision = self._fallback(decision, call, exc)
                if events is not None:
                    yield Emit(events, DECISION_EVENT, decision_payload(decision, report), run_id)
        if not stream:
            payload = annotate(result, decision, report, self.catalog)
            if events is not None:
                yield Emit(events, COST_EVENT, payload, run_id)
            return result
        yield Out(decision_chunk(decision, report, first))
        tally = StreamTally()
        try:
            while first is not None:
                tally.add(first)
                yield Out(first)
                first = yield NextChunk(chunks)
        except Exception as exc:
            # Tokens already reached the caller: answering again elsewhere would
            # show them twice. Fail with the lane named instead.
            raise LaneError(decision.lane, decision.model, exc, earlier=call.failures) from exc
        cost_meta, payload = answer_report(decision, report, tally, self.catalog)
        if events is not None:
            yield Emit(events, COST_EVENT, payload, run_id)
        yield Out(cost_chunk(cost_meta))
        return None

    def _executor(self) -> ThreadPoolExecutor:
        """The router's own pool: classifier deadlines and speculative streams (sync)."""
        if self._pool is None:
            with self._build_lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(
                        max_workers=64, thread_name_prefix="lc-gemini-router"
                    )
        return self._pool

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        flow = self._flow(messages, stop, run_manager, kwargs, stream=False, is_async=False)
        return cast("ChatResult", result_of(drive(flow, executor=self._executor)))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        flow = self._flow(messages, stop, run_manager, kwargs, stream=False, is_async=True)
        return cast("ChatResult", await aresult_of(adrive(flow, background=self._background)))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        flow = self._flow(messages, stop, run_manager, kwargs, stream=True, is_async=False)
        for item in drive(flow, executor=self._executor):
            if not isinstance(item, Done):
                yield item

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        flow = self._flow(messages, stop, run_manager, kwargs, stream=True, is_async=True)
        async for item in adrive(flow, background=self._background):
            if not isinstance(item, Done):
                yield item
