"""The database in stock clients: the sqlite3 shell and a real Datasette."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SQLITE3 = shutil.which("sqlite3")
DATASETTE = Path(sys.executable).with_name("datasette")


@pytest.mark.skipif(SQLITE3 is None, reason="no sqlite3 binary on this machine")
def test_sqlite3_shell_full_text_query(seed_db):
    sql = "select title from papers_fts where papers_fts match 'mamba' order by rank limit 5"
    done = subprocess.run([SQLITE3, str(seed_db), sql], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    titles = done.stdout.splitlines()
    assert len(titles) == 5 and all("Mamba" in title for title in titles)


def datasette_get(db, path):
    done = subprocess.run(
        [str(DATASETTE), str(db), "--get", path], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_datasette_detects_the_fts_index(seed_db, seed_conn):
    data = datasette_get(seed_db, "/papers/papers.json?_search=mamba&_shape=objects&_size=max")
    found = {row["id"] for row in data["rows"]}
    expected = {
        pid
        for (pid,) in seed_conn.execute(
            "SELECT rowid FROM papers_fts WHERE papers_fts MATCH 'mamba'"
        )
    }
    assert len(expected) == 16 and found == expected
    assert all("mamba" in (row["title"] + row["abstract"]).lower() for row in data["rows"])


@pytest.mark.skipif(SQLITE3 is None, reason="no sqlite3 binary on this machine")
@pytest.mark.parametrize("query", ["mamba", "attention", "quantization", "state space"])
def test_sqlite3_shell_order_by_rank_uses_the_search_weights(seed_db, query):
    """ORDER BY rank in a stock client is bm25 with paperdb's column weights, not plain bm25."""
    from paperdb.search import WEIGHTS

    weights = ", ".join(map(str, WEIGHTS))
    match = f"FROM papers_fts WHERE papers_fts MATCH '{query}'"
    sql = (
        f"SELECT group_concat(rowid) FROM (SELECT rowid {match} ORDER BY rank, rowid);"
        f"SELECT group_concat(rowid) FROM (SELECT rowid {match}"
        f" ORDER BY bm25(papers_fts, {weights}), rowid);"
        f"SELECT group_concat(rowid) FROM (SELECT rowid {match} ORDER BY bm25(papers_fts), rowid);"
    )
    done = subprocess.run([SQLITE3, str(seed_db), sql], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    by_rank, weighted, plain = done.stdout.splitlines()
    assert by_rank == weighted
    if query == "attention":  # a word in many titles and abstracts: the weights reorder it
        assert by_rank != plain
