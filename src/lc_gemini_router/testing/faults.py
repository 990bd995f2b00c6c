"""Fault injection: Google-style error answers and delays, per model or for every model.

`GeminiSimulator` takes these methods from :class:`FaultInjection`; the error bodies are
the ones Gemini sends (``{"error": {"code", "message", "status"}}``), so the real client
raises the same exception classes it raises against Gemini. The Batch and Files API
handlers raise :class:`ApiError` for theirs; :func:`rpc_status` turns a body into the
``google.rpc.Status`` (canonical code, message) a failed batch item carries.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Generic, TypeVar

__all__ = ["ApiError", "FaultInjection", "ModelQueues", "error_body", "rpc_status"]

_STATUS_NAMES = {  # google.rpc.Code names Gemini puts in error bodies
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
# google.rpc.Code numbers: a google.rpc.Status (an Operation's or a batch item's
# ``error``) carries these, not the HTTP status.
_RPC_CODES = {
    "CANCELLED": 1,
    "UNKNOWN": 2,
    "INVALID_ARGUMENT": 3,
    "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5,
    "ALREADY_EXISTS": 6,
    "PERMISSION_DENIED": 7,
    "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9,
    "INTERNAL": 13,
    "UNAVAILABLE": 14,
    "UNAUTHENTICATED": 16,
}
_STATUS_MESSAGES = {
    400: "Request contains an invalid argument.",
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred. Please retry or report it.",
    503: "The model is overloaded. Please try again later.",
}

T = TypeVar("T")


def error_body(
    status: int, message: str | None = None, *, status_name: str | None = None
) -> dict[str, Any]:
    """The JSON body Gemini answers an error with (``status_name`` overrides the
    name the HTTP status implies, e.g. ``FAILED_PRECONDITION`` for a 400)."""
    return {
        "error": {
            "code": status,
            "message": message or _STATUS_MESSAGES.get(status, f"Simulated error {status}."),
            "status": status_name or _STATUS_NAMES.get(status, "UNKNOWN"),
        }
    }


def rpc_status(body: dict[str, Any]) -> dict[str, Any]:
    """The ``google.rpc.Status`` of an error body: canonical code and message."""
    error = body["error"]
    return {"code": _RPC_CODES.get(str(error.get("status")), 2), "message": error["message"]}


class ApiError(Exception):
    """An error answer of the Batch or Files API: HTTP status, message, status name."""

    def __init__(self, status: int, message: str, *, status_name: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.status_name = status_name

    @property
    def body(self) -> dict[str, Any]:
        """The Google error body of this error."""
        return error_body(self.status, self.message, status_name=self.status_name)


class ModelQueues(Generic[T]):
    """FIFO queues per model, with a shared queue (key None) used when a model's is empty.

    Thread-safe: the server answers each request in its own thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str | None, deque[T]] = {}

    def extend(self, model: str | None, items: list[T]) -> None:
        with self._lock:
            self._queues.setdefault(model, deque()).extend(items)

    def pop(self, model: str) -> T | None:
        """The next item for ``model``: its own queue first, then the shared one."""
        with self._lock:
            for key in (model, None):
                queue = self._queues.get(key)
                if queue:
                    return queue.popleft()
        return None

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()


class FaultInjection:
    """Injected failures and delays; the simulator answers them before any script."""

    def __init__(self) -> None:
        self._failures: ModelQueues[tuple[int, str | None]] = ModelQueues()
        self._delays: dict[str | None, float] = {}
        self._delay_lock = threading.Lock()
        self._closing = threading.Event()

    def fail_next(
        self,
        status: int = 429,
        *,
        model: str | None = None,
        count: int = 1,
        message: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests (to ``model``, or any) with a Google error."""
        if not 400 <= status <= 599:
            msg = f"status must be an HTTP error code, got {status}"
            raise ValueError(msg)
        self._failures.extend(model, [(status, message)] * count)

    def set_delay(self, seconds: float, *, model: str | None = None) -> None:
        """Wait ``seconds`` before answering (per model, or the default for all)."""
        with self._delay_lock:
            if seconds > 0:
                self._delays[model] = seconds
            else:
                self._delays.pop(model, None)

    def _clear_faults(self) -> None:
        """Forget injected failures and delays."""
        self._failures.clear()
        with self._delay_lock:
            self._delays.clear()

    def _injected_failure(self, model: str) -> tuple[int, dict[str, Any]] | None:
        """Status and error body of the next failure injected for ``model`` (consumed)."""
        failure = self._failures.pop(model)
        return None if failure is None else (failure[0], error_body(*failure))

    def _pause(self, seconds: float) -> bool:
        """Wait ``seconds`` (a trickled reply's pause); True when the simulator closed."""
        return self._closing.wait(seconds)

    def _hold(self, model: str) -> bool:
        """Wait the delay set for ``model``; True when the simulator closed meanwhile."""
        with self._delay_lock:
            delay = self._delays.get(model, self._delays.get(None, 0.0))
        # Event.wait, not sleep: close() wakes every delayed request at once.
        return bool(delay) and self._closing.wait(delay)
