"""paperdb.check: a healthy build passes, and each kind of damage is named with its size."""

import hashlib
import random
import re
import shutil
import sqlite3

import pytest
from conftest import SEED_NAMES, SEEDS, scalar, seed_lines, write_dump

from paperdb import __version__
from paperdb.build import build
from paperdb.check import check_database, count_key
from paperdb.schema import schema_version

SKIPPED = "other checks skipped: the SQLite file itself is damaged"
FTS_MISMATCH = (
    "papers_fts: full-text index is damaged or does not match papers "
    "(FTS5 integrity-check: database disk image is malformed)"
)


@pytest.fixture
def db(seed_db, tmp_path):
    """A private copy of the seed database, free to damage."""
    path = tmp_path / "papers.db"
    shutil.copyfile(seed_db, path)
    return path


def run(path, *statements):
    """Execute statements on the database and commit."""
    conn = sqlite3.connect(path)
    try:
        for sql in statements:
            conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


def fingerprint(path):
    """Bytes, modification time, and whatever lies beside the file (journals, temp files)."""
    return (
        hashlib.sha256(path.read_bytes()).hexdigest(),
        path.stat().st_mtime_ns,
        sorted(p.name for p in path.parent.iterdir()),
    )


def single_listing_paper(path):
    """The smallest id of a paper that appears in one listing only."""
    return scalar(path, "SELECT min(id) FROM papers WHERE listing_count = 1")


def forget_paper_elsewhere(path, pid, keep=("paper_listings",)):
    """Delete the rows of every table that refers to paper `pid`, except those in `keep`.

    Found through the declared foreign keys, so tables a later schema adds (topics, repos
    ...) are cleaned as well, and build_info's counts of them follow: only the damage a test
    means to do remains.
    """
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'PRAGMA foreign_key_list("{table}")').fetchall():
                if row[2] == "papers" and table not in keep:
                    conn.execute(f'DELETE FROM "{table}" WHERE "{row[3]}" = ?', (pid,))
                    conn.execute(
                        f'UPDATE build_info SET value = (SELECT count(*) FROM "{table}")'
                        " WHERE key = ?",
                        (count_key(table),),
                    )
        conn.commit()
    finally:
        conn.close()


def fts_columns(path):
    conn = sqlite3.connect(path)
    try:
        return [row[1] for row in conn.execute("PRAGMA table_info(papers_fts)")]
    finally:
        conn.close()


def drop_views(path):
    conn = sqlite3.connect(path)
    try:
        views = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='view'")]
        for view in views:
            conn.execute(f'DROP VIEW "{view}"')
        conn.commit()
    finally:
        conn.close()


# --- healthy databases -------------------------------------------------------------------


def test_seed_database_is_healthy(seed_db):
    assert check_database(seed_db) == []
    assert check_database(str(seed_db)) == []


def test_check_leaves_a_healthy_file_byte_identical(db):
    before = fingerprint(db)
    assert check_database(db) == []
    assert fingerprint(db) == before


def test_check_leaves_a_damaged_file_byte_identical(db):
    # The failing FTS5 integrity-check is the one that ran on a writable connection.
    run(db, "DELETE FROM papers_fts_data WHERE id > 10")
    before = fingerprint(db)
    assert check_database(db) == [FTS_MISMATCH]
    assert fingerprint(db) == before


def test_objects_and_keys_this_version_does_not_write_are_named(db):
    run(
        db,
        "CREATE TABLE future_things (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
        "CREATE TABLE paper_future_things"
        " (paper_id INTEGER REFERENCES papers(id), thing_id INTEGER REFERENCES future_things(id))",
        "INSERT INTO future_things VALUES (1, 'state space models')",
        "INSERT INTO build_info VALUES ('future_things', '7'), ('future_total', '12345')",
    )
    assert check_database(db) == [
        "schema: table future_things is not in schema.sql",
        "schema: table paper_future_things is not in schema.sql",
        f"build_info: keys future_things, future_total are not written by paperdb {__version__}",
    ]


