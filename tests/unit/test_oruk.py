"""Open Referral UK (HSDS 3.0 UK profile): export, import and the vendored schema.

Loads YAML directly (not through signposting.knowledge) so these tests depend only on the files.
"""
from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from signposting import oruk

ROOT = Path(__file__).resolve().parents[2]
FEED = ROOT / "tests" / "fixtures" / "oruk" / "lambeth_feed.json"
LAMBETH = "https://directory.lambeth.example/api/services"
TODAY = date(2026, 11, 23)


def load_yaml(rel: str) -> dict:
    return yaml.safe_load((ROOT / rel).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def categories() -> dict[str, dict]:
    return {category["id"]: category for category in load_yaml("knowledge/categories.yml")["categories"]}


@pytest.fixture(scope="module")
def national() -> dict:
    return load_yaml("knowledge/services/national.yml")


SERVICE_FILES = sorted(path.name for path in (ROOT / "knowledge" / "services").glob("*.yml"))


@pytest.fixture(scope="module")
def all_organisations() -> dict[str, dict]:
    """Organisations from every services file (a service may use one defined in another file)."""
    files = [load_yaml(f"knowledge/services/{name}") for name in SERVICE_FILES]
    return {o["id"]: o for data in files for o in data.get("organisations") or []}


@pytest.fixture(scope="module")
def services_validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads((ROOT / "knowledge/schemas/services.schema.json").read_text()))


def oruk_errors(record: dict) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in oruk.oruk_validator().iter_errors(record)]


def our_errors(validator: Draft202012Validator, organisations: list, services: list) -> list[str]:
    document = {"organisations": organisations, "services": services}
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def by_id(items: list[dict]) -> dict[str, dict]:
    return {item["id"]: item for item in items}


def import_lambeth(feed, categories, **options) -> oruk.ImportResult:
    options = {"source": LAMBETH, "today": TODAY, "default_nations": ["england"], "feed_name": "lambeth_feed.json",
               **options}
    return oruk.import_services(feed, categories, **options)


def foreign(**overrides) -> dict:
    """A minimal valid ORUK record from someone else's directory."""
    record = {"id": "svc-1", "name": "Test Carers Service", "status": "active",
              "description": "Advice and breaks for unpaid carers in the borough.", "url": "https://example.org.uk/s",
              "organization": {"id": "org-1", "name": "Test Org", "description": "A charity.",
                               "website": "https://example.org.uk"},
              "attributes": [{"id": "a1", "taxonomy_term": {"id": "t1", "name": "Carers", "taxonomy": "test"}}]}
    record.update(overrides)
    return record


ORGANISATION = {"id": "example_charity", "name": "Example Charity", "url": "https://example.org.uk",
                "charity_number": "SC012345", "source": "https://example.org.uk/about", "checked": "2026-11-01",
                "review_by": "2027-05-01", "owner": "content-team"}
LOCAL = {
    "id": "glasgow_cancer_drop_in", "organisation": "example_charity", "name": "Glasgow Cancer Drop-in",
    "description": "A drop-in centre in Glasgow with support workers for anyone affected by cancer.",
    "status": "active", "categories": ["emotional_support", "information"], "who": ["patient", "carer"],
    "age": {"min": 16, "max": 99}, "cancer_types": ["breast"], "nations": ["scotland"], "areas": ["G", "PA"],
    "area_name": "Glasgow and Paisley", "phone": "0141 123 4567", "email": "hello@example.org.uk",
    "url": "https://example.org.uk/glasgow", "open_24_7": False,
    "hours": [{"days": ["mon", "tue"], "opens": "09:30", "closes": "17:00"},
              {"days": ["sat"], "opens": "10:00", "closes": "13:00"}],
    "hours_note": "Closed for lunch 1pm to 2pm", "bank_holidays": "closed",
    "address": {"line": "1 Example Street", "town": "Glasgow", "postcode": "G1 1AA"},
    "synonyms": ["drop in", "glasgow centre"], "source": "https://example.org.uk/glasgow", "checked": "2026-11-01",
    "review_by": "2027-05-01", "owner": "content-team"}
