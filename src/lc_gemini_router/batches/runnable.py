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

__all__ = ["BATCH_LANE", "batch_arguments", "batch_outputs"]

BATCH_LANE = "batch"
"""``lane=`` value that sends ``batch()`` through the Gemini Batch API."""


def batch_arguments(
    settings: RouterConfig,
    config: RunnableConfig | Sequence[RunnableConfig] | None,
    kwargs: Mapping[str, Any],
) -> tuple[RunnableConfig | None, dict[str, Any]] | None:
    """The run config and per-call arguments for the batch lane, or None when the call
    does not ask for it. One config serves the whole job: the first of a list."""
    first = config if config is None or isinstance(config, dict) else next(iter(config), None)
    tags = set((first or {}).get("tags") or ())
    if kwargs.get("lane") != BATCH_LANE and not settings.batch_tags & tags:
        return None
    rest = {k: v for k, v in kwargs.items() if not (k == "lane" and v == BATCH_LANE)}
    return first, rest


def batch_outputs(results: Sequence[BatchResult], *, return_exceptions: bool) -> list[AIMessage]:
    """``batch()``'s outputs: the answers, with errors raised or (as LangChain's
    ``return_exceptions`` does, outside the declared type) in their place."""
    if not return_exceptions:
        for result in results:
            if isinstance(result, BatchItemError):
                raise result
    return cast("list[AIMessage]", list(results))
