"""Building papers.db: tables, counts, ids, duplicates, bad input and atomic replacement."""

import hashlib
import os
import pickle
import pickletools
import sqlite3
import subprocess
import sys
import threading

import pytest
from conftest import SEED_NAMES, SEEDS, seed_lines, seed_path, write_dump

from paperdb.build import build
from paperdb.errors import BuildError
from paperdb.extract import TopicsAndAliases, extract
from paperdb.identity import paper_id, title_key
from paperdb.schema import schema_version
from paperdb.topics import load_taxonomy
from paperdb.writer import DatabaseWriter


def rows(conn, sql, *params):
    return conn.execute(sql, params).fetchall()


def expansions_of(conn):
    """The acronym expansions a build of this database used for search."""
    return dict(rows(conn, "SELECT short, long FROM acronyms WHERE used_for_search = 1"))


def test_seed_counts(seed_conn):
    assert rows(seed_conn, "SELECT count(*) FROM papers") == [(842,)]
    assert rows(seed_conn, "SELECT count(*) FROM paper_listings") == [(898,)]
    assert rows(seed_conn, "SELECT sum(paper_count) FROM listings") == [(898,)]
    assert rows(seed_conn, "SELECT sum(listing_count) FROM papers") == [(898,)]
    assert rows(seed_conn, "SELECT count(*) FROM build_warnings") == [(0,)]


def test_listings_describe_each_dump(seed_conn):
    listed = rows(
        seed_conn,
        "SELECT id, name, sha256, bytes, encoding, page_kind, date_label, paper_count"
        " FROM listings ORDER BY id",
    )
    expected_counts = [22, 342, 235, 8, 291]
    kinds = ["daily", "search", "search", "daily", "search"]
    for (_lid, name, sha, size, enc, kind, date, count), seed, n, k in zip(
        listed, SEED_NAMES, expected_counts, kinds, strict=True
    ):
        data = (SEEDS / seed).read_bytes()
        assert name == seed and sha == hashlib.sha256(data).hexdigest() and size == len(data)
        assert (enc, kind, count) == ("utf-8", k, n)
        assert date == ("Mar 14" if seed.startswith("003") else None)
    assert [lid for lid, *_ in listed] == [1, 2, 3, 4, 5]


def test_paper_in_three_dumps_has_three_listing_rows_and_one_paper(seed_conn):
    title = "Deep Learning Scaling is Predictable, Empirically"
    (pid, count, first) = rows(
        seed_conn, "SELECT id, listing_count, first_listing_id FROM papers WHERE title = ?", title
    )[0]
    assert (count, first) == (3, 1)
    placed = rows(
        seed_conn,
        "SELECT l.name, pl.position, pl.line FROM paper_listings pl"
        " JOIN listings l ON l.id = pl.listing_id WHERE pl.paper_id = ? ORDER BY l.id",
        pid,
    )
    assert [(name[:3], pos, line) for name, pos, line in placed] == [
        ("000", 18, 79),
        ("001", 322, 645),
        ("004", 170, 341),
    ]
    assert pid == paper_id(title_key(title))


def test_cross_dump_duplicates(seed_conn):
    assert rows(seed_conn, "SELECT count(*) FROM papers WHERE listing_count > 1") == [(55,)]


def test_ids_are_stable_across_input_order_and_added_inputs(tmp_path, seed_conn):
    reference = dict(rows(seed_conn, "SELECT title, id FROM papers"))
    subset = tmp_path / "subset.db"
    build([seed_path("004"), seed_path("002")], subset)
    conn = sqlite3.connect(subset)
    subset_ids = dict(rows(conn, "SELECT title, id FROM papers"))
    conn.close()
    assert subset_ids and all(reference[title] == pid for title, pid in subset_ids.items())


def test_ids_fit_javascript_numbers(seed_conn):
    (biggest,) = rows(seed_conn, "SELECT max(id) FROM papers")[0]
    assert 0 <= biggest < 2**53


def test_title_spelling_variants_are_one_paper():
    assert title_key("Attention Is All You Need") == title_key("attention is all you  need!")
    assert title_key("Café: Résumé") == title_key("cafe - resume")
    assert title_key("GPT-4") != title_key("GPT 4o")


