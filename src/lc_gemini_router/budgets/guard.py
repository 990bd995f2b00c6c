"""The pipeline's budget step: hold each API call's worst case before it is sent,
settle its exact cost after.

One :class:`BudgetGuard` serves one router call. Its steps are sans-IO generators
like the pipeline's (ledger I/O is a ``State`` effect), so ``invoke``, ``ainvoke``,
``stream`` and ``astream`` share them:

- before the classifier: hold the classifier's worst case *and* lite's together (the
  floor every call can land on), so a call refused for budget sends nothing at all;
- after the decision (:meth:`fit`): hold the chosen lane's worst case; when it does
  not fit, go to lite (the floor, already held) with decision source ``budget``, or
  raise :class:`~lc_gemini_router.BudgetExceededError` (``on_exceed="refuse"``, or
  nothing fits), before the lane's request is sent;
- after each call: settle its exact cost (a failed call's error answer is not
  billed: 0; a call whose outcome cannot be seen keeps its worst case).

A run that is closed or cancelled mid-way settles what is still held in
:meth:`abandon`, which cannot yield: it calls the ledger directly (a task on the
running loop under asyncio).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from lc_gemini_router.budgets.accounts import Account, AccountState, Grant, Hold, usd
from lc_gemini_router.budgets.estimate import (
    WorstCase,
    image_cap,
    output_cap,
    prompt_bound,
    worst_case,
)
from lc_gemini_router.budgets.spec import Budget, scope_key
from lc_gemini_router.budgets.status import BudgetStatus, account_of
from lc_gemini_router.callbacks.payloads import StreamTally
from lc_gemini_router.engine import Effect, LaneCall, Speculate, State
from lc_gemini_router.errors import BudgetExceededError, ConfigError
from lc_gemini_router.pricing.catalog import ServiceTier, default_catalog
from lc_gemini_router.pricing.costs import image_sizes, price_quietly
from lc_gemini_router.routing.policy import RouteDecision

if TYPE_CHECKING:
    from lc_gemini_router.classify.classifier import Classifier, ClassifierOutcome
    from lc_gemini_router.router.calls import Call
    from lc_gemini_router.router.chat_model import GeminiRouter
    from lc_gemini_router.router.runs import Parent
    from lc_gemini_router.state import BudgetLedger

__all__ = ["Applied", "BudgetGuard", "refusal"]

Steps = Generator[Effect, Any, Any]
_ZERO = Decimal(0)
_LITE = "lite"
_SETTLING: set[asyncio.Task[Any]] = set()
"""Settlements of abandoned async runs, kept referenced until they are done."""
_TIMEOUT = "timeout after"
"""How the classifier reports a missed deadline: that call goes on and is billed."""


@dataclass(frozen=True)
class Applied:
    """A budget that applies to this call: the scope value read and its account."""

    budget: Budget
    key: str
    account: Account


@dataclass
class _Held:
    hold: Hold
    lane: str
    worst: WorstCase
    states: tuple[AccountState, ...] = ()
    tally: StreamTally | None = None
    """The chunks seen so far when the hold covers a stream."""
    speculative: bool = False
    """A background stream runs on this hold (it may finish even if nobody reads it)."""


@dataclass
class BudgetGuard:
    """One call's reservations (see the module docstring). Inert without budgets."""

    router: GeminiRouter
    is_async: bool
    applied: tuple[Applied, ...] = ()
    settled: Decimal = _ZERO
    """What this call's settled holds cost so far, in USD."""
    notes: list[str] = field(default_factory=list)
    """Why the ledger let a call through unchecked (a store that failed open)."""
    _call: Call | None = None
    _ledger: BudgetLedger | None = None
    _now: float = 0.0
    _run: str = ""
    _tier: ServiceTier = "standard"
    _count: int = 0
    _open: dict[str, _Held] = field(default_factory=dict)
    _floor: _Held | None = None
    _lane: _Held | None = None
    _states: tuple[AccountState, ...] = ()

    def start(self, call: Call, parent: Parent) -> None:
        """Find the budgets that apply to ``call`` and their accounts (no I/O).

        Raises:
            ConfigError: a ``required`` budget's key is missing from the call.
        """
        budgets = self.router.budgets
        if not budgets:
            return
        ledger = self.router.budget_ledger
        assert ledger is not None  # the router makes one whenever it has budgets
        self._ledger, self._call, self._now = ledger, call, ledger.now()
        applied = []
        for budget in budgets:
            key = scope_key(budget, call.scope_keys, parent.metadata)
            if key is None:
                if budget.required:
                    msg = (
                        f"budget {budget.name!r} is kept per {budget.per!r}: pass it in "
                        f'config={{"configurable": {{"{budget.per}": ...}}}} or in metadata'
                    )
                    raise ConfigError(msg)
                continue
            applied.append(Applied(budget, key, account_of(budget, key, self._now)))
        self.applied = tuple(applied)
        self._run = str(parent.run_id or uuid.uuid4())
        self._tier = parent.service_tier

    @property
    def accounts(self) -> tuple[Account, ...]:
        return tuple(a.account for a in self.applied)

    # -- the steps the pipeline runs ------------------------------------------------

    def hold_classifier(
        self, runner: Classifier, prompt: Sequence[BaseMessage], *, floor: bool = True
    ) -> Steps:
        """Hold the classifier's worst case and (``floor``) lite's, or raise."""
        if not self.applied:
            return None
        call = self._checked_call()
        held = [self._held("classifier", runner.model, prompt, {})]
        if floor:
            lite = self.router.lane_set.for_call(call.config, _LITE)
            held.append(self._held(_LITE, lite, call.request.messages, call.lane_kwargs))
        grant = yield from self._reserve(held)
        if not grant.ok:
            raise self._exceeded(grant, held[-1].lane, sum((h.worst.total for h in held), _ZERO))
        self._floor = held[1] if floor else None
        return None

    def settle_classifier(self, outcome: ClassifierOutcome) -> Steps:
        """Settle the classifier's hold: its priced reply, 0 when no call was billed."""
        held = next((h for h in self._open.values() if h.lane == "classifier"), None)
        if held is None:
            return None
        raw = outcome.raw
        amount = _ZERO
        if raw is not None and raw.usage_metadata:
            model = raw.response_metadata.get("model_name") or held.worst.model
            amount = self._price(model, raw.usage_metadata, [], held)
        elif outcome.error and outcome.error.startswith(_TIMEOUT):
            amount = held.worst.total  # it goes on in the background and is billed
        yield from self._settle(held, amount)
        return None

    def speculate(self, lane: LaneCall) -> Steps:
        """Start the speculative lite stream on the floor's hold (``Speculate``)."""
        pump = yield Speculate(lane)
        if self._floor is not None:
            self._floor.speculative = True
        return pump

    def wasted(self, tally: StreamTally) -> Steps:
        """Settle the floor after its speculative stream was cancelled."""
        floor, self._floor = self._floor, None
        if floor is not None:
            yield from self._settle(floor, self._partial(floor, tally))
        return None

    def fit(self, decision: RouteDecision) -> Steps:
        """Hold the decided lane's worst case; downgrade to lite or raise when it does not fit.

        Returns the decision to answer with (``source="budget"`` after a downgrade),
        with the budgets' state at the hold in ``decision.budget``.
        """
        if not self.applied:
            return decision
        floor = self._floor
        if decision.lane == _LITE and floor is not None:
            self._lane, self._floor = floor, None
            return self._noted(decision)
        call = self._checked_call()
        model = self.router.lane_set.for_call(call.config, decision.lane)
        kwargs = call.kwargs_for(decision.lane)  # an image lane: its images too
        held = self._held(decision.lane, model, call.request.messages, kwargs)
        grant = yield from self._reserve([held])
        if grant.ok:
            self._lane = held
            if floor is not None and not floor.speculative:
                self._floor = None
                yield from self._settle(floor, _ZERO)
            return self._noted(decision)
        refusing = [self.applied[i] for i in grant.refused]
        refuse = next((a for a in refusing if a.budget.on_exceed == "refuse"), None)
        if refuse is not None or decision.lane == _LITE:
            if floor is not None:
                self._floor = None
                yield from self._settle(floor, floor.worst.total if floor.speculative else _ZERO)
            raise self._exceeded(grant, decision.lane, held.worst.total, prefer=refuse)
        if floor is None:
            model = self.router.lane_set.for_call(call.config, _LITE)
            floor = self._held(_LITE, model, call.request.messages, call.lane_kwargs)
            lite_grant = yield from self._reserve([floor])
            if not lite_grant.ok:
                raise self._exceeded(lite_grant, _LITE, floor.worst.total)
        self._lane, self._floor = floor, None
        first = refusing[0]
        reason = (
            f"budget {first.budget.name!r}{_who(first)} cannot cover {decision.lane}'s worst "
            f"case (${usd(held.worst.total)}): answered on lite"
        )
        downgraded = decision.model_copy(
            update={
                "lane": _LITE,
                "model": call.config.lanes[_LITE],
                "source": "budget",
                "reasons": (*decision.reasons, reason),
            }
        )
        return self._noted(downgraded)

    def stream_tally(self) -> StreamTally:
        """The tally of the lane's stream, seen by :meth:`abandon` if the run is closed."""
        tally = StreamTally()
        if self._lane is not None:
            self._lane.tally = tally
        return tally

    def failed(self, error: BaseException) -> Steps:
        """Settle a lane that raised: 0 for an error answer, its worst case when the
        request may have been served (a timeout or a lost connection)."""
        lane, self._lane = self._lane, None
        if lane is not None:
            if lane.tally is not None and lane.tally.usage:
                amount = self._partial(lane, lane.tally)
            else:
                amount = lane.worst.total if _unseen(error) else _ZERO
            yield from self._settle(lane, amount)
        return None

    def answered(self, message: BaseMessage) -> Steps:
        """Settle the lane's hold at the answer's exact cost; the budget report."""
        lane, self._lane = self._lane, None
        if lane is None:
            return None
        usage = getattr(message, "usage_metadata", None)
        model = message.response_metadata.get("model_name") or lane.worst.model
        amount = self._price(model, usage, image_sizes(message), lane) if usage else None
        yield from self._settle(lane, lane.worst.total if amount is None else amount)
        return self.report()

    def streamed(self, tally: StreamTally) -> Steps:
        """:meth:`answered` for a stream, from its tally."""
        lane, self._lane = self._lane, None
        if lane is None:
            return None
        amount = None
        if tally.usage:
            model = tally.model_name or lane.worst.model
            amount = self._price(model, tally.usage, tally.images, lane)
        yield from self._settle(lane, lane.worst.total if amount is None else amount)
        return self.report()

    def abandon(self) -> None:
        """Settle whatever is still held when the run ends early (closed or cancelled)."""
        ledger = self._ledger
        if ledger is None or not self._open:
            return
        for held in list(self._open.values()):
            if held.tally is not None:
                amount = self._partial(held, held.tally)
            elif held is self._floor and not held.speculative:
                amount = _ZERO  # nothing was sent on it
            else:
                amount = held.worst.total  # sent, outcome unseen: it may be billed
            self._open.pop(held.hold.id)
            self.settled += amount
            args = (held.hold.id, amount, self.accounts)
            if self.is_async:
                try:
                    loop = asyncio.get_running_loop()
                except RuntimeError:
                    ledger.settle(*args)
                    continue
                task = loop.create_task(ledger.asettle(*args))
                _SETTLING.add(task)
                task.add_done_callback(_SETTLING.discard)
            else:
                ledger.settle(*args)

    def report(self) -> dict[str, Any] | None:
        """This call's spend and each budget's state after it (metadata and events)."""
        if not self.applied:
            return None
        report: dict[str, Any] = {"settled": usd(self.settled), "budgets": self._states_view()}
        if self.notes:
            report["notes"] = list(self.notes)
        return report

    # -- helpers ------------------------------------------------------------------

    def _checked_call(self) -> Call:
        assert self._call is not None  # start() ran: budgets apply
        return self._call

    def _held(
        self,
        lane: str,
        model: BaseChatModel,
        messages: Sequence[BaseMessage],
        kwargs: Mapping[str, Any],
    ) -> _Held:
        model_id = _model_id(model, lane, self._checked_call())
        tools = kwargs.get("tools") or ()
        catalog = self.router.catalog or default_catalog()
        prompt = prompt_bound(messages, tools)
        images = image_cap(model_id, model, kwargs, catalog)
        cap = output_cap(model, kwargs)
        worst = worst_case(model_id, prompt, cap, catalog, self._tier, images)
        self._count += 1
        return _Held(Hold(f"{self._run}:{self._count}", worst.total), lane, worst)

    def _reserve(self, held: list[_Held]) -> Generator[Effect, Any, Grant]:
        grant: Grant = yield State(self._ledger, "reserve", ([h.hold for h in held], self.accounts))
        if grant.note:
            self.notes.append(grant.note)
        self._states = grant.states or self._states
        if grant.ok:
            for h in held:
                h.states = grant.states
                self._open[h.hold.id] = h
        return grant

    def _settle(self, held: _Held, amount: Decimal) -> Steps:
        self._open.pop(held.hold.id, None)
        self.settled += amount
        states = yield State(self._ledger, "settle", (held.hold.id, amount, self.accounts))
        self._states = tuple(states) or self._states
        return None

    def _price(
        self, model: str, usage: Mapping[str, Any], images: list[str], held: _Held
    ) -> Decimal:
        catalog = self.router.catalog or default_catalog()
        cost, _ = price_quietly(
            model, usage, catalog=catalog, service_tier=self._tier, images=images
        )
        return held.worst.total if cost is None else cost.total

    def _partial(self, held: _Held, tally: StreamTally) -> Decimal:
        """A stream closed early: the usage its chunks reported, at least its prompt."""
        seen = (
            self._price(tally.model_name or held.worst.model, tally.usage, [], held)
            if (tally.usage)
            else _ZERO
        )
        return max(seen, held.worst.input_cost)

    def _states_view(self) -> list[dict[str, Any]]:
        by_key = {s.key: s for s in self._states}
        views = []
        for applied in self.applied:
            state = by_key.get(applied.account.key, AccountState(applied.account.key, _ZERO, _ZERO))
            views.append(BudgetStatus.of(applied.budget, applied.key, state, self._now).to_dict())
        return views

    def _noted(self, decision: RouteDecision) -> RouteDecision:
        lane = self._lane
        budget: dict[str, Any] = {
            "reserved": usd(lane.worst.total) if lane else "0",
            "budgets": self._states_view(),
        }
        reasons = decision.reasons
        if self.notes:
            budget["notes"] = list(self.notes)
            reasons = (*reasons, *(n for n in self.notes if n not in reasons))
        return decision.model_copy(update={"budget": budget, "reasons": reasons})

    def _exceeded(
        self, grant: Grant, lane: str, needed: Decimal, *, prefer: Applied | None = None
    ) -> BudgetExceededError:
        index = self.applied.index(prefer) if prefer is not None else grant.refused[0]
        return refusal(self.applied[index], grant.states[index], lane, needed)


