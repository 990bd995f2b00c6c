"""Writing the router config as TOML that ``RouterConfig.from_toml`` reads back equal."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lc_gemini_router.config import RouterConfig
from lc_gemini_router.errors import ConfigError

_BARE_KEY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
_ESCAPES["\r"] = "\\r"


def _toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_key(key: str) -> str:
    return key if key and set(key) <= _BARE_KEY else _toml_string(key)


def _toml_value(value: object, name: str) -> str:
    if value is None:
        msg = f"cannot write {name} = None: TOML has no null (set it to a lane)"
        raise ConfigError(msg)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # shortest text that reads back as the same float
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (set, frozenset)):
        return _toml_value(sorted(value), name)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v, name) for v in value) + "]"
    if isinstance(value, Mapping):
        items = ", ".join(
            f"{_toml_key(str(k))} = {_toml_value(v, f'{name}.{k}')}" for k, v in value.items()
        )
        return "{ " + items + " }" if items else "{}"
    msg = f"cannot write {name}: {type(value).__name__} values have no TOML form here"
    raise ConfigError(msg)


def dump_config(config: RouterConfig, *, header: str | None = None) -> str:
    """The whole config as TOML text that :meth:`RouterConfig.from_toml` reads back equal.

    Top-level settings first, then one table per nested setting (``[classifier]``,
    ``[error_fallbacks]``); ``header`` becomes ``#`` comment lines at the top.

    Raises:
        ConfigError: a setting TOML cannot hold (``forced_tool_choice_lane = None``:
            TOML has no null).

    Example:
        >>> from lc_gemini_router import RouterConfig
        >>> text = dump_config(RouterConfig(escalation_threshold=0.55))
        >>> text.splitlines()[0]
        'escalation_threshold = 0.55'
        >>> "[classifier]" in text
        True
    """
    lines = [f"# {line}".rstrip() for line in (header or "").splitlines()]
    if lines:
        lines.append("")
    tables: list[tuple[str, Mapping[str, Any]]] = []
    fields = type(config).model_fields
    for key, value in config.model_dump().items():
        if isinstance(value, Mapping):
            tables.append((key, value))
        elif value is None and key in fields and fields[key].default is None:
            continue  # left out, it reads back as its default (TOML has no null)
        else:
            lines.append(f"{_toml_key(key)} = {_toml_value(value, key)}")
    for name, table in tables:
        lines += ["", f"[{_toml_key(name)}]"]
        lines += [f"{_toml_key(k)} = {_toml_value(v, f'{name}.{k}')}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def write_config(config: RouterConfig, path: str | Path, *, header: str | None = None) -> None:
    """Write the whole config as TOML (see :func:`dump_config`), replacing ``path``.

    The file is written next to ``path`` first and then moved into place, so a
    failed write leaves the old file as it was.

    Raises:
        ConfigError: a setting TOML cannot hold, or the file cannot be written.
    """
    file = Path(path)
    text = dump_config(config, header=header)
    temporary = file.with_name(f".{file.name}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, file)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        msg = f"cannot write router config {file}: {exc.strerror or exc}"
        raise ConfigError(msg) from exc
