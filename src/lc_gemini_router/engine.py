"""How the routing pipeline is run: written once, driven blocking or with awaits.

The pipeline (``GeminiRouter._flow``) is a generator that does no I/O of its own
("sans-IO", as in h11): it yields small effect records (call the classifier, call a
lane, open a lane's stream, read the next chunk, emit an event, ask a state store)
and receives each effect's result, or its exception, back. :func:`drive` carries the
effects out with blocking calls, :func:`adrive` with awaits. So invoke, ainvoke,
stream and astream share every rule, decision, fallback and annotation; the two
drivers differ only where a call blocks or awaits.

Both drivers are generators that yield each :class:`Out` chunk the pipeline passes
on (streaming) and end with one :class:`Done` holding the pipeline's return value.

Example:
    >>> from lc_gemini_router.engine import Done, State, drive
    >>> def flow():
    ...     value = yield State(store, "peek", ("k",))
    ...     return value
    >>> class Store:
    ...     def peek(self, key): return key == "k"
    >>> store = Store()
    >>> list(drive(flow(), executor=None))
    [Done(value=True)]
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Sequence
from concurrent.futures import Executor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import agenerate_from_stream, generate_from_stream
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.runnables import Runnable, RunnableConfig

from lc_gemini_router.lanes.speculation import AsyncStreamPump, StreamPump

__all__ = [
    "Cancel",
    "ClassifierTimeout",
    "Classify",
    "Done",
    "Effect",
    "Emit",
    "Flow",
    "Generate",
    "LaneCall",
    "NextChunk",
    "OpenStream",
    "Out",
    "Speculate",
    "State",
    "adrive",
    "aresult_of",
    "drive",
    "result_of",
]


class ClassifierTimeout(Exception):
    """The classifier missed its deadline (the call goes on; its cost is still reported)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"timeout after {seconds}s")


@dataclass(frozen=True)
class LaneCall:
    """What every lane effect needs: the model and the arguments of one call."""

    model: BaseChatModel
    messages: list[BaseMessage]
    stop: list[str] | None
    run_manager: Any
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Classify:
    """Call the classifier's structured-output runnable within ``deadline`` seconds."""

    runnable: Runnable[Any, Any]
    prompt: list[BaseMessage]
    config: RunnableConfig
    deadline: float


@dataclass(frozen=True)
class Generate:
    """One complete answer: from ``call`` or, when given, by folding a speculative pump."""

    call: LaneCall
    pump: StreamPump | AsyncStreamPump | None = None


@dataclass(frozen=True)
class OpenStream:
    """Open a lane's stream (or a pump's); the result is an iterator for :class:`NextChunk`."""

    call: LaneCall
    pump: StreamPump | AsyncStreamPump | None = None


@dataclass(frozen=True)
class NextChunk:
    """The next chunk of an opened stream, or None at its end."""

    stream: Any


@dataclass(frozen=True)
class Speculate:
    """Start ``call``'s stream in the background; the result is a pump."""

    call: LaneCall


@dataclass(frozen=True)
class Cancel:
    """Stop a pump; after this its tally no longer changes."""

    pump: StreamPump | AsyncStreamPump


@dataclass(frozen=True)
class Emit:
    """A custom event on the router's run (``manager.on_custom_event``)."""

    manager: Any
    name: str
    payload: dict[str, Any]
    run_id: Any


@dataclass(frozen=True)
class State:
    """``target.method(*args)``, or ``await target.a<method>(*args)`` when async."""

    target: Any
    method: str
    args: Sequence[Any] = ()


@dataclass(frozen=True)
class Out:
    """A chunk for the caller of a stream."""

    chunk: ChatGenerationChunk


@dataclass(frozen=True)
class Done:
    """The pipeline's return value, last item of a driver."""

    value: Any


Effect = Classify | Generate | OpenStream | NextChunk | Speculate | Cancel | Emit | State | Out
Flow = Generator[Effect, Any, Any]


def drive(
    flow: Flow, *, executor: Callable[[], Executor] | None
) -> Iterator[ChatGenerationChunk | Done]:
    """Run ``flow`` with blocking calls.

    ``executor`` gives the pool that runs the classifier under its deadline and the
    speculative streams; it is asked only when one is needed (a rule-decided call never
    touches it). None runs the classifier inline, without a deadline.
    """
    send: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                effect = flow.throw(error) if error is not None else flow.send(send)
            except StopIteration as stop:
                yield Done(stop.value)
                return
            send, error = None, None
            if isinstance(effect, Out):
                yield effect.chunk
                continue
            try:
                send = _run(effect, executor)
            except Exception as exc:  # handed to the pipeline, which decides
                error = exc
    finally:
        flow.close()  # a caller that stops reading closes the lane's stream too


