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
import contextlib
import contextvars
import threading
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Sequence
from concurrent.futures import Executor, Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import agenerate_from_stream, generate_from_stream
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.runnables import Runnable, RunnableConfig

from lc_gemini_router.lanes.speculation import AsyncStreamPump, LaneTimeout, StreamPump, until

__all__ = [
    "Admission",
    "Cancel",
    "ClassifierBusy",
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


class ClassifierBusy(Exception):
    """Every classifier slot stayed taken for the admission wait: the call was not sent."""

    def __init__(self, limit: int, waited: float) -> None:
        super().__init__(f"classifier busy: {limit} calls in flight for {waited}s")


class Admission:
    """How many classifier calls one router has in flight, and how long a call waits.

    Classifier calls, sync and async alike, run on the router's pool of ``limit``
    threads. A call waits at most ``wait_seconds`` for a thread, then skips the
    classifier (:class:`ClassifierBusy`; the rules' fallback lane answers), and its
    deadline starts when a thread takes it, that is when it is sent.
    """

    def __init__(self, limit: int, wait_seconds: float) -> None:
        self.limit = limit
        self.wait_seconds = wait_seconds


@dataclass(frozen=True)
class LaneCall:
    """What every lane effect needs: the model and the arguments of one call."""

    model: BaseChatModel
    messages: list[BaseMessage]
    stop: list[str] | None
    run_manager: Any
    kwargs: dict[str, Any] = field(default_factory=dict)
    deadline: float | None = None
    """Seconds the whole reply may take (``RouterConfig.lane_deadline_seconds``)."""


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
    flow: Flow,
    *,
    executor: Callable[[], Executor] | None,
    admission: Admission | None = None,
) -> Iterator[ChatGenerationChunk | Done]:
    """Run ``flow`` with blocking calls.

    ``executor`` gives the pool that runs the classifier under its deadline; it is asked
    only when one is needed (a rule-decided call never touches it). None runs the
    classifier inline, without a deadline. ``admission`` bounds the wait for a pool
    thread (without it, the wait is the deadline). Speculative and deadline-bounded lane
    streams are read on threads of their own, never on that pool: a lane stream holds
    its thread for the whole answer, and a burst of them would queue classifier calls
    (and each other, their deadlines running) behind the pool's few threads.
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
                send = _run(effect, executor, admission)
            except Exception as exc:  # handed to the pipeline, which decides
                error = exc
    finally:
        flow.close()  # a caller that stops reading closes the lane's stream too


async def adrive(
    flow: Flow,
    *,
    executor: Callable[[], Executor],
    admission: Admission | None = None,
) -> AsyncIterator[ChatGenerationChunk | Done]:
    """Run ``flow`` with awaits; the classifier runs on ``executor``'s threads (see
    :func:`drive`)."""
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
                send = await _arun(effect, executor, admission)
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


def _run(
    effect: Effect, executor: Callable[[], Executor] | None, admission: Admission | None
) -> Any:
    if isinstance(effect, State):
        return getattr(effect.target, effect.method)(*effect.args)
    if isinstance(effect, NextChunk):
        return next(effect.stream, None)
    if isinstance(effect, Emit):
        return effect.manager.on_custom_event(effect.name, effect.payload, run_id=effect.run_id)
    if isinstance(effect, Classify):
        return _classify(effect, executor, admission)
    if isinstance(effect, (Generate, OpenStream)):
        pump = effect.pump
        if isinstance(pump, StreamPump):
            return generate_from_stream(iter(pump)) if isinstance(effect, Generate) else iter(pump)
        c = effect.call
        if c.deadline is not None:
            return _bounded(effect, c)
        lane = c.model._generate if isinstance(effect, Generate) else c.model._stream
        return lane(c.messages, stop=c.stop, run_manager=c.run_manager, **c.kwargs)
    if isinstance(effect, Speculate):
        c = effect.call
        # No run manager: speculative tokens must not reach the caller's stream.
        return StreamPump(lambda: c.model._stream(c.messages, stop=c.stop, **c.kwargs))
    if isinstance(effect, Cancel):
        return effect.pump.cancel()
    msg = f"unknown effect {effect!r}"
    raise TypeError(msg)


async def _arun(
    effect: Effect, executor: Callable[[], Executor], admission: Admission | None
) -> Any:
    if isinstance(effect, State):
        return await getattr(effect.target, f"a{effect.method}")(*effect.args)
    if isinstance(effect, NextChunk):
        return await anext(effect.stream, None)
    if isinstance(effect, Emit):
        manager = effect.manager
        return await manager.on_custom_event(effect.name, effect.payload, run_id=effect.run_id)
    if isinstance(effect, Classify):
        return await _aclassify(effect, executor, admission)
    if isinstance(effect, (Generate, OpenStream)):
        pump = effect.pump
        if isinstance(pump, AsyncStreamPump):
            if isinstance(effect, Generate):
                return await agenerate_from_stream(pump.__aiter__())
            return pump.__aiter__()
        c = effect.call
        if isinstance(effect, Generate):
            call = c.model._agenerate(
                c.messages, stop=c.stop, run_manager=c.run_manager, **c.kwargs
            )
            if c.deadline is None:
                return await call
            try:
                return await asyncio.wait_for(call, timeout=c.deadline)
            except asyncio.TimeoutError:
                raise LaneTimeout(c.deadline) from None
        stream = c.model._astream(c.messages, stop=c.stop, run_manager=c.run_manager, **c.kwargs)
        return stream if c.deadline is None else until(stream, time.monotonic() + c.deadline)
    if isinstance(effect, Speculate):
        c = effect.call
        return AsyncStreamPump(lambda: c.model._astream(c.messages, stop=c.stop, **c.kwargs))
    if isinstance(effect, Cancel):
        pump = effect.pump
        assert isinstance(pump, AsyncStreamPump)
        return await pump.cancel()
    msg = f"unknown effect {effect!r}"
    raise TypeError(msg)


def _bounded(effect: Generate | OpenStream, c: LaneCall) -> Any:
    """A lane call under its deadline: the stream is read on a thread of its own, so the
    caller can stop waiting on a reply that trickles in (each read within the client's
    timeout, the whole far beyond it); the abandoned read ends on its thread."""
    pump = StreamPump(
        lambda: c.model._stream(c.messages, stop=c.stop, run_manager=c.run_manager, **c.kwargs)
    )
    assert c.deadline is not None
    chunks = pump.until(time.monotonic() + c.deadline)
    return generate_from_stream(chunks) if isinstance(effect, Generate) else chunks


def _submit(
    effect: Classify, executor: Callable[[], Executor], on_start: Callable[[], None]
) -> Future[Any]:
    context = contextvars.copy_context()  # callbacks, tracing, the cost hook

    def call() -> Any:
        on_start()
        return context.run(effect.runnable.invoke, effect.prompt, effect.config)

    return executor().submit(call)


def _queue_limit(effect: Classify, admission: Admission | None) -> tuple[float, Exception]:
    """How long a call may wait for a pool thread, and what it raises when withdrawn:
    the admission wait and :class:`ClassifierBusy`, or without admission the deadline."""
    if admission is None:
        return effect.deadline, ClassifierTimeout(effect.deadline)
    return admission.wait_seconds, ClassifierBusy(admission.limit, admission.wait_seconds)


def _classify(
    effect: Classify, executor: Callable[[], Executor] | None, admission: Admission | None
) -> Any:
    if executor is None:
        return effect.runnable.invoke(effect.prompt, effect.config)
    # On the pool the caller can stop waiting at the deadline; a call already sent
    # goes on and still reports its cost.
    started = threading.Event()
    future = _submit(effect, executor, started.set)
    wait, withdrawn = _queue_limit(effect, admission)
    # A call still queued when its caller stops waiting is withdrawn, never sent.
    if not started.wait(wait) and future.cancel():
        raise withdrawn
    try:
        return future.result(timeout=effect.deadline)  # counted from when it was sent
    except FutureTimeout:
        raise ClassifierTimeout(effect.deadline) from None


async def _aclassify(
    effect: Classify, executor: Callable[[], Executor], admission: Admission | None
) -> Any:
    # The classifier's one small request runs blocking on a pool thread, not on the
    # caller's loop: under a burst of hundreds of calls that loop has seconds of CPU
    # work queued, and every read of a classifier reply arriving in 50 ms would wait
    # behind it until the deadline expired on work that is not the classifier's.
    loop = asyncio.get_running_loop()
    started: asyncio.Future[None] = loop.create_future()

    def on_start() -> None:
        with contextlib.suppress(RuntimeError):  # the caller's loop has ended
            loop.call_soon_threadsafe(_resolve, started)

    future = _submit(effect, executor, on_start)
    wait, withdrawn = _queue_limit(effect, admission)
    try:
        await asyncio.wait_for(asyncio.shield(started), timeout=wait)
    except asyncio.TimeoutError:
        if future.cancel():  # still queued: withdrawn, never sent
            raise withdrawn from None
    except asyncio.CancelledError:
        future.cancel()  # the caller has gone: withdrawn if not sent yet
        raise
    answer = asyncio.wrap_future(future)
    answer.add_done_callback(_consume_exception)
    try:
        return await asyncio.wait_for(asyncio.shield(answer), timeout=effect.deadline)
    except asyncio.TimeoutError:
        raise ClassifierTimeout(effect.deadline) from None


def _resolve(started: asyncio.Future[None]) -> None:
    if not started.done():
        started.set_result(None)


def _consume_exception(answer: asyncio.Future[Any]) -> None:
    # A late classifier that then fails must not log "exception never retrieved".
    if not answer.cancelled():
        answer.exception()
