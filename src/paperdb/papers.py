"""Fold paper occurrences from all dumps into distinct papers as they stream past.

Writes papers, paper_listings, listings and build_warnings rows; a title seen before is
the same paper (identity.py). What a paper keeps of its occurrences is merge(), the one
fold rule: a full build applies it as occurrences stream past (StreamingFold), an incremental
one replays a paper's stored occurrences through it (fold(), incremental.py).
"""

from dataclasses import dataclass, replace
from functools import partial

from .identity import IdSet, claim_id, slug, title_key
from .links import skipped_links
from .parser import DumpParser, Occurrence, shorten
from .reader import MAX_LINE_BYTES, read_lines

PROGRESS_EVERY = 2000  # occurrences between progress reports
PAPER_LISTING_COLUMNS = (
    "paper_id",
    "listing_id",
    "position",
    "line",
    "abstract_line",
    "title",
    "abstract",
)


@dataclass(frozen=True, slots=True)
class Place:
    """A line of a listing; shown as `name:line` in warnings."""

    listing_id: int
    name: str
    line: int

    def __str__(self):
        return f"{self.name}:{self.line}"


@dataclass(frozen=True, slots=True)
class Text:
    """A paper's title and abstract as one occurrence shows them (`at`: the abstract's
    line), or as the paper keeps them so far (`at`: the first occurrence showing that
    abstract).

    A kept Text's `at` may be a function returning the Place: merge() asks for it only
    when the abstracts differ, so the streaming build looks it up only then.
    """

    title: str
    abstract: str
    at: object


@dataclass(frozen=True, slots=True)
class Conflict:
    """An occurrence whose abstract is not the one the paper kept so far."""

    at: Place  # the occurrence: the warning is about its line
    kept_at: Place  # the abstract it was compared with
    message: str


def merge(kept, occurrence):
    """The fold rule: (what the paper keeps after one more occurrence, Conflict or None).

    The first title wins; the longer abstract wins, the one kept on a tie; every
    occurrence whose abstract differs from the one kept so far is one conflict.
    """
    old, new, here = kept.abstract, occurrence.abstract, occurrence.at
    if new == old:
        return kept, None
    kept_at = kept.at() if callable(kept.at) else kept.at
    if len(new) > len(old):
        message = conflict_message(occurrence.title, here, new, kept_at, old)
        kept = replace(kept, abstract=new, at=here)
    else:
        message = conflict_message(occurrence.title, kept_at, old, here, new)
    return kept, Conflict(here, kept_at, message)


def fold(occurrences):
    """(the paper's Text, its Conflicts) from its occurrences, in the order they were read."""
    kept, conflicts = occurrences[0], []
    for occurrence in occurrences[1:]:
        kept, conflict = merge(kept, occurrence)
        if conflict:
            conflicts.append(conflict)
    return kept, conflicts


def paper_row(pid, title, abstract, first_listing_id, listing_count=1, aliases="", key=None):
    """A papers row: every column, spelled once. `key` is title_key(title), if known."""
    return {
        "id": pid,
        "title": title,
        "abstract": abstract,
        "slug": slug(title_key(title) if key is None else key),
        "first_listing_id": first_listing_id,
        "listing_count": listing_count,
        "aliases": aliases,
    }


def listing_row(pid, listing_id, occurrence, title_here, abstract_here):
    """A paper_listings row, in the order of PAPER_LISTING_COLUMNS: the occurrence, with its title
    and abstract where they are not the paper's. (A tuple: a dict per occurrence cost
    measurably at 100k papers, issue 19.)"""
    return (
        pid,
        listing_id,
        occurrence.position,
        occurrence.title_line,
        occurrence.abstract_line,
        title_here,
        abstract_here,
    )


def warning_row(listing_id, line, kind, message, paper_id=None):
    """A build_warnings row (numbered and counted per listing by finish_warnings)."""
    return {
        "listing_id": listing_id,
        "line": line,
        "kind": kind,
        "message": message,
        "paper_id": paper_id,
    }


def add_warning(writer, row, *, now=False):
    """Store a build_warnings row: buffered, or `now`.

    An update writes its rows at once, between the deletes it makes: buffered, they would
    land in other pages, and the file would no longer be byte for byte the same as before.
    """
    if now:
        insert_now(writer, "build_warnings", row)
    else:
        writer.add("build_warnings", row)


