"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lc_gemini_router.simulator import GeminiSimulator


@pytest.fixture
def gemini_sim() -> Iterator[GeminiSimulator]:
    """A started loopback Gemini simulator, closed after the test."""
    with GeminiSimulator() as sim:
        yield sim
