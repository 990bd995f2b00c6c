"""GeminiRoutingMiddleware: the router's whole policy for every model call of an agent.

``create_agent`` hands each model call to ``wrap_model_call``; the middleware answers
it with a :class:`~lc_gemini_router.GeminiRouter` in place of the agent's model, so the
call goes through the one routing pipeline (nothing about routing is written here):

* the rules, then the Flash-Lite classifier (a decision-model run, marked and priced
  as classifier spend) for the first step of a user turn only: later steps of the
  turn stay on its lane (``sticky_turns``), read from the router's metadata on the
  turn's AI messages, which the agent keeps in its state;
* tool rounds escalate the turn (``tool_heavy_min_rounds`` -> ``pro_tools``);
* on a lane switch, other models' thought signatures are removed before the call;
* decision and cost events on the callback stream, decision and cost in each
  answer's ``response_metadata["lc_gemini_router"]``.

The agent's own tools, ``tool_choice``, ``response_format`` (tool or provider
strategy) and model settings reach the chosen lane unchanged, and other middleware
(summarisation, fallbacks, call limits, retries) wraps or follows as usual. The
router's lanes answer: the model given to ``create_agent`` is not called.

Example:
    >>> from lc_gemini_router import GeminiRoutingMiddleware, RouterConfig
    >>> middleware = GeminiRoutingMiddleware(config=RouterConfig(), api_key="...")
    >>> middleware.router.config.lanes["pro_tools"]
    'gemini-3.1-pro-preview-customtools'
    >>> from langchain.agents import create_agent  # doctest: +SKIP
    >>> agent = create_agent(middleware.router, tools, middleware=[middleware])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse

from lc_gemini_router.errors import ConfigError
from lc_gemini_router.router import GeminiRouter

__all__ = ["GeminiRoutingMiddleware"]


class GeminiRoutingMiddleware(AgentMiddleware):
    """Route every model call of a ``create_agent`` agent through a GeminiRouter.

    Args:
        router: the router to use; by default one is built from ``router_kwargs``
            (``GeminiRouter(**router_kwargs)``: ``config``, ``api_key``, lanes, ...).
    """

    def __init__(self, router: GeminiRouter | None = None, **router_kwargs: Any) -> None:
        if router is not None and router_kwargs:
            msg = f"pass a router or router settings, not both ({', '.join(sorted(router_kwargs))})"
            raise ConfigError(msg)
        self.router = router if router is not None else GeminiRouter(**router_kwargs)

    def _routed(self, request: ModelRequest[Any]) -> ModelRequest[Any]:
        return request.override(model=self.router)

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> ModelResponse[Any]:
        return handler(self._routed(request))

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any]:
        return await handler(self._routed(request))
