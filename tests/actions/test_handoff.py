"""Talk to a person: consent first, the queue when open, a callback when closed, and delete my data."""
from __future__ import annotations

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import answers, handoff as actions
from signposting import handoff
from tests.actions.conftest import buttons, make_tracker, texts

DOMAIN: dict = {}
OPEN = "2026-11-23T10:00:00"      # a Monday morning: the support line is open
CLOSED = "2026-11-23T23:30:00"    # the same night: closed until 8am


@pytest.fixture(autouse=True)
def own_database(tmp_path, monkeypatch):
    monkeypatch.setenv("HANDOFF_DATABASE_URL", f"sqlite:///{tmp_path}/handoff.db")


def told_so_far(**slots):
    """A carer who has done most of the check-in, as the tracker would hold it."""
    base = {"role": "carer", "what_matters": "Money mostly, I stopped work to look after him",
            "score_financial": 9, "score_emotional": 6, "score_practical": 2}
    base.update(slots)
    events = [{"event": "user", "text": "Money mostly, I stopped work to look after him",
               "parse_data": {"intent": {"name": "inform"}}},
              {"event": "user", "text": "what benefits could I get?",
               "parse_data": {"intent": {"name": "ask_benefits_check"}}}]
    return base, events


def test_consent_is_asked_with_a_preview_of_what_would_be_shared(dispatcher):
    slots, events = told_so_far()
    actions.ActionAskHandoffConsent().run(dispatcher, make_tracker(slots=slots, events=events), DOMAIN)
    said = texts(dispatcher)
    assert "Money mostly" in said and "Money 9/10" in said and "Is it OK to share it?" in said
    assert [b["payload"] for b in buttons(dispatcher)] == ['/inform{"choice":"yes"}', '/inform{"choice":"no"}']


def test_consent_preview_when_nothing_is_known_yet(dispatcher, knowledge):
    actions.ActionAskHandoffConsent().run(dispatcher, make_tracker(), DOMAIN)
    assert knowledge.say("handoff_preview_empty") in texts(dispatcher)


@pytest.mark.asyncio
async def test_open_helpline_asks_only_for_consent(dispatcher, monkeypatch):
    monkeypatch.setenv("SIGNPOST_NOW", OPEN)
    form = actions.ValidateHandoffForm()
    assert await form.required_slots([], dispatcher, make_tracker(slots={"handoff_consent": "yes"}), DOMAIN) == [
        "handoff_consent"]


@pytest.mark.asyncio
async def test_closed_helpline_offers_a_callback_then_asks_when_how_and_the_number(dispatcher, monkeypatch):
    monkeypatch.setenv("SIGNPOST_NOW", CLOSED)
    form = actions.ValidateHandoffForm()
    consented = make_tracker(slots={"handoff_consent": "yes"})
    assert await form.required_slots([], dispatcher, consented, DOMAIN) == ["handoff_consent", "callback_wanted"]
    wanted = make_tracker(slots={"handoff_consent": "yes", "callback_wanted": "yes"})
    assert (await form.required_slots([], dispatcher, wanted, DOMAIN))[2:] == [
        "callback_time", "callback_channel", "callback_phone"]
    actions.ActionAskCallbackWanted().run(dispatcher, consented, DOMAIN)
    assert "closed just now" in texts(dispatcher) and "8am tomorrow" in texts(dispatcher)


@pytest.mark.parametrize("typed, expected", [
    ("yes that's fine", "yes"), ("ok", "yes"), ("no thanks", "no"), ("don't share it", "no"), ("purple", None)])
def test_consent_understands_typed_answers(dispatcher, typed, expected):
    result = actions.ValidateHandoffForm().validate_handoff_consent(
        typed, dispatcher, make_tracker(text=typed, intent="inform"), DOMAIN)
    assert result == {"handoff_consent": expected}
    assert bool(dispatcher.messages) == (expected is None)  # asked again only when not understood


def test_open_and_consented_joins_the_queue_with_the_summary(dispatcher, monkeypatch):
    monkeypatch.setenv("SIGNPOST_NOW", OPEN)
    slots, events = told_so_far(handoff_consent="yes")
    result = actions.ActionHandoffDone().run(dispatcher, make_tracker(slots=slots, events=events), DOMAIN)
    assert "You're in the queue" in texts(dispatcher) and "8pm" in texts(dispatcher)
    assert SlotSet("handoff_status", "queued") in result
    [waiting] = handoff.queue()
    assert waiting.sender_id == "test-user" and waiting.status == "waiting" and waiting.phone is None
    assert "Money mostly, I stopped work" in waiting.summary_text and "9" in waiting.summary_text
    assert waiting.consent.share_summary and not waiting.consent.store_phone


