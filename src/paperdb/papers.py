"""Fold paper occurrences from all dumps into distinct papers as they stream past.

Writes papers, paper_listings, listings and build_warnings rows; a title seen before is
the same paper (identity.py), and of two different abstracts the longer is kept.
"""

from .identity import IdSet, claim_id, slug, title_key
from .links import skipped_links
from .parser import DumpParser, Occurrence, shorten
from .reader import MAX_LINE_BYTES, read_lines
from .writer import BATCH_ROWS

PROGRESS_EVERY = 2000  # occurrences between progress reports
LISTING_COLUMNS = (
    "paper_id",
    "listing_id",
    "position",
    "line",
    "abstract_line",
    "title",
    "abstract",
)


class PaperTable:
    """Folds paper occurrences from all dumps into distinct papers as they stream past."""

    def __init__(self, writer, warn, extractions, progress, expected_papers=1000):
        self.writer = writer
        self.warn = warn
        self.progress = progress
        self.extractions = extractions  # a parallel.ExtractionQueue
        self.seen = IdSet(expected_papers)  # ids of papers already written (or queued)
        self.pending = {}  # id -> row for papers whose extraction is not written yet
        self.queued = {}  # id -> row for papers still in the insert buffer
        self.extra_occurrences = {}  # id -> occurrences beyond the first
        self.listing_names = {}
        self.occurrences = 0
        self.papers = 0

    def add_dump(self, listing_id, dump):
        parser = DumpParser()
        count = 0
        self.listing_names[listing_id] = dump.name
        self.writer.execute(
            "INSERT INTO listings (id, name, sha256, bytes, encoding, page_kind, paper_count,"
            " warning_count) VALUES (?, ?, ?, ?, ?, 'unknown', 0, 0)",
            (listing_id, dump.name, dump.sha256, dump.bytes, dump.encoding),
        )

        def overlong(line, size):
            message = (
                f"line of {size:,} bytes skipped: longer than any title or abstract "
                f"(the limit is {MAX_LINE_BYTES:,})"
            )
            self._warn(listing_id, dump, line, "line-too-long", message)

        for item in parser.parse(read_lines(dump, on_overlong=overlong)):
            if isinstance(item, Occurrence):
                count += 1
                self._add_occurrence(listing_id, dump, item)
                self._warn_skipped_links(listing_id, dump, item)
                if count % PROGRESS_EVERY == 0:
                    self.progress(f"reading {dump.name}: {self.occurrences + count:,} papers read")
            else:
                self._warn(listing_id, dump, item.line, item.kind, item.message)
        self.occurrences += count
        self.writer.execute(
            "UPDATE listings SET page_kind = ?, date_label = ?, paper_count = ? WHERE id = ?",
            (parser.page_kind, parser.date_label, count, listing_id),
        )

    def _warn(self, listing_id, dump, line, kind, message, paper_id=None):
        self.warn(dump.path, line, kind, message)
        self.writer.add(
            "build_warnings",
            {
                "listing_id": listing_id,
                "line": line,
                "kind": kind,
                "message": message,
                "paper_id": paper_id,
            },
        )

    def _warn_skipped_links(self, listing_id, dump, occurrence):
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
                self._warn(listing_id, dump, line, "link-skipped", message)

    def _add_occurrence(self, listing_id, dump, occurrence):
        key = title_key(occurrence.title)
        pid, existing = self._resolve(key)
        if existing is None:
            self.pending[pid] = {
                "id": pid,
                "title": occurrence.title,
                "abstract": occurrence.abstract,
                "slug": slug(key),
                "first_listing_id": listing_id,
                "listing_count": 1,
                "aliases": "",
            }
            self.seen.add(pid)
            self._write_extracted(
                self.extractions.submit(pid, occurrence.title, occurrence.abstract)
            )
            self.papers += 1
            title_here = abstract_here = None
        else:
            self.extra_occurrences[pid] = self.extra_occurrences.get(pid, 1) + 1
            title_here = occurrence.title if occurrence.title != existing["title"] else None
            abstract_here = self._merge_abstract(listing_id, dump, occurrence, pid, existing)
        self._add_listing_row(pid, listing_id, occurrence, title_here, abstract_here)

    def _add_listing_row(self, pid, listing_id, occurrence, title_here, abstract_here):
        """The occurrence, with its title and abstract where they are not the paper's."""
        self.writer.add_values(
            "paper_listings",
            LISTING_COLUMNS,
            (
                pid,
                listing_id,
                occurrence.position,
                occurrence.title_line,
                occurrence.abstract_line,
                title_here,
                abstract_here,
            ),
        )

    def _write_extracted(self, written):
        """The rows of papers whose links and topics were just written, with their aliases."""
        for pid, aliases in written:
            row = self.pending.pop(pid)
            row["aliases"] = aliases
            self.queued[pid] = row
            self.writer.add("papers", row)
            if len(self.queued) >= BATCH_ROWS:
                self._flush_papers()

    def _resolve(self, key):
        """The id for this title key, and the stored paper if it was seen before."""
        return claim_id(key, self.seen, self._stored_with_key)

    def _stored_with_key(self, pid):
        row = self._stored(pid)
        return None if row is None else (title_key(row["title"]), row)

    def _stored(self, pid):
        if pid in self.pending:
            return self.pending[pid]
        if pid in self.queued:
            return self.queued[pid]
        row = self.writer.execute(
            "SELECT title, abstract, first_listing_id FROM papers WHERE id = ?", (pid,)
        ).fetchone()
        if row is None:
            return None
        return {"title": row[0], "abstract": row[1], "first_listing_id": row[2]}

    def _merge_abstract(self, listing_id, dump, occurrence, pid, existing):
        """Fold this occurrence's abstract in; returns it when the paper keeps another one."""
        old, new = existing["abstract"], occurrence.abstract
        if old == new:
            return None
        kept_at = self._kept_place(pid)
        here = place(self.listing_names[listing_id], occurrence.abstract_line)
        if len(new) <= len(old):
            message = conflict_message(occurrence.title, kept_at, old, here, new)
        else:
            message = conflict_message(occurrence.title, here, new, kept_at, old)
        self._warn(
            listing_id,
            dump,
            occurrence.abstract_line,
            "abstract-conflict",
            message,
            paper_id=pid,
        )
        if len(new) <= len(old):
            return new
        # Rare: write what is queued, then change the stored rows. The occurrences so far
        # showed the old abstract, which is no longer the paper's.
        self._write_extracted(self.extractions.drain())
        self._flush_papers()
        self.writer.flush("paper_listings")
        self.writer.execute(
            "UPDATE paper_listings SET abstract = ? WHERE paper_id = ? AND abstract IS NULL",
            (old, pid),
        )
        aliases = self.extractions.extractor.replace(pid, existing["title"], new)
        self.writer.execute(
            "UPDATE papers SET abstract = ?, aliases = ? WHERE id = ?", (new, aliases, pid)
        )
        return None

    def _kept_place(self, pid):
        """Where the paper's abstract comes from: its first occurrence showing it.

        Only a strictly longer abstract replaces the kept one, so no occurrence before
        that one showed the same text. Asked only on a conflict, from the database rather
        than a place remembered for every paper; rows reach it in occurrence order, so a
        row found there is the first, and only when none is does the buffer go in.
        """
        query = (
            "SELECT listing_id, abstract_line FROM paper_listings"
            " WHERE paper_id = ? AND abstract IS NULL ORDER BY listing_id, position LIMIT 1"
        )
        found = self.writer.execute(query, (pid,)).fetchone()
        if found is None:
            self.writer.flush("paper_listings")
            found = self.writer.execute(query, (pid,)).fetchone()
        listing_id, line = found
        return place(self.listing_names[listing_id], line)

    def _flush_papers(self):
        self.writer.flush("papers")
        self.queued.clear()

    def finish(self):
        self._write_extracted(self.extractions.drain())
        self._flush_papers()
        self.writer.flush()
        self.writer.executemany(
            "UPDATE papers SET listing_count = ? WHERE id = ?",
            [(count, pid) for pid, count in sorted(self.extra_occurrences.items())],
        )
        self.extractions.extractor.finish()
        finish_warnings(self.writer)


def place(listing_name, line):
    return f"{listing_name}:{line}"


def conflict_message(title, kept_at, kept, other_at, other):
    """The warning about two abstracts of one paper: the one kept (the longer) and the other.

    `kept_at` and `other_at` are the places of the two abstracts (place()). The warning
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
    writer.flush("build_warnings")
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
