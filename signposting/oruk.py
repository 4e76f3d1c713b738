"""Open Referral UK (HSDS 3.0 UK profile) feeds in and out of the services directory.

- ``export_services`` turns records from knowledge/services/*.yml into ORUK service objects.
- ``import_services`` reads a local authority's ORUK feed into records in our shape, keeping
  every record it can use and reporting, for each one it cannot, where and why.
- ``write_yaml`` writes an import as a services file an editor can review.

Each ORUK record is checked against knowledge/schemas/oruk/service.schema.json (vendored from
OpenReferralUK/uk-profile). Fields ORUK has no place for (source, checked, review_by, owner,
synonyms, bank holidays, hours note, area name) travel in an ``x-signpost`` object, which ORUK
allows and other readers ignore; who, cancer types and nations travel as attributes in the
``signpost-eligibility`` taxonomy, so export then import gives back the same records.
Pure Python: no Rasa and no network.
"""
from __future__ import annotations

import html
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Iterator
from urllib.parse import urlparse

import yaml
from jsonschema import Draft202012Validator, ValidationError

ROOT = Path(__file__).resolve().parents[1]
ORUK_SCHEMA = ROOT / "knowledge" / "schemas" / "oruk" / "service.schema.json"

CATEGORY_TAXONOMY = "signpost-categories"
ELIGIBILITY_TAXONOMY = "signpost-eligibility"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RRULE_DAY = {day: day[:2].upper() for day in DAYS}  # mon -> MO
FROM_RRULE = {code: day for day, code in RRULE_DAY.items()}
NATIONS = {"england": "England", "scotland": "Scotland", "wales": "Wales", "northern_ireland": "Northern Ireland"}
WHO = ("patient", "carer", "professional")
PROVENANCE = ("source", "checked", "review_by", "owner")
EXTRAS = ("synonyms", "bank_holidays", "hours_note", "area_name")  # service fields only x-signpost can carry
SERVICE_KEYS = ("id", "organisation", "name", "description", "status", "categories", "who", "age", "cancer_types",
                "nations", "areas", "area_name", "phone", "text", "email", "url", "open_24_7", "hours", "hours_note",
                "bank_holidays", "address", "synonyms", *PROVENANCE)
ORGANISATION_KEYS = ("id", "name", "url", "description", "charity_number", *PROVENANCE)
ALWAYS_KEPT = {"hours", "phone"}  # kept even when empty: hours [] and phone null ("no phone line")

HTTPS = re.compile(r"^https://[^\s]+$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^[0-9]{3,5}( [0-9]{2,4}){0,3}$")  # services.schema.json, at most four groups
SHORT_CODE = re.compile(r"^(1\d{2}|1\d{5}|999|\d{5})$")  # 111, 116 123, 999, 85258
POSTCODE = re.compile(r"^([A-Z]{1,2})[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")
AREA = re.compile(r"^[A-Z]{1,2}$")
CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$")
TAG = re.compile(r"</?[a-zA-Z][^>]*>")
SKIP_HOST_LABELS = {"www", "api", "apis", "directory", "services", "service", "data", "opendata", "oruk", "gov", "uk",
                    "org", "co", "com", "net", "ac", "nhs", "example", "digital", "openreferral"}
DEFAULT_HOURS_NOTE = "Check opening times with the service"


# ----------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class ImportProblem:
    """Something wrong with one record of a feed (or with the feed, when ``index`` is None)."""

    index: int | None  # position in the feed's list of services, counting from 0 like the field paths
    record_id: str | None
    field: str  # e.g. "phones[0].number"
    message: str  # what is wrong and how to fix it
    skipped: bool = False  # True when the record was left out of the import
    feed: str = "feed"

    def __str__(self) -> str:
        where = self.feed
        if self.index is not None:
            where += f": record {self.index}" + (f" (id '{self.record_id}')" if self.record_id else "")
        tail = " [record not imported]" if self.skipped else ""
        return f"{where}: {self.field}: {self.message}{tail}"


@dataclass
class ImportResult:
    """Organisations and services in our shape, and every problem met on the way."""

    organisations: list[dict] = field(default_factory=list)
    services: list[dict] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    source: str = ""
    imported: date | None = None

    @property
    def not_imported(self) -> list[int]:
        """Positions in the feed of the records that were left out."""
        return sorted({p.index for p in self.problems if p.skipped and p.index is not None})


# ----------------------------------------------------------------------------------------------
# Schema


@lru_cache(maxsize=1)
def oruk_schema() -> dict:
    """The vendored ORUK service schema."""
    return json.loads(ORUK_SCHEMA.read_text(encoding="utf-8"))


def oruk_validator() -> Draft202012Validator:
    """A validator for one ORUK service record (formats are annotations, as in the source schema)."""
    return Draft202012Validator(oruk_schema())


def _path(error: ValidationError) -> str:
    """A field path like ``phones[0].number``; for a missing property, the property itself."""
    parts = list(error.absolute_path)
    if error.validator == "required":
        match = re.match(r"^'(.+)' is a required property", error.message)
        parts.append(match.group(1) if match else "?")
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(record)"