def test_each_dropped_object_is_named_once_and_the_rest_is_still_checked(db):
    drop_views(db)
    run(
        db,
        "DROP TABLE build_info",
        "DROP TABLE paper_repos",
        "DROP TABLE papers_fts",
        "ALTER TABLE listings DROP COLUMN paper_count",
        "ALTER TABLE papers DROP COLUMN listing_count",
        "UPDATE paper_listings SET listing_id = 99 WHERE listing_id = 4",
    )
    # Indexes of a dropped table, and FTS5's shadow tables, go with it: no line of their own.
    assert check_database(db) == [
        "schema: table build_info is missing",
        "schema: view paper_overview is missing",
        "schema: table paper_repos is missing",
        "schema: virtual table papers_fts is missing",
        "schema: view papers_without_code is missing",
        "schema: view repo_mentions is missing",
        "schema: view topic_counts is missing",
        "schema: table listings has no column paper_count",
        "schema: table papers has no column listing_count",
        "paper_listings: 8 rows have a listing_id with no listings row (listing_id 99)",
    ]


# --- what build_info says, and every table's rows -------------------------------------------


@pytest.fixture(scope="module")
def warned_db(tmp_path_factory):
    """The seeds and two more dumps that give warnings of every kind; `paperdb check` passes."""
    folder = tmp_path_factory.mktemp("warned")
    shutil.copytree(SEEDS, folder / "dumps")
    lines = seed_lines("001")
    write_dump(folder / "dumps", "005_cut.txt", lines[:5] + lines[6:])  # title without abstract
    longer = lines[:6]
    longer[3] += " An extra closing sentence."
    write_dump(folder / "dumps", "006_longer.txt", longer)  # an abstract conflict
    (folder / "dumps" / "007_binary.txt").write_bytes(b"\x00binary")  # skipped: no listing
    path = folder / "papers.db"
    result = build([folder / "dumps"], path, skip_bad=True)
    assert {w.kind for w in result.warnings} == {
        "title-without-abstract",
        "abstract-conflict",
        "skipped-file",
    }
    return path


@pytest.fixture
def warned(warned_db, tmp_path):
    path = tmp_path / "papers.db"
    shutil.copyfile(warned_db, path)
    return path


def test_a_build_with_warnings_is_healthy(warned):
    assert check_database(warned) == []
    assert check_database(warned, quick=True) == []


def test_an_incrementally_updated_build_is_healthy(warned_db, tmp_path):
    folder = tmp_path / "dumps"
    shutil.copytree(warned_db.parent / "dumps", folder)
    path = tmp_path / "papers.db"
    shutil.copyfile(warned_db, path)
    (folder / "006_longer.txt").unlink()
    write_dump(folder, "008_more.txt", seed_lines("003")[:10])
    result = build([folder], path, incremental=True, skip_bad=True)
    assert result.mode == "incremental", result.reason
    assert check_database(path) == []
    assert check_database(path, quick=True) == []


MIN_TOPIC = "(SELECT min(topic_id) FROM paper_topics)"
VERSION = (
    f"build_info: tool_version says paperdb 0.0.1 built the file, this is paperdb {__version__}"
)


def key_is(key, text):
    return f"UPDATE build_info SET value = '{text}' WHERE key = '{key}'"


