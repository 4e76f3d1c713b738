"""Load and check the knowledge files that content editors maintain.

Every problem is reported at once as ``file:line: field: what is wrong, and how to fix it``.
A tree with errors is never half-loaded: :func:`load` raises :class:`KnowledgeError` with the
whole list, and callers keep serving the last good :class:`Knowledge`.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import yaml
from jsonschema import Draft202012Validator, FormatChecker

ROOT = Path(__file__).resolve().parents[1]
NATIONS = ("england", "scotland", "wales", "northern_ireland")
NATION_NAMES = {
    "england": "England",
    "scotland": "Scotland",
    "wales": "Wales",
    "northern_ireland": "Northern Ireland",
}
# file (relative to the knowledge folder) -> schema file name in knowledge/schemas/
FILES: dict[str, str] = {
    "categories.yml": "categories.schema.json",
    "helplines.yml": "helplines.schema.json",
    "topics.yml": "topics.schema.json",
    "assessment.yml": "assessment.schema.json",
    "ended_schemes.yml": "ended_schemes.schema.json",
    "postcode_areas.yml": "postcode_areas.schema.json",
    "wording.yml": "wording.schema.json",
    # the full needs check-in and social care explained (issue 9)
    "social_care.yml": "social_care.schema.json",
    "journey.yml": "journey.schema.json",
    "concerns.yml": "concerns.schema.json",
    "young_carers.yml": "young_carers.schema.json",
}
SERVICES_DIR = "services"  # every *.yml in it is a services file (services.schema.json)
WARN_DAYS = 30
PLACEHOLDER = re.compile(r"\{(phone|name|hours|text|url):([a-z0-9_]+)\}")
UK_PHONE = re.compile(r"^(0\d{2,4}( ?\d{2,4}){1,3}|1\d{2}( \d{3})?|999|111|\d{5})$")
_FIELD = re.compile(r"\{([a-z_]+)\}")
REQUIRED_WORDING = (
    "greet", "greet_again", "ask_role", "role_patient", "role_carer", "role_professional", "role_help",
    "ask_what_matters", "back_to_form", "checkin_offer", "checkin_offer_carer", "checkin_yes", "checkin_not_now",
    "checkin_start", "score_question", "score_skip", "score_help", "score_range", "summary_intro",
    "summary_what_matters", "summary_concern", "summary_calm", "summary_skipped", "summary_top_question",
    "summary_top_button", "summary_nothing", "person_offer", "person_closed", "nation_thanks",
    "nation_cross_border", "menu", "menu_checkin", "talk_to_person", "start_again_button", "not_sure",
    "something_else", "rephrase", "fallback_sorry", "stop", "stopped", "start_again", "go_back", "go_back_first",
    "go_back_nothing", "delete_done", "goodbye", "welcome", "no_problem", "nothing_to_skip",
    "something_went_wrong", "services_intro", "services_more_intro", "services_more_button", "services_none",
    "services_no_more", "services_ask_postcode", "services_unknown_postcode", "benefits_intro",
    "benefits_not_understood", "benefits_guide", "benefits_likely", "benefits_possibly", "benefits_unlikely",
    "benefits_depends_on", "benefits_adviser", "dont_know",
    "delete_confirm", "delete_yes", "delete_no", "delete_kept", "handoff_consent", "handoff_preview_empty",
    "handoff_yes", "handoff_no", "handoff_not_understood", "handoff_queued", "handoff_not_shared", "handoff_closed",
    "callback_yes", "callback_no", "callback_time", "callback_morning", "callback_afternoon", "callback_any_time",
    "callback_how", "callback_call", "callback_text", "callback_phone", "callback_phone_again", "callback_done",
    "callback_declined", "handoff_unavailable", "handoff_after_checkin", "channel_only_text", "channel_empty",
    "channel_empty_sms", "channel_trimmed", "channel_stopped", "channel_button_expired", "handoff_staff_joined",
    "handoff_staff_left",
    # the plan to keep (signposting/plan.py, plan_pdf.py); the *_young versions are optional
    "plan_title", "plan_made", "plan_intro", "plan_what_matters", "plan_concerns_top", "plan_concerns_other",
    "plan_concerns", "plan_item", "plan_item_scored", "plan_next_step", "plan_contact", "plan_more_steps",
    "plan_not_now", "plan_nothing", "plan_what_helps", "plan_what_helps_note", "plan_stage", "plan_stage_services",
    "plan_stage_topics", "plan_questions", "plan_review_heading", "plan_review", "plan_code", "plan_talk",
    "plan_urgent", "plan_footer", "plan_page", "plan_short_title", "plan_short_matters", "plan_short_item",
    "plan_short_review", "plan_short_code", "plan_short_helpline",
    "compare_count", "compare_changed", "compare_same", "compare_new", "compare_gone", "followup_message",
    "followup_checkin_button", "followup_not_now_button", "followup_stop_button", "role_young_carer",
    "ask_journey_stage", "ask_journey_stage_young", "stage_help", "nation_help", "ask_work_status", "work_working",
    "work_off_sick", "work_not_working", "work_retired", "work_studying", "work_help", "pick_area_more",
    "area_done", "area_none", "area_help", "top_done", "pick_top_more", "top_help", "plan_ready",
    "plan_ready_web", "plan_offer", "plan_offer_keep", "plan_keep_button", "plan_followup_button", "plan_no_thanks_button",
    "keep_plan_done", "keep_plan_updated", "keep_plan_nothing", "forget_plan_done", "forget_plan_handoff_too", "forget_plan_nothing",
    "returning_welcome", "returning_offer", "returning_yes", "returning_no", "compare_intro", "compare_average", "give_code_ask",
    "give_code_found", "give_code_not_found", "followup_ask", "followup_1", "followup_2", "followup_4",
    "followup_done", "followup_not_here", "followup_stopped", "followup_none", "stop_followup_cancelled",
    "social_care_intro", "social_care_more", "social_care_ask_nation",
)
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


RESOLVE_SECONDS = 2.0  # how long knowledge_dir() keeps a resolved folder
_resolved: dict[tuple[str, str], tuple[float, Path]] = {}


def knowledge_dir() -> Path:
    """The knowledge folder: $SIGNPOST_KNOWLEDGE_DIR, else knowledge/ in the repository.

    Resolving it (symbolic links, a relative path) takes a system call per part of the path, and the
    servers ask several times a turn; the answer is kept for RESOLVE_SECONDS, so a folder switched
    by a symbolic link is followed within that time, as an edited file is.
    """
    raw = os.environ.get("SIGNPOST_KNOWLEDGE_DIR", str(ROOT / "knowledge"))
    key = (raw, "" if os.path.isabs(raw) else os.getcwd())
    now = time.monotonic()
    kept = _resolved.get(key)
    if kept is not None and now - kept[0] < RESOLVE_SECONDS:
        return kept[1]
    folder = Path(raw).resolve()
    _resolved[key] = (now, folder)
    return folder


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a knowledge file."""

    file: str
    line: int
    field: str
    message: str
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        tag = "" if self.severity == "error" else "warning: "
        return f"{self.file}:{self.line}: {tag}{self.field}: {self.message}"