def refusal(
    applied: Applied, state: AccountState, lane: str, needed: Decimal
) -> BudgetExceededError:
    """The error for ``applied``'s budget, which cannot cover ``needed`` on ``lane``."""
    return BudgetExceededError(
        budget=applied.budget.name,
        scope=applied.budget.scope,
        key=applied.key,
        limit=applied.budget.limit,
        spent=state.spent,
        reserved=state.reserved,
        needed=needed,
        lane=lane,
    )


def _who(applied: Applied) -> str:
    return "" if applied.budget.per is None else f" ({applied.budget.per}={applied.key!r})"


def _model_id(model: BaseChatModel, lane: str, call: Call) -> str:
    if lane == "classifier":
        name = getattr(model, "model", None) or getattr(model, "model_name", None)
        return str(name or call.config.classifier.model).removeprefix("models/")
    return call.config.lanes[lane]


def _unseen(error: BaseException) -> bool:
    """Whether the request may have been served although no reply came back."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = type(current).__name__
        if isinstance(current, (TimeoutError, ConnectionError)) or "Timeout" in name:
            return True
        current = current.__cause__ or current.__context__
    return False


def guarded_classifier(
    guard: BudgetGuard, runner: Classifier, call: Call, config: Any
) -> Generator[Effect, Any, ClassifierOutcome]:
    """The classifier's scoring of ``call``, held and settled under ``guard`` (``route()``)."""
    request = call.request
    prompt = runner.prompt(request.messages, request.tool_names)
    yield from guard.hold_classifier(runner, prompt, floor=False)
    outcome = yield from runner.flow(request.messages, request.tool_names, config, prompt=prompt)
    yield from guard.settle_classifier(outcome)
    return outcome
