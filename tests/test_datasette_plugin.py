"""paperdb's Datasette plugin through a real `datasette serve`: the CLI's search, everywhere."""

import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

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


# --- paperdb's pages: home, paper, topic, repository (the plugin's templates) ---------------


def page(url):
    with urllib.request.urlopen(url, timeout=60) as response:
        assert response.status == 200
        return response.read().decode()


def paper_with_repo_and_topics(conn):
    return conn.execute(
        """select paper_id from paper_repos
        where paper_id in (select paper_id from paper_topics group by paper_id having count(*) > 1)
        order by paper_id limit 1"""
    ).fetchone()[0]


def test_a_file_not_named_papers_db_gets_the_metadata_and_canned_queries(server):
    base, _ = server
    meta = get(f"{base}/-/metadata.json")
    assert meta["title"].startswith("paperdb")
    queries = get(f"{base}/my-papers.json")["queries"]
    names = {query["name"] for query in queries}
    assert {"search", "papers_by_topic", "top_repositories", "papers_in_listing"} <= names
    rows = get(f"{base}/my-papers/papers_by_topic.json?topic=quantization&_shape=array")
    assert len(rows) > 10


def test_the_home_page_starts_with_search_then_topics_and_repositories(server, seed_conn):
    base, _ = server
    html = page(f"{base}/my-papers")
    search_box = html.find('action="/my-papers/search"')
    assert -1 < search_box < html.find("<h2>Topics</h2>") < html.find("Most cited repositories")
    (top_topic,) = seed_conn.execute(
        "select name from topics where parent_id is null limit 1"
    ).fetchone()
    assert f">{top_topic}</a>" in html.replace("&amp;", "&")
    assert ">pytorch/fairseq</a>" in html
    tables = {table["name"]: table["hidden"] for table in get(f"{base}/my-papers.json")["tables"]}
    assert tables["acronym_definitions"] and tables["build_info"] and not tables["papers"]
    index = page(f"{base}/")
    assert 'action="/my-papers/search"' in index


def test_a_paper_page_shows_topics_repositories_listings_and_related(server, seed_conn):
    base, _ = server
    paper_id = paper_with_repo_and_topics(seed_conn)
    html = page(f"{base}/my-papers/papers/{paper_id}")
    (title,) = seed_conn.execute("select title from papers where id = ?", [paper_id]).fetchone()
    assert f"<h1>{title}</h1>" in html.replace("&#39;", "'")
    for topic_id, name, evidence in seed_conn.execute(
        """select topics.id, topics.name, evidence from paper_topics
        join topics on topics.id = topic_id where paper_id = ?""",
        [paper_id],
    ):
        assert f'href="/my-papers/topics/{topic_id}"' in html and name in html
        assert evidence.split(";")[0] in html
    for full_name, url in seed_conn.execute(
        "select full_name, url from repos join paper_repos on repo_id = repos.id "
        "where paper_id = ?",
        [paper_id],
    ):
        assert f'href="{url}" rel="nofollow noopener">{full_name}</a>' in html
    for name, position in seed_conn.execute(
        """select name, position from paper_listings join listings on listings.id = listing_id
        where paper_id = ?""",
        [paper_id],
    ):
        assert f">{name}</a>" in html and f"<td>{position}</td>" in html
    assert "Related papers" in html
    related = html.split("paperdb-related", 1)[1]
    stored = seed_conn.execute(
        "select count(*) from related_papers where paper_id = ?", [paper_id]
    ).fetchone()[0]
    assert related.count('href="/my-papers/papers/') == stored > 0


