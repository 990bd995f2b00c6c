"""Speculative start: run the lite lane while the classifier decides.

With ``RouterConfig(speculative=True)``, a call that needs the classifier also starts
the lite lane's stream at once, in the background, and buffers its chunks. If the
decision is lite, the answer is already under way (a stream's first token is not
delayed by the classifier); if it escalates, the speculative stream is closed and
the tokens it consumed are reported as wasted spend.

Both pumps read the lane's *stream*, even for ``invoke``: a stream can be closed
mid-way, and the usage of the chunks received so far says what the cancelled work
cost. ``cancel`` freezes that tally at once in both (the sync pump stops counting,
the async one is cancelled), so the waste is reported right after the decision,
without waiting for the lane. A stream closed before its first chunk has reported
no usage; its cost is then estimated from the prompt size and flagged as an estimate.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from langchain_core.outputs import ChatGenerationChunk

from lc_gemini_router.callbacks.payloads import StreamTally

__all__ = ["AsyncStreamPump", "LaneTimeout", "StreamPump", "until"]


class _End:
    pass


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_END = _End()


class LaneTimeout(TimeoutError):
    """A lane's reply did not end within ``RouterConfig.lane_deadline_seconds``.

    A ``TimeoutError``: retryable, so a lane that fails before its first chunk is
    answered on its fallback lane.
    """

    def __init__(self, deadline: float | None) -> None:
        super().__init__("the lane's reply did not end within its deadline")
        self.deadline = deadline


async def until(
    stream: AsyncIterator[ChatGenerationChunk], deadline: float
) -> AsyncIterator[ChatGenerationChunk]:
    """``stream``'s chunks until ``deadline`` (``time.monotonic()``), then LaneTimeout."""
    try:
        while True:
            remaining = max(deadline - time.monotonic(), 0)
            try:
                chunk = await asyncio.wait_for(anext(stream), timeout=remaining)
            except StopAsyncIteration:
                return
            except asyncio.TimeoutError:
                raise LaneTimeout(deadline) from None
            yield chunk
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()


class StreamPump:
    """Pulls a lane's chunks in a background thread into a queue.

    Iterate it to receive the chunks (errors are re-raised in the consumer);
    :meth:`cancel` freezes the tally now and closes the lane's stream at its next
    chunk. It runs on a daemon thread of its own (never the router's classifier pool,
    whose few threads a stream would hold for a whole answer).
    """

    def __init__(self, open_stream: Callable[[], Iterator[ChatGenerationChunk]]) -> None:
        self.tally = StreamTally()
        """What the lane's chunks have reported until now (or until the cancel)."""
        self._queue: queue.Queue[Any] = queue.Queue()
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._done = threading.Event()
        context = contextvars.copy_context()
        thread = threading.Thread(target=context.run, args=(self._pump, open_stream), daemon=True)
        thread.start()

    def _pump(self, open_stream: Callable[[], Iterator[ChatGenerationChunk]]) -> None:
        stream: Iterator[ChatGenerationChunk] | None = None
        try:
            stream = open_stream()
            for chunk in stream:
                with self._lock:  # cancel() and counting never interleave
                    if self._cancelled.is_set():
                        break
                    self.tally.add(chunk)
                self._queue.put(chunk)
            self._queue.put(_END)
        except BaseException as exc:
            self._queue.put(_Failure(exc))
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # closes the HTTP response of a cancelled stream
            self._done.set()

    def __iter__(self) -> Iterator[ChatGenerationChunk]:
        return self.until(None)

    def until(self, deadline: float | None) -> Iterator[ChatGenerationChunk]:
        """The chunks, until ``deadline`` (a ``time.monotonic()`` instant, None: no end).

        Raises:
            LaneTimeout: the stream had not ended by the deadline (it is cancelled;
                a reply still trickling in is abandoned on its thread).
        """
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=None if remaining is None else max(remaining, 0))
            except queue.Empty:
                self.cancel()
                raise LaneTimeout(deadline) from None
            if isinstance(item, _End):
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item

    def cancel(self) -> None:
        """Stop counting now; the lane's stream is closed when its next chunk arrives."""
        with self._lock:
            self._cancelled.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the lane's stream is closed; True when it is."""
        return self._done.wait(timeout)


class AsyncStreamPump:
    """Pulls a lane's chunks in an asyncio task into a queue; :meth:`cancel` stops it."""

    def __init__(self, open_stream: Callable[[], AsyncIterator[ChatGenerationChunk]]) -> None:
        self.tally = StreamTally()
        """What the lane's chunks have reported so far."""
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._task = asyncio.ensure_future(self._pump(open_stream))

    async def _pump(self, open_stream: Callable[[], AsyncIterator[ChatGenerationChunk]]) -> None:
        stream = open_stream()
        try:
            async for chunk in stream:
                self.tally.add(chunk)
                self._queue.put_nowait(chunk)
            self._queue.put_nowait(_END)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._queue.put_nowait(_Failure(exc))
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()

    async def __aiter__(self) -> AsyncIterator[ChatGenerationChunk]:
        while True:
            item = await self._queue.get()
            if isinstance(item, _End):
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item

    async def cancel(self) -> None:
        """Cancel the task (closing the lane's HTTP stream) and wait until it has stopped."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
