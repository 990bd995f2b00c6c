"""The decision cache: LRU with TTL, hashed keys, thread safety, and its effect on routing."""

from __future__ import annotations

import threading

import pytest

from lc_gemini_router import (
    ClassifierScore,
    ClassifierSettings,
    RouterConfig,
    ScoreCache,
    get_gemini_cost_callback,
)
from tests.fakes import FakeClassifierModel, ManualClock
from tests.test_router import HARD, decision_of, make_router

EASY = ClassifierScore(difficulty=0.1, needs_tools=False, category="chat")
TOUGH = ClassifierScore(difficulty=0.9, needs_tools=False, category="reasoning")


def test_key_is_a_hash_ignoring_case_and_whitespace() -> None:
    key = ScoreCache.key("m", "Capital   of\nPeru?")
    assert key == ScoreCache.key("m", " capital of peru? ")
    assert key != ScoreCache.key("other-model", "capital of peru?")
    assert len(key) == 64 and "peru" not in key


def test_lru_evicts_the_least_recently_used() -> None:
    cache = ScoreCache(size=2, ttl=60)
    cache.put("a", EASY)
    cache.put("b", TOUGH)
    assert cache.get("a") == EASY  # "a" is now the most recent
    cache.put("c", EASY)
    assert cache.get("b") is None
    assert cache.get("a") == EASY and cache.get("c") == EASY
    assert len(cache) == 2


def test_ttl_expires_entries() -> None:
    clock = ManualClock()
    cache = ScoreCache(size=10, ttl=30, clock=clock)
    cache.put("a", EASY)
    clock.now = 30
    assert cache.get("a") == EASY
    clock.now = 30.5
    assert cache.get("a") is None
    assert len(cache) == 0
    assert (cache.hits, cache.misses) == (1, 1)


def test_size_zero_keeps_nothing() -> None:
    cache = ScoreCache(size=0, ttl=30)
    cache.put("a", EASY)
    assert cache.get("a") is None


def test_thread_safe_under_contention() -> None:
    cache = ScoreCache(size=64, ttl=60)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(2000):
                key = f"k{(worker * 7 + i) % 200}"
                if cache.get(key) is None:
                    cache.put(key, EASY if i % 2 else TOUGH)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(cache) == 64
    assert cache.hits + cache.misses == 16 * 2000


def test_identical_requests_reuse_the_score() -> None:
    classifier = FakeClassifierModel(scores={"riddle": HARD})
    router = make_router(classifier=classifier)
    with get_gemini_cost_callback() as cb:
        first = router.invoke("Solve this riddle")
        second = router.invoke("  solve THIS riddle ")
        third = router.invoke("solve this riddle", escalation_threshold=0.95)
    assert len(classifier.calls) == 1
    assert (decision_of(first)["source"], decision_of(second)["source"]) == ("classifier", "cache")
    assert decision_of(second)["lane"] == "pro"
    assert decision_of(third)["lane"] == "lite"  # a per-call threshold applies to cached scores
    assert cb.decision_sources == {"classifier": 1, "cache": 2}
    assert cb.cache_hit_rate == pytest.approx(2 / 3)
    assert cb.classifier_calls_avoided == pytest.approx(2 / 3)
    assert cb.by_role["classifier"].calls == 1  # a cache hit costs nothing


def test_cache_can_be_turned_off() -> None:
    classifier = FakeClassifierModel()
    config = RouterConfig(classifier=ClassifierSettings(cache_size=0))
    router = make_router(classifier=classifier, config=config)
    router.invoke("capital of Peru?")
    router.invoke("capital of Peru?")
    assert len(classifier.calls) == 2


def test_failed_scores_are_not_cached() -> None:
    classifier = FakeClassifierModel(fail=True)
    router = make_router(classifier=classifier)
    router.invoke("capital of Peru?")
    router.invoke("capital of Peru?")
    assert len(classifier.calls) == 2