def test_slug_and_build_info(seed_conn):
    assert rows(seed_conn, "SELECT slug FROM papers WHERE title LIKE 'TorchRL:%'") == [
        ("torchrl-a-data-driven-decision-making-library-for-pytorch",)
    ]
    info = dict(rows(seed_conn, "SELECT key, value FROM build_info"))
    assert info["schema_version"] == str(schema_version())
    assert (info["papers"], info["paper_occurrences"], info["listings"]) == ("842", "898", "5")
    for name in SEED_NAMES:
        assert (
            info[f"source_sha256:{name}"] == hashlib.sha256((SEEDS / name).read_bytes()).hexdigest()
        )
    assert "built_at" not in info
    assert rows(seed_conn, "PRAGMA user_version") == [(schema_version(),)]


def test_foreign_keys_hold_and_are_indexed(seed_conn):
    assert rows(seed_conn, "PRAGMA foreign_key_check") == []
    names = {r[1] for r in rows(seed_conn, "PRAGMA index_list(paper_listings)")}
    assert "paper_listings_paper_id" in names
    names = {r[1] for r in rows(seed_conn, "PRAGMA index_list(papers)")}
    assert "papers_first_listing_id" in names


def test_fts_index_is_complete(seed_db, seed_conn):
    writable = sqlite3.connect(seed_db)
    # rank 1 also compares the index with the content of papers, not only with itself.
    writable.execute("INSERT INTO papers_fts(papers_fts, rank) VALUES ('integrity-check', 1)")
    writable.close()
    hits = rows(
        seed_conn,
        "SELECT title FROM papers_fts WHERE papers_fts MATCH 'mamba' ORDER BY rank LIMIT 5",
    )
    assert len(hits) == 5
    (matching,) = rows(
        seed_conn,
        "SELECT count(*) FROM papers WHERE title LIKE '%mamba%' OR abstract LIKE '%mamba%'",
    )[0]
    (indexed,) = rows(seed_conn, "SELECT count(*) FROM papers_fts WHERE papers_fts MATCH 'mamba'")[
        0
    ]
    assert indexed == matching > 5


def test_the_file_has_no_free_pages_and_an_index_equal_to_a_rebuild(tmp_path, monkeypatch):
    # A small pending-terms buffer splits the index into many segments, as a large corpus
    # does: merging them in the file itself left their pages free.
    monkeypatch.setattr("paperdb.writer.FTS_HASH_BYTES", 64 * 1024)
    output = tmp_path / "papers.db"
    build([SEEDS], output)
    conn = sqlite3.connect(output)
    assert rows(conn, "PRAGMA freelist_count") == [(0,)]
    conn.execute("INSERT INTO papers_fts(papers_fts, rank) VALUES ('integrity-check', 1)")
    query = "SELECT rowid, rank FROM papers_fts WHERE papers_fts MATCH ? ORDER BY rank, rowid"
    built = {word: rows(conn, query, word) for word in ("mamba", "diffusion", "code")}
    conn.execute("INSERT INTO papers_fts(papers_fts) VALUES ('rebuild')")
    assert {word: rows(conn, query, word) for word in built} == built
    assert all(built.values())
    conn.close()


@pytest.mark.parametrize("workers", [0, 2])
def test_same_title_different_abstracts_keeps_the_longer_and_warns(tmp_path, workers):
    lines = seed_lines("001")[:6]  # header, 2 papers
    first = write_dump(tmp_path, "a.txt", lines)
    changed = list(lines)
    changed[3] = changed[3] + " An extra closing sentence."
    second = write_dump(tmp_path, "b.txt", changed)
    result = build([first, second], tmp_path / "p.db", workers=workers)
    conflicts = [w for w in result.warnings if w.kind == "abstract-conflict"]
    assert len(conflicts) == 1
    assert conflicts[0].line == 4 and str(conflicts[0]).startswith(f"{second}:4: abstract of")
    assert "a.txt" in conflicts[0].message
    conn = sqlite3.connect(tmp_path / "p.db")
    (abstract,) = rows(conn, "SELECT abstract FROM papers WHERE title LIKE 'Investigating%'")[0]
    assert abstract.endswith("An extra closing sentence.")
    assert rows(conn, "SELECT kind, line FROM build_warnings") == [("abstract-conflict", 4)]
    # The first dump showed the shorter abstract: its occurrence keeps it.
    assert rows(
        conn,
        "SELECT listing_id, abstract IS NULL FROM paper_listings WHERE paper_id ="
        " (SELECT id FROM papers WHERE title LIKE 'Investigating%') ORDER BY 1",
    ) == [
        (1, 0),
        (2, 1),
    ]


