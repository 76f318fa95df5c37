"""Check an existing papers.db: SQLite integrity, the schema against schema.sql, build_info,
the full-text index, foreign keys, counts.

from paperdb.check import check_database
problems = check_database("papers.db")  # [] when healthy
problems = check_database("papers.db", quick=True)  # what build --incremental asks of its base

Each problem is one human-readable line that says what is wrong and by how much, such as
"papers: build_info says 842 rows, table has 841". The file is never modified: the checks
read through a read-only connection, except FTS5's own integrity-check, which SQLite accepts
only on a writable connection; that one runs inside a transaction that is always rolled back
(see `_fts_integrity_check`).

The file is compared with what this paperdb writes: the tables, columns, indexes, views and
the full-text index of schema.sql (an object missing, added or defined otherwise is a
problem), and every build_info key with what it describes (versions, the row count of every
table, source hashes). A file of an older schema version is a problem in itself (the other
commands refuse it); its tables are then checked as far as they go.
"""

import contextlib
import re
import sqlite3
import time
from functools import cache
from pathlib import Path

from . import __version__
from .database import open_read_only
from .errors import DatabaseError
from .related import MAX_RELATED, SURE_RANKS, TAIL_SCORE
from .schema import schema_sql

EXAMPLES = 5  # ids quoted in one problem line
MAX_LINES = 10  # lines of one kind (integrity_check output, listings) before "... and N more"
SHA256_PREFIX = "source_sha256:"
ROWS_PREFIX = "rows:"
# build_info count keys that predate rows:TABLE, and the table whose rows each one counts
COUNT_KEYS = {
    "papers": "papers",
    "listings": "listings",
    "paper_occurrences": "paper_listings",
    "warnings": "build_warnings",
}
VERSION_KEYS = ("tool_version", "schema_version", "sqlite_version")
RELATED_KEY = "related"  # 'yes', or 'no' for a build with --no-related
BUILT_AT = "built_at"
# PEP 440, as far as paperdb's own versions go ('0.3.1', '1.0rc1', '0.0.0+checkout')
TOOL_VERSION = re.compile(
    r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?(\+[a-z0-9]+(\.[a-z0-9]+)*)?", re.I
)
SQLITE_VERSION = re.compile(r"3\.\d+\.\d+(\.\d+)?")


def check_database(path, *, quick=False):
    """Problems found in the papers.db at `path`, as human-readable lines; [] means healthy.

    A file that is missing, is not an SQLite database, is not a paperdb database, or has a
    newer schema than this paperdb gives exactly one problem. When the SQLite file itself
    is damaged (integrity_check fails) the other checks are skipped, as their findings would
    be noise. Never raises for a bad file.

    `quick` runs only the checks that read no table's text (the schema, build_info, the row
    count of every table, the source hashes, and a few lookups in the full-text index); it
    skips integrity_check, FTS5's integrity-check, the foreign keys and the per-row counts,
    which read the whole file. It is what `build --incremental` asks of the file it updates.
    """
    path = Path(path)
    try:
        conn, _ = open_read_only(path, checking=True)
    except DatabaseError as exc:
        return [str(exc)]
    try:
        try:
            db = _Database(conn)
            problems = [] if quick else _integrity(db)
        except sqlite3.Error as exc:
            problems = [f"integrity_check: could not run: {exc}"]
        if problems:
            # Every other check would read a damaged file: its findings would be noise.
            return [*problems, "other checks skipped: the SQLite file itself is damaged"]
        for name, check, in_quick in [
            ("schema", _schema, True),
            ("build_info", _build_info, True),
            ("papers_fts", _full_text_probe if quick else _full_text, True),
            ("foreign_key_check", _foreign_keys, False),
            ("build_info counts", _build_info_counts, True),
            ("listings", _listing_counts, False),
            ("papers", _paper_counts, False),
            ("acronyms", _acronym_counts, False),
            ("related_papers", _related_papers, False),
            ("source hashes", _source_hashes, True),
        ]:
            if quick and not in_quick:
                continue
            try:
                problems.extend(check(db, path))
            except sqlite3.Error as exc:
                problems.append(f"{name}: could not be checked: {exc}")
    finally:
        conn.close()
    return problems


def counted_tables(conn):
    """The tables whose rows build_info counts, by name: every table but build_info itself.

    FTS5's virtual table and its shadow tables are left out: their rows are the index's
    internal layout, which differs between a full and an incremental build of the same dumps.
    """
    objects = conn.execute(
        "SELECT name, sql FROM main.sqlite_master WHERE type = 'table' ORDER BY name"
    ).fetchall()
    virtual = [name for name, sql in objects if _is_virtual(sql)]
    return [
        name
        for name, _ in objects
        if name != "build_info"
        and not name.startswith("sqlite_")
        and not any(name == v or name.startswith(f"{v}_") for v in virtual)
    ]


