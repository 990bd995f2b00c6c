"""Reading a batch input file, and writing its results: JSON lines, checked line by line.

Each non-blank line of the input is one request: a JSON string (the prompt), or an
object ``{"id": optional, "input": ...}`` whose input is a prompt string or a list of
``{"role": "system" | "user" | "assistant", "content": "..."}`` messages. Anything
else stops the reading with one message naming ``file:line`` and the field, before
any request is sent (:func:`read_batch_inputs`).

The results file has one JSON line per input, in input order (:func:`result_line`):
``index``, ``id``, ``lane``, ``model``, ``text``, ``cost`` (a decimal string, USD at
the batch tier) and ``error`` (what Gemini answered for a request that failed).

Example:
    >>> import tempfile, pathlib
    >>> from lc_gemini_router.tools.batch_inputs import read_batch_inputs
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "prompts.jsonl"
    >>> _ = path.write_text('"Translate hello"\\n{"id": "q2", "input": "Prove it"}\\n')
    >>> [(i.index, i.id, i.messages[0].content) for i in read_batch_inputs(path)]
    [(0, None, 'Translate hello'), (1, 'q2', 'Prove it')]
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from os import PathLike
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from lc_gemini_router.errors import BatchItemError, ConfigError, UnsupportedInputError
from lc_gemini_router.keys import ROUTER_METADATA_KEY
from lc_gemini_router.routing.inputs import check_messages
from lc_gemini_router.tools.jsonl import read_json_values
from lc_gemini_router.tools.limits import shown

__all__ = [
    "BatchInput",
    "BatchInputError",
    "InputId",
    "read_batch_inputs",
    "result_line",
    "write_json_lines",
]

InputId = str | int | None
"""An input's ``id``: a string, a whole number, or None when the line gave none."""

_ROLES: dict[str, type[BaseMessage]] = {
    "system": SystemMessage,
    "user": HumanMessage,
    "human": HumanMessage,
    "assistant": AIMessage,
    "ai": AIMessage,
    "model": AIMessage,
}
_FIELDS = ("id", "input")
_MESSAGE_FIELDS = ("role", "content")
_SHAPE = 'a prompt string, or an object {"id": ..., "input": ...}'


class BatchInputError(ConfigError):
    """A batch input file that cannot be read, or a line in it that is not a request."""


@dataclass(frozen=True)
class BatchInput:
    """One request of a batch input file."""

    index: int
    """Its position among the requests (blank lines do not count)."""
    where: str
    """``file:line``, for messages."""
    id: InputId
    messages: list[BaseMessage]


def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _text(value: Any, where: str, field: str) -> str:
    if not isinstance(value, str):
        msg = f"{where}: {field!r} must be a string, got {_json_type(value)}"
        raise BatchInputError(msg)
    if not value.strip():
        msg = f"{where}: {field!r} is an empty prompt"
        raise BatchInputError(msg)
    return value


def _message(value: Any, where: str, field: str) -> BaseMessage:
    if not isinstance(value, dict):
        msg = (
            f"{where}: {field!r} must be an object "
            f'{{"role": ..., "content": ...}}, got {_json_type(value)}'
        )
        raise BatchInputError(msg)
    unknown = [key for key in value if key not in _MESSAGE_FIELDS]
    if unknown:
        msg = f"{where}: {field}.{unknown[0]}: unknown field (a message has role and content)"
        raise BatchInputError(msg)
    if "role" not in value or "content" not in value:
        missing = "role" if "role" not in value else "content"
        msg = f"{where}: {field!r} has no {missing!r}"
        raise BatchInputError(msg)
    role = value["role"]
    kind = _ROLES.get(role) if isinstance(role, str) else None
    if kind is None:
        msg = f"{where}: {field}.role must be 'system', 'user' or 'assistant', got {shown(role)}"
        raise BatchInputError(msg)
    return kind(content=_text(value["content"], where, f"{field}.content"))


