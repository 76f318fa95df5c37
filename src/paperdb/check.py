"""Check an existing papers.db: SQLite integrity, the full-text index, foreign keys, counts.

from paperdb.check import check_database
problems = check_database("papers.db")  # [] when healthy

Each problem is one human-readable line that says what is wrong and by how much, such as
"papers: build_info says 842 rows, table has 841". The file is never modified: the checks
read through a read-only connection, except FTS5's own integrity-check, which SQLite accepts
only on a writable connection; that one runs inside a transaction that is always rolled back
(see `_fts_integrity_check`).

Checks look only at the tables, columns and build_info keys that exist, so a database of a
later schema (with tables this version does not know about) is checked as far as this
version can.
"""

import contextlib
import sqlite3
from pathlib import Path

from .schema import schema_version

EXAMPLES = 5  # ids quoted in one problem line
MAX_LINES = 10  # lines of one kind (integrity_check output, listings) before "... and N more"
SHA256_PREFIX = "source_sha256:"
# build_info count keys, and the table whose rows each one counts
COUNT_KEYS = {"papers": "papers", "listings": "listings", "paper_occurrences": "paper_listings"}


def check_database(path):
    """Problems found in the papers.db at `path`, as human-readable lines; [] means healthy.

    A file that is missing, is not an SQLite database, is not a paperdb database, or has a
    newer schema than this paperdb gives exactly one problem. An older schema version is not
    a problem in itself: its tables are checked as far as they go. When the SQLite file itself
    is damaged (integrity_check fails) the other checks are skipped, as their findings would
    be noise. Never raises for a bad file.
    """
    path = Path(path)
    conn, problem = _open_read_only(path)
    if problem:
        return [problem]
    try:
        try:
            db = _Database(conn)
            problems = _integrity(db)
        except sqlite3.Error as exc:
            problems = [f"integrity_check: could not run: {exc}"]
        if problems:
            # Every other check would read a damaged file: its findings would be noise.
            return [*problems, "other checks skipped: the SQLite file itself is damaged"]
        for name, check in [
            ("papers_fts", _full_text),
            ("foreign_key_check", _foreign_keys),
            ("build_info counts", _build_info_counts),
            ("listings", _listing_counts),
            ("papers", _paper_counts),
            ("source hashes", _source_hashes),
        ]:
            try:
                problems.extend(check(db, path))
            except sqlite3.Error as exc:
                problems.append(f"{name}: could not be checked: {exc}")
    finally:
        conn.close()
    return problems


def _open_read_only(path):
    """(connection, None) for a paperdb database this version understands, else (None, why)."""
    try:
        if not path.exists():
            return None, f"{path}: no such database file"
        if not path.is_file():
            return None, f"{path}: not a database file (a folder or special file)"
        if path.stat().st_size == 0:
            return None, f"{path}: empty file, not a paperdb database"
    except OSError as exc:
        return None, f"{path}: cannot open: {exc.strerror or exc}"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return None, f"{path}: cannot open: {exc}"
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.Error as exc:
        conn.close()
        return None, f"{path}: not a readable SQLite database ({exc})"
    expected = schema_version()
    if version > expected:
        conn.close()
        return None, (
            f"{path}: schema version {version} is newer than this paperdb understands "
            f"({expected}); upgrade paperdb to check it"
        )
    if "papers" not in tables or version == 0:
        conn.close()
        return None, f"{path}: not a paperdb database (no papers table or schema version)"
    return conn, None


class _Database:
    """The read-only connection, and what the schema of this particular file holds."""

    def __init__(self, conn):
        self.conn = conn
        self.tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        self._columns = {}
        self._counts = {}

    def one(self, sql, params=()):
        return self.conn.execute(sql, params).fetchone()[0]

    def rows(self, sql, params=()):
        return self.conn.execute(sql, params).fetchall()

    def column(self, sql, params=()):
        return [row[0] for row in self.conn.execute(sql, params)]

    def has(self, table, *columns):
        """Whether the table exists, with all of these columns."""
        if table not in self.tables:
            return False
        if table not in self._columns:
            self._columns[table] = set(
                self.column(f"SELECT name FROM pragma_table_info({_literal(table)})")
            )
        return all(column in self._columns[table] for column in columns)

    def count(self, table):
        if table not in self._counts:
            self._counts[table] = self.one(f"SELECT count(*) FROM {_ident(table)}")
        return self._counts[table]

    def build_info(self):
        if not self.has("build_info", "key", "value"):
            return {}
        return dict(self.rows("SELECT key, value FROM build_info"))


