"""Strict constructor keywords: an unknown name is a ConfigError naming the fix."""

from __future__ import annotations

import difflib
from collections.abc import Collection

from lc_gemini_router.errors import unknown_name_hint
from lc_gemini_router.routing.request import CONFIG_FIELDS

__all__ = ["unknown_constructor_keyword"]


def unknown_constructor_keyword(name: str, known: Collection[str]) -> str:
    """Why ``GeminiRouter(name=...)`` is refused, and what to write instead.

    ``known`` is every keyword the constructor accepts (its fields and aliases).
    """
    from langchain_google_genai import ChatGoogleGenerativeAI

    if name in CONFIG_FIELDS or name == "lane":
        where = "per call" if name == "lane" else "in config=RouterConfig(...) or per call"
        return f"{name!r} is a routing setting, not a GeminiRouter field: set it {where}"
    google = ChatGoogleGenerativeAI.model_fields
    if name in google or name in {f.alias for f in google.values()}:
        return (
            f"{name!r} is a ChatGoogleGenerativeAI setting the router does not pass on: "
            f"give a ready lane, e.g. pro=ChatGoogleGenerativeAI(model=..., {name}=...)"
        )
    close = difflib.get_close_matches(name, sorted(CONFIG_FIELDS), n=1, cutoff=0.75)
    if close and close[0] not in difflib.get_close_matches(name, sorted(known), n=1):
        return (
            f"GeminiRouter: unknown keyword {name!r}; did you mean {close[0]!r}? (a routing "
            "setting: set it in config=RouterConfig(...) or per call)"
        )
    return f"GeminiRouter: {unknown_name_hint(name, known, 'keyword')}"
