"""The editors' safety net: every problem reported at once, as file:line: field: message."""
from datetime import date
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from signposting import knowledge as kb
from signposting.cli import app


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, f"test setup: {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count))


def _messages(folder: Path, today: date | None = None) -> list[str]:
    problems, _ = kb.check(folder, today)
    return [str(p) for p in problems if p.severity == "error"]


def test_the_shipped_knowledge_is_valid_and_in_date():
    problems, knowledge = kb.check()
    assert knowledge is not None, "\n".join(map(str, problems))
    assert not [p for p in problems if p.severity == "error"]


def test_bad_yaml_names_file_and_line(knowledge_copy):
    path = knowledge_copy / "topics.yml"
    lines = path.read_text().splitlines()
    lines.insert(40, "  - id: [unclosed")
    path.write_text("\n".join(lines))
    errors = _messages(knowledge_copy)
    assert any(e.startswith("topics.yml:") and "not valid YAML" in e for e in errors), errors


def test_a_misspelt_field_is_reported_with_its_line(knowledge_copy):
    path = knowledge_copy / "helplines.yml"
    _edit(path, "    description:", "    descripton:")
    line = next(i for i, l in enumerate(path.read_text().splitlines(), 1) if "descripton" in l)
    errors = _messages(knowledge_copy)
    assert any(e.startswith(f"helplines.yml:{line}: ") and "descripton" in e for e in errors), errors


def test_every_problem_is_reported_at_once(knowledge_copy):
    _edit(knowledge_copy / "helplines.yml", 'phone: "0808 808 00 00"', 'phone: "call us"')
    _edit(knowledge_copy / "helplines.yml", 'opens: "08:00"', 'opens: "8am"')
    _edit(knowledge_copy / "topics.yml", "{phone:macmillan_support_line}", "{phone:no_such_line}")
    errors = _messages(knowledge_copy)
    assert any("is not a UK phone number" in e for e in errors)
    assert any("'8am' is not a time" in e for e in errors)
    assert any("unknown helpline 'no_such_line'" in e for e in errors)


def test_overdue_review_fails_and_review_soon_warns(knowledge_copy):
    import re

    dates = [m for path in knowledge_copy.rglob("*.yml")
             for m in re.findall(r'review_by: "(\d{4}-\d{2}-\d{2})"', path.read_text())]
    due = date.fromisoformat(min(dates))  # the first review due anywhere in the tree
    errors = _messages(knowledge_copy, today=date(due.year, due.month, due.day).replace(year=due.year + 1))
    assert any("review of" in e and "was due on" in e for e in errors)
    problems, knowledge = kb.check(knowledge_copy, today=date.fromordinal(due.toordinal() - 10))
    assert knowledge is not None
    assert any(p.severity == "warning" and "is due on" in p.message for p in problems)


def test_missing_source_is_an_error(knowledge_copy):
    path = knowledge_copy / "topics.yml"
    text = path.read_text()
    start = text.index("    source:")
    end = text.index("\n", start)
    path.write_text(text[:start] + text[end + 1:])
    assert any("'source' is a required property" in e for e in _messages(knowledge_copy))


def test_duplicate_ids_name_the_first_line(knowledge_copy):
    path = knowledge_copy / "helplines.yml"
    _edit(path, "id: marie_curie_support_line", "id: macmillan_support_line")
    assert any("duplicate id 'macmillan_support_line' (first used on line" in e for e in _messages(knowledge_copy))


def test_nation_specific_topics_need_all_four_nations(knowledge_copy):
    path = knowledge_copy / "topics.yml"
    data = yaml.safe_load(path.read_text())
    topic = next(t for t in data["topics"] if t["nation_specific"])
    del topic["answer"]["wales"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert any("has no answer for Wales" in e for e in _messages(knowledge_copy))


def test_a_failed_reload_keeps_serving_the_last_good_content(knowledge_copy):
    store = kb.KnowledgeStore(knowledge_copy)
    good = store.get()
    _edit(knowledge_copy / "wording.yml", "goodbye: Take care.", "goodbye: [broken")
    assert store.get() is good
    assert store.last_error is not None
    _edit(knowledge_copy / "wording.yml", "goodbye: [broken", "goodbye: Bye for now.")
    assert store.get().say("goodbye").startswith("Bye for now.")
    assert store.last_error is None


def test_cli_check_exits_1_and_lists_problems(knowledge_copy):
    runner = CliRunner()
    ok = runner.invoke(app, ["knowledge", "check", "--folder", str(knowledge_copy)])
    assert ok.exit_code == 0 and "Knowledge OK" in ok.stdout
    _edit(knowledge_copy / "helplines.yml", 'phone: "116 123"', 'phone: "116-123!"')
    bad = runner.invoke(app, ["knowledge", "check", "--folder", str(knowledge_copy)])
    assert bad.exit_code == 1
    assert "helplines.yml:" in bad.stderr and "is not a UK phone number" in bad.stderr


def test_cli_preview_shows_the_answer_for_a_nation():
    runner = CliRunner()
    result = runner.invoke(app, ["knowledge", "preview", "prescription_costs", "--nation", "wales"])
    assert result.exit_code == 0, result.stderr
    assert "Wales" in result.stdout or "free" in result.stdout.lower()


# ---- the services directory files


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, l in enumerate(path.read_text().splitlines(), 1) if needle in l)


