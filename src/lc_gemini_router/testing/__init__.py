"""Test support that ships with the package: a loopback Gemini stand-in.

Import it from ``lc_gemini_router.testing.simulator`` (``GeminiSimulator``, ``SimReply``,
``SimRequest``); the other modules here are its parts.
"""
