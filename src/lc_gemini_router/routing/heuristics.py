"""Free text rules: a prior difficulty for the latest user message, with no model call.

:func:`text_prior` scores the obvious cases from the wording alone. The policy
decides without the classifier when the prior falls outside the configured band
(``RouterConfig.rule_band``): below it the request stays on Flash-Lite, above it the
request goes to Pro. Everything in between goes to the classifier.

The cheap-lane patterns are deliberately narrow (a request that *starts* by asking
to translate, extract, label, format or summarise, and is not about software, or that
is only a greeting or a thank-you): a rule must rarely send to Flash-Lite what needs
Pro. The Pro rule fires on mathematical notation, or on a proof asked about
mathematical content ("prove that there are infinitely many primes"), not on the word
"theorem" or "prove" alone ("What does the CAP theorem say?", "Can you prove you're
not a bot?" go to the classifier). A short follow-up
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
_BROAD_MATH = re.compile(  # the older rules (``broad_text_rules``): "theorem" anywhere
    r"\\(frac|int|sum|prod|lim|sqrt|begin\{(equation|align))|\$\$|"
    r"\b(prove|proof|theorem|lemma|derive|derivation)\b",
    re.I,
)
_NOTATION = re.compile(r"\\(frac|int|sum|prod|lim|sqrt|begin\{(equation|align))|\$\$")
_PROOF = re.compile(r"\b(prove|proof|derive|derivation)\b", re.I)
# A proof request with mathematical content ("prove you're not a bot" has none).
_MATH_CUE = re.compile(
    r"\b(theorem|lemma|primes?|irrational|integers?|polynomials?|equations?|inequalit(y|ies)|"
    r"matri(x|ces)|sqrt|modulo|divisible|induction|closed form|converges?)\b|[=<>^\u221a\u2211]|\d",
    re.I,
)
# A cheap-looking verb about software ("translate this COBOL system into Rust") is not
# cheap work: the classifier decides.
_SOFTWARE = re.compile(
    r"\b(python|rust|java(script)?|typescript|c\+\+|c#|golang|cobol|fortran|kotlin|swift|"
    r"haskell|scala|php|ruby|perl|code|codebase|program|source|module|function|class|"
    r"library|repository|repo|system|service|api)\b",
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


def text_prior(text: str, *, broad: bool = False) -> Prior:
    """Score one user message from its wording alone (pure, microseconds).

    ``broad`` applies the older, broad rules (``RouterConfig.broad_text_rules``).
    """
    code = "\n".join(match.group(1) for match in _FENCE.finditer(text))
    code_lines = code.count("\n") + 1 if code else 0
    if code_lines >= _LARGE_CODE_LINES or len(code) >= _LARGE_CODE_CHARS:
        return Prior(0.9, "coding", f"large code block ({code_lines} lines)")
    if _is_math(text, broad=broad):
        return Prior(0.9, "reasoning", "proof or formal mathematics")
    if _GREETING.match(text):
        return Prior(0.02, "chat", "greeting or thanks")
    if code:
        # A request about code is never cheap-lane by wording alone.
        return Prior(UNCERTAIN, "coding", "contains code")
    if not broad and _SOFTWARE.search(text):
        return Prior(UNCERTAIN)
    for pattern, category in _CHEAP_VERBS:
        if pattern.search(text):
            return Prior(0.1, category, f"asks for {category}")
    return Prior(UNCERTAIN)


def _is_math(text: str, *, broad: bool) -> bool:
    if broad:
        return _BROAD_MATH.search(text) is not None
    if _NOTATION.search(text):
        return True
    return _PROOF.search(text) is not None and _MATH_CUE.search(text) is not None