def _integrity(db):
    """PRAGMA integrity_check, one problem per line it reports (it may put several in a row)."""
    found = [
        line
        for row in db.column("PRAGMA integrity_check")
        for line in str(row).splitlines()
        if line.strip() and not line.startswith("*** in database")
    ]
    if found == ["ok"]:
        return []
    problems = [f"integrity_check: {line}" for line in found[:MAX_LINES]]
    if len(found) > MAX_LINES:
        problems.append(f"integrity_check: ... and {len(found) - MAX_LINES} more lines")
    return problems


def _full_text(db, path):
    """papers_fts against papers: its row ids against the paper ids, then FTS5's own check."""
    if "papers_fts" not in db.tables:
        return []
    problems = []
    if db.has("papers_fts_docsize", "id") and db.has("papers", "id"):
        # Cheap and precise: every indexed row is a paper, and every paper is indexed.
        stale = db.column(
            "SELECT id FROM papers_fts_docsize WHERE id NOT IN (SELECT id FROM papers) ORDER BY id"
        )
        if stale:
            problems.append(
                f"papers_fts: {_n_have(len(stale), 'indexed row')} no paper (id {_examples(stale)})"
            )
        missing = db.column(
            "SELECT id FROM papers WHERE id NOT IN (SELECT id FROM papers_fts_docsize) ORDER BY id"
        )
        if missing:
            are = "is" if len(missing) == 1 else "are"
            problems.append(
                f"papers_fts: {_plural(len(missing), 'paper')} {are} not indexed "
                f"(id {_examples(missing)})"
            )
    try:
        _fts_integrity_check(db, path)
    except sqlite3.Error as exc:
        if (exc.sqlite_errorname or "").startswith("SQLITE_CORRUPT"):
            problems.append(
                f"papers_fts: full-text index is damaged or does not match papers "
                f"(FTS5 integrity-check: {exc})"
            )
        else:
            problems.append(f"papers_fts: FTS5 integrity-check could not run: {exc}")
    return problems


def _fts_integrity_check(db, path):
    """FTS5's integrity-check with rank 1: the index against itself and against papers.

    Raises sqlite3.Error (SQLITE_CORRUPT_VTAB) when the index is damaged or out of step.

    SQLite refuses this command on a read-only connection, so it runs on a second, writable
    connection inside a transaction that is always rolled back: the check writes no page, and
    the rollback would undo anything it did. mode=rw never creates a missing file.

    Two cases fall back to reading the whole index through a temporary fts5vocab table on the
    read-only connection, which finds a damaged index but cannot compare it with papers: a
    journal or WAL file beside the database (opening it writable would replay or roll it
    back, which modifies the file), and a write-protected file (SQLite then opens it
    read-only and refuses the command).
    """
    beside = [Path(f"{path}{suffix}") for suffix in ("-journal", "-wal")]
    if not any(p.exists() for p in beside):
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw", uri=True, isolation_level=None, timeout=5
        )
        try:
            conn.execute("BEGIN")
            try:
                conn.execute(
                    "INSERT INTO papers_fts(papers_fts, rank) VALUES ('integrity-check', 1)"
                )
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorname != "SQLITE_READONLY":
                    raise
            finally:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
        finally:
            conn.close()
    db.conn.execute(
        "CREATE VIRTUAL TABLE temp.paperdb_check_vocab USING fts5vocab(main, papers_fts, instance)"
    )
    try:
        db.one("SELECT count(*) FROM temp.paperdb_check_vocab")
    finally:
        db.conn.execute("DROP TABLE temp.paperdb_check_vocab")


def _foreign_keys(db, path):
    groups = {}  # (table, fkid) -> number of rows
    for table, _rowid, _parent, fkid in db.rows("PRAGMA foreign_key_check"):
        groups[table, fkid] = groups.get((table, fkid), 0) + 1
    problems = []
    for (table, fkid), n in sorted(groups.items()):
        # (id, seq, parent, from, to, ...) for each column of the key
        key = [
            row for row in db.rows(f"PRAGMA foreign_key_list({_ident(table)})") if row[0] == fkid
        ]
        parent = key[0][2] if key else "?"
        if len(key) == 1 and key[0][4] and parent in db.tables:
            child, target = key[0][3], key[0][4]
            dangling = db.column(
                f"SELECT DISTINCT {_ident(child)} FROM {_ident(table)}"
                f" WHERE {_ident(child)} NOT IN (SELECT {_ident(target)} FROM {_ident(parent)})"
                f" ORDER BY 1 LIMIT {EXAMPLES + 1}"
            )
            problems.append(
                f"{table}: {_n_have(n, 'row')} a {child} with no {parent} row "
                f"({child} {_examples(dangling)})"
            )
        else:
            problems.append(f"{table}: {_n_have(n, 'row')} a key with no {parent} row")
    return problems


