"""Test support that ships with the package: a loopback Gemini stand-in."""