def count_key(table):
    """The build_info key that holds `table`'s number of rows."""
    for key, counted in COUNT_KEYS.items():
        if counted == table:
            return key
    return ROWS_PREFIX + table


class _Database:
    """The read-only connection, and what the schema of this particular file holds."""

    def __init__(self, conn):
        self.conn = conn
        self.version = conn.execute("PRAGMA user_version").fetchone()[0]
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


@cache
def _expected():
    """(user_version, objects, counted tables) of schema.sql, loaded into an empty database."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(schema_sql())
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        return version, _schema_objects(conn), tuple(counted_tables(conn))
    finally:
        conn.close()


def _schema_objects(conn):
    """name -> (kind, table, SQL tokens, columns) for every object of the main schema.

    Columns are (name, type, notnull, default, pk) of a table, (name, desc, collation) of an
    index's keys. SQL is compared token by token: comments and layout do not count.
    """
    objects = {}
    rows = conn.execute("SELECT type, name, tbl_name, sql FROM main.sqlite_master").fetchall()
    for kind, name, table, sql in rows:
        if name.startswith("sqlite_stat"):
            continue  # ANALYZE's statistics: harmless, and no part of what a build writes
        if kind == "table" and _is_virtual(sql):
            kind, columns = "virtual table", ()
        elif kind == "table":
            columns = tuple(
                conn.execute(
                    'SELECT name, type, "notnull", dflt_value, pk'
                    f" FROM pragma_table_xinfo({_literal(name)})"
                )
            )
        elif kind == "index":
            columns = tuple(
                conn.execute(
                    f'SELECT name, "desc", coll FROM pragma_index_xinfo({_literal(name)}) WHERE key'
                )
            )
        else:
            columns = ()
        objects[name] = (kind, table, _tokens(sql), columns)
    return objects


def _schema(db, path):
    """The file's tables, columns, indexes, views and full-text index against schema.sql."""
    version, want, _ = _expected()
    if db.version != version:
        return [
            f"schema version {db.version} is older than this paperdb's ({version}): "
            "rebuild it with: paperdb build"
        ]
    have = _schema_objects(db.conn)
    problems = []
    missing = [name for name in want if name not in have]
    for name in sorted(missing):
        if not _implied(name, want, missing):
            problems.append(f"schema: {want[name][0]} {name} is missing")
    extra = [name for name in have if name not in want]
    for name in sorted(extra):
        if not _implied(name, have, extra):
            problems.append(f"schema: {have[name][0]} {name} is not in schema.sql")
    for name in sorted(have.keys() & want.keys()):
        problems.extend(_compare(name, have[name], want[name]))
    return problems


def _implied(name, objects, absent):
    """Whether `name` is absent only because its table is: an index, or FTS5's shadow table."""
    kind, table = objects[name][:2]
    if kind == "index" and table in absent:
        return True
    return any(
        objects[other][0] == "virtual table" and name.startswith(f"{other}_")
        for other in absent
        if other != name
    )


def _compare(name, have, want):
    kind, table, tokens, columns = have
    want_kind, want_table, want_tokens, want_columns = want
    if kind != want_kind:
        return [f"schema: {name} is a {kind}, schema.sql has a {want_kind}"]
    if kind == "table" and columns != want_columns:
        return _compare_columns(name, columns, want_columns)
    if kind == "index" and (table, columns) != (want_table, want_columns):
        return [
            f"schema: index {name} is on {table}({_names(columns)}), "
            f"schema.sql has it on {want_table}({_names(want_columns)})"
        ]
    if tokens != want_tokens:
        return [f"schema: {kind} {name} is defined otherwise than in schema.sql"]
    return []


def _compare_columns(table, columns, want_columns):
    have = {column[0]: column for column in columns}
    want = {column[0]: column for column in want_columns}
    problems = [f"schema: table {table} has no column {name}" for name in want if name not in have]
    problems += [
        f"schema: table {table} has a column {name} that schema.sql does not"
        for name in have
        if name not in want
    ]
    problems += [
        f"schema: column {table}.{name} is {_declared(have[name])}, "
        f"schema.sql says {_declared(want[name])}"
        for name in want
        if name in have and have[name] != want[name]
    ]
    return problems or [f"schema: table {table} has its columns in another order than schema.sql"]


def _declared(column):
    _, kind, notnull, default, pk = column
    words = [kind or "untyped"]
    if notnull:
        words.append("NOT NULL")
    if default is not None:
        words.append(f"DEFAULT {default}")
    if pk:
        words.append("PRIMARY KEY")
    return " ".join(words)


def _names(columns):
    return ", ".join(str(column[0]) for column in columns)