def test_anomalies_are_reported_with_file_and_line_and_stored(tmp_path):
    lines = seed_lines("001")
    path = write_dump(tmp_path, "cut.txt", lines[:5] + lines[6:])
    result = build([path], tmp_path / "p.db")
    assert [str(w) for w in result.warnings] == [
        f"{path}:5: title without abstract: Locating and Editing Factual Associations in Mamba"
    ]
    assert result.occurrences == 341
    conn = sqlite3.connect(tmp_path / "p.db")
    assert rows(conn, "SELECT warning_count FROM listings") == [(1,)]


def test_cp1252_input_builds_with_a_warning(tmp_path):
    path = tmp_path / "legacy.txt"
    text = "Caf\u00e9 Networks\n" + seed_lines("001")[3]
    path.write_bytes(text.encode("cp1252"))
    result = build([path], tmp_path / "p.db")
    assert [w.kind for w in result.warnings] == ["decoded-as-cp1252"]
    assert str(path) in str(result.warnings[0]) and result.papers == 1


def make_existing_db(tmp_path):
    output = tmp_path / "papers.db"
    build([seed_path("003")], output)
    return output, output.read_bytes()


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_bad_input_fails_before_writing_and_keeps_old_db(tmp_path, seeds_copy):
    output, before = make_existing_db(tmp_path)
    (seeds_copy / "zz_binary.txt").write_bytes(b"abc\x00def")
    with pytest.raises(BuildError, match=r"zz_binary\.txt: binary file") as error:
        build([seeds_copy], output)
    assert "nothing was written" in str(error.value)
    assert output.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_skip_bad_builds_the_rest_with_a_warning(tmp_path, seeds_copy):
    (seeds_copy / "zz_binary.txt").write_bytes(b"abc\x00def")
    result = build([seeds_copy], tmp_path / "p.db", skip_bad=True)
    assert (result.files, result.papers) == (5, 842)
    assert [w.kind for w in result.warnings] == ["skipped-file"]


def test_output_path_that_is_a_folder_is_refused(tmp_path):
    (tmp_path / "out.db").mkdir()
    with pytest.raises(BuildError, match="output path is a folder"):
        build([seed_path("003")], tmp_path / "out.db")


def test_failure_mid_build_leaves_old_db_and_no_temp_file(tmp_path, monkeypatch):
    output, before = make_existing_db(tmp_path)

    def fail(self, on_built=None):
        # A real SQLITE_FULL (the build tells it by its error code, not its text).
        tiny = sqlite3.connect(":memory:")
        tiny.execute("PRAGMA max_page_count = 2")
        tiny.execute("CREATE TABLE t (x)")
        tiny.execute("INSERT INTO t VALUES (zeroblob(100000))")

    monkeypatch.setattr("paperdb.writer.DatabaseWriter.index_full_text", fail)
    with pytest.raises(BuildError, match="disk is full") as refused:
        build([SEEDS], output)
    # The staged tables fill SQLite's temporary folder, not only the output's: say both.
    assert f"in {tmp_path}, or in SQLite's temporary folder" in str(refused.value)
    assert output.read_bytes() == before
    assert leftovers(tmp_path) == []


def related_threads():
    return [t.name for t in threading.enumerate() if t.name.startswith("paperdb-related")]


def test_a_build_leaves_no_thread_behind(tmp_path):
    build([seed_path("003")], tmp_path / "papers.db")
    assert related_threads() == []


