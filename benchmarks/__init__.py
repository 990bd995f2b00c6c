"""Benchmarks of lc-gemini-router: overhead, latency, routing economics and scale.

Run ``python benchmarks/run.py`` (full size) or ``python benchmarks/run.py --quick``.
"""
