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


@pytest.fixture(scope="module")
def site(seed_db):
    """Datasette with paperdb's plugin and no -m, as `paperdb serve` runs it."""
    from test_datasette import running_datasette

    with running_datasette(seed_db, metadata=None, plugins=True) as base:
        yield base


def test_a_reader_walks_home_search_paper_topic_repository(site, seed_conn, tmp_path):
    """Set PAPERDB_SCREENSHOT_DIR=docs to refresh the README's screenshots of the walk."""
    from playwright.sync_api import sync_playwright

    title, repo_url = seed_conn.execute(
        """select papers.title, repos.url from papers
        join paper_repos on paper_repos.paper_id = papers.id
        join repos on repos.id = paper_repos.repo_id
        where papers.id in (select paper_id from paper_topics) order by papers.id limit 1"""
    ).fetchone()
    shots = Path(os.environ.get("PAPERDB_SCREENSHOT_DIR") or tmp_path)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{site}/papers", wait_until="domcontentloaded")
            assert page.locator("h2", has_text="Topics").count() == 1
            page.screenshot(path=str(shots / "datasette-home.png"))
            page.fill(".paperdb-search input[name=q]", title)
            page.keyboard.press("Enter")
            page.wait_for_selector("table.rows-and-columns td.col-id a", timeout=30_000)
            page.screenshot(path=str(shots / "datasette-search.png"))
            page.locator("table.rows-and-columns td.col-id a").first.click()
            page.wait_for_selector("article.paperdb-paper h1")
            assert page.locator("article.paperdb-paper h1").inner_text() == title
            page.screenshot(path=str(shots / "datasette-paper.png"), full_page=True)
            repo_links = page.locator("ul.paperdb-repos a.github")
            assert repo_url in [
                repo_links.nth(i).get_attribute("href") for i in range(repo_links.count())
            ]
            topic = page.locator("ul.paperdb-topics a").first
            topic_name = topic.inner_text()
            topic.click()
            page.wait_for_selector("article.paperdb-topic h1")
            assert page.locator("article.paperdb-topic h1").inner_text() == topic_name
            page.screenshot(path=str(shots / "datasette-topic.png"))
            assert page.locator("ol.paperdb-list li a").count() > 0
        finally:
            browser.close()
    for name in ("home", "search", "paper", "topic"):
        assert (shots / f"datasette-{name}.png").stat().st_size > 10_000
