"""Bot replies as text messages: encoding, segments, numbered options, MORE, keywords."""
from __future__ import annotations

import pytest

from signposting import sms
from signposting.sms import is_gsm7, render_sms, resolve_reply, segments_needed

URL = "https://www.macmillan.org.uk/get-help/macmillan-support-line"
BUTTONS = [{"title": "Money worries", "payload": "/ask_financial_support"},
           {"title": "Talk to a person", "payload": "/request_human"},
           {"title": "Start again", "payload": "/start_again"}]


def _one_segment(body: str) -> bool:
    limit = 160 if is_gsm7(body) else 70
    units = sum(2 if c in sms.GSM7_EXTENSION else 1 for c in body) if is_gsm7(body) \
        else len(body.encode("utf-16-le")) // 2
    return units <= limit


def test_gsm7_and_segments():
    assert is_gsm7("Hello £5 @ home, café à Noel? {ok} €")
    assert not is_gsm7("Noël")  # ë is not in the GSM alphabet
    assert not is_gsm7("Hi 👋") and not is_gsm7("مرحبا") and not is_gsm7("it’s")  # curly quote is UCS-2
    assert segments_needed("") == 1 and segments_needed("x" * 160) == 1 and segments_needed("x" * 161) == 2
    assert segments_needed("x" * 306) == 2 and segments_needed("x" * 307) == 3
    assert segments_needed("€" * 80) == 1 and segments_needed("€" * 81) == 2  # extension characters cost two
    assert segments_needed("ب" * 70) == 1 and segments_needed("ب" * 71) == 2
    assert segments_needed("😀" * 35) == 1 and segments_needed("😀" * 36) == 2  # emoji are two UTF-16 units


def test_short_reply_with_buttons_becomes_numbered_options():
    bodies, options, rest = render_sms([{"text": "What would help?", "buttons": BUTTONS[:2]}])
    assert bodies == ["What would help?\nReply 1 for Money worries\nReply 2 for Talk to a person"]
    assert options == [{**b, "reply": str(n)} for n, b in enumerate(BUTTONS[:2], start=1)] and rest is None


def test_options_are_numbered_across_replies():
    _, options, _ = render_sms([{"text": "A", "buttons": BUTTONS[:1]}, {"text": "B", "buttons": BUTTONS[1:]}])
    assert [o["payload"] for o in options] == [b["payload"] for b in BUTTONS]


def test_long_text_splits_at_sentences_into_at_most_three_with_more():
    sentences = [f"This is sentence number {n} about getting support." for n in range(1, 30)]
    bodies, _, rest = render_sms([{"text": " ".join(sentences)}])
    assert len(bodies) == 3 and all(_one_segment(b) for b in bodies)
    assert bodies[-1].endswith("Reply MORE for the rest.") and rest
    for body in bodies:  # every message holds whole sentences
        assert body.replace("\nReply MORE for the rest.", "").endswith(".")
    sent = " ".join(b.replace("\nReply MORE for the rest.", "") for b in bodies)
    assert sent + " " + rest == " ".join(sentences)  # nothing lost, nothing doubled
    more, _, rest2 = render_sms([{"text": rest}])
    assert more[0].startswith(sentences[len(sent.split(". "))]) and all(_one_segment(b) for b in more)
    assert rest2 is not None  # 29 sentences need more than two screens


def test_urls_are_never_split():
    text = ("Please read this. " * 7) + f"More at {URL} today." + (" And more words here." * 10)
    for max_segments in (1, 2, 3, 5):
        bodies, _, rest = render_sms([{"text": text}], max_segments=max_segments)
        assert any(URL in b for b in bodies) or URL in (rest or "")
        for part in [*bodies, rest or ""]:
            assert "https://" not in part or URL in part  # the URL is whole wherever it lands
        assert all(_one_segment(b) for b in bodies)


