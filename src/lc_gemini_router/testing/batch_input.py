"""The body of ``models/{model}:batchGenerateContent``, read as strictly as Gemini reads it.

``{"batch": {"displayName": ..., "inputConfig": ...}}`` where ``inputConfig`` holds
exactly one of

- ``requests.requests``: inline ``{"request": GenerateContentRequest, "metadata": {...}}``
  items, at most 50,000, in a body of at most 20 MB (20,971,520 bytes);
- ``fileName``: an uploaded JSONL file, one ``{"key": K, "request": {...}}`` per line.

Field names may be camelCase or snake_case, as in any Google JSON API; unknown names are
refused (``Invalid JSON payload received. Unknown name ...``). What makes the whole job
impossible is a 400 at create: a missing or doubled source, a file that does not exist,
a file that is not UTF-8 or has no lines, two lines with one key (the key is what maps a
result back to its request). A single broken line (not JSON, no key, no ``request``)
fails only its own item, which the job answers as an ``INVALID_ARGUMENT`` error on that
line; the other lines still run. ``displayName`` may be left out (google-genai leaves it
out without ``config.display_name``), and an inline request's own ``model`` is ignored:
every item runs on the model of the URL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lc_gemini_router.testing.faults import ApiError
from lc_gemini_router.testing.json_names import camel, camelize

__all__ = [
    "MAX_BATCH_REQUESTS",
    "MAX_INLINE_BYTES",
    "BatchItem",
    "BatchSpec",
    "parse_batch",
]

MAX_INLINE_BYTES = 20 * 1024 * 1024
"""Gemini's limit on a ``batchGenerateContent`` body (inline requests)."""
MAX_BATCH_REQUESTS = 50_000
"""Gemini's limit on inline requests per batch."""

_SHAPES: tuple[tuple[str, type], ...] = (
    ("contents", list),
    ("tools", list),
    ("safetySettings", list),
    ("generationConfig", dict),
    ("systemInstruction", dict),
    ("toolConfig", dict),
)
_BATCH_FIELDS = frozenset(
    {"name", "displayName", "inputConfig", "output", "createTime", "endTime", "updateTime"}
    | {"batchStats", "state", "priority", "model", "webhookConfig"}
)


@dataclass(frozen=True)
class BatchItem:
    """One request of a batch, in input order.

    Attributes:
        index: Position in the input (0-based).
        key: The line's ``key`` (file input) or ``metadata.key`` (inline), if any.
        request: The GenerateContentRequest, camelCase; None for a broken line.
        metadata: Inline ``metadata``, echoed with the item's result.
        problem: Why a broken line cannot run (it becomes the item's error).
    """

    index: int
    key: str | None
    request: dict[str, Any] | None
    metadata: dict[str, Any] | None = None
    problem: str | None = None


@dataclass(frozen=True)
class BatchSpec:
    """A parsed create body."""

    display_name: str | None
    input_config: dict[str, Any]
    items: list[BatchItem]
    input_file: str | None = None


def parse_batch(body: Any, size: int, read_file: Callable[[str], bytes | None]) -> BatchSpec:
    """Validate a create body of ``size`` bytes; ``read_file`` gives a live file's bytes.

    Raises:
        ApiError: 400 INVALID_ARGUMENT, with the reason.
    """
    if size > MAX_INLINE_BYTES:
        raise ApiError(400, f"Request payload size exceeds the limit: {MAX_INLINE_BYTES} bytes.")
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid JSON payload received.")
    _known(body, {"batch"}, "")
    batch = _object(body.get("batch"), "batch")
    batch = {camel(k): v for k, v in batch.items()}
    _known(batch, _BATCH_FIELDS, "batch")
    config = batch.get("inputConfig")
    if config is None:
        raise ApiError(400, "* BatchGenerateContentRequest.batch.input_config: is required")
    config = {camel(k): v for k, v in _object(config, "batch.input_config").items()}
    _known(config, {"requests", "fileName"}, "batch.input_config")
    has_requests, has_file = config.get("requests") is not None, bool(config.get("fileName"))
    if has_requests == has_file:
        which = "both" if has_requests else "neither"
        msg = (
            "* BatchGenerateContentRequest.batch.input_config: exactly one of requests and "
            f"file_name must be set, got {which}"
        )
        raise ApiError(400, msg)
    display = batch.get("displayName")
    display_name = None if display is None else str(display)
    if has_file:
        file_name = str(config["fileName"])
        data = read_file(file_name) if file_name.startswith("files/") else None
        if data is None:
            msg = (
                f"* BatchGenerateContentRequest.batch.input_config.file_name: {file_name} "
                "does not exist; upload the JSONL file with the Files API first"
            )
            raise ApiError(400, msg)
        items = _file_items(data, file_name)
        return BatchSpec(display_name, {"fileName": file_name}, items, input_file=file_name)
    items = _inline_items(config["requests"])
    return BatchSpec(display_name, {"requests": {"requests": _echo(items)}}, items)