_TOKEN = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|--[^\n]*|/\*.*?(?:\*/|$)|\w+|\S""", re.S
)


def _tokens(sql):
    """The SQL's tokens, without comments: what it says, not how it is laid out."""
    if sql is None:
        return ()
    return tuple(t for t in _TOKEN.findall(sql) if not t.startswith(("--", "/*")))


def _is_virtual(sql):
    return _tokens(sql)[:3] == ("CREATE", "VIRTUAL", "TABLE") if sql else False


def _build_info(db, path):
    """Every build_info key but the counts (_build_info_counts) against what it describes.

    A file is only held to the keys this paperdb writes when this paperdb wrote it (its
    schema and tool version): another version's file gets the one line that says so.
    """
    if not db.has("build_info", "key", "value"):
        return []  # _schema reports the table
    info = db.build_info()
    if not info:
        return ["build_info: has no rows"]
    problems = []
    said = info.get("schema_version")
    if said is not None and said != str(db.version):
        problems.append(
            f"build_info: schema_version says {said}, the file's user_version is {db.version}"
        )
    version, _, counted = _expected()
    tool = info.get("tool_version")
    if tool is not None and not TOOL_VERSION.fullmatch(tool):
        problems.append(f"build_info: tool_version is not a version: {tool!r}")
    elif tool is not None and tool != __version__ and db.version == version:
        problems.append(
            f"build_info: tool_version says paperdb {tool} built the file, this is paperdb "
            f"{__version__}, which checks only its own files (rebuild it with: paperdb build)"
        )
    sqlite_version = info.get("sqlite_version")
    if sqlite_version is not None and not SQLITE_VERSION.fullmatch(sqlite_version):
        problems.append(
            f"build_info: sqlite_version is not an SQLite 3 version: {sqlite_version!r}"
        )
    if info.get(RELATED_KEY, "yes") not in ("yes", "no"):
        problems.append(f"build_info: {RELATED_KEY} is not yes or no: {info[RELATED_KEY]!r}")
    if BUILT_AT in info and not _utc_time(info[BUILT_AT]):
        problems.append(
            f"build_info: {BUILT_AT} is not a time like 2024-03-14T12:00:00Z: {info[BUILT_AT]!r}"
        )
    if db.version == version and tool in (None, __version__):
        expected = {*VERSION_KEYS, RELATED_KEY, *(count_key(table) for table in counted)}
        missing = sorted(expected - info.keys())
        if missing:
            problems.append(f"build_info: no {_listed(missing)} {_word(missing, 'key')}")
        unknown = sorted(
            key
            for key in info
            if key not in expected and key != BUILT_AT and not key.startswith(SHA256_PREFIX)
        )
        if unknown:
            problems.append(
                f"build_info: {_word(unknown, 'key')} {_listed(unknown)} "
                f"{'is' if len(unknown) == 1 else 'are'} not written by paperdb {__version__}"
            )
    return problems


def _utc_time(text):
    try:
        time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError):
        return False
    return True


def _full_text_probe(db, path):
    """The quick stand-in for _full_text: a few lookups, not a read of the whole index.

    The number of indexed rows against papers, then the first and the last paper by id,
    each looked up by its title: that reads the index's structure and some of its pages.
    """
    if "papers_fts" not in db.tables or not db.has("papers", "id", "title"):
        return []
    problems = []
    if db.has("papers_fts_docsize", "id"):
        indexed, papers = db.count("papers_fts_docsize"), db.count("papers")
        if indexed != papers:
            problems.append(f"papers_fts: {indexed} rows indexed, papers has {papers}")
    ends = db.rows(
        "SELECT id, title FROM papers WHERE id IN"
        " ((SELECT min(id) FROM papers), (SELECT max(id) FROM papers))"
    )
    try:
        for pid, title in ends:
            if not any(ch.isalnum() for ch in str(title)):
                continue  # no word to look up
            phrase = '"' + str(title).replace('"', '""') + '"'
            found = db.column(
                "SELECT rowid FROM papers_fts WHERE papers_fts MATCH ?", (f"title : {phrase}",)
            )
            if pid not in found:
                problems.append(
                    f"papers_fts: paper {pid} is not found by its title: the full-text index "
                    "does not match papers"
                )
    except sqlite3.Error as exc:
        problems.append(f"papers_fts: full-text index is damaged (a lookup failed: {exc})")
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
    """Every count build_info holds (COUNT_KEYS, rows:TABLE) against the table's rows."""
    info = db.build_info()
    problems = []
    keys = [*COUNT_KEYS, *sorted(key for key in info if key.startswith(ROWS_PREFIX))]
    for key in keys:
        table = COUNT_KEYS.get(key) or key[len(ROWS_PREFIX) :]
        if key not in info or table not in db.tables:
            continue  # _build_info reports a missing key, _schema a missing table
        try:
            said = int(info[key])
        except (TypeError, ValueError):
            problems.append(f"build_info: {key} is not a number: {info[key]!r}")
            continue
        rows = db.count(table)
        if said != rows:
            says = (
                "build_info says"
                if key in (table, ROWS_PREFIX + table)
                else f"build_info {key} says"
            )
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
    if db.has("listings", "warning_count") and db.has("build_warnings", "listing_id"):
        wrong = db.rows(
            f"SELECT listings.id, listings.{_ident(name)}, listings.warning_count,"
            " count(bw.listing_id) FROM listings"
            " LEFT JOIN build_warnings AS bw ON bw.listing_id = listings.id"
            " GROUP BY listings.id HAVING listings.warning_count IS NOT count(bw.listing_id)"
            " ORDER BY listings.id"
        )
        for lid, label, said, rows in wrong[:MAX_LINES]:
            problems.append(
                f"listings: {label} (id {lid}) has warning_count {said}, "
                f"build_warnings has {rows} rows"
            )
        if len(wrong) > MAX_LINES:
            problems.append(
                f"listings: ... and {len(wrong) - MAX_LINES} more with a wrong warning_count"
            )
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