# (statements, the start of the line that must name the damage, whether quick finds it too)
DAMAGES = {
    "papers_fts-dropped": (
        ["DROP TABLE papers_fts"],
        "schema: virtual table papers_fts is missing",
        True,
    ),
    "build_info-dropped": (["DROP TABLE build_info"], "schema: table build_info is missing", True),
    "links-dropped": (["DROP TABLE links"], "schema: table links is missing", True),
    "paper_topics-dropped": (
        ["DROP TABLE paper_topics"],
        "schema: table paper_topics is missing",
        True,
    ),
    "acronyms-dropped": (["DROP TABLE acronyms"], "schema: table acronyms is missing", True),
    "index-dropped": (["DROP INDEX links_kind"], "schema: index links_kind is missing", True),
    "index-changed": (
        ["DROP INDEX links_kind", "CREATE INDEX links_kind ON links(host)"],
        "schema: index links_kind is on links(host), schema.sql has it on links(kind)",
        True,
    ),
    "column-added": (
        ["ALTER TABLE papers ADD COLUMN note TEXT"],
        "schema: table papers has a column note that schema.sql does not",
        True,
    ),
    "view-changed": (
        ["DROP VIEW topic_counts", "CREATE VIEW topic_counts AS SELECT 1 AS papers"],
        "schema: view topic_counts is defined otherwise than in schema.sql",
        True,
    ),
    "build_info-emptied": (["DELETE FROM build_info"], "build_info: has no rows", True),
    "build_info-key-deleted": (
        ["DELETE FROM build_info WHERE key = 'rows:links'"],
        "build_info: no rows:links key",
        True,
    ),
    "paper_topics-rows-deleted": (
        [f"DELETE FROM paper_topics WHERE topic_id = {MIN_TOPIC}"],
        "paper_topics: build_info says",
        True,
    ),
    "paper_topics-emptied": (
        ["DELETE FROM paper_topics"],
        "paper_topics: build_info says",
        True,
    ),
    "links-row-deleted": (
        ["DELETE FROM links WHERE rowid = (SELECT min(rowid) FROM links)"],
        "links: build_info says",
        True,
    ),
    "build_warnings-row-deleted": (
        ["DELETE FROM build_warnings WHERE id = (SELECT max(id) FROM build_warnings)"],
        "build_warnings: build_info warnings says 3 rows, table has 2",
        True,
    ),
    "acronyms-rows-deleted": (
        ["DELETE FROM acronyms WHERE short = (SELECT min(short) FROM acronyms)"],
        "acronyms: build_info says",
        True,
    ),
    "topics-row-deleted": (
        ["DELETE FROM topics WHERE id = (SELECT max(id) FROM topics)"],
        "topics: build_info says",
        True,
    ),
    "warnings-count-wrong": (
        [key_is("warnings", "4")],
        "build_warnings: build_info warnings says 4 rows, table has 3",
        True,
    ),
    "warnings-count-not-a-number": (
        [key_is("warnings", "three")],
        "build_info: warnings is not a number: 'three'",
        True,
    ),
    "tool_version-other": ([key_is("tool_version", "0.0.1")], VERSION, True),
    "tool_version-empty": (
        [key_is("tool_version", "")],
        "build_info: tool_version is not a version: ''",
        True,
    ),
    "tool_version-garbage": (
        [key_is("tool_version", "paperdb")],
        "build_info: tool_version is not a version: 'paperdb'",
        True,
    ),
    "tool_version-deleted": (
        ["DELETE FROM build_info WHERE key = 'tool_version'"],
        "build_info: no tool_version key",
        True,
    ),
    "schema_version-wrong": (
        [key_is("schema_version", "1")],
        f"build_info: schema_version says 1, the file's user_version is {schema_version()}",
        True,
    ),
    "sqlite_version-garbage": (
        [key_is("sqlite_version", "latest")],
        "build_info: sqlite_version is not an SQLite 3 version: 'latest'",
        True,
    ),
    "built_at-garbage": (
        ["INSERT INTO build_info VALUES ('built_at', 'yesterday')"],
        "build_info: built_at is not a time like 2024-03-14T12:00:00Z: 'yesterday'",
        True,
    ),
    "user_version-older": (
        [f"PRAGMA user_version = {schema_version() - 1}"],
        f"schema version {schema_version() - 1} is older than this paperdb's ({schema_version()})",
        True,
    ),
    "user_version-newer": (
        [f"PRAGMA user_version = {schema_version() + 1}"],
        "",  # the file's path, then "schema version ... is newer"
        True,
    ),
    "warning_count-wrong": (
        ["UPDATE listings SET warning_count = warning_count + 1 WHERE name = '005_cut.txt'"],
        "listings: 005_cut.txt (id 6) has warning_count 2, build_warnings has 1 rows",
        False,
    ),
    "acronym-papers-wrong": (
        ["UPDATE acronyms SET papers = papers + 1 WHERE short = (SELECT min(short) FROM acronyms)"],
        "acronyms: 1 acronym disagrees with acronym_definitions",
        False,
    ),
}