TEXT_LINE = {
    "id": "example_text_line", "organisation": "example_charity", "name": "Example Text Line",
    "description": "Free, confidential text support at any time for anyone who is struggling to cope.",
    "status": "active", "categories": ["crisis_support"], "who": ["patient", "carer"],
    "nations": ["england", "scotland", "wales", "northern_ireland"], "phone": None, "text": "SHOUT to 85258",
    "url": "https://example.org.uk/text", "open_24_7": True, "hours": [], "bank_holidays": "open",
    "source": "https://example.org.uk/text", "checked": "2026-11-01", "review_by": "2027-05-01",
    "owner": "content-team"}


# -- the vendored schema ----------------------------------------------------------------------


def test_vendored_schema_is_draft_2020_12_and_names_its_source():
    schema = oruk.oruk_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "OpenReferralUK/uk-profile" in schema["$comment"] and "CC BY-SA 4.0" in schema["$comment"]
    assert schema["required"] == ["id", "name", "status"]
    assert schema["$defs"]["organization"]["required"] == ["id", "name", "description"]
    assert schema["properties"]["status"]["enum"] == ["active", "inactive", "defunct", "temporarily closed"]


def test_vendored_schema_rejects_a_bad_status_and_a_nameless_organisation():
    record = foreign(status="closed", organization={"id": "o", "description": "x"})
    assert len(oruk_errors(record)) == 2


# -- export ------------------------------------------------------------------------------------


def test_export_of_national_services_validates(national, categories):
    organisations = by_id(national["organisations"])
    exported = oruk.export_services(national["services"], organisations, categories)
    assert len(exported) == len(national["services"])
    for record in exported:
        assert oruk_errors(record) == [], record["id"]


def test_export_maps_the_fields(national, categories):
    service = by_id(national["services"])["macmillan_support_line"]
    [record] = oruk.export_services([service], by_id(national["organisations"]), categories)
    assert record["status"] == "active" and record["url"] == service["url"]
    assert record["organization"]["website"] == "https://www.macmillan.org.uk"
    assert record["phones"] == [{"id": "macmillan_support_line:phone", "service_id": "macmillan_support_line",
                                 "number": "0808 808 00 00", "type": "voice"}]
    assert record["schedules"][0] | {"id": None} == {
        "id": None, "service_id": "macmillan_support_line", "freq": "WEEKLY", "byday": "MO,TU,WE,TH,FR,SA,SU",
        "opens_at": "08:00", "closes_at": "20:00"}
    assert [(a["name"], a["extent_type"]) for a in record["service_areas"]] == [
        ("England", "nation"), ("Scotland", "nation"), ("Wales", "nation"), ("Northern Ireland", "nation")]
    terms = [a["taxonomy_term"] for a in record["attributes"]
             if a["taxonomy_term"]["taxonomy_id"] == oruk.CATEGORY_TAXONOMY]
    assert [t["id"] for t in terms] == service["categories"]
    assert terms[0]["name"] == categories["information"]["name"]
    assert record["assured_date"] == "2026-11-23"
    assert record["x-signpost"]["source"] == service["source"]
    assert record["x-signpost"]["bank_holidays"] == "reduced"


