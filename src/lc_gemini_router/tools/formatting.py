"""How money and shares are written for people: the CLI, reports and notes share these.

Example:
    >>> from decimal import Decimal, localcontext
    >>> from lc_gemini_router.tools.formatting import percent, usd
    >>> usd(Decimal("0.0002750")), usd(None), percent(Decimal("0.1234"))
    ('$0.000275', 'unknown', '12.3%')
"""

from __future__ import annotations

from decimal import Decimal, localcontext

__all__ = ["percent", "share_of", "usd"]


def usd(amount: Decimal | None) -> str:
    """Exact dollars in plain notation (``$0.000275``, never ``2.75E-4``); ``unknown`` for None."""
    if amount is None:
        return "unknown"
    if amount == 0:
        return "$0"
    return f"${amount.normalize():f}"


def percent(share: Decimal | float | None) -> str:
    """A share (0..1) as a percentage with one decimal; ``-`` when unknown."""
    if share is None:
        return "-"
    value = Decimal(share) * 100
    with localcontext() as context:
        # A share far beyond 1 (savings against a tiny reference) has more digits
        # than the default context holds; quantize would raise instead of print.
        context.prec = max(context.prec, value.adjusted() + 3)
        return f"{value.quantize(Decimal('0.1'))}%"


def share_of(part: Decimal, whole: Decimal) -> str:
    """``part`` as a percentage of ``whole``; ``-`` when the whole is zero."""
    return "-" if whole == 0 else percent(part / whole)