@pytest.mark.parametrize(("statements", "named", "quick"), DAMAGES.values(), ids=DAMAGES.keys())
def test_each_damage_is_named(warned, statements, named, quick):
    run(warned, *statements)
    named = named or f"{warned}: schema version"
    problems = check_database(warned)
    assert any(p.startswith(named) for p in problems), problems
    if quick:
        problems = check_database(warned, quick=True)
        assert any(p.startswith(named) for p in problems), problems


# --- counts --------------------------------------------------------------------------------


def test_paper_deleted(db):
    pid = single_listing_paper(db)
    forget_paper_elsewhere(db, pid)
    # The index is kept in step (FTS5's 'delete' takes the indexed values of every
    # column), so only the counts and the foreign key are wrong.
    columns = ", ".join(fts_columns(db))
    run(
        db,
        f"INSERT INTO papers_fts(papers_fts, rowid, {columns})"
        f" SELECT 'delete', id, {columns} FROM papers WHERE id = {pid}",
        f"DELETE FROM papers WHERE id = {pid}",
    )
    assert check_database(db) == [
        f"paper_listings: 1 row has a paper_id with no papers row (paper_id {pid})",
        "papers: build_info says 842 rows, table has 841",
        "papers: listing_count adds up to 897, paper_listings has 898 rows",
    ]


def test_paper_deleted_without_updating_the_index(db):
    pid = single_listing_paper(db)
    forget_paper_elsewhere(db, pid)
    run(db, f"DELETE FROM papers WHERE id = {pid}")
    problems = check_database(db)
    assert problems[:2] == [f"papers_fts: 1 indexed row has no paper (id {pid})", FTS_MISMATCH]
    assert "papers: build_info says 842 rows, table has 841" in problems


def test_paper_added_without_indexing_it(db):
    run(
        db,
        "INSERT INTO papers (id, title, abstract, slug, first_listing_id, listing_count)"
        " VALUES (7, 'Unindexed', 'Never reached the index.', 'unindexed', 1, 1)",
    )
    assert check_database(db) == [
        "papers_fts: 1 paper is not indexed (id 7)",
        FTS_MISMATCH,
        "papers: build_info says 842 rows, table has 843",
        "papers: listing_count adds up to 899, paper_listings has 898 rows",
        "papers: 1 paper has no paper_listings row (id 7)",
    ]


@pytest.mark.parametrize(
    ("key", "table", "rows", "said", "message"),
    [
        ("papers", "papers", 842, 843, "papers: build_info says 843 rows, table has 842"),
        ("listings", "listings", 5, 4, "listings: build_info says 4 rows, table has 5"),
        (
            "paper_occurrences",
            "paper_listings",
            898,
            900,
            "paper_listings: build_info paper_occurrences says 900 rows, table has 898",
        ),
    ],
)
def test_build_info_count_altered(db, key, table, rows, said, message):
    assert scalar(db, f"SELECT count(*) FROM {table}") == rows
    run(db, f"UPDATE build_info SET value = '{said}' WHERE key = '{key}'")
    assert check_database(db) == [message]


def test_build_info_count_that_is_not_a_number(db):
    run(db, "UPDATE build_info SET value = 'many' WHERE key = 'papers'")
    assert check_database(db) == ["build_info: papers is not a number: 'many'"]


