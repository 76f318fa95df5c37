"""related_papers (issue 18): what each paper relates to, why, and where it is shown."""

import json
import random
import shutil
import sqlite3
import urllib.parse
import urllib.request

import pytest
from click.testing import CliRunner
from conftest import SEED_NAMES, write_dump
from test_datasette import running_datasette

from paperdb.build import build
from paperdb.check import check_database
from paperdb.cli import cli
from paperdb.related import (
    COLUMNS,
    MAX_RELATED,
    SURE_RANKS,
    TAIL_SCORE,
    WEIGHTS,
    _Ranker,
    related_rows,
)

# (paper, one to read next, what the reasons must name): follow-ups, and papers sharing a
# repository, in the bundled dumps.
LINEAGES = [
    (
        "Textbooks Are All You Need",
        "Textbooks Are All You Need II: phi-1.5 technical report",
        ["words: Textbooks"],
    ),
    (
        "Swin Transformer: Hierarchical Vision Transformer using Shifted Windows",
        "Swin Transformer V2: Scaling Up Capacity and Resolution",
        ["words: Swin", "repo: microsoft/Swin-Transformer"],
    ),
    (
        "FiT: Flexible Vision Transformer for Diffusion Model",
        "FiTv2: Scalable and Improved Flexible Vision Transformer for Diffusion Model",
        ["repo: whlzy/FiT", "topics: generative-models"],
    ),
    (
        "TorchGeo: Deep Learning With Geospatial Data",
        "SSL4EO-L: Datasets and Foundation Models for Landsat Imagery",
        ["TorchGeo", "repo: microsoft/torchgeo"],
    ),
]


# As related_rows() gives them: a part they do not share is stored as NULL, given as ''.
SHOWN = [f"coalesce({c}, '')" if c.startswith("shared_") else c for c in COLUMNS]
STORED = f"SELECT {', '.join(SHOWN)} FROM related_papers ORDER BY paper_id, rank"


def rows(path, sql=STORED):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def listed(conn, title):
    """[(rank, related title, reasons)] of the paper with this title."""
    return conn.execute(
        "SELECT rank, other.title, reasons FROM related_papers"
        " JOIN papers AS this ON this.id = related_papers.paper_id"
        " JOIN papers AS other ON other.id = related_papers.related_id"
        " WHERE this.title = ? ORDER BY rank",
        [title],
    ).fetchall()


@pytest.mark.parametrize(("paper", "next_one", "named"), LINEAGES)
def test_known_lineages_relate_both_ways_and_say_what_they_share(seed_conn, paper, next_one, named):
    for this, other in [(paper, next_one), (next_one, paper)]:
        found = {title: (rank, reasons) for rank, title, reasons in listed(seed_conn, this)}
        assert other in found, this
        rank, reasons = found[other]
        assert rank <= 5, (this, rank)
        for part in named:
            assert part in reasons, (this, reasons)


def test_every_paper_has_related_papers_never_itself_at_most_ten(seed_conn):
    (papers,) = seed_conn.execute("SELECT count(*) FROM papers").fetchone()
    counts = seed_conn.execute(
        "SELECT count(*), max(rank), min(rank), count(DISTINCT related_id),"
        " sum(related_id = paper_id) FROM related_papers GROUP BY paper_id"
    ).fetchall()
    assert len(counts) == papers  # every bundled paper has distinctive words
    for count, highest, lowest, distinct, selves in counts:
        assert 1 <= count <= MAX_RELATED
        assert (lowest, highest, distinct, selves) == (1, count, count, 0)


def test_ranks_follow_the_score_and_reasons_are_never_empty(seed_conn):
    previous = None
    for paper_id, score, reasons in seed_conn.execute(
        "SELECT paper_id, score, reasons FROM related_papers ORDER BY paper_id, rank"
    ):
        if previous and previous[0] == paper_id:
            assert score <= previous[1]
        previous = (paper_id, score)
        assert score > 0 and reasons
        assert all(
            part.split(": ", 1)[0] in ("words", "topics", "repo", "acronym")
            for part in reasons.split("; ")
        ), reasons


