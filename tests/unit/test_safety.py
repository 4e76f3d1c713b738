"""Tests for the deterministic crisis screen (signposting/safety.py).

No Rasa: the screen is spaCy's Matcher and PhraseMatcher over a blank English pipeline,
compiled from knowledge/safety/patterns.yml. Message data lives in
tests/data/safety_messages.yml; crisis answers in knowledge/safety/crisis.yml.
"""

from __future__ import annotations

import copy
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from signposting.safety import (
    DEFAULT_CRISIS_PATH,
    DEFAULT_PATTERNS_PATH,
    NATIONS,
    CrisisKind,
    SafetyScreen,
    ScreenResult,
    crisis_reply,
    load_screen,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = yaml.safe_load((ROOT / "tests" / "data" / "safety_messages.yml").read_text(encoding="utf-8"))
MAIN_CRISIS: list[dict[str, str]] = DATA["crisis"]
MAIN_LOOKALIKE: list[dict[str, str]] = DATA["lookalike"]
HELD_CRISIS: list[dict[str, str]] = DATA["held_out"]["crisis"]
HELD_LOOKALIKE: list[dict[str, str]] = DATA["held_out"]["lookalike"]
ALL_CRISIS = MAIN_CRISIS + HELD_CRISIS
ALL_LOOKALIKE = MAIN_LOOKALIKE + HELD_LOOKALIKE
MAX_FALSE_ALARM_RATE = 0.05


@pytest.fixture(scope="module")
def screen() -> SafetyScreen:
    return load_screen()


@pytest.fixture(scope="module")
def patterns_data() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT_PATTERNS_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def crisis_data() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT_CRISIS_PATH.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------
# The test data itself
# --------------------------------------------------------------------------------------


def test_message_set_is_big_enough_and_well_formed() -> None:
    assert len(ALL_CRISIS) >= 160
    assert len(ALL_LOOKALIKE) >= 160
    assert len(HELD_CRISIS) >= 30 and len(HELD_LOOKALIKE) >= 30
    kinds = {k.value for k in CrisisKind}
    assert all(m["kind"] in kinds for m in ALL_CRISIS)
    assert {m["kind"] for m in ALL_CRISIS} == kinds, "every kind needs examples"
    assert all(m.get("tag") for m in ALL_LOOKALIKE)
    texts = [m["text"] for m in ALL_CRISIS + ALL_LOOKALIKE]
    assert len(texts) == len(set(texts)), "duplicate messages"
    buried = [m for m in ALL_CRISIS if len(m["text"].split()) >= 20]
    assert len(buried) >= 25, "crisis statements inside long messages about something else"


# --------------------------------------------------------------------------------------
# Recall, kind and false alarms over the message set
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("message", ALL_CRISIS, ids=[f"crisis-{i:03d}" for i in range(len(ALL_CRISIS))])
def test_every_crisis_message_fires_with_the_right_kind(screen: SafetyScreen, message: dict[str, str]) -> None:
    result = screen.screen(message["text"])
    assert result is not None, f"missed: {message['text']!r}\nnormalised: {screen.normalise(message['text'])!r}"
    assert result.kind.value == message["kind"], f"{message['text']!r} -> {result}"


def _false_alarms(screen: SafetyScreen, messages: list[dict[str, str]]) -> list[tuple[str, ScreenResult]]:
    return [(m["text"], r) for m in messages if (r := screen.screen(m["text"])) is not None]


@pytest.mark.parametrize(
    "part, messages", [("main", MAIN_LOOKALIKE), ("held_out", HELD_LOOKALIKE), ("all", ALL_LOOKALIKE)]
)
def test_false_alarm_rate_on_lookalikes(screen: SafetyScreen, part: str, messages: list[dict[str, str]]) -> None:
    alarms = _false_alarms(screen, messages)
    rate = len(alarms) / len(messages)
    detail = "\n".join(f"  {r.kind.value} {r.matched!r}: {t}" for t, r in alarms)
    assert rate <= MAX_FALSE_ALARM_RATE, f"{part}: {len(alarms)}/{len(messages)} false alarms\n{detail}"


# --------------------------------------------------------------------------------------
# Behaviour named in the brief
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I'm not suicidal",
        "I'd never hurt myself",
        "no thoughts of ending my life",
        "I'm not in any danger",
        "I'm not suicidal just tired",
        "I am not depressed or suicidal",
        "I would never kill myself",
        "I'm no longer feeling suicidal",
        "i dont want to die",
        "my husband isn't violent",
        "he'd never hurt me",
        "nurse said no fever, chemo going well",
    ],
)
def test_negations_do_not_fire(screen: SafetyScreen, text: str) -> None:
    assert screen.screen(text) is None, screen.screen(text)


