"""The batch lane end to end: the real google-genai batch client against the simulator.

Every test routes through a real router whose lanes are ``ChatGoogleGenerativeAI``
clients on the loopback simulator; the simulator runs each batch item through the
same machinery as generateContent and logs what it billed.
"""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage

from lc_gemini_router import (
    BatchItemError,
    BatchNotReadyError,
    BatchTimeoutError,
    Budget,
    BudgetExceededError,
    ConfigError,
    GeminiCostCallbackHandler,
    LaneSpec,
    RouterConfig,
    UnknownBatchJobError,
    UnsupportedInputError,
    get_gemini_cost_callback,
)
from lc_gemini_router.batches import BatchState, FileBatchStore
from lc_gemini_router.keys import ROUTER_METADATA_KEY
from lc_gemini_router.testing.simulator import GeminiSimulator, SimReply, SimRequest
from tests.routing_kit import LITE, PRO, Backend, CaptureTracer, live_router

MILLION = Decimal(1_000_000)
# Batch rates per 1M tokens (prices.toml): lite 0.125 in / 0.75 out, Pro 1.00 / 6.00.
LITE_BATCH = (500 * Decimal("0.125") + 100 * Decimal("0.75")) / MILLION  # 0.0001375
PRO_BATCH = (500 * Decimal("1.00") + (100 + 300) * Decimal("6.00")) / MILLION  # 0.0029
# The same answers on the standard tier: lite 0.25 / 1.50, Pro 2.00 / 12.00.
LITE_STANDARD = (500 * Decimal("0.25") + 100 * Decimal("1.50")) / MILLION
PRO_STANDARD = (500 * Decimal("2.00") + 400 * Decimal("12.00")) / MILLION
CLASSIFIER = (150 * Decimal("0.25") + 12 * Decimal("1.50")) / MILLION  # standard tier


def _no_sleep(seconds: float) -> None:
    """Polls follow each other at once: the simulator's jobs finish on their own clock."""


def _batch_items(sim: GeminiSimulator) -> list[SimRequest]:
    return [r for r in sim.requests if r.method == "batchGenerateContent"]


def _billed(sim: GeminiSimulator, model: str) -> list[SimRequest]:
    return [r for r in _batch_items(sim) if r.model == model and r.usage is not None]


def _prompts(count: int) -> list[str]:
    # Every fourth is hard: the classifier (the kit's backend) escalates "riddle".
    return [
        f"Solve riddle {i}: what has keys but no locks?" if i % 4 == 0 else f"Translate item {i}"
        for i in range(count)
    ]


@pytest.mark.slow
def test_two_thousand_routed_requests_priced_at_batch_rates_in_input_order(
    sim: GeminiSimulator, tmp_path: Path
) -> None:
    store = FileBatchStore(tmp_path / "jobs")
    router = live_router(sim, batch_store=store)
    prompts = _prompts(2000)
    with get_gemini_cost_callback() as submitted:
        job = router.submit_batch(prompts, display_name="nightly")
    # Translations are the rules' (lite, no call); the rest went to the classifier.
    classifier_calls = [r for r in sim.requests if r.method == "generateContent"]
    assert len(classifier_calls) == 500
    assert submitted.by_role["classifier"].cost == 500 * CLASSIFIER
    sources = {item.decision["source"]: item.decision["reasons"] for item in job.record.items}
    assert set(sources) == {"rule", "classifier"}, sources
    assert "answer" not in submitted.by_role  # nothing answered yet
    assert sorted(part.model for part in job.record.parts) == [LITE, PRO]
    assert job.state is not BatchState.SUCCEEDED or job.record.parts

    # The Pro job fails 10 items; on their re-queue 3 of those fail again.
    sim.fail_next(500, model=PRO, count=10, message="backend error")
    injected: list[bool] = []

    def on_poll(polled: Any) -> None:
        if polled.state.done and not injected:
            injected.append(True)
            sim.fail_next(500, model=PRO, count=3, message="backend error again")

    with get_gemini_cost_callback() as cb:
        results = job.wait(poll_every=0, sleep=_no_sleep, on_poll=on_poll)

    assert len(results) == 2000
    errors = [r for r in results if isinstance(r, BatchItemError)]
    assert [e.index for e in errors] == [0, 4, 8]  # the first three hard ones, in order
    # Item errors are google.rpc.Status: gRPC code 13 for an HTTP 500.
    assert all(e.attempts == 2 and (e.code, e.status) == (13, "INTERNAL") for e in errors)
    assert "backend error again" in str(errors[0])
    for index, result in enumerate(results):
        if isinstance(result, AIMessage):
            meta = result.response_metadata[ROUTER_METADATA_KEY]
            assert meta["batch"]["key"] == str(index)
            assert meta["decision"]["lane"] == ("pro" if index % 4 == 0 else "lite")
    assert job.state is BatchState.PARTIALLY_SUCCEEDED

    answered_pro = 500 - 3
    expected = 1500 * LITE_BATCH + answered_pro * PRO_BATCH
    assert cb.total_cost == expected  # to the Decimal
    assert cb.by_model[LITE].cost == 1500 * LITE_BATCH
    assert cb.by_model[PRO].cost == answered_pro * PRO_BATCH
    # Both discounts: against all-Pro at batch rates, and against the standard tier.
    # (The reference prices each answer's own usage on Pro, at the same tier.)
    pro_on_lite_usage = (500 * Decimal("1.00") + 100 * Decimal("6.00")) / MILLION
    assert cb.reference_cost == 1500 * pro_on_lite_usage + answered_pro * PRO_BATCH
    assert cb.standard_cost == 1500 * LITE_STANDARD + answered_pro * PRO_STANDARD
    assert cb.totals.standard_reference_cost == 2 * cb.reference_cost  # batch = half
    assert cb.tier_savings == cb.standard_cost - expected
    # What the simulator billed, request by request: the failed items were not.
    assert len(_billed(sim, LITE)) == 1500 and len(_billed(sim, PRO)) == answered_pro
    failed_items = [r for r in _batch_items(sim) if r.usage is None]
    assert len(failed_items) == 13

    # Collecting again returns the same answers and prices nothing twice.
    with get_gemini_cost_callback() as again:
        second = job.results()
    assert again.calls == 0
    assert [getattr(r, "text", None) for r in second] == [getattr(r, "text", None) for r in results]
    router.close()


