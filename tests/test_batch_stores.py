"""Batch job records and where they are kept: states, re-queue plans, atomic claims."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lc_gemini_router import ConfigError, RedisStore, StoreUnavailableError
from lc_gemini_router.batches import BatchState, BatchStore, FileBatchStore, MemoryBatchStore
from lc_gemini_router.batches.records import BatchItem, BatchPart, BatchRecord, gemini_state


def _record(parts: list[BatchPart], *, items: int = 4, max_requeues: int = 1) -> BatchRecord:
    return BatchRecord(
        id="lcgr-test",
        display_name="t",
        created=0.0,
        items=[
            BatchItem(key=str(i), messages=[], lane="lite", model="m", decision={})
            for i in range(items)
        ],
        parts=parts,
        max_requeues=max_requeues,
    )


def _part(name: str, keys: list[str], state: BatchState, **kw: object) -> BatchPart:
    return BatchPart(name=name, model="m", keys=keys, state=state, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "state"),
    [
        ("JOB_STATE_SUCCEEDED", BatchState.SUCCEEDED),
        ("BATCH_STATE_RUNNING", BatchState.RUNNING),
        ("JOB_STATE_PARTIALLY_SUCCEEDED", BatchState.PARTIALLY_SUCCEEDED),
        ("JOB_STATE_UNSPECIFIED", BatchState.PENDING),
        ("JOB_STATE_SOMETHING_NEW", BatchState.PENDING),
        (None, BatchState.PENDING),
    ],
)
def test_gemini_states_are_read_without_their_prefix(value: object, state: BatchState) -> None:
    assert gemini_state(value) is state


def test_a_job_is_running_while_any_part_runs_and_partial_when_an_item_failed() -> None:
    done = _part("batches/a", ["0", "1"], BatchState.SUCCEEDED, failed_keys=["1"])
    running = _part("batches/b", ["2", "3"], BatchState.RUNNING)
    record = _record([done, running])
    assert record.state is BatchState.RUNNING
    running.state = BatchState.SUCCEEDED
    final: BatchState = record.state  # a property, computed from the parts again
    assert final is BatchState.PARTIALLY_SUCCEEDED
    assert final.done and final.has_results


def test_a_requeued_item_that_then_succeeds_makes_the_job_succeed() -> None:
    first = _part("batches/a", ["0", "1", "2", "3"], BatchState.SUCCEEDED, failed_keys=["2"])
    record = _record([first])
    assert [(p.name, keys) for p, keys in record.requeue_plan()] == [("batches/a", ["2"])]
    first.requeued = True
    record.parts.append(_part("batches/r", ["2"], BatchState.SUCCEEDED, attempt=1))
    assert record.latest("2") is record.parts[1]
    assert record.state is BatchState.SUCCEEDED
    assert record.requeue_plan() == []


def test_requeues_stop_at_the_limit_and_cover_whole_failed_or_expired_parts() -> None:
    record = _record(
        [
            _part("batches/a", ["0", "1"], BatchState.EXPIRED),
            _part("batches/b", ["2"], BatchState.SUCCEEDED, failed_keys=["2"], attempt=1),
            _part("batches/c", ["3"], BatchState.CANCELLED),
        ]
    )
    # Expired: every item again; b is at its limit; a cancelled part is never re-sent.
    assert [(p.name, keys) for p, keys in record.requeue_plan()] == [("batches/a", ["0", "1"])]
    assert record.state is BatchState.PARTIALLY_SUCCEEDED
    record.cancelled = True
    assert record.requeue_plan() == []


def test_merging_a_stored_record_takes_in_what_another_handle_saw_and_created() -> None:
    ours = _record(
        [
            _part("batches/a", ["0", "1"], BatchState.RUNNING),
            _part("batches/b", ["2", "3"], BatchState.SUCCEEDED, failed_keys=["3"]),
        ]
    )
    theirs = _record(
        [
            _part("batches/a", ["0", "1"], BatchState.SUCCEEDED, failed_keys=["1"]),
            _part("batches/b", ["2", "3"], BatchState.RUNNING, requeued=True),
            _part("batches/c", ["3"], BatchState.PENDING, attempt=1),
        ]
    )
    theirs.cancelled = True
    ours.merge(theirs)
    a, b, c = ours.parts
    assert (a.state, a.failed_keys, a.requeued) == (BatchState.SUCCEEDED, ["1"], False)
    # What this handle already saw final stays; the other's re-queue mark is taken in.
    assert (b.state, b.failed_keys, b.requeued) == (BatchState.SUCCEEDED, ["3"], True)
    assert (c.name, c.attempt, c.keys) == ("batches/c", 1, ["3"])
    assert c is not theirs.parts[2] and ours.cancelled
    ours.merge(theirs)  # idempotent
    assert [p.name for p in ours.parts] == ["batches/a", "batches/b", "batches/c"]


def test_all_parts_failed_is_failed_and_no_parts_is_pending() -> None:
    assert _record([]).state is BatchState.PENDING
    failed = _record([_part("batches/a", ["0", "1", "2", "3"], BatchState.FAILED)])
    assert failed.state is BatchState.FAILED


# -- the stores -------------------------------------------------------------------------


@pytest.fixture(params=["memory", "file", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BatchStore]:
    if request.param == "memory":
        yield MemoryBatchStore()
    elif request.param == "file":
        yield FileBatchStore(tmp_path / "batches")
    else:
        redis_store = RedisStore.from_url(request.getfixturevalue("redis_url"))
        yield redis_store.batch_store()
        redis_store.close()


def test_a_record_round_trips_and_later_saves_replace_it(store: BatchStore) -> None:
    record = _record([_part("batches/a", ["0", "1", "2", "3"], BatchState.RUNNING)])
    store.save(record)
    record.parts[0].state = BatchState.SUCCEEDED  # a later change, not saved yet
    loaded = store.load("lcgr-test")
    assert loaded is not None and loaded.parts[0].state is BatchState.RUNNING
    store.save(record)
    again = store.load("lcgr-test")
    assert again == record
    assert store.load("lcgr-other") is None


def test_claims_return_only_keys_never_claimed_before(store: BatchStore) -> None:
    assert store.claim("lcgr-test", ["0", "1", "1"]) == ["0", "1"]
    assert store.claim("lcgr-test", ["1", "2"]) == ["2"]
    assert store.claim("lcgr-test", []) == []
    assert store.collected("lcgr-test") == {"0", "1", "2"}
    assert store.claim("lcgr-other", ["0"]) == ["0"]
    store.delete("lcgr-test")
    assert store.collected("lcgr-test") == set() and store.load("lcgr-test") is None


@pytest.mark.parametrize("job_id", ["../etc/passwd", "", "a b", "x" * 200])
def test_a_job_id_that_could_escape_the_store_is_refused(store: BatchStore, job_id: str) -> None:
    with pytest.raises(ConfigError, match="not a batch job id"):
        store.load(job_id)


def _claim_all(directory: str, keys: list[str], out: multiprocessing.Queue[list[str]]) -> None:
    out.put(FileBatchStore(directory).claim("lcgr-test", keys))


@pytest.mark.slow
def test_file_claims_from_four_processes_give_each_key_to_exactly_one(tmp_path: Path) -> None:
    keys = [str(i) for i in range(500)]
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[list[str]] = context.Queue()
    workers = [
        context.Process(target=_claim_all, args=(str(tmp_path), keys, out)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    won = [out.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert sorted(key for claimed in won for key in claimed) == sorted(keys)


def test_redis_batch_state_fails_closed_when_redis_is_down() -> None:
    # Nothing listens on port 9 of loopback: the connection is refused at once.
    store = RedisStore.from_url("redis://127.0.0.1:9/0", timeout=0.5).batch_store()
    calls: list[Callable[[], object]] = [
        lambda: store.load("lcgr-test"),
        lambda: store.claim("lcgr-test", ["0"]),
        lambda: store.save(_record([])),
    ]
    for call in calls:
        with pytest.raises(StoreUnavailableError, match="batch job's state was not kept"):
            call()
