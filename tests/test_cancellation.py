"""Cancelled async callers leave nothing in flight and lose no classifier cost."""

from __future__ import annotations

import asyncio

from lc_gemini_router import get_gemini_cost_callback
from lc_gemini_router.testing.simulator import GeminiSimulator
from tests.routing_kit import Backend, is_classifier, live_router


def test_cancelled_ainvoke_calls_leave_no_run_in_flight_and_lose_no_cost() -> None:
    backend = Backend()
    with GeminiSimulator(responder=backend) as sim:
        sim.set_delay(0.3)  # every call is still on the wire when its caller goes
        router = live_router(sim)

        async def main() -> None:
            tasks = [
                asyncio.ensure_future(router.ainvoke(f"note {i} on apples")) for i in range(300)
            ]
            done, _ = await asyncio.wait(tasks, timeout=0.1)
            assert not done
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            assert all(isinstance(r, asyncio.CancelledError) for r in results)
            await router.aclose()  # classifier calls already sent end and report

        with get_gemini_cost_callback() as cb:
            asyncio.run(main())
        sent = sum(1 for r in sim.requests if is_classifier(r))
    assert cb._runs == {}  # nothing kept for the 300 cancelled runs
    # Calls queued behind the pool's 64 threads were withdrawn, never sent; each one
    # sent was billed by the simulator and is priced once, as classifier spend.
    assert 0 < sent < 300
    assert cb.by_role["classifier"].calls == sent
    assert cb.by_role["classifier"].cost == sent * backend.classifier_cost
    # The answers never started: the callers had gone before any classifier replied.
    assert "answer" not in cb.by_role
