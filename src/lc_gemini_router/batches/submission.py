"""What a batch submission was asked: inputs, per-call arguments and job settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import LanguageModelInput
from langchain_core.runnables import RunnableConfig

__all__ = ["Submission"]


@dataclass(frozen=True)
class Submission:
    """What :func:`submit` was asked: inputs, per-call arguments, job settings."""

    inputs: Sequence[LanguageModelInput]
    kwargs: Mapping[str, Any]
    display_name: str | None
    max_requeues: int
    config: RunnableConfig | None
    inline_limit: int
