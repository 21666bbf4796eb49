"""report.html in a real headless Chromium: it renders, logs no errors and fetches nothing.

Uses Debian's ``chromium`` driven by Playwright. Without Chromium the tests skip, unless
``AISEC_REQUIRE_BROWSER`` is set (CI sets it), in which case they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aisec.report.writer import write_reports

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str | None:
    """Chromium's path: ``AISEC_CHROMIUM`` when set, else ``chromium`` on the PATH."""
    wanted = os.environ.get("AISEC_CHROMIUM")
    candidates = [wanted] if wanted else [shutil.which("chromium"), "/usr/bin/chromium"]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def _unavailable(reason: str) -> None:
    if os.environ.get("AISEC_REQUIRE_BROWSER"):
        pytest.fail(f"{reason}, and AISEC_REQUIRE_BROWSER is set", pytrace=False)
    pytest.skip(
        f"{reason} (install Debian's `chromium`; AISEC_REQUIRE_BROWSER turns this into a failure)"
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium, or a skip (a failure under AISEC_REQUIRE_BROWSER) without one."""
    executable = _chromium()
    if executable is None:
        _unavailable("Chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield b
        finally:
            b.close()


class Visit:
    """What happened while a page loaded: console errors, page errors and network requests."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.console: list[str] = []
        self.page_errors: list[str] = []
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.on(
            "console",
            lambda m: self.console.append(m.text) if m.type in ("error", "warning") else None,
        )
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.goto(path.resolve().as_uri(), wait_until="load", timeout=30_000)

    @property
    def outside(self) -> list[str]:
        """Requests to anything but the file itself or inline data."""
        return [u for u in self.requests if not u.startswith(("file:", "data:"))]


def test_report_renders_with_no_errors_and_no_network(
    browser, report_data, more_data, shaped_data, tmp_path
) -> None:
    for i, data in enumerate((report_data, more_data, shaped_data)):
        path = write_reports(data, tmp_path / str(i), formats=("html",))["html"]
        visit = Visit(browser, path)
        page = visit.page
        try:
            assert visit.console == [] and visit.page_errors == [], (
                visit.console,
                visit.page_errors,
            )
            assert visit.outside == [] and visit.failed == [], (visit.outside, visit.failed)
            assert page.title() == f"aisec report: {data.name}"
            for selector in ("#summary", "#verdict", "#findings", "#tests"):
                assert page.locator(selector).is_visible(), selector
            sections = page.locator("section.test")
            assert sections.count() == len(data.results)
            for k in range(sections.count()):
                box = sections.nth(k).bounding_box()
                assert box is not None and box["height"] > 40
            # every inline image decoded to a real bitmap
            sizes = page.eval_on_selector_all(
                "img", "els => els.map(e => [e.complete, e.naturalWidth, e.naturalHeight])"
            )
            assert sizes and all(ok and w > 0 and h > 0 for ok, w, h in sizes), sizes
            # the summary comes first on screen, the tests last
            tops = [
                page.locator(s).bounding_box()["y"] for s in ("#summary", "#findings", "#tests")
            ]
            assert tops == sorted(tops)
        finally:
            page.close()
    verdict = "FAIL" if report_data.failed else "PASS"
    assert verdict in Visit(browser, tmp_path / "0" / "report.html").page.inner_text("#verdict")


def test_the_page_policy_blocks_outside_fetches(
    browser, report_data, data_factory, tmp_path
) -> None:
    """A section that tries to fetch is seen by these checks and blocked by the page's policy."""
    leaky = data_factory(
        report_data.results[:1],
        [],
        report_data.targets,
        extra_html='<img id="leak" src="http://127.0.0.1:9/pixel.png" alt="leak">',
    )
    path = write_reports(leaky, tmp_path, formats=("html",))["html"]
    visit = Visit(browser, path)
    try:
        # the attempt is seen by the test, and the policy stops it before it leaves
        assert visit.outside == ["http://127.0.0.1:9/pixel.png"] == visit.failed
        assert any("Content Security Policy" in m for m in visit.console), visit.console
        assert visit.page.eval_on_selector("#leak", "e => e.naturalWidth") == 0
    finally:
        visit.page.close()
