"""The production profile for real: two Rasa servers and two action servers behind the balancer, with
PostgreSQL, Redis and RabbitMQ on 127.0.0.1 (each test module has its own schema, key prefix and queue).

- Turns of one conversation sent to alternate Rasa servers: every turn happens once, in order,
  and the form carries on as if one server had served it all.
- Two turns of one conversation at the same moment on two servers: the Redis lock makes them
  take turns; neither is lost and their events do not interleave.
- Killing a Rasa server, an action server or the balancer mid-check-in: the next answer continues
  the same question; the supervisor restarts what was killed.
- Stopping everything and starting again: the conversation resumes at the same step.
- The outcomes consumer has counted these conversations: the report's table and chart show them.
"""
from __future__ import annotations

import os
import re
import signal
import threading
import time

import httpx
import pytest
from click.testing import CliRunner

from tests.production.conftest import start_production, text_of

pytestmark = [pytest.mark.e2e, pytest.mark.model]

# A request that reaches a server in the very instant it is killed gets "502, please try again" from the
# balancer rather than being replayed elsewhere (it may have been acted on: replaying could repeat a
# turn). Within PAUSE the balancer's health check (every second) has seen the server go.
PAUSE = 2.0
CHECK_IN = [  # (message, what the reply must contain)
    ("/greet", None),
    ("I look after my husband, he has lung cancer", None),
    ("Money mostly. I've had to stop work to look after him", "5 quick questions"),
    ("/start_assessment", "closest to where you are now"),   # the journey stage and work: skipped
    ("skip", "Which part of the UK"),
    ("skip", "fits you best"),
    ('/inform{"choice":"skipped"}', "(1 of 5)"),
    ("about a 6", "(2 of 5)"),
    ("really bad", "(3 of 5)"),
    ("9", "(4 of 5)"),
    ("skip", "(5 of 5)"),
    ("8", "Pick as many"),                      # the other areas, the top ones, what helps: the full check-in
    ("that's all", "matter most"),
    ('/inform{"choice":"done"}', "helps you already"),
    ("skip", "Money: 9 out of 10"),
]


@pytest.fixture(scope="module")
def production(tmp_path_factory, stores, trained_model):
    running = start_production(tmp_path_factory.mktemp("production"), stores)
    holder = {"stack": running}
    yield holder
    holder["stack"].stop()


def check_in(stack, me: str, steps: list[tuple[str, str | None]]) -> None:
    """Say each message; each reply must contain what is expected (on failure: the whole exchange so far)."""
    seen = []
    for message, expected in steps:
        replies = text_of(stack.say(me, message))
        seen.append((message, replies[:160]))
        assert expected is None or expected in replies, (seen, [
            (e.get("text"), (e.get("parse_data") or {}).get("intent")) for e in stack.tracker(me)["events"]
            if e["event"] == "user"])


def user_texts(tracker: dict) -> list[str]:
    return [e["text"] for e in tracker["events"] if e["event"] == "user"]


def test_alternate_servers_serve_one_conversation_without_losing_or_repeating_a_turn(production):
    stack = production["stack"]
    me = "alternating-1"
    bases = [stack.instance(0), stack.instance(1)]
    for turn, (message, expected) in enumerate(CHECK_IN):
        replies = stack.say(me, message, base=bases[turn % 2])
        if expected:
            assert expected in text_of(replies), (turn, message, text_of(replies))
    first, second = stack.tracker(me, bases[0]), stack.tracker(me, bases[1])
    assert user_texts(first) == [m for m, _ in CHECK_IN]  # each turn once, in order
    assert first["events"] == second["events"]  # both servers see the same conversation
    stamps = [e["timestamp"] for e in first["events"]]
    assert stamps == sorted(stamps) and len(set(map(repr, first["events"]))) == len(first["events"])
    bot_texts = [e.get("text") or "" for e in first["events"] if e["event"] == "bot"]
    assert sum("(2 of 5)" in t for t in bot_texts) == 1 and sum("(5 of 5)" in t for t in bot_texts) == 1


