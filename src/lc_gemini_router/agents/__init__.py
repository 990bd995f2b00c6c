"""Routing inside LangChain agents (``create_agent``); needs the ``[agents]`` extra."""

from lc_gemini_router.agents.middleware import GeminiRoutingMiddleware

__all__ = ["GeminiRoutingMiddleware"]