def insert_now(writer, table, row):
    """Insert one row (a dict) at once, for a reader that looks at it right after."""
    columns, marks = ", ".join(row), ", ".join("?" * len(row))
    writer.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(row.values()))


def read_dump(writer, listing_id, dump, warn, on_occurrence, progress, read_before=0):
    """Parse one dump: its listings row, its warnings, and on_occurrence(occurrence) for
    each paper in it, in order. Returns the number of occurrences.

    `warn(listing_id, dump, line, kind, message)` is told of each warning; `read_before`
    counts the occurrences of earlier dumps, for progress.
    """
    parser = DumpParser()
    count = 0
    writer.execute(
        "INSERT INTO listings (id, name, sha256, bytes, encoding, page_kind, paper_count,"
        " warning_count) VALUES (?, ?, ?, ?, ?, 'unknown', 0, 0)",
        (listing_id, dump.name, dump.sha256, dump.bytes, dump.encoding),
    )

    def overlong(line, size):
        message = (
            f"line of {size:,} bytes skipped: longer than any title or abstract "
            f"(the limit is {MAX_LINE_BYTES:,})"
        )
        warn(listing_id, dump, line, "line-too-long", message)

    for item in parser.parse(read_lines(dump, on_overlong=overlong)):
        if isinstance(item, Occurrence):
            count += 1
            on_occurrence(item)
            _warn_skipped_links(listing_id, dump, item, warn)
            if count % PROGRESS_EVERY == 0:
                progress(f"reading {dump.name}: {read_before + count:,} papers read")
        else:
            warn(listing_id, dump, item.line, item.kind, item.message)
    writer.execute(
        "UPDATE listings SET page_kind = ?, date_label = ?, paper_count = ? WHERE id = ?",
        (parser.page_kind, parser.date_label, count, listing_id),
    )
    return count


def _warn_skipped_links(listing_id, dump, occurrence, warn):
    """A URL that cannot be read is left out of the paper's links; its line says so.

    Per occurrence, like the parser's warnings, so an incremental build that reads
    only the changed dumps finds the same ones as a full build.
    """
    for line, text in (
        (occurrence.title_line, occurrence.title),
        (occurrence.abstract_line, occurrence.abstract),
    ):
        messages = (
            f"skipped the link {shorten(skipped.as_written, 80)!r}: {skipped.reason}"
            for skipped in skipped_links(text)
        )
        for message in dict.fromkeys(messages):
            warn(listing_id, dump, line, "link-skipped", message)


