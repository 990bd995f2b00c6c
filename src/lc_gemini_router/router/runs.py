"""The router run's identity, and the callback managers of what runs inside it.

``BaseChatModel.stream()``/``astream()`` (and ``invoke()`` under a streaming handler)
call ``_stream`` without a run manager. The router's public entry points therefore
publish the run's identity in a context variable, so the classifier is still a child
of the router's run and events still reach its handlers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, cast

from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    BaseCallbackHandler,
    CallbackManager,
    CallbackManagerForLLMRun,
)
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import ensure_config

from lc_gemini_router.errors import UnsupportedInputError
from lc_gemini_router.keys import (
    CLASSIFIER_TAG,
    ROLE_CLASSIFIER,
    ROLE_METADATA_KEY,
    ROUTER_RUN_METADATA_KEY,
    SERVICE_TIER_METADATA_KEY,
)
from lc_gemini_router.pricing.entries import SERVICE_TIERS, ServiceTier

__all__ = [
    "CONFIGURABLE_KEY",
    "Parent",
    "RunContext",
    "child_callbacks",
    "classifier_config",
    "current",
    "end_cancelled_run",
    "parent_of",
    "published",
    "standalone_parent",
]

CONFIGURABLE_KEY = "lc_gemini_router"
"""Per-call router settings in ``config["configurable"]``."""


@dataclass(frozen=True)
class RunContext:
    """What a router run needs inside ``_stream`` when LangChain passes no run manager."""

    owner: int
    run_id: uuid.UUID
    handlers: list[BaseCallbackHandler]
    tags: list[str]
    metadata: dict[str, Any]
    overrides: Mapping[str, Any] = field(default_factory=dict)
    configurable: Mapping[str, Any] = field(default_factory=dict)
    """The run's other plain ``configurable`` values (budget scopes such as ``user``)."""


@dataclass(frozen=True)
class Parent:
    """The router's run as seen by its children: id, handlers, tags, metadata."""

    run_id: uuid.UUID | None
    handlers: list[BaseCallbackHandler]
    tags: list[str]
    metadata: dict[str, Any]

    @property
    def service_tier(self) -> ServiceTier:
        """The run's tier (``SERVICE_TIER_METADATA_KEY``, as the cost handler reads it);
        an unknown one is standard here (the handler warns and leaves it unpriced)."""
        tier = self.metadata.get(SERVICE_TIER_METADATA_KEY, "standard")
        return cast("ServiceTier", tier) if tier in SERVICE_TIERS else "standard"


_run_context: ContextVar[RunContext | None] = ContextVar("lc_gemini_router_run", default=None)


def _enter(owner: object, config: RunnableConfig | None) -> tuple[RunnableConfig, RunContext]:
    config = ensure_config(config)
    run_id = config.get("run_id") or uuid.uuid4()
    # One manager for the router run and its classifier child: a tracer created by
    # configure() must be the same object for both, or the child is orphaned.
    manager = _configured(config)
    configurable = config.get("configurable") or {}
    overrides = configurable.get(CONFIGURABLE_KEY) or {}
    if not isinstance(overrides, Mapping):
        msg = f"configurable[{CONFIGURABLE_KEY!r}] must be a mapping of router settings"
        raise UnsupportedInputError(msg)
    context = RunContext(
        owner=id(owner),
        run_id=run_id,
        handlers=list(manager.inheritable_handlers),
        tags=list(manager.inheritable_tags),
        metadata=dict(manager.inheritable_metadata),
        overrides=dict(overrides),
        configurable={k: v for k, v in configurable.items() if isinstance(v, (str, int))},
    )
    return cast("RunnableConfig", {**config, "callbacks": manager, "run_id": run_id}), context


@contextmanager
def published(owner: object, config: RunnableConfig | None) -> Iterator[RunnableConfig]:
    """The run's config, with its identity published for ``owner``'s ``_stream`` meanwhile."""
    run_config, context = _enter(owner, config)
    token = _run_context.set(context)
    try:
        yield run_config
    finally:
        _run_context.reset(token)


def current(owner: object) -> RunContext | None:
    """The published run of ``owner``; None outside its entry points (or for another router)."""
    context = _run_context.get()
    return context if context is not None and context.owner == id(owner) else None


def parent_of(
    owner: object,
    run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None,
) -> Parent:
    """The router's run from its run manager, or from the published context."""
    if run_manager is not None:
        parent = Parent(
            run_manager.run_id,
            list(run_manager.inheritable_handlers),
            list(run_manager.inheritable_tags),
            dict(run_manager.inheritable_metadata),
        )
    else:
        context = current(owner)
        if context is None:
            return Parent(None, [], [], {})
        parent = Parent(context.run_id, context.handlers, context.tags, context.metadata)
    # The router's LangSmith identity must not leak into the classifier's run.
    metadata = {k: v for k, v in parent.metadata.items() if not k.startswith("ls_")}
    return Parent(parent.run_id, list(parent.handlers), list(parent.tags), metadata)


def child_callbacks(
    parent: Parent, manager_cls: type[CallbackManager] | type[AsyncCallbackManager]
) -> CallbackManager | AsyncCallbackManager:
    """Callbacks bound to the router's run: its events, and the classifier's parent."""
    return manager_cls(
        handlers=list(parent.handlers),
        inheritable_handlers=list(parent.handlers),
        parent_run_id=parent.run_id,
        tags=list(parent.tags),
        inheritable_tags=list(parent.tags),
        metadata=dict(parent.metadata),
        inheritable_metadata=dict(parent.metadata),
    )


def classifier_config(
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


def standalone_parent(config: RunnableConfig | None) -> Parent:
    """A parent for a call outside any router run (``route()``): the config's callbacks."""
    manager = _configured(ensure_config(config))
    return Parent(None, list(manager.handlers), list(manager.tags), dict(manager.metadata))


def _configured(config: RunnableConfig) -> CallbackManager:
    """LangChain's callback manager for ``config`` (its configure hooks included)."""
    return CallbackManager.configure(
        config.get("callbacks"), None, False, config.get("tags"), None, config.get("metadata")
    )


async def end_cancelled_run(run_config: RunnableConfig, error: BaseException) -> None:
    """Report ``error`` as the end of the router's run (``run_config`` from :func:`published`)."""
    manager = run_config.get("callbacks")
    run_id = run_config.get("run_id")
    if not isinstance(manager, CallbackManager) or run_id is None:
        return
    run = AsyncCallbackManagerForLLMRun(
        run_id=run_id,
        handlers=list(manager.handlers),
        inheritable_handlers=list(manager.inheritable_handlers),
        parent_run_id=manager.parent_run_id,
        tags=list(manager.tags),
        inheritable_tags=list(manager.inheritable_tags),
        metadata=dict(manager.metadata),
        inheritable_metadata=dict(manager.inheritable_metadata),
    )
    await run.on_llm_error(error)
