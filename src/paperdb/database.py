"""Open an existing papers.db read-only, and judge whether it is ours and which schema version.

The one place that decides: search and the other readers (open_database), `paperdb check`,
an incremental update's plan, the build's output claim (output.py) and the Datasette plugin
all ask here, so a file is judged the same way, in the same order, everywhere: is it a
file, is it SQLite, is it ours, which schema version.
"""

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .errors import DatabaseError
from .schema import schema_version

# Beside a papers table, tables no other program's database of papers would have all of.
WHOLE_TABLES = frozenset({"papers", "listings", "paper_listings", "build_info"})


def connect_read_only(path, *, immutable=False):
    """A read-only sqlite3 connection: it never creates, writes or locks out the file.

    `immutable` reads the file as it is, without touching a journal beside it (which a
    plain open might roll back into a file that is not ours).
    """
    uri = f"{Path(path).resolve().as_uri()}?mode=ro{'&immutable=1' if immutable else ''}"
    return sqlite3.connect(uri, uri=True)


@dataclass(frozen=True)
class Identity:
    """What an SQLite file says about itself: its schema version and table names."""

    version: int  # PRAGMA user_version
    tables: frozenset

    @property
    def ours(self):
        """paperdb made it: schema.sql sets a schema version and makes a papers table.

        Only those: `paperdb check` names any other table that is missing, and a newer
        schema may have others.
        """
        return self.version > 0 and "papers" in self.tables

    @property
    def surely_ours(self):
        """Ours beyond doubt, as a build asks before replacing a file without --force."""
        return self.ours and self.tables >= WHOLE_TABLES


def identify(conn):
    """The Identity of an open connection; sqlite3.Error if the file cannot be read."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = frozenset(row[0] for row in conn.execute("SELECT name FROM sqlite_master"))
    return Identity(version, tables)


def open_read_only(path, *, checking=False, name=None):
    """(sqlite3 connection, Identity) of a paperdb database this version can read.

    Raises DatabaseError saying why not, naming `name` (default: `path`). `checking` is
    `paperdb check`'s view: an older schema version is opened (check reports it), and
    the messages say what check needs.
    """
    path = Path(path)
    name = path if name is None else name
    try:
        if not path.exists():
            hint = "" if checking else " (build one with: paperdb build)"
            raise DatabaseError(f"{name}: no such database file{hint}")
        if not path.is_file():
            raise DatabaseError(f"{name}: not a database file (a folder or special file)")
        if path.stat().st_size == 0:
            raise DatabaseError(f"{name}: empty file, not a paperdb database")
    except OSError as exc:
        raise DatabaseError(f"{name}: cannot open: {exc.strerror or exc}") from None
    try:
        conn = connect_read_only(path)
    except sqlite3.Error as exc:
        raise DatabaseError(f"{name}: cannot open: {exc}") from None
    try:
        found = identify(conn)
    except sqlite3.Error as exc:
        conn.close()
        raise DatabaseError(f"{name}: not a readable SQLite database ({exc})") from None
    problem = _version_problem(found, checking)
    if problem:
        conn.close()
        raise DatabaseError(f"{name}: {problem}")
    return conn, found


def _version_problem(found, checking):
    expected = schema_version()
    if not found.ours:
        return "not a paperdb database (no papers table or schema version)"
    if found.version > expected:
        upgrade = "upgrade paperdb to check it" if checking else "upgrade paperdb"
        return (
            f"schema version {found.version} is newer than this paperdb understands "
            f"({expected}); {upgrade}"
        )
    if found.version < expected and not checking:
        return (
            f"schema version {found.version} is older than this paperdb's ({expected}); "
            "rebuild it with: paperdb build"
        )
    return None


def open_database(path):
    """A read-only sqlite_utils.Database on a papers.db whose schema this version knows."""
    import sqlite_utils  # here, not at the top: output.py and the plugin need none of it

    conn, _ = open_read_only(path)
    return sqlite_utils.Database(conn)
