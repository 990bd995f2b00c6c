"""GeminiRouter: a LangChain chat model that routes each call to Flash-Lite or Pro.

Per call it (1) applies the free rules of :mod:`lc_gemini_router.routing.policy`, (2) when
they leave the call open, asks the Flash-Lite classifier for a score in a child
run tagged ``nostream`` and marked with the classifier role, (3) calls the chosen
lane's model *inline* (``_generate`` / ``_stream`` with the router's own run
manager), so every token and every usage count appears once on the callback
stream, and (4) puts the decision and the exact cost on the callback stream (custom
events) and in the answer's ``response_metadata["lc_gemini_router"]``. The steps are
:func:`lc_gemini_router.router.pipeline.flow`; this module is the chat model around it.

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
import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableConfig
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
)
from lc_gemini_router.batches.records import INLINE_LIMIT_BYTES
from lc_gemini_router.batches.runnable import (
    BATCH_LANE,
    batch_outputs,
    first_config,
    wants_batch_lane,
)
from lc_gemini_router.batches.stores import BatchStore, MemoryBatchStore
from lc_gemini_router.batches.submission import Submission
from lc_gemini_router.budgets.ledger import MemoryLedger
from lc_gemini_router.budgets.spec import Budget
from lc_gemini_router.budgets.status import BudgetStatus, budget_steps
from lc_gemini_router.classify.classifier import Classifier
from lc_gemini_router.config import RouterConfig
from lc_gemini_router.engine import Done, aresult_of, result_of
from lc_gemini_router.errors import (
    ConfigError,
    UnknownBatchJobError,
    UnsupportedInputError,
)
from lc_gemini_router.pricing.catalog import PriceCatalog, default_catalog
from lc_gemini_router.router.calls import Call, prepare
from lc_gemini_router.router.construction import check_models, resolve_lanes
from lc_gemini_router.router.keywords import unknown_constructor_keyword
from lc_gemini_router.router.lanes import LaneSet
from lc_gemini_router.router.pipeline import flow as routing_flow
from lc_gemini_router.router.pipeline import route_flow
from lc_gemini_router.router.runs import (
    Parent,
    current,
    end_cancelled_run,
    published,
    standalone_parent,
)
from lc_gemini_router.routing.policy import RouteDecision
from lc_gemini_router.routing.request import format_tools, named_tool
from lc_gemini_router.state import Breaker, BudgetLedger, ScoreStore, StateStore
from lc_gemini_router.structured_output import structured_output

if TYPE_CHECKING:
    from lc_gemini_router.batches.job import BatchJob

__all__ = ["GeminiRouter"]


@functools.cache
def _constructor_names() -> frozenset[str]:
    """Every keyword ``GeminiRouter(...)`` accepts: its fields and their aliases."""
    fields = GeminiRouter.model_fields
    return frozenset(fields) | {f.alias for f in fields.values() if f.alias}


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
    budgets: list[Budget] = Field(default_factory=list)
    """Spend limits checked before every API call, all of which must fit (see
    :class:`~lc_gemini_router.Budget`)."""
    store: StateStore | None = None
    """Where the score cache, breaker and budget ledger live when not given one by one:
    a :class:`~lc_gemini_router.RedisStore` shares them between processes."""
    budget_ledger: BudgetLedger | None = None
    """The budgets' ledger (default: the store's, else one in memory per router)."""
    batch_store: BatchStore | None = None
    """Where batch jobs are kept (default: the store's ``batch_store()``, else one in this
    process's memory); a :class:`~lc_gemini_router.FileBatchStore` or a ``RedisStore``
    lets another process collect a job."""

    _lane_set: LaneSet | None = PrivateAttr(default=None)
    _params_cache: tuple[RouterConfig, dict[str, Any]] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _resolve_lanes(self) -> GeminiRouter:
        resolve_lanes(self)
        return self

    @model_validator(mode="after")
    def _resolve_store(self) -> GeminiRouter:
        names = [budget.name for budget in self.budgets]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            msg = f"budgets: names must be unique, {twice} given twice (set Budget(name=...))"
            raise ConfigError(msg)
        store, settings = self.store, self.config.classifier
        if store is not None:
            if self.score_cache is None and settings.cache_size > 0:
                self.score_cache = store.score_store(settings)
            self.breaker = self.breaker or store.breaker(settings)
            self.budget_ledger = self.budget_ledger or store.budget_ledger()
        elif self.budgets and self.budget_ledger is None:
            self.budget_ledger = MemoryLedger()
        if self.batch_store is None:
            make = getattr(store, "batch_store", None)  # optional in a StateStore
            self.batch_store = make() if callable(make) else MemoryBatchStore()
        return self

    def __init__(self, **kwargs: Any) -> None:
        unknown = [key for key in kwargs if key not in _constructor_names()]
        if unknown:
            raise ConfigError(unknown_constructor_keyword(unknown[0], _constructor_names()))
        try:
            super().__init__(**kwargs)
        except ValidationError as exc:
            names = _constructor_names()
            raise ConfigError.from_validation("GeminiRouter", exc, known=names) from None
        # Checked here, not in a validator, so the typed RetiredModelError (naming
        # the replacement) reaches the caller instead of a pydantic ValidationError.
        check_models(self)

    def lane_api_version(self, lane: str) -> ApiVersion | None:
        """The Gemini API version ``lane`` calls, and where that choice came from.

        None for a ready lane that is not a Gemini Developer API model (Vertex AI,
        another provider). ``lane`` is ``classifier`` or a lane name.

        Raises:
            UnknownLaneError: no such lane.
        """
        self.lane_set.check(lane, classifier=True)
        ready = self.lane_set.ready(lane)
        if ready is not None:
            return effective_api_version(ready)
        return lane_api_version(self.api_version)

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

    @property
    def lane_set(self) -> LaneSet:
        """The models behind the lanes, built on first use (see :class:`LaneSet`)."""
        if self._lane_set is None:
            self._lane_set = LaneSet(self)
        return self._lane_set

    def lane_model(self, lane: str) -> BaseChatModel:
        """The chat model behind a lane, built on first use.

        Raises:
            UnknownLaneError: ``lane`` is not one of the router's lanes.
        """
        return self.lane_set.model(lane)

    @property
    def classifier_runner(self) -> Classifier:
        """The :class:`~lc_gemini_router.classify.classifier.Classifier` (built on first use)."""
        return self.lane_set.classifier

    def close(self) -> None:
        """Close the HTTP clients of the models the router built itself, and its pool."""
        self.lane_set.close()

    async def aclose(self) -> None:
        """Close the sync and async HTTP clients of the models the router built itself.

        Call it before the event loop that made async calls ends.
        """
        await self.lane_set.aclose()

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
        call, parent = self._route_call(input, tools, config, kwargs)
        steps = route_flow(self, call, parent, is_async=False)
        return cast("RouteDecision", result_of(self.lane_set.drive(steps))[0])

    async def aroute(
        self,
        input: LanguageModelInput,
        *,
        tools: Sequence[str | dict[str, Any] | type | Callable[..., Any] | BaseTool] = (),
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> RouteDecision:
        """:meth:`route` for async code (the classifier call is awaited)."""
        call, parent = self._route_call(input, tools, config, kwargs)
        steps = route_flow(self, call, parent, is_async=True)
        return cast("RouteDecision", (await aresult_of(self.lane_set.adrive(steps)))[0])

    def _route_call(
        self,
        input: LanguageModelInput,
        tools: Sequence[str | dict[str, Any] | type | Callable[..., Any] | BaseTool],
        config: RunnableConfig | None,
        kwargs: dict[str, Any],
    ) -> tuple[Call, Parent]:
        messages = self._convert_input(input).to_messages()
        if tools:
            kwargs["tools"] = format_tools(
                [named_tool(t) if isinstance(t, str) else t for t in tools]
            )
        return self.prepare_call(messages, kwargs), standalone_parent(config)

    def submit_batch(
        self,
        inputs: Sequence[LanguageModelInput],
        *,
        display_name: str | None = None,
        max_requeues: int = 1,
        inline_limit_bytes: int = INLINE_LIMIT_BYTES,
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> BatchJob:
        """Route every input, then send them through the Gemini Batch API at batch rates.

        Each input is routed as ``invoke`` would route it (rules, classifier,
        thresholds; ``lane="pro"`` and other per-call settings as keyword arguments,
        for every input), then sent in one Gemini batch job per model: inline up to
        ``inline_limit_bytes`` (Gemini's 20 MB), else as a JSONL file. The job is
        stored in ``batch_store`` before this returns. Failed items are sent again
        up to ``max_requeues`` times by ``wait()``.

        Raises:
            UnsupportedInputError, ConfigError: before any request is sent.

        Example:
            >>> from lc_gemini_router import GeminiRouter
            >>> router = GeminiRouter(api_key="k")
            >>> type(router.batch_store).__name__  # where jobs are kept by default
            'MemoryBatchStore'
            >>> job = router.submit_batch(["Label: 'great phone'"])  # doctest: +SKIP
            >>> results = job.wait(poll_every=30)  # doctest: +SKIP
        """
        submission = self._batch_submission(
            inputs, display_name, max_requeues, inline_limit_bytes, config, kwargs
        )
        from lc_gemini_router.batches.job import BatchJob  # google-genai: loaded on use
        from lc_gemini_router.batches.submit import submit

        record = submit(self, submission)
        self._batch_store().save(record)
        return BatchJob(self, record, self._batch_store())

    async def asubmit_batch(
        self,
        inputs: Sequence[LanguageModelInput],
        *,
        display_name: str | None = None,
        max_requeues: int = 1,
        inline_limit_bytes: int = INLINE_LIMIT_BYTES,
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> BatchJob:
        """:meth:`submit_batch` for async code (classifier calls run concurrently)."""
        submission = self._batch_submission(
            inputs, display_name, max_requeues, inline_limit_bytes, config, kwargs
        )
        from lc_gemini_router.batches.job import BatchJob
        from lc_gemini_router.batches.submit import asubmit

        record = await asubmit(self, submission)
        await asyncio.to_thread(self._batch_store().save, record)
        return BatchJob(self, record, self._batch_store())

    def batch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[AIMessage]:
        """LangChain's ``batch()``; with ``lane="batch"`` (or a run tag in
        ``config.batch_tags``) through the Gemini Batch API, waiting for the answers."""
        if not wants_batch_lane(self.config, config, kwargs):
            return super().batch(inputs, config, return_exceptions=return_exceptions, **kwargs)
        run_config = first_config(config)
        job = self.submit_batch(inputs, config=run_config, **kwargs)  # drops lane="batch"
        results = job.wait(self.config.batch_poll_seconds, config=run_config)
        return batch_outputs(results, return_exceptions=return_exceptions)

    async def abatch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[AIMessage]:
        """:meth:`batch` for async code."""
        if not wants_batch_lane(self.config, config, kwargs):
            return await super().abatch(
                inputs, config, return_exceptions=return_exceptions, **kwargs
            )
        run_config = first_config(config)
        job = await self.asubmit_batch(inputs, config=run_config, **kwargs)
        results = await job.await_results(self.config.batch_poll_seconds, config=run_config)
        return batch_outputs(results, return_exceptions=return_exceptions)

    def batch_job(self, job_id: str) -> BatchJob:
        """The batch job ``job_id`` from ``batch_store``, e.g. one another process submitted.

        Raises:
            UnknownBatchJobError: the store does not hold it.
        """
        from lc_gemini_router.batches.job import BatchJob

        record = self._batch_store().load(job_id)
        if record is None:
            store = type(self._batch_store()).__name__
            msg = f"no batch job {job_id!r} in this router's batch store ({store})"
            raise UnknownBatchJobError(msg)
        return BatchJob(self, record, self._batch_store())

    def _batch_store(self) -> BatchStore:
        assert self.batch_store is not None  # set by _resolve_store
        return self.batch_store

    def _batch_submission(
        self,
        inputs: Sequence[LanguageModelInput],
        display_name: str | None,
        max_requeues: int,
        inline_limit: int,
        config: RunnableConfig | None,
        kwargs: dict[str, Any],
    ) -> Submission:
        if isinstance(max_requeues, bool) or not isinstance(max_requeues, int) or max_requeues < 0:
            msg = f"max_requeues must be a whole number >= 0, not {max_requeues!r}"
            raise ConfigError(msg)
        if kwargs.get("lane") == BATCH_LANE:  # every submitted input is on it
            del kwargs["lane"]
        if "tools" in kwargs:
            kwargs["tools"] = format_tools(kwargs["tools"])
        return Submission(list(inputs), kwargs, display_name, max_requeues, config, inline_limit)

    def budget_status(self, scope: str = "global", key: str | None = None) -> list[BudgetStatus]:
        """The state of every budget kept per ``scope`` for ``key``, in its current window.

        ``scope`` is ``"global"`` or a ``Budget.per`` key (``"user"``); ``key`` its value.

        Raises:
            ConfigError: the router has no budget kept per ``scope``.
        """
        steps = budget_steps(self, "status", scope, key)
        return cast("list[BudgetStatus]", result_of(self.lane_set.drive(steps)))

    async def abudget_status(
        self, scope: str = "global", key: str | None = None
    ) -> list[BudgetStatus]:
        """:meth:`budget_status` through the ledger's async client."""
        steps = budget_steps(self, "status", scope, key)
        return cast("list[BudgetStatus]", await aresult_of(self.lane_set.adrive(steps)))

    def budget_reset(self, scope: str = "global", key: str | None = None) -> list[BudgetStatus]:
        """Start the current window of ``scope``'s budgets for ``key`` again from zero."""
        steps = budget_steps(self, "reset", scope, key)
        return cast("list[BudgetStatus]", result_of(self.lane_set.drive(steps)))

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

    def invoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        with published(self, config) as run_config:
            return super().invoke(input, run_config, stop=stop, **kwargs)

    async def ainvoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        with published(self, config) as run_config:
            try:
                return await super().ainvoke(input, run_config, stop=stop, **kwargs)
            except asyncio.CancelledError as exc:
                # LangChain's agenerate leaves a cancelled run open: its handlers would
                # keep it in flight forever. End it as an error, as any failure is.
                with contextlib.suppress(Exception):
                    await end_cancelled_run(run_config, exc)
                raise

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
        with published(self, config) as run_config:
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
        with published(self, config) as run_config:
            chunks = super().astream(input, run_config, stop=stop, **kwargs)
            first = await anext(chunks, None)
        if first is not None:
            yield first
            async for chunk in chunks:
                yield chunk

    # -- routing ------------------------------------------------------------------------

    def prepare_call(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> Call:
        """Sort one call's arguments (with the run's ``configurable`` settings); no I/O."""
        context = current(self)
        return prepare(
            messages,
            kwargs,
            base=self.config,
            published=context.overrides if context else {},
            ready=self.lane_set.ready,
            catalog=self.catalog or default_catalog(),
            scopes=[budget.per for budget in self.budgets if budget.per],
            scope_values=context.configurable if context else {},
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        steps = routing_flow(
            self, messages, stop, run_manager, kwargs, stream=False, is_async=False
        )
        return cast("ChatResult", result_of(self.lane_set.drive(steps)))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        steps = routing_flow(self, messages, stop, run_manager, kwargs, stream=False, is_async=True)
        return cast("ChatResult", await aresult_of(self.lane_set.adrive(steps)))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        steps = routing_flow(self, messages, stop, run_manager, kwargs, stream=True, is_async=False)
        for item in self.lane_set.drive(steps):
            if not isinstance(item, Done):
                yield item

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        steps = routing_flow(self, messages, stop, run_manager, kwargs, stream=True, is_async=True)
        async for item in self.lane_set.adrive(steps):
            if not isinstance(item, Done):
                yield item