@pytest.mark.parametrize("where", ["read_facts", "_load_all"])
def test_a_failure_reading_ahead_stops_the_build_and_keeps_the_old_db(tmp_path, monkeypatch, where):
    """The related papers' inputs are read on a thread while the index is built
    (related.ReadAhead): its error is the build's, raised where the build goes on."""
    output, before = make_existing_db(tmp_path)

    def fail(self, *args):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(f"paperdb.related._Ranker.{where}", fail)
    with pytest.raises(BuildError, match="disk I/O error"):
        build([SEEDS], output)
    assert output.read_bytes() == before
    assert leftovers(tmp_path) == []
    assert related_threads() == []


def test_stale_temp_file_of_a_dead_build_is_removed(tmp_path):
    stale = tmp_path / ".papers.db.999999999.tmp"
    stale.write_bytes(b"half a database")
    build([seed_path("003")], tmp_path / "papers.db")
    assert not stale.exists()


def test_rebuild_replaces_the_file_atomically(tmp_path):
    output, _ = make_existing_db(tmp_path)
    inode_before = os.stat(output).st_ino
    reader = sqlite3.connect(output)
    assert rows(reader, "SELECT count(*) FROM papers") == [(8,)]
    build([SEEDS], output)
    # A reader that had the old file open still sees the old, consistent database.
    assert rows(reader, "SELECT count(*) FROM papers") == [(8,)]
    reader.close()
    assert os.stat(output).st_ino != inode_before
    assert rows(sqlite3.connect(output), "SELECT count(*) FROM papers") == [(842,)]


def test_source_date_epoch_is_the_only_time_in_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    build([seed_path("003")], tmp_path / "p.db")
    info = dict(rows(sqlite3.connect(tmp_path / "p.db"), "SELECT key, value FROM build_info"))
    assert info["built_at"] == "2023-11-14T22:13:20Z"


def test_builds_are_byte_identical_whatever_the_input_order(tmp_path, seeds_copy):
    names = sorted(p.name for p in seeds_copy.iterdir())
    build([seeds_copy], tmp_path / "a.db")
    build([seeds_copy / name for name in reversed(names)], tmp_path / "b.db")
    # The same files found in a folder created in another order.
    other = tmp_path / "other"
    other.mkdir()
    for name in reversed(names):
        (other / name).write_bytes((seeds_copy / name).read_bytes())
    build([other], tmp_path / "c.db")
    digests = {hashlib.sha256((tmp_path / f"{x}.db").read_bytes()).hexdigest() for x in "abc"}
    assert len(digests) == 1


def test_every_warning_is_stored_and_counted_per_listing(tmp_path):
    lines = seed_lines("001")[:6]
    write_dump(tmp_path, "a.txt", lines)
    changed = list(lines)
    changed[3] += " An extra closing sentence."
    write_dump(tmp_path, "b.txt", changed)
    (tmp_path / "c.txt").write_bytes(("Caf\u00e9 Networks\n" + lines[3]).encode("cp1252"))
    (tmp_path / "d.txt").write_bytes(b"\x00binary")
    result = build([tmp_path], tmp_path / "p.db", skip_bad=True)
    assert len(result.warnings) == 3
    conn = sqlite3.connect(tmp_path / "p.db")
    stored = rows(
        conn,
        "SELECT listings.name, build_warnings.kind FROM build_warnings"
        " LEFT JOIN listings ON listings.id = build_warnings.listing_id"
        " ORDER BY build_warnings.kind",
    )
    assert stored == [
        ("b.txt", "abstract-conflict"),
        ("c.txt", "decoded-as-cp1252"),
        (None, "skipped-file"),
    ]
    assert rows(conn, "SELECT name, warning_count FROM listings ORDER BY id") == [
        ("a.txt", 0),
        ("b.txt", 1),
        ("c.txt", 1),
    ]
    info = dict(rows(conn, "SELECT key, value FROM build_info"))
    assert info["warnings"] == "3"


@pytest.mark.parametrize("workers", [1, 2])
def test_extraction_in_worker_processes_gives_the_same_bytes(tmp_path, seed_db, workers):
    """Large inputs are extracted in a process pool; the file must not depend on that."""
    path = tmp_path / "parallel.db"
    result = build([SEEDS], path, workers=workers)
    assert (result.papers, result.occurrences) == (842, 898)
    assert path.read_bytes() == seed_db.read_bytes()