def test_export_of_a_local_service_and_a_24_7_text_line(categories):
    local, text = oruk.export_services([LOCAL, TEXT_LINE], {"example_charity": ORGANISATION}, categories)
    assert oruk_errors(local) == [] and oruk_errors(text) == []
    address = local["service_at_locations"][0]["location"]["addresses"][0]
    assert (address["address_1"], address["city"], address["postal_code"], address["country"]) == (
        "1 Example Street", "Glasgow", "G1 1AA", "GB")
    assert address["state_province"] == "Scotland"
    assert [(a["name"], a["extent_type"]) for a in local["service_areas"]][:2] == [
        ("G", "postcode_area"), ("PA", "postcode_area")]
    assert (local["minimum_age"], local["maximum_age"]) == (16, 99)
    assert local["organization"]["organization_identifiers"][0]["identifier_scheme"] == "GB-SC"
    assert text["schedules"] == [{"id": "example_text_line:schedule:0", "service_id": "example_text_line",
                                  "freq": "WEEKLY", "byday": "MO,TU,WE,TH,FR,SA,SU", "opens_at": "00:00",
                                  "closes_at": "23:59", "notes": "24 hours"}]
    assert text["phones"][0] | {"id": None} == {"id": None, "service_id": "example_text_line", "number": "85258",
                                                "type": "text", "description": "SHOUT to 85258"}


def test_export_names_an_unknown_organisation(categories):
    with pytest.raises(ValueError, match="unknown organisation 'example_charity'"):
        oruk.export_services([LOCAL], {}, categories)


@pytest.mark.parametrize("name", SERVICE_FILES)
def test_export_of_every_services_file_validates(name, all_organisations, categories):
    services = load_yaml(f"knowledge/services/{name}")["services"]
    for record in oruk.export_services(services, all_organisations, categories):
        assert oruk_errors(record) == [], record["id"]


# -- round trip --------------------------------------------------------------------------------


def test_round_trip_of_national_services_gives_back_the_same_records(national, categories):
    exported = oruk.export_services(national["services"], by_id(national["organisations"]), categories)
    result = oruk.import_services(exported, categories, source="https://signpost.example/oruk.json", today=TODAY)
    assert result.problems == []
    assert result.services == national["services"]
    used = {service["organisation"] for service in national["services"]}  # in order of first use
    assert by_id(result.organisations) == {o["id"]: o for o in national["organisations"] if o["id"] in used}


@pytest.mark.parametrize("name", SERVICE_FILES)
def test_round_trip_of_every_services_file(name, all_organisations, categories):
    services = load_yaml(f"knowledge/services/{name}")["services"]
    exported = json.loads(json.dumps(oruk.export_services(services, all_organisations, categories)))
    result = oruk.import_services(exported, categories, source="https://signpost.example/oruk.json", today=TODAY)
    assert [p for p in result.problems if p.field != "status"] == []
    assert result.services == services
    assert result.organisations == [all_organisations[o["id"]] for o in result.organisations]


def test_round_trip_of_local_and_24_7_services(categories, services_validator):
    assert our_errors(services_validator, [ORGANISATION], [LOCAL, TEXT_LINE]) == []
    exported = oruk.export_services([LOCAL, TEXT_LINE], {"example_charity": ORGANISATION}, categories)
    result = oruk.import_services(json.loads(json.dumps(exported)), categories,
                                  source="https://signpost.example/oruk.json", today=TODAY)
    assert result.problems == []
    assert result.services == [LOCAL, TEXT_LINE]
    assert result.organisations == [ORGANISATION]


# -- importing a council's feed ------------------------------------------------------------------


@pytest.fixture(scope="module")
def lambeth_feed() -> dict:
    return oruk.read_feed(str(FEED))


@pytest.fixture(scope="module")
def lambeth(lambeth_feed, categories) -> oruk.ImportResult:
    return import_lambeth(lambeth_feed, categories)


def test_fixture_is_a_realistic_paginated_feed(lambeth_feed):
    assert lambeth_feed["total_items"] == len(lambeth_feed["contents"]) == 8
    invalid = [i for i, record in enumerate(lambeth_feed["contents"]) if oruk_errors(record)]
    assert invalid == [4]  # only the record with no name breaks the ORUK schema


