"""RouterConfig: every routing setting in one validated object.

Build it in code, from a TOML file, or from ``LC_GEMINI_ROUTER_*`` environment
variables. Invalid values raise :class:`~lc_gemini_router.ConfigError` naming the
field (an unknown name gets the closest valid one); ``error.errors`` keeps pydantic's
details.

Example:
    >>> from lc_gemini_router import RouterConfig
    >>> config = RouterConfig(escalation_threshold=0.7, never_escalate={"translation"})
    >>> config.escalation_threshold, config.lanes["pro"]
    (0.7, 'gemini-3.1-pro-preview')
"""

from __future__ import annotations

import difflib
import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from typing_extensions import Self

from lc_gemini_router.errors import ConfigError, unknown_name_hint

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "CATEGORIES",
    "HEAVY_TOOLS",
    "LANES",
    "LEGACY_AGENT_RULES",
    "Category",
    "ClassifierSettings",
    "Lane",
    "LaneKind",
    "LaneSpec",
    "RouterConfig",
]

Lane = str
"""Where an answer goes: a built-in lane (:data:`LANES`) or one of ``RouterConfig.extra_lanes``."""
LANES: tuple[Lane, ...] = ("lite", "pro", "pro_tools")
"""The built-in lanes: Flash-Lite, Pro, and Pro's custom-tools endpoint."""
LaneKind = Literal["chat", "image"]
"""How a lane answers: ``chat`` calls a chat model; ``image`` is a chat model that
generates images, chosen for requests whose ``response_modalities`` include IMAGE."""
_LANE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

Category = Literal[
    "translation",
    "extraction",
    "classification",
    "summarization",
    "chat",
    "coding",
    "reasoning",
    "agentic",
]
"""Workload categories the classifier assigns (after seed 000's routing table)."""
CATEGORIES: tuple[Category, ...] = get_args(Category)

HEAVY_TOOLS: tuple[str, ...] = (
    "bash",
    "*shell*",
    "terminal",
    "exec*",
    "*_exec",
    "run_code",
    "run_command*",
    "run_tests",
    "python*",
    "edit_*",
    "write_file",
    "apply_patch",
    "git_commit",
    "git_push",
)
"""Default ``RouterConfig.heavy_tools``: shell, code execution and file-editing tools."""

LEGACY_AGENT_RULES: dict[str, Any] = {
    "tool_heavy_min_tools": 3,
    "tool_heavy_min_rounds": 2,
    "escalate_after_tool_errors": 0,
    "escalate_on_repeated_call": False,
    "heavy_tools": (),
    "broad_text_rules": True,
}
"""The agent and wording rules before evidence-based escalation, as settings:
``RouterConfig(**LEGACY_AGENT_RULES)`` routes as those defaults did."""

ENV_PREFIX = "LC_GEMINI_ROUTER_"
_ERROR_FALLBACKS: dict[Lane, Lane] = {"lite": "pro", "pro": "lite", "pro_tools": "pro"}


class _Settings(BaseModel):
    """A frozen settings model whose validation errors are ``ConfigError``s."""

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            what, names = type(self).__name__, _names(type(self))
            raise ConfigError.from_validation(what, exc, known=names) from None

    @classmethod
    def checked(cls, data: Any) -> Self:
        """``model_validate`` that raises ``ConfigError`` (keeping pydantic's details)."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError.from_validation(cls.__name__, exc, known=_names(cls)) from None


def _names(model: type[BaseModel]) -> list[str]:
    names = list(model.model_fields)
    for info in model.model_fields.values():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += list(annotation.model_fields)  # nested settings (classifier.*)
    return names


class ClassifierSettings(_Settings):
    """How the Flash-Lite classifier is called."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    """Off: requests the rules leave open go to ``fallback_lane`` without a classifier call."""
    model: str = "gemini-3.1-flash-lite"
    deadline_seconds: float = Field(default=2.0, gt=0, le=60)
    """A classifier slower than this, counted from when it is sent, is abandoned and the
    rules' fallback lane answers."""
    max_in_flight: int = Field(default=32, ge=1, le=4096)
    """Classifier calls one router has in flight at once (sync and async calls alike: the
    router's pool has this many threads, for classifier calls only). More threads
    add no throughput once the client's CPU is the bottleneck, and under the GIL their
    calls start missing the deadline on client CPU alone (64 threads: 2-4% timeouts in a
    1,000-thread burst); 32 still keeps 64 calls a second in flight at 500 ms each."""
    admission_wait_seconds: float = Field(default=20.0, ge=0, le=600)
    """How long a call waits for a free classifier slot before it skips the classifier
    (reason ``classifier busy``; the rules' fallback lane answers). A burst of 1,000
    routed calls is 15-20 s of client CPU on 2 cores (google-genai's request building
    most of it); a caller queued behind that waits for the CPU whether or not it skips."""
    max_input_chars: int = Field(default=4000, ge=200, le=100_000)
    """Bound on the classifier's input (about 1,000 tokens by default), whatever the prompt."""
    context_messages: int = Field(default=4, ge=0, le=50)
    """Earlier messages shown beside the latest one, so "yes, do it" is judged with its plan."""
    max_output_tokens: int = Field(default=64, ge=16, le=1024)
    failure_threshold: int = Field(default=3, ge=1)
    """Consecutive classifier failures that open the circuit breaker."""
    cooldown_seconds: float = Field(default=30.0, ge=0)
    """How long an open circuit skips the classifier."""
    fallback_lane: Lane = "lite"
    """Lane for requests the rules leave open when the classifier fails or is skipped."""
    cache_size: int = Field(default=4096, ge=0)
    """Scores kept for identical requests (0 turns the cache off)."""
    cache_ttl_seconds: float = Field(default=3600.0, gt=0)
    """How long a cached score stays valid."""


