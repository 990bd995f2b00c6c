"""Structured output for the router: Gemini's JSON schema (default) or a forced tool call.

Both keep the call one chat-model run: the JSON schema path is decided by the
structured-output rule (no classifier call), the tool path by the forced-tool rule.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Literal, cast

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.runnables import Runnable, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import BaseModel

__all__ = ["structured_output"]


def structured_output(
    model: BaseChatModel,
    schema: dict[str, Any] | type,
    *,
    include_raw: bool = False,
    method: Literal["function_calling", "json_mode", "json_schema"] = "json_schema",
    **kwargs: Any,
) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
    """``model.with_structured_output(...)``: pydantic (v2 and v1), TypedDict or JSON schema."""
    if kwargs:
        msg = f"unsupported arguments {sorted(kwargs)}"
        raise ValueError(msg)
    is_model = isinstance(schema, type) and is_basemodel_subclass(schema)  # v2 and v1
    llm: Runnable[LanguageModelInput, AIMessage]
    parser: Runnable[Any, Any]
    if method in ("json_schema", "json_mode"):
        if is_model:
            model_cls = cast("type[BaseModel]", schema)
            json_schema = convert_to_json_schema(model_cls)
            parser = PydanticOutputParser(pydantic_object=model_cls)
        else:
            json_schema = convert_to_json_schema(schema)
            parser = JsonOutputParser()
        llm = model.bind(
            response_mime_type="application/json",
            response_json_schema=json_schema,
            ls_structured_output_format={
                "kwargs": {"method": method},
                "schema": convert_to_json_schema(schema),
            },
        )
    elif method == "function_calling":
        tool = convert_to_openai_tool(schema)
        name = tool["function"]["name"]
        if is_model:
            parser = PydanticToolsParser(tools=[schema], first_tool_only=True)  # type: ignore[list-item]
        else:
            parser = JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
        llm = model.bind_tools(
            [schema],
            tool_choice=name,
            ls_structured_output_format={
                "kwargs": {"method": "function_calling"},
                "schema": tool,
            },
        )
    else:
        msg = f"unknown structured output method {method!r}"
        raise ValueError(msg)
    if include_raw:
        with_parsed = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        ).with_fallbacks(
            [RunnablePassthrough.assign(parsed=lambda _: None)],
            exception_key="parsing_error",
        )
        return {"raw": llm} | with_parsed
    return llm | parser