async def adrive(
    flow: Flow, *, background: set[asyncio.Task[Any]]
) -> AsyncIterator[ChatGenerationChunk | Done]:
    """Run ``flow`` with awaits; late classifier tasks are kept in ``background``."""
    send: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                effect = flow.throw(error) if error is not None else flow.send(send)
            except StopIteration as stop:
                yield Done(stop.value)
                return
            send, error = None, None
            if isinstance(effect, Out):
                yield effect.chunk
                continue
            try:
                send = await _arun(effect, background)
            except Exception as exc:
                error = exc
    finally:
        flow.close()


def result_of(items: Iterator[ChatGenerationChunk | Done]) -> Any:
    """The :class:`Done` value of a driver run that streams nothing."""
    for item in items:
        if isinstance(item, Done):
            return item.value
    msg = "the pipeline ended without a result"
    raise RuntimeError(msg)


async def aresult_of(items: AsyncIterator[ChatGenerationChunk | Done]) -> Any:
    """:func:`result_of` for :func:`adrive`."""
    async for item in items:
        if isinstance(item, Done):
            return item.value
    msg = "the pipeline ended without a result"
    raise RuntimeError(msg)


def _run(effect: Effect, executor: Callable[[], Executor] | None) -> Any:
    if isinstance(effect, State):
        return getattr(effect.target, effect.method)(*effect.args)
    if isinstance(effect, NextChunk):
        return next(effect.stream, None)
    if isinstance(effect, Emit):
        return effect.manager.on_custom_event(effect.name, effect.payload, run_id=effect.run_id)
    if isinstance(effect, Classify):
        return _classify(effect, executor)
    if isinstance(effect, (Generate, OpenStream)):
        pump = effect.pump
        if isinstance(pump, StreamPump):
            return generate_from_stream(iter(pump)) if isinstance(effect, Generate) else iter(pump)
        c = effect.call
        lane = c.model._generate if isinstance(effect, Generate) else c.model._stream
        return lane(c.messages, stop=c.stop, run_manager=c.run_manager, **c.kwargs)
    if isinstance(effect, Speculate):
        c = effect.call
        # No run manager: speculative tokens must not reach the caller's stream.
        return StreamPump(
            lambda: c.model._stream(c.messages, stop=c.stop, **c.kwargs),
            executor=executor() if executor is not None else None,
        )
    if isinstance(effect, Cancel):
        return effect.pump.cancel()
    msg = f"unknown effect {effect!r}"
    raise TypeError(msg)


async def _arun(effect: Effect, background: set[asyncio.Task[Any]]) -> Any:
    if isinstance(effect, State):
        return await getattr(effect.target, f"a{effect.method}")(*effect.args)
    if isinstance(effect, NextChunk):
        return await anext(effect.stream, None)
    if isinstance(effect, Emit):
        manager = effect.manager
        return await manager.on_custom_event(effect.name, effect.payload, run_id=effect.run_id)
    if isinstance(effect, Classify):
        return await _aclassify(effect, background)
    if isinstance(effect, (Generate, OpenStream)):
        pump = effect.pump
        if isinstance(pump, AsyncStreamPump):
            if isinstance(effect, Generate):
                return await agenerate_from_stream(pump.__aiter__())
            return pump.__aiter__()
        c = effect.call
        if isinstance(effect, Generate):
            return await c.model._agenerate(
                c.messages, stop=c.stop, run_manager=c.run_manager, **c.kwargs
            )
        return c.model._astream(c.messages, stop=c.stop, run_manager=c.run_manager, **c.kwargs)
    if isinstance(effect, Speculate):
        c = effect.call
        return AsyncStreamPump(lambda: c.model._astream(c.messages, stop=c.stop, **c.kwargs))
    if isinstance(effect, Cancel):
        pump = effect.pump
        assert isinstance(pump, AsyncStreamPump)
        return await pump.cancel()
    msg = f"unknown effect {effect!r}"
    raise TypeError(msg)


def _classify(effect: Classify, executor: Callable[[], Executor] | None) -> Any:
    if executor is None:
        return effect.runnable.invoke(effect.prompt, effect.config)
    # The call runs on the router's executor so the caller can stop waiting at the
    # deadline; the call itself goes on and still reports its cost.
    context = contextvars.copy_context()
    future = executor().submit(context.run, effect.runnable.invoke, effect.prompt, effect.config)
    try:
        return future.result(timeout=effect.deadline)
    except FutureTimeout:
        raise ClassifierTimeout(effect.deadline) from None


async def _aclassify(effect: Classify, background: set[asyncio.Task[Any]]) -> Any:
    task = asyncio.ensure_future(effect.runnable.ainvoke(effect.prompt, effect.config))
    # Keep a reference until it ends: a late classifier still reports its cost.
    background.add(task)
    task.add_done_callback(background.discard)
    try:
        return await asyncio.wait_for(asyncio.shield(task), timeout=effect.deadline)
    except asyncio.TimeoutError:
        task.add_done_callback(_consume_exception)
        raise ClassifierTimeout(effect.deadline) from None


def _consume_exception(task: asyncio.Task[Any]) -> None:
    # A late classifier that then fails must not log "exception never retrieved".
    if not task.cancelled():
        task.exception()