def test_a_part_they_do_not_share_is_null(seed_conn):
    for column in COLUMNS[4:]:
        assert not seed_conn.execute(
            f"SELECT count(*) FROM related_papers WHERE {column} = ''"
        ).fetchone()[0]
        assert seed_conn.execute(
            f"SELECT count(*) FROM related_papers WHERE {column} IS NULL"
        ).fetchone()[0]


def test_reasons_join_the_shared_parts_with_their_labels(seed_conn):
    """reasons is computed from the shared_* columns when read: any SQLite 3.31+ client reads
    it like a stored column (the labels are not stored in every row)."""
    kinds = ("words", "topics", "repo", "acronym")
    seen = set()
    for reasons, *parts in seed_conn.execute(
        "SELECT reasons, shared_words, shared_topics, shared_repo, shared_acronyms"
        " FROM related_papers"
    ):
        expected = [f"{kind}: {part}" for kind, part in zip(kinds, parts, strict=True) if part]
        assert reasons == "; ".join(expected)
        seen.update(kind for kind, part in zip(kinds, parts, strict=True) if part)
    assert seen == set(kinds)  # the bundled dumps have rows of every kind
    assert seed_conn.execute(
        "SELECT count(*) FROM related_papers WHERE reasons LIKE '%repo: microsoft/%'"
    ).fetchone()[0]


def test_after_the_five_best_a_list_holds_only_papers_scoring_at_least_half(seed_conn, monkeypatch):
    """Ranks 1-5 whatever they score; after them only scores of TAIL_SCORE or more: the
    rows are exactly the untrimmed lists' rows that pass that rule."""
    assert (SURE_RANKS, TAIL_SCORE) == (5, 500)
    trimmed = list(related_rows(seed_conn))
    monkeypatch.setattr("paperdb.related.TAIL_SCORE", 0)
    whole = list(related_rows(seed_conn))
    kept = [row for row in whole if row[2] <= SURE_RANKS or row[3] >= TAIL_SCORE]
    assert trimmed == kept
    assert len(kept) < len(whole)  # the rule drops rows on the bundled dumps
    assert any(row[2] <= SURE_RANKS and row[3] < TAIL_SCORE for row in kept)
    assert max(row[2] for row in kept) == MAX_RELATED  # strong lists still reach 10


def test_the_rows_are_computed_again_the_same(seed_db, seed_conn):
    assert list(related_rows(seed_conn)) == rows(seed_db)


@pytest.mark.parametrize("seed, share", [(1, 0.02), (2, 0.1), (3, 0.5), (4, 1.0)])
def test_reading_only_what_some_papers_need_ranks_them_as_reading_everything(
    seed_conn, seed, share
):
    """An update reads only the terms, postings, topics and repositories of the papers it
    ranks again (and of the papers they can meet): their rows must be the full build's."""
    ids = [pid for (pid,) in seed_conn.execute("SELECT id FROM papers ORDER BY id")]
    chosen = set(random.Random(seed).sample(ids, max(1, round(len(ids) * share))))
    selected = bytearray(pid in chosen for pid in ids)
    with _Ranker(seed_conn, WEIGHTS) as ranker:
        ranker.load(selected)
        some = list(ranker.rows(selected))
    everything = list(related_rows(seed_conn))
    assert some == [row for row in everything if row[0] in chosen]
    assert len({row[0] for row in some}) > len(chosen) // 2


def test_an_incremental_build_gives_the_full_builds_table(tmp_path, seeds_copy):
    db = tmp_path / "papers.db"
    build([seeds_copy], db)
    changed = seeds_copy / SEED_NAMES[2]
    lines = changed.read_text(encoding="utf-8").split("\n")
    # Drop the dump's last paper (title and abstract), and add one that shares its words.
    extra = [
        "Textbooks Are All You Need III: Distilling Synthetic Textbooks",
        "We train phi-3 on synthetic textbooks and exercises written by a larger model, and "
        "find that textbook quality data matters more than size. Code: "
        "https://github.com/whlzy/FiT.",
    ]
    changed.write_text("\n".join(lines[:-2] + extra), encoding="utf-8")
    (seeds_copy / SEED_NAMES[4]).unlink()
    result = build([seeds_copy], db, incremental=True)
    assert result.mode == "incremental", result.reason
    full = tmp_path / "full.db"
    build([seeds_copy], full)
    assert rows(db) == rows(full)
    assert check_database(db) == []
    (new_id,) = rows(
        full, "SELECT id FROM papers WHERE title LIKE 'Textbooks Are All You Need III%'"
    )
    assert any(row[0] == new_id[0] for row in rows(full))