class LaneSpec(_Settings):
    """One lane beyond the built-in three: what answers, and where it falls back.

    Example:
        >>> from lc_gemini_router import LaneSpec, RouterConfig
        >>> config = RouterConfig(
        ...     extra_lanes={"flash": LaneSpec(model="gemini-3.5-flash", fallback="lite")},
        ...     long_context_lane="flash",
        ... )
        >>> config.lanes["flash"], config.fallback_of("flash")
        ('gemini-3.5-flash', 'lite')
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(min_length=1)
    """Gemini model ID of the lane (a ready chat model goes in ``GeminiRouter(lane_models=)``)."""
    kind: LaneKind = "chat"
    fallback: Lane | None = None
    """Lane that answers when this one fails with a fault another lane can get around."""


class RouterConfig(_Settings):
    """Thresholds, rules and lanes of a :class:`~lc_gemini_router.GeminiRouter`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    escalation_threshold: float = Field(default=0.6, ge=0, le=1)
    """Classifier difficulty at or above which a request goes to Pro."""
    tool_heavy_min_tools: int = Field(default=0, ge=0)
    """Bound tools from which every step goes to pro_tools without the classifier. 0
    (the default): the number of tools alone never decides (it was 3:
    ``LEGACY_AGENT_RULES``)."""
    tool_heavy_min_rounds: int = Field(default=8, ge=1)
    """Tool rounds in the current turn from which a long loop goes to pro_tools
    (it was 2, which escalated even easy loops)."""
    escalate_after_tool_errors: int = Field(default=2, ge=0)
    """Failed tool results in the current turn from which it goes to pro_tools (0:
    never). A failure is a ``ToolMessage`` with ``status="error"``."""
    escalate_on_repeated_call: bool = True
    """A tool called again with the same arguments in the current turn (a loop that is
    stuck) sends it to pro_tools."""
    heavy_tools: tuple[str, ...] = HEAVY_TOOLS
    """Tool-name patterns (``fnmatch``, case-insensitive) of engineering tools: once
    the current turn *calls* one (a shell, code execution, file edits), it goes to
    pro_tools, Pro's endpoint for mixed shell and custom-tool agents. Empty: never."""
    always_escalate: frozenset[Category] = frozenset()
    """Categories sent to Pro whatever their difficulty."""
    never_escalate: frozenset[Category] = frozenset()
    """Categories kept on Flash-Lite whatever their difficulty."""
    text_rules: bool = True
    """Decide obvious requests from their wording, without the classifier."""
    broad_text_rules: bool = False
    """The older, broad wording rules: "theorem" or "prove" anywhere -> Pro, any request
    that starts with "translate" -> lite, even for code. Off: those go to the classifier."""
    rule_band: tuple[float, float] = (0.2, 0.8)
    """Text-rule priors below the band stay on Flash-Lite, above it go to Pro; inside
    it (and for any message no rule recognises) the classifier decides."""
    long_context_tokens: int = Field(default=200_000, ge=1)
    """Estimated prompt size from which the long-context rule decides without the classifier."""
    long_context_lane: Lane = "pro"
    lane_deadline_seconds: float | None = Field(default=None, gt=0, le=3600)
    """Bound on one lane call, request to last byte (None: only the client's ``timeout``,
    which bounds each read, so a reply that trickles in can take far longer). A lane
    past it fails with ``LaneTimeout``, retryable: before its first chunk the fallback
    lane answers. Gemini may still bill the abandoned call."""
    max_prompt_tokens: int = Field(default=1_048_576, ge=1)
    """Input window of the lanes (Gemini 3.x: 1,048,576 tokens): a prompt estimated
    beyond it is refused before any request (``UnsupportedInputError``)."""
    forced_tool_choice_lane: Lane | None = "lite"
    """Lane for a call that forces a tool (structured output, a single forced step);
    None lets the classifier decide."""
    sticky_turns: bool = True
    """Keep an agent turn on the lane that started it (one classifier call per turn);
    the tool-rounds rule may still escalate it."""
    lite_model: str = "gemini-3.1-flash-lite"
    pro_model: str = "gemini-3.1-pro-preview"
    pro_tools_model: str = "gemini-3.1-pro-preview-customtools"
    classifier: ClassifierSettings = ClassifierSettings()
    speculative: bool = False
    """Start the lite answer while the classifier runs; cancel it if the call escalates
    (the cancelled work is reported as wasted spend)."""
    fallback_on_error: bool = True
    """When a lane still fails after its retries, answer on its fallback lane."""
    error_fallbacks: dict[Lane, Lane] = Field(default_factory=lambda: dict(_ERROR_FALLBACKS))
    """Fallback lane of each built-in lane (an extra lane names its own in its spec)."""
    extra_lanes: dict[str, LaneSpec] = Field(default_factory=dict)
    """Lanes beyond lite, pro and pro_tools, by name: send requests there per call
    (``lane="flash"``) or through any setting that names a lane."""
    batch_tags: frozenset[str] = frozenset()
    """Run tags that send ``batch()`` / ``abatch()`` through the Gemini Batch API (the
    batch lane: batch rates, answers within 24 h); ``lane="batch"`` does it per call."""
    batch_poll_seconds: float = Field(default=30.0, gt=0, le=3600)
    """First pause between polls while ``batch()`` waits for its batch jobs."""

    @model_validator(mode="after")
    def _check(self) -> RouterConfig:
        low, high = self.rule_band
        if not 0 <= low <= high <= 1:
            msg = f"rule_band must satisfy 0 <= low <= high <= 1, got {self.rule_band}"
            raise ValueError(msg)
        both = self.always_escalate & self.never_escalate
        if both:
            msg = f"categories both always and never escalated: {sorted(both)}"
            raise ValueError(msg)
        for name in self.extra_lanes:
            if name in LANES or not _LANE_NAME.match(name):
                msg = (
                    f"extra_lanes: {name!r} must be a new lowercase name (letters, digits, "
                    f"underscores), not one of {', '.join(LANES)}"
                )
                raise ValueError(msg)
        known = set(self.lanes)
        named: dict[str, list[Lane | None]] = {
            "classifier.fallback_lane": [self.classifier.fallback_lane],
            "long_context_lane": [self.long_context_lane],
            "forced_tool_choice_lane": [self.forced_tool_choice_lane],
            "error_fallbacks": [*self.error_fallbacks, *self.error_fallbacks.values()],
            "extra_lanes": [spec.fallback for spec in self.extra_lanes.values()],
        }
        for field_name, lanes in named.items():
            for lane in lanes:
                if lane is not None and lane not in known:
                    raise ValueError(f"{field_name}: {unknown_name_hint(lane, known, 'lane')}")
        for lane in known:
            if self.fallback_of(lane) == lane:
                msg = f"lane {lane!r} cannot fall back to itself"
                raise ValueError(msg)
        return self

    @property
    def lanes(self) -> dict[Lane, str]:
        """Model ID of each lane, the built-in three first."""
        builtin = {
            "lite": self.lite_model,
            "pro": self.pro_model,
            "pro_tools": self.pro_tools_model,
        }
        return builtin | {name: spec.model for name, spec in self.extra_lanes.items()}

    def image_lane(self) -> Lane | None:
        """The first lane of kind ``image`` (None when the config has none)."""
        return next((n for n, spec in self.extra_lanes.items() if spec.kind == "image"), None)

    def fallback_of(self, lane: Lane) -> Lane | None:
        """The lane that answers when ``lane`` fails (None: the error is raised)."""
        spec = self.extra_lanes.get(lane)
        return spec.fallback if spec is not None else self.error_fallbacks.get(lane)

    def with_overrides(self, overrides: Mapping[str, Any]) -> RouterConfig:
        """A validated copy with some fields replaced (per-call settings).

        Raises:
            ConfigError: an unknown field or an invalid value.
        """
        if not overrides:
            return self
        data = self.model_dump()
        for key, value in overrides.items():
            if key == "classifier" and isinstance(value, Mapping):
                data["classifier"] = {**data["classifier"], **value}
            else:
                data[key] = value
        return RouterConfig.checked(data)

    @classmethod
    def from_toml(cls, path: str | Path, *, table: str | None = None) -> RouterConfig:
        """Load from a TOML file; ``table`` picks a sub-table (``"tool.lc_gemini_router"``).

        Raises:
            ConfigError: the file is missing, not UTF-8 or not valid TOML; ``table``
                is not in it (the message names the tables that are); or a setting is
                unknown or invalid.
        """
        file = Path(path)
        try:
            data: Any = tomllib.loads(file.read_text(encoding="utf-8"))
        except OSError as exc:
            msg = f"cannot read router config {file}: {exc}"
            raise ConfigError(msg) from exc
        except UnicodeDecodeError as exc:
            msg = f"router config {file} is not UTF-8 text (TOML must be): {exc.reason}"
            raise ConfigError(msg) from None
        except tomllib.TOMLDecodeError as exc:
            msg = f"router config {file} is not valid TOML: {exc}"
            raise ConfigError(msg) from exc
        if table:
            data = _sub_table(file, data, table)
        try:
            return cls.checked(data)
        except ConfigError as exc:
            what = str(exc).removeprefix(f"invalid {cls.__name__}: ")
            msg = f"invalid router config {file}: {what}"
            raise ConfigError(msg, errors=exc.errors, problems=exc.problems) from None

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, prefix: str = ENV_PREFIX
    ) -> RouterConfig:
        """Load from environment variables: ``LC_GEMINI_ROUTER_ESCALATION_THRESHOLD=0.7``.

        Classifier settings use a double underscore
        (``LC_GEMINI_ROUTER_CLASSIFIER__DEADLINE_SECONDS=1.5``); sets and mappings
        are JSON (``LC_GEMINI_ROUTER_NEVER_ESCALATE='["translation"]'``). A whole
        setting given as a JSON object and some of its parts combine, the parts
        winning, whatever the order of the variables.

        Raises:
            ConfigError: a variable names an unknown setting or holds an invalid value,
                or a part is set (``..._CLASSIFIER__MODEL``) of a whole setting that
                another variable sets to something other than a JSON object (both are
                named).
        """
        env = os.environ if environ is None else environ
        data: dict[str, Any] = {}
        sources: dict[str, str] = {}
        # Whole settings first, then the double-underscore parts, so that
        # ..._CLASSIFIER and ..._CLASSIFIER__MODEL combine the same in any order.
        names = sorted(
            (n for n in env if n.startswith(prefix)), key=lambda n: "__" in n[len(prefix) :]
        )
        for name in names:
            key = name[len(prefix) :].lower()
            value = _parse_env_value(env[name])
            if "__" not in key:
                data[key], sources[key] = value, name
                continue
            group, sub = key.split("__", 1)
            parts = data.setdefault(group, {})
            if not isinstance(parts, dict):
                msg = (
                    f"environment variable {name} sets part of {group!r}, but "
                    f"{sources[group]} sets the whole of it to {env[sources[group]]!r}, "
                    "not a JSON object: use one or the other"
                )
                raise ConfigError(msg)
            parts[sub] = value
        return cls.checked(data)