def test_two_turns_at_once_on_two_servers_take_their_turn(production):
    stack = production["stack"]
    me = "concurrent-1"
    stack.say(me, "/greet", base=stack.instance(0))
    replies: dict[int, list[dict]] = {}

    def send(index: int, message: str) -> None:
        replies[index] = stack.say(me, message, base=stack.instance(index))

    threads = [threading.Thread(target=send, args=(0, "what benefits can I get")),
               threading.Thread(target=send, args=(1, "do I have to pay for prescriptions"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert replies[0] and replies[1]
    events = stack.tracker(me)["events"]
    users = [i for i, e in enumerate(events) if e["event"] == "user"]
    assert [events[i]["text"] for i in users][1:] in (
        ["what benefits can I get", "do I have to pay for prescriptions"],
        ["do I have to pay for prescriptions", "what benefits can I get"])
    # the first turn ran to its end (back to listening) before the second turn's message came in
    between = events[users[1] + 1:users[2]]
    assert between and (between[-1]["event"], between[-1].get("name")) == ("action", "action_listen")


def wait_for_restart(stack, key: str, index: int | None, old_pid: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        entry = stack.state()[key] if index is None else stack.state()[key][index]
        if entry["pid"] != old_pid:
            return
        time.sleep(0.5)
    raise AssertionError(f"{key} was not restarted")


def test_killing_any_process_mid_check_in_loses_nothing(production):
    stack = production["stack"]
    me = "killed-1"
    check_in(stack, me, CHECK_IN[:8])

    rasa_pid = stack.state()["rasa"][0]["pid"]
    os.kill(rasa_pid, signal.SIGKILL)  # a Rasa server dies between two answers...
    time.sleep(PAUSE)  # ...and the person takes a moment to reply, as people do
    assert "(3 of 5)" in text_of(stack.say(me, "really bad"))
    wait_for_restart(stack, "rasa", 0, rasa_pid)

    actions_pid = stack.state()["actions"][1]["pid"]
    os.kill(actions_pid, signal.SIGKILL)  # so does an action server
    time.sleep(PAUSE)
    assert "(4 of 5)" in text_of(stack.say(me, "9"))
    wait_for_restart(stack, "actions", 1, actions_pid)

    balancer_pid = stack.state()["rasa_balancer"]["pid"]
    os.kill(balancer_pid, signal.SIGKILL)  # and the front door itself: back within seconds
    wait_for_restart(stack, "rasa_balancer", None, balancer_pid)
    deadline = time.monotonic() + 30
    while True:
        try:
            replies = stack.say(me, "skip")
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the balancer did not come back"
            time.sleep(0.5)
    assert "(5 of 5)" in text_of(replies)
    check_in(stack, me, CHECK_IN[11:])
    assert user_texts(stack.tracker(me)) == [m for m, _ in CHECK_IN]


def test_outcomes_are_counted_and_reported(production, stores, tmp_path, monkeypatch):
    from signposting import cli

    monkeypatch.setenv("DATABASE_URL", stores.database_url)
    png = tmp_path / "outcomes.png"
    deadline = time.monotonic() + 90
    while True:  # the consumer works through the queue in the background
        result = CliRunner().invoke(cli.app, ["report", "--days", "1", "--png", str(png)])
        assert result.exit_code == 0, result.output
        done = re.search(r"Check-ins completed\s+(\d+)", result.output)
        if done and int(done.group(1)) >= 2:
            break
        assert time.monotonic() < deadline, result.output
        time.sleep(2)
    conversations = int(re.search(r"^Conversations\s+(\d+)", result.output, re.MULTILINE).group(1))
    assert conversations >= 3 and "rest" in result.output
    assert "Money" in result.output and png.read_bytes()[:4] == b"\x89PNG"


def test_stopping_everything_and_starting_again_resumes_the_same_step(production, stores, tmp_path_factory):
    stack = production["stack"]
    me = "restarted-1"
    check_in(stack, me, CHECK_IN[:9])
    stack.stop()
    production["stack"] = stack = start_production(tmp_path_factory.mktemp("production-again"), stores)
    assert "(4 of 5)" in text_of(stack.say(me, "9"))
    assert user_texts(stack.tracker(me)) == [m for m, _ in CHECK_IN[:10]]