def _inline_items(raw: Any) -> list[BatchItem]:
    where = "batch.input_config.requests"
    wrapper = _object(raw, where)
    _known(wrapper, {"requests"}, where)
    entries = wrapper.get("requests")
    if not isinstance(entries, list) or not entries:
        msg = f"* BatchGenerateContentRequest.{where}.requests: must hold at least one request"
        raise ApiError(400, msg)
    if len(entries) > MAX_BATCH_REQUESTS:
        msg = (
            f"* BatchGenerateContentRequest.{where}.requests: at most {MAX_BATCH_REQUESTS} "
            f"requests are allowed in a batch, got {len(entries)}"
        )
        raise ApiError(400, msg)
    items = []
    for index, entry in enumerate(entries):
        here = f"{where}.requests[{index}]"
        entry = {camel(k): v for k, v in _object(entry, here).items()}
        _known(entry, {"request", "metadata"}, here)
        if entry.get("request") is None:
            raise ApiError(400, f"* BatchGenerateContentRequest.{here}.request: is required")
        request = camelize(_object(entry["request"], f"{here}.request"))
        shape = _shape_problem(request, f"{here}.request")
        if shape is not None:
            raise ApiError(400, shape)
        metadata = entry.get("metadata")
        if metadata is not None:
            metadata = _object(metadata, f"{here}.metadata")
        key = None if metadata is None or metadata.get("key") is None else str(metadata["key"])
        items.append(BatchItem(index, key, request, metadata))
    return items


def _file_items(data: bytes, file_name: str) -> list[BatchItem]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, f"{file_name} is not UTF-8 encoded JSONL.") from None
    items: list[BatchItem] = []
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise ApiError(400, f"{file_name} has no requests: expected one JSON object per line.")
    seen: dict[str, int] = {}
    for index, (number, line) in enumerate(lines):
        key, request, problem = _parse_line(line, number)
        if key is not None:
            if key in seen:
                msg = (
                    f"{file_name}: key {key!r} is used on lines {seen[key]} and {number}; "
                    "each line needs its own key"
                )
                raise ApiError(400, msg)
            seen[key] = number
        items.append(BatchItem(index, key, request, None, problem))
    return items


def _parse_line(line: str, number: int) -> tuple[str | None, dict[str, Any] | None, str | None]:
    """A line's key, request and problem (None when it can run)."""
    try:
        entry = json.loads(line)
    except ValueError as exc:
        return None, None, f"Line {number} is not valid JSON: {exc}."
    if not isinstance(entry, dict):
        return None, None, f"Line {number} is not a JSON object."
    raw_key = entry.get("key")
    key = raw_key if isinstance(raw_key, str) and raw_key else None
    unknown = sorted(set(entry) - {"key", "request"})
    if unknown:
        return key, None, f'Line {number}: unknown name "{unknown[0]}"; expected key and request.'
    if key is None:
        return None, None, f"Line {number} has no key (a non-empty string)."
    request = entry.get("request")
    if not isinstance(request, dict):
        return key, None, f"Line {number} has no request object."
    request = camelize(request)
    shape = _shape_problem(request, "request")
    if shape is not None:
        return key, None, f"Line {number}: {shape}"
    return key, request, None


def _shape_problem(request: dict[str, Any], where: str) -> str | None:
    """What makes ``request`` not a GenerateContentRequest at all (a list where an
    object belongs, or the reverse), as Gemini's JSON parser refuses it; else None."""
    for name, kind in _SHAPES:
        if name in request and not isinstance(request[name], kind):
            expected = "a list" if kind is list else "an object"
            return f"Invalid JSON payload received. Expected {expected} at '{where}.{name}'."
    for i, content in enumerate(request.get("contents") or []):
        if not isinstance(content, dict):
            return f"Invalid JSON payload received. Expected an object at '{where}.contents[{i}]'."
        parts = content.get("parts")
        if parts is not None and not isinstance(parts, list):
            at = f"{where}.contents[{i}].parts"
            return f"Invalid JSON payload received. Expected a list at '{at}'."
        for j, part in enumerate(parts or []):
            if not isinstance(part, dict):
                at = f"{where}.contents[{i}].parts[{j}]"
                return f"Invalid JSON payload received. Expected an object at '{at}'."
    return None


def _echo(items: list[BatchItem]) -> list[dict[str, Any]]:
    echoed = []
    for item in items:
        entry: dict[str, Any] = {"request": item.request}
        if item.metadata is not None:
            entry["metadata"] = item.metadata
        echoed.append(entry)
    return echoed


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        msg = f"Invalid JSON payload received. Expected an object at '{where}'."
        raise ApiError(400, msg)
    return value


def _known(value: dict[str, Any], names: set[str] | frozenset[str], where: str) -> None:
    for key in value:
        if camel(key) not in names:
            at = f" at '{where}'" if where else ""
            msg = f'Invalid JSON payload received. Unknown name "{key}"{at}: Cannot find field.'
            raise ApiError(400, msg)
