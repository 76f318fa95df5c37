"""A person searching in Datasette through a real headless Chromium.

Needs Debian's chromium (/usr/bin/chromium); .ci/run installs it, so in CI this always
runs. Set PAPERDB_SCREENSHOT=docs/search.png to refresh the README's screenshot.
"""

import os
import shutil
from pathlib import Path

import pytest
from test_datasette import server  # noqa: F401  (the live Datasette fixture)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
IN_CI = bool(os.environ.get("CI"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not IN_CI,
        reason="no Chromium here (apt-get install chromium); CI installs it",
    ),
]

# As the machine notes advise: no background networking on a closed network.
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


def test_search_page_shows_ranked_results(server, tmp_path):  # noqa: F811
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{server}/papers/search", wait_until="domcontentloaded")
            page.fill("input[name=q]", "mixture of experts")
            page.keyboard.press("Enter")
            page.wait_for_selector("table.rows-and-columns tbody tr", timeout=30_000)
            titles = page.locator("table.rows-and-columns tbody tr td.col-title").all_inner_texts()
            scores = [
                float(s)
                for s in page.locator(
                    "table.rows-and-columns tbody tr td.col-score"
                ).all_inner_texts()
            ]
            screenshot = os.environ.get("PAPERDB_SCREENSHOT") or str(tmp_path / "search.png")
            page.screenshot(path=screenshot, full_page=False)
        finally:
            browser.close()
    assert len(titles) >= 5
    assert scores == sorted(scores, reverse=True)
    assert any("expert" in title.lower() or "moe" in title.lower() for title in titles[:3])
    assert Path(screenshot).stat().st_size > 10_000
