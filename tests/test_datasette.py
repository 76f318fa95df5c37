"""papers.db served by a real Datasette on loopback, with the project's metadata."""

import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT

METADATA = ROOT / "datasette" / "metadata.yml"
DATASETTE = Path(sys.executable).with_name("datasette")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Datasette skips installed plugins when sys._called_from_test is set (datasette/plugins.py):
# how the metadata alone is served, as for a user without paperdb's plugin.
WITHOUT_PLUGINS = [
    sys.executable,
    "-c",
    "import sys; sys._called_from_test = True; from datasette.cli import cli; cli()",
]


@contextlib.contextmanager
def running_datasette(db_path, *, metadata=METADATA, plugins=False):
    """`datasette serve` on a free loopback port; yields its base URL.

    By default with the metadata and without paperdb's plugin (what datasette/metadata.yml
    alone gives); test_datasette_plugin.py serves it with the plugin.
    """
    port = free_port()
    command = [str(DATASETTE)] if plugins else WITHOUT_PLUGINS
    options = ["-m", str(metadata)] if metadata else []
    # The log goes to a file, not a pipe: nobody reads it while the server runs, and a full
    # pipe (each request's URL is logged; long queries make long URLs) blocks the server.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [*command, "serve", str(db_path), *options,
             "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        try:
            while True:
                try:
                    urllib.request.urlopen(base + "/-/versions.json", timeout=2).read()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        process.kill()
                        log.seek(0)
                        output = log.read().decode(errors="replace")
                        pytest.fail(f"datasette did not start:\n{output}")
                    time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(seed_db):
    with running_datasette(seed_db) as base:
        yield base


def get(base, path, **params):
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def test_metadata_is_served(server):
    meta = get(server, "/-/metadata.json")
    assert meta["title"].startswith("paperdb")
    assert meta["license"] and meta["source"] and meta["source_url"]
    tables = meta["databases"]["papers"]["tables"]
    assert tables["papers"]["columns"]["id"].startswith("Stable id")
    assert set(meta["databases"]["papers"]["queries"]) == {
        "search",
        "papers_by_topic",
        "top_repositories",
        "papers_in_listing",
        "related",
    }


def test_table_search_box_uses_the_fts_index(server):
    data = get(server, "/papers/papers.json", _search="mixture of experts", _shape="objects")
    assert data["rows"] and data["filtered_table_rows_count"] < 842


def test_facets_on_the_overview(server):
    data = get(
        server,
        "/papers/paper_overview.json",
        _facet_array="topics",
        _facet="has_code",
        _size="0",
    )
    facets = data["facet_results"]
    has_code = {r["value"]: r["count"] for r in facets["has_code"]["results"]}
    assert has_code["yes"] + has_code["no"] == 842 and has_code["yes"] == 170
    topics = {r["value"]: r["count"] for r in facets["topics"]["results"]}
    assert topics["transformers"] > 100  # slugs, as `paperdb search --topic` takes them
    listings = get(server, "/papers/paper_overview.json", _facet_array="listings", _size="0")
    counts = {r["value"]: r["count"] for r in listings["facet_results"]["listings"]["results"]}
    assert counts["003_b85bd54f973ea52c.txt"] == 8


@pytest.mark.parametrize("query", ["mamba", "linear attention", "knowledge distillation"])
def test_plain_canned_search_ranks_by_the_weighted_bm25(server, seed_conn, query):
    """Without the plugin, the canned search is what ORDER BY rank gives in any client."""
    rows = get(server, "/papers/search.json", q=query, _shape="objects")["rows"]
    match = " ".join(f'"{word}"' for word in query.split())
    expected = [
        pid
        for (pid,) in seed_conn.execute(
            "SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? ORDER BY rank, rowid LIMIT 20",
            [match],
        )
    ]
    assert [r["id"] for r in rows] == expected
    assert rows[0]["snippet"].count("[") >= 1


@pytest.mark.parametrize("query", ["", "   ", '"unbalanced', "c++ (", "NOT"])
def test_search_canned_query_guards_empty_and_odd_input(server, query):
    data = get(server, "/papers/search.json", q=query, _shape="objects")
    assert isinstance(data["rows"], list)
    if not query.strip():
        assert data["rows"] == []


def search_response(base, query):
    """The canned search's JSON for `query`, whatever the HTTP status."""
    url = base + "/papers/search.json?" + urllib.parse.urlencode({"q": query, "_shape": "objects"})
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


HOSTILE = [
    '"', '""', '"""', '"' * 7, '"unbalanced', 'a"b"c"', "\x00", "mamba\x00attention", "\x00\x00",
    "*", "**", "^", "^mamba", "NEAR(", "NEAR(sparse attention, 5)", "c++", "-", "--", ":",
    "title:mamba", "(", ")", "()", "((mamba", "!?.,;", "AND", "OR NOT", "", "   ", "\t\n",
    "x" * 10_000, "a-" * 5_000, "a—" * 5_000,
    "über naïve café", "日本語の論文", "🤖 emoji", "\u200b\u00a0",
    "".join(chr(c) for c in range(1, 128)) * 20,
]  # fmt: skip


@pytest.mark.parametrize("query", HOSTILE, ids=lambda q: repr(q)[:30])
def test_search_canned_query_never_errors(server, query):
    status, data = search_response(server, query)
    assert status == 200 and data.get("ok", True) and not data.get("error"), data.get("error")
    assert isinstance(data["rows"], list)


@pytest.mark.parametrize(
    "repeated, once",
    [("transformer " * 300, "transformer"), ("a " * 300, "a"), ("Mamba mamba " * 100, "mamba")],
)
def test_search_canned_query_counts_a_repeated_word_once(server, repeated, once):
    status, data = search_response(server, repeated)
    assert status == 200 and data["rows"] == search_response(server, once)[1]["rows"]
    assert data["rows"]


def test_search_canned_query_finds_a_pasted_abstract(server, seed_conn):
    for paper_id, abstract in seed_conn.execute(
        "SELECT id, abstract FROM papers ORDER BY length(abstract) DESC, id LIMIT 3"
    ):
        status, data = search_response(server, abstract + " " + abstract.upper())
        assert status == 200 and data["rows"][0]["id"] == paper_id


def test_papers_by_topic(server):
    rows = get(server, "/papers/papers_by_topic.json", topic="quantization", _shape="objects")[
        "rows"
    ]
    assert len(rows) > 10
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert all(r["evidence"].startswith(("title: ", "abstract: ")) for r in rows)


def test_top_repositories(server):
    rows = get(server, "/papers/top_repositories.json", _shape="objects")["rows"]
    assert rows[0] == {
        "full_name": "pytorch/fairseq",
        "url": "https://github.com/pytorch/fairseq",
        "papers": 4,
        "listings": 1,
    }


def test_papers_in_listing(server):
    rows = get(
        server,
        "/papers/papers_in_listing.json",
        listing="003_b85bd54f973ea52c.txt",
        _shape="objects",
    )["rows"]
    assert [r["position"] for r in rows] == list(range(1, 9))
    assert (
        rows[0]["title"] == "Gated Linear Attention Transformers with Hardware-Efficient Training"
    )
