"""Requests as the simulator logs them: the parsed body and what a test asks of it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["SimRequest"]


@dataclass
class SimRequest:
    """One request as the server logged it.

    Attributes:
        model: Model id from the URL, without ``models/``.
        method: ``generateContent``, ``streamGenerateContent``, ``countTokens``, or
            ``batchGenerateContent`` for one item of a batch job.
        api_version: Version segment of the URL (``v1``, ``v1beta``, ``v1alpha``).
        body: Parsed JSON request body.
        headers: Request headers, without credentials.
        status: HTTP status answered; 0 while pending or if never answered.
        error: Message of the error answered, if any.
        usage: The ``usageMetadata`` of a 200 answer's last payload: what the reply
            billed (None for errors).
        delivered: The whole answer was written to the client (False for an error
            status that was never sent, a reply cut on purpose, or one the client
            abandoned before it ended). A batch item is delivered once its job's results
            exist.
        batch: The job (``batches/ID``) of a batch item; None for a direct request.
        key: A batch item's key (the input line's ``key``, or ``metadata.key`` inline).
        batch_index: A batch item's position in its job's input (0-based).
    """

    model: str
    method: str
    body: dict[str, Any]
    headers: dict[str, str]
    status: int = 0
    error: str | None = None
    api_version: str = "v1beta"
    usage: dict[str, Any] | None = None
    delivered: bool = False
    batch: str | None = None
    key: str | None = None
    batch_index: int | None = None

    @property
    def stream(self) -> bool:
        """Whether this was a streaming request."""
        return self.method == "streamGenerateContent"

    @property
    def contents(self) -> list[dict[str, Any]]:
        """The ``contents`` list of the body."""
        return list(self.body.get("contents") or [])

    @property
    def system_text(self) -> str:
        """Text of the system instruction."""
        parts = (self.body.get("systemInstruction") or {}).get("parts") or []
        return "\n".join(p["text"] for p in parts if isinstance(p.get("text"), str))

    @property
    def text(self) -> str:
        """All text of the request (system instruction and contents) concatenated."""
        texts = [self.system_text] if self.system_text else []
        for content in self.contents:
            texts += [p["text"] for p in content.get("parts") or [] if p.get("text")]
        return "\n".join(texts)

    @property
    def last_user_text(self) -> str:
        """Text of the last user content that has text."""
        for content in reversed(self.contents):
            texts = [p["text"] for p in content.get("parts") or [] if p.get("text")]
            if content.get("role", "user") == "user" and texts:
                return "\n".join(texts)
        return ""

    @property
    def function_declarations(self) -> list[dict[str, Any]]:
        """All function declarations offered as tools."""
        tools = self.body.get("tools") or []
        return [d for tool in tools for d in tool.get("functionDeclarations") or []]

    @property
    def has_tools(self) -> bool:
        """Whether the request offers any tools."""
        return bool(self.body.get("tools"))

    @property
    def tool_names(self) -> list[str]:
        """Names of the declared functions."""
        return [str(d.get("name")) for d in self.function_declarations]

    @property
    def function_responses(self) -> list[dict[str, Any]]:
        """All ``functionResponse`` parts sent, in order."""
        return [
            p["functionResponse"]
            for c in self.contents
            for p in c.get("parts") or []
            if "functionResponse" in p
        ]

    @property
    def tool_rounds(self) -> int:
        """Tool rounds answered in the current turn: function responses since the last user text."""
        rounds = 0
        for content in reversed(self.contents):
            parts = content.get("parts") or []
            if any("functionResponse" in p for p in parts):
                rounds += 1
            elif content.get("role", "user") == "user" and any(p.get("text") for p in parts):
                break
        return rounds

    @property
    def generation_config(self) -> dict[str, Any]:
        """``generationConfig`` of the body (empty when absent)."""
        config = self.body.get("generationConfig")
        return config if isinstance(config, dict) else {}

    @property
    def response_schema(self) -> dict[str, Any] | None:
        """``responseJsonSchema`` (or ``responseSchema``) of the request, if any."""
        config = self.generation_config
        schema = config.get("responseJsonSchema") or config.get("responseSchema")
        return schema if isinstance(schema, dict) else None

    @property
    def candidate_count(self) -> Any:
        """``candidateCount``: how many candidates to answer (1 when absent)."""
        return self.generation_config.get("candidateCount", 1)

    @property
    def wants_images(self) -> bool:
        """Whether ``responseModalities`` asks for images."""
        modalities = self.generation_config.get("responseModalities") or []
        return any(str(m).upper() == "IMAGE" for m in modalities)

    @property
    def image_config(self) -> dict[str, Any]:
        """``imageConfig`` (``imageSize``, ``aspectRatio``), empty when absent."""
        config = self.generation_config.get("imageConfig")
        return config if isinstance(config, dict) else {}

    @property
    def image_size(self) -> Any:
        """``imageConfig.imageSize``; Gemini's default is 1K."""
        return self.image_config.get("imageSize", "1K")

    @property
    def aspect_ratio(self) -> Any:
        """``imageConfig.aspectRatio``; square when absent."""
        return self.image_config.get("aspectRatio", "1:1")

    @property
    def prompt_text(self) -> str:
        """Everything that counts as prompt: text, call/response JSON, declarations."""
        pieces = [self.text]
        for content in self.contents:
            for part in content.get("parts") or []:
                for key in ("functionCall", "functionResponse"):
                    if key in part:
                        pieces.append(json.dumps(part[key], sort_keys=True))
        if self.function_declarations:
            pieces.append(json.dumps(self.function_declarations, sort_keys=True))
        return "\n".join(p for p in pieces if p)
