"""The guards around one classifier call: cache, circuit breaker, deadline, failure.

:func:`guarded` is a pipeline step (a sans-IO generator, see
:mod:`lc_gemini_router.engine`): it yields the store and breaker lookups and the call
itself, so the router's classifier step and :class:`GeminiDecisionModel` share it and
run it under ``invoke`` and ``ainvoke`` alike. A call that misses its deadline is not
cancelled: it finishes in the background and its run still reports its cost.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from lc_gemini_router.classify.prompt import bounded
from lc_gemini_router.classify.questions import ReplyError
from lc_gemini_router.engine import ClassifierBusy, ClassifierTimeout, Classify, Effect, State
from lc_gemini_router.errors import ClassifierError

__all__ = ["CIRCUIT_OPEN", "Guarded", "guarded"]

T = TypeVar("T")

CIRCUIT_OPEN = "classifier circuit open (cooling down)"


@dataclass(frozen=True)
class Guarded(Generic[T]):
    """What one guarded call gave: a value, or why there is none."""

    value: T | None
    error: str | None = None
    """Why there is no value (bounded): ``"timeout after 2.0s"``, the circuit, the error."""
    cached: bool = False
    """The value came from the store: no call was made."""
    usage: Mapping[str, Any] | None = None
    """Usage of a call that failed after it was billed (a reply off the schema)."""
    model: str | None = None


def _why(exc: Exception) -> str:
    if isinstance(exc, ReplyError):
        return bounded(f"classifier output failed the schema: {exc}")
    return bounded(f"{type(exc).__name__}: {exc}")


def guarded(
    store: Any,
    breaker: Any,
    key: str,
    call: Classify,
    accept: Callable[[Any], T],
) -> Generator[Effect, Any, Guarded[T]]:
    """A stored value for ``key``, or ``call`` (when the breaker allows) through ``accept``.

    ``store`` has ``get``/``put`` (and ``aget``/``aput``), ``breaker`` the
    :class:`~lc_gemini_router.state.Breaker` methods; either may be None. ``accept``
    turns the call's result into the value and raises to reject it.
    """
    if store is not None and key:
        hit = yield State(store, "get", (key,))
        if hit is not None:
            return Guarded(hit, cached=True)
    if breaker is not None and not (yield State(breaker, "allow")):
        return Guarded(None, CIRCUIT_OPEN)
    try:
        value = accept((yield call))
    except ClassifierBusy as exc:  # never sent: not a fault of the classifier
        return Guarded(None, str(exc))
    except ClassifierTimeout as exc:
        if breaker is not None:
            yield State(breaker, "record_failure")
        return Guarded(None, str(exc))
    except Exception as exc:  # any failure of the call falls back (or is raised) by the caller
        if breaker is not None:
            yield State(breaker, "record_failure")
        usage = exc.usage if isinstance(exc, ClassifierError) else None
        model = exc.model if isinstance(exc, ClassifierError) else None
        return Guarded(None, _why(exc), usage=usage, model=model)
    if breaker is not None:
        yield State(breaker, "record_success")
    if store is not None and key:
        yield State(store, "put", (key, value))
    return Guarded(value)
