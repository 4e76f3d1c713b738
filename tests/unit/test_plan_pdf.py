"""The plan as a PDF, opened the way a person would: its text read back, its pages drawn as pictures."""
from __future__ import annotations

import shutil
import statistics
import subprocess
from datetime import date
from pathlib import Path
from xml.etree import ElementTree

import pytest

from signposting import plan as P
from signposting import plan_pdf

pytestmark = pytest.mark.skipif(not (shutil.which("pdftotext") and shutil.which("pdftoppm")),
                                reason="needs poppler-utils (pdftotext, pdftoppm): apt-get install poppler-utils")

SLOTS = {
    "role": "carer", "nation": "england", "what_matters": "Keeping Mum at home and not losing my job",
    "score_emotional": 6, "score_practical": "skipped", "score_financial": 9, "score_work": 8,
    "score_carer_wellbeing": 0, "journey_stage": "finished_treatment", "concern_areas": ["physical"],
    "area_scores": {"physical": 5}, "top_concerns": ["physical", "financial"],
    "what_helps": "My sister rings every night", "plan_code": "K7P2Q",
}
UNICODE_WORDS = ("Mum \U0001F499\U0001F622 first. "
                 "\u0623\u0631\u064a\u062f \u0627\u0644\u0645\u0633\u0627\u0639\u062f\u0629 "
                 "\u0928\u092e\u0938\u094d\u0924\u0947 \u2603 \U0001F3F3\uFE0F\u200D\U0001F308 end")


def render(tmp_path: Path, knowledge, slots=SLOTS, name="plan.pdf", **kwargs) -> Path:
    plan = P.build_plan(slots, date(2026, 11, 23), knowledge)
    path = tmp_path / name
    path.write_bytes(plan_pdf.render_pdf(plan, knowledge=knowledge, **kwargs))
    return path


def text_of(path: Path, *args: str) -> str:
    result = subprocess.run(["pdftotext", *args, str(path), "-"], capture_output=True, text=True, check=True)
    return result.stdout


def pages(path: Path) -> int:
    return text_of(path).count("\f")


def flat(text: str) -> str:
    return " ".join(text.split())


def word_heights(path: Path) -> list[float]:
    xhtml = text_of(path, "-bbox")
    root = ElementTree.fromstring(xhtml.replace('xmlns="http://www.w3.org/1999/xhtml"', ""))
    return [float(w.get("yMax")) - float(w.get("yMin")) for w in root.iter("word")]


def test_the_pdf_reads_back_with_their_words_ranked_concerns_steps_review_and_helpline(tmp_path, knowledge):
    path = render(tmp_path, knowledge)
    assert path.read_bytes().startswith(b"%PDF")
    text = flat(text_of(path))
    support = knowledge.helplines["macmillan_support_line"]["phone"]
    in_order = [
        "Your Signpost plan",
        "Made on 23 November 2026.",
        "What matters to you", "Keeping Mum at home and not losing my job",
        "Your top concerns",
        "1. Physical effects (5 out of 10)", "Next step: Tell their cancer team, specialist nurse or GP.",
        "2. Money (9 out of 10)", "Next step: Ask for a free benefits check",
        "Other things on your mind", "3. Work (8 out of 10)", "4. How you're feeling (6 out of 10)",
        "Not a worry right now: Your own wellbeing.",
        "What or who helps already", "My sister rings every night",
        "Where you are now: They've finished treatment", "Can I have a treatment summary and a care plan?",
        "Look at this plan again on 7 December 2026",
        "Your plan code is K7P2Q.",
        "Talk to someone", f"Macmillan Support Line: {support}",
        "If you need help now", "Samaritans: 116 123",
    ]
    missing = [piece for piece in in_order if piece not in text]
    assert not missing, f"not in the PDF's text: {missing}"
    at = 0
    for piece in in_order:  # each one after the one before
        found = text.find(piece, at)
        assert found >= 0, f"{piece!r} is not after the parts before it"
        at = found + len(piece)


def test_every_page_has_its_number_the_not_advice_line_and_the_crisis_line(tmp_path, knowledge):
    path = render(tmp_path, knowledge, large_print=True)
    count = pages(path)
    assert count >= 2
    for page in range(1, count + 1):
        text = flat(text_of(path, "-f", str(page), "-l", str(page)))
        assert f"Page {page} of {count}" in text
        assert "Signpost gives information and signposting, not medical advice" in text
        assert "Samaritans: 116 123" in text


def test_the_pdf_is_titled_in_english_and_its_pages_draw(tmp_path, knowledge):
    path = render(tmp_path, knowledge)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout \
        if shutil.which("pdfinfo") else "Title: Your Signpost plan"
    assert "Title:" in info and "Your Signpost plan" in info
    raw = path.read_bytes()
    assert b"/Lang (en-GB)" in raw and b"/DisplayDocTitle true" in raw
    assert b"/Outlines" in raw  # headings as bookmarks
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(path), str(tmp_path / "page")], check=True)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == pages(path) >= 1
    assert all(image.stat().st_size > 5_000 for image in images)  # not a blank page
    assert images[0].read_bytes().startswith(b"\x89PNG")


def test_large_print_has_bigger_text_and_more_pages(tmp_path, knowledge):
    normal = render(tmp_path, knowledge, name="normal.pdf")
    large = render(tmp_path, knowledge, name="large.pdf", large_print=True)
    assert pages(large) > pages(normal)
    ratio = statistics.median(word_heights(large)) / statistics.median(word_heights(normal))
    assert ratio >= 1.4  # 18pt against 12pt body text
    assert flat(text_of(large)).count("Next step:") == flat(text_of(normal)).count("Next step:")


@pytest.mark.parametrize("unicode_font", [True, False])
def test_emoji_and_other_scripts_in_their_words_never_break_the_download(tmp_path, knowledge, monkeypatch,
                                                                         unicode_font):
    if not unicode_font:  # as on a server without DejaVu: Helvetica, unknown characters replaced
        monkeypatch.setattr(plan_pdf, "FONT_DIR", tmp_path / "no-fonts")
    elif not plan_pdf._fonts_available():
        pytest.skip("DejaVu Sans is not installed (apt-get install fonts-dejavu-core)")
    slots = {**SLOTS, "what_matters": UNICODE_WORDS, "what_helps": "\u201cMy sister\u201d \u2013 and prayer \U0001F64F"}
    for large_print in (False, True):
        path = render(tmp_path, knowledge, slots, name=f"u{large_print}.pdf", large_print=large_print)
        text = flat(text_of(path))
        assert "Mum" in text and "first." in text and "end" in text
        assert "My sister" in text and "and prayer" in text
        assert "Samaritans: 116 123" in text
    # the letters the font has are kept (DejaVu has Arabic), the ones it hasn't show as "?"
    if unicode_font:
        assert "\u0627\u0644\u0645\u0633\u0627\u0639\u062f\u0629"[::-1] in text \
            or "\u0627\u0644\u0645\u0633\u0627\u0639\u062f\u0629" in text
    assert "???" in text


def test_a_young_carers_pdf_uses_their_words_and_childline(tmp_path, knowledge):
    slots = {"role": "carer", "age": 12, "nation": "scotland", "concern_areas": ["family_children"],
             "area_scores": {"family_children": 8}, "what_helps": "my gran"}
    text = flat(text_of(render(tmp_path, knowledge, slots)))
    assert "This is your plan. It's just for you." in text
    assert "1. Home and family (8 out of 10)" in text
    assert f"Childline: {knowledge.services['childline']['phone']}" in text
    assert "If someone is badly hurt or very ill right now, call 999." in text
