"""Field names in Google's JSON APIs: camelCase on the wire, snake_case accepted too.

Google's JSON parsers take a field by either name (``display_name`` or ``displayName``),
and google-genai sends both kinds (a File's metadata goes out in snake_case). The
simulator reads camelCase, so it converts what arrives, leaving user data alone.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["camel", "camelize"]

# Values under these names are user data (function arguments, schemas, metadata): their
# keys are kept as written, never converted.
_OPAQUE = frozenset(
    {"args", "response", "responseSchema", "responseJsonSchema", "parameters"}
    | {"parametersJsonSchema", "metadata", "properties"}
)
_SNAKE = re.compile(r"_([a-z0-9])")


def camel(name: str) -> str:
    """``display_name`` -> ``displayName``; camelCase names pass through."""
    return _SNAKE.sub(lambda m: m.group(1).upper(), name)


def camelize(value: Any) -> Any:
    """Convert field names to camelCase throughout, except inside user data."""
    if isinstance(value, list):
        return [camelize(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = camel(key)
        out[name] = item if name in _OPAQUE else camelize(item)
    return out
