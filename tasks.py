#!/usr/bin/env python3
"""Project tasks that work on a fresh machine with nothing but Python 3.11+.

    python3 tasks.py demo          # install into .venv, run the routing demo
    python3 tasks.py test          # install the locked test set into .venv, run the tests
    python3 tasks.py lint          # ruff + mypy (CI runs this too)
    python3 tasks.py bench         # the benchmarks; writes benchmarks/results.json
    python3 tasks.py test-newest   # newest versions the ranges allow (.venv-newest): drift check
    python3 tasks.py test-oldest   # the oldest supported google-genai, locked too (.venv-oldest)
    python3 tasks.py lock          # re-resolve both locks in requirements/ with uv

Each task creates its virtual environment beside this file when it is missing and
installs the package (editable) with the extras it needs; extra arguments go to
the tool. ``demo``, ``test``, ``lint`` and ``bench`` install the versions pinned in
``requirements/lock.txt``, so a run does not change when PyPI does. The lock is a
universal one (every Python from 3.11 and every OS) made by ``uv pip compile``,
and installed with plain pip: a fresh machine needs nothing but Python.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
REQUIREMENTS = ROOT / "requirements"
LOCK = REQUIREMENTS / "lock.txt"
OLDEST_LOCK = REQUIREMENTS / "lock-oldest-google-genai.txt"
"""The same resolution with the lowest google-genai pyproject.toml admits (from the .in)."""
COVERAGE = ("--cov=lc_gemini_router", "--cov-report=term:skip-covered", "--cov-fail-under=93")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)\s*(?:;\s*(.+))?$")


def bin_dir(env: Path) -> Path:
    return env / ("Scripts" if os.name == "nt" else "bin")


def python_of(env: Path) -> Path:
    return bin_dir(env) / ("python.exe" if os.name == "nt" else "python")


def run(*args: str | Path, check: bool = True) -> int:
    """Run a command in the project folder; exit with its code when it fails."""
    result = subprocess.run([str(a) for a in args], cwd=ROOT, check=False)
    if check and result.returncode != 0:
        sys.exit(result.returncode)
    return result.returncode


def install(extras: str, *, env: str = ".venv", constraints: Path | None = LOCK) -> Path:
    """Create ``env`` if missing and install the package into it; return its python."""
    if sys.version_info < (3, 11):  # this script may run on any Python
        sys.exit(f"lc-gemini-router needs Python 3.11+, this is {sys.version.split()[0]}")
    where = ROOT / env
    python = python_of(where)
    if not python.exists():
        print(f"creating {env} ...", flush=True)
        venv.create(where, with_pip=True)
        run(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    target = f".[{extras}]" if extras else "."
    pinned = f" pinned by {constraints.relative_to(ROOT)}" if constraints else " (newest)"
    print(f"installing lc-gemini-router[{extras}]{pinned} ...", flush=True)
    args: list[str | Path] = [python, "-m", "pip", "install", "--quiet", "--editable", target]
    if constraints is None:
        args += ["--upgrade", "--upgrade-strategy", "eager"]
    else:
        args += ["--constraint", constraints]
    run(*args)
    return python


def locked_pins() -> dict[str, list[tuple[str, str | None]]]:
    """Lock entries by normalized name: (version, environment marker or None)."""
    pins: dict[str, list[tuple[str, str | None]]] = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line.strip())
        if match:
            name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
            pins.setdefault(name, []).append((match.group(2), match.group(3)))
    return pins


def moved_since_lock() -> list[str]:
    """Installed packages whose version differs from the lock (run inside a venv)."""
    from importlib import metadata

    from packaging.markers import Marker  # installed with the package's dependencies

    moved = []
    for name, entries in sorted(locked_pins().items()):
        wanted = [v for v, marker in entries if marker is None or Marker(marker).evaluate()]
        if not wanted:
            continue
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        if have != wanted[0]:
            moved.append(f"{name} {wanted[0]} -> {have}")
    return moved


def compile_lock(python: Path, out: Path, *extra: str) -> None:
    """Resolve the test and dev extras for every Python from 3.11 into ``out``."""
    run(
        python, "-m", "uv", "pip", "compile", "pyproject.toml", "--extra", "test",
        "--extra", "dev", "--universal", "--python-version", "3.11", "--upgrade",
        "-o", out.relative_to(ROOT), *extra,
    )  # fmt: skip


def main(argv: list[str]) -> None:
    task, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if task == "demo":
        python = install("cli")
        run(bin_dir(python.parent.parent) / "lc-gemini-router", "demo", *rest)
    elif task == "test":
        python = install("test")
        # The coverage floor: a change that leaves code untested fails here.
        run(python, "-m", "pytest", *COVERAGE, *rest)
    elif task == "bench":
        python = install("test")
        run(python, "benchmarks/run.py", *rest)
    elif task == "lint":
        python = install("test,dev")
        candidates = ("src", "tests", "benchmarks", "notebooks", "tasks.py")
        paths = [p for p in candidates if (ROOT / p).exists()]
        run(python, "-m", "ruff", "check", *paths)
        run(python, "-m", "ruff", "format", "--check", *paths)
        run(python, "-m", "mypy")
    elif task == "test-newest":
        python = install("test", env=".venv-newest", constraints=None)
        run(python, __file__, "_report-drift")
        if run(python, "-m", "pytest", *rest, check=False) != 0:
            print("\nDRIFT: the tests fail on the newest versions the ranges allow.", flush=True)
            run(python, __file__, "_report-drift")
            sys.exit(1)
    elif task == "test-oldest":
        python = install("test", env=".venv-oldest", constraints=OLDEST_LOCK)
        run(python, "-c", "import google.genai as g; print('google-genai', g.__version__)")
        run(python, "-m", "pytest", *rest)
    elif task == "_report-drift":  # runs inside a venv: needs packaging
        moved = moved_since_lock()
        print("moved since requirements/lock.txt: " + (", ".join(moved) or "nothing"), flush=True)
    elif task == "lock":
        python = install("dev")
        run(python, "-m", "pip", "install", "--quiet", "uv")
        compile_lock(python, LOCK, *rest)
        oldest = REQUIREMENTS / "oldest-google-genai.in"
        compile_lock(python, OLDEST_LOCK, "--constraint", oldest.relative_to(ROOT), *rest)
    else:
        print(__doc__)
        sys.exit(0 if task in ("help", "-h", "--help") else 2)


if __name__ == "__main__":
    main(sys.argv[1:])
