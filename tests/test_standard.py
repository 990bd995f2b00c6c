"""langchain-tests' standard unit suite for GeminiRouter."""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import ChatModelUnitTests

from lc_gemini_router import GeminiRouter


class TestGeminiRouterStandard(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[GeminiRouter]:
        return GeminiRouter

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"base_url": "http://127.0.0.1:9"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return ({"GOOGLE_API_KEY": "from-env"}, {}, {"google_api_key": "from-env"})

    @property
    def has_tool_calling(self) -> bool:
        return True

    @property
    def has_structured_output(self) -> bool:
        return True
