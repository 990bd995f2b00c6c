"""Cancelled async callers leave nothing in flight and lose no classifier cost."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
import uuid

from lc_gemini_router import GeminiCostCallbackHandler, get_gemini_cost_callback
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


def test_the_handler_keeps_nothing_for_ten_thousand_cancelled_runs() -> None:
    """The events of 10,000 cancelled runs (started, then ended by CancelledError with
    nothing delivered): the handler's memory after 10,000 is what it was after 1,000."""
    handler = GeminiCostCallbackHandler()
    error = asyncio.CancelledError()

    def cancel(count: int) -> None:
        for _ in range(count):
            run_id = uuid.uuid4()
            handler.on_chat_model_start({}, [[]], run_id=run_id, metadata={"ls_model_name": "m"})
            handler.on_llm_error(error, run_id=run_id)

    cancel(1000)  # warm up: first-use allocations
    gc.collect()
    tracemalloc.start()
    try:
        cancel(1000)
        after_one = tracemalloc.get_traced_memory()[0]
        cancel(9000)
        gc.collect()
        after_ten = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert handler._runs == {} and handler.calls == 0
    # 9,000 more runs: 50 bytes kept for each would be 450 kB.
    assert after_ten - after_one < 64 * 1024, (after_one, after_ten)
