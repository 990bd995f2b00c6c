"""Errors and warnings of lc-gemini-router.

Every error the package raises derives from one root, and every warning from one
warning class, so callers can catch or filter the whole family at once::

    GeminiRouterError
    ├── ConfigError (also ValueError)         invalid configuration or price catalog;
    │   │                                     ``errors`` keeps pydantic's details
    │   ├── UnknownLaneError                  a lane name that does not exist
    │   └── RetiredModelError                 a model ID that Gemini has shut down
    ├── UnsupportedInputError (also ValueError) input the router cannot route
    ├── LaneError                             a lane failed after its retries, no fallback
    ├── BudgetExceededError                   no lane's worst-case cost fits a budget; raised
    │                                         before any request is sent
    ├── StoreUnavailableError                 a shared store (Redis) did not answer and the
    │                                         store is set to fail closed
    ├── BatchError                            the batch lane (Gemini Batch API)
    │   ├── BatchItemError                    one request Gemini failed inside a job: a
    │   │                                     result in ``job.results()``, not raised
    │   ├── BatchNotReadyError                results asked for before the job is final
    │   ├── BatchTimeoutError (TimeoutError)  ``wait()`` ran out of time
    │   └── UnknownBatchJobError (LookupError) a job id the batch store does not hold
    ├── ClassifierError                       a decision model gave no answer (timeout,
    │                                         open circuit, unusable reply); ``usage``
    │                                         keeps the tokens billed for the call
    ├── DatasetError (also ValueError)        an evaluation dataset that cannot be read
    │                                         (``lc_gemini_router.tools.evaluation``)
    └── CliError                              a command-line mistake
                                              (``lc_gemini_router.tools.cli``)

    GeminiRouterWarning (UserWarning)
    ├── UnknownPriceWarning                   a model with no price: its cost is None
    ├── UnverifiedPriceWarning                a price only secondary sources confirm
    ├── ModelLifecycleWarning                 a deprecated or shut-down model ID
    ├── ApiVersionWarning                     a lane whose API version does not serve its model
    └── StoreUnavailableWarning               a shared store did not answer; the call went on
                                              (fail-open)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError

__all__ = [
    "ApiVersionWarning",
    "BatchError",
    "BatchItemError",
    "BatchNotReadyError",
    "BatchTimeoutError",
    "BudgetExceededError",
    "ClassifierError",
    "ConfigError",
    "GeminiRouterError",
    "GeminiRouterWarning",
    "LaneError",
    "ModelLifecycleWarning",
    "RetiredModelError",
    "StoreUnavailableError",
    "StoreUnavailableWarning",
    "UnknownBatchJobError",
    "UnknownLaneError",
    "UnknownPriceWarning",
    "UnsupportedInputError",
    "UnverifiedPriceWarning",
]


class GeminiRouterError(Exception):
    """Root of every error raised by lc-gemini-router."""


class ConfigError(GeminiRouterError, ValueError):
    """Invalid configuration: a router setting, a price catalog, a lane.

    Attributes:
        errors: pydantic's error details (``loc``, ``msg``, ``type``, ``input``) when
            the setting failed validation; empty otherwise.
    """

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[Mapping[str, Any]] = (),
        problems: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.errors: tuple[Mapping[str, Any], ...] = tuple(errors)
        self.problems: tuple[tuple[str, str], ...] = tuple(problems)
        """``(field path, what is wrong)`` pairs, nested settings flattened."""

    @classmethod
    def from_validation(
        cls, what: str, exc: ValidationError, *, known: Iterable[str] = ()
    ) -> ConfigError:
        """One readable part per problem; an unknown name gets the closest known one."""
        names = list(known)
        problems: list[tuple[str, str]] = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            inner = (error.get("ctx") or {}).get("error")
            if isinstance(inner, ConfigError) and inner.problems:  # nested settings
                problems += [(f"{where}.{path}".strip("."), text) for path, text in inner.problems]
                continue
            text = str(error["msg"])
            if error["type"] == "extra_forbidden":
                text = unknown_name_hint(str(error["loc"][-1]), names, "setting")
            problems.append((where, text))
        message = "; ".join(f"{path or '(top level)'}: {text}" for path, text in problems)
        return cls(f"invalid {what}: {message}", errors=exc.errors(), problems=problems)


def unknown_name_hint(name: str, known: Iterable[str], kind: str) -> str:
    """``unknown setting 'x'; did you mean 'y'?`` (or the list of valid names)."""
    names = sorted(set(known))
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
    if close:
        return f"unknown {kind} {name!r}; did you mean {close[0]!r}?"
    return f"unknown {kind} {name!r}; valid: {', '.join(names)}" if names else f"unknown {kind}"


class UnknownLaneError(ConfigError):
    """A lane name that the router does not have."""

    def __init__(self, lane: str, known: tuple[str, ...]) -> None:
        self.lane = lane
        self.known = known
        msg = f"unknown lane {lane!r}; expected one of: {', '.join(known)}"
        super().__init__(msg)


class RetiredModelError(ConfigError):
    """A model ID that Gemini no longer serves; the message names its replacement."""

    def __init__(self, model: str, replacement: str | None, detail: str = "") -> None:
        self.model = model
        self.replacement = replacement
        msg = f"model {model!r} has been shut down"
        if detail:
            msg += f" ({detail})"
        if replacement:
            msg += f"; use {replacement!r} instead"
        super().__init__(msg)


class UnsupportedInputError(GeminiRouterError, ValueError):
    """Input the router cannot route (an empty message list, an unknown input type)."""


class ClassifierError(GeminiRouterError):
    """A decision model gave no answer: a timeout, an open circuit, an unusable reply.

    Attributes:
        usage: ``usage_metadata`` of the call when one was made and billed (a reply
            that failed the schema still cost its tokens), else None.
        model: the model that was called, when known.
    """

    def __init__(
        self, message: str, *, usage: Mapping[str, Any] | None = None, model: str | None = None
    ) -> None:
        super().__init__(message)
        self.usage = usage
        self.model = model


@dataclass(frozen=True)
class LaneFailure:
    """One lane that failed during a call: which, on what model, and why."""

    lane: str
    model: str
    error: BaseException

    def __str__(self) -> str:
        return (
            f"lane {self.lane!r} ({self.model}) failed: {type(self.error).__name__}: {self.error}"
        )


class LaneError(GeminiRouterError):
    """A lane's model failed after its own retries and no fallback lane answered.

    When fallback lanes were tried, ``failures`` lists every lane in the order tried,
    each with its own exception, and the message names each one; ``__cause__`` is
    the last lane's error.

    Attributes:
        lane: the last lane that failed (``"lite"``, ``"pro"``, ...).
        model: the model ID of that lane.
        failures: every lane tried, first to last.
    """

    def __init__(
        self,
        lane: str,
        model: str,
        cause: BaseException,
        *,
        earlier: Sequence[LaneFailure] = (),
    ) -> None:
        self.lane = lane
        self.model = model
        self.failures: tuple[LaneFailure, ...] = (*earlier, LaneFailure(lane, model, cause))
        if len(self.failures) == 1:
            msg = str(self.failures[0])
        else:
            tried = ", then ".join(str(f) for f in self.failures)
            msg = f"every lane tried failed ({len(self.failures)}): {tried}"
        super().__init__(msg)
        self.__cause__ = cause


class BudgetExceededError(GeminiRouterError):
    """A budget cannot cover the worst-case cost of any lane the call could take.

    Raised before the request is sent (nothing is billed), by a budget set to
    ``on_exceed="refuse"`` or when even the lite lane does not fit.

    Attributes:
        budget: the budget's name (``"user-day"``).
        scope: what the budget is kept per (``"global"``, ``"user"``, ...).
        key: the scope's value for this call (``"alice"``; ``"*"`` for global).
        limit, spent, reserved: the budget's window, in USD, when the call was refused.
        needed: the worst-case cost of the refused call, in USD.
        lane: the lane that did not fit.
    """

    def __init__(
        self,
        *,
        budget: str,
        scope: str,
        key: str,
        limit: Decimal,
        spent: Decimal,
        reserved: Decimal,
        needed: Decimal,
        lane: str,
    ) -> None:
        self.budget = budget
        self.scope = scope
        self.key = key
        self.limit = limit
        self.spent = spent
        self.reserved = reserved
        self.needed = needed
        self.lane = lane
        who = "" if scope == "global" else f" for {scope} {key!r}"
        msg = (
            f"budget {budget!r}{who} cannot cover lane {lane!r}: worst case ${needed}, "
            f"limit ${limit}, spent ${spent}, reserved ${reserved}"
        )
        super().__init__(msg)


class StoreUnavailableError(GeminiRouterError):
    """A shared store (Redis) did not answer in time and is set to fail closed.

    Raised before the call's request is sent.
    """


class BatchError(GeminiRouterError):
    """Root of the batch lane's errors."""