def test_lambeth_imports_every_usable_record_and_loses_nothing_valid(lambeth, lambeth_feed):
    assert lambeth.not_imported == [4, 6]
    kept = [i for i in range(len(lambeth_feed["contents"])) if i not in lambeth.not_imported]
    assert len(lambeth.services) == len(kept) == 6
    assert [s["name"] for s in lambeth.services] == [lambeth_feed["contents"][i]["name"] for i in kept]
    assert [o["name"] for o in lambeth.organisations] == [
        "Lambeth Carers Hub", "Brixton Community Food Bank", "Lambeth Befriending Network", "Lambeth Council"]


def test_lambeth_reports_each_bad_record_with_its_place_id_and_field(lambeth):
    found = {(p.index, p.record_id, p.field, p.skipped) for p in lambeth.problems}
    assert found == {
        (1, "1042", "organization.website", False),
        (3, "e9a8b7c6-1d2e-4f3a-8b4c-5d6e7f8a9b04", "phones[0].number", False),
        (4, "f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a05", "name", True),
        (5, "0c9b8a7d-6e5f-4a3b-9c2d-1e0f9a8b7c06", "status", False),
        (6, "d4c3b2a1-9f8e-4d7c-8b6a-5f4e3d2c1b07", "attributes", True),
        (7, "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c08", "schedules[0].valid_to", False),
    }
    messages = {p.field: p.message for p in lambeth.problems}
    assert "'0207 946 01' is not UK-shaped" in messages["phones[0].number"]
    assert "'Parks and open spaces', 'Volunteering'" in messages["attributes"]
    assert "oruk_terms" in messages["attributes"]
    assert "ended on 2025-03-31" in messages["schedules[0].valid_to"]


def test_lambeth_records_are_mapped_to_our_shape(lambeth):
    services = by_id(lambeth.services)
    hub = services["c6e1f2a4_5b1d_4e0a_9d3b_1f2a3b4c5d01"]
    assert hub["categories"] == ["carer_support"] and hub["who"] == ["carer"]
    assert hub["description"].startswith("Free information, advice and short breaks for unpaid carers")
    assert hub["phone"] == "020 7946 0123"
    assert hub["address"] == {"line": "336 Brixton Road", "town": "London", "postcode": "SW9 7AA"}
    assert (hub["areas"], hub["area_name"], hub["nations"]) == (["SW"], "Lambeth", ["england"])
    assert hub["hours"] == [{"days": ["mon", "tue", "wed", "thu", "fri"], "opens": "09:00", "closes": "17:00"}]
    assert (hub["source"], hub["checked"], hub["review_by"], hub["owner"]) == (
        LAMBETH, "2026-09-14", "2027-03-14", "content-team")
    food = services["lambeth_1042"]
    assert food["categories"] == ["money_advice"] and len(food["hours"]) == 2
    befriending = services["b3f1d2c4_7e6a_4b5c_8d9e_0a1b2c3d4e03"]
    assert befriending["areas"] == ["SE", "SW"] and befriending["age"] == {"min": 50}
    money = services["e9a8b7c6_1d2e_4f3a_8b4c_5d6e7f8a9b04"]
    assert money["phone"] is None and money["url"] == "https://www.lambeth.example/money-advice"
    assert services["lambeth_0c9b8a7d_6e5f_4a3b_9c2d_1e0f9a8b7c06"]["status"] == "defunct"
    drop_in = services["a0b1c2d3_e4f5_4a6b_8c7d_9e0f1a2b3c08"]
    assert drop_in["hours"] == [] and drop_in["hours_note"] == oruk.DEFAULT_HOURS_NOTE
    assert drop_in["categories"] == ["information", "emotional_support"]


def test_lambeth_organisations(lambeth):
    organisations = by_id(lambeth.organisations)
    assert organisations["a1b2c3d4_0000_4000_8000_000000000001"]["charity_number"] == "1234567"
    food_bank = organisations["org_brixton_food_bank"]
    assert food_bank["url"] == "https://brixtonfoodbank.example/get-help"  # its website was http://
    assert "description" not in food_bank  # it only repeated the name