def test_extraction_results_cross_from_workers_as_plain_values(seed_conn):
    """What a worker sends back pickles with no class in it: classes unpickle ~6x slower."""
    scan = TopicsAndAliases(load_taxonomy(), expansions_of(seed_conn))
    papers = rows(seed_conn, "SELECT title, abstract FROM papers ORDER BY id")
    results = [extract(scan, title, abstract) for title, abstract in papers]
    opcodes = {op.name for op, _, _ in pickletools.genops(pickle.dumps(results, protocol=5))}
    assert not opcodes & {"GLOBAL", "STACK_GLOBAL", "REDUCE", "NEWOBJ", "BUILD", "INST", "OBJ"}
    topics, repos, links = (sum(len(r[i]) for r in results) for i in (0, 2, 3))
    assert topics > 1000 and repos > 100 and links > 20


def test_workers_started_by_spawn_give_the_same_bytes(tmp_path, seed_db):
    """Off Linux, multiprocessing spawns workers (a fresh interpreter, nothing inherited)."""
    path = tmp_path / "spawned.db"
    script = (
        "import multiprocessing, sys\n"
        "from paperdb.build import build\n"
        "if __name__ == '__main__':\n"
        "    multiprocessing.set_start_method('spawn')\n"
        "    build([sys.argv[1]], sys.argv[2], workers=2)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(SEEDS), str(path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert path.read_bytes() == seed_db.read_bytes()


def test_staged_table_takes_lookups_and_updates_then_lands_in_key_order(tmp_path):
    """Full builds write papers and paper_topics through a temporary table (writer.stage)."""
    path = tmp_path / "staged.db"
    writer = DatabaseWriter(path)
    writer.execute("INSERT INTO listings VALUES (1, 'a.txt', 'x', 1, 'utf-8', 'daily', NULL, 0, 0)")
    writer.stage("papers", "id")
    ids = [9_000_000_000, 5, 700_000, 42, 123_456_789]
    for pid in ids:
        writer.add(
            "papers",
            {"id": pid, "title": f"T{pid}", "abstract": "a", "slug": "t", "first_listing_id": 1,
             "listing_count": 1, "aliases": ""},
        )  # fmt: skip
    writer.flush("papers")
    writer.execute("UPDATE papers SET abstract = 'longer' WHERE id = 42")
    assert writer.execute("SELECT title FROM papers WHERE id = 700000").fetchone() == ("T700000",)
    assert writer.execute("SELECT count(*) FROM main.papers").fetchone() == (0,)
    writer.unstage("papers")
    writer.commit()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT id, abstract FROM papers").fetchall() == [
        (pid, "longer" if pid == 42 else "a") for pid in sorted(ids)
    ]
    assert conn.execute("SELECT name FROM sqlite_temp_master").fetchall() == []


# --- abstract conflicts name the whole title and both places ------------------------------------

SEED_001 = seed_lines("001")
LONG_TITLE = SEED_001[2].removeprefix("Subscribe")  # 95 characters
BASE = SEED_001[3]
LONGEST = BASE + " An extra closing sentence."
LONGER = BASE + " More."


def conflict_dump(folder, name, before, abstract):
    """001's header, `before` other papers, then LONG_TITLE with `abstract` (line 4 + 2*before)."""
    pairs = [SEED_001[4:6], SEED_001[6:8]][:before]
    content = [line for pair in pairs for line in pair] + [LONG_TITLE, abstract]
    content[0] = "Subscribe" + content[0]
    return write_dump(folder, name, [*SEED_001[:2], *content])


def conflict(title, kept_at, kept, other_at, other):
    return (
        f'abstract of "{title}" differs: kept {kept_at} ({len(kept)} characters),'
        f" other {other_at} ({len(other)} characters)"
    )


