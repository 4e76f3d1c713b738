"""End to end: the real servers (scripts/run.py) when the action server dies or hangs, and their privacy.

One Signpost for the module, in this order:

1. it listens on 127.0.0.1 only, and its HTTP API needs the token;
2. a conversation with identifiers in it: neither the logs nor the stored conversation hold them;
3. "delete my data" leaves nothing stored, and the next message starts afresh;
4. mid-form, the action server is killed: the next messages over REST and web chat still get an
   answer with the helpline number (a crisis message, the crisis answer);
5. then something that accepts connections and never answers sits on the action server's port:
   answers still come within the turn time limit.

For 4 and 5, scripts/run.py is paused first (SIGSTOP): it would otherwise stop the Rasa server as
soon as the action server dies, as a development runner should. Here we want to see what Rasa
does with no action server, as it would in production until the supervisor restarts it.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import sqlite3
import time
from pathlib import Path
from typing import Iterator

import httpx
import psutil
import pytest

from tests.support import servers

pytestmark = [pytest.mark.e2e, pytest.mark.model]

TOKEN = secrets.token_hex(16)
TURN_TIMEOUT = 20  # seconds; SIGNPOST_TURN_TIMEOUT for this server (the default)
PHONE, EMAIL = "07700 900123", "jo.bloggs@example.com"


@pytest.fixture(scope="module")
def signpost(tmp_path_factory, trained_model) -> Iterator[servers.Server]:
    server = servers.start(tmp_path_factory.mktemp("resilience"), extra_env={
        "SIGNPOST_API_TOKEN": TOKEN, "SIGNPOST_TURN_TIMEOUT": str(TURN_TIMEOUT), "LOG_LEVEL": "DEBUG"})
    yield server
    with contextlib.suppress(ProcessLookupError):
        os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


def text_of(replies: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def web_chat(server: servers.Server, sender: str, message: str, timeout: float = 60) -> list[dict]:
    reply = httpx.post(f"{server.base}/webhooks/webchat/webhook", json={"sender": sender, "message": message},
                       timeout=timeout)
    reply.raise_for_status()
    return reply.json()


def web_sender() -> str:
    return "web-" + secrets.token_hex(16)


def group_processes(server: servers.Server) -> list[psutil.Process]:
    return [psutil.Process(server.process.pid), *psutil.Process(server.process.pid).children(recursive=True)]


def listening(process: psutil.Process) -> list[tuple[str, int]]:
    with contextlib.suppress(psutil.Error):
        return [(c.laddr.ip, c.laddr.port) for c in process.net_connections(kind="tcp")
                if c.status == psutil.CONN_LISTEN]
    return []


def action_server(server: servers.Server) -> psutil.Process:
    """The process in run.py's group that listens on the action server's port."""
    for process in group_processes(server):
        if any(port == server.actions_port for _, port in listening(process)):
            return process
    raise AssertionError("no process of this Signpost listens on the action server port")


def stored_rows(server: servers.Server, sender: str) -> list[str]:
    with sqlite3.connect(server.env["SIGNPOST_TRACKER_DB"]) as conn:
        return [row[0] for row in conn.execute("SELECT data FROM events WHERE sender_id = ?", (sender,))]


# ------------------------------------------------------------------------------ 1. who can reach it


def test_both_servers_listen_on_loopback_only(signpost) -> None:
    sockets = [s for p in group_processes(signpost) for s in listening(p)]
    ports = {port for _, port in sockets}
    assert {signpost.rasa_port, signpost.actions_port} <= ports, sockets
    assert all(ip == "127.0.0.1" for ip, _ in sockets), sockets
    others = [a.address for addrs in psutil.net_if_addrs().values() for a in addrs
              if a.family == socket.AF_INET and not a.address.startswith("127.")]
    for address in others:  # from another machine's point of view: nothing answers
        for port in (signpost.rasa_port, signpost.actions_port):
            with pytest.raises(OSError):
                socket.create_connection((address, port), timeout=2).close()


def test_the_http_api_needs_the_token(signpost) -> None:
    url = f"{signpost.base}/conversations/e2e-api/tracker"
    assert httpx.get(url, timeout=10).status_code == 401
    assert httpx.get(url, params={"token": "wrong"}, timeout=10).status_code == 401
    assert httpx.get(url, params={"token": TOKEN}, timeout=30).status_code == 200


# ------------------------------------------------------------------------------ crisis first, in any loop


def test_a_crisis_while_the_bot_is_asking_what_was_meant_still_comes_first(signpost, knowledge) -> None:
    """The two-stage fallback is a loop too; a crisis typed into it gets the crisis answer first."""
    me = "e2e-unsure-crisis"
    assert knowledge.say("not_sure") in text_of(signpost.say(me, "blorp wibble zzz"))
    replies = text_of(signpost.say(me, "honestly i just want to go to sleep and not wake up"))
    assert "116 123" in replies and "999" in replies, replies


# ------------------------------------------------------------------------------ 2-3. privacy


def test_identifiers_are_neither_logged_nor_stored(signpost) -> None:
    me = "e2e-private"
    signpost.say(me, "/greet")
    replies = signpost.say(me, f"my number is {PHONE} and my email is {EMAIL}, I live at 12 Acacia Avenue")
    assert text_of(replies), "an answer, as always"
    time.sleep(1)
    log = signpost.log()
    assert "my number is" in log, "the debug log does record the message (redacted), so this check means something"
    assert PHONE not in log and EMAIL not in log and "12 Acacia Avenue" not in log
    stored = "\n".join(stored_rows(signpost, me))
    assert "my number is [phone] and my email is [email], I live at [address]" in stored
    assert PHONE not in stored and EMAIL not in stored


def test_delete_my_data_leaves_nothing_and_the_next_message_starts_afresh(signpost, knowledge) -> None:
    me = "e2e-forget"
    signpost.say(me, "/greet")
    signpost.say(me, "I look after my husband, he has lung cancer")
    assert stored_rows(signpost, me)
    assert knowledge.say("delete_confirm")[:30] in text_of(signpost.say(me, "please delete my data"))
    assert knowledge.say("delete_done")[:30] in text_of(signpost.say(me, "/affirm"))
    assert stored_rows(signpost, me) == [], "nothing stored once it says it is deleted"
    assert text_of(signpost.say(me, "hello")), "the next message still gets an answer"
    assert not any("lung cancer" in row for row in stored_rows(signpost, me)), "nothing came back"


# ------------------------------------------------------------------------------ 4. action server killed


def test_with_the_action_server_killed_mid_form_every_channel_still_answers(signpost, knowledge) -> None:
    helpline = knowledge.helplines["macmillan_support_line"]["phone"]
    me, web = "e2e-killed", web_sender()
    assert knowledge.say("ask_role") in text_of(signpost.say(me, "/start_assessment"))  # a form is open
    assert text_of(web_chat(signpost, web, "hello"))

    os.kill(signpost.process.pid, signal.SIGSTOP)  # run.py would stop Rasa too (see the module docstring)
    action_server(signpost)  # it is there
    for process in group_processes(signpost):  # every process holding a socket on the action port (a forked
        try:                                    # worker may share the listening socket), killed
            if any(c.laddr and c.laddr.port == signpost.actions_port for c in process.connections(kind="tcp")):
                process.kill()  # stays a zombie (its parent is paused), but its sockets close
        except psutil.NoSuchProcess:
            pass
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # whatever still listens on that port (a late worker) goes too
        holders = {c.pid for c in psutil.net_connections(kind="tcp") if c.pid and c.status == psutil.CONN_LISTEN
                   and c.laddr and c.laddr.port == signpost.actions_port}
        if not holders:
            break
        for pid in holders:
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).kill()
        time.sleep(0.2)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", signpost.actions_port), timeout=2).close()

    for message in ("I'm a patient", "what benefits can I get?", "7"):
        replies = signpost.say(me, message)
        assert helpline in text_of(replies), f"REST, {message!r}: {replies}"
    web_replies = web_chat(signpost, web, "how do I get free prescriptions?")
    assert helpline in text_of(web_replies), f"web chat: {web_replies}"

    crisis = text_of(signpost.say(me, "I can't go on anymore, I want to end my life"))
    assert "116 123" in crisis and "999" in crisis, crisis


def test_web_chat_gives_the_crisis_answer_without_the_action_server(signpost) -> None:
    """Runs after the action server was killed (above)."""
    if psutil.Process(signpost.process.pid).status() != psutil.STATUS_STOPPED:
        pytest.skip("needs the previous test's killed action server")
    crisis = text_of(web_chat(signpost, web_sender(), "I want to end my life"))
    assert "116 123" in crisis and "999" in crisis, crisis


# ------------------------------------------------------------------------------ 5. action server hangs


@contextlib.contextmanager
def black_hole(port: int) -> Iterator[socket.socket]:
    """Accepts connections on 127.0.0.1:port (the kernel does) and never answers."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    try:
        yield sock
    finally:
        sock.close()


@pytest.mark.parametrize("channel", ["rest", "webchat"])
def test_with_an_action_server_that_never_answers_replies_still_come_in_time(signpost, knowledge, channel) -> None:
    """Runs after the action server was killed (above): its port is free for the black hole."""
    if psutil.Process(signpost.process.pid).status() != psutil.STATUS_STOPPED:
        pytest.skip("needs the previous test's killed action server")
    helpline = knowledge.helplines["macmillan_support_line"]["phone"]
    with black_hole(signpost.actions_port):
        start = time.monotonic()
        if channel == "rest":
            replies = signpost.say(f"e2e-slow-{channel}", "what benefits can I get?", timeout=TURN_TIMEOUT + 30)
        else:
            replies = web_chat(signpost, web_sender(), "what benefits can I get?", timeout=TURN_TIMEOUT + 30)
        took = time.monotonic() - start
    assert took < TURN_TIMEOUT + 10, f"{channel}: {took:.0f} s"
    assert helpline in text_of(replies), replies