def test_a_topic_page_lists_its_papers_strongest_first_with_parent_and_children(server, seed_conn):
    base, _ = server
    parent_id, child_id, child_name = seed_conn.execute(
        """select parent.id, child.id, child.name from topics as child
        join topics as parent on parent.id = child.parent_id order by child.id limit 1"""
    ).fetchone()
    html = page(f"{base}/my-papers/topics/{child_id}")
    assert f"<h1>{child_name}</h1>" in html.replace("&amp;", "&")
    assert f'href="/my-papers/topics/{parent_id}"' in html
    strongest = [
        pid
        for (pid,) in seed_conn.execute(
            "select paper_id from paper_topics where topic_id = ? "
            "order by score desc, paper_id limit 5",
            [child_id],
        )
    ]
    positions = [html.find(f'href="/my-papers/papers/{pid}"') for pid in strongest]
    assert -1 not in positions and positions == sorted(positions)
    parent_html = page(f"{base}/my-papers/topics/{parent_id}")
    assert f'href="/my-papers/topics/{child_id}"' in parent_html


def test_a_repository_page_links_github_and_its_papers(server, seed_conn):
    base, _ = server
    repo_id, url, full_name = seed_conn.execute(
        "select id, url, full_name from repos where full_name = 'pytorch/fairseq'"
    ).fetchone()
    html = page(f"{base}/my-papers/repos/{repo_id}")
    assert f'<a class="github" href="{url}" rel="nofollow noopener">{full_name}</a>' in html
    assert html.count('href="/my-papers/papers/') == 4


def test_ids_link_to_their_pages_and_tables_stay_short(server, seed_conn):
    base, _ = server
    html = page(f"{base}/my-papers/papers_by_topic?topic=quantization")
    (first,) = seed_conn.execute(
        """select paper_id from paper_topics join topics on topics.id = topic_id
        where slug = 'quantization' order by score desc, paper_id limit 1"""
    ).fetchone()
    assert f'<a href="/my-papers/papers/{first}">{first}</a>' in html
    top = page(f"{base}/my-papers/top_repositories")
    assert '<a href="https://github.com/pytorch/fairseq" rel="nofollow noopener">' in top
    counts = page(f"{base}/my-papers/topic_counts")
    assert '<a href="/my-papers/topics/1">1</a>' in counts
    table = page(f"{base}/my-papers/papers?_size=5")
    (longest,) = seed_conn.execute("select max(length(abstract)) from papers").fetchone()
    cells = table.split('<td class="col-abstract')[1:]
    assert cells and all(len(cell.split("</td>")[0]) < 400 for cell in cells) and longest > 1000
    assert 'href="/-/static-plugins/paperdb/paperdb.css' in table  # which hides col-aliases


HOSTILE_PAPER = [
    '<script>alert("title")</script> Hostile <img src=x onerror=alert(1)> Title',
    "",
    "We test <script>alert(1)</script> and <img src=x onerror=alert(2)> and "
    'javascript:alert(3) and a link https://github.com/evil/repo"onmouseover=alert(4) '
    "and https://example.org/x?a=1&b=<b>2</b> and [click](javascript:alert(5)).",
    "",
]


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    from conftest import write_dump

    from paperdb.build import build

    folder = tmp_path_factory.mktemp("hostile")
    dump = write_dump(folder, "evil.txt", HOSTILE_PAPER)
    db = folder / "evil.db"
    build([dump], db)
    with running_datasette(db, metadata=None, plugins=True) as base:
        yield base, db


def test_hostile_titles_and_abstracts_are_escaped(hostile_server):
    base, db = hostile_server
    (paper_id,) = open_database(db).conn.execute("select id from papers").fetchone()
    html = page(f"{base}/evil/papers/{paper_id}")
    article = html.split('<article class="paperdb paperdb-paper">')[1].split("</article>")[0]
    assert "<script" not in article and "<img" not in article and "<b>" not in article
    assert "&lt;script&gt;" in article and "&lt;img src=x onerror=alert(2)&gt;" in article
    hrefs = [chunk.split('"')[0] for chunk in article.split('href="')[1:]]
    assert not [h for h in hrefs if "javascript" in h.lower() or "onmouseover" in h.lower()]
    assert "https://example.org/x?a=1&amp;b=" in hrefs
    assert "onmouseover=alert(4)" in article  # shown as text, never as an attribute
    for listing in (f"{base}/evil/papers", f"{base}/evil", f"{base}/evil/search?q=hostile"):
        assert "<script>alert" not in page(listing)


