"""``python -m lc_gemini_router``: the ``lc-gemini-router`` command."""

from lc_gemini_router.tools.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