def _explain(error: ValidationError) -> str:
    """What the schema error means, and what to do about it."""
    fix = "correct it in the feed (or ask its publisher to), then import again"
    if error.validator == "required":
        return f"is missing, and the ORUK schema requires it; {fix}"
    if error.validator == "enum":
        allowed = ", ".join(repr(v) for v in error.validator_value)
        return f"{_short(error.instance)} is not allowed (use one of {allowed}); {fix}"
    if error.validator == "type":
        return f"{_short(error.instance)} should be of type {error.validator_value}; {fix}"
    if error.validator == "anyOf" and isinstance(error.instance, dict):
        return f"needs a name (HSDS 3.0) or a term (UK profile); {fix}"
    return f"{error.message}; {fix}"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ----------------------------------------------------------------------------------------------
# Export


def export_services(services: list[dict], organisations: dict[str, dict], categories: dict[str, dict]) -> list[dict]:
    """Our service records as ORUK service objects (a JSON array), each valid against the vendored schema.

    ``organisations`` and ``categories`` are keyed by id. Opening times are UK local time, so they are
    written without a UTC offset (which would be wrong for half of the year).
    """
    exported = []
    for service in services:
        organisation = organisations.get(service["organisation"])
        if organisation is None:
            raise ValueError(f"service '{service['id']}': unknown organisation '{service['organisation']}'")
        exported.append(_export_service(service, organisation, categories))
    return exported


def _export_service(service: dict, organisation: dict, categories: dict[str, dict]) -> dict:
    sid, checked = service["id"], str(service["checked"])
    record: dict[str, Any] = {"id": sid, "organization_id": organisation["id"], "name": service["name"],
                              "description": service["description"], "status": service["status"]}
    record.update({key: service[key] for key in ("url", "email") if service.get(key)})
    age = service.get("age") or {}
    record.update({oruk: age[ours] for ours, oruk in (("min", "minimum_age"), ("max", "maximum_age")) if ours in age})
    record.update({
        "assured_date": checked,
        "last_modified": f"{checked}T00:00:00.000Z",
        "organization": _export_organisation(organisation),
        "phones": _export_phones(service),
        "contacts": _export_contacts(service),
        "service_at_locations": _export_locations(service),
        "service_areas": _export_areas(service),
        "schedules": _export_schedules(service),
        "attributes": _export_attributes(service, categories),
        "x-signpost": _export_provenance(service, EXTRAS),
    })
    return record


def _export_provenance(item: dict, extras: Iterable[str] = ()) -> dict:
    keys = (*PROVENANCE, *extras)
    return {key: (str(item[key]) if key in ("checked", "review_by") else item[key]) for key in keys if key in item}


def _export_organisation(organisation: dict) -> dict:
    oid = organisation["id"]
    result = {"id": oid, "name": organisation["name"],
              "description": organisation.get("description") or organisation["name"],
              "website": organisation["url"]}
    number = organisation.get("charity_number")
    if number:
        result["organization_identifiers"] = [{
            "id": f"{oid}:charity", "organization_id": oid, "identifier_scheme": _charity_scheme(str(number)),
            "identifier_type": "Charity number", "identifier": str(number)}]
    result["x-signpost"] = _export_provenance(organisation)
    return result


def _charity_scheme(number: str) -> str:
    """The org-id.guide scheme of a charity number: Scotland SC..., Northern Ireland NIC..., else England and Wales."""
    if number.upper().startswith("SC"):
        return "GB-SC"
    return "GB-NIC" if number.upper().startswith("NI") else "GB-CHC"


def _export_phones(service: dict) -> list[dict]:
    sid, phones = service["id"], []
    if service.get("phone"):
        phones.append({"id": f"{sid}:phone", "service_id": sid, "number": service["phone"], "type": "voice"})
    if service.get("text"):
        text = service["text"]
        number = re.search(r"\d[\d ]*\d|\d", text)
        phones.append({"id": f"{sid}:text", "service_id": sid, "number": number.group().strip() if number else text,
                       "type": "text", "description": text})
    return phones


def _export_contacts(service: dict) -> list[dict]:
    if not service.get("email"):
        return []
    sid = service["id"]
    return [{"id": f"{sid}:contact", "service_id": sid, "name": service["name"], "email": service["email"]}]


def _export_locations(service: dict) -> list[dict]:
    address = service.get("address")
    if not address:
        return []
    sid, nations = service["id"], service.get("nations") or []
    location_id = f"{sid}:location"
    state = NATIONS[nations[0]] if len(nations) == 1 else "United Kingdom"
    oruk_address = {"id": f"{sid}:address", "location_id": location_id, "address_1": address["line"],
                    "city": address["town"], "state_province": state, "postal_code": address["postcode"],
                    "country": "GB", "address_type": "physical"}
    location = {"id": location_id, "location_type": "physical", "name": service["name"], "addresses": [oruk_address]}
    return [{"id": f"{sid}:at-location", "service_id": sid, "location_id": location_id, "location": location}]


def _export_areas(service: dict) -> list[dict]:
    """One service area per postcode area of a local service, or per nation of a national one."""
    sid = service["id"]
    if service.get("areas"):
        areas = [{"id": f"{sid}:area:{area}", "service_id": sid, "name": area, "extent_type": "postcode_area"}
                 for area in service["areas"]]
        if service.get("area_name"):
            areas.append({"id": f"{sid}:area:name", "service_id": sid, "name": service["area_name"],
                          "extent_type": "text"})
        return areas
    return [{"id": f"{sid}:area:{nation}", "service_id": sid, "name": NATIONS[nation], "extent_type": "nation"}
            for nation in service.get("nations") or []]


def _export_schedules(service: dict) -> list[dict]:
    sid = service["id"]
    if service.get("open_24_7"):
        return [_schedule(sid, 0, DAYS, "00:00", "23:59", notes="24 hours")]
    return [_schedule(sid, index, block["days"], block["opens"], block["closes"])
            for index, block in enumerate(service.get("hours") or [])]


