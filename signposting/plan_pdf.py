"""The plan to keep as a PDF: plain, accessible, with a large-print option (fpdf2; no Rasa).

Real text, never pictures of text, so screen readers, search and copy-and-paste work; the
document has a title and language (en-GB) and opens showing its title; every heading is in the
PDF's outline (bookmarks). Left-aligned, black on white, no italics, generous line spacing.
Body text is 12pt, or 18pt in large print (UKAAF and RNIB: 16pt and up, many readers ask for 18),
with bigger headings. Every page ends with "Page 1 of N", that Signpost gives information and
signposting (not medical advice), and the crisis line.

The words come from :func:`signposting.plan.sections` (the same as the text plan). DejaVu Sans is
used when installed (it covers most scripts); otherwise Helvetica, with characters it cannot show
replaced, so nobody's own words (emoji, Arabic...) can make the download fail.

    pdf_bytes = render_pdf(plan, large_print=True)
"""
from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any, Optional

from fpdf import FPDF, ViewerPreferences
from fpdf.enums import MethodReturnValue, XPos, YPos

from signposting import plan as plan_mod
from signposting.knowledge import Knowledge

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
LANGUAGE = "en-GB"
MARGIN = 20                  # mm, all round
LINE = 1.5                   # line height, times the font size
PT = 25.4 / 72               # mm in a point
INDENT = 7                   # mm, for next steps and lists
# Sizes in points: body, an item's heading, a section heading, the title, the footer.
SIZES = {
    False: {"body": 12, "item": 13, "heading": 16, "title": 22, "footer": 12},
    True: {"body": 18, "item": 20, "heading": 24, "title": 30, "footer": 18},
}
TEXT = (0, 0, 0)             # black on white: the strongest contrast
RULE = (90, 90, 90)          # the line above the footer
_LATIN1 = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                         "\u2014": "-", "\u2026": "...", "\u2022": "-", "\u00a0": " "})


def _fonts_available() -> bool:
    return all((FONT_DIR / name).is_file() for name in FONT_FILES.values())