def test_a_second_process_collects_the_job_the_first_submitted(
    sim: GeminiSimulator, tmp_path: Path
) -> None:
    store_dir = tmp_path / "jobs"
    router = live_router(sim, batch_store=FileBatchStore(store_dir))
    job = router.submit_batch(_prompts(40), display_name="handoff")
    script = f"""
import json
from lc_gemini_router import GeminiRouter, get_gemini_cost_callback
from lc_gemini_router.batches import FileBatchStore
router = GeminiRouter(api_key="test", base_url={sim.base_url!r}, max_retries=1,
                      batch_store=FileBatchStore({str(store_dir)!r}))
job = router.batch_job({job.id!r})
with get_gemini_cost_callback() as cb:
    results = job.wait(poll_every=0, sleep=lambda s: None)
print(json.dumps({{"cost": str(cb.total_cost), "calls": cb.calls, "n": len(results),
                  "state": job.state.value}}))
router.close()
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {
        "cost": str(30 * LITE_BATCH + 10 * PRO_BATCH),
        "calls": 40,
        "n": 40,
        "state": "SUCCEEDED",
    }
    # Back in the first process: the answers are there, their costs already reported.
    mine = router.batch_job(job.id)
    with get_gemini_cost_callback() as cb:
        results = mine.results()
    assert len(results) == 40 and cb.calls == 0
    router.close()


def test_async_submit_and_await_results(sim: GeminiSimulator) -> None:
    log = io.StringIO()

    async def main() -> tuple[list[Any], GeminiCostCallbackHandler]:
        router = live_router(sim)
        handler = GeminiCostCallbackHandler(log=log)
        job = await router.asubmit_batch(_prompts(8))
        results = await job.await_results(
            poll_every=0, sleep=asyncio.sleep, config={"callbacks": [handler]}
        )
        await router.aclose()
        return results, handler

    results, handler = asyncio.run(main())
    assert all(isinstance(r, AIMessage) for r in results)
    assert handler.total_cost == 6 * LITE_BATCH + 2 * PRO_BATCH
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    assert len(lines) == 8
    assert {(line["service_tier"], line["role"]) for line in lines} == {("batch", "answer")}
    assert {line["standard_cost"] for line in lines} == {str(LITE_STANDARD), str(PRO_STANDARD)}


def test_a_forced_lane_skips_the_classifier_and_big_jobs_go_as_a_file(
    sim: GeminiSimulator,
) -> None:
    router = live_router(sim)
    prompts = [f"Summarise report {i}: " + "lorem ipsum " * 50 for i in range(30)]
    job = router.submit_batch(prompts, lane="pro", inline_limit_bytes=4096)
    assert not [r for r in sim.requests if r.method == "generateContent"]
    assert [part.source for part in job.record.parts] == ["file"]
    with get_gemini_cost_callback() as cb:
        results = job.wait(poll_every=0, sleep=_no_sleep)
    assert all(isinstance(r, AIMessage) for r in results)
    assert cb.by_model[PRO].calls == 30
    assert cb.total_cost == 30 * PRO_BATCH
    router.close()


def test_results_before_the_job_is_final_and_wait_timeouts(sim: GeminiSimulator) -> None:
    sim.batches.pending_seconds = 3600
    router = live_router(sim)
    job = router.submit_batch(["Translate hello"])
    with pytest.raises(BatchNotReadyError, match="PENDING"):
        job.results()
    pauses: list[float] = []
    with pytest.raises(BatchTimeoutError, match="still PENDING after 100s"):
        job.wait(poll_every=10, timeout=100, sleep=pauses.append)
    # Backoff: 10, 15, 22.5, 33.75, then what is left of the 100 s.
    assert pauses == [10, 15, 22.5, 33.75, 18.75]
    assert job.cancel() is BatchState.CANCELLED
    errors = job.results()
    assert isinstance(errors[0], BatchItemError) and errors[0].job_state == "CANCELLED"
    assert not _billed(sim, LITE)
    router.close()


def test_bad_batch_input_is_refused_before_any_request(sim: GeminiSimulator) -> None:
    router = live_router(sim)
    with pytest.raises(UnsupportedInputError, match="at least one input"):
        router.submit_batch([])
    with pytest.raises(UnsupportedInputError):
        router.submit_batch(["fine", "   "])
    with pytest.raises(UnsupportedInputError, match="must be JSON"):
        router.submit_batch(["fine"], generation_config={"x": object()})
    with pytest.raises(ConfigError, match="max_requeues"):
        router.submit_batch(["fine"], max_requeues=-1)
    with pytest.raises(UnsupportedInputError, match="explicit context caches"):
        router.submit_batch(["fine"], lane="lite", cached_content="cachedContents/abc")
    with pytest.raises(UnknownBatchJobError, match="no batch job 'lcgr-missing'"):
        router.batch_job("lcgr-missing")
    with pytest.raises(ConfigError, match="lane 'batch' is the Gemini Batch API"):
        router.invoke("fine", lane="batch")
    assert sim.requests == []
    router.close()


def test_a_job_submitted_on_the_simulator_is_stored_before_submit_returns(
    sim: GeminiSimulator, backend: Backend
) -> None:
    router = live_router(sim)
    job = router.submit_batch(["Translate bonjour"], lane="lite")
    stored = router.batch_store.load(job.id)  # type: ignore[union-attr]
    assert stored is not None and stored.parts[0].name == job.gemini_jobs[0]
    assert job.gemini_jobs[0].startswith("batches/")
    # lane="batch" says what submit_batch does anyway: the inputs are routed as usual.
    routed = router.submit_batch(["Solve the riddle"], lane="batch")
    assert routed.record.items[0].lane == "pro"
    router.close()


def test_image_requests_go_through_the_batch_lane_priced_per_image_at_batch_rates(
    sim: GeminiSimulator,
) -> None:
    image_model = "gemini-3.1-flash-image"
    config = RouterConfig(extra_lanes={"image": LaneSpec(model=image_model, kind="image")})
    reply = SimReply(text="here", images=["2K"], prompt_tokens=10, output_tokens=5)
    sim.script(image_model, reply, reply, reply)
    router = live_router(sim, config=config)
    job = router.submit_batch(
        ["a lighthouse", "a harbour", "a storm"],
        response_modalities=["TEXT", "IMAGE"],
        image_config={"image_size": "2K", "aspect_ratio": "16:9"},
    )
    assert [part.model for part in job.record.parts] == [image_model]
    with get_gemini_cost_callback() as cb:
        results = job.wait(poll_every=0, sleep=_no_sleep)
    sent = _batch_items(sim)
    assert sent[0].body["generationConfig"]["imageConfig"] == {
        "aspectRatio": "16:9",
        "imageSize": "2K",
    }
    for result in results:
        assert isinstance(result, AIMessage)
        kinds = [b["type"] for b in result.content if isinstance(b, dict)]
        assert kinds == ["text", "image_url"]
    # Batch: $0.125 / 1M in, $0.75 / 1M text out, $30 / 1M image out (2K: 1,680 tokens).
    each = (10 * Decimal("0.125") + 5 * Decimal("0.75") + 1680 * Decimal("30")) / MILLION
    assert cb.total_cost == 3 * each
    assert cb.totals.images == 3
    # An image answer is its own reference; the standard tier costs twice as much.
    assert cb.reference_cost == 3 * each
    assert cb.standard_cost == 6 * each
    router.close()


def test_cached_tokens_in_batch_answers_are_priced_at_the_batch_cached_rate(
    sim: GeminiSimulator,
) -> None:
    sim.script(LITE, SimReply(text="ok", prompt_tokens=1000, cached_tokens=800, output_tokens=10))
    router = live_router(sim)
    job = router.submit_batch(["Translate a long shared preamble"], lane="lite")
    with get_gemini_cost_callback() as cb:
        (answer,) = job.wait(poll_every=0, sleep=_no_sleep)
    assert isinstance(answer, AIMessage)
    # Lite batch: 200 fresh in at 0.125, 800 cached at 0.0125, 10 out at 0.75 (per 1M).
    expected = (200 * Decimal("0.125") + 800 * Decimal("0.0125") + 10 * Decimal("0.75")) / MILLION
    assert cb.total_cost == expected
    assert cb.cached_tokens == 800
    router.close()


def test_budgets_refuse_a_batch_whose_worst_case_does_not_fit_and_charge_collected_answers(
    sim: GeminiSimulator,
) -> None:
    # Worst case per item: its prompt bound plus lite's whole output cap, at batch rates.
    router = live_router(sim, budgets=[Budget(limit="1.00", name="nightly")])
    prompts = [f"Translate line {i}" for i in range(4)]
    with pytest.raises(BudgetExceededError) as refused:
        router.submit_batch(prompts * 50, lane="lite")  # 200 items: about $9.83
    assert refused.value.lane == "batch" and refused.value.needed > Decimal("1.00")
    assert not _batch_items(sim) and not [r for r in sim.requests]  # no job was created
    job = router.submit_batch(prompts, lane="lite")
    (status,) = router.budget_status()
    assert status.spent == 0 and status.reserved == 0  # checked, nothing held
    job.wait(poll_every=0, sleep=_no_sleep)
    job.results()  # a second collection charges nothing more
    (status,) = router.budget_status()
    assert status.spent == 4 * LITE_BATCH
    router.close()


def test_a_chain_batch_tagged_for_the_batch_lane_goes_through_the_batch_api(
    sim: GeminiSimulator,
) -> None:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    router = live_router(
        sim, config=RouterConfig(batch_tags=frozenset({"nightly"}), batch_poll_seconds=0.01)
    )
    chain = ChatPromptTemplate.from_template("Translate {word}") | router | StrOutputParser()
    words = [{"word": w} for w in ("hello", "night", "river")]
    with get_gemini_cost_callback() as cb:
        texts = chain.batch(words, config={"tags": ["nightly"]})
    assert texts == [f"{LITE} answers"] * 3
    assert len(_billed(sim, LITE)) == 3 and cb.total_cost == 3 * LITE_BATCH
    assert {r.method for r in sim.requests} == {"batchGenerateContent"}  # rules: no classifier
    # Untagged, the same chain answers on the standard tier, one call each.
    assert chain.batch(words[:1]) == [f"{LITE} answers"]
    assert sim.requests[-1].method == "generateContent"
    router.close()


def test_batch_with_lane_batch_raises_a_failed_item_or_returns_it_in_place(
    sim: GeminiSimulator,
) -> None:
    router = live_router(sim, config=RouterConfig(batch_poll_seconds=0.01))
    inputs: list[LanguageModelInput] = ["Translate one", "Translate two"]
    sim.fail_next(429, model=LITE)
    outputs = router.batch(inputs, lane="batch", max_requeues=0, return_exceptions=True)
    assert isinstance(outputs[0], BatchItemError) and outputs[0].status == "RESOURCE_EXHAUSTED"
    assert isinstance(outputs[1], AIMessage)
    sim.fail_next(500, model=LITE)
    with pytest.raises(BatchItemError, match="sent once"):
        router.batch(inputs, lane="batch", max_requeues=0)
    # With the default single re-queue the same failure is answered on the second try.
    sim.fail_next(500, model=LITE)
    assert all(isinstance(o, AIMessage) for o in router.batch(inputs, lane="batch"))
    router.close()


def test_abatch_with_lane_batch(sim: GeminiSimulator) -> None:
    async def main() -> list[Any]:
        router = live_router(sim, config=RouterConfig(batch_poll_seconds=0.01))
        outputs = await router.abatch(["Translate one", "Translate two"], lane="batch")
        await router.aclose()
        return outputs

    outputs = asyncio.run(main())
    assert [o.text for o in outputs] == [f"{LITE} answers"] * 2
    assert len(_billed(sim, LITE)) == 2


def test_a_tracer_sees_each_collected_answer_as_a_run_of_the_model_that_answered(
    sim: GeminiSimulator,
) -> None:
    router = live_router(sim)
    job = router.submit_batch(["Translate one", "Solve riddle two"])
    tracer = CaptureTracer()
    job.wait(poll_every=0, sleep=_no_sleep, config={"callbacks": [tracer]})
    runs = sorted(
        tracer.roots, key=lambda run: run.extra["metadata"]["lc_gemini_router_batch"]["key"]
    )
    assert [run.extra["metadata"]["ls_model_name"] for run in runs] == [LITE, PRO]
    assert {run.extra["metadata"]["lc_gemini_router_service_tier"] for run in runs} == {"batch"}
    assert {run.extra["metadata"]["ls_provider"] for run in runs} == {"google_genai"}
    # LangSmith reads the answer's token usage from the run's output message.
    outputs = runs[1].outputs or {}
    usage = outputs["generations"][0][0]["message"]["kwargs"]["usage_metadata"]
    assert usage["input_tokens"] == 500 and usage["output_tokens"] == 400
    router.close()


def test_jobs_created_before_a_failure_are_stored_and_collected(sim: GeminiSimulator) -> None:
    from langchain_google_genai import ChatGoogleGenerativeAI

    from lc_gemini_router import ApiVersionWarning, BatchError

    # A Pro lane on v1, where Gemini serves no batch endpoint: its job cannot be made.
    pro = ChatGoogleGenerativeAI(
        model=PRO, google_api_key="test", base_url=sim.base_url, api_version="v1"
    )
    with pytest.warns(ApiVersionWarning):
        router = live_router(sim, pro=pro)
    prompts = ["Translate one", "Solve riddle two", "Translate three"]
    with pytest.raises(BatchError, match="failed after 1 of them were created") as failed:
        router.submit_batch(prompts)
    job_id = str(failed.value).split("'")[1]
    job = router.batch_job(job_id)  # stored, with the lite job that exists
    assert [part.model for part in job.record.parts] == [LITE]
    with get_gemini_cost_callback() as cb:
        results = job.wait(poll_every=0, sleep=_no_sleep)
    assert [type(r).__name__ for r in results] == ["AIMessage", "BatchItemError", "AIMessage"]
    unsent = results[1]
    assert isinstance(unsent, BatchItemError) and unsent.attempts == 0
    assert "never sent (job NOT_CREATED)" in str(unsent)
    assert cb.total_cost == 2 * LITE_BATCH  # the lite items Gemini ran, priced once
    router.close()


def test_two_handles_of_one_job_keep_each_others_requeues(
    sim: GeminiSimulator, tmp_path: Path
) -> None:
    # Two handles on one store, as two processes hold them: records are written whole,
    # so each folds in what the other stored before it writes or re-queues.
    store = FileBatchStore(tmp_path / "jobs")
    router = live_router(sim, batch_store=store)
    sim.fail_next(500, model=PRO, count=1, message="backend error")
    submitted = router.submit_batch(_prompts(8))
    first, second = router.batch_job(submitted.id), router.batch_job(submitted.id)
    assert first.refresh() == second.refresh() == BatchState.PARTIALLY_SUCCEEDED

    assert first.requeue_failed() == 1
    second.refresh()  # a stale handle's write keeps the first handle's new Gemini job
    stored = store.load(submitted.id)
    assert stored is not None and len(stored.parts) == 3  # lite, Pro, the Pro re-queue
    assert second.requeue_failed() == 0  # already sent again by the first handle
    assert len(sim.batches.jobs) == 3  # no second re-queue job at Gemini

    with get_gemini_cost_callback() as cb:
        results = router.batch_job(submitted.id).wait(poll_every=0, sleep=_no_sleep)
    assert all(isinstance(r, AIMessage) for r in results)
    assert cb.total_cost == 6 * LITE_BATCH + 2 * PRO_BATCH
    assert len(_billed(sim, PRO)) == 2  # the failed attempt was not billed
    router.close()