def _schedule(sid: str, index: int, days: Iterable[str], opens: str, closes: str, **extra: str) -> dict:
    return {"id": f"{sid}:schedule:{index}", "service_id": sid, "freq": "WEEKLY",
            "byday": ",".join(RRULE_DAY[day] for day in days), "opens_at": opens, "closes_at": closes, **extra}


def _export_attributes(service: dict, categories: dict[str, dict]) -> list[dict]:
    """One attribute per category, then who, cancer types and nations as eligibility terms."""
    sid = service["id"]
    attributes = []
    for cid in service["categories"]:
        category = categories.get(cid, {})
        attributes.append(_attribute(sid, "category", cid, category.get("name", cid), CATEGORY_TAXONOMY,
                                     "Signpost categories", description=category.get("description")))
    for dimension, key in (("who", "who"), ("cancer_type", "cancer_types"), ("nation", "nations")):
        for value in service.get(key) or []:
            attributes.append(_attribute(sid, "eligibility", f"{dimension}:{value}", value, ELIGIBILITY_TAXONOMY,
                                         "Signpost eligibility", parent_id=dimension))
    return attributes


def _attribute(link_id: str, link_type: str, term_id: str, name: str, taxonomy_id: str, taxonomy: str,
               **extra: str | None) -> dict:
    term = {"id": term_id, "name": name, "term": name, "taxonomy": taxonomy, "taxonomy_id": taxonomy_id}
    term.update({key: value for key, value in extra.items() if value})
    return {"id": f"{link_id}:{term_id}", "link_id": link_id, "link_type": link_type,
            "taxonomy_term_id": term_id, "taxonomy_term": term}


# ----------------------------------------------------------------------------------------------
# Ids and phone numbers


def normalise_id(raw: str, prefix: str) -> str:
    """A snake_case id; one that would start with a digit gets ``prefix`` first ("lambeth_1042")."""
    text = unicodedata.normalize("NFKD", str(raw)).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9]+", "_", text).strip("_") or "service"
    return f"{prefix}_{text}" if text[0].isdigit() else text


def unique_id(base: str, used: set[str]) -> str:
    """``base``, or ``base_2``, ``base_3``... whichever is not in ``used`` yet; the result is added to ``used``."""
    candidate, number = base, 2
    while candidate in used:
        candidate, number = f"{base}_{number}", number + 1
    used.add(candidate)
    return candidate


def feed_slug(source: str) -> str:
    """A short name for a feed from its address: https://directory.lambeth.gov.uk/... -> 'lambeth'."""
    labels = [label for label in (urlparse(source).hostname or "").split(".") if label not in SKIP_HOST_LABELS]
    return normalise_id(labels[0], "feed") if labels else "feed"


def normalise_phone(raw: str) -> str:
    """A UK phone number as digits and single spaces: '+44 141 123 4567' -> '0141 123 4567'.

    Keeps the publisher's grouping when it is already UK-shaped, else groups the digits the usual
    way. Raises ValueError saying what is wrong when the number is not a UK number.
    """
    text = " ".join(re.sub(r"[()\-./]", " ", str(raw).replace("(0)", " ")).split())
    if not re.fullmatch(r"\+?[\d ]+", text):
        raise ValueError(f"'{raw}' is not a phone number (expected digits, spaces and perhaps a leading +44)")
    text = re.sub(r"^(\+|00) ?44 ?0?", "0", text)
    if text.startswith(("+", "00")):
        raise ValueError(f"'{raw}' is not a UK number (its country code is not +44)")
    digits = text.replace(" ", "")
    _check_uk_digits(raw, digits)
    return text if PHONE.match(text) else _group(digits)


def _check_uk_digits(raw: str, digits: str) -> None:
    if len(digits) == 8 and digits.startswith("0800"):  # the old 8-digit freephone lines, e.g. Childline 0800 1111
        return
    if digits.startswith("0"):
        if len(digits) not in (10, 11) or digits[1] not in "1235789":
            raise ValueError(f"'{raw}' is not UK-shaped: a UK number starting 01, 02, 03, 05, 07, 08 or 09 "
                             f"has 10 or 11 digits (this has {len(digits)})")
    elif not SHORT_CODE.match(digits):
        raise ValueError(f"'{raw}' is not UK-shaped: expected a number starting 0 (or +44), "
                         "or a short code like 111, 116 123 or 85258")


def _group(digits: str) -> str:
    """Digits in the usual UK groups: 020 7946 0123, 0141 123 4567, 01632 960 000, 0800 123 456."""
    if not digits.startswith("0"):
        sizes: tuple[int, ...] = (3, 3) if len(digits) == 6 else (len(digits),)
    elif len(digits) == 10:
        sizes = (4, 3, 3)
    elif digits.startswith("02"):
        sizes = (3, 4, 4)
    elif re.match(r"^01(1\d|\d1)", digits):
        sizes = (4, 3, 4)
    elif digits.startswith(("01", "07")):
        sizes = (5, 3, 3)
    else:
        sizes = (4, 3, 4)
    parts, start = [], 0
    for size in sizes:
        parts.append(digits[start:start + size])
        start += size
    return " ".join(parts)


# ----------------------------------------------------------------------------------------------
# Import


