"""Prices as dated data (``data/prices.toml``) and the exact cost engine (``Decimal``).

``catalog`` (the catalog and its lookups), ``entries`` (its typed records), ``costs``
(one reply's price), ``usage`` (checked token counts), ``images`` (size classes),
``caching`` (explicit cache storage) and ``money`` (the decimal context).
"""
