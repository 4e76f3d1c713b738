"""The directory: search by need, person, place, hours and words; incremental sync. SQLite and PostgreSQL."""
from __future__ import annotations

from dataclasses import replace

import uuid
from datetime import datetime

import pytest

from signposting import directory as d
from signposting.hours import UK

CATEGORIES = {
    "carer_support": {"id": "carer_support", "name": "Support for carers", "synonyms": ["carers centre", "respite"]},
    "money_advice": {"id": "money_advice", "name": "Money and debt advice", "synonyms": ["food bank", "debt"]},
    "emotional_support": {"id": "emotional_support", "name": "Emotional support", "synonyms": ["counselling"]},
}
WEEKDAYS = [{"days": ["mon", "tue", "wed", "thu", "fri"], "opens": "09:00", "closes": "17:00"}]
EVENINGS = [{"days": ["mon", "tue", "wed", "thu", "fri"], "opens": "18:00", "closes": "21:00"}]
ALL_NATIONS = ["england", "scotland", "wales", "northern_ireland"]
TUESDAY_11AM = datetime(2026, 11, 24, 11, 0, tzinfo=UK)
CHRISTMAS_11AM = datetime(2026, 12, 25, 11, 0, tzinfo=UK)  # a Friday and a bank holiday


def service(sid: str, **fields) -> dict:
    base = {"id": sid, "organisation": "org", "name": sid.replace("_", " ").title(), "description": "A service.",
            "status": "active", "categories": ["carer_support"], "who": ["patient", "carer"],
            "nations": ALL_NATIONS, "phone": "0800 123 4567", "open_24_7": False, "hours": WEEKDAYS,
            "bank_holidays": "closed", "source": "https://example.org", "checked": "2026-11-01",
            "review_by": "2027-05-01", "owner": "content-team"}
    return {**base, **fields}


SERVICES = [
    service("carers_uk"),
    service("evening_carers_line", hours=EVENINGS),
    service("glasgow_carers_centre", nations=["scotland"], areas=["G"], area_name="Glasgow"),
    service("lambeth_carers_hub", nations=["england"], areas=["SE", "SW"], area_name="Lambeth",
            synonyms=["carers hub"]),
    service("retired_carers_service", status="defunct"),
    service("night_line", open_24_7=True, hours=[], bank_holidays="open", categories=["emotional_support"]),
    service("patients_only_counselling", who=["patient"], categories=["emotional_support"]),
    service("teen_support", age={"min": 13, "max": 24}, categories=["emotional_support"]),
    service("adults_only_group", age={"min": 18}, categories=["emotional_support"]),
    service("southside_food_bank", nations=["scotland"], areas=["G"], area_name="Glasgow",
            categories=["money_advice"]),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def directory(request, tmp_path):
    if request.param == "sqlite":
        yield d.Directory(f"sqlite:///{tmp_path}/directory.db")
        return
    schema = f"test_{uuid.uuid4().hex[:10]}"
    try:
        admin = d.make_engine("postgresql://root@127.0.0.1/test")
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"PostgreSQL on 127.0.0.1 is part of this project's machines: {exc}")
    try:
        yield d.Directory(f"postgresql://root@127.0.0.1/test?options=-csearch_path%3D{schema}")
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def loaded(directory):
    directory.sync([d.Source("test", "v1", lambda: SERVICES)])
    return directory


def names(result: d.Result) -> list[str]:
    return [m.service["id"] for m in result.matches]


def search(directory, now=TUESDAY_11AM, **query) -> d.Result:
    return directory.search(d.Query(**{"limit": 10, **query}), CATEGORIES, now)


def test_local_services_come_first_for_a_postcode_area(loaded):
    result = search(loaded, categories=("carer_support",), nation="scotland", area="G")
    assert names(result)[0] == "glasgow_carers_centre"
    assert "lambeth_carers_hub" not in names(result)  # another area's local service is not shown
    assert result.matches[0].local and "local to Glasgow (G)" in result.matches[0].reasons


def test_without_a_postcode_only_national_services_are_shown(loaded):
    result = search(loaded, categories=("carer_support",), nation="scotland")
    assert set(names(result)) == {"carers_uk", "evening_carers_line"}


def test_open_services_come_before_closed_ones(loaded):
    result = search(loaded, categories=("carer_support",), nation="england")
    assert names(result) == ["carers_uk", "evening_carers_line"]
    assert result.matches[0].open_state.open_now and not result.matches[1].open_state.open_now
    assert "open now" in result.matches[0].reasons


def test_open_now_leaves_out_closed_services_and_says_when_they_open(loaded):
    evening = search(loaded, categories=("carer_support",), nation="england")
    assert evening.matches[1].open_state.describe(TUESDAY_11AM) == "closed now, opens at 6pm today"
    assert names(search(loaded, categories=("carer_support",), nation="england", open_now=True)) == ["carers_uk"]


