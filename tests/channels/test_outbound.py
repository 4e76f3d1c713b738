"""Messages sent later (a staff reply, a callback confirmation) reach the person on their own channel.

Twilio and Telegram are local fakes on 127.0.0.1 that record each request (tests/support); the
channel state is a fresh SQLite database per test, and conversation ids use a fixed test key.
"""
from __future__ import annotations

import logging

import httpx
import pytest

from channels import identity, outbound
from channels import state as channel_state
from channels.outbound import Delivery, OutboundError, deliver, take_webchat
from channels.twilio_sms import TwilioInput, sender_id as sms_sender
from signposting import sms
from tests.channels.test_telegram import CHAT, Conversation, Rasa, callback
from tests.channels.test_twilio_sms import FakeRasa, _bodies, _post, _serve, _sms
from tests.support.fake_telegram import TOKEN as TG_TOKEN, FakeBotApi
from tests.support.fake_twilio import FakeTwilio

pytestmark = pytest.mark.asyncio

TEST_KEY = "9U5OZZ9i42xN31jxr6WBORMusBT8lteCNnb-PWU-CQPxDPI7htObmXSs_S9ZjyqRTJpR88V2mSy7oFnKfIXALQ"  # tests only
PHONE = "+447700900123"
SMS_FROM, WA_FROM = "+447700900001", "+447700900002"
BUTTONS = [{"title": "Yes, call me", "payload": "/affirm"}, {"title": "No thanks", "payload": "/deny"}]


@pytest.fixture(autouse=True)
def own_state(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'channels.db'}")
    monkeypatch.setenv("SIGNPOST_SECRET_KEY", TEST_KEY)
    monkeypatch.setattr(outbound, "RETRY_DELAY", 0.01)  # retry at once: the tests need no back-off
    return channel_state.default()


@pytest.fixture()
def twilio(monkeypatch):
    with FakeTwilio() as fake:
        monkeypatch.setenv("TWILIO_ACCOUNT_SID", fake.account_sid)
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", fake.auth_token)
        monkeypatch.setenv("TWILIO_FROM", SMS_FROM)
        monkeypatch.setenv("TWILIO_WHATSAPP_FROM", WA_FROM)
        monkeypatch.setenv("TWILIO_API_BASE", fake.base_url)
        yield fake


@pytest.fixture()
def telegram(monkeypatch):
    with FakeBotApi() as fake:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TG_TOKEN)
        monkeypatch.setenv("TELEGRAM_API_BASE", fake.base_url)
        yield fake


# --------------------------------------------------------------------------- SMS and WhatsApp
async def test_an_sms_goes_through_twilios_rest_api_with_numbered_options(twilio):
    sender = sms_sender(PHONE)
    delivery = await deliver(sender, "The helpline can call you back tomorrow morning.", BUTTONS)
    assert twilio.messages == [{"To": PHONE, "From": SMS_FROM, "Body": (
        "The helpline can call you back tomorrow morning.\nReply 1 for Yes, call me\nReply 2 for No thanks")}]
    [request] = twilio.requests
    assert request["auth_ok"] and request["path"].endswith(f"/Accounts/{twilio.account_sid}/Messages.json")
    assert request["content_type"].startswith("application/x-www-form-urlencoded")
    assert delivery == Delivery(sender, "sms", 1, ("SM" + "%032x" % 1,))


async def test_a_reply_1_to_a_message_sent_later_picks_its_option(twilio):
    """The options of an outbound message are remembered where the webhook (any instance) finds them."""
    sender = sms_sender(PHONE)
    await deliver(sender, "Would you like a call back?", BUTTONS)
    rasa = FakeRasa()
    server, base = await _serve(rasa, TwilioInput(auth_token=twilio.auth_token))
    try:
        async with httpx.AsyncClient() as client:
            await _post(client, base, _sms("2"), token=twilio.auth_token)
        assert [m.text for m in rasa.messages] == ["/deny"] and rasa.messages[0].sender_id == sender
    finally:
        await server.close()


async def test_a_long_message_is_at_most_three_segments_and_more_sends_the_rest(twilio):
    sender = sms_sender(PHONE)
    text = " ".join(f"Point {n}: the team will explain what happens next with your claim." for n in range(1, 15))
    delivery = await deliver(sender, text)
    bodies = [m["Body"] for m in twilio.messages]
    assert delivery.messages == len(bodies) == 3 and all(sms.fits(b) for b in bodies)
    assert bodies[-1].endswith(sms.MORE_SUFFIX)
    rasa = FakeRasa()
    server, base = await _serve(rasa, TwilioInput(auth_token=twilio.auth_token))
    try:
        async with httpx.AsyncClient() as client:
            more = _bodies(await _post(client, base, _sms("MORE"), token=twilio.auth_token))
        assert more and more[0].startswith("Point ") and rasa.messages == []  # MORE never reaches Rasa
    finally:
        await server.close()


