"""Which Gemini API version (``v1`` / ``v1beta``) a lane talks to.

google-genai 3.0 made ``v1`` the default of the Gemini Developer API (2.x used
``v1beta``). Gemini does not serve ``-preview`` models, ``-latest`` aliases or
experimental models on ``v1`` (404 NOT_FOUND), so a Pro lane built with the SDK's
default is broken on every fresh install.

Every lane the router builds itself therefore pins ``v1beta``, for GA models too,
rather than choosing per model:

- ``v1beta`` serves every model, GA and preview, while ``v1`` serves a subset;
  one surface means a lane switch (Flash-Lite -> Pro in the middle of an agent
  turn) never changes which request fields Gemini accepts;
- the features the router relies on (``responseJsonSchema``, thinking levels,
  thought signatures, the Batch API, ``-customtools``) are documented on
  ``v1beta``; several are missing or refused on ``v1``;
- a per-model choice would have to know the status of every model ID a user
  passes, and would silently break when Google moves a model between surfaces.

The user's choice always wins: ``api_version=`` on the router (or on a ready
lane) and, failing that, ``GOOGLE_GENAI_API_VERSION`` in the environment (the
SDK's own variable, where ``beta`` means ``v1beta``).

Example:
    >>> from lc_gemini_router.api_versions import lane_api_version, served_on
    >>> lane_api_version(None, environ={})
    ApiVersion(version='v1beta', source='router default')
    >>> lane_api_version(None, environ={"GOOGLE_GENAI_API_VERSION": "beta"}).version
    'v1beta'
    >>> served_on("gemini-3.1-pro-preview", "v1"), served_on("gemini-3.1-flash-lite", "v1")
    (False, True)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any

__all__ = [
    "API_VERSION_ENV",
    "ROUTER_API_VERSION",
    "ApiVersion",
    "effective_api_version",
    "lane_api_version",
    "normalize_api_version",
    "sdk_default_api_version",
    "served_on",
    "v1_problem",
]

API_VERSION_ENV = "GOOGLE_GENAI_API_VERSION"
"""The SDK's environment variable; ``beta`` is its alias for ``v1beta``."""
ROUTER_API_VERSION = "v1beta"
"""What every lane the router builds uses unless the user chose another version."""

# Gemini serves these only on the beta surfaces (checked against its 404s on v1).
_BETA_ONLY = re.compile(r"(-preview(?:-[\w.-]+)?|-latest|-exp(?:-[\w.-]+)?)$")
_KNOWN = frozenset({"v1", "v1beta", "v1alpha", "v1beta1"})


@dataclass(frozen=True)
class ApiVersion:
    """An API version and where it came from (shown by ``lc-gemini-router models``)."""

    version: str
    source: str
    """``"api_version="``, ``"GOOGLE_GENAI_API_VERSION"``, ``"router default"`` or
    ``"SDK default (google-genai X)"``."""


def normalize_api_version(value: str) -> str:
    """``beta`` -> ``v1beta`` (the SDK's alias); other values pass through stripped.

    Raises:
        ValueError: an empty value.
    """
    text = value.strip()
    if not text:
        msg = "api_version must not be empty"
        raise ValueError(msg)
    return "v1beta" if text == "beta" else text


def served_on(model: str, api_version: str) -> bool:
    """Whether Gemini serves ``model`` on ``api_version`` (False: it answers 404)."""
    if api_version != "v1":
        return True
    name = model.removeprefix("models/")
    return _BETA_ONLY.search(name) is None


def v1_problem(model: str, api_version: str) -> str | None:
    """Why ``model`` fails on ``api_version``, with the fix; None when it is served."""
    if served_on(model, api_version):
        return None
    return (
        f"model {model!r} is not served on Gemini API version {api_version!r} (preview "
        "models, -latest aliases and experimental models answer 404 NOT_FOUND there, "
        "and v1 is google-genai 3.x's default): pass api_version='v1beta', or set "
        f"{API_VERSION_ENV}=v1beta"
    )


def _env_version(environ: Mapping[str, str] | None) -> str | None:
    env = os.environ if environ is None else environ
    raw = env.get(API_VERSION_ENV)
    return normalize_api_version(raw) if raw and raw.strip() else None


def lane_api_version(
    explicit: str | None, *, environ: Mapping[str, str] | None = None
) -> ApiVersion:
    """The version a lane the router builds uses: explicit, else the env, else v1beta."""
    if explicit is not None:
        return ApiVersion(normalize_api_version(explicit), "api_version=")
    from_env = _env_version(environ)
    if from_env is not None:
        return ApiVersion(from_env, API_VERSION_ENV)
    return ApiVersion(ROUTER_API_VERSION, "router default")


def sdk_default_api_version() -> ApiVersion:
    """The version google-genai uses for the Developer API when nobody chose one."""
    try:
        installed = metadata.version("google-genai")
    except metadata.PackageNotFoundError:  # pragma: no cover - a core dependency
        installed = "0"
    major = int(installed.split(".", 1)[0]) if installed.split(".", 1)[0].isdigit() else 0
    return ApiVersion("v1" if major >= 3 else "v1beta", f"SDK default (google-genai {installed})")


def effective_api_version(
    model: Any, *, environ: Mapping[str, str] | None = None
) -> ApiVersion | None:
    """The version a ready ``ChatGoogleGenerativeAI`` will call; None for other models.

    Vertex AI clients are left alone (they keep ``v1beta1`` on every SDK major).
    """
    if type(model).__name__ != "ChatGoogleGenerativeAI" or getattr(model, "vertexai", None):
        return None
    explicit = getattr(model, "api_version", None)
    if isinstance(explicit, str) and explicit.strip():
        return ApiVersion(normalize_api_version(explicit), "api_version=")
    from_env = _env_version(environ)
    if from_env is not None:
        return ApiVersion(from_env, API_VERSION_ENV)
    return sdk_default_api_version()