def _build_info_counts(db, path):
    info = db.build_info()
    problems = []
    for key, table in COUNT_KEYS.items():
        if key not in info or table not in db.tables:
            continue
        try:
            said = int(info[key])
        except (TypeError, ValueError):
            problems.append(f"build_info: {key} is not a number: {info[key]!r}")
            continue
        rows = db.count(table)
        if said != rows:
            says = "build_info says" if key == table else f"build_info {key} says"
            problems.append(f"{table}: {says} {said} rows, table has {rows}")
    return problems


def _listing_counts(db, path):
    """listings.paper_count, in total and listing by listing, against paper_listings."""
    if not (db.has("listings", "id", "paper_count") and db.has("paper_listings", "listing_id")):
        return []
    problems = []
    total = db.one("SELECT coalesce(sum(paper_count), 0) FROM listings")
    rows = db.count("paper_listings")
    if total != rows:
        problems.append(f"listings: paper_count adds up to {total}, paper_listings has {rows} rows")
    name = "name" if db.has("listings", "name") else "id"
    wrong = db.rows(
        f"SELECT listings.id, listings.{_ident(name)}, listings.paper_count, count(pl.listing_id)"
        " FROM listings LEFT JOIN paper_listings AS pl ON pl.listing_id = listings.id"
        " GROUP BY listings.id HAVING listings.paper_count IS NOT count(pl.listing_id)"
        " ORDER BY listings.id"
    )
    for lid, label, said, rows in wrong[:MAX_LINES]:
        problems.append(
            f"listings: {label} (id {lid}) has paper_count {said}, paper_listings has {rows} rows"
        )
    if len(wrong) > MAX_LINES:
        problems.append(f"listings: ... and {len(wrong) - MAX_LINES} more with a wrong paper_count")
    return problems


def _paper_counts(db, path):
    """papers.listing_count, in total and paper by paper, against paper_listings."""
    if not (db.has("papers", "id") and db.has("paper_listings", "paper_id")):
        return []
    problems = []
    counted = db.has("papers", "listing_count")
    if counted:
        total = db.one("SELECT coalesce(sum(listing_count), 0) FROM papers")
        rows = db.count("paper_listings")
        if total != rows:
            problems.append(
                f"papers: listing_count adds up to {total}, paper_listings has {rows} rows"
            )
    unlisted = db.column(
        "SELECT id FROM papers"
        " WHERE NOT EXISTS (SELECT 1 FROM paper_listings WHERE paper_id = papers.id) ORDER BY id"
    )
    if unlisted:
        problems.append(
            f"papers: {_n_have(len(unlisted), 'paper')} no paper_listings row "
            f"(id {_examples(unlisted)})"
        )
    if counted:
        wrong = db.rows(
            "SELECT papers.id, papers.listing_count, count(*) FROM papers"
            " JOIN paper_listings AS pl ON pl.paper_id = papers.id"
            " GROUP BY papers.id HAVING papers.listing_count IS NOT count(*) ORDER BY papers.id"
        )
        if wrong:
            shown = "; ".join(
                f"id {pid} says {said}, has {rows}" for pid, said, rows in wrong[:EXAMPLES]
            )
            more = "; ..." if len(wrong) > EXAMPLES else ""
            problems.append(
                f"papers: {_n_have(len(wrong), 'paper')} a listing_count other than its number of "
                f"paper_listings rows ({shown}{more})"
            )
    return problems


def _source_hashes(db, path):
    """Every build_info source_sha256:NAME names a listing with that hash, and the reverse."""
    info = db.build_info()
    sources = {k[len(SHA256_PREFIX) :]: v for k, v in info.items() if k.startswith(SHA256_PREFIX)}
    if not sources or not db.has("listings", "name", "sha256"):
        return []
    listed = dict(db.rows("SELECT name, sha256 FROM listings"))
    problems = []
    for name, sha in sorted(sources.items()):
        if name not in listed:
            problems.append(f"build_info: {SHA256_PREFIX}{name} names no listing")
        elif listed[name] != sha:
            problems.append(
                f"listings: {name} has sha256 {listed[name]}, "
                f"build_info {SHA256_PREFIX}{name} says {sha}"
            )
    for name in sorted(set(listed) - set(sources)):
        problems.append(f"listings: {name} has no {SHA256_PREFIX}{name} in build_info")
    return problems


def _ident(name):
    """An SQL identifier, quoted."""
    return '"' + str(name).replace('"', '""') + '"'


def _literal(text):
    """An SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def _plural(n, noun):
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _n_have(n, noun):
    """'1 paper has' / '3 papers have'."""
    return f"{_plural(n, noun)} {'has' if n == 1 else 'have'}"


def _examples(values):
    """The first few values, comma-separated, with '...' when there are more."""
    shown = ", ".join(str(v) for v in values[:EXAMPLES])
    return shown + (", ..." if len(values) > EXAMPLES else "")
