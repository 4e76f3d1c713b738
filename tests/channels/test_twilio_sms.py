"""The Twilio SMS / WhatsApp connector on a loopback Sanic server, with a stand-in for Rasa's handler.

Each test gets its own SQLite database for the channel state (DATABASE_URL) and a fixed key for
conversation ids, so nothing is shared between tests or with the developer's own files.
"""
from __future__ import annotations

import itertools
import logging
import socket
import xml.etree.ElementTree as ET

import httpx
import pytest
from sanic import Sanic
from twilio.request_validator import RequestValidator

from channels import identity
from channels import state as channel_state
from channels.twilio_sms import TwilioInput, sender_id
from signposting import sms
from signposting.sms import is_gsm7

pytestmark = pytest.mark.asyncio
TEST_KEY = "9U5OZZ9i42xN31jxr6WBORMusBT8lteCNnb-PWU-CQPxDPI7htObmXSs_S9ZjyqRTJpR88V2mSy7oFnKfIXALQ"  # tests only

TOKEN = "test-auth-token-123"
PHONE = "+447700900123"
_names = itertools.count()
_sids = itertools.count(1)
Sanic.test_mode = True  # lets several apps start in one process


@pytest.fixture(autouse=True)
def own_state(tmp_path, monkeypatch):
    """A fresh channel-state database and a fixed conversation-id key for each test."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'channels.db'}")
    monkeypatch.setenv("SIGNPOST_SECRET_KEY", TEST_KEY)
    return channel_state.default()


class FakeRasa:
    """Records what Rasa would receive and answers with canned replies (or fails / stays silent)."""

    def __init__(self, replies=None, fail=False):
        self.messages = []
        self.replies = replies if replies is not None else [{"text": "you said: {text}"}]
        self.fail = fail

    async def __call__(self, message):
        self.messages.append(message)
        if self.fail:
            raise RuntimeError("action server down")
        for reply in self.replies:
            text = reply.get("text", "").replace("{text}", message.text) if reply.get("text") else None
            if reply.get("buttons"):
                await message.output_channel.send_text_with_buttons(message.sender_id, text, reply["buttons"])
            elif text:
                await message.output_channel.send_text_message(message.sender_id, text)


async def _serve(rasa, channel=None):
    app = Sanic(f"twilio_test_{next(_names)}")
    channel = channel or TwilioInput(auth_token=TOKEN)
    app.blueprint(channel.blueprint(rasa), url_prefix="/webhooks/twilio_sms")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # a free port of our own (Sanic reads port=0 as 8000)
    server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
    await server.startup()
    port = sock.getsockname()[1]
    return server, f"http://127.0.0.1:{port}/webhooks/twilio_sms"


async def _post(client, base, params, token=TOKEN, signature=None):
    url = base + "/webhook"
    headers = {}
    if signature is None and token:
        signature = RequestValidator(token).compute_signature(url, params)
    if signature:
        headers["X-Twilio-Signature"] = signature
    return await client.post(url, data=params, headers=headers)


def _bodies(reply):
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(reply.text)
    assert root.tag == "Response"
    return [m.text or "" for m in root.findall("Message")]


def _one_segment(body):
    return len(body) <= 160 if is_gsm7(body) else len(body.encode("utf-16-le")) // 2 <= 70


def _sms(body, sender=PHONE, **extra):
    """Twilio's webhook parameters; each message gets a new MessageSid, as Twilio gives it."""
    return {"From": sender, "To": "+447700900999", "Body": body, "NumMedia": "0",
            "MessageSid": f"SM{next(_sids):032x}", **extra}