def test_lambeth_import_validates_against_our_services_schema(lambeth, services_validator):
    assert our_errors(services_validator, lambeth.organisations, lambeth.services) == []


def test_problem_reads_as_file_record_id_field_message(lambeth):
    problem = next(p for p in lambeth.problems if p.index == 3)
    assert str(problem).startswith("lambeth_feed.json: record 3 (id 'e9a8b7c6-1d2e-4f3a-8b4c-5d6e7f8a9b04'): "
                                   "phones[0].number: '0207 946 01' is not UK-shaped")
    skipped = next(p for p in lambeth.problems if p.index == 4)
    assert str(skipped).endswith("[record not imported]")


# -- feed shapes -----------------------------------------------------------------------------------


def test_bare_list_and_services_object_import_like_the_page(lambeth_feed, lambeth, categories):
    for feed in (lambeth_feed["contents"], {"services": lambeth_feed["contents"]}):
        result = import_lambeth(copy.deepcopy(feed), categories)
        assert result.services == lambeth.services and result.problems == lambeth.problems


def test_a_partial_page_is_reported(lambeth_feed, categories):
    page = {**lambeth_feed, "total_items": 40, "total_pages": 5}
    result = import_lambeth(page, categories)
    [feed_problem] = [p for p in result.problems if p.index is None]
    assert feed_problem.field == "total_items" and "8 of 40" in feed_problem.message
    assert str(feed_problem).startswith("lambeth_feed.json: total_items: ")


def test_something_that_is_not_a_feed_is_refused(categories):
    with pytest.raises(ValueError, match="not an ORUK feed"):
        import_lambeth({"items": []}, categories)


def test_source_must_be_https(categories):
    with pytest.raises(ValueError, match="https"):
        oruk.import_services([], categories, source="http://example.org.uk/feed", today=TODAY)


def test_read_feed_reads_local_json_only(tmp_path):
    path = tmp_path / "feed.json"
    path.write_text(json.dumps([foreign()]), encoding="utf-8")
    assert oruk.read_feed(str(path)) == [foreign()]
    with pytest.raises(ValueError, match="local files"):
        oruk.read_feed("https://example.org.uk/feed.json")


# -- record-level rules ----------------------------------------------------------------------------


def test_every_schema_error_of_a_record_is_reported_and_the_rest_kept(categories):
    bad = foreign(id="bad", status="closed", phones=[{"id": "p1"}])
    del bad["name"]
    result = import_lambeth([bad, foreign(id="good")], categories)
    assert {p.field for p in result.problems} == {"name", "status", "phones[0].number"}
    assert all(p.index == 0 and p.skipped for p in result.problems)
    assert [s["id"] for s in result.services] == ["good"]


def test_nations_from_service_areas_when_there_is_no_default(categories):
    areas = [{"id": "sa1", "name": "Wales", "extent_type": "nation"}]
    result = oruk.import_services([foreign(service_areas=areas), foreign(id="nowhere")], categories,
                                  source=LAMBETH, today=TODAY)
    assert result.services[0]["nations"] == ["wales"] and "areas" not in result.services[0]
    assert [(p.index, p.field, p.skipped) for p in result.problems] == [(1, "service_areas", True)]


def test_assured_date_sets_checked_and_review_by(categories):
    result = import_lambeth([foreign(assured_date="2026-08-31"), foreign(id="undated")], categories,
                            review_months=6, owner="local-team")
    dated, undated = result.services
    assert (dated["checked"], dated["review_by"], dated["owner"]) == ("2026-08-31", "2027-02-28", "local-team")
    assert (undated["checked"], undated["review_by"]) == ("2026-11-23", "2027-05-23")


def test_an_old_assured_date_is_kept_but_flagged_for_review(categories):
    result = import_lambeth([foreign(assured_date="2025-01-10")], categories)
    assert result.services[0]["review_by"] == "2025-07-10"
    [problem] = result.problems
    assert problem.field == "assured_date" and not problem.skipped and "review was due" in problem.message


