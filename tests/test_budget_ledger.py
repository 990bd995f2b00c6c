"""The budget ledger's contract, run against the in-memory ledger and a real Redis."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from lc_gemini_router import RedisStore
from lc_gemini_router.budgets.accounts import Account, AccountState, Hold
from lc_gemini_router.budgets.ledger import MemoryLedger
from lc_gemini_router.state import BudgetLedger

TTL = 60.0
START = 1_764_590_400.0  # 2025-12-01T12:00:00Z


class Clock:
    """A settable UNIX clock: tests move time instead of sleeping."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "redis"])
def ledger(request: pytest.FixtureRequest, clock: Clock) -> Iterator[BudgetLedger]:
    if request.param == "memory":
        yield MemoryLedger(reservation_ttl=TTL, clock=clock)
        return
    store = RedisStore(request.getfixturevalue("redis_url"), reservation_ttl=TTL, clock=clock)
    yield store.budget_ledger()
    store.close()


def accounts(*limits: str) -> list[Account]:
    return [Account(f"b{i}|*|2025-12-01", Decimal(limit)) for i, limit in enumerate(limits)]


def test_ledgers_implement_the_protocol(ledger: BudgetLedger) -> None:
    assert isinstance(ledger, BudgetLedger)


def test_a_hold_that_does_not_fit_is_refused_and_nothing_is_held(ledger: BudgetLedger) -> None:
    day = accounts("1.00")
    grant = ledger.reserve([Hold("r1", Decimal("0.60"))], day)
    assert grant.ok
    assert grant.states == (AccountState(day[0].key, Decimal(0), Decimal("0.60")),)
    refused = ledger.reserve([Hold("r2", Decimal("0.41"))], day)
    assert refused.refused == (0,)
    assert refused.states == (AccountState(day[0].key, Decimal(0), Decimal("0.60")),)
    assert ledger.reserve([Hold("r3", Decimal("0.40"))], day).ok  # exactly the limit fits


def test_holds_on_several_accounts_are_all_or_nothing(ledger: BudgetLedger) -> None:
    both = accounts("5.00", "0.50")
    first = ledger.reserve([Hold("a", Decimal("0.30")), Hold("b", Decimal("0.10"))], both)
    assert [s.reserved for s in first.states] == [Decimal("0.4"), Decimal("0.4")]
    grant = ledger.reserve([Hold("c", Decimal("0.20"))], both)
    assert grant.refused == (1,)  # the small account refuses: the big one holds nothing new
    assert ledger.status(both)[0].reserved == Decimal("0.4")


def test_settlement_counts_the_exact_cost_once(ledger: BudgetLedger) -> None:
    day = accounts("1.00")
    ledger.reserve([Hold("r1", Decimal("0.5"))], day)
    after = ledger.settle("r1", Decimal("0.000275"), day)
    assert after == (AccountState(day[0].key, Decimal("0.000275"), Decimal(0)),)
    assert ledger.settle("r1", Decimal("0.000275"), day) == after  # a retried settlement
    assert ledger.status(day) == after


def test_a_retried_reservation_holds_once(ledger: BudgetLedger) -> None:
    day = accounts("1.00")
    ledger.reserve([Hold("r1", Decimal("0.3"))], day)
    again = ledger.reserve([Hold("r1", Decimal("0.3"))], day)
    assert again.ok
    assert again.states[0].reserved == Decimal("0.3")


def test_unsettled_holds_expire_and_give_the_money_back(ledger: BudgetLedger, clock: Clock) -> None:
    day = accounts("1.00")
    ledger.reserve([Hold("lost", Decimal("0.9"))], day)
    assert not ledger.reserve([Hold("r2", Decimal("0.2"))], day).ok
    clock.now += TTL - 1
    assert ledger.status(day)[0].reserved == Decimal("0.9")
    clock.now += 1
    assert ledger.status(day)[0].reserved == Decimal(0)
    assert ledger.reserve([Hold("r2", Decimal("0.2"))], day).ok
    # A late settlement of the expired hold still counts what was spent.
    assert ledger.settle("lost", Decimal("0.05"), day)[0] == AccountState(
        day[0].key, Decimal("0.05"), Decimal("0.2")
    )


def test_reset_starts_the_account_again(ledger: BudgetLedger) -> None:
    day = accounts("1.00")
    ledger.reserve([Hold("r1", Decimal("0.5"))], day)
    ledger.settle("r1", Decimal("0.25"), day)
    ledger.reset(day)
    assert ledger.status(day) == (AccountState(day[0].key, Decimal(0), Decimal(0)),)