def test_services_are_loaded_with_their_organisations(knowledge):
    assert len(knowledge.services) >= 60
    service = knowledge.services["macmillan_support_line"]
    assert knowledge.organisations[service["organisation"]]["name"] == "Macmillan Cancer Support"
    assert service["_file"] == "services/national.yml" and service["_line"] > 1
    assert all(s["status"] == "active" for s in knowledge.active_services())


def test_every_category_is_used_by_a_service_and_every_service_category_exists(knowledge):
    used = {c for s in knowledge.services.values() for c in s["categories"]}
    assert used <= set(knowledge.categories)
    assert set(knowledge.categories) - used == set(), "a category no service has helps nobody"


def test_an_unknown_category_names_file_line_and_the_fix(knowledge_copy):
    path = knowledge_copy / "services" / "national.yml"
    _edit(path, "categories: [information, emotional_support", "categories: [informaton, emotional_support")
    errors = _messages(knowledge_copy)
    line = _line_of(path, "informaton")
    assert any(e.startswith(f"services/national.yml:{line}: services[0].categories[0]: unknown category 'informaton'")
               and "categories.yml" in e for e in errors), errors


def test_a_duplicate_service_id_across_files_is_reported(knowledge_copy):
    (knowledge_copy / "services" / "zz-copy.yml").write_text(
        (knowledge_copy / "services" / "national.yml").read_text())
    errors = _messages(knowledge_copy)
    assert any(e.startswith("services/zz-copy.yml:") and "duplicate id 'macmillan_support_line'" in e
               and "services/national.yml:" in e for e in errors), errors


def test_broken_references_phone_and_source_in_a_service_are_all_reported(knowledge_copy):
    path = knowledge_copy / "services" / "national.yml"
    _edit(path, "    organisation: macmillan\n", "    organisation: macmilan\n")
    _edit(path, 'phone: "0808 808 00 00"', 'phone: "0808 808 00"')
    text = path.read_text()
    start = text.index("  - id: macmillan_support_line")
    source_at = text.index("    source:", start)
    path.write_text(text[:source_at] + text[source_at:].replace("    source:", "    # source:", 1))
    errors = _messages(knowledge_copy)
    assert any("unknown organisation 'macmilan'" in e for e in errors), errors
    assert any("is not a UK phone number" in e and e.startswith("services/national.yml:") for e in errors), errors
    assert any("'source' is a required property" in e and e.startswith("services/national.yml:") for e in errors), errors


def test_an_unknown_postcode_area_in_a_local_service_is_reported(knowledge_copy):
    local = next(p for p in sorted((knowledge_copy / "services").glob("local-*.yml")))
    text = local.read_text()
    import re
    match = re.search(r"areas: \[([A-Z]{1,2})", text)
    local.write_text(text.replace(match.group(0), "areas: [QQ", 1))
    errors = _messages(knowledge_copy)
    assert any("unknown postcode area 'QQ'" in e and e.startswith(f"services/{local.name}:") for e in errors), errors


def test_a_retired_service_is_kept_but_never_active(knowledge_copy):
    path = knowledge_copy / "services" / "national.yml"
    _edit(path, "    status: active\n", "    status: defunct\n")
    _, knowledge = kb.check(knowledge_copy)
    assert knowledge is not None
    assert "macmillan_support_line" in knowledge.services
    assert "macmillan_support_line" not in {s["id"] for s in knowledge.active_services()}


# ---- the full needs check-in and social care files (issue 9): a broken edit names file, line and field


def test_the_new_files_are_loaded(knowledge):
    assert {t["id"] for t in knowledge.social_care["topics"]} >= {"needs_assessment", "complaints"}
    assert len(knowledge.journey["stages"]) == 9 and len(knowledge.concerns["areas"]) == 7
    assert "childline" in knowledge.young_carers["nations"]["wales"]["services"]


