"""Reports from a cost log: where the money went, how often routing escalated, what it saved.

:func:`load_cost_log` reads the JSON lines that
:class:`~lc_gemini_router.GeminiCostCallbackHandler` writes with ``log=`` (one per
priced call, see :meth:`~lc_gemini_router.callbacks.handler.CallRecord.to_json`) into typed
:class:`LogRecord` objects, money as ``Decimal``. :func:`summarize` totals them exactly,
as the handler did while the calls ran: spend by model and by role, the all-Pro
reference and the savings against it, the classifier's share of spend, wasted
speculative work, decision sources and the escalation rate. :func:`escalation_series`
follows the escalation rate over time, and :func:`render_report` draws PNG plots
and an HTML page that shows them. The CLI's ``report`` command runs all of it.

Definitions:

- *Total spend* is the cost of every priced call: answers, classifier calls,
  cancelled speculative work. A call whose ``cost`` is null is *unpriced*: counted
  as a call, its cost unknown and left out of every sum (not counted as $0).
- The *all-Pro reference* sums ``reference_cost`` over the priced calls: the
  answers' own usage priced on the reference model (``gemini-3.1-pro-preview`` by
  default). An all-Pro setup runs no classifier and no speculation, so those calls
  have no reference. *Savings* are the reference minus the total spend.
- A *routed answer* is an ``answer`` record whose decision names a lane; it
  *escalated* when that lane is ``pro`` or ``pro_tools``.

Example:
    >>> from decimal import Decimal
    >>> from lc_gemini_router.tools.reports import LogRecord, summarize
    >>> records = [
    ...     LogRecord(ts=0.0, model="gemini-3.1-flash-lite", role="answer",
    ...               cost=Decimal("0.0001"), reference_cost=Decimal("0.0008"),
    ...               decision={"lane": "lite", "source": "rule"}),
    ...     LogRecord(ts=1.0, model="gemini-3.1-flash-lite", role="classifier",
    ...               cost=Decimal("0.00005")),
    ... ]
    >>> report = summarize(records)
    >>> report.total_cost, report.reference_cost, report.savings
    (Decimal('0.00015'), Decimal('0.0008'), Decimal('0.00065'))
    >>> report.escalation_rate
    0.0
"""

from __future__ import annotations

from lc_gemini_router.tools.reports.escalation import (
    DEFAULT_BUCKETS,
    EscalationPoint,
    EscalationSeries,
    escalation_series,
    parse_bucket,
)
from lc_gemini_router.tools.reports.records import ESCALATED_LANES, LogRecord, load_cost_log
from lc_gemini_router.tools.reports.render import PLOT_FILES, REPORT_HTML, render_report
from lc_gemini_router.tools.reports.summary import CostReport, summarize
from lc_gemini_router.tools.reports.tables import ReportTable, report_tables

__all__ = [
    "DEFAULT_BUCKETS",
    "ESCALATED_LANES",
    "PLOT_FILES",
    "REPORT_HTML",
    "CostReport",
    "EscalationPoint",
    "EscalationSeries",
    "LogRecord",
    "ReportTable",
    "escalation_series",
    "load_cost_log",
    "parse_bucket",
    "render_report",
    "report_tables",
    "summarize",
]
