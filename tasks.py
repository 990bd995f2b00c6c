#!/usr/bin/env python3
"""Project tasks that work on a fresh machine with nothing but Python 3.10+.

    python3 tasks.py demo    # install into .venv, run the routing demo
    python3 tasks.py test    # install into .venv with the test extra, run the tests
    python3 tasks.py lint    # ruff + mypy (CI runs this too)
    python3 tasks.py bench   # the benchmarks; writes benchmarks/results.json

Each task creates ``.venv`` beside this file when it is missing and installs the
package (editable) with the extras it needs; extra arguments go to the tool.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def run(*args: str | Path) -> None:
    """Run a command in the project folder; exit with its code when it fails."""
    result = subprocess.run([str(a) for a in args], cwd=ROOT, check=False)
    if result.returncode != 0:
        sys.exit(result.returncode)


def install(extras: str) -> None:
    if sys.version_info < (3, 10):  # noqa: UP036 - this script may run on any Python
        sys.exit(f"lc-gemini-router needs Python 3.10+, this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"creating {VENV.relative_to(ROOT)} ...", flush=True)
        venv.create(VENV, with_pip=True)
        run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    target = f".[{extras}]" if extras else "."
    print(f"installing lc-gemini-router{f'[{extras}]' if extras else ''} ...", flush=True)
    run(PYTHON, "-m", "pip", "install", "--quiet", "--editable", target)


def main(argv: list[str]) -> None:
    task, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if task == "demo":
        install("cli")
        run(BIN / "lc-gemini-router", "demo", *rest)
    elif task == "test":
        install("test")
        run(PYTHON, "-m", "pytest", *rest)
    elif task == "bench":
        install("test")
        run(PYTHON, "benchmarks/run.py", *rest)
    elif task == "lint":
        install("test,dev")
        candidates = ("src", "tests", "benchmarks", "notebooks", "tasks.py")
        paths = [p for p in candidates if (ROOT / p).exists()]
        run(PYTHON, "-m", "ruff", "check", *paths)
        run(PYTHON, "-m", "ruff", "format", "--check", *paths)
        run(PYTHON, "-m", "mypy")
    else:
        print(__doc__)
        sys.exit(0 if task in ("help", "-h", "--help") else 2)


if __name__ == "__main__":
    main(sys.argv[1:])
