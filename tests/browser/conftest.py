"""Browser tests: Playwright (from PyPI) driving Debian's chromium against the real Signpost servers.

Fixtures other browser tests can reuse:

    signpost   the running servers (scripts/run.py on free ports), once per test session
    browser    headless chromium, once per session
    context    a fresh browser context per test (its own storage), with reduced motion off by default
    page       a page in that context; on failure a screenshot is saved under artifacts/browser/
    chat_url   the web chat page's address
    axe_audit  axe_audit(page) -> the axe-core result, after checking it has no serious/critical violation

Needs /usr/bin/chromium and tests/browser/node_modules (run `scripts/browser-deps.sh` once). The tests
skip, saying so, only when chromium itself is missing; a missing axe-core is a failure with the fix.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterator

import pytest

from tests.support import servers

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("SIGNPOST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTIFACTS = ROOT / "artifacts" / "browser"
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
TIMEOUT_MS = 90_000  # one turn on a busy 2-core machine can take a while


def artifact(name: str) -> Path:
    """A path under artifacts/browser/ (git-ignored), the folder made if needed."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    """Keep each phase's report on the test item, so the page fixture knows whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"chromium is not installed at {CHROMIUM}: run scripts/browser-deps.sh "
                    "(it runs `apt-get install -y chromium`)")
    return CHROMIUM


@pytest.fixture(scope="session")
def signpost(tmp_path_factory: pytest.TempPathFactory, trained_model: Path, chromium_path: Path
             ) -> Iterator[servers.Server]:
    """The real servers, started once for every browser test (chromium checked first: no wasted start).

    SIGNPOST_TEST_BASE=http://127.0.0.1:5005 uses a Signpost you already run (quicker while editing the page).
    """
    if os.environ.get("SIGNPOST_TEST_BASE"):
        yield SimpleNamespace(base=os.environ["SIGNPOST_TEST_BASE"].rstrip("/"))  # type: ignore[misc]
        return
    server = servers.start(tmp_path_factory.mktemp("browser"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chat_url(signpost: servers.Server) -> str:
    return f"{signpost.base}/webhooks/webchat/"


@pytest.fixture(scope="session")
def browser(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    for stale in ARTIFACTS.glob("FAILED-*.png"):  # only this run's failures are left to look at
        stale.unlink()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture()
def context(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True,
                                  locale="en-GB", timezone_id="Europe/London")
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture()
def page(context: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and not page.is_closed():
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        try:
            page.screenshot(path=str(artifact(f"FAILED-{name}.png")), full_page=True)
        except Exception:  # the page may have crashed: the test's own error says more
            pass


@pytest.fixture(scope="session")
def axe_audit() -> Callable[[Any], dict]:
    """Run axe-core in the page; fail on any serious or critical violation, print the rest in full."""
    if not AXE.is_file():
        pytest.fail(f"axe-core is missing ({AXE}): run scripts/browser-deps.sh (npm ci in tests/browser)")

    def audit(page: Any, label: str = "") -> dict:
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            # add_script_tag(path=...) would be an inline script, which the page's strict CSP rightly
            # refuses; evaluating the source through the DevTools protocol is not subject to it.
            page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
        result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
        bad = [v for v in result["violations"] if v.get("impact") in ("serious", "critical")]
        print(f"axe {label}: {len(result['passes'])} rules passed, {len(result['violations'])} violated, "
              f"{len(result['incomplete'])} to check by hand ({', '.join(i['id'] for i in result['incomplete'])})")
        for item in result["incomplete"]:
            nodes = "; ".join(f"{' '.join(n['target'])} ({(n.get('any') or [{}])[0].get('message', '')})"
                              for n in item["nodes"])
            print(f"axe {label} [to check by hand] {item['id']}: {nodes}")
        for violation in result["violations"]:
            nodes = "; ".join(" ".join(n["target"]) for n in violation["nodes"])
            print(f"axe {label} [{violation.get('impact')}] {violation['id']}: {violation['help']} -> {nodes}")
        assert not bad, "serious/critical accessibility problems: " + "; ".join(
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}" for v in bad)
        return result

    return audit