@dataclass
class _Notes:
    """Collects the problems of one record, with its place in the feed."""

    feed: str
    index: int
    record_id: str | None
    problems: list[ImportProblem]

    def add(self, where: str, message: str, skipped: bool = False) -> None:
        self.problems.append(ImportProblem(self.index, self.record_id, where, message, skipped, self.feed))


@dataclass
class _Context:
    """Settings of one import, and the ids given out so far."""

    categories: dict[str, str]  # term key -> category id
    source: str
    today: date
    owner: str
    default_nations: list[str]
    review_months: int
    prefix: str
    service_ids: set[str] = field(default_factory=set)
    organisation_ids: dict[str, str] = field(default_factory=dict)  # feed's organization id -> ours


@dataclass
class _Hours:
    open_24_7: bool = False
    hours: list[dict] = field(default_factory=list)
    note: str | None = None


def read_feed(path_or_url: str) -> Any:
    """The parsed JSON of a feed saved as a local file (download a URL first; this makes no network calls)."""
    if re.match(r"^[a-z]+://", path_or_url):
        raise ValueError(f"{path_or_url}: read_feed reads local files; download the feed first, then pass its path")
    return json.loads(Path(path_or_url).read_text(encoding="utf-8"))


def import_services(feed: Any, categories: dict[str, dict], *, source: str, today: date, owner: str = "content-team",
                    default_nations: list[str] | None = None, review_months: int = 6, id_prefix: str | None = None,
                    feed_name: str | None = None) -> ImportResult:
    """An ORUK feed (a list of services, a paginated page with ``contents``, or ``{"services": [...]}``)
    as organisations and services in our shape.

    Records that break the ORUK schema, match no category, name no nation or give no way to reach
    the service are reported and left out; every other record is kept, with smaller problems
    (a bad phone number, an expired schedule) reported. ``source`` is the https address of the feed;
    ``id_prefix`` (default: from the feed's host) goes before ids that start with a digit;
    ``feed_name`` (default: the last part of ``source``) labels the problems.
    """
    if not HTTPS.match(source):
        raise ValueError(f"source must be the feed's https:// address, not '{source}'")
    unknown = [nation for nation in default_nations or [] if nation not in NATIONS]
    if unknown:
        raise ValueError(f"default_nations: unknown {unknown}; use {', '.join(NATIONS)}")
    label = feed_name or PurePosixPath(urlparse(source).path).name or urlparse(source).netloc
    result = ImportResult(source=source, imported=today)
    context = _Context(_category_index(categories), source, today, owner, list(default_nations or []),
                       review_months, id_prefix or feed_slug(source))
    validator = oruk_validator()
    for index, record in enumerate(_feed_records(feed, label, result.problems)):
        record_id = record.get("id") if isinstance(record, dict) and isinstance(record.get("id"), str) else None
        notes = _Notes(label, index, record_id, result.problems)
        if _schema_ok(record, validator, notes):
            mapped = _map_record(record, context, notes)
            if mapped:
                _add(result, context, record, *mapped, notes)
    return result


def _feed_records(feed: Any, label: str, problems: list[ImportProblem]) -> list:
    """The service records of a feed, in any of the shapes ORUK publishers use."""
    if isinstance(feed, list):
        return feed
    if isinstance(feed, dict) and isinstance(feed.get("contents"), list):
        total = feed.get("total_items")
        if isinstance(total, int) and total > len(feed["contents"]):
            problems.append(ImportProblem(None, None, "total_items", (
                f"this page holds {len(feed['contents'])} of {total} services; fetch the other pages "
                "(?page=2 and so on) and import them too"), feed=label))
        return feed["contents"]
    if isinstance(feed, dict) and isinstance(feed.get("services"), list):
        return feed["services"]
    raise ValueError(f"{label}: not an ORUK feed; expected a list of services, a page with 'contents', "
                     "or an object with 'services'")


def _schema_ok(record: Any, validator: Draft202012Validator, notes: _Notes) -> bool:
    """Reports every way the record breaks the ORUK schema; True if it does not."""
    errors = sorted(validator.iter_errors(record), key=_path)
    for error in errors:
        notes.add(_path(error), _explain(error), skipped=True)
    return not errors


def _map_record(record: dict, context: _Context, notes: _Notes) -> tuple[dict, dict] | None:
    """(service, organisation) in our shape, without our ids yet; None if the record cannot be used."""
    eligibility = _eligibility(record, notes)
    texts = _texts(record, notes)
    categories = _categories(record, context.categories, notes)
    nations = _nations(record, eligibility, context.default_nations, notes)
    reach = _reach(record, notes)
    provenance = _provenance(record.get("x-signpost"), record.get("assured_date"), "assured_date", context, notes)
    fallback_url = reach.get("url", context.source) if reach else context.source
    organisation = _organisation(record.get("organization"), provenance, fallback_url, notes)
    if not (texts and categories and nations and reach and organisation):
        return None
    hours = _hours(record, context.today, notes)
    if record["status"] != "active":
        notes.add("status", f"'{record['status']}': imported as it is, but Signpost only shows active services")
    extras = record.get("x-signpost") or {}
    service = {
        "name": texts[0], "description": texts[1], "status": record["status"], "categories": categories,
        "who": eligibility.get("who") or _default_who(categories), "age": _age(record, notes),
        "cancer_types": eligibility.get("cancer_type"), "nations": nations, **_areas(record, extras),
        "phone": None, **reach,
        "open_24_7": hours.open_24_7, "hours": hours.hours,
        "hours_note": extras.get("hours_note") if extras else _hours_note(hours, reach),
        "bank_holidays": extras.get("bank_holidays", "closed"), "address": _address(record, notes),
        "synonyms": extras.get("synonyms"), **provenance}
    return service, organisation