class StreamingFold:
    """Folds paper occurrences from all dumps into distinct papers as they stream past."""

    def __init__(self, writer, warn, extractions, progress, expected_papers=1000):
        self.writer = writer
        self.warn = warn
        self.progress = progress
        self.extractions = extractions  # a parallel.ExtractionQueue
        self.seen = IdSet(expected_papers)  # ids of papers already written (or queued)
        self.pending = {}  # id -> row for papers whose extraction is not written yet
        self.extra_occurrences = {}  # id -> occurrences beyond the first
        self.listing_names = {}
        self.occurrences = 0
        self.papers = 0

    def add_dump(self, listing_id, dump):
        self.listing_names[listing_id] = dump.name
        add = partial(self._add_occurrence, listing_id, dump)
        self.occurrences += read_dump(
            self.writer, listing_id, dump, self._warn, add, self.progress, self.occurrences
        )

    def _warn(self, listing_id, dump, line, kind, message, paper_id=None):
        self.warn(dump.path, line, kind, message)
        add_warning(self.writer, warning_row(listing_id, line, kind, message, paper_id))

    def _add_occurrence(self, listing_id, dump, occurrence):
        key = title_key(occurrence.title)
        pid, existing = self._resolve(key)
        if existing is None:
            self.pending[pid] = paper_row(
                pid, occurrence.title, occurrence.abstract, listing_id, key=key
            )
            self.seen.add(pid)
            self._write_extracted(
                self.extractions.submit(pid, occurrence.title, occurrence.abstract)
            )
            self.papers += 1
            title_here = abstract_here = None
        else:
            self.extra_occurrences[pid] = self.extra_occurrences.get(pid, 1) + 1
            title_here = occurrence.title if occurrence.title != existing["title"] else None
            abstract_here = self._merge(listing_id, dump, occurrence, pid, existing)
        self.writer.add_values(
            "paper_listings",
            PAPER_LISTING_COLUMNS,
            listing_row(pid, listing_id, occurrence, title_here, abstract_here),
        )

    def _write_extracted(self, written):
        """The rows of papers whose links and topics were just written, with their aliases."""
        for pid, aliases in written:
            row = self.pending.pop(pid)
            row["aliases"] = aliases
            self.writer.add("papers", row)

    def _resolve(self, key):
        """The id for this title key, and the stored paper if it was seen before."""
        return claim_id(key, self.seen, self._stored_with_key)

    def _stored_with_key(self, pid):
        row = self._stored(pid)
        return None if row is None else (title_key(row["title"]), row)

    def _stored(self, pid):
        if pid in self.pending:
            return self.pending[pid]
        row = self.writer.execute(
            "SELECT title, abstract, first_listing_id FROM papers WHERE id = ?", (pid,)
        ).fetchone()
        if row is None:
            return None
        return {"title": row[0], "abstract": row[1], "first_listing_id": row[2]}

    def _merge(self, listing_id, dump, occurrence, pid, existing):
        """Fold this occurrence in (merge()); returns its abstract when the paper keeps another."""
        kept = Text(existing["title"], existing["abstract"], lambda: self._kept_place(pid))
        here = Place(listing_id, self.listing_names[listing_id], occurrence.abstract_line)
        now, conflict = merge(kept, Text(occurrence.title, occurrence.abstract, here))
        if conflict is None:
            return None
        self._warn(listing_id, dump, here.line, "abstract-conflict", conflict.message, pid)
        if now is kept:
            return occurrence.abstract
        # Rare: write what is queued, then change the stored rows. The occurrences so far
        # showed the old abstract, which is no longer the paper's.
        self._write_extracted(self.extractions.drain())
        self.writer.execute(
            "UPDATE paper_listings SET abstract = ? WHERE paper_id = ? AND abstract IS NULL",
            (kept.abstract, pid),
        )
        aliases = self.extractions.facts.replace(pid, now.title, now.abstract)
        self.writer.execute(
            "UPDATE papers SET abstract = ?, aliases = ? WHERE id = ?", (now.abstract, aliases, pid)
        )
        return None

    def _kept_place(self, pid):
        """Where the paper's abstract comes from: its first occurrence showing it.

        Only a strictly longer abstract replaces the kept one, so no occurrence before
        that one showed the same text. Asked only on a conflict, from the database rather
        than a place remembered for every paper (the writer writes the queued rows first).
        """
        query = (
            "SELECT listing_id, abstract_line FROM paper_listings"
            " WHERE paper_id = ? AND abstract IS NULL ORDER BY listing_id, position LIMIT 1"
        )
        listing_id, line = self.writer.execute(query, (pid,)).fetchone()
        return Place(listing_id, self.listing_names[listing_id], line)

    def finish(self):
        self._write_extracted(self.extractions.drain())
        self.writer.executemany(
            "UPDATE papers SET listing_count = ? WHERE id = ?",
            [(count, pid) for pid, count in sorted(self.extra_occurrences.items())],
        )
        self.extractions.facts.finish()
        finish_warnings(self.writer)


def conflict_message(title, kept_at, kept, other_at, other):
    """The warning about two abstracts of one paper: the one kept (the longer) and the other.

    `kept_at` and `other_at` are the Places of the two abstracts. The warning
    itself sits at the later of the two occurrences; the title is quoted whole.
    """
    return (
        f'abstract of "{title}" differs: kept {kept_at} ({len(kept)} characters),'
        f" other {other_at} ({len(other)} characters)"
    )


def finish_warnings(writer):
    """Number the warnings in listing and line order, and count them per listing.

    The order does not depend on when a warning was found, so a full and an incremental
    build give the same rows.
    """
    writer.execute(
        "CREATE TEMP TABLE sorted_warnings AS SELECT listing_id, line, kind, message, paper_id"
        " FROM build_warnings ORDER BY listing_id IS NULL, listing_id, line IS NOT NULL, line,"
        " kind, message"
    )
    writer.execute("DELETE FROM build_warnings")
    writer.execute(
        "INSERT INTO build_warnings (listing_id, line, kind, message, paper_id)"
        " SELECT listing_id, line, kind, message, paper_id FROM temp.sorted_warnings"
        " ORDER BY rowid"
    )
    writer.execute("DROP TABLE temp.sorted_warnings")
    writer.execute(
        "UPDATE listings SET warning_count ="
        " (SELECT count(*) FROM build_warnings WHERE listing_id = listings.id)"
    )
