"""An empty project database per test for consent records, kept plans, follow-ups and handoffs.

    from tests.support.people_db import database  # noqa: F401  (autouse in the importing module)
"""
from __future__ import annotations

from pathlib import Path

import pytest

from signposting import consent


@pytest.fixture(autouse=True)
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Every test gets its own empty project database (consent, records, follow-ups and handoff tables)."""
    url = f"sqlite:///{tmp_path / 'people.db'}"
    monkeypatch.setenv("HANDOFF_DATABASE_URL", url)
    yield url
    consent.dispose_engines()