class _PlanPDF(FPDF):
    """An A4 page with the plan's footer on every page."""

    def __init__(self, footer_text: str, page_words: Any, sizes: dict[str, int], unicode_font: bool):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text
        self.page_words = page_words          # page number -> "Page 1 of {nb}"
        self.sizes = sizes
        self.family = "Helvetica"
        self.unicode_font = unicode_font
        if unicode_font:
            for style, name in FONT_FILES.items():
                self.add_font("DejaVu", style, str(FONT_DIR / name))
            self.family = "DejaVu"
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_text_color(*TEXT)
        self.alias_nb_pages()
        self.footer_height = 0.0

    # -- text that this font can show
    def clean(self, text: str) -> str:
        if not self.unicode_font:
            text = text.translate(_LATIN1)
            return text.encode("latin-1", "replace").decode("latin-1")
        known = [self.fonts[key].cmap for key in ("dejavu", "dejavuB") if key in self.fonts]
        if all(c in "\n\t" or all(ord(c) in cmap for cmap in known) for c in text):
            return text
        # a letter the font lacks (a script it doesn't cover) shows as "?", like Latin-1 does;
        # a missing emoji or symbol is left out
        kept = "".join(c if c in "\n\t" or all(ord(c) in cmap for cmap in known) else
                       ("?" if unicodedata.category(c)[0] in "LN" else "") for c in text)
        return " ".join(kept.split())

    def line_height(self, size: float) -> float:
        return size * PT * LINE

    def measure_footer(self) -> float:
        """The footer's height, so the body stops above it on every page."""
        size = self.sizes["footer"]
        self.set_font(self.family, "", size)
        width = self.w - 2 * MARGIN
        lines = self.multi_cell(width, self.line_height(size), self.clean(self.footer_text), align="L",
                                dry_run=True, output=MethodReturnValue.LINES)
        return (len(lines) + 1) * self.line_height(size) + 4  # the text, the page number, the rule's gap

    def footer(self) -> None:
        size = self.sizes["footer"]
        height = self.line_height(size)
        top = self.h - MARGIN - self.footer_height + 2
        self.set_draw_color(*RULE)
        self.set_line_width(0.3)
        self.line(MARGIN, top - 1, self.w - MARGIN, top - 1)
        self.set_xy(MARGIN, top)
        self.set_font(self.family, "", size)
        self.multi_cell(self.w - 2 * MARGIN, height, self.clean(self.footer_text), align="L",
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.multi_cell(self.w - 2 * MARGIN, height, self.clean(self.page_words(self.page_no())), align="L",
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    # -- the body
    def write_block(self, text: str, size: int, bold: bool = False, indent: float = 0.0,
                    before: float = 0.0) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        height = self.line_height(size)
        if before and self.get_y() > self.t_margin + 1:
            self.ln(before)
        self.set_x(MARGIN + indent)
        self.multi_cell(self.w - 2 * MARGIN - indent, height, self.clean(text), align="L",
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def bullet(self, text: str, size: int, indent: float, before: float) -> None:
        """A list entry with a hanging indent: wrapped lines start under the words, not the bullet."""
        self.set_font(self.family, "", size)
        height = self.line_height(size)
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()
        else:
            self.ln(before)
        mark = "\u2022" if self.unicode_font else "-"
        width = self.get_string_width(mark + "  ")
        self.set_x(MARGIN + indent)
        self.cell(width, height, mark)
        self.multi_cell(self.w - 2 * MARGIN - indent - width, height, self.clean(text), align="L",
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(self, text: str, size: int, level: int = 0) -> None:
        """A section heading, kept with at least two lines of what follows it."""
        body = self.line_height(self.sizes["body"])
        needed = self.line_height(size) * 2 + body * 2
        if self.get_y() + needed > self.page_break_trigger:
            self.add_page()
        self.set_font(self.family, "B", size)
        self.start_section(self.clean(text), level=level, strict=False)
        self.write_block(text, size, bold=True, before=body * 0.8)
        self.ln(body * 0.25)


def render_pdf(plan: plan_mod.Plan, *, large_print: bool = False, knowledge: Optional[Knowledge] = None) -> bytes:
    """The plan as a PDF file's bytes (A4; large print: 18pt body text and bigger headings)."""
    kb = plan_mod._current(knowledge)
    sizes = SIZES[bool(large_print)]
    title = plan_mod.say(kb, "plan_title", plan.young)
    pdf = _PlanPDF(plan_mod.footer(plan, kb), lambda page: kb.say("plan_page", page=page, pages="{nb}"), sizes,
                   _fonts_available())
    pdf.set_title(title)
    pdf.set_lang(LANGUAGE)
    pdf.set_author("Signpost")
    pdf.set_creator("Signpost")
    pdf.set_subject(title)
    pdf.viewer_preferences = ViewerPreferences(display_doc_title=True)
    pdf.add_page()
    pdf.footer_height = pdf.measure_footer()
    pdf.set_auto_page_break(True, margin=MARGIN + pdf.footer_height)

    body = sizes["body"]
    gap = pdf.line_height(body) * 0.35
    pdf.start_section(pdf.clean(title), level=0, strict=False)
    pdf.write_block(title, sizes["title"], bold=True)
    pdf.ln(gap)
    for heading, lines in plan_mod.sections(plan, kb):
        if heading:
            pdf.heading(heading, sizes["heading"], level=1)
        for style, text in lines:
            if style == "item":
                pdf.write_block(text, sizes["item"], bold=True, before=gap * 1.5)
            elif style in ("step", "more_label"):
                pdf.write_block(text, body, indent=INDENT, before=gap * 0.5)
            elif style in ("more", "bullet"):
                pdf.bullet(text, body, indent=INDENT + (INDENT if style == "more" else 0), before=gap * 0.3)
            elif style == "quote":
                pdf.write_block(text, body, indent=INDENT, before=gap * 0.5)
            else:
                pdf.write_block(text, body, before=gap)
    return bytes(pdf.output())
