"""The embedded profile (the laptop default): killing Signpost mid-check-in and starting it again
resumes the conversation at the same question, because every turn is already in the SQLite file.
"""
from __future__ import annotations

import signal

import pytest

from tests.production.conftest import text_of
from tests.support import servers

pytestmark = [pytest.mark.e2e, pytest.mark.model]


def test_killed_mid_check_in_then_started_again_resumes_the_same_question(tmp_path, trained_model):
    workdir = tmp_path / "embedded"  # the same tracker file (workdir/tracker.db) for both runs
    me = "embedded-restart"
    first = servers.start(workdir)
    try:
        for message in ("/greet", "I look after my husband, he has lung cancer",
                        "Money mostly. I've had to stop work to look after him", "/start_assessment", "skip", "skip",
                        '/inform{"choice":"skipped"}'):
            first.say(me, message)
        assert "(2 of 5)" in text_of(first.say(me, "about a 6"))
    finally:
        first.stop(signal.SIGKILL)  # no clean shutdown: as if the laptop lost power
    second = servers.start(workdir)
    try:
        assert "(3 of 5)" in text_of(second.say(me, "really bad"))
        assert "(4 of 5)" in text_of(second.say(me, "9"))
    finally:
        second.stop(signal.SIGINT)