def test_unicode_text_uses_ucs2_size():
    text = "مرحبا، كيف يمكنني مساعدتك اليوم؟ " * 6 + "😀 " * 20
    bodies, _, rest = render_sms([{"text": text}])
    assert all(_one_segment(b) for b in bodies)
    assert any(not is_gsm7(b) and len(b) > 40 for b in bodies)
    assert all(len(b.encode("utf-16-le")) // 2 <= 70 for b in bodies if not is_gsm7(b))


def test_a_huge_unbroken_word_is_cut_and_nothing_is_lost():
    bodies, _, rest = render_sms([{"text": "x" * 20000}])
    assert len(bodies) == 3 and all(_one_segment(b) for b in bodies)
    assert "".join(b.replace("\nReply MORE for the rest.", "") for b in bodies) + rest == "x" * 20000


def test_empty_and_image_replies():
    assert render_sms([]) == ([], [], None)
    bodies, _, _ = render_sms([{"image": "https://example.org/a.png"}])
    assert bodies == ["https://example.org/a.png"]


@pytest.mark.parametrize("text,expected", [
    ("1", "/ask_financial_support"), ("2", "/request_human"), (" 2 ", "/request_human"),
    ("2.", "/request_human"), ("two", "/request_human"), ("Three", "/start_again"),
    ("4", "4"), ("0", "0"), ("2 please call me", "2 please call me"), ("money", "money"), ("", ""),
])
def test_resolve_reply(text, expected):
    assert resolve_reply(text, BUTTONS) == expected


def test_resolve_reply_without_options_passes_through():
    assert resolve_reply("1", []) == "1"


SCORES = [{"title": str(n), "payload": f'/inform{{"score":"{n}"}}'} for n in range(11)] + [
    {"title": "Skip", "payload": "/skip_question"}]


def test_score_buttons_are_answered_by_the_score_itself_not_by_position():
    bodies, options, _ = render_sms([{"text": "(1 of 5) How much? 0 means none, 10 a great deal.", "buttons": SCORES}])
    assert bodies == ["(1 of 5) How much? 0 means none, 10 a great deal.\nReply a number from 0 to 10\nReply 11 for Skip"]
    assert resolve_reply("6", options) == '/inform{"score":"6"}' and resolve_reply("0", options) == '/inform{"score":"0"}'
    assert resolve_reply("ten", options) == '/inform{"score":"10"}' and resolve_reply("11", options) == "/skip_question"
    assert resolve_reply("12", options) == "12"
    assert resolve_reply("skip", options) == "skip"  # words stay words, as on every other channel


def test_other_buttons_in_the_same_turn_never_share_a_number_with_a_score():
    _, options, _ = render_sms([{"text": "Call Samaritans on 116 123.", "buttons": [
        {"title": "Talk to a person", "payload": "/request_human"}]}, {"text": "(2 of 5) How much?", "buttons": SCORES}])
    replies = [o["reply"] for o in options]
    assert len(set(replies)) == len(replies)
    assert resolve_reply("1", options) == '/inform{"score":"1"}' and resolve_reply("11", options) == "/request_human"
    assert resolve_reply("talk to a person", options) == "talk to a person"


def test_options_remembered_without_their_numbers_still_work_by_position():
    assert resolve_reply("2", BUTTONS) == "/request_human"


def test_keywords(knowledge):
    assert sms.keyword("STOP") == "stop" and sms.keyword(" unsubscribe ") == "stop"
    assert sms.keyword("Start") == "start" and sms.keyword("help") == "help" and sms.keyword("MORE") == "more"
    assert sms.keyword("stop worrying about money") is None
    help_text = sms.help_text()
    assert knowledge.helplines["macmillan_support_line"]["phone"] in help_text and "STOP" in help_text


def test_one_word_numbers_and_digits_pick_the_same_option():
    for reply in ("1", "one", "One.", "#1", "option 1", "number one"):
        assert resolve_reply(reply, BUTTONS) == "/ask_financial_support", reply


def test_what_the_channels_say_about_a_message_has_defaults():
    assert "only read text" in sms.media_text() and sms.empty_text() and sms.trimmed_text()
    assert "START" in sms.stopped_text()
    for text in (sms.media_text(), sms.empty_text(), sms.trimmed_text(), sms.stopped_text()):
        assert all(_one_segment(b) for b in render_sms([{"text": text}])[0])  # each fits in SMS segments


def test_editors_can_reword_what_the_channels_say(knowledge_copy, monkeypatch):
    wording = knowledge_copy / "wording.yml"
    text = wording.read_text()
    line = next(x for x in text.splitlines() if x.startswith("  channel_only_text:"))
    wording.write_text(text.replace(line, "  channel_only_text: I can only read words, sorry. Please type your question."))
    monkeypatch.setenv("SIGNPOST_KNOWLEDGE_DIR", str(knowledge_copy))
    assert sms.media_text() == "I can only read words, sorry. Please type your question."


def test_a_crisis_answer_is_sent_whole_and_only_what_follows_waits_for_more():
    from signposting import safety

    crisis = safety.crisis_reply("suicide_self_harm", "england")
    question = {"text": "How old are you? A rough age is fine.", "buttons": [
        {"title": "Under 16", "payload": "/a"}, {"title": "16 to 65", "payload": "/b"}]}
    replies = [{"text": crisis, "buttons": [{"title": "Talk to a person", "payload": "/request_human"}]}, question]
    capped, _, _ = render_sms(replies)
    whole, options, rest = render_sms(replies, keep_whole=1)
    assert len(capped) == 3
    sent = " ".join(b.replace("\n" + sms.MORE_SUFFIX, "") for b in whole)
    assert "116 123" in sent and "999" in sent and all(_one_segment(b) for b in whole)
    assert " ".join(crisis.split()) in " ".join(sent.split())  # every word of the crisis answer, now
    assert 3 < len(whole) <= sms.CRISIS_MAX_SEGMENTS
    assert render_sms([{"text": "Short."}], keep_whole=1)[0] == ["Short."]


def test_a_numbered_list_keeps_each_number_with_its_item():
    text = "Services that could help:\n\n" + "\n\n".join(
        f"{n}. Service number {n}: 0141 000 000{n} (9am to 5pm, Monday to Friday)\nWhy: local to you; open now."
        for n in range(1, 4))
    bodies, _, rest = render_sms([{"text": text}], max_segments=10)
    assert rest is None and all(_one_segment(b) for b in bodies)
    for n in range(1, 4):
        assert any(f"{n}. Service number {n}:" in b for b in bodies)
    assert not any(b.rstrip().endswith(("1.", "2.", "3.")) for b in bodies)