def test_listing_paper_count_altered(db):
    run(db, "UPDATE listings SET paper_count = paper_count + 2 WHERE id = 4")
    assert check_database(db) == [
        "listings: paper_count adds up to 900, paper_listings has 898 rows",
        f"listings: {SEED_NAMES[3]} (id 4) has paper_count 10, paper_listings has 8 rows",
    ]


def test_paper_listing_count_altered(db):
    pid = single_listing_paper(db)
    run(db, f"UPDATE papers SET listing_count = 3 WHERE id = {pid}")
    assert check_database(db) == [
        "papers: listing_count adds up to 900, paper_listings has 898 rows",
        "papers: 1 paper has a listing_count other than its number of paper_listings rows"
        f" (id {pid} says 3, has 1)",
    ]


def test_paper_without_any_listing(db):
    pid = single_listing_paper(db)
    listing = scalar(db, f"SELECT listing_id FROM paper_listings WHERE paper_id = {pid}")
    run(
        db,
        f"DELETE FROM paper_listings WHERE paper_id = {pid}",
        f"UPDATE listings SET paper_count = paper_count - 1 WHERE id = {listing}",
        "UPDATE build_info SET value = '897' WHERE key = 'paper_occurrences'",
        f"UPDATE papers SET listing_count = 0 WHERE id = {pid}",
    )
    assert check_database(db) == [f"papers: 1 paper has no paper_listings row (id {pid})"]


# --- foreign keys ----------------------------------------------------------------------------


def test_dangling_paper_listings_row(db):
    run(
        db,
        "INSERT INTO paper_listings (paper_id, listing_id, position, line, abstract_line)"
        " VALUES (12345, 1, 999, 9999, 10000)",
    )
    assert check_database(db) == [
        "paper_listings: 1 row has a paper_id with no papers row (paper_id 12345)",
        "paper_listings: build_info paper_occurrences says 898 rows, table has 899",
        "listings: paper_count adds up to 898, paper_listings has 899 rows",
        f"listings: {SEED_NAMES[0]} (id 1) has paper_count 22, paper_listings has 23 rows",
        "papers: listing_count adds up to 898, paper_listings has 899 rows",
    ]


def test_occurrences_in_a_missing_listing(db):
    run(db, "UPDATE paper_listings SET listing_id = 99 WHERE listing_id = 4")
    problems = check_database(db)
    assert (
        problems[0]
        == "paper_listings: 8 rows have a listing_id with no listings row (listing_id 99)"
    )
    assert (
        f"listings: {SEED_NAMES[3]} (id 4) has paper_count 8, paper_listings has 0 rows" in problems
    )


# --- source hashes ---------------------------------------------------------------------------


def test_listing_hash_differs_from_build_info(db):
    recorded = scalar(
        db, f"SELECT value FROM build_info WHERE key = 'source_sha256:{SEED_NAMES[1]}'"
    )
    run(db, f"UPDATE listings SET sha256 = '{'0' * 64}' WHERE id = 2")
    assert check_database(db) == [
        f"listings: {SEED_NAMES[1]} has sha256 {'0' * 64}, "
        f"build_info source_sha256:{SEED_NAMES[1]} says {recorded}"
    ]


def test_listing_renamed_and_hash_key_dropped(db):
    run(db, "UPDATE listings SET name = 'renamed.txt' WHERE id = 1")
    assert check_database(db) == [
        f"build_info: source_sha256:{SEED_NAMES[0]} names no listing",
        "listings: renamed.txt has no source_sha256:renamed.txt in build_info",
    ]


# --- the full-text index -----------------------------------------------------------------------


def test_corrupted_fts_index(db):
    run(db, "DELETE FROM papers_fts_data WHERE id > 10")
    assert check_database(db) == [FTS_MISMATCH]


