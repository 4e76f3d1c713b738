"""Locust users talking to Rasa's own starter bot (`rasa init`, the mood bot): the baseline.

Same pacing and the same kind of check as locustfile_signpost.py, so the two can be compared in one
run on one machine: a turn fails when the HTTP call fails or the reply is empty.
"""
from __future__ import annotations

import uuid

from locust import HttpUser, between, task

SCRIPT = ["hello", "I am sad", "no", "are you a bot?", "I am great today", "bye"]


class Person(HttpUser):
    wait_time = between(1, 3)

    @task
    def a_chat_with_the_mood_bot(self) -> None:
        sender = f"load-{uuid.uuid4().hex[:12]}"
        for number, message in enumerate(SCRIPT, 1):
            with self.client.post("/webhooks/rest/webhook", json={"sender": sender, "message": message},
                                  name=f"mood {number:02d} {message[:24]}", catch_response=True, timeout=120) as reply:
                if reply.status_code != 200:
                    reply.failure(f"HTTP {reply.status_code}")
                elif not reply.json():
                    reply.failure(f"no reply to {message!r}")
                else:
                    reply.success()
            self.wait()
