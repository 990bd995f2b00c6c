"""Schema-valid example values: the simulator's answer to a structured-output request."""

from __future__ import annotations

import math
from typing import Any, cast

__all__ = ["example_from_schema"]


def example_from_schema(
    schema: dict[str, Any], root: dict[str, Any] | None = None, depth: int = 0
) -> Any:
    """Generate a value that validates against a JSON Schema (pydantic or Gemini style).

    Supports object/properties/required, enum/const, string/number/integer/boolean/
    array/null (any case), anyOf/oneOf/allOf, ``$ref`` into ``$defs``/``definitions``,
    prefixItems (tuples), minimum/maximum (exclusive too), minItems/maxItems,
    minLength/maxLength and common string formats. Recursive schemas stop at
    required fields once nested deeply.

    Args:
        schema: The (sub)schema to satisfy.
        root: The whole schema, for resolving ``$ref``; defaults to ``schema``.
        depth: Nesting depth, used to end recursive schemas.

    Returns:
        A JSON-compatible value.

    Raises:
        ValueError: If a recursive schema has no finite instance.
    """
    root = schema if root is None else root
    deep = depth >= 8  # past this, build only what is required (recursive schemas)
    if depth > 64:
        msg = "schema recursion has no finite instance"
        raise ValueError(msg)
    if "$ref" in schema:
        target: Any = root
        for key in str(schema["$ref"]).lstrip("#/").split("/"):
            target = target[key]
        return example_from_schema(target, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in schema.get(key) or [] if isinstance(o, dict)]
        if options:
            # Prefer a concrete branch; take null once nesting gets deep.
            is_null = [str(o.get("type", "")).lower() == "null" for o in options]
            pick = is_null.index(deep) if deep in is_null else 0
            return example_from_schema(options[pick], root, depth + 1)
    kind: Any = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    kind = str(kind).lower()
    if kind == "object":
        props: dict[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        return {
            name: example_from_schema(sub, root, depth + 1)
            for name, sub in props.items()
            if not deep or name in required
        }
    if kind == "array":
        if isinstance(schema.get("prefixItems"), list):  # tuples
            return [example_from_schema(sub, root, depth + 1) for sub in schema["prefixItems"]]
        count = int(schema.get("minItems", 0 if deep else 1))
        count = min(count, int(schema.get("maxItems", count)))
        raw_items = schema.get("items")
        items: dict[str, Any] = raw_items if isinstance(raw_items, dict) else {}
        return [example_from_schema(items, root, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        return _number_in_range(schema, integer=kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string_for(schema)


def _number_in_range(schema: dict[str, Any], *, integer: bool) -> int | float:
    """Pick 1 if allowed, else a number inside the (possibly exclusive) bounds."""
    low, high = schema.get("minimum"), schema.get("maximum")
    low_open = high_open = False
    ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if ex_low is True or ex_high is True:  # draft-4 style boolean flags
        low_open, high_open = ex_low is True, ex_high is True
    if _is_number(ex_low) and (low is None or ex_low >= low):
        low, low_open = ex_low, True
    if _is_number(ex_high) and (high is None or ex_high <= high):
        high, high_open = ex_high, True
    if integer:
        if low is not None:
            low = math.floor(low) + 1 if low_open and low == math.floor(low) else math.ceil(low)
        if high is not None:
            ceiling = math.ceil(high)
            high = ceiling - 1 if high_open and high == ceiling else math.floor(high)
        value = 1 if low is None else max(low, 1)
        return int(value if high is None else min(value, high))

    def fits(x: float) -> bool:
        above = low is None or (x > low if low_open else x >= low)
        return above and (high is None or (x < high if high_open else x <= high))

    if fits(1.0):
        return 1.0
    if low is not None and high is not None:
        return float(low + high) / 2
    if low is not None:
        return float(low) + (1.0 if low_open else 0.0)
    return float(cast(float, high)) - (1.0 if high_open else 0.0)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _string_for(schema: dict[str, Any]) -> str:
    formats = {
        "date-time": "2026-01-01T00:00:00Z",
        "date": "2026-01-01",
        "time": "00:00:00",
        "email": "user@example.com",
        "uri": "https://example.com",
        "uuid": "00000000-0000-4000-8000-000000000000",
    }
    value = formats.get(str(schema.get("format")), "example")
    minimum, maximum = int(schema.get("minLength", 0)), schema.get("maxLength")
    value = value.ljust(minimum, "x")
    return value[: int(maximum)] if maximum is not None else value
