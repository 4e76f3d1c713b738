"""Build rasa-sdk trackers by hand: no server, no JSON fixtures."""
from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher


def make_tracker(
    text: str = "",
    intent: str | None = None,
    confidence: float = 1.0,
    slots: dict[str, Any] | None = None,
    entities: list[dict] | None = None,
    active_loop: str | None = None,
    ranking: list[tuple[str, float]] | None = None,
    events: list[dict] | None = None,
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence} if intent else {},
        "entities": entities or [],
        "intent_ranking": [{"name": n, "confidence": c} for n, c in (ranking or [])],
    }
    return Tracker(
        sender_id="test-user",
        slots=dict(slots or {}),
        latest_message=latest,
        events=list(events or []),
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def texts(dispatcher: CollectingDispatcher) -> str:
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def buttons(dispatcher: CollectingDispatcher) -> list[dict]:
    return [b for m in dispatcher.messages for b in (m.get("buttons") or [])]


@pytest.fixture()
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()