def _acronym_counts(db, path):
    """acronyms against the definitions it counts: a text found in several dumps counts once."""
    if not (
        db.has("acronyms", "short", "long", "papers")
        and db.has("acronym_definitions", "short", "long", "text_hash")
    ):
        return []
    stored = {(s, lf): n for s, lf, n in db.rows("SELECT short, long, papers FROM acronyms")}
    counted = {
        (s, lf): n
        for s, lf, n in db.rows(
            "SELECT short, long, count(DISTINCT text_hash) FROM acronym_definitions"
            " GROUP BY short, long"
        )
    }
    wrong = sorted(k for k in stored.keys() | counted.keys() if stored.get(k) != counted.get(k))
    if not wrong:
        return []
    shown = "; ".join(_acronym_example(key, stored, counted) for key in wrong[:EXAMPLES])
    more = "; ..." if len(wrong) > EXAMPLES else ""
    return [
        f"acronyms: {_plural(len(wrong), 'acronym')} "
        f"{'disagrees' if len(wrong) == 1 else 'disagree'} with acronym_definitions "
        f"({shown}{more})"
    ]


def _related_papers(db, path):
    """No paper relates to itself, or to one paper twice, or to more than MAX_RELATED, and
    none lists a paper after its SURE_RANKS best scoring under TAIL_SCORE (the table's
    foreign keys are _foreign_keys')."""
    if not db.has("related_papers", "paper_id", "related_id", "rank", "score"):
        return []
    problems = []
    selves = db.column(
        "SELECT DISTINCT paper_id FROM related_papers WHERE related_id = paper_id"
        f" ORDER BY 1 LIMIT {EXAMPLES + 1}"
    )
    if selves:
        problems.append(f"related_papers: a paper relates to itself (paper_id {_examples(selves)})")
    for what, having in [
        (f"more than {MAX_RELATED} related papers", f"count(*) > {MAX_RELATED}"),
        ("a related paper twice", "count(DISTINCT related_id) < count(*)"),
    ]:
        wrong = db.column(
            f"SELECT paper_id FROM related_papers GROUP BY paper_id HAVING {having}"
            f" ORDER BY 1 LIMIT {EXAMPLES + 1}"
        )
        if wrong:
            problems.append(f"related_papers: a paper has {what} (paper_id {_examples(wrong)})")
    weak = db.column(
        f"SELECT DISTINCT paper_id FROM related_papers WHERE rank > {SURE_RANKS}"
        f" AND score < {TAIL_SCORE} ORDER BY 1 LIMIT {EXAMPLES + 1}"
    )
    if weak:
        problems.append(
            f"related_papers: a paper lists one scoring under {TAIL_SCORE} after its"
            f" {SURE_RANKS} best (paper_id {_examples(weak)})"
        )
    return problems


def _acronym_example(key, stored, counted):
    said = f"papers {stored[key]}" if key in stored else "no row"
    found = f"definitions give {counted[key]}" if key in counted else "no definition"
    return f"{key[0]} = {key[1]}: {said}, {found}"


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


def _word(items, noun):
    return noun if len(items) == 1 else f"{noun}s"


def _listed(items):
    shown = ", ".join(str(item) for item in items[:MAX_LINES])
    return shown + (f" and {len(items) - MAX_LINES} more" if len(items) > MAX_LINES else "")


def _n_have(n, noun):
    """'1 paper has' / '3 papers have'."""
    return f"{_plural(n, noun)} {'has' if n == 1 else 'have'}"


def _examples(values):
    """The first few values, comma-separated, with '...' when there are more."""
    shown = ", ".join(str(v) for v in values[:EXAMPLES])
    return shown + (", ..." if len(values) > EXAMPLES else "")