@pytest.mark.parametrize(
    "text, kind",
    [
        ("I'm not sure I want to live anymore", CrisisKind.SUICIDE_SELF_HARM),
        ("I'm not coping and I want to die", CrisisKind.SUICIDE_SELF_HARM),
        ("I couldn't stop thinking about killing myself", CrisisKind.SUICIDE_SELF_HARM),
        ("can't stop thinking about ending my life", CrisisKind.SUICIDE_SELF_HARM),
        ("I'm not suicidal but I want to end it all", CrisisKind.SUICIDE_SELF_HARM),
        ("my husband says he wants to kill himself", CrisisKind.SUICIDE_SELF_HARM),
        ("I don't feel safe at home", CrisisKind.HARM_FROM_OTHERS),
    ],
)
def test_negation_of_something_else_still_fires(screen: SafetyScreen, text: str, kind: CrisisKind) -> None:
    result = screen.screen(text)
    assert result is not None and result.kind is kind, result


@pytest.mark.parametrize(
    "text",
    [
        "this is killing me financially",
        "dying to know",
        "the bills are killing us",
        "I could kill for a cuppa",
        "dead tired",
        "my phone died",
        "I'd kill to get a parking space",
        "bored to death",
        "temperature in the house is 38 degrees",
        "my mum died of cancer last year",
        "end of life care",
        "he is dying and we want a hospice",
        "how do I support my husband who has depression",
        "is hair loss normal after chemo",
        "killing myself laughing at this show",
    ],
)
def test_lookalikes_named_in_the_brief_do_not_fire(screen: SafetyScreen, text: str) -> None:
    assert screen.screen(text) is None, screen.screen(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("on chemo, temp 38c", True),
        ("on chemo, 38.2 degrees", True),
        ("on chemo and my temperature is 37,8", True),
        ("on chemo and my temperature is 37.5", True),  # the threshold itself counts
        ("on chemo and my temperature is 37.4", False),
        ("on chemo and my temperature is 36.0", False),
        ("on chemo and my temperature is 35.9", True),  # too low is a red flag too
        ("on chemo, 101F", True),
        ("on chemo, 99.5 f", True),
        ("on chemo, temperature 99.4 fahrenheit", False),
        ("on chemo, 38.3°C", True),
        ("temperature 38.5, no chemo or any cancer treatment", False),
        ("temperature 38.5 and I'm not on any treatment", False),
        ("it's 38 degrees outside and I'm on chemo", False),
        ("I'm 38 and on chemo", False),
        ("I work 37.5 hours a week and I'm on chemo", False),
        ("parking at chemo costs £38.50", False),
        ("my temperature is 38.1 and I'm neutropenic", True),
        ("had treatment last week and my temp is 38", True),
        ("had immunotherapy on Friday, feeling shivery", True),
        ("radiotherapy last week and feel really unwell", True),
        ("I've got a temperature of 38.4", False),  # no treatment context
    ],
)
def test_temperature_and_treatment_context(screen: SafetyScreen, text: str, expected: bool) -> None:
    result = screen.screen(text)
    if expected:
        assert result is not None and result.kind is CrisisKind.TREATMENT_RED_FLAG, result
    else:
        assert result is None, result