class KnowledgeError(Exception):
    """The knowledge tree has errors; ``problems`` lists every one of them."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def fill_placeholders(text: str, helplines: Mapping[str, Mapping[str, Any]]) -> str:
    """Replace {phone:id}, {name:id}, {hours:id}, {text:id}, {url:id} with helpline facts."""
    from signposting.hours import describe_hours

    def replace(match: Any) -> str:
        kind, helpline = match.group(1), helplines[match.group(2)]
        if kind == "phone":
            return helpline.get("phone") or helpline.get("text") or helpline.get("url") or helpline["name"]
        if kind == "hours":
            return describe_hours(helpline)
        if kind == "text":
            return helpline.get("text") or helpline.get("phone") or ""
        if kind == "url":
            return helpline.get("url") or ""
        return helpline["name"]

    return PLACEHOLDER.sub(replace, text)


# --------------------------------------------------------------------------- YAML with lines
class _Lines:
    """Maps a path inside a YAML document (keys and list indexes) to its line number."""

    def __init__(self) -> None:
        self.lines: dict[tuple, int] = {}

    def walk(self, node: yaml.Node, path: tuple = ()) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self.lines[path + (key.value,)] = key.start_mark.line + 1
                self.walk(value, path + (key.value,))
                self.lines[path + (key.value,)] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.walk(item, path + (index,))

    def line(self, path: Iterable) -> int:
        path = tuple(path)
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)


def read_yaml(path: Path, rel: str) -> tuple[Any, _Lines, list[Problem]]:
    """Parse one YAML file, keeping line numbers. Dates are returned as ISO strings."""
    lines = _Lines()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return None, lines, [Problem(rel, 1, "(file)", f"cannot be read ({exc.strerror}); check the file exists")]
    try:
        node = yaml.compose(text, Loader=_NODE_LOADER)
        data = yaml.load(text, Loader=_StringDateLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        what = getattr(exc, "problem", None) or str(exc)
        return None, lines, [Problem(rel, line, "(yaml)", f"not valid YAML: {what}; check indentation and quotes")]
    if node is not None:
        lines.walk(node)
    return data, lines, []


_NODE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when installed: several times faster


class _StringDateLoader(_NODE_LOADER):  # type: ignore[misc, valid-type]
    """SafeLoader that keeps dates as the strings the editor wrote."""


_StringDateLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)


# --------------------------------------------------------------------------- model
@dataclass(frozen=True)
class Knowledge:
    """Everything the bot says that an editor can change, validated."""

    helplines: dict[str, dict]
    topics: dict[str, dict]          # by intent
    assessment: dict
    ended_schemes: dict[str, dict]
    postcode_areas: dict[str, dict]  # by area letters, upper case
    wording: dict[str, str]
    categories: dict[str, dict] = field(default_factory=dict)     # by id, in file order
    organisations: dict[str, dict] = field(default_factory=dict)  # by id
    services: dict[str, dict] = field(default_factory=dict)       # by id; each has "_file" and "_line"
    warnings: tuple[Problem, ...] = field(default=())
    loaded_from: str = ""
    social_care: dict = field(default_factory=dict)   # social_care.yml (see signposting/social_care.py)
    journey: dict = field(default_factory=dict)       # journey.yml (see signposting/journey.py)
    concerns: dict = field(default_factory=dict)      # concerns.yml
    young_carers: dict = field(default_factory=dict)  # young_carers.yml

    def helpline(self, helpline_id: str) -> dict:
        return self.helplines[helpline_id]

    def topic(self, intent: str) -> dict | None:
        return self.topics.get(intent)

    def say(self, key: str, **values: object) -> str:
        """A message from wording.yml with {fields} filled in, then helpline placeholders."""
        text = _FIELD.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0),
                          self.wording[key])
        return fill_placeholders(text, self.helplines)

    def active_services(self) -> list[dict]:
        """Services that may be shown: status active (retired and closed ones are kept, never shown)."""
        return [service for service in self.services.values() if service.get("status") == "active"]

    def domains(self, role: str | None = None) -> list[dict]:
        """Assessment domains in order, with the carer-only ones only for carers (young carers: their own)."""
        from signposting.assessment import domains_for

        return list(domains_for(self.assessment, role))


# --------------------------------------------------------------------------- checks
def _schema(knowledge: Path, name: str) -> dict:
    return json.loads((knowledge / "schemas" / name).read_text(encoding="utf-8"))


def _path_str(path: Iterable) -> str:
    parts = []
    for part in path:
        parts.append(f"[{part}]" if isinstance(part, int) else (("." if parts else "") + str(part)))
    return "".join(parts) or "(top)"


def _schema_problems(data: Any, schema: dict, rel: str, lines: _Lines) -> list[Problem]:
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = list(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            for key in sorted(set(error.instance) - allowed):
                where = path + [key]
                problems.append(Problem(rel, lines.line(where), _path_str(where),
                                        f"unknown field '{key}'; check the spelling (allowed: {', '.join(sorted(allowed))})"))
            continue
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else "?"
            problems.append(Problem(rel, lines.line(path), _path_str(path + [missing]),
                                    f"{error.message}; add it"))
            continue
        if error.validator in ("oneOf", "anyOf") and error.schema.get("description"):
            problems.append(Problem(rel, lines.line(path), _path_str(path),
                                    f"{error.instance!r} is not right here: {error.schema['description']}"))
            continue
        if error.validator == "enum":
            hint = f"use one of {error.validator_value}"
        elif error.validator in ("format", "pattern"):
            hint = "check the format (dates are YYYY-MM-DD in quotes, links start with https://)"
        else:
            hint = "see the schema in knowledge/schemas/"
        problems.append(Problem(rel, lines.line(path), _path_str(path), f"{error.message}; {hint}"))
    return problems


def _walk_items(data: Any, path: tuple = ()) -> Iterator[tuple[tuple, dict]]:
    """Every mapping in the document, with its path."""
    if isinstance(data, dict):
        yield path, data
        for key, value in data.items():
            yield from _walk_items(value, path + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _walk_items(value, path + (index,))


def _parse_date(value: Any) -> date | None:
    try:
        return datetime.strptime(str(value), "%Y-%m-%d").date()
    except ValueError:
        return None


def _provenance_problems(data: Any, rel: str, lines: _Lines, today: date) -> list[Problem]:
    """Dates in order, review not overdue (error) or due soon (warning)."""
    problems = []
    for path, item in _walk_items(data):
        if "review_by" not in item:
            continue
        review_by, checked = _parse_date(item.get("review_by")), _parse_date(item.get("checked"))
        where = lines.line(path + ("review_by",))
        label = item.get("id") or item.get("name") or _path_str(path)
        if review_by is None:
            continue  # the schema reports the bad format
        if checked and review_by <= checked:
            problems.append(Problem(rel, where, _path_str(path + ("review_by",)),
                                    f"review_by {review_by} is not after checked {checked}; set a later review date"))
        if review_by < today:
            problems.append(Problem(rel, where, _path_str(path + ("review_by",)),
                                    f"review of '{label}' was due on {review_by}; check the facts against the source, "
                                    "then update checked and review_by"))
        elif (review_by - today).days <= WARN_DAYS:
            problems.append(Problem(rel, where, _path_str(path + ("review_by",)),
                                    f"review of '{label}' is due on {review_by}", "warning"))
        if checked and checked > today:
            problems.append(Problem(rel, lines.line(path + ("checked",)), _path_str(path + ("checked",)),
                                    f"checked date {checked} is in the future; use the date you checked the source"))
    return problems


def _duplicate_ids(items: list, rel: str, lines: _Lines, list_path: tuple, key: str = "id") -> list[Problem]:
    seen: dict[str, int] = {}
    problems = []
    for index, item in enumerate(items or []):
        if not isinstance(item, dict) or key not in item:
            continue
        value = str(item[key])
        line = lines.line(list_path + (index, key))
        if value in seen:
            problems.append(Problem(rel, line, _path_str(list_path + (index, key)),
                                    f"duplicate {key} '{value}' (first used on line {seen[value]}); give each entry its own {key}"))
        else:
            seen[value] = line
    return problems


def _uk_phone(phone: str) -> bool:
    """UK shape, and a full number: 10 or 11 digits when it starts with 0 (and the old 8-digit 0800 lines)."""
    if not UK_PHONE.match(phone):
        return False
    digits = re.sub(r"\D", "", phone)
    return not digits.startswith("0") or len(digits) in (10, 11) or (len(digits) == 8 and digits.startswith("0800"))


def _helpline_problems(data: dict, rel: str, lines: _Lines, list_key: str = "helplines") -> list[Problem]:
    """Phone numbers and opening hours of helplines (or services) that people will be told about."""
    problems = []
    for index, item in enumerate(data.get(list_key) or []):
        if not isinstance(item, dict):
            continue
        base = (list_key, index)
        phone = item.get("phone")
        if phone is not None and not _uk_phone(str(phone)):
            problems.append(Problem(rel, lines.line(base + ("phone",)), _path_str(base + ("phone",)),
                                    f"'{phone}' is not a UK phone number; write all 10 or 11 digits with spaces, "
                                    "e.g. \"0808 808 00 00\""))
        for h, hours in enumerate(item.get("hours") or []):
            for key in ("opens", "closes"):
                value = str(hours.get(key, ""))
                if not HHMM.match(value):
                    problems.append(Problem(rel, lines.line(base + ("hours", h, key)), _path_str(base + ("hours", h, key)),
                                            f"'{value}' is not a time; use 24-hour HH:MM in quotes, e.g. \"08:00\""))
            if HHMM.match(str(hours.get("opens", ""))) and HHMM.match(str(hours.get("closes", ""))):
                if str(hours["closes"]) <= str(hours["opens"]):
                    problems.append(Problem(rel, lines.line(base + ("hours", h)), _path_str(base + ("hours", h)),
                                            f"closes {hours['closes']} is not after opens {hours['opens']}; check the times"))
        if (item.get("phone") or item.get("text")) and not item.get("open_24_7") and not item.get("hours") \
                and not item.get("hours_note"):
            problems.append(Problem(rel, lines.line(base), _path_str(base),
                                    "a phone or text line with no opening hours; add hours, set open_24_7: true, "
                                    "or say when to call in hours_note"))
    return problems


def _reference_problems(docs: Mapping[str, tuple[Any, _Lines]], helpline_ids: set[str]) -> list[Problem]:
    """Placeholders and helpline references must name helplines that exist."""
    problems = []
    for rel, (data, lines) in docs.items():
        if rel == "helplines.yml" or data is None:
            continue
        for path, item in _walk_items(data):
            for key, value in item.items():
                where = path + (key,)
                if key in ("helpline", "offer_person_helpline") and isinstance(value, str) and value not in helpline_ids:
                    problems.append(Problem(rel, lines.line(where), _path_str(where),
                                            f"unknown helpline '{value}'; use an id from helplines.yml"))
                if key == "helplines" and isinstance(value, list):
                    for i, ref in enumerate(value):
                        if ref not in helpline_ids:
                            problems.append(Problem(rel, lines.line(where + (i,)), _path_str(where + (i,)),
                                                    f"unknown helpline '{ref}'; use an id from helplines.yml"))
                texts = value.values() if isinstance(value, dict) else [value]
                for text in texts:
                    if not isinstance(text, str):
                        continue
                    for _kind, ref in PLACEHOLDER.findall(text):
                        if ref not in helpline_ids:
                            problems.append(Problem(rel, lines.line(where), _path_str(where),
                                                    f"placeholder names unknown helpline '{ref}'; use an id from helplines.yml"))
    return problems


def _topic_problems(data: dict, rel: str, lines: _Lines) -> list[Problem]:
    problems = []
    for index, topic in enumerate(data.get("topics") or []):
        if not isinstance(topic, dict):
            continue
        answer = topic.get("answer") or {}
        base = ("topics", index, "answer")
        if topic.get("nation_specific"):
            for nation in NATIONS:
                if nation not in answer:
                    problems.append(Problem(rel, lines.line(base), _path_str(base + (nation,)),
                                            f"nation-specific topic '{topic.get('id')}' has no answer for {NATION_NAMES[nation]}; add one"))
    problems += _duplicate_ids(data.get("topics"), rel, lines, ("topics",), "intent")
    return problems


def check(folder: Path | None = None, today: date | None = None) -> tuple[list[Problem], Knowledge | None]:
    """Check the whole tree. Returns (problems incl. warnings, Knowledge or None if any error)."""
    folder = folder or knowledge_dir()
    today = today or date.today()
    problems: list[Problem] = []
    docs: dict[str, tuple[Any, _Lines]] = {}
    for rel, schema_name in FILES.items():
        data, lines, read_problems = read_yaml(folder / rel, rel)
        problems += read_problems
        if data is None:
            docs[rel] = (None, lines)
            if not read_problems:
                problems.append(Problem(rel, 1, "(file)", "the file is empty; restore its content"))
            continue
        docs[rel] = (data, lines)
        try:
            schema = _schema(folder, schema_name)
        except (OSError, ValueError) as exc:
            problems.append(Problem(f"schemas/{schema_name}", 1, "(schema)", f"cannot be read: {exc}"))
            continue
        problems += _schema_problems(data, schema, rel, lines)
        problems += _provenance_problems(data, rel, lines, today)
    helplines, hl_lines = docs.get("helplines.yml", (None, _Lines()))
    helpline_ids: set[str] = set()
    if isinstance(helplines, dict):
        items = helplines.get("helplines") or []
        helpline_ids = {h["id"] for h in items if isinstance(h, dict) and "id" in h}
        problems += _duplicate_ids(items, "helplines.yml", hl_lines, ("helplines",))
        problems += _helpline_problems(helplines, "helplines.yml", hl_lines)
    topics, t_lines = docs.get("topics.yml", (None, _Lines()))
    if isinstance(topics, dict):
        problems += _duplicate_ids(topics.get("topics"), "topics.yml", t_lines, ("topics",))
        problems += _topic_problems(topics, "topics.yml", t_lines)
    assessment, a_lines = docs.get("assessment.yml", (None, _Lines()))
    if isinstance(assessment, dict):
        problems += _duplicate_ids(assessment.get("domains"), "assessment.yml", a_lines, ("domains",))
    ended, e_lines = docs.get("ended_schemes.yml", (None, _Lines()))
    if isinstance(ended, dict):
        problems += _duplicate_ids(ended.get("ended_schemes"), "ended_schemes.yml", e_lines, ("ended_schemes",))
    areas, p_lines = docs.get("postcode_areas.yml", (None, _Lines()))
    if isinstance(areas, dict):
        problems += _duplicate_ids(areas.get("areas"), "postcode_areas.yml", p_lines, ("areas",), "area")
    wording, w_lines = docs.get("wording.yml", (None, _Lines()))
    if isinstance(wording, dict):
        for key in REQUIRED_WORDING:
            if key not in (wording.get("messages") or {}):
                problems.append(Problem("wording.yml", w_lines.line(("messages",)), f"messages.{key}",
                                        "missing; Signpost needs this message, add it"))
    problems += _reference_problems(docs, helpline_ids)
    categories, c_lines = docs.get("categories.yml", (None, _Lines()))
    if isinstance(categories, dict):
        problems += _duplicate_ids(categories.get("categories"), "categories.yml", c_lines, ("categories",))
        problems += _category_problems(categories, c_lines, assessment, topics)
    directory = _check_services(folder, today, categories, areas)
    problems += directory.problems
    problems += _benefits_problems(folder, today)
    problems += _safety_problems(folder)
    problems += _care_problems(docs, directory.services, categories, topics)
    problems.sort(key=lambda p: (p.file, p.line, p.field))
    if any(p.severity == "error" for p in problems):
        return problems, None
    knowledge = Knowledge(
        helplines={h["id"]: h for h in helplines["helplines"]},
        topics={t["intent"]: t for t in topics["topics"]},
        assessment=assessment,
        ended_schemes={e["id"]: e for e in ended["ended_schemes"]},
        postcode_areas={a["area"].upper(): a for a in areas["areas"]},
        wording=dict(wording["messages"]),
        categories={c["id"]: c for c in categories["categories"]},
        organisations=directory.organisations,
        services=directory.services,
        warnings=tuple(p for p in problems if p.severity == "warning"),
        loaded_from=str(folder),
        social_care=docs["social_care.yml"][0], journey=docs["journey.yml"][0],
        concerns=docs["concerns.yml"][0], young_carers=docs["young_carers.yml"][0],
    )
    return problems, knowledge


def _category_problems(data: dict, lines: _Lines, assessment: Any, topics: Any) -> list[Problem]:
    """Categories point at assessment domains and question intents that exist."""
    domain_ids = {d.get("id") for d in (assessment or {}).get("domains") or [] if isinstance(d, dict)}
    intents = {t.get("intent") for t in (topics or {}).get("topics") or [] if isinstance(t, dict)}
    problems = []
    for index, category in enumerate(data.get("categories") or []):
        if not isinstance(category, dict):
            continue
        for key, known, where_from in (("domains", domain_ids, "assessment.yml domains"),
                                       ("intents", intents, "topics.yml intents")):
            for i, ref in enumerate(category.get(key) or []):
                if known and ref not in known:
                    path = ("categories", index, key, i)
                    problems.append(Problem("categories.yml", lines.line(path), _path_str(path),
                                            f"unknown {key[:-1]} '{ref}'; use one of the {where_from}"))
    return problems


@dataclass
class _Directory:
    organisations: dict[str, dict] = field(default_factory=dict)
    services: dict[str, dict] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _check_services(folder: Path, today: date, categories: Any, areas: Any) -> _Directory:
    """Every services/*.yml file: schema, dates, contacts, and references across files."""
    result = _Directory()
    try:
        schema = _schema(folder, "services.schema.json")
    except (OSError, ValueError) as exc:
        result.problems.append(Problem("schemas/services.schema.json", 1, "(schema)", f"cannot be read: {exc}"))
        return result
    category_ids = {c.get("id") for c in (categories or {}).get("categories") or [] if isinstance(c, dict)}
    area_codes = {str(a.get("area")).upper() for a in (areas or {}).get("areas") or [] if isinstance(a, dict)}
    seen: dict[tuple[str, str], str] = {}  # (kind, id) -> "file:line"
    references: list[tuple[str, _Lines, tuple, dict]] = []
    schema_key = json.dumps(schema, sort_keys=True)
    for path in sorted((folder / SERVICES_DIR).glob("*.yml")):
        rel = f"{SERVICES_DIR}/{path.name}"
        data, lines, file_problems = _services_file(path, rel, schema, schema_key, today)
        result.problems += file_problems
        if not isinstance(data, dict):
            continue
        for kind in ("organisations", "services"):
            for index, item in enumerate(data.get(kind) or []):
                if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                    continue
                where = (kind, index)
                first = seen.setdefault((kind, item["id"]), f"{rel}:{lines.line(where)}")
                if first != f"{rel}:{lines.line(where)}":
                    result.problems.append(Problem(rel, lines.line(where + ("id",)), _path_str(where + ("id",)),
                                                   f"duplicate id '{item['id']}' (first used at {first}); give each entry its own id"))
                    continue
                target = result.organisations if kind == "organisations" else result.services
                target[item["id"]] = {**item, "_file": rel, "_line": lines.line(where)}
                if kind == "services":
                    references.append((rel, lines, where, item))
    organisation_ids = set(result.organisations)
    for rel, lines, where, item in references:
        result.problems += _service_reference_problems(rel, lines, where, item, organisation_ids,
                                                       category_ids, area_codes)
    return result


_FILE_CACHE: dict[tuple, tuple[Any, _Lines, list[Problem]]] = {}


def _services_file(path: Path, rel: str, schema: dict, schema_key: str,
                   today: date) -> tuple[Any, _Lines, list[Problem]]:
    """One services file read and checked on its own; cached until the file (or the day) changes.

    A large directory is many files (one per area or imported feed), so an edit re-reads one file.
    """
    try:
        stat = path.stat()
    except OSError:
        stat = None
    key = (str(path), stat.st_mtime_ns if stat else 0, stat.st_size if stat else 0, today, schema_key)
    cached = _FILE_CACHE.get(key)
    if cached is None:
        data, lines, problems = read_yaml(path, rel)
        if isinstance(data, dict):
            problems = problems + _schema_problems(data, schema, rel, lines)
            problems += _provenance_problems(data, rel, lines, today)
            problems += _helpline_problems(data, rel, lines, "services")
            for item in data.get("services") or []:
                if isinstance(item, dict):  # computed once per file version, so a re-sync is cheap
                    item["_hash"] = hashlib.sha1(json.dumps(item, sort_keys=True, default=str).encode()).hexdigest()
        for stale in [k for k in _FILE_CACHE if k[0] == str(path)]:
            del _FILE_CACHE[stale]
        cached = _FILE_CACHE[key] = (data, lines, problems)
    return cached


def _service_reference_problems(rel: str, lines: _Lines, where: tuple, service: dict, organisations: set[str],
                                category_ids: set[str], area_codes: set[str]) -> list[Problem]:
    """A service's organisation, categories and postcode areas must exist."""
    problems = []
    org = service.get("organisation")
    if isinstance(org, str) and org not in organisations:
        problems.append(Problem(rel, lines.line(where + ("organisation",)), _path_str(where + ("organisation",)),
                                f"unknown organisation '{org}'; add it under organisations: in a services file, or fix the id"))
    for i, category in enumerate(service.get("categories") or []):
        if category_ids and category not in category_ids:
            path = where + ("categories", i)
            problems.append(Problem(rel, lines.line(path), _path_str(path),
                                    f"unknown category '{category}'; use an id from categories.yml "
                                    f"({', '.join(sorted(category_ids))}) or add the category there first"))
    for i, area in enumerate(service.get("areas") or []):
        if area_codes and str(area).upper() not in area_codes:
            path = where + ("areas", i)
            problems.append(Problem(rel, lines.line(path), _path_str(path),
                                    f"unknown postcode area '{area}'; use the letters at the start of a postcode, "
                                    "as listed in postcode_areas.yml (e.g. G for Glasgow)"))
    return problems


def _care_problems(docs: Mapping[str, tuple[Any, _Lines]], services: Mapping[str, dict], categories: Any,
                  topics: Any) -> list[Problem]:
    """Social care, journey, concerns and young carers files point at services, topics and areas that exist."""
    from signposting import journey, social_care

    category_ids = {c.get("id") for c in (categories or {}).get("categories") or [] if isinstance(c, dict)}
    intents = {t.get("intent") for t in (topics or {}).get("topics") or [] if isinstance(t, dict)}
    found = journey.reference_problems({rel: data for rel, (data, _) in docs.items()}, services, intents)
    found["social_care.yml"] = social_care.reference_problems(docs["social_care.yml"][0], services, category_ids)
    return [Problem(rel, docs[rel][1].line(path), _path_str(path), message, *severity)
            for rel, items in found.items() for path, message, *severity in items]


def _benefits_problems(folder: Path, today: date) -> list[Problem]:
    """The benefits rules and rates (knowledge/benefits/<tax year>/): complete, sourced, in date."""
    from signposting import benefits

    problems = []
    for text in benefits.check_tree(folder, today):
        where, _, rest = text.partition(": ")
        file, _, line = where.rpartition(":")
        if not line.isdigit():
            file, line = where, "1"
        field_name, _, message = rest.partition(": ")
        problems.append(Problem(file or "benefits", int(line), field_name or "(file)", message or rest))
    for path in sorted((folder / "benefits").rglob("*.yml")):  # reviews due soon: listed, not failing
        rel = str(path.relative_to(folder))
        data, lines, _ = read_yaml(path, rel)
        problems += [p for p in _provenance_problems(data, rel, lines, today) if p.severity == "warning"]
    return problems


def _safety_problems(folder: Path) -> list[Problem]:
    """The crisis screen's phrase lists and numbers are knowledge too: check they load."""
    problems: list[Problem] = []
    try:
        from signposting import safety
    except ImportError:  # pragma: no cover - the module ships with the package
        return problems
    for rel, loader in (("safety/patterns.yml", _load_patterns), ("safety/crisis.yml", _load_crisis)):
        path = folder / rel
        if not path.exists():
            problems.append(Problem(rel, 1, "(file)", "missing; the crisis screen needs it"))
            continue
        try:
            loader(safety, path)
        except Exception as exc:  # the safety module raises ValueError naming the field
            problems.append(Problem(rel, 1, "(content)", f"{exc}"))
    return problems


def _load_patterns(safety: Any, path: Path) -> None:
    safety.load_screen(path)


def _load_crisis(safety: Any, path: Path) -> None:
    for nation in (None, *NATIONS):
        for kind in safety.CrisisKind:
            safety.crisis_reply(kind, nation, path)


def load(folder: Path | None = None, today: date | None = None) -> Knowledge:
    """Load the tree or raise KnowledgeError listing every error."""
    problems, knowledge = check(folder, today)
    if knowledge is None:
        raise KnowledgeError([p for p in problems if p.severity == "error"])
    return knowledge


# --------------------------------------------------------------------------- cached access
def _fingerprint(folder: Path) -> tuple:
    """Modification times of every knowledge file (a walk of the tree: about 1 ms)."""
    return tuple(sorted((str(p), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()))


def check_every_seconds() -> float:
    """How often the process-wide store looks for edited files: $SIGNPOST_KNOWLEDGE_CHECK_SECONDS, default 2.

    Looking costs a walk of the tree (about 1 ms); the Rasa server and the action server ask for the
    knowledge several times a turn, so under load looking on every call was a measurable part of a
    turn (bench/profile_turn.py). An editor's change is live within this many seconds.
    """
    value = os.environ.get("SIGNPOST_KNOWLEDGE_CHECK_SECONDS", "2")
    try:
        return max(0.0, float(value))
    except ValueError:
        import logging

        logging.getLogger(__name__).warning(
            "SIGNPOST_KNOWLEDGE_CHECK_SECONDS=%r is not a number of seconds; looking for edits every 2 s", value)
        return 2.0


class KnowledgeStore:
    """Serves the last good Knowledge and reloads it when a file changes.

    A reload that fails validation keeps the previous content and records why. ``check_every``:
    seconds between looks at the files (0, the default, looks on every call).
    """

    def __init__(self, folder: Path | None = None, check_every: float = 0.0):
        self.folder = folder or knowledge_dir()
        self.check_every = check_every
        self._knowledge: Knowledge | None = None
        self._fingerprint: tuple = ()
        self._checked_at = float("-inf")
        self.last_error: KnowledgeError | None = None

    def get(self) -> Knowledge:
        now = time.monotonic()
        if self._knowledge is not None and now - self._checked_at < self.check_every:
            return self._knowledge
        current = _fingerprint(self.folder)
        self._checked_at = now
        if self._knowledge is None or current != self._fingerprint:
            try:
                self._knowledge = load(self.folder)
                self.last_error = None
            except KnowledgeError as exc:
                self.last_error = exc
                if self._knowledge is None:
                    raise
                import logging

                logging.getLogger(__name__).error(
                    "Knowledge reload failed; still serving the previous content:\n%s", exc
                )
            self._fingerprint = current
        return self._knowledge


@lru_cache(maxsize=None)
def store(folder: str | None = None) -> KnowledgeStore:
    """One KnowledgeStore per folder per process, looking for edits every check_every_seconds()."""
    return KnowledgeStore(Path(folder) if folder else None, check_every=check_every_seconds())


def current() -> Knowledge:
    """The knowledge the bot serves now (reloaded when files change)."""
    return store(str(knowledge_dir())).get()