def test_schedules_all_week_round_the_clock_mean_open_24_7(categories):
    schedule = {"id": "s1", "freq": "WEEKLY", "byday": "MO,TU,WE,TH,FR,SA,SU", "opens_at": "00:00",
                "closes_at": "24:00"}
    [service] = import_lambeth([foreign(schedules=[schedule])], categories).services
    assert service["open_24_7"] is True and service["hours"] == []


def test_monthly_and_unreadable_schedules_are_ignored_with_a_problem(categories):
    schedules = [{"id": "s1", "freq": "MONTHLY", "byday": "1MO", "opens_at": "10:00", "closes_at": "12:00"},
                 {"id": "s2", "freq": "WEEKLY", "byday": "Monday", "opens_at": "10:00", "closes_at": "12:00"},
                 {"id": "s3", "freq": "WEEKLY", "byday": "FR", "opens_at": "10:00:00Z", "closes_at": "12:30"}]
    result = import_lambeth([foreign(schedules=schedules)], categories)
    assert result.services[0]["hours"] == [{"days": ["fri"], "opens": "10:00", "closes": "12:30"}]
    assert [p.field for p in result.problems] == ["schedules[0].freq", "schedules[1]"]


def test_categories_match_names_terms_and_ids_ignoring_case(categories):
    attributes = [{"id": "a1", "taxonomy_term": {"id": "x1", "term": "WELFARE RIGHTS", "taxonomy": "t"}},
                  {"id": "a2", "taxonomy_term": {"id": "grants", "name": "Something else", "taxonomy": "t"}},
                  {"id": "a3", "taxonomy_term": {"id": "x3", "name": "Money and debt advice", "taxonomy": "t"}},
                  {"id": "a4", "taxonomy_term": {"id": "x4", "name": "Benefits", "taxonomy": "t"}}]
    [service] = import_lambeth([foreign(attributes=attributes)], categories).services
    assert service["categories"] == ["benefits_advice", "grants", "money_advice"]


def test_a_service_nobody_can_reach_is_not_imported(categories):
    record = foreign(url="http://example.org.uk/s", phones=[{"id": "p1", "number": "+1 212 555 0100"}])
    result = import_lambeth([record], categories)
    assert result.services == []
    assert [(p.field, p.skipped) for p in result.problems] == [
        ("phones[0].number", False), ("url", False), ("phones", True)]


def test_text_numbers_and_contact_phones(categories):
    contacts = [{"id": "c1", "email": "team@example.org.uk",
                 "phones": [{"id": "p2", "number": "07700 900123", "type": "text"}]}]
    record = foreign(phones=[{"id": "p1", "number": "+44 (0) 1632 960000"}], contacts=contacts)
    [service] = import_lambeth([record], categories).services
    assert (service["phone"], service["text"], service["email"]) == ("01632 960 000", "07700 900 123",
                                                                     "team@example.org.uk")


# -- phone numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, expected", [
    ("+44 141 123 4567", "0141 123 4567"),
    ("+44 (0)20 7946 0123", "020 7946 0123"),
    ("+442079460123", "020 7946 0123"),
    ("0044 20 7946 0123", "020 7946 0123"),
    ("020-7946-0123", "020 7946 0123"),
    ("(020) 7946 0123", "020 7946 0123"),
    ("02079460123", "020 7946 0123"),
    ("0808 808 00 00", "0808 808 00 00"),
    ("08088080000", "0808 808 0000"),
    ("01632960000", "01632 960 000"),
    ("07700  900 123", "07700 900 123"),
    ("0800 123456", "0800 123 456"),
    ("+44 0141 123 4567", "0141 123 4567"),
    ("116123", "116 123"),
    ("111", "111"),
    ("85258", "85258"),
])
def test_phone_numbers_are_normalised_to_uk_format(raw, expected):
    assert oruk.normalise_phone(raw) == expected