def test_every_broken_edit_in_the_new_files_is_reported_at_once_with_file_line_and_field(knowledge_copy):
    import re

    care, journey = knowledge_copy / "social_care.yml", knowledge_copy / "journey.yml"
    young, concerns = knowledge_copy / "young_carers.yml", knowledge_copy / "concerns.yml"
    _edit(care, "\n      wales:\n", "\n      wale:\n")  # the first topic's Welsh answer, misspelt
    _edit(care, "It's free. Under the Care Act 2014,", "It's free. " + "Really free. " * 30 + "Under the Care Act 2014,")
    _edit(journey, "      - service: cruk_nurses\n", "      - service: cruk_nurse\n")
    _edit(young, "\n  caring_role_ending:\n", "\n  caring_role_endng:\n")
    _edit(young, "{service_phone:childline}", "{service_phone:childlne}")
    _edit(concerns, "    label: {patient: Getting about, carer: Getting about}\n    roles: [patient, carer]\n",
          "    label: {patient: Getting about, carer: Getting about}\n    roles: [patient, carer, young_carer]\n")
    _edit(concerns, "    clinical: true\n", "    clinical: false\n")  # physical effects, unhooked from the team
    errors = _messages(knowledge_copy)
    expected = [
        f"social_care.yml:{_line_of(care, '      wale:')}: topics[0].answers.wale: unknown field 'wale'",
        "topics[0].answers.wales: 'wales' is a required property",
        "topics[0].answers.england.text: ",  # too long for a text message
        f"journey.yml:{_line_of(journey, 'service: cruk_nurse')}: stages[0].signposts[1].service: unknown service "
        "'cruk_nurse'; use an id from services/*.yml",
        f"young_carers.yml:{_line_of(young, 'caring_role_endng:')}: stages.caring_role_endng: 'caring_role_endng' "
        "is not a stage in journey.yml",
        "no young carer's version of journey stage 'caring_role_ending'",
        f"young_carers.yml:{_line_of(young, 'help_now:') + 1}: messages.help_now.text: placeholder names unknown "
        "service 'childlne'",
        f"concerns.yml:{_line_of(concerns, 'label: {patient: Getting about')}: areas[1].label: area 'getting_about' "
        "is offered to young_carer but has no label.young_carer; add it",
        f"concerns.yml:{_line_of(concerns, 'clinical: false')}: areas[0].clinical: ",
    ]
    for wanted in expected:
        assert any(wanted in e for e in errors), (wanted, errors)
    assert all(re.match(r"^[a-z_/]+\.yml:\d+: \S+: ", e) for e in errors), errors


def test_a_retired_service_that_a_stage_points_to_is_a_warning_and_is_not_shown(knowledge_copy):
    from signposting import journey

    path = knowledge_copy / "services" / "national.yml"
    text = path.read_text()
    start = text.index("  - id: cruk_nurses")
    path.write_text(text[:start] + text[start:].replace("    status: active\n", "    status: defunct\n", 1))
    problems, knowledge = kb.check(knowledge_copy)
    assert knowledge is not None, [str(p) for p in problems if p.severity == "error"]
    assert any(p.severity == "warning" and p.file == "journey.yml" and "service 'cruk_nurses' is defunct" in p.message
               for p in problems)
    shown = [s.id for s in journey.prompts_for("waiting_for_tests", "patient", "england", knowledge).signposts]
    assert "cruk_nurses" not in shown and "macmillan_support_line" in shown


def test_cli_check_lists_a_broken_new_file(knowledge_copy):
    _edit(knowledge_copy / "journey.yml", "    under_supported: true\n", "    under_supported: yes please\n")
    result = CliRunner().invoke(app, ["knowledge", "check", "--folder", str(knowledge_copy)])
    assert result.exit_code == 1
    assert "journey.yml:" in result.stderr and "stages[0].under_supported" in result.stderr


def test_the_running_bot_sees_an_edit_within_its_check_interval(knowledge_copy, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(kb.time, "monotonic", lambda: clock[0])
    store = kb.KnowledgeStore(knowledge_copy, check_every=2.0)
    assert store.get().say("goodbye").startswith("Take care.")
    _edit(knowledge_copy / "wording.yml", "goodbye: Take care.", "goodbye: Bye for now.")
    clock[0] += 1.0
    assert store.get().say("goodbye").startswith("Take care.")  # not looked at the files yet
    clock[0] += 1.5
    assert store.get().say("goodbye").startswith("Bye for now.")


def test_the_check_interval_comes_from_the_environment(monkeypatch, caplog):
    monkeypatch.setenv("SIGNPOST_KNOWLEDGE_CHECK_SECONDS", "0.5")
    assert kb.check_every_seconds() == 0.5
    monkeypatch.setenv("SIGNPOST_KNOWLEDGE_CHECK_SECONDS", "soon")
    assert kb.check_every_seconds() == 2.0
    assert "SIGNPOST_KNOWLEDGE_CHECK_SECONDS='soon' is not a number of seconds" in caplog.text


def test_the_knowledge_folder_follows_a_switched_symbolic_link_within_seconds(tmp_path, monkeypatch):
    """Editors may publish by pointing a link at a new folder: it is followed, the resolved path kept briefly."""
    from signposting import knowledge as k

    old, new, link = tmp_path / "release-1", tmp_path / "release-2", tmp_path / "knowledge"
    old.mkdir()
    new.mkdir()
    link.symlink_to(old)
    monkeypatch.setenv("SIGNPOST_KNOWLEDGE_DIR", str(link))
    monkeypatch.setattr(k, "_resolved", {})
    assert k.knowledge_dir() == old
    link.unlink()
    link.symlink_to(new)
    assert k.knowledge_dir() == old  # kept for RESOLVE_SECONDS: no system calls on every ask
    monkeypatch.setattr(k, "RESOLVE_SECONDS", 0.0)
    assert k.knowledge_dir() == new
