"""The editors' directory commands: import an ORUK feed, export, search, preview on a channel."""
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from signposting import knowledge as kb
from signposting import oruk
from signposting.cli import app

FEED = Path(__file__).resolve().parents[1] / "fixtures" / "oruk" / "lambeth_feed.json"


@pytest.fixture
def editor(knowledge_copy, monkeypatch, tmp_path):
    monkeypatch.setenv("SIGNPOST_KNOWLEDGE_DIR", str(knowledge_copy))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/directory.db")
    return knowledge_copy


def test_import_keeps_valid_records_lists_bad_ones_and_the_tree_stays_valid(editor):
    target = editor / "services" / "local-lambeth-council.yml"
    result = CliRunner().invoke(app, ["directory", "import", str(FEED), "--into", str(target),
                                      "--source", "https://lambeth.example/oruk", "--nation", "england"])
    assert result.exit_code == 0, result.output
    assert "lambeth_feed.json: record 4" in result.output and "[record not imported]" in result.output
    assert "6 service(s)" in result.output
    knowledge = kb.load(editor)
    imported = [s for s in knowledge.services.values() if s["_file"] == "services/local-lambeth-council.yml"]
    assert len(imported) == 6 and all(s["source"] == "https://lambeth.example/oruk" for s in imported)


def test_export_writes_oruk_json_that_validates(editor, tmp_path):
    out = tmp_path / "directory.json"
    result = CliRunner().invoke(app, ["directory", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    records = json.loads(out.read_text())
    validator = oruk.oruk_validator()
    assert len(records) == len(kb.load(editor).services)
    assert not [e for r in records for e in validator.iter_errors(r)]


def test_search_shows_local_services_first_and_why(editor):
    result = CliRunner().invoke(app, ["directory", "search", "carers centre", "--postcode", "G12"])
    assert result.exit_code == 0, result.output
    first = result.output.split("2. ")[0]
    assert "local to" in first and "Why:" in first


def test_search_with_an_unknown_postcode_says_so(editor):
    result = CliRunner().invoke(app, ["directory", "search", "carers", "--postcode", "QQ1"])
    assert result.exit_code == 2 and "Unknown postcode" in result.output


def test_preview_a_service_as_an_sms(editor):
    result = CliRunner().invoke(app, ["knowledge", "preview", "macmillan_support_line", "--channel", "sms"])
    assert result.exit_code == 0 and "0808 808 00 00" in result.output and "SMS part" in result.output


def test_import_of_a_file_that_is_not_json_says_so_and_writes_nothing(editor, tmp_path):
    feed = tmp_path / "broken.json"
    feed.write_text("{not json")
    target = editor / "services" / "local-broken.yml"
    result = CliRunner().invoke(app, ["directory", "import", str(feed), "--into", str(target),
                                      "--source", "https://x.example/oruk"])
    assert result.exit_code == 2 and "cannot be read as an Open Referral UK JSON feed" in result.output
    assert not target.exists()