class BatchItemError(BatchError):
    """One request of a batch job that Gemini answered with an error (it is not billed).

    Returned in place of the item's message by ``BatchJob.results()``; raise it, or
    re-queue the item (``BatchJob.requeue_failed()``), as fits.

    Attributes:
        key: the request's key in the job; ``index`` its position in the input.
        code, status: Gemini's error code and status (None when it gave none).
        attempts: how many times the request was sent.
        job_state: the state of the Gemini job that carried the last attempt.
    """

    def __init__(
        self,
        *,
        key: str,
        index: int,
        message: str,
        code: int | None = None,
        status: str | None = None,
        attempts: int = 1,
        job_state: str = "SUCCEEDED",
    ) -> None:
        self.key = key
        self.index = index
        self.message = message
        self.code = code
        self.status = status
        self.attempts = attempts
        self.job_state = job_state
        what = f"{code} {status}: " if code is not None and status else ""
        tries = {0: "never sent", 1: "sent once"}.get(attempts, f"sent {attempts} times")
        super().__init__(
            f"batch request {index} (key {key!r}) failed, {tries} "
            f"(job {job_state}): {what}{message}"
        )


class BatchNotReadyError(BatchError):
    """The job's results were asked for while some of its Gemini jobs are not final."""

    def __init__(self, job_id: str, state: str) -> None:
        self.job_id = job_id
        self.state = state
        super().__init__(
            f"batch job {job_id!r} is {state}: its results exist once every Gemini job in "
            "it is final (use wait() or await_results())"
        )


class BatchTimeoutError(BatchError, TimeoutError):
    """``wait()`` / ``await_results()`` waited ``timeout`` seconds; the job goes on."""


class UnknownBatchJobError(BatchError, LookupError):
    """A batch job id that the router's batch store does not hold."""


class GeminiRouterWarning(UserWarning):
    """Root of every warning issued by lc-gemini-router."""


class UnknownPriceWarning(GeminiRouterWarning):
    """A call whose model has no price in the catalog; its cost is reported as None."""


class UnverifiedPriceWarning(GeminiRouterWarning):
    """A call priced at rates that only secondary sources confirm (catalog ``verified = false``).

    Issued the first time such a price is used with a catalog; the cost is computed.
    """


class ModelLifecycleWarning(GeminiRouterWarning):
    """A model ID that is deprecated or shut down; the message names its replacement."""


class ApiVersionWarning(GeminiRouterWarning):
    """A ready lane whose Gemini API version does not serve its model (a 404 waiting).

    Raised at construction for a lane the caller built, e.g. a preview model on
    ``v1`` (google-genai 3.x's default); the router never changes such a lane.
    """


class StoreUnavailableWarning(GeminiRouterWarning):
    """A shared store did not answer in time; the call went on without it (fail-open)."""