async def test_whatsapp_goes_from_the_whatsapp_sender_to_the_whatsapp_address(twilio):
    sender = sms_sender(f"whatsapp:{PHONE}")
    delivery = await deliver(sender, "Hello from the helpline team 👋")
    assert twilio.messages == [{"To": f"whatsapp:{PHONE}", "From": f"whatsapp:{WA_FROM}",
                                "Body": "Hello from the helpline team 👋"}]
    assert delivery.channel == "wa" and delivery.messages == 1


async def test_someone_who_said_stop_is_not_messaged(twilio, own_state):
    rasa = FakeRasa()
    server, base = await _serve(rasa, TwilioInput(auth_token=twilio.auth_token))
    try:
        async with httpx.AsyncClient() as client:
            await _post(client, base, _sms("STOP"), token=twilio.auth_token)
        with pytest.raises(OutboundError, match="STOP"):
            await deliver(sms_sender(PHONE), "Your call back is booked.")
        assert twilio.requests == []
        async with httpx.AsyncClient() as client:
            await _post(client, base, _sms("hello"), token=twilio.auth_token)  # writing again lifts it
        await deliver(sms_sender(PHONE), "Your call back is booked.")
        assert [m["Body"] for m in twilio.messages] == ["Your call back is booked."]
    finally:
        await server.close()


async def test_a_5xx_is_retried_once_then_a_clear_error(twilio):
    twilio.fail_next = [500]
    delivery = await deliver(sms_sender(PHONE), "First try fails, the retry works.")
    assert delivery.messages == 1 and [r["status"] for r in twilio.requests] == [500, 201]
    twilio.fail_next = [503, 503]
    with pytest.raises(OutboundError, match=r"after a retry \(HTTP 503.*nothing was sent"):
        await deliver(sms_sender(PHONE), "Both tries fail.")
    assert [r["status"] for r in twilio.requests] == [500, 201, 503, 503]


async def test_a_timeout_is_retried_once(twilio):
    twilio.delay_next = [1.0]
    delivery = await deliver(sms_sender(PHONE), "Slow first answer.", timeout=0.3)
    assert delivery.messages == 1 and len(twilio.requests) == 2


async def test_a_refusal_is_not_retried(twilio, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "not-the-token")
    with pytest.raises(OutboundError, match="Twilio refused the message .*HTTP 401"):
        await deliver(sms_sender(PHONE), "Wrong credentials.")
    assert len(twilio.requests) == 1


@pytest.mark.parametrize("variable,kind", [("TWILIO_ACCOUNT_SID", "sms"), ("TWILIO_AUTH_TOKEN", "sms"),
                                           ("TWILIO_FROM", "sms"), ("TWILIO_WHATSAPP_FROM", "wa")])
async def test_missing_twilio_settings_are_named(twilio, monkeypatch, variable, kind):
    monkeypatch.delenv(variable)
    with pytest.raises(OutboundError, match=variable):
        await deliver(identity.sender_for(kind, PHONE), "Hello")
    assert twilio.requests == []


# --------------------------------------------------------------------------- Telegram
async def test_telegram_gets_send_message_with_an_inline_keyboard(telegram):
    sender = identity.sender_for("tg", CHAT)
    long_payload = '/inform{"callback_time":"morning","callback_channel":"phone","note":"over 64 bytes"}'
    delivery = await deliver(sender, "When would suit you?", [
        {"title": "Morning", "payload": long_payload}, {"title": "Any time", "payload": "/inform"}])
    [sent] = telegram.sent()
    data = sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert sent == {"chat_id": str(CHAT), "text": "When would suit you?", "reply_markup": {"inline_keyboard": [
        [{"text": "Morning", "callback_data": data}], [{"text": "Any time", "callback_data": "/inform"}]]}}
    assert data.startswith("p:") and len(data.encode()) <= 64
    assert delivery == Delivery(sender, "tg", 1, ("1",))


