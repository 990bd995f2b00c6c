"""Shared pytest fixtures."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from lc_gemini_router.api_versions import API_VERSION_ENV
from lc_gemini_router.testing.redis_server import RedisServer
from lc_gemini_router.testing.simulator import GeminiSimulator
from tests.routing_kit import Backend

# The tests speak plain HTTP to 127.0.0.1 only, yet every google-genai client loads a
# CA bundle into its SSL context: the system bundle costs about 100 ms per client, a
# one-certificate file about 9 ms. Child processes (CLI, notebooks) inherit it.
os.environ["SSL_CERT_FILE"] = str(Path(__file__).parent / "data" / "loopback-ca.pem")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze what the imports made: it lives for the whole session, and left in the
    collector's generations it made each test's collection below cost ~0.1 s."""
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def _collect_garbage() -> Iterator[None]:
    """Collect after each test, so an unclosed client is reported by the test that
    left it open, not by whichever later test the collector happens to run in."""
    yield
    gc.collect()


@pytest.fixture(autouse=True)
def _sdk_default_api_version(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see the SDK's own default; the ones about the variable set it themselves."""
    monkeypatch.delenv(API_VERSION_ENV, raising=False)


@pytest.fixture
def gemini_sim() -> Iterator[GeminiSimulator]:
    """A started loopback Gemini simulator, closed after the test."""
    with GeminiSimulator() as sim:
        yield sim


@pytest.fixture
def offline_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """No API key (so nothing goes live) and no terminal size from the environment."""
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "COLUMNS", "LINES"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def backend() -> Backend:
    """The deterministic Gemini backend of the router tests (override it to change it)."""
    return Backend()


@pytest.fixture
def sim(backend: Backend) -> Iterator[GeminiSimulator]:
    """A simulator that answers with ``backend``."""
    with GeminiSimulator(responder=backend) as simulator:
        yield simulator


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real redis-server for the session; a test without the binary fails, never skips."""
    try:
        server = RedisServer().start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for this test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.close()
    return redis_server.url