def test_no_consent_shares_nothing_and_gives_the_number(dispatcher, monkeypatch, knowledge):
    monkeypatch.setenv("SIGNPOST_NOW", OPEN)
    slots, events = told_so_far(handoff_consent="no")
    actions.ActionHandoffDone().run(dispatcher, make_tracker(slots=slots, events=events), DOMAIN)
    assert knowledge.helplines["macmillan_support_line"]["phone"] in texts(dispatcher)
    assert handoff.queue() == [] and handoff.open_request("test-user") is None


@pytest.mark.asyncio
async def test_callback_number_goes_to_the_store_never_to_a_slot(dispatcher, monkeypatch):
    monkeypatch.setenv("SIGNPOST_NOW", CLOSED)
    slots, events = told_so_far(handoff_consent="yes", callback_wanted="yes", callback_time="morning",
                                callback_channel="call", requested_slot="callback_phone")
    tracker = make_tracker(text="07700 900123", intent="inform", slots=slots, events=events,
                           active_loop="handoff_form")
    extracted = await actions.ValidateHandoffForm().extract_callback_phone(dispatcher, tracker, DOMAIN)
    assert extracted == {"callback_phone": "saved:ending 123"}
    request = handoff.open_request("test-user")
    assert request is not None and request.kind == "callback" and request.phone == "07700900123"
    assert request.consent.store_phone and request.preferred_time == "morning"

    done = CollectingDispatcher()
    actions.ActionHandoffDone().run(done, make_tracker(slots={**slots, "callback_phone": "saved:ending 123"}), DOMAIN)
    said = texts(done)
    assert "ending 123" in said and "07700" not in said and "8am tomorrow" in said and "116 123" in said


@pytest.mark.asyncio
async def test_a_number_that_is_not_a_uk_phone_is_asked_again_and_nothing_is_stored(dispatcher, monkeypatch,
                                                                                       knowledge):
    monkeypatch.setenv("SIGNPOST_NOW", CLOSED)
    slots = {"handoff_consent": "yes", "callback_wanted": "yes", "callback_time": "any_time",
             "callback_channel": "text", "requested_slot": "callback_phone"}
    tracker = make_tracker(text="my number is 123", intent="inform", slots=slots, active_loop="handoff_form")
    assert await actions.ValidateHandoffForm().extract_callback_phone(dispatcher, tracker, DOMAIN) == {}
    assert texts(dispatcher) == knowledge.say("callback_phone_again")
    assert handoff.open_request("test-user") is None


def test_declining_a_callback_gives_the_number_and_when_they_open(dispatcher, monkeypatch):
    monkeypatch.setenv("SIGNPOST_NOW", CLOSED)
    actions.ActionHandoffDone().run(
        dispatcher, make_tracker(slots={"handoff_consent": "yes", "callback_wanted": "no"}), DOMAIN)
    assert "8am tomorrow" in texts(dispatcher) and handoff.open_request("test-user") is None


def test_delete_my_data_asks_first_then_removes_the_handoff(dispatcher, monkeypatch, knowledge):
    monkeypatch.setenv("SIGNPOST_NOW", OPEN)
    slots, events = told_so_far(handoff_consent="yes")
    actions.ActionHandoffDone().run(dispatcher, make_tracker(slots=slots, events=events), DOMAIN)
    assert handoff.open_request("test-user") is not None

    ask = CollectingDispatcher()
    actions.ActionConfirmDelete().run(ask, make_tracker(), DOMAIN)
    assert texts(ask) == knowledge.say("delete_confirm")
    assert [b["payload"] for b in buttons(ask)] == ["/affirm", "/deny"]

    keep = CollectingDispatcher()
    after_confirm = [{"event": "action", "name": "action_confirm_delete"}, {"event": "action", "name": "action_listen"},
                     {"event": "user", "text": "no"}]
    answers.ActionReply().run(keep, make_tracker(text="no", intent="deny", events=after_confirm), DOMAIN)
    assert texts(keep) == knowledge.say("delete_kept")
    assert handoff.open_request("test-user") is not None

    gone = CollectingDispatcher()
    actions.ActionDeleteMyData().run(gone, make_tracker(), DOMAIN)
    assert texts(gone) == knowledge.say("delete_done")
    assert handoff.open_request("test-user") is None and handoff.queue() == []