def _add(result: ImportResult, context: _Context, record: dict, service: dict, organisation: dict,
         notes: _Notes) -> None:
    """Gives the service and (if new) its organisation our ids, and adds them to the result."""
    feed_org_id = organisation["id"]
    if feed_org_id not in context.organisation_ids:
        org_id = unique_id(normalise_id(feed_org_id, context.prefix), set(context.organisation_ids.values()))
        context.organisation_ids[feed_org_id] = org_id
        result.organisations.append(_ordered({**organisation, "id": org_id}, ORGANISATION_KEYS))
    base = normalise_id(record["id"], context.prefix)
    service_id = unique_id(base, context.service_ids)
    if service_id != base:
        notes.add("id", f"'{record['id']}' gives the id '{base}', which an earlier record already has; "
                        f"imported as '{service_id}' (the feed should give each service its own id)")
    organisation_id = context.organisation_ids[feed_org_id]
    result.services.append(_ordered({**service, "id": service_id, "organisation": organisation_id}, SERVICE_KEYS))


def _ordered(item: dict, keys: tuple[str, ...]) -> dict:
    """The item's keys in our reading order, leaving out empty optional values."""
    return {key: item[key] for key in keys
            if key in item and (key in ALWAYS_KEPT or item[key] not in (None, []))}


# -- text, categories, eligibility --------------------------------------------------------------


def _plain(text: str) -> str:
    """Text without HTML tags or runs of spaces."""
    return " ".join(html.unescape(TAG.sub(" ", text)).split())


def _shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a sentence end if there is one late enough, else at a word."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    end = cut.rfind(". ")
    return cut[: end + 1] if end >= limit // 4 else cut.rsplit(" ", 1)[0] + "…"


def _texts(record: dict, notes: _Notes) -> tuple[str, str] | None:
    """(name, description), or None when either cannot be shown to people."""
    name, description = _plain(record["name"]), _plain(record.get("description") or "")
    usable = True
    if not 2 <= len(name) <= 120:
        notes.add("name", f"{_short(name)} must be 2 to 120 characters; shorten it in the feed", skipped=True)
        usable = False
    if len(description) < 10:
        notes.add("description", "missing or under 10 characters; Signpost shows it to people, so ask the publisher "
                                 "for one or two sentences on what the service does and for whom", skipped=True)
        usable = False
    elif len(description) > 400:
        description = _shorten(description, 400)
        notes.add("description", "longer than 400 characters, so it was shortened; check that it still reads well")
    return (name, description) if usable else None


def _term_key(text: str) -> str:
    return " ".join(str(text).casefold().replace("_", " ").replace("&", " and ").replace("’", "'").split())


def _category_index(categories: dict[str, dict]) -> dict[str, str]:
    """Every id, name and ORUK term of our categories (lower case) -> category id."""
    index: dict[str, str] = {}
    for cid, category in categories.items():
        for term in (cid, category.get("name", ""), *(category.get("oruk_terms") or [])):
            index.setdefault(_term_key(term), cid)
    return index


def _categories(record: dict, index: dict[str, str], notes: _Notes) -> list[str]:
    """Our categories for the record's taxonomy terms (matched on id, name or term, ignoring case)."""
    found, unmatched = [], []
    for attribute in record.get("attributes") or []:
        term = attribute.get("taxonomy_term") or {}
        if term.get("taxonomy_id") == ELIGIBILITY_TAXONOMY:
            continue
        names = [term.get(key) for key in ("id", "name", "term", "code")] + [attribute.get("taxonomy_term_id")]
        matches = [index[_term_key(name)] for name in names if isinstance(name, str) and _term_key(name) in index]
        if matches:
            found.append(matches[0])
        else:
            unmatched.append(term.get("name") or term.get("term") or term.get("id") or attribute.get("id"))
    if not found:
        terms = ", ".join(repr(term) for term in unmatched) or "none"
        notes.add("attributes", f"no taxonomy term matches a Signpost category (terms: {terms}), so nobody could "
                                "find the service; add the term to the right category's oruk_terms in "
                                "knowledge/categories.yml and import again", skipped=True)
    return list(dict.fromkeys(found))


def _eligibility(record: dict, notes: _Notes) -> dict[str, list[str]]:
    """who, cancer_type and nation values from our eligibility attributes (``who:carer``...)."""
    allowed = {"who": set(WHO), "nation": set(NATIONS)}
    found: dict[str, list[str]] = {}
    for index, attribute in enumerate(record.get("attributes") or []):
        term = attribute.get("taxonomy_term") or {}
        if term.get("taxonomy_id") != ELIGIBILITY_TAXONOMY:
            continue
        dimension, _, value = str(term.get("id", "")).partition(":")
        valid = (dimension in allowed and value in allowed[dimension]) or \
            (dimension == "cancer_type" and bool(re.match(r"^[a-z][a-z _-]*$", value)))
        if not valid:
            notes.add(f"attributes[{index}].taxonomy_term.id", f"'{term.get('id')}' is not a Signpost eligibility "
                      "term (who:..., nation:... or cancer_type:...), so it was ignored")
        elif value not in found.setdefault(dimension, []):
            found[dimension].append(value)
    return found


def _default_who(categories: list[str]) -> list[str]:
    """Who a service from another directory is for: carers for carers' services, else patients and carers."""
    return ["carer"] if categories == ["carer_support"] else ["patient", "carer"]