def test_fts_check_without_a_writable_connection(db, monkeypatch):
    """A write-protected file: SQLite opens mode=rw read-only, and the check falls back."""
    connect = sqlite3.connect

    def read_only_connect(target, *args, **kwargs):
        return connect(str(target).replace("mode=rw", "mode=ro"), *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", read_only_connect)
    assert check_database(db) == []
    run(db, "DELETE FROM papers_fts_data WHERE id > 10")
    assert check_database(db) == [FTS_MISMATCH]


def test_fts_check_never_opens_writable_beside_a_journal(db, monkeypatch):
    run(db, "DELETE FROM papers_fts_data WHERE id > 10")
    journal = db.parent / f"{db.name}-journal"
    journal.write_bytes(b"")  # empty: not hot, but the check must not risk a rollback
    opened = []
    connect = sqlite3.connect

    def recording_connect(target, *args, **kwargs):
        opened.append(str(target))
        return connect(target, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", recording_connect)
    before = fingerprint(db)
    assert check_database(db) == [FTS_MISMATCH]
    assert fingerprint(db) == before and journal.read_bytes() == b""
    assert not any("mode=rw" in target for target in opened)


# --- files that are not (our) databases -----------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "none.db"
    assert check_database(path) == [f"{path}: no such database file"]
    assert not path.exists()


def test_folder(tmp_path):
    assert check_database(tmp_path) == [
        f"{tmp_path}: not a database file (a folder or special file)"
    ]


def test_empty_file(tmp_path):
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    assert check_database(path) == [f"{path}: empty file, not a paperdb database"]


def test_non_sqlite_file(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("these are not the papers you are looking for\n" * 200)
    assert check_database(path) == [
        f"{path}: not a readable SQLite database (file is not a database)"
    ]


def test_sqlite_database_that_is_not_ours(tmp_path):
    path = tmp_path / "other.db"
    run(path, "CREATE TABLE things (x)")
    assert check_database(path) == [
        f"{path}: not a paperdb database (no papers table or schema version)"
    ]


@pytest.mark.parametrize("keep", [50, 4096, 0.5])
def test_truncated_file(db, keep):
    data = db.read_bytes()
    db.write_bytes(data[: keep if isinstance(keep, int) else int(len(data) * keep)])
    assert check_database(db) == [
        f"{db}: not a readable SQLite database (database disk image is malformed)"
    ]


def test_newer_schema(db):
    run(db, "PRAGMA user_version = 999")
    assert check_database(db) == [
        f"{db}: schema version 999 is newer than this paperdb understands "
        f"({schema_version()}); upgrade paperdb to check it"
    ]


def test_damaged_page_is_reported_by_integrity_check_and_stops_there(db):
    root = scalar(db, "SELECT rootpage FROM sqlite_master WHERE name = 'papers'")
    page = scalar(db, "PRAGMA page_size")
    data = bytearray(db.read_bytes())
    start = (root - 1) * page
    data[start + 8 : start + page] = b"\x55" * (page - 8)
    db.write_bytes(bytes(data))
    problems = check_database(db)
    assert problems[0].startswith("integrity_check: ") and problems[-1] == SKIPPED
    assert re.fullmatch(r"integrity_check: \.\.\. and \d+ more lines", problems[-2])


@pytest.mark.parametrize("seed", range(12))
def test_random_damage_never_raises_and_never_writes(db, seed):
    rng = random.Random(seed)
    data = bytearray(db.read_bytes())
    for _ in range(rng.choice([1, 4, 32])):
        at = rng.randrange(len(data) - 64)
        size = rng.randrange(1, 64)
        data[at : at + size] = rng.randbytes(size)
    db.write_bytes(bytes(data))
    before = fingerprint(db)
    problems = check_database(db)
    assert isinstance(problems, list) and all(isinstance(p, str) and p for p in problems)
    assert fingerprint(db) == before


def test_database_without_a_schema_version(db):
    run(db, "PRAGMA user_version = 0")
    assert check_database(db) == [
        f"{db}: not a paperdb database (no papers table or schema version)"
    ]
