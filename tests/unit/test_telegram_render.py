"""Rasa replies as Telegram sendMessage parameters: plain text, split under 4,096, short callback data."""
from __future__ import annotations

from signposting.telegram_render import (MAX_TEXT, PayloadStore, render_telegram, split_text,
                                         telegram_length)


def test_plain_text_is_sent_unchanged_without_parse_mode():
    text = "<b>Not bold</b> & *not markdown* _either_ [link](http://x) 👋 مرحبا بك שלום"
    assert render_telegram([{"text": text}], PayloadStore()) == [{"text": text}]


def test_buttons_become_one_per_row_inline_keyboard_on_the_reply():
    replies = [{"text": "Where do you live?", "buttons": [
        {"title": "England", "payload": '/inform{"nation":"england"}'},
        {"title": "Cymru 🏴󠁧󠁢󠁷󠁬󠁳󠁿", "payload": '/inform{"nation":"wales"}'}]}, {"text": "Second reply"}]
    assert render_telegram(replies, PayloadStore()) == [
        {"text": "Where do you live?", "reply_markup": {"inline_keyboard": [
            [{"text": "England", "callback_data": '/inform{"nation":"england"}'}],
            [{"text": "Cymru 🏴󠁧󠁢󠁷󠁬󠁳󠁿", "callback_data": '/inform{"nation":"wales"}'}]]}},
        {"text": "Second reply"},
    ]


def test_long_payloads_are_replaced_by_a_short_id_and_resolved_back():
    store = PayloadStore()
    long_payload = '/inform{"choice":"attendance_allowance","nation":"northern_ireland","x":"yyyyyy"}'
    multibyte = "/inform" + "é" * 30  # 37 characters but 67 bytes
    exactly_64 = "/" + "a" * 63
    out = render_telegram([{"text": "Pick", "buttons": [
        {"title": "Long", "payload": long_payload}, {"title": "Accents", "payload": multibyte},
        {"title": "Fits", "payload": exactly_64}]}], store)
    rows = out[0]["reply_markup"]["inline_keyboard"]
    data = [row[0]["callback_data"] for row in rows]
    assert all(len(d.encode("utf-8")) <= 64 for d in data)
    assert data[0].startswith("p:") and len(data[0]) == 18 and data[1].startswith("p:")
    assert data[2] == exactly_64
    assert store.resolve(data[0]) == long_payload and store.resolve(data[1]) == multibyte
    assert store.resolve(exactly_64) == exactly_64
    assert store.resolve("p:deadbeefdeadbeef") is None  # an id it never issued (or forgot)


def test_a_short_payload_that_looks_like_an_id_is_stored_too():
    store = PayloadStore()
    lookalike = "p:0123456789abcdef"
    data = render_telegram([{"text": "x", "buttons": [{"title": "t", "payload": lookalike}]}],
                           store)[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert data != lookalike and store.resolve(data) == lookalike


def test_the_store_is_bounded():
    store = PayloadStore(capacity=2)
    ids = [store.put(f"/payload-{n}-" + "x" * 80) for n in range(3)]
    assert len(store) == 2 and store.resolve(ids[0]) is None and store.resolve(ids[2]).startswith("/payload-2-")


def test_long_text_splits_at_paragraphs_with_buttons_on_the_last_part():
    paragraphs = [f"Paragraph {n}. " + "Some helpful words about support. " * 20 for n in range(20)]
    text = "\n\n".join(p.strip() for p in paragraphs)
    assert len(text) > 2 * MAX_TEXT
    out = render_telegram([{"text": text, "buttons": [{"title": "More", "payload": "/more_services"}]}],
                          PayloadStore())
    assert len(out) >= 3 and all(len(m["text"]) <= MAX_TEXT for m in out)
    assert all(m["text"].startswith("Paragraph ") and m["text"].endswith("support.") for m in out)
    assert "\n\n".join(m["text"] for m in out) == text
    assert [("reply_markup" in m) for m in out] == [False] * (len(out) - 1) + [True]


def test_one_huge_paragraph_splits_at_sentences_then_words():
    sentences = "This sentence is about benefits and money. " * 300
    parts = split_text(sentences.strip())
    assert len(parts) > 1 and all(len(p) <= MAX_TEXT and p.endswith(".") for p in parts)
    words = ("word " * 2000).strip()
    parts = split_text(words)
    assert all(len(p) <= MAX_TEXT for p in parts) and " ".join(parts) == words


def test_an_unbroken_run_of_emoji_is_cut_between_code_points():
    text = "👋" * 3000 + "مرحبا"  # 6,000 UTF-16 units of emoji
    parts = split_text(text)
    assert len(parts) == 2 and all(telegram_length(p) <= MAX_TEXT for p in parts)
    assert "".join(parts) == text


def test_buttons_without_text_still_send_something_and_empty_replies_send_nothing():
    out = render_telegram([{"buttons": [{"title": "Yes", "payload": "/affirm"}]}, {"text": ""}, {}], PayloadStore())
    assert out == [{"text": "Please choose:",
                    "reply_markup": {"inline_keyboard": [[{"text": "Yes", "callback_data": "/affirm"}]]}}]
