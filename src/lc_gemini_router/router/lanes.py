"""The lane models one router builds, shares between calls and closes.

Lanes given as model IDs are built once, on first use, as ``ChatGoogleGenerativeAI``
with the router's connection settings; ready chat models are the caller's and are
used as they are. A per-call model ID (``pro_model=...``) gets a lane model of its
own, built once per ID. The router's thread pool (classifier deadlines and
speculative streams under ``invoke``) lives here too, so nothing is module-global.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.outputs import ChatGenerationChunk

from lc_gemini_router.api_versions import lane_api_version
from lc_gemini_router.classify.classifier import IMAGE_QUESTIONS, ROUTER_QUESTIONS, Classifier
from lc_gemini_router.config import LANES, Lane, RouterConfig
from lc_gemini_router.engine import Admission, Done, Flow, adrive, drive
from lc_gemini_router.errors import UnknownLaneError
from lc_gemini_router.lanes.models import least_thinking

if TYPE_CHECKING:
    from lc_gemini_router.router.chat_model import GeminiRouter

__all__ = ["LaneSet"]


class LaneSet:
    """The models behind ``router``'s lanes and its classifier, built on first use."""

    def __init__(self, router: GeminiRouter) -> None:
        # A proxy, not a reference: the router holds this set, and a cycle would leave
        # the router and its HTTP clients to the cyclic collector instead of freeing
        # them when the caller lets go.
        self._router: GeminiRouter = weakref.proxy(router)
        self._built: dict[str, BaseChatModel] = {}
        self._per_call: dict[str, BaseChatModel] = {}
        """Lanes built for per-call model IDs, by model ID."""
        self._classifier: Classifier | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        settings = router.config.classifier
        self.admission = Admission(settings.max_in_flight, settings.admission_wait_seconds)

    def ready(self, lane: str) -> BaseChatModel | None:
        """The caller's own chat model for ``lane`` (``classifier`` too), if any."""
        router = self._router
        if lane in ("classifier", *LANES):
            value = getattr(router, lane, None)
        else:
            value = router.lane_models.get(lane)
        return value if isinstance(value, BaseChatModel) else None

    def check(self, lane: str, *, classifier: bool = False) -> None:
        """Raise :class:`UnknownLaneError` unless ``lane`` is one of the router's lanes."""
        names = (*(("classifier",) if classifier else ()), *self._router.config.lanes)
        if lane not in names:
            raise UnknownLaneError(lane, names)

    def model(self, lane: str) -> BaseChatModel:
        """The chat model behind ``lane``, built on first use."""
        model = self._built.get(lane)
        if model is None:
            self.check(lane)
            with self._lock:
                model = self._built.get(lane)
                if model is None:
                    lane_id = self._router.config.lanes[lane]
                    model = self.ready(lane) or self.build(lane_id)
                    self._built[lane] = model
        return model

    def for_call(self, config: RouterConfig, lane: Lane) -> BaseChatModel:
        """The model that answers ``lane`` under ``config``: a per-call model ID wins."""
        if config is self._router.config:
            return self.model(lane)
        return self.for_model(lane, config.lanes[lane])

    def for_model(self, lane: str, model_id: str) -> BaseChatModel:
        """``lane``'s model when it is ``model_id``, else one built for ``model_id``."""
        if model_id == self._router.config.lanes.get(lane):
            return self.model(lane)
        model = self._per_call.get(model_id)
        if model is None:
            with self._lock:
                model = self._per_call.get(model_id)
                if model is None:
                    model = self._per_call[model_id] = self.build(model_id)
        return model

    @property
    def classifier(self) -> Classifier:
        """The classifier step, with the router's score store and breaker."""
        if self._classifier is None:
            with self._lock:
                if self._classifier is None:
                    router = self._router
                    settings = router.config.classifier
                    model = router.classifier
                    if not isinstance(model, BaseChatModel):
                        built = self.build(
                            settings.model,
                            temperature=0.0,
                            max_tokens=settings.max_output_tokens,
                            max_retries=1,
                        )
                        model = least_thinking(built)
                    image = router.config.image_lane() is not None
                    self._classifier = Classifier(
                        model,
                        settings,
                        cache=router.score_cache,
                        breaker=router.breaker,
                        questions=IMAGE_QUESTIONS if image else ROUTER_QUESTIONS,
                    )
        return self._classifier

    def build(self, model_id: str, **overrides: Any) -> BaseChatModel:
        """A ``ChatGoogleGenerativeAI`` for ``model_id`` with the router's settings."""
        from langchain_google_genai import ChatGoogleGenerativeAI

        router = self._router
        params: dict[str, Any] = {
            "model": model_id,
            "temperature": router.temperature,
            "max_tokens": router.max_tokens,
            "timeout": router.timeout,
            "max_retries": router.max_retries,
            "base_url": router.base_url,
            "stop": router.stop,
            "api_version": lane_api_version(router.api_version).version,
        }
        if router.google_api_key is not None:
            params["google_api_key"] = router.google_api_key
        params.update(overrides)
        return ChatGoogleGenerativeAI(**{k: v for k, v in params.items() if v is not None})

    def executor(self) -> ThreadPoolExecutor:
        """The router's own pool: classifier calls under their deadline (sync and async)."""
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(
                        max_workers=self.admission.limit, thread_name_prefix="lc-gemini-router"
                    )
        return self._pool

    def drive(self, steps: Flow) -> Iterator[ChatGenerationChunk | Done]:
        """Run a flow with blocking calls on this router's pool and classifier slots."""
        return drive(steps, executor=self.executor, admission=self.admission)

    def adrive(self, steps: Flow) -> AsyncIterator[ChatGenerationChunk | Done]:
        """Run a flow with awaits, keeping late classifier calls until they report."""
        return adrive(steps, executor=self.executor, admission=self.admission)

    @property
    def pool(self) -> ThreadPoolExecutor | None:
        """The pool if it was started (None until a call needed it, and after close)."""
        return self._pool

    def built_models(self) -> list[BaseChatModel]:
        """The models the router built itself (models passed in are the caller's)."""
        built = [model for lane, model in self._built.items() if self.ready(lane) is None]
        if self._classifier is not None and self.ready("classifier") is None:
            built.append(self._classifier.model)
        built += self._per_call.values()
        return list({id(m): m for m in built}.values())

    def close(self) -> None:
        """Let classifier calls on the wire report, then close the pool and HTTP clients."""
        self._shutdown_pool()
        for model in self.built_models():
            client = getattr(model, "client", None)
            if client is not None and hasattr(client, "close"):
                client.close()

    async def aclose(self) -> None:
        """:meth:`close` for async code: also closes the built models' async clients."""
        await asyncio.to_thread(self._shutdown_pool)
        for model in self.built_models():
            close = getattr(model, "aclose", None)
            if close is not None:
                await close()

    def _shutdown_pool(self) -> None:
        # Waits for calls already sent (their cost still reports); a later call
        # starts a new pool.
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
