"""Handlers for every LangChain run inside a ``with`` block: one configure hook, any nesting.

LangChain attaches the value of a registered ``ContextVar`` to every run it configures
(``register_configure_hook``). This module registers one, holding a fan-out to the
handlers of all enclosing blocks, so blocks nest and each handler counts with its own
settings. Importing it registers the hook: the package imports it only with the handler.

A ``ContextVar`` does not reach a thread that starts with an empty context (a plain
``ThreadPoolExecutor`` worker). :func:`attached_everywhere` covers those: a second hook,
registered on first use, whose variable's *default* is a process-wide fan-out, so every
thread sees it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.tracers.context import register_configure_hook

__all__ = ["attached", "attached_everywhere"]


class _ActiveHandlers(BaseCallbackHandler):
    """Fans LangChain's callbacks out to every handler of the enclosing ``with`` blocks.

    One configure hook serves any nesting depth, and each handler prices the calls
    itself, with its own catalog, tier and reference model.
    """

    raise_error = False
    run_inline = True

    def __init__(self, handlers: tuple[BaseCallbackHandler, ...]) -> None:
        super().__init__()
        self.handlers = handlers

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        for handler in self.handlers:
            handler.on_chat_model_start(*args, **kwargs)

    def on_llm_start(self, *args: Any, **kwargs: Any) -> None:
        for handler in self.handlers:
            handler.on_llm_start(*args, **kwargs)

    def on_llm_end(self, *args: Any, **kwargs: Any) -> None:
        for handler in self.handlers:
            handler.on_llm_end(*args, **kwargs)

    def on_llm_error(self, *args: Any, **kwargs: Any) -> None:
        for handler in self.handlers:
            handler.on_llm_error(*args, **kwargs)

    def on_custom_event(self, *args: Any, **kwargs: Any) -> None:
        for handler in self.handlers:
            handler.on_custom_event(*args, **kwargs)

    def on_chain_start(self, *args: Any, **kwargs: Any) -> None:
        for handler in self.handlers:
            handler.on_chain_start(*args, **kwargs)

    def on_chain_end(self, *args: Any, **kwargs: Any) -> None:
        for handler in self.handlers:
            handler.on_chain_end(*args, **kwargs)

    def on_chain_error(self, *args: Any, **kwargs: Any) -> None:
        for handler in self.handlers:
            handler.on_chain_error(*args, **kwargs)


_active_handlers: ContextVar[_ActiveHandlers | None] = ContextVar(
    "lc_gemini_router_cost_callbacks", default=None
)
register_configure_hook(_active_handlers, inheritable=True)


@contextmanager
def attached(handler: BaseCallbackHandler) -> Iterator[None]:
    """Attach ``handler`` to every LangChain run started in this context until the block ends.

    The handler joins those of enclosing blocks; it is detached even if the block raises.
    """
    outer = _active_handlers.get()
    token = _active_handlers.set(_ActiveHandlers((*(outer.handlers if outer else ()), handler)))
    try:
        yield
    finally:
        _active_handlers.reset(token)


_everywhere = _ActiveHandlers(())
"""The process-wide fan-out; its ``handlers`` tuple is replaced, never mutated."""
_everywhere_lock = threading.Lock()
_everywhere_hooks: list[ContextVar[_ActiveHandlers | None]] = []


@contextmanager
def attached_everywhere(handler: BaseCallbackHandler) -> Iterator[None]:
    """Attach ``handler`` to every LangChain run in the process, from any thread.

    The hook is registered on first use and stays (LangChain has no way to remove
    one): afterwards every run carries the fan-out, which does nothing while empty.
    """
    with _everywhere_lock:
        if not _everywhere_hooks:
            hook: ContextVar[_ActiveHandlers | None] = ContextVar(
                "lc_gemini_router_process_cost_callbacks", default=_everywhere
            )
            register_configure_hook(hook, inheritable=True)
            _everywhere_hooks.append(hook)
        _everywhere.handlers = (*_everywhere.handlers, handler)
    try:
        yield
    finally:
        with _everywhere_lock:
            _everywhere.handlers = tuple(h for h in _everywhere.handlers if h is not handler)
