"""paperdb's Datasette plugin through a real `datasette serve`: the CLI's search, everywhere."""

import json
import shutil
import urllib.parse
import urllib.request

import pytest
from conftest import FIXTURES
from test_datasette import running_datasette

from paperdb.database import open_database
from paperdb.search import search

JUDGED = json.loads((FIXTURES / "search_judgments.json").read_text())["queries"]
HOSTILE = ['"', '""', '"""', "\x00", "a\x00b", "*", "^", "NEAR(", "c++", "-", ":", "()", "?!",
           "title:mamba", "x" * 10_000, "the of and", "a " * 5000, "é", "🦙 models"]  # fmt: skip


@pytest.fixture(scope="module")
def server(seed_db, tmp_path_factory):
    """Datasette on a copy with another name, without the metadata: the plugin alone."""
    renamed = tmp_path_factory.mktemp("plugin") / "my-papers.db"
    shutil.copy(seed_db, renamed)
    with running_datasette(renamed, metadata=None, plugins=True) as base:
        yield base, renamed


def get(url):
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.loads(response.read())


def canned_ids(base, query):
    q = urllib.parse.urlencode({"q": query, "_shape": "array"})
    return [row["id"] for row in get(f"{base}/my-papers/search.json?{q}")]


def test_the_canned_search_returns_the_clis_hits_in_the_clis_order(server):
    base, path = server
    db = open_database(path)
    queries = [item["query"] for item in JUDGED]
    assert len(queries) >= 80
    for query in queries:
        expected = [hit.id for hit in search(db, query, limit=20)]
        assert canned_ids(base, query) == expected, query


def test_the_canned_search_carries_the_marked_snippet_and_score(server):
    base, path = server
    q = urllib.parse.urlencode({"q": "state space models", "_shape": "array"})
    rows = get(f"{base}/my-papers/search.json?{q}")
    (first,) = search(open_database(path), "state space models", limit=1)
    assert rows[0]["snippet"] == first.snippet and "[" in first.snippet
    assert rows[0]["score"] == first.score and rows[0]["rank"] == 1


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_the_canned_search_never_errors(server, query):
    base, _ = server
    q = urllib.parse.urlencode({"q": query})
    data = get(f"{base}/my-papers/search.json?{q}")
    assert data.get("ok", True) and not data.get("error"), data


def test_the_table_search_box_gives_ranked_results(server):
    base, path = server
    query = "linear attention"
    url = f"{base}/my-papers/papers?" + urllib.parse.urlencode({"_search": query})
    with urllib.request.urlopen(url, timeout=60) as response:  # follows the redirect
        assert response.status == 200
        landed = response.geturl()
        page = response.read().decode()
    assert landed.startswith(f"{base}/my-papers/search?")
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(landed).query)["q"] == [query]
    hits = search(open_database(path), query, limit=20)
    positions = [page.find(hit.title.replace('"', "&#34;")) for hit in hits[:5]]
    assert -1 not in positions and positions == sorted(positions)  # best first


def test_the_table_pages_json_and_filtered_searches_stay_datasettes(server):
    base, _ = server
    data = get(f"{base}/my-papers/papers.json?_search=mamba&_shape=array")
    assert data and all("mamba" in (row["title"] + row["abstract"]).lower() for row in data)
    url = f"{base}/my-papers/papers?_search=mamba&_sort=id"
    with urllib.request.urlopen(url, timeout=60) as response:
        assert response.geturl() == url