async def test_a_button_sent_later_works_when_pressed_in_telegram(telegram):
    long_payload = '/inform{"callback_time":"afternoon","callback_channel":"text","note":"over 64 bytes"}'
    await deliver(identity.sender_for("tg", CHAT), "When would suit you?", [{"title": "Afternoon",
                                                                             "payload": long_payload}])
    data = telegram.sent()[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    rasa = Rasa({"text": "Thanks."})
    async with Conversation(rasa, telegram) as chat:
        await chat.post(callback(data))
    assert [m.text for m in rasa.messages] == [long_payload]


async def test_long_telegram_text_is_split_under_4096(telegram):
    text = "\n\n".join(["A paragraph about what the helpline team can do for you. " * 20] * 6)
    delivery = await deliver(identity.sender_for("tg", CHAT), text)
    sent = telegram.sent()
    assert delivery.messages == len(sent) >= 2 and all(len(m["text"]) <= 4096 for m in sent)


async def test_telegram_5xx_and_timeouts_are_retried_once_and_a_block_is_not(telegram):
    sender = identity.sender_for("tg", CHAT)
    telegram.fail_next = [500]
    assert (await deliver(sender, "retried")).messages == 1
    telegram.delay_next = [1.0]
    assert (await deliver(sender, "slow", timeout=0.3)).messages == 1
    telegram.fail_next = [502, 502]
    with pytest.raises(OutboundError, match="after a retry"):
        await deliver(sender, "down")
    telegram.fail_next = [403]
    with pytest.raises(OutboundError, match="Telegram refused the message .*Forbidden"):
        await deliver(sender, "blocked")
    assert [m["text"] for m in telegram.sent()] == ["retried", "slow"]


async def test_missing_telegram_token_is_named(telegram, monkeypatch):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    with pytest.raises(OutboundError, match="TELEGRAM_BOT_TOKEN"):
        await deliver(identity.sender_for("tg", CHAT), "Hello")
    assert telegram.calls == []


# --------------------------------------------------------------------------- web chat
async def test_web_chat_messages_wait_in_the_outbox_in_order_and_are_taken_once():
    await deliver("web-0123456789abcdef01234567", "You're now talking to Sam from the helpline team.")
    await deliver("web-0123456789abcdef01234567", "How can I help?", BUTTONS)
    await deliver("web-someone-else", "Not for the first person.")
    assert take_webchat("web-0123456789abcdef01234567") == [
        {"text": "You're now talking to Sam from the helpline team.", "buttons": []},
        {"text": "How can I help?", "buttons": BUTTONS}]
    assert take_webchat("web-0123456789abcdef01234567") == []
    assert take_webchat("web-someone-else") == [{"text": "Not for the first person.", "buttons": []}]
    assert take_webchat("web-<script>") == [] and take_webchat("") == []


async def test_another_instance_sees_the_same_outbox(tmp_path):
    shared = f"sqlite:///{tmp_path / 'shared.db'}"
    await deliver("web-abc", "Hello", state=channel_state.ChannelState(shared))
    assert take_webchat("web-abc", state=channel_state.ChannelState(shared)) == [{"text": "Hello", "buttons": []}]


# --------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("sender", ["rest-user", "test-user", "", "sms-notatoken", "tg-" + "a" * 40,
                                    "web-has space", "sms-" + "a" * 200])
async def test_an_id_that_is_not_ours_is_a_clear_error(sender, twilio, telegram):
    with pytest.raises(OutboundError):
        await deliver(sender, "Hello")
    assert twilio.requests == [] and telegram.calls == []


async def test_an_altered_or_foreign_id_is_refused(twilio, monkeypatch):
    real = sms_sender(PHONE)
    altered = real[:-3] + ("a" if real[-3] != "a" else "b") + real[-2:]
    swapped = "wa-" + real[4:]  # the same token claimed for WhatsApp
    for sender in (altered, swapped):
        with pytest.raises(OutboundError, match="not made here"):
            await deliver(sender, "Hello")
    monkeypatch.setenv("SIGNPOST_SECRET_KEY", identity.generate_key())
    with pytest.raises(OutboundError, match="not made here"):
        await deliver(real, "Hello")  # made with another deployment's key
    assert twilio.requests == []


@pytest.mark.parametrize("text,buttons", [("", None), ("   ", []), ("Hi", [{"payload": "/x"}]), ("Hi", ["Yes"])])
async def test_nothing_to_send_or_a_malformed_button_is_a_clear_error(text, buttons, twilio):
    with pytest.raises(OutboundError):
        await deliver(sms_sender(PHONE), text, buttons)
    assert twilio.requests == []


async def test_logs_name_the_conversation_never_the_number_or_chat(twilio, telegram, caplog):
    caplog.set_level(logging.DEBUG)
    await deliver(sms_sender(PHONE), "Hello")
    await deliver(sms_sender(f"whatsapp:{PHONE}"), "Hello")
    await deliver(identity.sender_for("tg", CHAT), "Hello")
    twilio.fail_next, telegram.fail_next = [400], [400]
    for sender in (sms_sender(PHONE), identity.sender_for("tg", CHAT)):
        with pytest.raises(OutboundError) as failure:
            await deliver(sender, "Hello")
        assert "7700900123" not in str(failure.value) and str(CHAT) not in str(failure.value)
    assert sms_sender(PHONE) in caplog.text
    assert "7700900123" not in caplog.text and str(CHAT) not in caplog.text and TG_TOKEN not in caplog.text
    assert twilio.auth_token not in caplog.text