def test_result_says_what_matched(screen: SafetyScreen) -> None:
    result = screen.screen("honestly I wanna kil myself")
    assert result == ScreenResult(CrisisKind.SUICIDE_SELF_HARM, "kil myself")  # the user's words, normalised
    red = screen.screen("on kemo, 38.2 degrees")
    assert red is not None and "38.2" in red.matched and "chemo" in red.matched


def test_normalisation(screen: SafetyScreen) -> None:
    assert screen.normalise("Sooooo TIRED") == "soo tired"
    assert screen.normalise("I’m ok, don't worry") == "i am ok , do not worry"
    assert screen.normalise("im gonna") == "i am going to"
    assert screen.normalise("Chemotherapy at the café") == "chemo at the cafe"
    assert screen.normalise("temp 37,8") == "temperature 37.8"
    assert screen.normalise("Mum's carer") == "mum carer"


@pytest.mark.parametrize("text", ["", "   ", "😀😀", "?!", "\n\t", "a" * 20000, "38.5" * 50, "((((|||"])
def test_odd_input_never_raises(screen: SafetyScreen, text: str) -> None:
    screen.screen(text)


def test_default_screen_is_cached() -> None:
    assert load_screen() is load_screen()
    assert load_screen(DEFAULT_PATTERNS_PATH) is not load_screen()


def test_screen_is_fast(screen: SafetyScreen) -> None:
    texts = [m["text"] for m in ALL_CRISIS + ALL_LOOKALIKE]
    times = []
    for text in texts:
        start = time.perf_counter()
        screen.screen(text)
        times.append(time.perf_counter() - start)
    assert statistics.mean(times) < 0.002, f"mean {statistics.mean(times) * 1e6:.0f} us"


