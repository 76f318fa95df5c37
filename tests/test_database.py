"""One judge of an existing file (database.py): is it a file, is it SQLite, is it ours, which
schema version. Search and the other readers, `paperdb check`, an incremental update and the
Datasette plugin give the same verdict on the same file."""

import shutil
import sqlite3

import pytest
from conftest import ROOT

from paperdb.check import check_database
from paperdb.database import identify, open_database, open_read_only
from paperdb.errors import DatabaseError
from paperdb.incremental import FullBuildNeeded, plan_update
from paperdb.schema import schema_version
from paperdb.topics import load_taxonomy


def _sqlite(path, *statements):
    conn = sqlite3.connect(path)
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()


def _copy(seed_db, path, *statements):
    shutil.copyfile(seed_db, path)
    _sqlite(path, *statements)


NOT_OURS = "not a paperdb database (no papers table or schema version)"
NEWER = f"schema version 999 is newer than this paperdb understands ({schema_version()})"
OLDER = f"schema version {schema_version() - 1} is older than this paperdb's ({schema_version()})"


def alike(make, message):
    """A file that a reader and `paperdb check` refuse with the same message."""
    return make, message, message


# name: (make the file, what a reader says, what `paperdb check` says; None: check opens it)
FILES = {
    "missing": (
        lambda path, seed: None,
        "no such database file (build one with: paperdb build)",
        "no such database file",
    ),
    "folder": alike(
        lambda path, seed: path.mkdir(), "not a database file (a folder or special file)"
    ),
    "empty": alike(lambda path, seed: path.write_bytes(b""), "empty file, not a paperdb database"),
    "text": alike(
        lambda path, seed: path.write_text("no papers here\n" * 100),
        "not a readable SQLite database (file is not a database)",
    ),
    "another-program": alike(
        lambda path, seed: _sqlite(path, "CREATE TABLE things (x)", "PRAGMA user_version = 3"),
        NOT_OURS,
    ),
    "no-schema-version": alike(
        lambda path, seed: _copy(seed, path, "PRAGMA user_version = 0"), NOT_OURS
    ),
    "newer-without-our-tables": alike(
        lambda path, seed: _sqlite(path, "CREATE TABLE things (x)", "PRAGMA user_version = 999"),
        NOT_OURS,
    ),
    "newer": (
        lambda path, seed: _copy(seed, path, "PRAGMA user_version = 999"),
        f"{NEWER}; upgrade paperdb",
        f"{NEWER}; upgrade paperdb to check it",
    ),
    "older": (
        lambda path, seed: _copy(seed, path, f"PRAGMA user_version = {schema_version() - 1}"),
        f"{OLDER}; rebuild it with: paperdb build",
        None,
    ),
}


@pytest.mark.parametrize(("make", "says", "check_says"), FILES.values(), ids=FILES.keys())
def test_every_reader_judges_a_file_alike(tmp_path, seed_db, make, says, check_says):
    path = tmp_path / "papers.db"
    make(path, seed_db)
    with pytest.raises(DatabaseError) as refused:
        open_database(path)
    assert str(refused.value) == f"{path}: {says}"
    with pytest.raises(FullBuildNeeded) as needed:
        plan_update(path, [], load_taxonomy(None))
    assert str(needed.value) == str(refused.value)
    problems = check_database(path)
    if check_says is None:
        assert any(OLDER in problem for problem in problems), problems
    else:
        assert problems == [f"{path}: {check_says}"]


def test_an_update_names_the_output_when_it_reads_a_copy(tmp_path):
    copy = tmp_path / "copy.db"
    copy.write_bytes(b"")
    with pytest.raises(FullBuildNeeded, match="^papers.db: empty file"):
        plan_update("papers.db", [], load_taxonomy(None), source=copy)


def test_a_readable_file_of_ours_opens_read_only(seed_db):
    conn, found = open_read_only(seed_db)
    try:
        assert found.ours and found.surely_ours and found.version == schema_version()
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("DELETE FROM papers")
    finally:
        conn.close()


def test_the_datasette_plugin_asks_the_same_judge(tmp_path, seed_db):
    pytest.importorskip("datasette")
    from paperdb.datasette_plugin import is_paperdb

    unversioned = tmp_path / "unversioned.db"
    _copy(seed_db, unversioned, "PRAGMA user_version = 0")
    for path, expected in [(seed_db, True), (unversioned, False)]:
        conn = sqlite3.connect(path)
        assert is_paperdb(conn) is expected is identify(conn).ours
        conn.close()


def test_only_database_py_opens_a_file_read_only():
    """The judgment lives in one place: no other module opens a database read-only itself."""
    opening = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "src" / "paperdb").rglob("*.py")
        if "mode=ro" in path.read_text(encoding="utf-8")
    )
    assert opening == ["src/paperdb/database.py"]