def _sub_table(file: Path, data: Mapping[str, Any], table: str) -> Any:
    """``data[table]`` for a dotted table name; a ConfigError naming what is there instead."""
    found: Any = data
    seen: list[str] = []
    for part in table.split("."):
        if not isinstance(found, Mapping) or part not in found:
            break
        found = found[part]
        seen.append(part)
    else:
        if isinstance(found, Mapping):
            return found
        msg = f"router config {file}: [{table}] is not a table but {type(found).__name__}"
        raise ConfigError(msg)
    where = ".".join(seen)
    tables = sorted(
        f"[{where}.{key}]" if where else f"[{key}]"
        for key, value in (found.items() if isinstance(found, Mapping) else ())
        if isinstance(value, Mapping)
    )
    inside = f" in [{where}]" if where else ""
    listed = f"tables found{inside}: {', '.join(tables)}" if tables else f"no tables{inside}"
    msg = f"router config {file} has no [{table}] table ({listed})"
    close = difflib.get_close_matches(f"[{table}]", tables, n=1, cutoff=0.75)
    if close:
        msg += f"; did you mean {close[0]}?"
    raise ConfigError(msg)


def _parse_env_value(raw: str) -> Any:
    """JSON when it parses (numbers, booleans, lists), else the plain string."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw
