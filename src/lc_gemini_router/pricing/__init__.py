"""Prices as dated data (``data/prices.toml``) and the exact cost engine (``Decimal``)."""