def test_import_pulls_in_no_rasa_and_screening_pulls_in_spacy_but_not_tensorflow() -> None:
    """The core stays free of Rasa; spaCy loads when a screen is first built (crisis replies need
    none), and TensorFlow, which spaCy's ML layer would otherwise drag in, never loads."""
    code = (
        "import sys; import signposting.safety as s; "
        "s.crisis_reply('suicide_self_harm', 'wales'); "
        "assert not [m for m in ('rasa', 'spacy', 'tensorflow') if m in sys.modules]; "
        "assert s.load_screen().screen('I want to end it all').kind is s.CrisisKind.SUICIDE_SELF_HARM; "
        "assert 'spacy' in sys.modules; "
        "bad = [m for m in ('rasa', 'tensorflow') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# --------------------------------------------------------------------------------------
# The engine is spaCy's Matcher, driven by patterns.yml
# --------------------------------------------------------------------------------------


def test_the_matches_come_from_spacys_matcher(screen: SafetyScreen) -> None:
    from spacy.matcher import Matcher, PhraseMatcher
    from spacy.tokens import Doc

    phrase_matcher, *matchers = screen.spacy_matchers
    assert isinstance(phrase_matcher, PhraseMatcher) and len(phrase_matcher) > 100
    assert matchers and all(isinstance(m, Matcher) for m in matchers)
    doc = screen.spacy_doc("honestly I wanna killl myself!!")
    assert isinstance(doc, Doc)
    # "kill* @self", the first suicide phrase in patterns.yml, compiled into a Matcher, finds it
    found = {(doc.vocab.strings[match_id], doc[start:end].text) for m in matchers for match_id, start, end in m(doc)}
    assert ("kinds.suicide_self_harm[0]", "kill myself") in found
    assert screen.matches("honestly I wanna killl myself!!") == {"kinds.suicide_self_harm[0]": ["kill myself"]}


def _with_phrase(patterns_data: dict[str, Any], phrase: str) -> SafetyScreen:
    """A screen whose medical_emergency list is just ``phrase`` (and the real everything else)."""
    data = copy.deepcopy(patterns_data)
    data["kinds"]["medical_emergency"] = [phrase]
    return SafetyScreen(data, "test patterns")


@pytest.mark.parametrize(
    "phrase, fires, silent",
    [
        ("wobbl* legs", ["his wobbly legs", "wobbling legs", "wobble legs"], ["wibbly legs", "legs wobbly"]),  # prefix
        ("legs ... gave way", ["legs gave way", "her legs just suddenly gave way"],
         ["legs, then it gave way", "legs never gave way", "legs one two three four five gave way"]),  # gap
        ("(very )?pale lips", ["very pale lips", "pale lips"], ["very pale"]),  # optional word
        ("(went|gone) (grey|a funny colour)", ["he went grey", "gone a funny colour"], ["gone a funny"]),
        ("collapsed $", ["he collapsed.", "he collapsed", "he collapsed! help"], ["he collapsed yesterday"]),  # end
        ("@relative fainted", ["my nan fainted", "grandad fainted"], ["the bus driver fainted"]),  # word list
        ("pulse of # bpm", ["pulse of 150 bpm", "pulse of 38.5 bpm"], ["pulse of many bpm"]),  # number
        ("fitting again", ["she is fiting agaiin", "FITTING AGAIN"], ["fitted again"]),  # doubled letters
    ],
)
def test_each_part_of_the_phrase_language_drives_the_matcher(
    patterns_data: dict[str, Any], phrase: str, fires: list[str], silent: list[str]
) -> None:
    screen = _with_phrase(patterns_data, phrase)
    for text in fires:
        result = screen.screen(text)
        assert result is not None and result.kind is CrisisKind.MEDICAL_EMERGENCY, (phrase, text, result)
    for text in silent:
        assert screen.screen(text) is None, (phrase, text, screen.matches(text))


def test_a_phrase_added_to_patterns_yml_fires_and_respects_exclusions_and_negation(
    patterns_data: dict[str, Any],
) -> None:
    text = "my dad's knees look mottled and he is so cold"
    assert load_screen().screen(text) is None
    screen = _with_phrase(patterns_data, "(knees|legs|skin) ... mottl*")
    assert screen.screen(text) == ScreenResult(CrisisKind.MEDICAL_EMERGENCY, "knees look mottled")
    assert screen.screen("his knees are not mottled") is None  # a gap never swallows "not"
    assert screen.screen("no, his skin is not mottled") is None
    data = copy.deepcopy(patterns_data)
    data["kinds"]["medical_emergency"] = ["(knees|legs|skin) ... mottl*"]
    data["exclusions"].append("mottled (effect|paint|glass)")
    assert SafetyScreen(data, "test").screen("the skin of the vase has a mottled effect") is None


def test_a_phrase_that_cannot_follow_the_end_of_a_sentence_is_refused(patterns_data: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"'kinds.medical_emergency\[0\]'.*nothing can follow '\$'"):
        _with_phrase(patterns_data, "collapsed $ again")


def test_the_same_file_is_compiled_once_and_an_edit_is_compiled_again(tmp_path: Path) -> None:
    copy_path = tmp_path / "patterns.yml"
    copy_path.write_bytes(DEFAULT_PATTERNS_PATH.read_bytes())
    first, second = load_screen(copy_path), load_screen(copy_path)
    assert first is not second and first.spacy_matchers[0] is second.spacy_matchers[0]  # compiled once
    assert first.screen("my knees look mottled") is None
    text = copy_path.read_text(encoding="utf-8").replace("    - unresponsive\n", "    - unresponsive\n    - mottl*\n")
    copy_path.write_text(text, encoding="utf-8")
    edited = load_screen(copy_path)
    assert edited.spacy_matchers[0] is not first.spacy_matchers[0]
    assert edited.screen("my knees look mottled") == ScreenResult(CrisisKind.MEDICAL_EMERGENCY, "mottled")
    copy_path.write_text(text.replace("    - mottl*\n", "    - (mottl*\n"), encoding="utf-8")
    for _ in range(2):  # a broken file is never cached: it is reported every time
        with pytest.raises(ValueError, match=re.escape(str(copy_path))):
            load_screen(copy_path)


def test_a_broken_patterns_edit_keeps_the_last_good_knowledge(knowledge_copy: Path) -> None:
    from signposting import knowledge as kb

    store = kb.KnowledgeStore(knowledge_copy)
    good = store.get()
    patterns = knowledge_copy / "safety" / "patterns.yml"
    text = patterns.read_text(encoding="utf-8")
    patterns.write_text(text.replace("    - suicidal\n", "    - (suicidal\n", 1), encoding="utf-8")
    assert store.get() is good
    assert store.last_error is not None and "kinds.suicide_self_harm[1]" in str(store.last_error)
    patterns.write_text(text, encoding="utf-8")
    assert store.get() is not good and store.last_error is None


def test_screening_from_many_threads_gives_the_same_answers(screen: SafetyScreen) -> None:
    texts = [m["text"] for m in ALL_CRISIS + ALL_LOOKALIKE]
    expected = [screen.screen(t) for t in texts]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(screen.screen, texts * 3))
    assert results == expected * 3


