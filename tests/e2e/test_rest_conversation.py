"""End to end: `scripts/run.py` starts the real servers on 127.0.0.1; a whole conversation over REST."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from tests.support import servers

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.model]


@pytest.fixture(scope="module")
def signpost(tmp_path_factory, trained_model):
    server = servers.start(tmp_path_factory.mktemp("e2e"))
    yield {"base": server.base, "process": server.process, "actions_port": server.actions_port}
    server.stop()


def say(base: str, sender: str, message: str) -> list[dict]:
    reply = httpx.post(f"{base}/webhooks/rest/webhook", json={"sender": sender, "message": message}, timeout=60)
    reply.raise_for_status()
    return reply.json()


def text_of(replies: list[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def test_a_carer_holds_a_whole_conversation(signpost, knowledge):
    base, me = signpost["base"], "e2e-carer"
    opening = say(base, me, "/greet")
    assert knowledge.say("greet")[:40] in text_of(opening)
    assert [b["payload"] for b in opening[-1]["buttons"]] == [
        '/inform{"role":"patient"}', '/inform{"role":"carer"}', '/inform{"role":"young_carer"}',
        '/inform{"role":"professional"}']
    assert text_of(say(base, me, "I look after my husband, he has lung cancer")) == knowledge.say("ask_what_matters")
    offer = say(base, me, "Money mostly. I've had to stop work to look after him")
    assert "5 quick questions" in text_of(offer)
    # where they are on the journey, and work: both skippable
    assert knowledge.say("ask_journey_stage") in text_of(say(base, me, "/start_assessment"))
    assert knowledge.say("benefits_q_nation") in text_of(say(base, me, "skip"))   # where they live: skippable
    assert knowledge.say("ask_work_status") in text_of(say(base, me, "skip"))
    first = say(base, me, '/inform{"choice":"skipped"}')
    assert "(1 of 5)" in text_of(first)
    assert "(2 of 5)" in text_of(say(base, me, "about a 6"))
    digression = text_of(say(base, me, "what benefits could I get?"))
    assert knowledge.say("back_to_form") in digression and "(2 of 5)" in digression
    assert "(3 of 5)" in text_of(say(base, me, "really bad"))
    assert "(4 of 5)" in text_of(say(base, me, "9"))
    assert "(5 of 5)" in text_of(say(base, me, "skip"))
    assert knowledge.concerns["prompts"]["pick_areas"]["carer"] in text_of(say(base, me, "8"))
    top_question = say(base, me, "that's all")   # the top 1-3, highest first
    assert [b["title"] for b in top_question[-1]["buttons"]][:2] == ["Money (9)", "Practical things (8)"]
    assert "What or who helps you already?" in text_of(say(base, me, '/inform{"choice":"done"}'))
    summary = text_of(say(base, me, "skip"))
    assert summary.index("Money: 9 out of 10") < summary.index("8 out of 10") < summary.index("6 out of 10")
    assert '"Money mostly. I\'ve had to stop work to look after him"' in summary
    assert "Skipped: Work." in summary
    assert knowledge.helplines["macmillan_support_line"]["phone"] in summary  # a 9 offers a person
    top = text_of(say(base, me, "yes please"))
    assert knowledge.topics["ask_financial_support"]["answer"]["default"][:40] in top


def test_crisis_comes_first_and_the_form_carries_on(signpost, knowledge):
    base, me = signpost["base"], "e2e-crisis"
    assert knowledge.say("ask_role") in text_of(say(base, me, "/start_assessment"))
    replies = text_of(say(base, me, "I cant go on anymore, I want to end my life"))
    assert "116 123" in replies and "999" in replies
    # the crisis answer first, then the question the form was asking, again
    assert replies.index("116 123") < replies.index(knowledge.say("ask_role"))
    assert knowledge.say("ask_what_matters") in text_of(say(base, me, "/inform{\"role\":\"patient\"}"))


def test_not_sure_offers_three_topics_and_a_person(signpost, knowledge):
    replies = say(signpost["base"], "e2e-unsure", "blorp wibble zzz")
    assert knowledge.say("not_sure") in text_of(replies)
    payloads = [b["payload"] for r in replies for b in r.get("buttons", [])]
    assert len(payloads) == 5 and payloads[-2:] == ["/request_human", "/deny"]


def test_local_services_after_a_postcode_then_more(signpost, knowledge):
    base, me = signpost["base"], "e2e-local"
    assert knowledge.say("services_ask_postcode") in text_of(say(base, me, "are there any support groups near me"))
    local = text_of(say(base, me, "G12"))
    assert knowledge.say("services_intro") in local and "local to" in local.split("2. ")[0]
    assert "4. " in text_of(say(base, me, "show me more"))


def test_a_carer_in_scotland_checks_benefits_and_keeps_a_guide(signpost, knowledge):
    base, me = signpost["base"], "e2e-benefits"
    assert knowledge.say("benefits_intro") in text_of(say(base, me, "what benefits can I get"))
    for answer in ("Scotland", "I look after my mum", "52", "about 40 hours a week", "she gets adp"):
        say(base, me, answer)
    guide = text_of(say(base, me, "dont know"))
    assert "guide, not a decision" in guide and "Carer Support Payment" in guide and "2026/27" in guide
    assert "Carer's Allowance" not in guide  # the Scottish benefit, not the one it replaced there


def test_web_chat_page_and_bad_requests(signpost):
    base = signpost["base"]
    page = httpx.get(f"{base}/webhooks/webchat/", timeout=10)
    assert page.status_code == 200 and "Signpost" in page.text and "role=\"log\"" in page.text
    assert httpx.post(f"{base}/webhooks/webchat/webhook", content=b"{not json", timeout=10).status_code == 400
    empty = httpx.post(f"{base}/webhooks/webchat/webhook", json={"sender": "x", "message": "  "}, timeout=10)
    assert empty.status_code == 400
    ok = httpx.post(f"{base}/webhooks/webchat/webhook", json={"sender": "web-" + "0" * 32, "message": "hello"}, timeout=60)
    assert ok.status_code == 200 and ok.json()


def test_ctrl_c_stops_everything_cleanly(signpost):
    process = signpost["process"]
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=60) == 0
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{signpost['base']}/status", timeout=2)
