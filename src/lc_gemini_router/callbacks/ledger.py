"""The cost handler's books: totals by model, role and decision source, and the call log.

:class:`CostLedger` is what a :class:`~lc_gemini_router.GeminiCostCallbackHandler`
has counted. It is exact and thread-safe (``Decimal`` totals under one lock), and its
memory does not grow with the number of calls: totals per model and role, and a bounded
memory of finished runs that stops a second delivery of one run being counted twice.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections import OrderedDict
from decimal import Decimal
from os import PathLike
from pathlib import Path
from typing import IO
from uuid import UUID

from lc_gemini_router.callbacks.records import CallRecord, UsageTotals
from lc_gemini_router.errors import UnknownPriceWarning

__all__ = ["CostLedger"]

_FINISHED_KEPT = 1024
"""Finished run ids remembered to drop a second delivery (bounded: memory stays flat)."""


class CostLedger:
    """Totals of the calls counted so far, and the JSON-lines log of each call.

    Args:
        log: a path or text stream; when given, one JSON line per counted call is
            written to it (see :class:`~lc_gemini_router.CallRecord`).
    """

    def __init__(self, *, log: str | PathLike[str] | IO[str] | None = None) -> None:
        self._lock = threading.Lock()
        # Runs already counted: the same handler attached twice (the context hook and
        # ``config["callbacks"]``) hears each end twice and must count it once.
        self._finished: OrderedDict[UUID, None] = OrderedDict()
        self._llm_cache_hits = 0
        self._totals = UsageTotals()
        self._by_model: dict[str, UsageTotals] = {}
        self._by_role: dict[str, UsageTotals] = {}
        self._decisions: dict[str, int] = {}
        self._warned: set[str] = set()
        self._log_owned = False
        self._log: IO[str] | None
        if log is None or hasattr(log, "write"):
            self._log = log  # type: ignore[assignment]
        else:
            self._log = Path(log).open("a", encoding="utf-8")  # noqa: SIM115 - closed in close()
            self._log_owned = True

    # -- results --------------------------------------------------------------------

    @property
    def totals(self) -> UsageTotals:
        """Totals over every call seen."""
        return self._totals

    @property
    def total_cost(self) -> Decimal:
        """USD of every priced call."""
        return self._totals.cost

    @property
    def reference_cost(self) -> Decimal:
        """USD the priced calls would have cost on ``reference_model``."""
        return self._totals.reference_cost

    @property
    def savings(self) -> Decimal:
        """``reference_cost - total_cost``."""
        return self._totals.savings

    @property
    def standard_cost(self) -> Decimal:
        """USD the priced calls would have cost on the standard tier."""
        return self._totals.standard_cost

    @property
    def tier_savings(self) -> Decimal:
        """``standard_cost - total_cost``: what batch (or flex) rates saved."""
        return self._totals.tier_savings

    @property
    def llm_cache_hits(self) -> int:
        """Answers LangChain's own LLM cache gave: no API call, not billed, not counted."""
        return self._llm_cache_hits

    @property
    def calls(self) -> int:
        return self._totals.calls

    @property
    def unpriced_calls(self) -> int:
        return self._totals.unpriced_calls

    @property
    def input_tokens(self) -> int:
        return self._totals.input_tokens

    @property
    def cached_tokens(self) -> int:
        return self._totals.cached_tokens

    @property
    def output_tokens(self) -> int:
        return self._totals.output_tokens

    @property
    def reasoning_tokens(self) -> int:
        return self._totals.reasoning_tokens

    @property
    def total_tokens(self) -> int:
        return self._totals.total_tokens

    @property
    def by_model(self) -> dict[str, UsageTotals]:
        """Totals per model ID (a snapshot)."""
        with self._lock:
            return dict(self._by_model)

    @property
    def by_role(self) -> dict[str, UsageTotals]:
        """Totals per role, ``"classifier"`` and ``"answer"`` among them (a snapshot)."""
        with self._lock:
            return dict(self._by_role)

    @property
    def decision_sources(self) -> dict[str, int]:
        """Routed answers counted by decision source (``rule``, ``classifier``, ``cache``...)."""
        with self._lock:
            return dict(self._decisions)

    @property
    def cache_hit_rate(self) -> float | None:
        """Share of classifier scores served by the decision cache (None before any)."""
        sources = self.decision_sources
        looked_up = sources.get("cache", 0) + sources.get("classifier", 0)
        return sources.get("cache", 0) / looked_up if looked_up else None

    @property
    def classifier_calls_avoided(self) -> float | None:
        """Share of routed answers decided without a classifier call (None before any)."""
        sources = self.decision_sources
        total = sum(sources.values())
        free = sum(sources.get(s, 0) for s in ("rule", "cache", "sticky", "override"))
        return free / total if total else None

    def __repr__(self) -> str:
        t = self._totals
        return (
            f"{type(self).__name__}(calls={t.calls}, total_cost={t.cost}, "
            f"reference_cost={t.reference_cost}, unpriced_calls={t.unpriced_calls})"
        )

    def close(self) -> None:
        """Close the JSON-lines log if this handler opened it."""
        if self._log_owned and self._log is not None:
            self._log.close()
            self._log = None

    def _first_delivery(self, run_id: UUID) -> bool:
        """True the first time a run's end is heard; remembers the last 1,024 runs."""
        with self._lock:
            if run_id in self._finished:
                return False
            self._finished[run_id] = None
            if len(self._finished) > _FINISHED_KEPT:
                self._finished.popitem(last=False)
            return True

    def _count_llm_cache_hit(self) -> None:
        with self._lock:
            self._llm_cache_hits += 1

    def add_record(self, record: CallRecord) -> None:
        """Count one priced call (the handler calls this itself for every run it sees).

        Public so that code that prices calls outside LangChain runs (a batch job's
        results, say) can add them to the same totals.
        """
        with self._lock:
            self._totals = self._totals.add(record)
            self._by_model[record.model] = self._by_model.get(record.model, UsageTotals()).add(
                record
            )
            self._by_role[record.role] = self._by_role.get(record.role, UsageTotals()).add(record)
            source = record.decision.get("source") if record.decision else None
            if isinstance(source, str):
                self._decisions[source] = self._decisions.get(source, 0) + 1
            if self._log is not None:
                self._log.write(record.to_json() + "\n")
                self._log.flush()

    def _warn_once(
        self, key: str, message: str, category: type[Warning] = UnknownPriceWarning
    ) -> None:
        with self._lock:
            if key in self._warned:
                return
            self._warned.add(key)
        # A filter set to "error" turns the warning into an exception: it must not
        # break the user's run.
        with contextlib.suppress(Warning):
            warnings.warn(message, category, stacklevel=2)