def test_a_long_running_screen_starts_a_fresh_vocabulary(
    patterns_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """spaCy's vocabulary keeps every word it has seen; the screen replaces it before it grows too big."""
    import signposting.safety as safety

    screen = SafetyScreen(patterns_data, "test")
    start = screen.spacy_doc("").vocab
    monkeypatch.setattr(safety, "_VOCAB_LIMIT", len(start.strings) + 200)
    for i in range(400):
        assert screen.screen(f"word{i}x unusual{i}y") is None
    assert screen.spacy_doc("").vocab is not start
    assert len(screen.spacy_doc("").vocab.strings) <= len(start.strings) + 200 + 10
    assert screen.screen("I want to kill myself").kind is CrisisKind.SUICIDE_SELF_HARM


# --------------------------------------------------------------------------------------
# Crisis replies
# --------------------------------------------------------------------------------------


def _mh_lines(crisis_data: dict[str, Any]) -> dict[str, str]:
    """nation -> its mental-health crisis line as rendered ("call NHS 111 and choose option 2")."""
    return {
        n["nations"][0]: n["say"].replace("{number}", n["number"])
        for n in crisis_data["numbers"]
        if n.get("group") == "mental_health_crisis"
    }


def _da_numbers(crisis_data: dict[str, Any]) -> dict[str, str]:
    return {n["nations"][0]: n["number"] for n in crisis_data["numbers"] if n.get("group") == "domestic_abuse"}


@pytest.mark.parametrize("nation", NATIONS)
def test_suicide_reply_has_the_nations_line_and_no_other(crisis_data: dict[str, Any], nation: str) -> None:
    reply = crisis_reply(CrisisKind.SUICIDE_SELF_HARM, nation)
    lines = _mh_lines(crisis_data)
    assert set(lines) == set(NATIONS)
    assert lines[nation] in reply
    for other, line in lines.items():
        if other != nation:
            assert line not in reply, f"{nation} reply mentions {other}'s line"
    for needed in ("999", "116 123", "85258"):
        assert needed in reply


def test_expected_crisis_numbers(crisis_data: dict[str, Any]) -> None:
    lines = _mh_lines(crisis_data)
    assert "111" in lines["england"] and "option 2" in lines["england"]
    assert "NHS 24" in lines["scotland"] and "111" in lines["scotland"]
    assert "111" in lines["wales"] and "press 2" in lines["wales"]
    assert "0808 808 8000" in lines["northern_ireland"]
    assert _da_numbers(crisis_data) == {
        "england": "0808 2000 247",
        "scotland": "0800 027 1234",
        "wales": "0808 80 10 800",
        "northern_ireland": "0808 802 1414",
    }


@pytest.mark.parametrize("nation", NATIONS)
def test_harm_reply_has_the_nations_helpline_and_no_other(crisis_data: dict[str, Any], nation: str) -> None:
    reply = crisis_reply(CrisisKind.HARM_FROM_OTHERS, nation)
    numbers = _da_numbers(crisis_data)
    assert "999" in reply and numbers[nation] in reply
    assert all(num not in reply for other, num in numbers.items() if other != nation)


@pytest.mark.parametrize("nation", [None, "atlantis", "", "uk"])
def test_unknown_nation_lists_every_nation_briefly(crisis_data: dict[str, Any], nation: str | None) -> None:
    reply = crisis_reply(CrisisKind.SUICIDE_SELF_HARM, nation)
    assert all(line in reply for line in _mh_lines(crisis_data).values())
    harm = crisis_reply(CrisisKind.HARM_FROM_OTHERS, nation)
    assert all(num in harm for num in _da_numbers(crisis_data).values())


def test_nation_spellings_are_forgiving(crisis_data: dict[str, Any]) -> None:
    ni = _mh_lines(crisis_data)["northern_ireland"]
    for nation in ("Northern Ireland", "northern-ireland", "NI", " northern_ireland "):
        reply = crisis_reply("suicide_self_harm", nation)
        assert ni in reply and _mh_lines(crisis_data)["england"] not in reply


def test_medical_and_red_flag_replies() -> None:
    assert "999" in crisis_reply(CrisisKind.MEDICAL_EMERGENCY, "wales")
    red = crisis_reply(CrisisKind.TREATMENT_RED_FLAG, "scotland")
    assert "24-hour acute oncology (chemotherapy) helpline on your alert card now" in red
    assert "If you can't find it or you feel very unwell, call 999." in red


@pytest.mark.parametrize("kind", list(CrisisKind))
@pytest.mark.parametrize("nation", [*NATIONS, None])
def test_every_reply_is_filled_and_ends_by_inviting_them_to_carry_on(
    crisis_data: dict[str, Any], kind: CrisisKind, nation: str | None
) -> None:
    reply = crisis_reply(kind, nation)
    assert not re.search(r"[{}]", reply), "unfilled placeholder"
    assert reply.endswith(crisis_data["closing"])
    assert "carry on talking" in crisis_data["closing"]
    assert len(reply) < 1200, "crisis replies must stay short"


def test_every_number_is_sourced_and_dated(crisis_data: dict[str, Any]) -> None:
    for item in crisis_data["numbers"]:
        assert set(item) >= {"id", "label", "number", "nations", "hours", "source", "checked", "review_by", "owner"}
        assert item["source"].startswith("https://")
        assert str(item["checked"]) == "2026-11-23" and str(item["review_by"]) == "2027-05-23"
        assert item["owner"] == "clinical-safety"
    # each number appears in exactly one item, and not typed out again in the reply text
    reply_text = " ".join(crisis_data["replies"].values())
    for item in crisis_data["numbers"]:
        if item["number"] != "111":  # several nations' lines share 111
            assert item["number"] not in reply_text, f"{item['id']}: use a placeholder, not the number"


def test_patterns_file_provenance(patterns_data: dict[str, Any]) -> None:
    assert str(patterns_data["checked"]) == "2026-11-23"
    assert str(patterns_data["review_by"]) == "2027-05-23"
    assert patterns_data["owner"] == "clinical-safety"
    assert patterns_data["source"]


# --------------------------------------------------------------------------------------
# Malformed files give a clear error naming the file and the field
# --------------------------------------------------------------------------------------


def _broken(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Copy of ``data`` with the dotted ``path`` set to ``value`` (or deleted when value is ...)."""
    out = copy.deepcopy(data)
    *parents, last = path.split(".")
    node = out
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is ...:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return out


@pytest.mark.parametrize(
    "path, value, field",
    [
        ("kinds", ..., "kinds"),
        ("kinds.harm_from_others", [], "kinds.harm_from_others"),
        ("kinds.harm_from_others", "hits me", "kinds.harm_from_others"),
        ("kinds.self_neglect", ["x"], "kinds"),
        ("kinds.suicide_self_harm.0", "(kill myself", "kinds.suicide_self_harm[0]"),
        ("kinds.suicide_self_harm.1", "kill % myself", "kinds.suicide_self_harm[1]"),
        ("kinds.suicide_self_harm.2", "@no_such_list myself", "kinds.suicide_self_harm[2]"),
        ("kinds.suicide_self_harm.3", {"all": ["one phrase only"]}, "kinds.suicide_self_harm[3]"),
        ("kinds.medical_emergency.0", "(not)?", "kinds.medical_emergency[0]"),
        ("negation.cues", [False], "negation.cues[0]"),  # an unquoted `no` in YAML
        ("spellings.wanna", 3, "spellings.wanna"),
        ("treatment.temperature.high_c", "37.5C", "treatment.temperature.high_c"),
        ("treatment.context", ..., "treatment.context"),
        ("owner", ..., "owner"),
        ("review_by", "2020-01-01", "review_by"),
        ("checked", "23/11/2026", "checked"),
        ("settings.max_gap", 99, "settings.max_gap"),
    ],
)
def test_malformed_patterns_file_names_the_field(
    tmp_path: Path, patterns_data: dict[str, Any], path: str, value: Any, field: str
) -> None:
    bad = tmp_path / "patterns.yml"
    bad.write_text(yaml.safe_dump(_broken(patterns_data, path, value), sort_keys=False), encoding="utf-8")
    with pytest.raises(ValueError) as err:
        load_screen(bad)
    message = str(err.value)
    assert str(bad) in message and f"'{field}" in message, message


def test_patterns_file_that_is_not_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "patterns.yml"
    bad.write_text("kinds: [unclosed\n", encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(str(bad))):
        load_screen(bad)


@pytest.mark.parametrize(
    "path, value, field",
    [
        ("numbers.0.source", ..., "numbers.emergency.source"),
        ("numbers.0.source", "http://example.org", "numbers.emergency.source"),
        ("numbers.1.number", "111 option 2", "numbers.mh_crisis_england.number"),
        ("numbers.1.nations", ["france"], "numbers.mh_crisis_england.nations"),
        ("numbers.1.say", "call 111", "numbers.mh_crisis_england.say"),
        ("numbers.2.review_by", "2020-01-01", "numbers.mh_crisis_scotland.review_by"),
        ("replies.medical_emergency", "Call {ambulance} now.", "replies.medical_emergency"),
        ("replies.harm_from_others", ..., "replies.harm_from_others"),
        ("closing", ..., "closing"),
    ],
)
def test_malformed_crisis_file_names_the_field(
    tmp_path: Path, crisis_data: dict[str, Any], path: str, value: Any, field: str
) -> None:
    bad = tmp_path / "crisis.yml"
    bad.write_text(yaml.safe_dump(_broken(crisis_data, path, value), sort_keys=False), encoding="utf-8")
    with pytest.raises(ValueError) as err:
        crisis_reply(CrisisKind.MEDICAL_EMERGENCY, "england", path=bad)
    message = str(err.value)
    assert str(bad) in message and f"'{field}" in message, message


def test_default_files_are_today_valid() -> None:
    """The shipped files load, and their review dates have not passed on the day they were checked."""
    assert load_screen() is not None
    data = yaml.safe_load(DEFAULT_CRISIS_PATH.read_text(encoding="utf-8"))
    assert date.fromisoformat(str(data["review_by"])) > date.fromisoformat(str(data["checked"]))
