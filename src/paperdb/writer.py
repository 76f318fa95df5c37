"""Write papers.db: a temporary file beside the target, renamed over it only when complete.

A reader that has the old papers.db open keeps reading the old file (the rename swaps
directory entries, not bytes), and a build that fails or is killed never touches it.
What may be replaced, and the journals to settle first, are output.py's rules.
"""

import contextlib
import ctypes
import fcntl
import os
import re
import secrets
import shutil
import sqlite3
import time
from pathlib import Path

import sqlite_utils

from .errors import BuildError, shown
from .output import claim, keep_permissions, settle_journals
from .schema import fts_tokenize, schema_sql

BATCH_ROWS = 5000
FTS_HASH_BYTES = 32 * 1024 * 1024
SCRATCH_CACHE_KIB = -2000  # SQLite's default page cache, in KiB (negative)
FTS_INDEX_SHADOWS = ("data", "idx", "docsize")  # papers_fts_config keeps its own settings
TEMP_SUFFIX = ".tmp"
BIRTH_SUFFIX = ".new"  # a temporary file before it is locked (see create_temp_file)
ORPHAN_BIRTH_SECONDS = 3600


def create_temp_file(folder, output_name):
    """(path, fd) of a new, empty temporary file, locked for as long as fd stays open.

    The lock (flock) says the file is in use, across processes and PID namespaces that
    share the folder: a process id says nothing about another namespace. The file is
    created under a name the stale-file sweep ignores and renamed once locked, so it is
    never seen unlocked under its .tmp name.
    """
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    birth = folder / f".{output_name}.{token}{BIRTH_SUFFIX}"
    path = folder / f".{output_name}.{token}{TEMP_SUFFIX}"
    fd = os.open(birth, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(birth, path)
    except OSError:
        os.close(fd)
        with contextlib.suppress(OSError):
            birth.unlink()
        raise
    return path, fd


def remove_stale_temp_files(output):
    """Delete temporary files left by builds that were killed: those nobody holds locked."""
    prefix = f".{output.name}."
    with contextlib.suppress(OSError):
        for leftover in output.parent.iterdir():
            name = leftover.name
            if not name.startswith(prefix):
                continue
            if name.endswith(TEMP_SUFFIX):
                _remove_if_unlocked(leftover)
            elif name.endswith(BIRTH_SUFFIX):
                # Killed in the instant between creating and locking: empty, and old by now.
                with contextlib.suppress(OSError):
                    if time.time() - leftover.stat().st_mtime > ORPHAN_BIRTH_SECONDS:
                        leftover.unlink()


def _return_freed_memory():
    """Give the memory SQLite freed back to the system (glibc's malloc_trim; elsewhere
    nothing). Building the index frees tens of MB that the process would otherwise keep
    (66 MB at 100k papers), and the related papers' ranking comes next: at 1M papers the
    two added up past the 250 MB bound (docs/RELATED.md, "Memory at 1M papers")."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


def _remove_if_unlocked(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)  # a live build holds it
        return
    with contextlib.suppress(OSError):
        path.unlink()
    os.close(fd)


class DatabaseWriter:
    """Owns the temporary database for the length of one build.

    Use as a context manager: leaving it with an exception removes the temporary file;
    `commit()` is the only way to put the result in place.
    """

    def __init__(self, output, *, update=False, inputs=(), force=False):
        """`update=True` starts from a copy of the existing output instead of an empty file.

        The output must be ours to replace (output.claim: `inputs` are never replaced,
        `force` allows another program's SQLite file); a symlink's target is written.
        """
        self.output = Path(output)
        self.inputs = inputs
        self.force = force
        self.target = claim(self.output, inputs, force)
        self.notes = settle_journals(self.target.path)  # before a copy, and fail early
        parent = self.target.path.parent
        remove_stale_temp_files(self.target.path)
        try:
            self.temp_path, self._lock = create_temp_file(parent, self.target.path.name)
        except OSError as exc:
            raise BuildError(f"{shown(parent)}: cannot write here: {exc.strerror or exc}") from None
        if update:
            try:
                shutil.copyfile(self.target.path, self.temp_path)
            except OSError as exc:
                self.temp_path.unlink(missing_ok=True)
                self._release()
                raise BuildError(
                    f"{shown(self.output)}: cannot copy: {exc.strerror or exc}"
                ) from None
        self._buffers = {}
        self._staged = {}  # table -> key, for tables written through a TEMP table (stage())
        try:
            self._connect()
            if not update:
                self.db.conn.executescript(schema_sql())
        except sqlite3.Error as exc:
            self.discard()
            raise BuildError(f"{self.output}: cannot create the database: {exc}") from None

    def _connect(self):
        self.db = sqlite_utils.Database(self.temp_path)
        # The file is private until renamed into place, so the journal and fsyncs that
        # protect a live database would only slow the build; durability comes from the
        # single fsync + rename in commit().
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.discard()
        return False

    def add(self, table, row):
        """Queue a row (a dict of column values); rows are inserted in batches."""
        self.add_values(table, tuple(row), tuple(row.values()))

    def add_values(self, table, columns, values):
        """Queue a row given as a tuple of values in the order of `columns` (a tuple)."""
        buffer = self._buffers.get(table)
        if buffer is None:
            buffer = self._buffers[table] = _Buffer(columns)
        elif columns != buffer.columns:
            self.flush(table)
            buffer.columns = columns
        buffer.rows.append(values)
        if len(buffer.rows) >= BATCH_ROWS:
            self.flush(table)

    def flush(self, table=None):
        # Plain executemany, not sqlite-utils' insert_all: insert_all inspects and converts
        # every value and rebuilds its SQL per chunk, which measured 9.7 against 4.2 µs a
        # row for papers rows (20,000 rows, in memory).
        tables = [table] if table else list(self._buffers)
        for name in tables:
            buffer = self._buffers.get(name)
            if buffer and buffer.rows:
                columns = buffer.columns
                sql = (
                    f"INSERT INTO {name} ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' for _ in columns)})"
                )
                with self.db.conn:
                    self.db.conn.executemany(sql, buffer.rows)
                buffer.rows = []

    def stage(self, table, key):
        """Until unstage(), rows of `table` go to a temporary table in arrival order.

        A table keyed by hashed ids gets each row on a random page; once the table is
        larger than the caches, every insert reads and writes a page (at 1M papers the
        papers table is 1.9 GB). The temporary table only appends, with an index on `key`
        for the lookups and updates a build makes; unstage() writes the rows in key
        order, so each page of the real table is written once, and full. Measured at 1M
        papers: 3,735 -> 3,489 MB, build time the same within the noise.
        """
        self.flush(table)
        # A TEMP table of the same name shadows main's for every unqualified statement.
        # Columns keep their defaults (CREATE ... AS SELECT drops them): a column the build
        # fills later (papers.topics, overview.py) lands with its default if it is not.
        columns = ", ".join(
            f"{name} {kind}" + (f" DEFAULT {default}" if default is not None else "")
            for _, name, kind, _, default, _ in self.execute(f"PRAGMA main.table_info({table})")
        )
        self.execute(f"CREATE TEMP TABLE {table} ({columns})")
        self.execute(f"CREATE UNIQUE INDEX temp.staged_{table} ON {table} ({key})")
        self._staged[table] = key

    def unstage(self, table, columns="*"):
        """Write the staged rows of `table` into the file, in key order (`columns`: the
        select list over the staged table, for columns computed on the way)."""
        self.flush(table)
        key = self._staged.pop(table)
        self.execute(f"INSERT INTO main.{table} SELECT {columns} FROM temp.{table} ORDER BY {key}")
        self.execute(f"DROP TABLE temp.{table}")

    def execute(self, sql, params=()):
        """Run a statement; the queued rows of every table it names are written first, so a
        read sees what was added and a change applies to it too."""
        self._flush_named(sql)
        return self.db.execute(sql, params)

    def executemany(self, sql, rows):
        self._flush_named(sql)
        with self.db.conn:
            self.db.conn.executemany(sql, rows)

    def read_connection(self):
        """The sqlite3 connection, for a reader that needs it whole, with every queued row
        written."""
        self.flush()
        return self.db.conn

    def _flush_named(self, sql):
        for name, buffer in self._buffers.items():
            if buffer.rows and re.search(rf"\b{name}\b", sql):
                self.flush(name)

    def index_full_text(self, on_built=None):
        """Fill papers_fts from papers, merged into one segment, leaving no free pages.
        `on_built(connection)` is given, before the merge, a connection to a copy of the
        index (papers_fts in its main schema), usable from any thread, for the caller to
        close.

        Merging the index ('optimize') frees the pages of the segments it merges: built in
        the file itself, that left 28 MB of free pages at 100k papers. So the index is
        built in a scratch database (SQLite's own temporary file, deleted when detached or
        when the process dies), as a contentless table with the same columns and tokenizer,
        and its rows are copied into papers_fts's shadow tables, where they fill pages at
        the end of the file. Papers go in rowid order, as a 'rebuild' reads them: the rows
        are those a rebuild and optimize in place give (only the structure's change counter
        differs). Measured at 100k: the same time as in place, against +1.0-1.3 s for a
        VACUUM afterwards.
        """
        self.commit_rows()  # ATTACH cannot run inside a transaction
        conn = self.db.conn
        columns = [row[1] for row in conn.execute("PRAGMA main.table_info(papers_fts)")]
        (page_size,) = conn.execute("PRAGMA main.page_size").fetchone()
        conn.execute("ATTACH DATABASE '' AS fts_scratch")
        conn.execute(f"PRAGMA fts_scratch.page_size = {int(page_size)}")
        # Set again after the page size: SQLite sized the default cache (2,000 KiB) in pages
        # of the old size, which made it 8 MiB of 16 KiB pages.
        conn.execute(f"PRAGMA fts_scratch.cache_size = {SCRATCH_CACHE_KIB}")
        conn.execute("PRAGMA fts_scratch.journal_mode = OFF")
        conn.execute(
            f"CREATE VIRTUAL TABLE fts_scratch.papers_fts USING fts5("
            f"{', '.join(columns)}, content='', tokenize={fts_tokenize()})"
        )
        with conn:
            # A larger pending-terms buffer means fewer, larger segments to merge; the
            # floor benchmark measured builds 27-30% faster with 64 MiB. 32 MiB keeps
            # most of that and the peak memory of a 1M-paper build under 250 MB.
            conn.execute(
                "INSERT INTO fts_scratch.papers_fts(papers_fts, rank) VALUES ('hashsize', ?)",
                [FTS_HASH_BYTES],
            )
            conn.execute(
                f"INSERT INTO fts_scratch.papers_fts(rowid, {', '.join(columns)})"
                f" SELECT id, {', '.join(columns)} FROM main.papers ORDER BY id"
            )
        _return_freed_memory()  # the pending terms' hash, flushed
        if on_built:
            # A copy, in SQLite's temporary folder too, for a reader on another thread
            # while the segments are merged (0.1 s at 100k papers: related.ReadAhead).
            copy = sqlite3.connect("", check_same_thread=False)
            try:
                conn.backup(copy, name="fts_scratch")
            except BaseException:
                copy.close()
                raise
            on_built(copy)
        with conn:
            conn.execute("INSERT INTO fts_scratch.papers_fts(papers_fts) VALUES ('optimize')")
        with conn:
            for shadow in FTS_INDEX_SHADOWS:
                conn.execute(f"DELETE FROM main.papers_fts_{shadow}")
                conn.execute(
                    f"INSERT INTO main.papers_fts_{shadow}"
                    f" SELECT * FROM fts_scratch.papers_fts_{shadow}"
                )
        conn.execute("DETACH DATABASE fts_scratch")
        # FTS5 keeps the index structure it last read, per connection, and reloads it only
        # when another connection commits: this one would go on reading the index as it was
        # before the copy (empty), as the related-papers pass did. A new connection reads it.
        self.db.close()
        self._connect()
        _return_freed_memory()

    def commit_rows(self):
        """Write every queued row and commit them to the temporary file, where another
        connection can read them. Only commit() puts the file in place."""
        self.flush()
        self.db.conn.commit()

    def commit(self):
        """Finish the file and atomically put it in place of the output."""
        self.flush()
        self.db.conn.commit()
        self.db.close()
        try:
            # Checked again at the last moment: the output may have changed during the build.
            target = claim(self.output, self.inputs, self.force)
            for note in settle_journals(target.path):
                if note not in self.notes:
                    self.notes.append(note)
            keep_permissions(self.temp_path, target)
            with open(self.temp_path, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(self.temp_path, target.path)
            _fsync_folder(target.path.parent)
        except BuildError:
            self.discard()
            raise
        except OSError as exc:
            self.discard()
            raise BuildError(
                f"{shown(self.output)}: cannot replace: {exc.strerror or exc}"
            ) from None
        self._release()

    def discard(self):
        with contextlib.suppress(sqlite3.Error):
            self.db.close()
        with contextlib.suppress(FileNotFoundError):
            self.temp_path.unlink()
        self._release()

    def _release(self):
        """Let go of the temporary file's lock (once it is renamed or removed)."""
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None


class _Buffer:
    """Rows queued for one table, all with the same columns."""

    __slots__ = ("columns", "rows")

    def __init__(self, columns):
        self.columns = columns
        self.rows = []


def _fsync_folder(folder):
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
