"""Open an existing papers.db for reading, and refuse one this version cannot read."""

import sqlite3
from pathlib import Path

import sqlite_utils

from .errors import DatabaseError
from .schema import schema_version


def open_database(path):
    """A read-only sqlite_utils.Database on a papers.db whose schema this version knows."""
    path = Path(path)
    if not path.is_file():
        raise DatabaseError(f"{path}: no such database (build one with: paperdb build)")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"{path}: not a readable SQLite database ({exc})") from None
    expected = schema_version()
    if "papers" not in tables or version == 0:
        conn.close()
        raise DatabaseError(f"{path}: not a paperdb database (no papers table or schema version)")
    if version > expected:
        conn.close()
        raise DatabaseError(
            f"{path}: schema version {version} is newer than this paperdb understands "
            f"({expected}); upgrade paperdb"
        )
    if version < expected:
        conn.close()
        raise DatabaseError(
            f"{path}: schema version {version} is older than this paperdb's ({expected}); "
            "rebuild it with: paperdb build"
        )
    return sqlite_utils.Database(conn)