def _nations(record: dict, eligibility: dict[str, list[str]], default: list[str], notes: _Notes) -> list[str]:
    """Nations from our eligibility terms, else the import's default, else nation-named service areas."""
    if eligibility.get("nation"):
        return eligibility["nation"]
    if default:
        return list(default)
    nations = [nation for area in record.get("service_areas") or [] for nation in _area_nations(area)]
    if not nations:
        notes.add("service_areas", "no nation found; import with default_nations (e.g. england for an English "
                                   "council's feed), or ask the publisher for a service area naming the nation",
                  skipped=True)
    return list(dict.fromkeys(nations))


def _area_nations(area: dict) -> list[str]:
    name = _term_key(area.get("name") or area.get("service_area") or "")
    if name in ("uk", "united kingdom"):
        return list(NATIONS)
    return [nation for nation, title in NATIONS.items() if _term_key(title) == name]


# -- contact details --------------------------------------------------------------------------


def _reach(record: dict, notes: _Notes) -> dict[str, str] | None:
    """phone, text, email and url; None (and a problem) if none of them is usable."""
    fields = {**_phone_fields(record, notes), **_web_fields(record, notes)}
    if not fields:
        notes.add("phones", "no usable phone number, text number, email or https:// url, so people could not "
                            "reach the service; ask the publisher for one", skipped=True)
        return None
    return fields


def _phones(record: dict) -> Iterator[tuple[str, dict]]:
    """(field path, phone) for the service's phones, then its contacts' phones."""
    for index, phone in enumerate(record.get("phones") or []):
        yield f"phones[{index}]", phone
    for c, contact in enumerate(record.get("contacts") or []):
        for index, phone in enumerate(contact.get("phones") or []):
            yield f"contacts[{c}].phones[{index}]", phone


def _phone_kind(phone: dict) -> str | None:
    """'phone' for a voice line, 'text' for SMS, None for fax, pager, textphone or video."""
    kind = str(phone.get("type") or "").casefold()
    if kind in ("text", "sms") or not kind and re.search(r"\b(text|sms)\b", str(phone.get("description", "")), re.I):
        return "text"
    return None if kind in ("fax", "pager", "textphone", "video") else "phone"


def _phone_fields(record: dict, notes: _Notes) -> dict[str, str]:
    """The first usable voice number as phone, and the first text number as text."""
    fields: dict[str, str] = {}
    for where, phone in _phones(record):
        kind = _phone_kind(phone)
        if kind is None or kind in fields:
            continue
        try:
            number = normalise_phone(phone["number"])
        except ValueError as exc:
            notes.add(f"{where}.number", f"{exc}; the number was left out, so correct it in the feed or add the "
                                         "right number by hand")
            continue
        fields[kind] = number if kind == "phone" else _text_instruction(phone, number)
    return fields


def _text_instruction(phone: dict, number: str) -> str:
    """How to text: the description if it includes the number ('SHOUT to 85258'), else the number."""
    description = " ".join(str(phone.get("description") or "").split())
    digits = number.replace(" ", "")
    return description if digits in re.sub(r"\D", "", description) and 3 <= len(description) <= 60 else number


def _web_fields(record: dict, notes: _Notes) -> dict[str, str]:
    fields = {}
    url = (record.get("url") or "").strip()
    if url and HTTPS.match(url):
        fields["url"] = url
    elif url:
        notes.add("url", f"'{url}' is not an https:// address, so it was left out; ask the publisher for the "
                         "secure address")
    emails = [record.get("email")] + [contact.get("email") for contact in record.get("contacts") or []]
    email = next((value.strip() for value in emails if value), None)
    if email and EMAIL.match(email):
        fields["email"] = email
    elif email:
        notes.add("email", f"'{email}' is not an email address, so it was left out")
    return fields


# -- hours ---------------------------------------------------------------------------------------


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _clock(value: Any, closing: bool = False) -> str | None:
    """'HH:MM' from '09:00', '09:00:00' or '09:00Z' (times are taken as UK local); closing at midnight is 23:59."""
    match = CLOCK.match(str(value or "").strip())
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if closing and (hour, minute) in ((0, 0), (24, 0)):
        return "23:59"
    return f"{hour:02d}:{minute:02d}" if hour < 24 and minute < 60 else None


def _days(byday: Any) -> list[str]:
    """['mon', 'tue'] from 'MO,TU'; [] if any part is not a plain weekday."""
    codes = [code.strip().upper() for code in str(byday or "").split(",") if code.strip()]
    if not codes or any(code not in FROM_RRULE for code in codes):
        return []
    return list(dict.fromkeys(FROM_RRULE[code] for code in codes))


def _in_force(schedule: dict, where: str, today: date, notes: _Notes) -> bool:
    """False (with a problem) for a schedule that has ended or has not started yet."""
    valid_to, valid_from = _date(schedule.get("valid_to")), _date(schedule.get("valid_from"))
    if valid_to and valid_to < today:
        notes.add(f"{where}.valid_to", f"this schedule ended on {valid_to}, so it was ignored; ask the publisher "
                                       "for the current opening times")
        return False
    if valid_from and valid_from > today:
        notes.add(f"{where}.valid_from", f"this schedule starts on {valid_from}, so it was ignored; import again "
                                         "after that date")
        return False
    return True


