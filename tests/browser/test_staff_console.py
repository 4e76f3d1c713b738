"""The staff console in headless Chromium, against the real Signpost (Rasa, actions, trained model).

A person talks to Signpost in the web chat page; their handoff (with consent) is queued through the
core API; a member of staff made with the CLI logs in, reads the summary, takes over, replies (the
person sees it in their web chat), hands back (the bot answers again) and closes with an outcome.
A conversation without consent never shows; a POST without the CSRF token gets 403; an idle session
ends and the page goes back to the login screen.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from sqlalchemy import update

from tests.support import servers

pytestmark = [pytest.mark.e2e, pytest.mark.model]

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "kettle on the hob 77"
SUMMARY_TEXT = "Cares for her husband.\nWhat matters most: money and sleep.\nMoney 8/10, feelings 7/10."
JOINED = "You're now talking to Sam from the helpline team."
NOT_CONSENTED_TEXT = "I do not want anyone to see this"


@pytest.fixture(scope="module")
def signpost(tmp_path_factory: pytest.TempPathFactory, trained_model: Path, chromium_path: Path
             ) -> Iterator[servers.Server]:
    folder = tmp_path_factory.mktemp("staff-console")
    env = {"HANDOFF_DATABASE_URL": f"sqlite:///{folder / 'handoff.db'}",
           "DATABASE_URL": f"sqlite:///{folder / 'signpost.db'}"}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():   # this process seeds and reads the same databases as the server
            patch.setenv(key, value)
        made = subprocess.run([sys.executable, "-m", "signposting", "staff", "add", "sam", "--name", "Sam Jones",
                               "--password-stdin"], input=PASSWORD + "\n", text=True, capture_output=True,
                              cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        assert made.returncode == 0, made.stderr
        server = servers.start(folder, env)
        try:
            yield server
        finally:
            server.stop()


def person_says(page, text: str) -> None:
    before = page.locator("#log .msg").count()
    page.fill("#message", text)
    page.click("#send")
    page.wait_for_function("n => document.querySelectorAll('#log .msg.bot').length > 0 && "
                           "document.querySelectorAll('#log .msg').length > n + 1", arg=before, timeout=90_000)


def log_in(page, base: str) -> None:
    page.goto(base + "/webhooks/staff/")
    assert page.url.endswith("/webhooks/staff/login")
    page.fill("#username", "sam")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_url("**/webhooks/staff/queue")


def consent(scope: str = "a summary and this conversation, with helpline staff"):
    from signposting import handoff

    return handoff.Consent(share_summary=True, store_phone=False, scope=scope)


def no_serious_accessibility_problems(page) -> None:
    if not AXE.exists():
        return  # scripts/browser-deps.sh installs axe-core; without it this check is skipped
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']})")
    serious = [(v["id"], v["help"]) for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == [], serious


def test_staff_take_over_reply_hand_back_and_close(signpost, browser):
    from signposting import handoff

    base = signpost.base
    person_context = browser.new_context()
    staff_context = browser.new_context(bypass_csp=AXE.exists())   # only so that axe can be injected
    person, staff = person_context.new_page(), staff_context.new_page()
    try:
        # the person talks to Signpost in the web chat, through the real channel and model
        person.goto(base + "/webhooks/webchat/")
        person_says(person, "hello")
        sender = person.evaluate("window.SignpostChat.sender()")
        # ... and someone else talks to it too, but never agrees to share
        other = "web-" + "9" * 32
        reply = httpx.post(base + "/webhooks/webchat/webhook", json={"sender": other, "message": NOT_CONSENTED_TEXT},
                           timeout=90)
        assert reply.status_code == 200
        made = handoff.request_handoff(sender, "webchat", {"role": "carer"}, SUMMARY_TEXT, consent())

        log_in(staff, base)
        no_serious_accessibility_problems(staff)
        assert staff.locator(f"a:has-text('Request {made.id}')").is_visible()
        assert other not in staff.content() and NOT_CONSENTED_TEXT not in staff.content()
        staff.click(f"a:has-text('Request {made.id}')")
        staff.wait_for_url(f"**/conversation/{made.id}")
        assert staff.locator("[data-summary]").inner_text() == SUMMARY_TEXT
        assert "with helpline staff" in staff.locator(".consent").inner_text()
        assert staff.locator("ol[data-transcript] li.person:has-text('hello')").count() == 1
        assert staff.locator("ol[data-transcript] li.bot").count() >= 1
        no_serious_accessibility_problems(staff)

        # take over: the bot pauses and the person is told who they are talking to
        staff.click("button:has-text('Take over')")
        staff.wait_for_selector("text=You've taken over")
        person.wait_for_selector(f"#log .msg.staff:has-text(\"{JOINED}\")", timeout=30_000)
        assert handoff.is_taken_over(sender)

        # the person writes while paused: it reaches the console (the page polls the transcript)
        person.fill("#message", "Thank you, I'm here")
        person.click("#send")
        staff.wait_for_selector("ol[data-transcript] li.person:has-text(\"Thank you, I'm here\")", timeout=30_000)

        # staff reply: it reaches the person's web chat
        staff.fill("#message-text", "Hello, I'm Sam. Shall we talk about the money worries first?")
        staff.click("button:has-text('Send')")
        staff.wait_for_selector("text=Message sent.")
        person.wait_for_selector("#log .msg.staff:has-text('Shall we talk about the money worries first?')",
                                 timeout=30_000)

        # hand back: the person is told, and the bot answers again
        staff.click("button:has-text('Hand back to the bot')")
        staff.wait_for_selector("text=Handed back")
        person.wait_for_selector("#log .msg.staff:has-text('handed you back to Signpost')", timeout=30_000)
        bot_before = person.locator("#log .msg.bot").count()
        person.fill("#message", "what benefits can I get?")
        person.click("#send")
        person.wait_for_function("n => document.querySelectorAll('#log .msg.bot').length > n", arg=bot_before,
                                 timeout=90_000)

        # close with an outcome: the queue is empty
        staff.select_option("#outcome", "advice given")
        staff.click("button:has-text('Close')")
        staff.wait_for_selector("text=Closed.")
        staff.click("a:has-text('Back to the queue')")
        assert staff.locator("text=Nobody here just now.").count() == 4
        closed = handoff.get(made.id)
        assert closed.status == "closed" and closed.outcome == "advice given" and closed.closed_by == "sam"
    finally:
        person_context.close()
        staff_context.close()


def test_a_person_talking_to_staff_gets_no_apology_from_the_bot(signpost, browser):
    """While staff hold the conversation the bot is quiet: no "something went wrong" in between."""
    from signposting import handoff

    sender = "web-" + "4" * 32
    signpost_reply = httpx.post(signpost.base + "/webhooks/webchat/webhook", json={"sender": sender, "message": "hi"},
                                timeout=90)
    assert signpost_reply.status_code == 200
    made = handoff.request_handoff(sender, "webchat", {}, "Wants to talk", consent())
    context = browser.new_context()
    staff = context.new_page()
    try:
        log_in(staff, signpost.base)
        staff.goto(f"{signpost.base}/webhooks/staff/conversation/{made.id}")
        staff.click("button:has-text('Take over')")
        staff.wait_for_selector("text=You've taken over")
        reply = httpx.post(signpost.base + "/webhooks/webchat/webhook",
                           json={"sender": sender, "message": "are you still there?"}, timeout=90)
        assert reply.status_code == 200
        assert reply.json() == []   # no "Sorry, something went wrong": staff answer through the inbox
        staff.wait_for_selector("ol[data-transcript] li.person:has-text('are you still there?')", timeout=30_000)
    finally:
        if staff.locator("button:has-text('Hand back to the bot')").count():
            staff.click("button:has-text('Hand back to the bot')")
        context.close()


def test_no_csrf_token_gets_403_and_an_idle_session_goes_back_to_login(signpost, browser):
    from signposting import handoff
    from signposting import staff as accounts

    sender = "web-" + "5" * 32
    made = handoff.request_handoff(sender, "webchat", {}, "Wants to talk", consent())
    context = browser.new_context()
    page = context.new_page()
    try:
        log_in(page, signpost.base)
        forged = page.request.post(f"{signpost.base}/webhooks/staff/conversation/{made.id}/take", form={"text": "x"})
        assert forged.status == 403
        wrong = page.request.post(f"{signpost.base}/webhooks/staff/conversation/{made.id}/take",
                                  form={"csrf": "not-the-token"})
        assert wrong.status == 403
        assert handoff.get(made.id).status == "waiting"

        # nobody touches the console for longer than the idle limit: the polling page goes to the login
        page.goto(signpost.base + "/webhooks/staff/queue")
        with handoff.engine().begin() as conn:
            conn.execute(update(accounts.sessions_table).values(
                last_seen_at=handoff.now_utc() - accounts.IDLE_TIMEOUT - timedelta(minutes=1)))
        page.wait_for_url(re.compile(r".*/webhooks/staff/login\?done=expired$"), timeout=30_000)
        assert page.locator("text=Your session ended").is_visible()
        page.goto(signpost.base + "/webhooks/staff/queue")
        assert page.url.endswith("/webhooks/staff/login")
    finally:
        context.close()
        handoff.close(made.id, "other", "sam")