async def test_signed_message_gets_twiml_and_bad_signatures_get_403():
    rasa = FakeRasa()
    server, base = await _serve(rasa)
    try:
        async with httpx.AsyncClient() as client:
            ok = await _post(client, base, _sms("hello"))
            forged = await _post(client, base, _sms("hello"), token="wrong-token")
            missing = await _post(client, base, _sms("hello"), token=None)
            signed = _sms("hello")
            tampered = await client.post(base + "/webhook", data={**signed, "Body": "something else"}, headers={
                "X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(base + "/webhook", signed)})
            health = await client.get(base + "/health")
        assert _bodies(ok) == ["you said: hello"]
        assert forged.status_code == 403 and missing.status_code == 403 and tampered.status_code == 403
        assert len(rasa.messages) == 1
        assert rasa.messages[0].sender_id == sender_id(PHONE) and rasa.messages[0].sender_id.startswith("sms-")
        assert identity.address_of(rasa.messages[0].sender_id) == ("sms", PHONE)  # reachable later
        assert rasa.messages[0].input_channel == "twilio_sms"
        assert health.json() == {"status": "ok", "configured": True}
    finally:
        await server.close()


async def test_missing_from_is_400_and_no_token_is_503(monkeypatch):
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    server, base = await _serve(FakeRasa())
    try:
        async with httpx.AsyncClient() as client:
            no_from = await _post(client, base, {"Body": "hi", "NumMedia": "0"})
            blank_from = await _post(client, base, _sms("hi", sender=""))
        assert no_from.status_code == 400 and blank_from.status_code == 400
    finally:
        await server.close()
    bare, bare_base = await _serve(FakeRasa(), TwilioInput.from_credentials(None))  # one server at a time
    try:
        async with httpx.AsyncClient() as client:
            unconfigured = await _post(client, bare_base, _sms("hi"))
            health = await client.get(bare_base + "/health")
        assert unconfigured.status_code == 503 and "TWILIO_AUTH_TOKEN" in unconfigured.text
        assert health.json()["configured"] is False
    finally:
        await bare.close()


async def test_token_from_environment_and_public_url(monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    public = "https://signpost.example.org/webhooks/twilio_sms/webhook"
    channel = TwilioInput.from_credentials({"public_url": public})
    server, base = await _serve(FakeRasa(), channel)
    try:
        async with httpx.AsyncClient() as client:
            local = await _post(client, base, _sms("hi"))  # signed for our loopback URL, not the public one
            params = _sms("hi")
            signature = RequestValidator(TOKEN).compute_signature(public, params)
            signed = await _post(client, base, params, signature=signature)
        assert local.status_code == 403 and _bodies(signed) == ["you said: hi"]
    finally:
        await server.close()


async def test_a_photo_or_voice_note_without_words_and_an_empty_message_do_not_reach_rasa():
    rasa = FakeRasa()
    server, base = await _serve(rasa)
    try:
        async with httpx.AsyncClient() as client:
            photo = await _post(client, base, _sms("", NumMedia="1", MediaUrl0="https://api.twilio.com/x.jpg",
                                                   MediaContentType0="image/jpeg"))
            voice = await _post(client, base, _sms("", sender=f"whatsapp:{PHONE}", NumMedia="1",
                                                   MediaUrl0="https://api.twilio.com/v.ogg",
                                                   MediaContentType0="audio/ogg"))
            empty = await _post(client, base, _sms("   "))
        assert _bodies(photo) == [sms.media_text()] and _bodies(voice) == [sms.media_text()]
        assert "only read text" in sms.media_text()
        assert _bodies(empty) == [sms.empty_text()]
        assert rasa.messages == []
    finally:
        await server.close()


async def test_a_photo_with_words_is_answered_from_the_words():
    rasa = FakeRasa()
    server, base = await _serve(rasa)
    try:
        async with httpx.AsyncClient() as client:
            reply = await _post(client, base, _sms("what is this letter about", NumMedia="1",
                                                   MediaUrl0="https://api.twilio.com/x.jpg"))
        assert _bodies(reply) == ["you said: what is this letter about"]
    finally:
        await server.close()


@pytest.mark.parametrize("content_type,content", [
    ("application/json", b'{"From": "+447700900123", "Body": "hi"}'),
    ("text/plain", b"From=%2B447700900123&Body=hi"),
    ("application/x-www-form-urlencoded", b"\xff\xfe\x00not utf-8"),
    ("application/x-www-form-urlencoded", b"From=%2B447700900123&Body=%FF%FE"),  # escapes that are not UTF-8
    ("application/x-www-form-urlencoded", b"just some words"),
    ("application/x-www-form-urlencoded", b""),
])
async def test_a_body_twilio_would_never_send_is_400_and_reaches_nobody(content_type, content):
    rasa = FakeRasa()
    server, base = await _serve(rasa)
    try:
        async with httpx.AsyncClient() as client:
            reply = await client.post(base + "/webhook", content=content, headers={
                "Content-Type": content_type, "X-Twilio-Signature": "c2lnbmF0dXJl"})
            after = await _post(client, base, _sms("still fine"))
        assert reply.status_code == 400 and rasa.messages[0].text == "still fine" and len(rasa.messages) == 1
        assert _bodies(after) == ["you said: still fine"]  # the server carries on
    finally:
        await server.close()


async def test_a_replayed_webhook_gets_an_empty_answer_and_no_second_turn():
    rasa = FakeRasa()
    server, base = await _serve(rasa)
    params = _sms("hello")
    try:
        async with httpx.AsyncClient() as client:
            first = await _post(client, base, params)
            replay = await _post(client, base, params)  # Twilio retrying, or someone replaying a captured call
            forged = await _post(client, base, {**params, "MessageSid": "SMforged"}, signature="bm9wZQ==")
        assert _bodies(first) == ["you said: hello"] and _bodies(replay) == [] and forged.status_code == 403
        assert len(rasa.messages) == 1
    finally:
        await server.close()


async def test_numbered_reply_maps_to_the_button_payload():
    rasa = FakeRasa([{"text": "What would help most?", "buttons": [
        {"title": "Money worries", "payload": "/ask_financial_support"},
        {"title": "Talk to a person", "payload": "/request_human"}]}])
    server, base = await _serve(rasa)
    try:
        async with httpx.AsyncClient() as client:
            first = await _post(client, base, _sms("hi"))
            second = await _post(client, base, _sms("2"))
            third = await _post(client, base, _sms("one"))
            other = await _post(client, base, _sms("2", sender="+447700900456"))  # someone else's options
        assert _bodies(first) == ["What would help most?\nReply 1 for Money worries\nReply 2 for Talk to a person"]
        assert [m.text for m in rasa.messages] == ["hi", "/request_human", "/ask_financial_support", "2"]
        assert third.status_code == 200
        assert second.status_code == 200 and other.status_code == 200
    finally:
        await server.close()


async def test_long_answers_come_in_segments_and_more_sends_the_rest():
    sentences = " ".join(f"Step {n}: you can ask your nurse about support number {n}." for n in range(1, 25))
    rasa = FakeRasa([{"text": sentences, "buttons": [{"title": "Start again", "payload": "/start_again"}]}])
    server, base = await _serve(rasa)
    try:
        async with httpx.AsyncClient() as client:
            first = _bodies(await _post(client, base, _sms("tell me everything")))
            received = []
            more = first
            while more[-1].endswith("Reply MORE for the rest."):
                more = _bodies(await _post(client, base, _sms("MORE")))
                received.extend(more)
            pick = await _post(client, base, _sms("1"))
        assert len(first) == 3 and all(_one_segment(b) for b in first + received)
        assert first[-1].endswith("Reply MORE for the rest.")
        everything = " ".join(b.replace("\nReply MORE for the rest.", "") for b in first + received)
        assert everything == sentences + "\nReply 1 for Start again"
        assert [m.text for m in rasa.messages] == ["tell me everything", "/start_again"]  # MORE never reaches Rasa
        assert pick.status_code == 200
    finally:
        await server.close()


async def test_more_with_nothing_pending_goes_to_rasa():
    rasa = FakeRasa()
    server, base = await _serve(rasa)
    try:
        async with httpx.AsyncClient() as client:
            reply = await _post(client, base, _sms("more"))
        assert _bodies(reply) == ["you said: more"]
    finally:
        await server.close()


@pytest.mark.parametrize("text", [
    "مرحبا، أحتاج مساعدة في المال 👋 " * 8,                      # Arabic and an emoji
    "שלום, אני צריך עזרה עם כסף ועם העבודה שלי. " * 6,           # Hebrew
    "مجھے پیسوں کے بارے میں مدد چاہیے، شکریہ ❤️‍🩹 " * 6,            # Urdu and a joined emoji
])
async def test_emoji_and_right_to_left_text_pass_through_and_use_ucs2_segments(text):
    rasa = FakeRasa()
    server, base = await _serve(rasa)
    try:
        async with httpx.AsyncClient() as client:
            bodies = _bodies(await _post(client, base, _sms(text)))
        assert rasa.messages[0].text == text.strip()  # exactly what was typed, nothing lost or mangled
        assert " ".join(" ".join(bodies).replace(sms.MORE_SUFFIX, "").split()).startswith("you said: " + text.split()[0])
        assert len(bodies) >= 2 and all(_one_segment(b) for b in bodies)
        assert not is_gsm7(bodies[0]) and len(bodies[0].encode("utf-16-le")) // 2 <= 70
    finally:
        await server.close()


async def test_a_20000_character_message_is_trimmed_with_a_note_and_still_answered():
    rasa = FakeRasa([{"text": "Thanks, here is some help."}])
    server, base = await _serve(rasa)
    try:
        async with httpx.AsyncClient() as client:
            bodies = _bodies(await _post(client, base, _sms("I am worried about money. " * 800)))
        assert len(rasa.messages[0].text) == 1600
        assert bodies == [sms.trimmed_text() + "\nThanks, here is some help."]
        assert all(_one_segment(b) for b in bodies)
    finally:
        await server.close()


async def test_whatsapp_senders_get_their_own_prefix():
    rasa = FakeRasa()
    server, base = await _serve(rasa)
    try:
        async with httpx.AsyncClient() as client:
            bodies = _bodies(await _post(client, base, _sms("hello", sender=f"whatsapp:{PHONE}")))
        assert bodies == ["you said: hello"]
        sender = rasa.messages[0].sender_id
        assert sender.startswith("wa-") and PHONE not in sender and sender != sender_id(PHONE)
        assert sender == sender_id(f"whatsapp:{PHONE}")  # the same number keeps the same conversation
        assert identity.address_of(sender) == ("wa", PHONE)  # ...and can be written to later on WhatsApp
    finally:
        await server.close()


@pytest.mark.parametrize("fail,replies", [(True, None), (False, [])])
async def test_failed_or_silent_turn_still_gives_a_helpline(fail, replies, knowledge):
    server, base = await _serve(FakeRasa(replies, fail=fail))
    try:
        async with httpx.AsyncClient() as client:
            bodies = _bodies(await _post(client, base, _sms("hello")))
        text = " ".join(bodies)
        assert knowledge.helplines["macmillan_support_line"]["phone"] in text and "999" in text
        assert all(_one_segment(b) for b in bodies)
    finally:
        await server.close()


async def test_keywords_help_stop_start(knowledge):
    rasa = FakeRasa()
    server, base = await _serve(rasa)
    try:
        async with httpx.AsyncClient() as client:
            help_ = _bodies(await _post(client, base, _sms("HELP")))
            stop = _bodies(await _post(client, base, _sms("STOP")))
            start = _bodies(await _post(client, base, _sms("start")))
        assert knowledge.helplines["macmillan_support_line"]["phone"] in " ".join(help_)
        assert all(_one_segment(b) for b in help_)
        assert stop == [] and start and "Signpost" in start[0]  # Twilio confirms an SMS STOP itself
        assert rasa.messages == []
    finally:
        await server.close()


async def test_stop_is_remembered_until_the_person_writes_again_and_whatsapp_gets_a_confirmation(own_state):
    rasa = FakeRasa()
    server, base = await _serve(rasa)
    wa = f"whatsapp:{PHONE}"
    try:
        async with httpx.AsyncClient() as client:
            stop = _bodies(await _post(client, base, _sms("Stop", sender=wa)))
            opted_out = own_state.opted_out(sender_id(wa))
            again = _bodies(await _post(client, base, _sms("hello again", sender=wa)))
        assert stop == [sms.stopped_text()] and opted_out and not own_state.opted_out(sender_id(wa))
        assert again == ["you said: hello again"]
    finally:
        await server.close()


async def test_the_phone_number_is_never_logged(caplog):
    caplog.set_level(logging.DEBUG)
    server, base = await _serve(FakeRasa(fail=True))
    try:
        async with httpx.AsyncClient() as client:
            await _post(client, base, _sms("hello"))
            await _post(client, base, _sms("x" * 20000))
            await _post(client, base, _sms("hello", sender=f"whatsapp:{PHONE}"))
            await _post(client, base, _sms("hello"), token="forged")
        assert caplog.records  # the failure and the forgery were logged...
        digits = PHONE.lstrip("+")
        for record in caplog.records:  # ...without the number
            logged = record.getMessage() + (record.exc_text or "")
            assert digits not in logged and "7700900123" not in logged
    finally:
        await server.close()


async def test_a_second_instance_serves_the_next_message(tmp_path):
    """Behind a load balancer the reply "1" and "MORE" may reach another instance: it must understand them."""
    shared = f"sqlite:///{tmp_path / 'shared.db'}"
    rasa = FakeRasa([{"text": " ".join(f"Sentence {n} is about help with money." for n in range(12)),
                      "buttons": [{"title": "Money worries", "payload": "/ask_financial_support"}]}])
    one, base_one = await _serve(rasa, TwilioInput(auth_token=TOKEN, state=channel_state.ChannelState(shared)))
    two, base_two = await _serve(rasa, TwilioInput(auth_token=TOKEN, state=channel_state.ChannelState(shared)))
    try:
        async with httpx.AsyncClient() as client:
            first = _bodies(await _post(client, base_one, _sms("money")))
            more = _bodies(await _post(client, base_two, _sms("MORE")))
            await _post(client, base_two, _sms("1"))
        assert first[-1].endswith(sms.MORE_SUFFIX) and "Reply 1 for Money worries" in more[-1]
        assert [m.text for m in rasa.messages] == ["money", "/ask_financial_support"]
    finally:
        await one.close()
        await two.close()



async def test_a_typed_intent_payload_cannot_choose_an_intent():
    rasa = FakeRasa()
    server, base = await _serve(rasa)
    try:
        async with httpx.AsyncClient() as client:
            await _post(client, base, _sms('/inform{"role":"carer"}'))
        assert rasa.messages[0].text == 'inform{"role":"carer"}'  # plain words to the bot, not a button
    finally:
        await server.close()


async def test_the_answer_to_a_crisis_message_arrives_whole_without_more():
    from signposting import safety

    crisis = safety.crisis_reply("suicide_self_harm", None)
    rasa = FakeRasa([{"text": crisis, "buttons": [{"title": "Talk to a person", "payload": "/request_human"}]},
                     {"text": "(2 of 5) How much are money worries bothering you? You can say skip."}])
    server, base = await _serve(rasa)
    try:
        async with httpx.AsyncClient() as client:
            urgent = _bodies(await _post(client, base, _sms("I want to end my life")))
            ordinary = _bodies(await _post(client, base, _sms("tell me about money")))
        sent = " ".join(" ".join(b.replace(sms.MORE_SUFFIX, "") for b in urgent).split())
        assert " ".join(crisis.split()) in sent and all(_one_segment(b) for b in urgent)
        assert len(urgent) <= sms.CRISIS_MAX_SEGMENTS and len(ordinary) == 3  # the usual cap otherwise
    finally:
        await server.close()
