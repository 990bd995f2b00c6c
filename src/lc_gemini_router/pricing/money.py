"""The ``decimal`` context every money computation of the package runs in.

``Decimal`` arithmetic follows the *current* context: a caller who set
``getcontext().prec = 3`` (or a trap on ``Inexact``) would otherwise round or break our
sums. Pricing runs inside ``localcontext(MONEY)``, and sums go through ``MONEY.add``
(:func:`add_money`; cheaper than entering a context for two additions): token counts
times rates per 1M need far fewer than its 50 digits, so every result is exact.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow

__all__ = ["MONEY", "PER_MILLION", "add_money"]

MONEY = Context(
    prec=50, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)
"""Exact for any realistic bill; errors that would hide a bug still raise."""
PER_MILLION = Decimal(1_000_000)


def add_money(*amounts: Decimal | int) -> Decimal:
    """The exact sum of ``amounts``, in the money context."""
    total = Decimal(0)
    for amount in amounts:
        total = MONEY.add(total, amount)
    return total
