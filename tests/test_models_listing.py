"""`lc-gemini-router models`: the notes column shows unverified prices and dated changes."""

from __future__ import annotations

from datetime import date

import pytest

from lc_gemini_router import default_catalog
from lc_gemini_router.tools.cli import main
from lc_gemini_router.tools.cli.prices import _notes


def test_notes_name_price_changes_to_come() -> None:
    catalog = default_catalog()
    argon = catalog.get("gemini-4-argon", at=date(2026, 11, 1), warn=False)
    assert argon is not None
    notes = _notes(argon, catalog.upcoming("gemini-4-argon", after=date(2026, 11, 1)))
    assert notes == "unverified: secondary sources; from 2026-12-01: 4.00 / 20.00"
    flash = catalog.get("gemini-3.8-flash", at=date(2026, 12, 1), warn=False)
    assert flash is not None
    upcoming = catalog.upcoming("gemini-3.8-flash", after=date(2026, 12, 1))
    assert "from 2027-01-01: 1.50 / 7.50" in _notes(flash, upcoming)
    lite = catalog.current("gemini-3.1-flash-lite")
    assert lite is not None and _notes(lite) == ""


@pytest.mark.usefixtures("offline_cli")
def test_the_listing_flags_unverified_prices(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["models"]) == 0
    rows = {
        line.split("│")[1].strip(): line
        for line in capsys.readouterr().out.splitlines()
        if "│" in line
    }
    # Third-party pages only: the newer models, and two whose quotes are not Google's.
    secondary = ("gemini-4-argon", "gemini-3.8-flash", "gemini-3.5-flash-lite")
    for model in (*secondary, "gemini-3.5-flash", "gemini-3-flash-preview"):
        assert "unverified: secondary sources" in rows[model]
    assert "unverified" not in rows["gemini-3.1-flash-lite"]
