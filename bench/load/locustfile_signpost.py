"""Locust users holding whole Signpost conversations over REST, as people would (1-3 s between messages).

Each simulated person, over and over: a carer's full check-in (stage, work, five questions, other areas, the top ones, what helps, the plan), a search
for local services with a postcode, and a benefits check in Scotland, each a new conversation. A
turn fails when the HTTP call fails, the reply is empty, or it is not the step the script expects.

    locust -f bench/load/locustfile_signpost.py --headless -u 10 -r 10 -t 60s --host http://127.0.0.1:5005
(bench/load_bench.py runs this for you, against 127.0.0.1 only.)
"""
from __future__ import annotations

import uuid
from typing import Optional

from locust import HttpUser, between, task

CHECK_IN = [
    ("/greet", None),
    ("I look after my husband, he has lung cancer", None),
    ("Money mostly. I've had to stop work to look after him", "5 quick questions"),
    ("/start_assessment", "closest to where you are now"),
    ("skip", "Which part of the UK"),
    ("skip", "fits you best"),
    ('/inform{"choice":"working"}', "(1 of 5)"),
    ("about a 6", "(2 of 5)"),
    ("really bad", "(3 of 5)"),
    ("9", "(4 of 5)"),
    ("skip", "(5 of 5)"),
    ("8", "Pick as many"),
    ("that's all", "matter most"),
    ('/inform{"choice":"done"}', "helps you already"),
    ("my sister", "out of 10"),
]
DIRECTORY = [  # (no greeting first: "hello" starts the check-in's first question, which would take the next answer)
    ("are there any support groups near me", "postcode"),
    ("G12", "1. "),
    ("show me more", None),
]
BENEFITS = [
    ("what benefits can I get", None),
    ("Scotland", None),
    ("I look after my mum", None),
    ("52", None),
    ("about 40 hours a week", None),
    ("she gets adp", None),
    ("dont know", "guide, not a decision"),
]


class Person(HttpUser):
    wait_time = between(1, 3)

    def turn(self, sender: str, message: str, expected: Optional[str], step: str = "turn") -> None:
        with self.client.post("/webhooks/rest/webhook", json={"sender": sender, "message": message},
                              name=step, catch_response=True, timeout=120) as reply:
            if reply.status_code != 200:
                reply.failure(f"HTTP {reply.status_code}")
                return
            try:
                texts = "\n".join(item.get("text") or "" for item in reply.json())
            except ValueError:
                reply.failure("not JSON")
                return
            if not texts.strip():
                reply.failure(f"no reply to {message!r}")
            elif expected and expected not in texts:
                reply.failure(f"{message!r}: expected {expected!r}, got {texts[:120]!r}")
            else:
                reply.success()

    def conversation(self, label: str, script: list[tuple[str, Optional[str]]]) -> None:
        """One conversation; each step's times are also kept under its own name (e.g. "check-in 15 my sister")."""
        sender = f"load-{uuid.uuid4().hex[:12]}"
        for number, (message, expected) in enumerate(script, 1):
            self.turn(sender, message, expected, f"{label} {number:02d} {message[:24]}")
            self.wait()

    @task
    def a_carer_checks_in_searches_and_checks_benefits(self) -> None:
        self.conversation("check-in", CHECK_IN)
        self.conversation("services", DIRECTORY)
        self.conversation("benefits", BENEFITS)
