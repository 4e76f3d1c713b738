"""Helpers for running Rasa's own commands in tests (fixtures live in tests/conftest.py)."""
from __future__ import annotations

import sys
from pathlib import Path

from tests.conftest import ROOT, rasa_env  # noqa: F401  (re-exported for the tests here)

RASA = str(Path(sys.executable).with_name("rasa"))
