"""Services from the directory in answers: near a postcode, for the person, with a button for more."""
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import answers
from tests.actions.conftest import buttons, make_tracker, texts

DOMAIN: dict = {}


def slot(events, name):
    values = [e["value"] for e in events if e.get("event") == "slot" and e.get("name") == name]
    return values[-1] if values else None


def test_looking_for_local_services_asks_for_a_postcode_first(dispatcher, knowledge):
    events = answers.ActionFindServices().run(
        dispatcher, make_tracker(text="any support groups near me", intent="find_local_service"), DOMAIN)
    assert knowledge.say("services_ask_postcode") in texts(dispatcher)
    assert '/inform{"nation":"scotland"}' in [b["payload"] for b in buttons(dispatcher)]
    assert SlotSet("pending_topic", "find_local_service") in events


def test_a_postcode_then_shows_local_services_first(dispatcher, knowledge):
    tracker = make_tracker(text="G12 8QQ", intent="inform", slots={
        "pending_topic": "find_local_service", "pending_search": {"intent": "find_local_service", "text": None}})
    events = answers.ActionHandleInform().run(dispatcher, tracker, DOMAIN)
    said = texts(dispatcher)
    assert knowledge.say("services_intro") in said and "1. " in said
    assert "local to" in said.split("2. ")[0]  # the first service is a Glasgow one
    assert SlotSet("postcode", "G12") in events and slot(events, "service_search")["intent"] == "find_local_service"


def test_a_postcode_in_the_question_is_used_straight_away(dispatcher, knowledge):
    events = answers.ActionAnswerTopic().run(
        dispatcher, make_tracker(text="carers support near SE11 please", intent="find_local_service"), DOMAIN)
    said = texts(dispatcher)
    assert knowledge.say("services_ask_postcode") not in said and "local to" in said
    assert SlotSet("nation", "england") in events


def test_the_same_question_in_another_area_gives_different_services(knowledge):
    glasgow, lambeth = CollectingDispatcher(), CollectingDispatcher()
    answers.ActionAnswerTopic().run(glasgow, make_tracker(text="support near G12", intent="find_local_service"), DOMAIN)
    answers.ActionAnswerTopic().run(lambeth, make_tracker(text="support near SE11", intent="find_local_service"), DOMAIN)
    assert texts(glasgow).split("2. ")[0] != texts(lambeth).split("2. ")[0]


def test_topic_answers_list_at_most_three_services_and_offer_more(dispatcher, knowledge):
    events = answers.ActionAnswerTopic().run(
        dispatcher, make_tracker(text="who can help with money worries", intent="ask_financial_support",
                                 slots={"nation": "england"}), DOMAIN)
    said = texts(dispatcher)
    assert "1. " in said and "3. " in said and "4. " not in said
    assert "/more_services" in [b["payload"] for b in buttons(dispatcher)]
    assert slot(events, "service_search")["intent"] == "ask_financial_support"


def test_show_more_pages_through_the_last_search(dispatcher, knowledge):
    tracker = make_tracker(text="show me more", intent="more_services", slots={
        "nation": "england", "service_search": {"intent": "ask_financial_support", "text": None, "offset": 0}})
    events = answers.ActionFindServices().run(dispatcher, tracker, DOMAIN)
    said = texts(dispatcher)
    assert knowledge.say("services_more_intro") in said and "4. " in said
    assert slot(events, "service_search")["offset"] == 3


def test_show_more_at_the_end_says_so(dispatcher, knowledge):
    tracker = make_tracker(text="more", intent="more_services", slots={
        "nation": "england", "service_search": {"intent": "ask_financial_support", "text": None, "offset": 300}})
    events = answers.ActionFindServices().run(dispatcher, tracker, DOMAIN)
    assert knowledge.say("services_no_more") in texts(dispatcher)
    assert slot(events, "service_search")["offset"] == 300  # the search is kept, nothing lost


def test_carers_are_shown_services_for_carers(dispatcher, knowledge):
    answers.ActionAnswerTopic().run(
        dispatcher, make_tracker(text="i look after my mum", intent="ask_carer_support",
                                 slots={"nation": "wales", "role": "carer"}), DOMAIN)
    assert "for carers" in texts(dispatcher)




def test_an_unknown_postcode_is_said_plainly_and_the_search_keeps_waiting(dispatcher, knowledge):
    tracker = make_tracker(text="QQ1 2AB", intent="inform", slots={
        "pending_topic": "find_local_service", "pending_search": {"intent": "find_local_service", "text": None}})
    events = answers.ActionHandleInform().run(dispatcher, tracker, DOMAIN)
    assert knowledge.say("services_unknown_postcode") in texts(dispatcher)
    assert '/inform{"nation":"wales"}' in [b["payload"] for b in buttons(dispatcher)]
    assert not [e for e in events if e.get("name") in ("pending_topic", "pending_search", "postcode")]


def test_words_that_name_no_need_still_get_the_local_services(dispatcher, knowledge):
    events = answers.ActionAnswerTopic().run(
        dispatcher, make_tracker(text="purple elephant sanctuary near G12", intent="find_local_service"), DOMAIN)
    said = texts(dispatcher)
    assert "1. " in said  # words that name no need fall back to the local services for the question


def test_an_empty_result_says_so_and_gives_a_helpline(dispatcher, knowledge):
    tracker = make_tracker(text="", intent="find_local_service", slots={"nation": "wales"})
    events = answers.show_services(dispatcher, tracker, answers.finder.Ask("medical_question"), "wales", None,
                                   say_if_none=True)
    said = texts(dispatcher)
    assert said == knowledge.say("services_none") and "0808 808 00 00" in said
    assert SlotSet("service_search", None) in events