def test_no_related_leaves_the_table_empty_and_an_update_fills_it(tmp_path, seeds_copy):
    db = tmp_path / "papers.db"
    result = CliRunner().invoke(
        cli, ["build", "-q", "--no-related", "-o", str(db), str(seeds_copy)]
    )
    assert result.exit_code == 0, result.output
    assert rows(db) == []
    assert check_database(db) == []
    said = CliRunner().invoke(cli, ["related", "--db", str(db), "Textbooks Are All You Need"])
    assert said.exit_code == 0
    assert "built with --no-related" in said.output
    # Nothing changed in the dumps, but the file lacks what this build asks for.
    assert build([seeds_copy], db, incremental=True).mode == "incremental"
    full = tmp_path / "full.db"
    build([seeds_copy], full)
    assert rows(db) == rows(full) != []
    assert build([seeds_copy], db, incremental=True, related=False).mode == "incremental"
    assert rows(db) == []


def corrupt(path, *statements):
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.execute(
        "UPDATE build_info SET value = (SELECT count(*) FROM related_papers)"
        " WHERE key = 'rows:related_papers'"
    )
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("statements", "problem"),
    [
        (
            ["UPDATE related_papers SET related_id = paper_id WHERE rank = 1"],
            "related_papers: a paper relates to itself (paper_id ",
        ),
        (
            [
                "UPDATE related_papers SET related_id = (SELECT min(id) FROM papers)"
                " WHERE rank <= 2 AND paper_id != (SELECT min(id) FROM papers)"
            ],
            "related_papers: a paper has a related paper twice (paper_id ",
        ),
        (
            [
                "INSERT INTO related_papers (paper_id, related_id, rank, score, shared_words)"
                " SELECT paper_id, related_id, rank + 10, score, shared_words FROM related_papers"
                " WHERE paper_id = (SELECT min(paper_id) FROM related_papers)"
            ],
            "related_papers: a paper has more than 10 related papers (paper_id ",
        ),
        (
            ["UPDATE related_papers SET score = 499 WHERE rank = 6"],
            "related_papers: a paper lists one scoring under 500 after its 5 best (paper_id ",
        ),
        (
            ["UPDATE related_papers SET related_id = 12345 WHERE rank = 3"],
            "related_papers: ",
        ),
    ],
)
def test_check_finds_a_bad_row(seed_db, tmp_path, statements, problem):
    db = tmp_path / "papers.db"
    shutil.copy(seed_db, db)
    corrupt(db, *statements)
    problems = check_database(db)
    assert any(p.startswith(problem) for p in problems), problems
    if "12345" in statements[0]:
        assert "related_papers: " in problems[0] and "related_id with no papers row" in problems[0]


def test_cli_related_by_id_and_by_title(seed_db, seed_conn):
    (pid,) = seed_conn.execute(
        "SELECT id FROM papers WHERE title = 'Textbooks Are All You Need'"
    ).fetchone()
    by_id = CliRunner().invoke(cli, ["related", str(pid), "--db", str(seed_db)])
    assert by_id.exit_code == 0, by_id.output
    lines = by_id.output.splitlines()
    assert lines[0] == f"Related to: Textbooks Are All You Need  (id {pid})"
    assert lines[1].startswith("1. Textbooks Are All You Need II: phi-1.5 technical report")
    assert lines[2].strip().startswith("words: Textbooks")
    by_part = CliRunner().invoke(
        cli, ["related", "phi-1.5 TECHNICAL", "--db", str(seed_db), "--json"]
    )
    assert by_part.exit_code == 0, by_part.output
    found = json.loads(by_part.output)
    assert found["title"] == "Textbooks Are All You Need II: phi-1.5 technical report"
    assert found["related"][0] == {
        "rank": 1,
        "id": pid,
        "title": "Textbooks Are All You Need",
        "score": found["related"][0]["score"],
        "reasons": found["related"][0]["reasons"],
    }
    assert [row["rank"] for row in found["related"]] == list(range(1, len(found["related"]) + 1))