def _messages(value: Any, where: str) -> list[BaseMessage]:
    if isinstance(value, str):
        return [HumanMessage(content=_text(value, where, "input"))]
    if not isinstance(value, list):
        msg = (
            f"{where}: 'input' must be a prompt string or a list of "
            f'{{"role", "content"}} messages, got {_json_type(value)}'
        )
        raise BatchInputError(msg)
    if not value:
        msg = f"{where}: 'input' is an empty list of messages"
        raise BatchInputError(msg)
    return [_message(item, where, f"input[{i}]") for i, item in enumerate(value)]


def _input_id(value: Any, where: str) -> InputId:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    msg = f"{where}: 'id' must be a string or a whole number, got {_json_type(value)}"
    raise BatchInputError(msg)


def _request(index: int, where: str, data: Any) -> BatchInput:
    if isinstance(data, str):
        messages: list[BaseMessage] = [HumanMessage(content=_text(data, where, "prompt"))]
        request = BatchInput(index, where, None, messages)
    elif isinstance(data, dict):
        unknown = [key for key in data if key not in _FIELDS]
        if unknown:
            msg = f"{where}: {unknown[0]!r}: unknown field (a request has input and id)"
            raise BatchInputError(msg)
        if "input" not in data:
            msg = f"{where}: 'input' is missing (the prompt, or a list of messages)"
            raise BatchInputError(msg)
        identity = _input_id(data.get("id"), where)
        request = BatchInput(index, where, identity, _messages(data["input"], where))
    else:
        msg = f"{where}: expected {_SHAPE}, got {_json_type(data)}"
        raise BatchInputError(msg)
    try:
        check_messages(request.messages)  # what the router refuses, named by its line
    except UnsupportedInputError as exc:
        msg = f"{where}: 'input': {exc}"
        raise BatchInputError(msg) from None
    return request


def read_batch_inputs(path: str | PathLike[str]) -> list[BatchInput]:
    """Every request of a batch input file (see the module docs), in file order.

    Raises:
        BatchInputError: the file cannot be read or holds no request, or a line is not
            UTF-8, not JSON, not a request (wrong types, unknown fields, an empty
            prompt, an unknown role, a lone surrogate), or repeats an earlier ``id``;
            the message names ``file:line`` and the field.
    """
    file = Path(path)
    requests: list[BatchInput] = []
    ids: dict[tuple[str, str | int], str] = {}
    for _, where, data in read_json_values(file, what="batch input", error=BatchInputError):
        request = _request(len(requests), where, data)
        if request.id is not None:
            # 1 and "1" are different ids: keyed by type as well as value.
            key = (type(request.id).__name__, request.id)
            if key in ids:
                msg = f"{where}: 'id' {request.id!r} is already the id of {ids[key]}"
                raise BatchInputError(msg)
            ids[key] = where
        requests.append(request)
    if not requests:
        msg = f"{file}: no requests (the file has no JSON lines)"
        raise BatchInputError(msg)
    return requests


def result_line(
    index: int, input_id: InputId, lane: str, model: str, result: BaseMessage | BatchItemError
) -> dict[str, Any]:
    """The results file's line for one input: its answer and cost, or Gemini's error."""
    line: dict[str, Any] = {"index": index, "id": input_id, "lane": lane, "model": model}
    if isinstance(result, BatchItemError):
        error = {
            "message": result.message,
            "code": result.code,
            "status": result.status,
            "attempts": result.attempts,
            "job_state": result.job_state,
        }
        return {**line, "text": None, "cost": None, "error": error}
    meta = result.response_metadata
    cost = (meta.get(ROUTER_METADATA_KEY) or {}).get("cost") or {}
    name = meta.get("model_name")
    return {
        **line,
        "model": name if isinstance(name, str) and name else model,
        "text": result.text,
        "cost": cost.get("total_cost"),
        "error": None,
    }


def write_json_lines(path: str | PathLike[str], lines: Iterable[Mapping[str, Any]]) -> None:
    """Write ``lines`` as JSON lines, replacing ``path`` atomically (written aside first).

    Raises:
        OSError: the file cannot be written.
    """
    target = Path(path)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for line in lines:
                handle.write(json.dumps(line) + "\n")
        # mkstemp makes the file private (0600): give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
