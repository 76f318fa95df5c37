"""What a build may replace at its output path, and what must be settled before it does.

A build replaces only what is its own: a missing path, an empty file, or a paperdb database
(its schema version and tables). Anything else is refused with a message that says what is
there: another program's SQLite database (unless `force`), a text or other file, an input
dump, a folder or a special file (a device, FIFO or socket, never replaced). A symlink's
target is what gets replaced, and it keeps its permission bits.

SQLite keeps a database's uncommitted or uncheckpointed writes in `NAME-journal` or
`NAME-wal` beside it, and applies such a file to whatever database then carries that name.
Renaming a new database in beside the old one's journal would hand it the old one's pages
("database disk image is malformed"), so `settle_journals` first lets SQLite finish them
on the old file, moves aside a journal that has no database, and refuses while another
program still has the old file open in WAL mode.
"""

import contextlib
import os
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

from .database import connect_read_only, identify
from .errors import BuildError, shown

SQLITE_HEADER = b"SQLite format 3\x00"
# A hot rollback journal starts with this magic; a finished one is empty or zeroed.
JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")
SPECIAL_KINDS = [
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
]


@dataclass(frozen=True)
class Target:
    """The regular file a build writes, and what the file it replaces had."""

    path: Path  # the output, or a symlink's target
    mode: int | None  # permission bits of the file replaced; None for a new file
    owner: tuple | None  # (uid, gid) of the file replaced


def claim(output, inputs=(), force=False):
    """The Target to write for `output`; BuildError if what is there is not ours to replace.

    `inputs` are the dump files of the build: never replaced, whatever `force` says.
    """
    output = Path(output)
    target = Path(os.path.realpath(output)) if output.is_symlink() else output
    where = shown(output) if target == output else f"{shown(output)} (-> {shown(target)})"
    try:
        info = os.stat(target)
    except (FileNotFoundError, NotADirectoryError):
        if not target.parent.is_dir():
            raise BuildError(f"{shown(target.parent)}: output folder does not exist") from None
        return Target(target, None, None)
    except OSError as exc:
        raise BuildError(f"{where}: cannot look at the output: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise BuildError(f"{where}: output path is a folder, not a file")
    for is_kind, kind in SPECIAL_KINDS:
        if is_kind(info.st_mode):
            raise BuildError(
                f"{where}: is {kind}, not a database file; paperdb never replaces one "
                "(not even with --force): choose another output path with -o"
            )
    for dump in inputs:
        with contextlib.suppress(OSError):
            if os.path.samefile(dump, target):
                raise BuildError(
                    f"{where}: is one of the input dumps; paperdb never writes over its "
                    "input (not even with --force): choose another output path with -o"
                )
    found = Target(target, stat.S_IMODE(info.st_mode), (info.st_uid, info.st_gid))
    if info.st_size == 0:
        return found  # nothing in it to lose: `mktemp` made it for us
    what = _identify(target)
    if what == "paperdb":
        return found
    if what.startswith("sqlite"):
        if force:
            return found
        raise BuildError(
            f"{where}: is {what.removeprefix('sqlite: ')}, not a paperdb database; paperdb "
            "replaces only its own. Use --force to replace it, or choose another output "
            "path with -o"
        )
    raise BuildError(
        f"{where}: is {what}, not a database; paperdb will not replace it. Choose another "
        "output path with -o, or move the file away first"
    )


def _identify(path):
    """'paperdb', 'sqlite: <what kind of SQLite file>', or what else the file looks like."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError as exc:
        return f"a file paperdb cannot read ({exc.strerror or exc})"
    if not head.startswith(SQLITE_HEADER):
        return "a text file" if _looks_like_text(head) else "a file of another kind"
    # Before the journals are settled: as the file is, whatever a journal beside it says.
    try:
        conn = connect_read_only(path, immutable=True)
        try:
            found = identify(conn)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return f"sqlite: an SQLite database paperdb cannot read ({exc})"
    if found.surely_ours:
        return "paperdb"
    names = ", ".join(sorted(found.tables)[:5]) or "no tables"
    return f"sqlite: another program's SQLite database (tables: {names})"


def _looks_like_text(head):
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the 512th byte
            return False
    return b"\x00" not in head


def settle_journals(path):
    """Make sure no journal beside `path` can be applied to a new file put in its place.

    Returns notes for the user on what was done; raises BuildError when it cannot be made
    safe (another program is writing the old file, or its journal cannot be resolved).
    """
    journals = [Path(f"{path}{suffix}") for suffix in ("-wal", "-journal")]
    if not any(p.exists() for p in journals):
        return []
    where = shown(path)
    if not path.exists() or path.stat().st_size == 0:
        return [_move_aside(journal, where) for journal in journals if journal.exists()]
    # Opening the old file read-write is what any SQLite client does first: it rolls back a
    # hot journal or checkpoints the WAL into the old file, and, as the last connection,
    # deletes the WAL once it leaves WAL mode.
    busy = (
        f"{where}: another program is using it (it keeps {{}} beside it open); close that "
        "program and build again"
    )
    try:
        conn = sqlite3.connect(path, timeout=1, isolation_level=None)
        try:
            conn.execute("PRAGMA schema_version").fetchone()
            if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                conn.execute("PRAGMA journal_mode = DELETE").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        left = [shown(j) for j in journals if j.exists()]
        if (exc.sqlite_errorname or "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            raise BuildError(busy.format(" and ".join(left))) from None
        raise BuildError(
            f"{where}: {' and '.join(left)} beside it could not be resolved ({exc}); SQLite "
            "would apply it to the new file. Close any program that has the database open "
            "and build again, or move that file away if nothing uses it"
        ) from None
    wal, journal = journals
    if wal.exists() or (journal.exists() and _hot(journal)):
        raise BuildError(busy.format(shown(wal if wal.exists() else journal)))
    return [f"{where}: applied the journal another program left beside it, then replaced it"]


def _hot(journal):
    try:
        with open(journal, "rb") as fh:
            return fh.read(len(JOURNAL_MAGIC)) == JOURNAL_MAGIC
    except OSError:
        return True


def _move_aside(journal, where):
    """A journal whose database is gone or empty: keep it, under a name SQLite ignores."""
    number = 1
    while (aside := journal.with_name(f"{journal.name}.orphan-{number}")).exists():
        number += 1
    try:
        os.rename(journal, aside)
    except OSError as exc:
        raise BuildError(
            f"{shown(journal)}: a journal with no database beside it, which SQLite would apply "
            f"to the new {where}, and it cannot be moved aside ({exc.strerror or exc}); "
            "remove it and build again"
        ) from None
    return f"{shown(journal)}: moved aside to {aside.name} (its database was gone or empty)"


def keep_permissions(temp_path, target):
    """Give the new file the mode (and, where allowed, the owner) of the file it replaces."""
    if target.mode is not None:
        os.chmod(temp_path, target.mode)
    if target.owner is not None:
        with contextlib.suppress(OSError):  # only root may give a file away
            info = os.stat(temp_path)
            if (info.st_uid, info.st_gid) != target.owner:
                os.chown(temp_path, *target.owner)
