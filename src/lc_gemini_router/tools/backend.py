"""Where the router's Gemini calls go: the live API, or an embedded simulator.

:func:`gemini_backend` yields a :class:`Backend`: the live Gemini API when an API
key is set, else an embedded :class:`~lc_gemini_router.testing.simulator.GeminiSimulator`
that the real ``ChatGoogleGenerativeAI`` talks to over loopback HTTP, answering
like Gemini would (:func:`~lc_gemini_router.tools.simulated.simulated_responder`).
The CLI's commands, the evaluation and the calibration use it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from lc_gemini_router.config import RouterConfig
from lc_gemini_router.errors import ConfigError
from lc_gemini_router.router import GeminiRouter
from lc_gemini_router.testing.simulator import GeminiSimulator
from lc_gemini_router.tools.simulated import simulated_responder

__all__ = ["API_KEY_VARIABLES", "BASE_URL_VARIABLE", "Backend", "gemini_backend"]

API_KEY_VARIABLES = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
"""Environment variables that hold a Gemini API key, in the order they are read."""
BASE_URL_VARIABLE = "GOOGLE_GEMINI_BASE_URL"
"""google-genai's override of the Gemini Developer API endpoint: live mode goes there
(a gateway, or a simulator a test started); langchain-google-genai keeps it unless
``LANGSMITH_GATEWAY`` is set."""

# Sent to the simulator instead of any real key the environment holds, so a real
# key never leaves the process in simulated mode.
_SIMULATED_KEY = "simulated-key"


@dataclass(frozen=True)
class Backend:
    """Where the router's Gemini calls go: the live API or the embedded simulator.

    Attributes:
        live: True for the real Gemini API (an API key is set), False for the simulator.
        base_url: The simulator's URL; None when live.
        api_key: The key the lanes send (a placeholder when simulated); kept out of repr.
        description: One line for humans, saying LIVE or SIMULATED and why.
    """

    live: bool
    base_url: str | None
    api_key: str | None = field(repr=False)
    description: str

    def router(self, config: RouterConfig | None = None, **kwargs: Any) -> GeminiRouter:
        """A :class:`~lc_gemini_router.GeminiRouter` whose lanes call this backend.

        Args:
            config: Routing settings; the defaults when None.
            **kwargs: Further ``GeminiRouter`` fields (``temperature``, ``lite``, ...);
                they win over the backend's settings.

        Returns:
            The router. Lanes are built as ``ChatGoogleGenerativeAI`` with this
            backend's key and URL, and one attempt per call when simulated.

        Raises:
            RetiredModelError: the config names a model ID that has been shut down.
        """
        params: dict[str, Any] = {"api_key": self.api_key, "base_url": self.base_url}
        if config is not None:
            params["config"] = config
        if not self.live:
            # The simulator never throttles: a retry would only hide a scripted fault.
            params["max_retries"] = 1
        params.update(kwargs)
        return GeminiRouter(**params)


def _api_key() -> tuple[str, str] | None:
    for name in API_KEY_VARIABLES:
        value = os.environ.get(name)
        if value:
            return name, value
    return None


@contextmanager
def gemini_backend(*, live: bool | None = None) -> Iterator[Backend]:
    """Yield the live Gemini API or a simulator started for the ``with`` block.

    Args:
        live: True for the live API, False for the simulator (even when a key is
            set), None for live exactly when ``GOOGLE_API_KEY`` or
            ``GEMINI_API_KEY`` is set.

    Yields:
        The backend; a simulator is closed when the block ends.

    Raises:
        ConfigError: ``live=True`` and no API key is set.

    Example:
        >>> from lc_gemini_router.tools.backend import gemini_backend
        >>> with gemini_backend(live=False) as backend:
        ...     backend.live, backend.base_url.startswith("http://127.0.0.1:")
        (False, True)
    """
    found = _api_key()
    if live is None:
        live = found is not None
    if live:
        if found is None:
            msg = "live mode needs GOOGLE_API_KEY (or GEMINI_API_KEY) set in the environment"
            raise ConfigError(msg)
        name, key = found
        # google-genai sends every call to this endpoint instead of Google's: say so.
        endpoint = os.environ.get(BASE_URL_VARIABLE)
        where = f" at {endpoint} ({BASE_URL_VARIABLE}; key from {name})" if endpoint else ""
        description = f"LIVE Gemini API{where or f' (key from {name})'}"
        yield Backend(live=True, base_url=None, api_key=key, description=description)
        return
    why = "simulation requested, API key ignored" if found else "no GOOGLE_API_KEY found"
    with GeminiSimulator(responder=simulated_responder()) as simulator:
        yield Backend(
            live=False,
            base_url=simulator.base_url,
            api_key=_SIMULATED_KEY,
            description=f"SIMULATED Gemini (loopback {simulator.base_url}) - {why}",
        )
