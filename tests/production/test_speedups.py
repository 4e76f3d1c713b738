"""The speed-up scripts/rasa_server.py installs in the Rasa server: same answers, less time.

Rasa checks each action server reply against a JSON Schema; the speed-up checks the schema once
instead of on every reply. A good reply must still pass and a bad one fail with the same message.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from jsonschema import ValidationError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import rasa_server  # noqa: E402

GOOD = {"events": [{"event": "slot", "name": "score_financial", "value": 9, "timestamp": None}],
        "responses": [{"text": "(3 of 5) How much...", "buttons": [{"title": "Skip", "payload": "/skip_question"}]}]}
BAD = [
    {"events": [{"event": "slot", "value": 9}], "responses": []},        # a slot event without a name
    {"events": [{"event": "no_such_event"}], "responses": []},
    {"events": "not a list", "responses": []},
    {"events": [], "responses": ["not an object"]},
]


@pytest.fixture(scope="module")
def stock():
    from rasa.core.actions.action import RemoteAction

    return RemoteAction("action_test", None)


def message_of(call, reply) -> str:
    with pytest.raises(ValidationError) as caught:
        call(reply)
    return caught.value.message


def test_same_verdicts_and_messages_as_stock_rasa(stock):
    from rasa.core.actions.action import RemoteAction

    original = RemoteAction._validate_action_result
    assert original(stock, GOOD) is True
    assert rasa_server._validate_action_result(stock, GOOD) is True
    for reply in BAD:
        assert message_of(lambda r: rasa_server._validate_action_result(stock, r), reply) == \
            message_of(lambda r: original(stock, r), reply)


def test_it_is_much_faster(stock):
    from rasa.core.actions.action import RemoteAction

    original = RemoteAction._validate_action_result

    def seconds(call) -> float:
        started = time.perf_counter()
        for _ in range(5):
            call(stock, GOOD)
        return time.perf_counter() - started

    rasa_server._validate_action_result(stock, GOOD)  # the one schema check
    assert seconds(rasa_server._validate_action_result) * 10 < seconds(original)


def test_installed_only_on_the_rasa_it_was_written_for(monkeypatch):
    import rasa
    from rasa.core.actions.action import RemoteAction

    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    assert rasa_server.install_speedups() is True
    assert RemoteAction._validate_action_result is rasa_server._validate_action_result
    monkeypatch.setattr(RemoteAction, "_validate_action_result", lambda *a: "stock")
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    assert rasa_server.install_speedups() is False
    assert RemoteAction._validate_action_result(None, {}) == "stock"