def _schedule_block(schedule: dict, where: str, today: date, notes: _Notes) -> dict | None:
    """One weekly block of our hours from an ORUK schedule, or None (with a problem) if it cannot be one."""
    if not _in_force(schedule, where, today, notes):
        return None
    freq, interval = str(schedule.get("freq") or "WEEKLY").upper(), schedule.get("interval") or 1
    if freq != "WEEKLY" or interval != 1:
        notes.add(f"{where}.freq", f"{freq} every {interval}: Signpost's hours repeat every week, so this schedule "
                                   "was ignored; describe it in hours_note by hand")
        return None
    days, opens = _days(schedule.get("byday")), _clock(schedule.get("opens_at"))
    closes = _clock(schedule.get("closes_at"), closing=True)
    if not (days and opens and closes and opens < closes):
        notes.add(where, f"cannot read byday {schedule.get('byday')!r}, opens_at {schedule.get('opens_at')!r}, "
                         f"closes_at {schedule.get('closes_at')!r} (expected e.g. 'MO,TU', '09:00', '17:00'), so "
                         "this schedule was ignored")
        return None
    return {"days": days, "opens": opens, "closes": closes}


def _hours(record: dict, today: date, notes: _Notes) -> _Hours:
    """Weekly opening hours from the record's schedules; all week 00:00-23:59 means open 24/7."""
    blocks, texts = [], []
    for index, schedule in enumerate(record.get("schedules") or []):
        block = _schedule_block(schedule, f"schedules[{index}]", today, notes)
        if block:
            blocks.append(block)
            texts += [_plain(schedule[key]) for key in ("description", "notes") if schedule.get(key)]
    if any(len(block["days"]) == 7 and (block["opens"], block["closes"]) == ("00:00", "23:59") for block in blocks):
        return _Hours(open_24_7=True)
    note = next((text for text in texts if len(text) <= 120 and text != "24 hours"), None)
    return _Hours(hours=blocks, note=note)


def _hours_note(hours: _Hours, reach: dict[str, str]) -> str | None:
    """The schedules' own note; or, for a phone line with no hours we can use, a prompt to check them."""
    if hours.note or hours.open_24_7 or hours.hours or not ({"phone", "text"} & reach.keys()):
        return hours.note
    return DEFAULT_HOURS_NOTE


# -- places ---------------------------------------------------------------------------------------


def _areas(record: dict, extras: dict) -> dict[str, Any]:
    """areas (postcode areas) and area_name of a local service."""
    service_areas = record.get("service_areas") or []
    areas = [str(area.get("name", "")).strip().upper() for area in service_areas
             if area.get("extent_type") == "postcode_area"]
    areas = [area for area in areas if AREA.match(area)]
    national = any(_area_nations(area) for area in service_areas)
    if not areas and not national:
        areas = [match.group(1) for match in map(POSTCODE.match, _postcodes(record)) if match]
    if extras:
        area_name = extras.get("area_name")
    else:
        names = [area.get("name") or area.get("service_area") for area in service_areas
                 if area.get("extent_type") not in ("postcode_area", "nation") and not _area_nations(area)]
        area_name = next((_plain(name) for name in names if name and len(_plain(name)) <= 80), None)
    return {"areas": list(dict.fromkeys(areas)), "area_name": area_name}


def _clean_postcode(value: Any) -> str:
    """'se11 5qy' or 'SE115QY' -> 'SE11 5QY' (not checked)."""
    text = "".join(str(value or "").upper().split())
    return f"{text[:-3]} {text[-3:]}" if len(text) > 4 else text


def _physical_addresses(record: dict) -> Iterator[tuple[str, dict]]:
    for i, link in enumerate(record.get("service_at_locations") or []):
        for j, address in enumerate((link.get("location") or {}).get("addresses") or []):
            if address.get("address_type", "physical") == "physical":
                yield f"service_at_locations[{i}].location.addresses[{j}]", address


def _postcodes(record: dict) -> list[str]:
    return [_clean_postcode(address.get("postal_code")) for _, address in _physical_addresses(record)]


def _address(record: dict, notes: _Notes) -> dict | None:
    """Our address from the first physical address, if it is a UK one we can read."""
    for where, address in _physical_addresses(record):
        postcode = _clean_postcode(address.get("postal_code"))
        if str(address.get("country", "GB")).strip().upper() not in ("GB", "UK", "UNITED KINGDOM"):
            notes.add(f"{where}.country", f"{address.get('country')!r} is not GB, so the address was left out")
        elif not POSTCODE.match(postcode):
            notes.add(f"{where}.postal_code", f"{address.get('postal_code')!r} is not a UK postcode, so the address "
                                              "was left out; correct it in the feed or add the address by hand")
        else:
            line, town = _plain(address["address_1"]), _plain(address["city"])
            return {"line": line[:200], "town": town[:80], "postcode": postcode}
        return None
    return None


def _age(record: dict, notes: _Notes) -> dict | None:
    age = {}
    for key, ours in (("minimum_age", "min"), ("maximum_age", "max")):
        value = record.get(key)
        if value is None:
            continue
        if float(value).is_integer() and 0 <= value <= 120:
            age[ours] = int(value)
        else:
            notes.add(key, f"{value!r} is not a whole number of years from 0 to 120, so it was left out")
    return age or None


# -- provenance and organisations -----------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day if it is shorter): 31 Aug + 6 -> 28/29 Feb."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(f"cannot add {months} months to {day}")


