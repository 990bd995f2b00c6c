"""What ``lc-gemini-router batch`` prints: progress, Gemini jobs, spend and results.

The items per state (the progress line, and the live display ``submit`` polls with,
which pauses through ``_sleep``), the table of Gemini batch jobs, the routing line, the
spend table priced against the standard tier and all-Pro, and the report that writes
the results file and says what came back: the commands' output, kept apart from the job
store and from the commands' flow.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lc_gemini_router.batches.records import TERMINAL_STATES
from lc_gemini_router.callbacks.records import UsageTotals
from lc_gemini_router.errors import BatchItemError
from lc_gemini_router.keys import ROLE_ANSWER
from lc_gemini_router.tools.cli.common import CliError, make_table
from lc_gemini_router.tools.formatting import usd

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

    from lc_gemini_router.batches.job import BatchJob, BatchResult
    from lc_gemini_router.callbacks.handler import GeminiCostCallbackHandler
    from lc_gemini_router.tools.batch_inputs import InputId

__all__ = [
    "ProgressDisplay",
    "Spend",
    "many",
    "parts_table",
    "progress_line",
    "record_classifier",
    "report_results",
    "routing_line",
]

_SHOWN_ERRORS = 3
_STATE_ORDER = (
    "PENDING",
    "QUEUED",
    "RUNNING",
    "UPDATING",
    "PAUSED",
    "CANCELLING",
    "SUCCEEDED",
    "PARTIALLY_SUCCEEDED",
    "failed",
    "CANCELLED",
    "FAILED",
    "EXPIRED",
)
_FINAL = frozenset({*(state.value for state in TERMINAL_STATES), "failed"})

_sleep: Callable[[float], None] = time.sleep
"""How ``submit`` pauses between polls (the tests move a simulator's clock instead)."""


def many(count: int, noun: str) -> str:
    """``1 answer``, ``2 answers``, ``1,000 answers``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _ordered(counts: dict[str, int]) -> list[tuple[str, int]]:
    rank = {state: index for index, state in enumerate(_STATE_ORDER)}
    return sorted(counts.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0]))


def progress_line(job: BatchJob) -> str:
    """The items of ``job`` per state: ``40 items: 30 SUCCEEDED, 10 RUNNING``."""
    counts = job.progress()
    total = len(job.record.items)
    states = ", ".join(f"{count:,} {state}" for state, count in _ordered(counts))
    return f"{total:,} items: {states}"


class ProgressDisplay:
    """Called on every poll: a live bar on a terminal, else one line per poll (a log)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.polls = 0
        self.waited = 0.0
        self._live: Live | None = None

    def __enter__(self) -> ProgressDisplay:
        if self.console.is_terminal:
            from rich.live import Live

            self._live = Live(console=self.console, auto_refresh=False, transient=False)
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()

    def pause(self, seconds: float) -> None:
        """Wait between polls, counting the time waited."""
        _sleep(seconds)
        self.waited += seconds

    def __call__(self, job: BatchJob) -> None:
        self.polls += 1
        if self._live is not None:
            self._live.update(self.renderable(job), refresh=True)
            return
        self.console.print(
            f"poll {self.polls} ({self.waited:g}s): {job.state.value} - {progress_line(job)}",
            markup=False,
        )

    def renderable(self, job: BatchJob) -> RenderableType:
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        counts = job.progress()
        total = len(job.record.items)
        final = sum(count for state, count in counts.items() if state in _FINAL)
        grid = Table.grid(padding=(0, 1))
        grid.add_row(
            job.state.value,
            ProgressBar(total=total, completed=final, width=30),
            f"{final:,}/{total:,} final",
            progress_line(job),
            f"(poll {self.polls}, {self.waited:g}s)",
        )
        return grid


def parts_table(job: BatchJob, *, with_state: bool) -> Any:
    rows = []
    for part in job.record.parts:
        row = [part.name, part.model, str(part.attempt), f"{len(part.keys):,}", part.source]
        if with_state:
            row += [part.state.value, f"{len(part.failed_keys):,}", part.error or ""]
        rows.append(row)
    columns = [("Gemini job", False), ("model", False), ("attempt", True), ("requests", True)]
    columns.append(("input", False))
    if with_state:
        columns += [("state", False), ("failed", True), ("error", False)]
    return make_table("Gemini batch jobs", columns, rows)


def routing_line(job: BatchJob) -> str:
    lanes: dict[str, int] = {}
    sources: dict[str, int] = {}
    for item in job.record.items:
        lanes[item.lane] = lanes.get(item.lane, 0) + 1
        source = str(item.decision.get("source") or "unknown")
        sources[source] = sources.get(source, 0) + 1
    on = ", ".join(f"{count:,} on {lane}" for lane, count in sorted(lanes.items()))
    by = ", ".join(f"{source} {count:,}" for source, count in sorted(sources.items()))
    return f"Routed {len(job.record.items):,} requests: {on} (decided by {by})"


def record_classifier(job: BatchJob) -> tuple[int, Decimal]:
    """Classifier calls made when the job was routed, and their cost (from the record)."""
    calls, cost = 0, Decimal(0)
    for item in job.record.items:
        report = item.classifier or {}
        if report.get("cost") is not None:
            calls += 1
            cost += Decimal(str(report["cost"]))
    return calls, cost


@dataclass(frozen=True)
class Spend:
    """What a collection cost, with the classifier spend of the routing."""

    cb: GeminiCostCallbackHandler
    classifier_calls: int
    classifier_cost: Decimal
    classifier_counted: bool
    """Whether ``cb`` counted the classifier calls (``submit``) or they come from the
    record (``results`` in a later process)."""

    @property
    def extra(self) -> Decimal:
        return Decimal(0) if self.classifier_counted else self.classifier_cost

    def table(self) -> Any:
        cb = self.cb
        answers = cb.by_role.get(ROLE_ANSWER, UsageTotals())
        total = cb.total_cost + self.extra
        standard = cb.standard_cost + self.extra
        standard_reference = cb.totals.standard_reference_cost
        when = "" if self.classifier_counted else " (when the batch was routed)"
        rows = [
            ("answers at batch rates", usd(answers.cost), many(answers.calls, "answer")),
            (
                "classifier, standard tier",
                usd(self.classifier_cost),
                f"{many(self.classifier_calls, 'call')}{when}",
            ),
            ("total spend", usd(total), ""),
            ("the same on the standard tier", usd(standard), "without the batch lane"),
            ("saved by batch rates", usd(cb.tier_savings), ""),
            ("all-Pro reference, batch rates", usd(cb.reference_cost), "every answer on Pro"),
            ("all-Pro reference, standard tier", usd(standard_reference), ""),
            ("saved against all-Pro, batch rates", usd(cb.reference_cost - total), ""),
            ("saved against all-Pro, standard tier", usd(standard_reference - total), ""),
        ]
        columns = [("", False), ("USD", True), ("", False)]
        return make_table("Batch spend", columns, rows)


def _error_text(result: BatchItemError, input_id: InputId) -> str:
    named = f" (id {input_id!r})" if input_id is not None else ""
    what = f"{result.status}: " if result.status else ""
    tries = "once" if result.attempts == 1 else f"{result.attempts} times"
    return f"  item {result.index}{named}: {what}{result.message} (sent {tries})"


def report_results(
    console: Console,
    job: BatchJob,
    results: Sequence[BatchResult],
    ids: Sequence[InputId],
    out: Path,
    spend: Spend,
) -> None:
    """Write the results file, then say what came back and what it cost."""
    from lc_gemini_router.tools.batch_inputs import result_line, write_json_lines

    items = job.record.items
    lines = [
        result_line(index, ids[index], items[index].lane, items[index].model, result)
        for index, result in enumerate(results)
    ]
    try:
        write_json_lines(out, lines)
    except OSError as exc:
        msg = f"cannot write the results to {out}: {exc.strerror or exc}"
        raise CliError(msg) from exc
    errors = [r for r in results if isinstance(r, BatchItemError)]
    console.print(
        f"Batch job {job.id} {job.state.value}: {many(len(results) - len(errors), 'answer')}, "
        f"{many(len(errors), 'error')}. Wrote {many(len(results), 'line')} to {out}",
        markup=False,
    )
    for error in errors[:_SHOWN_ERRORS]:
        console.print(_error_text(error, ids[error.index]), style="yellow", markup=False)
    if len(errors) > _SHOWN_ERRORS:
        console.print(f"  ... and {len(errors) - _SHOWN_ERRORS:,} more", style="yellow")
    cb = spend.cb
    answered = len(results) - len(errors)
    counted = cb.by_role.get(ROLE_ANSWER, UsageTotals()).calls
    if answered and not counted:
        # Priced when first collected (by any process): counting them again would lie.
        in_file = sum((Decimal(line["cost"]) for line in lines if line["cost"]), Decimal(0))
        console.print(
            f"All {answered:,} answers had been collected before, their cost reported "
            f"then: {usd(in_file)} at batch rates in all (each item's cost is in {out}).",
            markup=False,
        )
    else:
        console.print(spend.table(), crop=False)
    if 0 < counted < answered:
        console.print(
            f"{many(answered - counted, 'answer')} had been collected before (their cost was "
            "reported then): the table counts the answers collected now; the results file "
            "has every item's cost.",
            style="yellow",
            markup=False,
        )
    if cb.unpriced_calls:
        console.print(
            f"{cb.unpriced_calls:,} calls had no price: their cost is unknown and not counted.",
            style="yellow",
            markup=False,
        )