@pytest.mark.parametrize(
    ("paper", "message"),
    [
        ("12345", "Error: no paper has the id or a title like '12345' (try: paperdb search)"),
        ("zorblax quantum", "Error: no paper has the id or a title like 'zorblax quantum'"),
        ("Mamba", "Error: 'Mamba' is in the titles of several papers; give one's id ("),
    ],
)
def test_cli_related_names_what_it_cannot_find(seed_db, paper, message):
    result = CliRunner().invoke(cli, ["related", paper, "--db", str(seed_db)])
    assert result.exit_code == 1
    assert result.output.startswith(message)
    assert "Traceback" not in result.output


def test_cli_related_has_help_with_examples():
    result = CliRunner().invoke(cli, ["related", "-h"])
    assert result.exit_code == 0
    assert "Examples:" in result.output and "paperdb related" in result.output


@pytest.fixture(scope="module")
def datasette(seed_db):
    with running_datasette(seed_db, metadata=None, plugins=True) as base:
        yield base


def fetch(url):
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read().decode("utf-8")


def test_the_paper_page_lists_related_papers_linked_with_reasons(datasette, seed_conn):
    pid = seed_conn.execute(
        "SELECT id FROM papers WHERE title LIKE 'Swin Transformer V2%'"
    ).fetchone()[0]
    html = fetch(f"{datasette}/papers/papers/{pid}").replace("&#39;", "'")
    section = html.split('class="paperdb-related"', 1)[1].split("</ul>", 1)[0]
    stored = seed_conn.execute(
        "SELECT related_id, reasons FROM related_papers WHERE paper_id = ? ORDER BY rank", [pid]
    ).fetchall()
    links = [int(part.split('"', 1)[0]) for part in section.split('href="/papers/papers/')[1:]]
    assert links == [other for other, _ in stored]
    for _, reasons in stored:
        assert f'<span class="paperdb-reasons">{reasons}</span>' in section


def test_the_related_canned_query_takes_an_id_or_a_title(datasette, seed_conn):
    pid = seed_conn.execute(
        "SELECT id FROM papers WHERE title = 'Textbooks Are All You Need'"
    ).fetchone()[0]
    for given in (str(pid), "textbooks are all you need"):
        query = urllib.parse.urlencode({"paper": given, "_shape": "array"})
        found = json.loads(fetch(f"{datasette}/papers/related.json?{query}"))
        assert [row["rank"] for row in found][:2] == [1, 2]
        assert found[0]["title"] == "Textbooks Are All You Need II: phi-1.5 technical report"
        assert found[0]["reasons"].startswith("words: Textbooks")


def test_papers_sharing_a_distinctive_word_relate_and_a_paper_sharing_none_has_none(tmp_path):
    lines = [
        "Zorblax Routing for Sparse Experts",
        "We route tokens with zorblax gates and measure the throughput on eight accelerators.",
        "Scaling Zorblax Gates",
        "Zorblax gates scale to a thousand experts when the router is trained with care.",
        "Tidal Harmonics of Lunar Regolith",
        "Seismometers left on the moon record quakes whose spectra reveal buried basalt.",
    ]
    folder = tmp_path / "dumps"
    folder.mkdir()
    write_dump(folder, "one.txt", lines)
    db = tmp_path / "papers.db"
    build([folder], db)
    found = rows(
        db,
        "SELECT this.title, other.title, reasons FROM related_papers"
        " JOIN papers AS this ON this.id = paper_id JOIN papers AS other ON other.id = related_id"
        " ORDER BY this.title",
    )
    assert [(this, other) for this, other, _ in found] == [
        ("Scaling Zorblax Gates", "Zorblax Routing for Sparse Experts"),
        ("Zorblax Routing for Sparse Experts", "Scaling Zorblax Gates"),
    ]
    for _, _, reasons in found:
        assert reasons.startswith("words: ") and "Zorblax" in reasons and "gates" in reasons