# --- paperdb serve ---------------------------------------------------------------------------


def test_paperdb_serve_shows_the_home_page_of_any_file(server):
    from test_datasette import free_port

    _, path = server
    port = free_port()
    paperdb = str(Path(sys.executable).with_name("paperdb"))
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [paperdb, "serve", "--db", str(path), "--port", str(port)], stdout=log, stderr=log
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    html = page(f"http://127.0.0.1:{port}/my-papers")
                    break
                except OSError:
                    assert process.poll() is None and time.monotonic() < deadline
                    time.sleep(0.2)
        finally:
            process.terminate()
            process.wait(timeout=10)
    assert 'action="/my-papers/search"' in html and "Most cited repositories" in html


def test_paperdb_serve_without_datasette_says_how_to_install_it(seed_db):
    # `datasette` made unimportable, as in an install without the extra.
    code = (
        "import sys; sys.modules['datasette'] = None; sys.modules['datasette.cli'] = None; "
        "from paperdb.cli import cli; cli(['serve', '--db', sys.argv[1]])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(seed_db)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "pip install 'paperdb[datasette]'" in result.stderr


def test_paperdb_serve_refuses_a_file_that_is_not_a_paperdb(tmp_path):
    other = tmp_path / "other.db"
    other.write_bytes(b"not sqlite at all" * 100)
    result = subprocess.run(
        [str(Path(sys.executable).with_name("paperdb")), "serve", "--db", str(other)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert str(other) in result.stderr and "not a readable SQLite database" in result.stderr


def test_the_topic_facet_counts_through_paper_topics(server, seed_conn):
    base, _ = server
    data = get(f"{base}/my-papers/papers.json?_facet_topic=1&_size=0&_facet_size=max")
    counted = {r["value"]: r["count"] for r in data["facet_results"]["topics"]["results"]}
    expected = dict(
        seed_conn.execute(
            "SELECT topics.slug, count(*) FROM paper_topics"
            " JOIN topics ON topics.id = paper_topics.topic_id GROUP BY topics.id"
        )
    )
    assert counted == expected


def test_the_topic_filter_keeps_a_topics_papers_and_the_facet_follows(server, seed_conn):
    base, _ = server
    data = get(
        f"{base}/my-papers/papers.json?_topic=quantization&_facet_topic=1&_shape=objects&_size=max"
    )
    ids = {row["id"] for row in data["rows"]}
    expected = {
        pid
        for (pid,) in seed_conn.execute(
            "SELECT paper_id FROM paper_topics JOIN topics ON topics.id = topic_id"
            " WHERE slug = 'quantization'"
        )
    }
    assert ids == expected and len(ids) > 5
    results = data["facet_results"]["topics"]["results"]
    chosen = [r for r in results if r["selected"]]
    assert [r["value"] for r in chosen] == ["quantization"] and chosen[0]["count"] == len(ids)
    assert "_topic=quantization" not in chosen[0]["toggle_url"]  # the toggle removes it


def test_the_listing_facet_and_filter(server, seed_conn):
    base, _ = server
    name = "003_b85bd54f973ea52c.txt"
    data = get(f"{base}/my-papers/papers.json?_listing={name}&_facet_listing=1&_shape=objects")
    assert len(data["rows"]) == 8
    counts = {r["value"]: r["count"] for r in data["facet_results"]["listings"]["results"]}
    assert counts[name] == 8


def test_a_file_named_by_a_relative_path_gets_the_plugin(seed_db, tmp_path):
    """`datasette papers.db` from the file's folder: the most common way to open it."""
    import subprocess
    import sys
    from pathlib import Path

    shutil.copy(seed_db, tmp_path / "mine.db")
    datasette = Path(sys.executable).with_name("datasette")
    done = subprocess.run(
        [str(datasette), "mine.db", "--get", "/mine/search.json?q=mamba&_shape=array"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["rank"] == 1