@pytest.mark.parametrize("raw, reason", [
    ("+1 212 555 0100", "not a UK number"),
    ("+353 1 234 5678", "not a UK number"),
    ("0207 946 01", "has 10 or 11 digits"),
    ("020 7946 01234", "has 10 or 11 digits"),
    ("0600 123 4567", "not UK-shaped"),
    ("1234", "short code"),
    ("call reception", "not a phone number"),
    ("020 7946 0123 ext 4", "not a phone number"),
])
def test_numbers_that_are_not_uk_shaped_are_refused(raw, reason):
    with pytest.raises(ValueError, match=reason):
        oruk.normalise_phone(raw)


# -- ids ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, expected", [
    ("carers-hub", "carers_hub"),
    ("Carers Hub (Brixton)", "carers_hub_brixton"),
    ("1042", "lambeth_1042"),
    ("3f7b145d-84af-42d7-8fae-eaca714b02b2", "lambeth_3f7b145d_84af_42d7_8fae_eaca714b02b2"),
    ("Café Crème", "cafe_creme"),
    ("---", "service"),
])
def test_ids_are_normalised_to_snake_case(raw, expected):
    assert oruk.normalise_id(raw, "lambeth") == expected


def test_unique_id_adds_a_number():
    used = {"hub", "hub_2"}
    assert oruk.unique_id("hub", used) == "hub_3" and "hub_3" in used


@pytest.mark.parametrize("source, slug", [
    ("https://directory.lambeth.gov.uk/api/services", "lambeth"),
    ("https://www.bristol.openplace.directory/o/ServiceDirectoryService/v2", "bristol"),
    ("https://api.example.org/feed", "feed"),
])
def test_feed_slug_comes_from_the_host(source, slug):
    assert oruk.feed_slug(source) == slug


def test_duplicate_ids_in_a_feed_are_made_unique_and_reported(categories):
    result = import_lambeth([foreign(id="Carers-Hub"), foreign(id="carers hub"), foreign(id="7")], categories)
    assert [s["id"] for s in result.services] == ["carers_hub", "carers_hub_2", "lambeth_7"]
    assert [(p.index, p.field, p.skipped) for p in result.problems] == [(1, "id", False)]
    assert [o["id"] for o in result.organisations] == ["org_1"]


# -- writing a services file -----------------------------------------------------------------------


def test_write_yaml_gives_a_readable_file_that_loads_back(lambeth, services_validator, tmp_path):
    path = tmp_path / "lambeth.yml"
    oruk.write_yaml(lambeth, path, f"Imported from {LAMBETH} on 2026-11-23")
    text = path.read_text(encoding="utf-8")
    assert text.startswith(f"# Imported from {LAMBETH} on 2026-11-23\n")
    assert "# Problems found while importing" in text and "[record not imported]" in text
    assert '    checked: "2026-09-14"\n' in text and '    phone: "020 7946 0123"\n' in text
    assert '        opens: "09:00"\n' in text and "    categories: [carer_support]\n" in text
    assert '    areas: ["SE", "SW"]\n' in text
    assert "\n  - id: lambeth_1042\n    organisation: org_brixton_food_bank\n    name: " in text
    loaded = yaml.safe_load(text)
    assert loaded == {"organisations": lambeth.organisations, "services": lambeth.services}
    assert our_errors(services_validator, loaded["organisations"], loaded["services"]) == []


def test_write_yaml_default_header_says_where_and_when(lambeth, tmp_path):
    path = tmp_path / "lambeth.yml"
    oruk.write_yaml(lambeth, path)
    assert path.read_text(encoding="utf-8").startswith(
        f"# Imported from the Open Referral UK feed {LAMBETH} on 2026-11-23\n")


def test_add_months_keeps_to_the_end_of_short_months():
    assert oruk.add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert oruk.add_months(date(2026, 11, 23), 6) == date(2027, 5, 23)
    assert oruk.add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