def test_bank_holidays_close_services_that_close_on_them(loaded):
    result = search(loaded, categories=("emotional_support", "carer_support"), nation="england", open_now=True,
                    now=CHRISTMAS_11AM)
    assert names(result) == ["night_line"]


def test_who_and_age_filter_the_results(loaded):
    carers = search(loaded, categories=("emotional_support",), nation="wales", who="carer")
    assert "patients_only_counselling" not in names(carers)
    older = search(loaded, categories=("emotional_support",), nation="wales", age=40)
    assert "teen_support" not in names(older)
    assert "teen_support" in names(search(loaded, categories=("emotional_support",), nation="wales", age=16))


def test_a_young_carer_is_not_sent_to_adults_only_services(loaded, knowledge):
    from signposting import finder

    query = finder.query_for(knowledge, finder.Ask("ask_emotional_support"), role="young_carer", nation="wales",
                             area=None, limit=20)
    young = names(loaded.search(replace(query, categories=("emotional_support",)), knowledge.categories, TUESDAY_11AM))
    assert "adults_only_group" not in young and "teen_support" in young
    assert "adults_only_group" in names(search(loaded, categories=("emotional_support",), nation="wales", limit=20))


def test_retired_services_are_never_shown(loaded):
    assert "retired_carers_service" not in names(search(loaded, categories=("carer_support",), nation="england"))
    assert loaded.get("retired_carers_service")["status"] == "defunct"  # kept for the record


def test_free_text_finds_needs_and_services_by_name(loaded):
    food = search(loaded, text="is there a food bank", nation="scotland", area="G")
    assert names(food) == ["southside_food_bank"] and food.understood == ("food bank",)
    named = search(loaded, text="how do I contact the carers hub", nation="england", area="SE")
    assert names(named)[0] == "lambeth_carers_hub" and "you asked about Lambeth Carers Hub" in named.matches[0].reasons


def test_words_that_name_nothing_find_nothing(loaded):
    result = search(loaded, text="purple elephants", nation="england")
    assert result.total == 0 and not result.matches


def test_paging_says_when_there_is_more(loaded):
    first = loaded.search(d.Query(categories=("carer_support",), nation="england", limit=1), CATEGORIES,
                          TUESDAY_11AM)
    assert first.total == 2 and first.more
    second = loaded.search(d.Query(categories=("carer_support",), nation="england", limit=1, offset=1), CATEGORIES,
                           TUESDAY_11AM)
    assert names(second) == ["evening_carers_line"] and not second.more


def test_sync_rewrites_only_what_changed(loaded):
    changed = [dict(s) for s in SERVICES]
    changed[0]["name"] = "Carers UK Advice Line"
    report = loaded.sync([d.Source("test", "v2", lambda: changed)])
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 1, 0, len(SERVICES) - 1)
    assert loaded.get("carers_uk")["name"] == "Carers UK Advice Line"
    unchanged = loaded.sync([d.Source("test", "v2", lambda: pytest.fail("an unchanged source is not re-read"))])
    assert not unchanged.sources_changed


def test_sync_removes_records_and_sources_that_are_gone(loaded):
    loaded.text_index()  # built, then kept up to date by the next sync
    report = loaded.sync([d.Source("test", "v3", lambda: SERVICES[1:])])
    assert report.removed == 1 and loaded.get("carers_uk") is None
    assert "carers_uk" not in names(search(loaded, text="carers uk", nation="england"))
    loaded.sync([])
    assert loaded.count() == 0


def test_an_edited_services_file_is_served_without_restart_and_a_broken_one_is_not(knowledge_copy, tmp_path):
    import os
    import time

    from signposting import knowledge as kb

    store, live = kb.KnowledgeStore(knowledge_copy), d.Live(f"sqlite:///{tmp_path}/live.db")
    query = d.Query(text="macmillan support line", nation="wales")
    before = live.get(store.get()).search(query, store.get().categories, TUESDAY_11AM)
    assert before.matches[0].service["phone"] == "0808 808 00 00"
    path = knowledge_copy / "services" / "national.yml"
    path.write_text(path.read_text().replace('phone: "0808 808 00 00"', 'phone: "0808 808 00 01"', 1))
    os.utime(path, (time.time() + 5, time.time() + 5))
    after = live.get(store.get()).search(query, store.get().categories, TUESDAY_11AM)
    assert after.matches[0].service["phone"] == "0808 808 00 01"
    path.write_text(path.read_text().replace("categories: [information,", "categories: [no_such_category,", 1))
    os.utime(path, (time.time() + 10, time.time() + 10))
    kept = live.get(store.get()).search(query, store.get().categories, TUESDAY_11AM)
    assert kept.matches[0].service["phone"] == "0808 808 00 01"  # the last good content is still served
    assert "no_such_category" in str(store.last_error)
