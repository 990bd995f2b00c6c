"""Budgets on batch work: the job's worst case must fit before it is sent; spend is
charged when the answers are collected.

A batch job runs for hours, while the ledger's holds last ``reservation_ttl`` (15
minutes by default), so a job cannot keep its money held until Gemini answers. At
submission the worst case of every item (its prompt bound and output cap, at the batch
rates of its model) is reserved in one atomic step and released at once: a job that
does not fit raises :class:`~lc_gemini_router.BudgetExceededError` before any Gemini
job exists. Each answer is then settled at its exact cost when first collected, under
an id per item, so a second collection (or another process) never charges it twice.
Between the two, other calls can spend the same money: leave headroom for jobs in
flight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from lc_gemini_router.budgets.accounts import Hold
from lc_gemini_router.budgets.estimate import image_cap, output_cap, prompt_bound, worst_case
from lc_gemini_router.budgets.guard import BudgetGuard, refusal
from lc_gemini_router.pricing.catalog import default_catalog
from lc_gemini_router.router.calls import Call
from lc_gemini_router.router.runs import Parent
from lc_gemini_router.routing.policy import RouteDecision

if TYPE_CHECKING:
    from lc_gemini_router.router.chat_model import GeminiRouter

__all__ = ["charge", "check_fits"]


def _guard(router: GeminiRouter, call: Call, parent: Parent) -> BudgetGuard:
    guard = BudgetGuard(router, is_async=False)
    guard.start(call, parent)  # the budgets that apply, and their accounts
    return guard


def check_fits(
    router: GeminiRouter,
    job_id: str,
    calls: Sequence[Call],
    decisions: Sequence[RouteDecision],
    parent: Parent,
) -> None:
    """Raise BudgetExceededError unless the job's worst case fits every budget now."""
    if not router.budgets or not calls:
        return
    guard = _guard(router, calls[0], parent)  # one set of per-call arguments for all
    if not guard.applied:
        return
    catalog = router.catalog or default_catalog()
    total = Decimal(0)
    for call, decision in zip(calls, decisions, strict=True):
        llm = router.lane_set.for_call(call.config, decision.lane)
        tools = call.lane_kwargs.get("tools") or ()
        prompt = prompt_bound(call.request.messages, tools)
        kwargs = call.kwargs_for(decision.lane)
        cap = output_cap(llm, kwargs)
        images = image_cap(decision.model, llm, kwargs, catalog)
        total += worst_case(decision.model, prompt, cap, catalog, "batch", images).total
    ledger, accounts = router.budget_ledger, guard.accounts
    assert ledger is not None  # the router makes one whenever it has budgets
    hold = Hold(f"{job_id}:submit", total)
    grant = ledger.reserve([hold], accounts)
    if grant.ok:
        ledger.settle(hold.id, Decimal(0), accounts)  # a check: nothing stays held
        return
    index = grant.refused[0]
    raise refusal(guard.applied[index], grant.states[index], "batch", total)


def charge(
    router: GeminiRouter,
    job_id: str,
    call: Call,
    parent: Parent,
    costs: Mapping[str, Decimal],
) -> None:
    """Count each newly collected item's cost as spent, once per (job, key)."""
    if not router.budgets or not costs:
        return
    guard = _guard(router, call, parent)
    ledger = router.budget_ledger
    if not guard.applied or ledger is None:
        return
    for key, amount in costs.items():
        ledger.settle(f"{job_id}/{key}", amount, guard.accounts)
