"""The safety case stays true: every test the hazard log names exists, and no secret is in the repository.

docs/safety/hazard-log.md names, for each control, the tests that show it works. If a test is
renamed or deleted, the log would silently point at nothing: this fails instead, naming the row.
"""
from __future__ import annotations

import ast
import re
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SAFETY = ROOT / "docs" / "safety"
HAZARD_LOG = SAFETY / "hazard-log.md"
PY_TEST = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")
STORY = re.compile(r"`(tests/stories/[\w/]+\.yml): ([^`]+)`")
SECTION = re.compile(r"^### (H\d\d): ", re.M)


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def _test_names(path: Path) -> frozenset[str]:
    """Test functions defined in a test file (top level or in classes), found by parsing it."""
    tree = ast.parse(_text(path), filename=str(path))
    return frozenset(node.name for node in ast.walk(tree)
                     if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"))


@lru_cache(maxsize=None)
def _story_names(path: Path) -> frozenset[str]:
    data = yaml.safe_load(_text(path)) or {}
    return frozenset(s.get("story") for s in data.get("stories") or [] if isinstance(s, dict))


def _sections() -> dict[str, str]:
    text = _text(HAZARD_LOG)
    starts = [(m.group(1), m.start()) for m in SECTION.finditer(text)]
    return {hid: text[start:(starts[i + 1][1] if i + 1 < len(starts) else len(text))]
            for i, (hid, start) in enumerate(starts)}


def test_the_three_documents_exist() -> None:
    for name in ("intended-purpose.md", "hazard-log.md", "dpia.md"):
        assert (SAFETY / name).is_file() and len(_text(SAFETY / name)) > 1000, name


@pytest.mark.parametrize("document", ["hazard-log.md", "dpia.md"])
def test_every_test_named_in_the_safety_case_exists(document: str) -> None:
    text = _text(SAFETY / document)
    named = PY_TEST.findall(text)
    assert named or document != "hazard-log.md", "the hazard log names no tests"
    missing = []
    for file, test in named:
        path = ROOT / file
        if not path.is_file():
            missing.append(f"{file}::{test} (no such file)")
        elif test not in _test_names(path):
            missing.append(f"{file}::{test} (no such test in the file)")
    for file, story in STORY.findall(text):
        path = ROOT / file
        if not path.is_file() or story.strip() not in _story_names(path):
            missing.append(f"{file}: {story} (no such story)")
    assert not missing, f"{document} names tests that do not exist; update the log with the code:\n  " + \
        "\n  ".join(missing)


def test_every_hazard_has_a_cause_a_control_and_evidence() -> None:
    sections = _sections()
    summary = set(re.findall(r"^\| (H\d\d) \|", _text(HAZARD_LOG), re.M))
    assert sections and summary == set(sections), "the summary table and the sections list different hazards"
    for hid, body in sections.items():
        for part in ("**Cause**", "**Effect / harm**", "**Controls**", "**Evidence**"):
            assert part in body, f"{hid} has no {part}"
        evidence = body.split("**Evidence**", 1)[1]
        assert PY_TEST.search(evidence) or STORY.search(evidence), f"{hid} names no test as evidence"


def test_stories_named_as_evidence_are_run_by_ci() -> None:
    runner = ROOT / "tests" / "conversation" / "test_rasa_data_and_stories.py"
    assert "test_every_test_story_is_followed" in _test_names(runner)
    assert "tests/stories" in _text(runner) or "stories" in _text(runner)


# ------------------------------------------------------------------------------ no secrets

SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "Telegram bot token": re.compile(r"\b\d{8,10}:AA[A-Za-z0-9_-]{33}\b"),
    "Twilio account SID with a token": re.compile(r"\bAC[0-9a-f]{32}\b"),
    "Slack or GitHub token": re.compile(r"\b(?:xox[baprs]-[A-Za-z0-9-]{10,}|gh[pousr]_[A-Za-z0-9]{36})\b"),
    "password or token in a URL": re.compile(r"\b(?:postgres(?:ql)?|redis|amqp|mysql)://[^:@\s/]+:(?!\$\{|<|password@|guest@|secret@)[^@\s]{6,}@"),
    "assigned secret": re.compile(
        r"(?im)^\s*[\w.]*(?:password|secret|auth_token|api_key|apikey|token)\s*[:=]\s*[\"']?"
        r"(?!\$\{|<|your|change|example|none|null|\"\"|''|$)[A-Za-z0-9+/_=-]{16,}"),
}
SKIP_PARTS = {"tests", "node_modules", ".git", ".venv", "models"}
TEXT_SUFFIXES = {".py", ".yml", ".yaml", ".md", ".toml", ".ini", ".cfg", ".txt", ".json", ".js", ".html", ".sh",
                 ".env", ".example", ""}


def _repository_files() -> list[Path]:
    """Tracked files and new files not ignored by git (what a commit would contain)."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return [ROOT / line for line in out.splitlines() if line]


def test_no_secret_is_in_the_repository() -> None:
    """Secrets come from environment variables; tests may use obvious fakes, so tests/ is not scanned."""
    found = []
    for path in _repository_files():
        rel = path.relative_to(ROOT)
        if SKIP_PARTS & set(rel.parts) or path.suffix not in TEXT_SUFFIXES or not path.is_file():
            continue
        if path.stat().st_size > 2_000_000:
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        for what, pattern in SECRET_PATTERNS.items():
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                found.append(f"{rel}:{line}: looks like a {what}")
    assert not found, "move these to environment variables (see .env.example):\n  " + "\n  ".join(found)


def test_env_files_are_ignored_by_git() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT).returncode == 0
    assert ignored, "add .env to .gitignore so real secrets are never committed"
