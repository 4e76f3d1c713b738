"""Shared fixtures. Unit tests need neither Rasa nor a network."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# the action tests' directory index: a throwaway SQLite file, never the developer's own
_SCRATCH = __import__("tempfile").mkdtemp(prefix="signpost-test-")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_SCRATCH}/directory.db")
# conversations deleted by tests: a throwaway tracker file, never the developer's .rasa/tracker.db
os.environ.setdefault("SIGNPOST_TRACKER_DB", f"{_SCRATCH}/tracker.db")

from signposting import knowledge as kb  # noqa: E402


@pytest.fixture(scope="session")
def knowledge() -> kb.Knowledge:
    return kb.load()


@pytest.fixture()
def knowledge_copy(tmp_path: Path) -> Path:
    """A writable copy of the knowledge tree, for tests that break it on purpose."""
    target = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", target)
    return target


MODEL = ROOT / "models" / "signpost.tar.gz"


def rasa_env() -> dict[str, str]:
    return dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The model, trained first only if config.yml, bot/ or data/ changed."""
    import subprocess

    result = subprocess.run([sys.executable, "scripts/train_if_stale.py"], cwd=ROOT, env=rasa_env())
    assert result.returncode == 0, "training failed"
    return MODEL


@pytest.fixture(scope="session")
def agent(trained_model: Path):
    """The trained Agent, loaded once per test session."""
    from rasa.core.agent import Agent

    return Agent.load(str(trained_model))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API holds an event loop for the whole browser session,
    and the channel tests' Sanic clients need to start loops of their own."""
    items.sort(key=lambda item: "tests/browser/" in str(item.path).replace("\\", "/"))
