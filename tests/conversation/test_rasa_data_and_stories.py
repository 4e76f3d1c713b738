"""Rasa's own checks: the data validates without warnings, and every test story is followed exactly."""
from __future__ import annotations

import subprocess

import pytest

from tests.conversation.conftest import RASA, ROOT, rasa_env

pytestmark = pytest.mark.model


def test_rasa_data_validate_has_no_warnings():
    result = subprocess.run(
        [RASA, "data", "validate", "--domain", "bot/domain", "--data", "data", "--config", "config.yml",
         "--fail-on-warnings"], cwd=ROOT, env=rasa_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_every_test_story_is_followed(trained_model, tmp_path):
    result = subprocess.run(
        [RASA, "test", "core", "--model", str(trained_model), "--stories", "tests/stories",
         "--fail-on-prediction-errors", "--out", str(tmp_path), "--no-plot"],
        cwd=ROOT, env=rasa_env(), capture_output=True, text=True)
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, (result.stdout[-2000:] + result.stderr[-4000:] + details[-4000:])