def _checked(value: Any, where: str, today: date, notes: _Notes) -> date:
    """The publisher's assured date, or today if there is none usable."""
    if value is None:
        return today
    checked = _date(value)
    if checked is None or checked > today:
        notes.add(where, f"{value!r} is not a past date (YYYY-MM-DD), so today was used as the checked date")
        return today
    return checked


def _provenance(extras: dict | None, assured: Any, where: str, context: _Context, notes: _Notes) -> dict[str, str]:
    """source, checked, review_by and owner: from x-signpost if the record has it, else from the feed."""
    if extras:
        provenance = {key: extras[key] for key in PROVENANCE}
    else:
        checked = _checked(assured, where, context.today, notes)
        provenance = {"source": context.source, "checked": checked.isoformat(),
                      "review_by": add_months(checked, context.review_months).isoformat(), "owner": context.owner}
    if provenance["review_by"] < context.today.isoformat():
        notes.add(where if not extras else "x-signpost.review_by",
                  f"last checked {provenance['checked']}, so review was due by {provenance['review_by']}; check the "
                  "service against its source, then update checked and review_by")
    return provenance


def _charity_number(organization: dict) -> str | None:
    for identifier in organization.get("organization_identifiers") or []:
        scheme, kind = str(identifier.get("identifier_scheme", "")), str(identifier.get("identifier_type", ""))
        if scheme in ("GB-CHC", "GB-SC", "GB-NIC") or "charity" in kind.casefold():
            return str(identifier["identifier"]).strip()[:40]
    return None


def _organisation(raw: Any, provenance: dict[str, str], fallback_url: str, notes: _Notes) -> dict | None:
    """The organisation in our shape, still with the feed's id; None if the record has none.

    Without an https website, the organisation gets ``fallback_url`` (the service's page, else the feed's).
    """
    if not isinstance(raw, dict):
        notes.add("organization", "missing; Signpost needs to know who runs the service, so ask the publisher to "
                                  "include the organization", skipped=True)
        return None
    name = _plain(raw["name"])
    if not 2 <= len(name) <= 120:
        notes.add("organization.name", f"{_short(name)} must be 2 to 120 characters", skipped=True)
        return None
    website = (raw.get("website") or "").strip()
    if not HTTPS.match(website):
        notes.add("organization.website", f"{website or 'missing'}: not an https:// address, so {fallback_url} "
                                          "was used instead; add the organisation's website by hand")
        website = fallback_url
    description = _shorten(_plain(raw.get("description") or ""), 400)
    extras = raw.get("x-signpost")
    return {"id": raw["id"], "name": name, "url": website,
            "description": description if description and description != name else None,
            "charity_number": _charity_number(raw),
            **({key: extras[key] for key in PROVENANCE} if extras else provenance)}


# ----------------------------------------------------------------------------------------------
# Writing a services file


class _Quoted(str):
    """A string written in double quotes (dates, times, phone numbers, postcode areas)."""


class _FlowList(list):
    """A list of plain values, written on one line: [mon, tue]."""


class _Dumper(yaml.SafeDumper):
    """Block mappings, one-line lists of values, and lists indented under their key, as in our services files."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        return super().increase_indent(flow, False)


_Dumper.add_representer(_Quoted, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", str(value),
                                                                               style='"'))
_Dumper.add_representer(_FlowList, lambda dumper, value: dumper.represent_sequence("tag:yaml.org,2002:seq", value,
                                                                                   flow_style=True))
_Dumper.add_representer(dict, lambda dumper, value: dumper.represent_mapping("tag:yaml.org,2002:map", value,
                                                                             flow_style=False))
QUOTED_KEYS = {"checked", "review_by", "phone", "opens", "closes", "areas", "charity_number"}


def _quote(value: Any, key: str | None = None) -> Any:
    """The value ready to dump: quoted dates, times, numbers and areas; one-line lists of plain values."""
    if isinstance(value, dict):
        return {k: _quote(v, k) for k, v in value.items()}
    if isinstance(value, list):
        items = [_quote(v, key) for v in value]
        return _FlowList(items) if all(not isinstance(v, (dict, list)) for v in items) else items
    return _Quoted(value) if isinstance(value, str) and key in QUOTED_KEYS else value


def _comment(text: str) -> list[str]:
    return [line if line.startswith("#") else f"# {line}".rstrip() for line in text.splitlines()]


def default_header(result: ImportResult) -> str:
    """Where and when an import came from, and what to do with it."""
    when = result.imported.isoformat() if result.imported else "an unknown date"
    return (f"Imported from the Open Referral UK feed {result.source or '(unknown)'} on {when}\n"
            "by signposting.oruk. Check each entry against its source before publishing;\n"
            "fields are described in knowledge/README.md and schemas/services.schema.json.")


def write_yaml(result: ImportResult, path: Path, header: str | None = None) -> None:
    """Writes the import as a services file: a header comment, the problems, then organisations and services."""
    lines = _comment(header or default_header(result))
    if result.problems:
        lines += ["#", "# Problems found while importing (fix them at source or by hand):"]
        lines += [f"#   - {problem}" for problem in result.problems]
    body = {"organisations": [_ordered(o, ORGANISATION_KEYS) for o in result.organisations],
            "services": [_ordered(s, SERVICE_KEYS) for s in result.services]}
    text = yaml.dump(_quote(body), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096,
                     default_flow_style=None)
    text = re.sub(r"^(  - id: )", r"\n\1", text, flags=re.M)
    text = re.sub(r"^services:", "\nservices:", text, flags=re.M)
    Path(path).write_text("\n".join(lines) + "\n\n" + text, encoding="utf-8")