def test_money_stays_exact_far_beyond_float_precision(ledger: BudgetLedger) -> None:
    big = accounts("100000000")
    tiny = Decimal("0.000000000000001")  # one ledger unit
    ledger.reserve([Hold("r1", Decimal("12345678.000000000000001"))], big)
    ledger.settle("r1", Decimal("12345678.000000000000001"), big)
    ledger.reserve([Hold("r2", tiny)], big)
    [state] = ledger.settle("r2", tiny, big)
    assert state.spent == Decimal("12345678.000000000000002")
    assert state.reserved == 0


def test_many_threads_never_overshoot_and_leak_no_hold(ledger: BudgetLedger) -> None:
    day = accounts("0.50")
    worst, cost = Decimal("0.0151"), Decimal("0.004823")
    granted = 0
    lock = threading.Lock()

    def one(i: int) -> None:
        nonlocal granted
        hold = f"t{i}"
        if ledger.reserve([Hold(hold, worst)], day).ok:
            with lock:
                granted += 1
            ledger.settle(hold, cost, day)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(one, range(400)))
    [state] = ledger.status(day)
    assert state.reserved == 0
    assert state.spent == cost * granted
    assert state.spent <= Decimal("0.50")
    assert granted >= 33  # at least every hold that fits with all others in flight


async def test_concurrent_async_reservations_never_overshoot(ledger: BudgetLedger) -> None:
    day = accounts("0.10")

    async def one(i: int) -> bool:
        grant = await ledger.areserve([Hold(f"a{i}", Decimal("0.003"))], day)
        if grant.ok:
            await ledger.asettle(f"a{i}", Decimal("0.002"), day)
        return grant.ok

    results = await asyncio.gather(*(one(i) for i in range(300)))
    [state] = await ledger.astatus(day)
    assert state.spent == Decimal("0.002") * sum(results)
    assert state.spent <= Decimal("0.10")
    assert state.reserved == 0
    await ledger.areset(day)
    assert (await ledger.astatus(day))[0].spent == 0
    if hasattr(ledger, "store"):
        await ledger.store.aclose()


_CRASH = """
import os, sys
from decimal import Decimal
from lc_gemini_router import RedisStore
from lc_gemini_router.budgets.accounts import Account, Hold
store = RedisStore(sys.argv[1], reservation_ttl=float(sys.argv[2]))
day = [Account("b0|*|2025-12-01", Decimal("1.00"))]
assert store.budget_ledger().reserve([Hold("crashed:1", Decimal("0.7"))], day).ok
os._exit(3)  # dies holding the money: no settlement, no cleanup
"""


def test_a_crashed_process_holds_expire(redis_url: str) -> None:
    import time

    done = subprocess.run([sys.executable, "-c", _CRASH, redis_url, str(TTL)], check=False)
    assert done.returncode == 3
    clock = Clock(time.time())
    store = RedisStore(redis_url, clock=clock)
    ledger = store.budget_ledger()
    day = [Account("b0|*|2025-12-01", Decimal("1.00"))]
    assert ledger.status(day)[0].reserved == Decimal("0.7")
    assert not ledger.reserve([Hold("next:1", Decimal("0.5"))], day).ok
    clock.now += TTL + 1
    assert ledger.status(day)[0].reserved == 0  # the dead process's hold expired
    assert ledger.reserve([Hold("next:1", Decimal("0.5"))], day).ok
    store.close()


_SPEND = """
import sys
from decimal import Decimal
from lc_gemini_router import RedisStore
from lc_gemini_router.budgets.accounts import Account, Hold
ledger = RedisStore(sys.argv[1]).budget_ledger()
day = [Account("shared|*|all", Decimal("1.00"))]
for i in range(20):
    if ledger.reserve([Hold(f"{sys.argv[2]}:{i}", Decimal("0.06"))], day).ok:
        ledger.settle(f"{sys.argv[2]}:{i}", Decimal("0.05"), day)
"""


def test_processes_share_one_ledger(redis_url: str) -> None:
    workers = [
        subprocess.Popen([sys.executable, "-c", _SPEND, redis_url, f"p{n}"]) for n in range(3)
    ]
    assert [w.wait(timeout=60) for w in workers] == [0, 0, 0]
    store = RedisStore(redis_url)
    [state] = store.budget_ledger().status([Account("shared|*|all", Decimal("1.00"))])
    # 60 attempts at $0.06 worst case, $0.05 each: at most $1.00 settled, none left held.
    assert state.reserved == 0
    assert state.spent <= Decimal("1.00")
    assert state.spent % Decimal("0.05") == 0
    # A hold is refused only when spent + held > $0.94 with at most two others held.
    assert state.spent > Decimal("0.82")
    store.close()
