"""The batch lane behind LangChain's ``batch()`` / ``abatch()``: chains can use it as is.

``router.batch(inputs, lane="batch")``, or a run tagged with one of
``RouterConfig.batch_tags`` (``chain.batch(docs, config={"tags": ["nightly"]})``), is
submitted as a batch job and waited for; the answers come back in input order, as
``batch()`` returns them. A request Gemini failed (after the job's re-queues) raises its
:class:`~lc_gemini_router.BatchItemError`, or takes its place with
``return_exceptions=True``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig

from lc_gemini_router.config import RouterConfig
from lc_gemini_router.errors import BatchItemError

if TYPE_CHECKING:
    from lc_gemini_router.batches.job import BatchResult

__all__ = ["BATCH_LANE", "batch_outputs", "first_config", "wants_batch_lane"]

BATCH_LANE = "batch"
"""``lane=`` value that sends ``batch()`` through the Gemini Batch API."""


def first_config(config: RunnableConfig | Sequence[RunnableConfig] | None) -> RunnableConfig | None:
    """The config a batch job runs with: one serves the whole job, the first of a list."""
    return config if config is None or isinstance(config, dict) else next(iter(config), None)


def wants_batch_lane(
    settings: RouterConfig,
    config: RunnableConfig | Sequence[RunnableConfig] | None,
    kwargs: Mapping[str, Any],
) -> bool:
    """Whether a ``batch()`` call asks for the batch lane: ``lane="batch"``, or a run tag
    in ``settings.batch_tags``."""
    tags = set((first_config(config) or {}).get("tags") or ())
    return kwargs.get("lane") == BATCH_LANE or bool(settings.batch_tags & tags)


def batch_outputs(results: Sequence[BatchResult], *, return_exceptions: bool) -> list[AIMessage]:
    """``batch()``'s outputs: the answers, with errors raised or (as LangChain's
    ``return_exceptions`` does, outside the declared type) in their place."""
    if not return_exceptions:
        for result in results:
            if isinstance(result, BatchItemError):
                raise result
    return cast("list[AIMessage]", list(results))