# The dumps a.txt, b.txt, c.txt show these abstracts, the paper after 0, 1, 2 others (so
# abstract lines 4, 6, 8). Warnings: (dump, line, kept place, kept, other place, other).
KEPT_CASES = {
    "kept-first": (
        [LONGEST, BASE, LONGER],
        [
            ("b.txt", 6, "a.txt:4", LONGEST, "b.txt:6", BASE),
            ("c.txt", 8, "a.txt:4", LONGEST, "c.txt:8", LONGER),
        ],
    ),
    "kept-middle": (
        [BASE, LONGEST, LONGER],
        [
            ("b.txt", 6, "b.txt:6", LONGEST, "a.txt:4", BASE),
            ("c.txt", 8, "b.txt:6", LONGEST, "c.txt:8", LONGER),
        ],
    ),
    # The kept abstract changes twice: each warning is about the pair it compared.
    "kept-last": (
        [BASE, LONGER, LONGEST],
        [
            ("b.txt", 6, "b.txt:6", LONGER, "a.txt:4", BASE),
            ("c.txt", 8, "c.txt:8", LONGEST, "b.txt:6", LONGER),
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(KEPT_CASES))
def test_abstract_conflicts_quote_the_whole_title_and_both_places(tmp_path, case):
    from click.testing import CliRunner

    from paperdb.cli import cli

    abstracts, expected = KEPT_CASES[case]
    paths = {
        name: conflict_dump(tmp_path, name, before, abstract)
        for before, (name, abstract) in enumerate(
            zip(["a.txt", "b.txt", "c.txt"], abstracts, strict=True)
        )
    }
    output = tmp_path / "p.db"
    result = CliRunner().invoke(cli, ["build", *map(str, paths.values()), "-o", str(output)])
    assert result.exit_code == 0, result.output
    messages = [(name, line, conflict(LONG_TITLE, *pair)) for name, line, *pair in expected]
    printed = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert printed == [f"warning: {paths[name]}:{line}: {text}" for name, line, text in messages]
    conn = sqlite3.connect(output)
    assert (
        rows(
            conn,
            "SELECT listings.name, build_warnings.line, build_warnings.message FROM build_warnings"
            " JOIN listings ON listings.id = build_warnings.listing_id ORDER BY build_warnings.id",
        )
        == messages
    )
    assert rows(conn, "SELECT abstract FROM papers WHERE title = ?", LONG_TITLE) == [(LONGEST,)]
    # Only the occurrence whose abstract is kept shows the paper's.
    kept_listing = abstracts.index(LONGEST) + 1
    assert rows(
        conn,
        "SELECT listing_id FROM paper_listings WHERE abstract IS NULL AND paper_id ="
        " (SELECT id FROM papers WHERE title = ?)",
        LONG_TITLE,
    ) == [(kept_listing,)]


def test_abstract_conflict_with_a_paper_already_written_names_where_its_abstract_is(
    tmp_path, monkeypatch
):
    """The kept abstract's place is found after the paper's row left the insert buffer."""
    import paperdb.writer

    monkeypatch.setattr(paperdb.writer, "BATCH_ROWS", 1)
    first = conflict_dump(tmp_path, "a.txt", 2, BASE)
    second = conflict_dump(tmp_path, "b.txt", 1, LONGER)
    third = conflict_dump(tmp_path, "c.txt", 0, BASE)
    result = build([first, second, third], tmp_path / "p.db")
    assert [str(w) for w in result.warnings] == [
        f"{second}:6: " + conflict(LONG_TITLE, "b.txt:6", LONGER, "a.txt:8", BASE),
        f"{third}:4: " + conflict(LONG_TITLE, "b.txt:6", LONGER, "c.txt:4", BASE),
    ]


def test_the_writer_reads_and_changes_its_own_queued_rows(tmp_path):
    """A caller never flushes to stay correct: a statement naming a table first writes the
    rows queued for it, and only those (other tables keep theirs queued)."""
    with DatabaseWriter(tmp_path / "papers.db") as writer:
        writer.add_values("build_info", ("key", "value"), ("a", "1"))
        acronym = ("MoE", "mixture of experts", 1, 1)
        writer.add_values("acronyms", ("short", "long", "papers", "used_for_search"), acronym)
        assert writer.execute("SELECT key, value FROM build_info").fetchall() == [("a", "1")]
        writer.executemany("UPDATE build_info SET value = ? WHERE key = ?", [("2", "a")])
        assert writer.execute("SELECT value FROM build_info").fetchall() == [("2",)]
        assert writer.db.conn.execute("SELECT count(*) FROM acronyms").fetchone() == (0,)
        assert writer.read_connection().execute("SELECT * FROM acronyms").fetchall() == [acronym]
        writer.discard()
