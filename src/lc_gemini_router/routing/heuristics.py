"""Free text rules: a prior difficulty for the latest user message, with no model call.

:func:`text_prior` scores the obvious cases from the wording alone. The policy
decides without the classifier when the prior falls outside the configured band
(``RouterConfig.rule_band``): below it the request stays on Flash-Lite, above it the
request goes to Pro. Everything in between goes to the classifier.

The cheap-lane patterns are deliberately narrow (a request that *starts* by asking
to translate, extract, label, format or summarise, or that is only a greeting or a
thank-you): a rule must rarely send to Flash-Lite what needs Pro. A short follow-up
such as "yes, do it" matches nothing, so the classifier judges it with its context.
``benchmarks/`` measures the rules' precision on RouteLLM's labelled data.

Example:
    >>> from lc_gemini_router.routing.heuristics import text_prior
    >>> text_prior("Translate 'good night' into German").category
    'translation'
    >>> text_prior("What could cause this?").score
    0.5
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lc_gemini_router.config import Category

__all__ = ["UNCERTAIN", "Prior", "text_prior"]

UNCERTAIN = 0.5
"""The prior of a message no rule recognises."""

_GREETING = re.compile(
    r"^\s*(hi|hello|hey|thanks|thank you( so much| very much)?|thx|cheers|"
    r"good (morning|afternoon|evening|night)|bye|goodbye|see you)"
    r"([\s,]+[a-z]+)?[\s!.,:)]*$",
    re.I,
)
_CHEAP_VERBS: tuple[tuple[re.Pattern[str], Category], ...] = (
    (re.compile(r"^\s*(please\s+)?translate\b", re.I), "translation"),
    (re.compile(r"^\s*(please\s+)?(summari[sz]e|tl;?dr)\b", re.I), "summarization"),
    (re.compile(r"^\s*(please\s+)?extract\b", re.I), "extraction"),
    (
        re.compile(
            r"^\s*(please\s+)?(label|tag|classify|categori[sz]e)\b.{0,80}"
            r"\b(sentiment|topic|language|category|categories|intent|spam|tone)\b",
            re.I | re.S,
        ),
        "classification",
    ),
    (
        re.compile(
            r"^\s*(please\s+)?(re)?format\b|^\s*(please\s+)?convert\b.{0,60}"
            r"\b(to|into)\s+(json|csv|yaml|xml|markdown|a table)\b",
            re.I | re.S,
        ),
        "extraction",
    ),
)
_FENCE = re.compile(r"```[^\n]*\n(.*?)(```|$)", re.S)
_MATH = re.compile(
    r"\\(frac|int|sum|prod|lim|sqrt|begin\{(equation|align))|\$\$|"
    r"\b(prove|proof|theorem|lemma|derive|derivation)\b",
    re.I,
)
_LARGE_CODE_LINES = 30
_LARGE_CODE_CHARS = 1500


@dataclass(frozen=True)
class Prior:
    """What the text rules make of a message."""

    score: float
    """0 = certainly cheap-lane work, 1 = certainly hard, 0.5 = no rule applies."""
    category: Category | None = None
    reason: str = "no text rule applies"


def text_prior(text: str) -> Prior:
    """Score one user message from its wording alone (pure, microseconds)."""
    code = "\n".join(match.group(1) for match in _FENCE.finditer(text))
    code_lines = code.count("\n") + 1 if code else 0
    if code_lines >= _LARGE_CODE_LINES or len(code) >= _LARGE_CODE_CHARS:
        return Prior(0.9, "coding", f"large code block ({code_lines} lines)")
    if _MATH.search(text):
        return Prior(0.9, "reasoning", "proof or formal mathematics")
    if _GREETING.match(text):
        return Prior(0.02, "chat", "greeting or thanks")
    if code:
        # A request about code is never cheap-lane by wording alone.
        return Prior(UNCERTAIN, "coding", "contains code")
    for pattern, category in _CHEAP_VERBS:
        if pattern.search(text):
            return Prior(0.1, category, f"asks for {category}")
    return Prior(UNCERTAIN)
