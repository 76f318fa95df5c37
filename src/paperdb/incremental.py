"""`paperdb build --incremental`: bring an existing papers.db up to date by reading only the
dumps that are new, changed (another sha256) or gone.

The result has the same rows as a full build of the same dumps. What a full build decides
across dumps is recomputed from what the database keeps:
- a paper's title, kept abstract, first listing, count and conflict warnings from its rows
  in paper_listings, which keep any title or abstract that differs from the papers row,
  replayed through papers.fold (the rule a full build applies as the dumps stream past);
- the acronym counts, and so every paper's aliases, from acronym_definitions;
- a repository's spelling from its first mention, papers in order of first appearance.
The full-text index is updated row by row (FTS5 'delete' and insert), not rebuilt.

When that cannot be exact (another paperdb version, schema or taxonomy built the file, the
file fails `paperdb check`'s quick checks, or an id collision is involved) `FullBuildNeeded`
says why, and build() runs a full build.
"""

import sqlite3
from dataclasses import dataclass, field
from functools import partial

from . import __version__
from .check import check_database
from .database import open_read_only
from .errors import DatabaseError
from .extract import TopicsAndAliases
from .facts import FactWriter
from .harvest import count_acronyms, harvest_acronyms, write_acronyms
from .identity import repo_key, stable_id, title_key
from .papers import (
    PAPER_LISTING_COLUMNS,
    Place,
    Text,
    add_warning,
    fold,
    insert_now,
    listing_row,
    paper_row,
    read_dump,
    warning_row,
)
from .related import RelatedChanges
from .topics import topic_rows


class FullBuildNeeded(Exception):
    """The existing database cannot be updated exactly; the message says why."""


@dataclass
class Changes:
    """How the dumps differ from the listings the database was built from."""

    kept: dict = field(default_factory=dict)  # name -> (old id, new id): same sha256
    fresh: list = field(default_factory=list)  # [(new id, dump)]: changed or new
    gone: list = field(default_factory=list)  # old ids of changed or removed listings
    changed: list = field(default_factory=list)  # names
    added: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    file_warnings: list = field(default_factory=list)  # stored, about no listing (sorted)

    @property
    def nothing(self):
        return not (self.fresh or self.gone) and all(old == new for old, new in self.kept.values())

    def summary(self):
        return (
            f"{len(self.changed)} changed, {len(self.added)} new, {len(self.removed)} removed, "
            f"{len(self.kept)} unchanged dumps"
        )


def check_base(path, output):
    """FullBuildNeeded when the file at `path` (`output`, or the copy of it an update works
    on) fails the quick checks of `paperdb check`: an update would carry the damage on."""
    problems = [line.replace(str(path), str(output)) for line in check_database(path, quick=True)]
    if problems:
        more = ""
        if len(problems) > 1:
            more = f" (and {len(problems) - 1} more: paperdb check {output} lists them)"
        raise FullBuildNeeded(f"{output} is damaged: {problems[0]}{more}")


def plan_update(output, dumps, taxonomy, *, source=None):
    """The Changes from the database at `output` to `dumps`; FullBuildNeeded if it can't be.

    `source` is the file to read instead of `output` itself (the copy an update works on);
    messages name `output`.
    """
    try:
        conn, _ = open_read_only(source or output, name=output)
    except DatabaseError as exc:
        raise FullBuildNeeded(str(exc)) from None
    try:
        info = dict(conn.execute("SELECT key, value FROM build_info"))
        if info.get("tool_version") != __version__:
            raise FullBuildNeeded(
                f"{output} was built by paperdb {info.get('tool_version')}, this is {__version__}"
            )
        stored_topics = conn.execute(
            "SELECT id, slug, name, description, parent_id, rules FROM topics ORDER BY id"
        ).fetchall()
        if stored_topics != [tuple(row.values()) for row in topic_rows(taxonomy)]:
            raise FullBuildNeeded(f"{output} was built with another topic taxonomy")
        old = {
            name: (lid, sha)
            for lid, name, sha in conn.execute("SELECT id, name, sha256 FROM listings")
        }
        file_warnings = sorted(
            message
            for (message,) in conn.execute(
                "SELECT message FROM build_warnings WHERE listing_id IS NULL"
            )
        )
    except sqlite3.Error as exc:
        raise FullBuildNeeded(f"cannot read {output}: {exc}") from None
    finally:
        conn.close()

    changes = Changes(file_warnings=file_warnings)
    names = set()
    for new_id, dump in enumerate(dumps, start=1):
        names.add(dump.name)
        before = old.get(dump.name)
        if before and before[1] == dump.sha256:
            changes.kept[dump.name] = (before[0], new_id)
            continue
        changes.fresh.append((new_id, dump))
        if before:
            changes.changed.append(dump.name)
            changes.gone.append(before[0])
        else:
            changes.added.append(dump.name)
    for name, (lid, _) in sorted(old.items()):
        if name not in names:
            changes.removed.append(name)
            changes.gone.append(lid)
    return changes


# Tables whose listing_id follows the listings' ids when they are renumbered.
LISTING_COLUMNS = [
    ("listings", "id"),
    ("paper_listings", "listing_id"),
    ("papers", "first_listing_id"),
    ("build_warnings", "listing_id"),
    ("acronym_definitions", "listing_id"),
]


class Update:
    """Applies Changes to the copy of the database a DatabaseWriter holds."""

    def __init__(self, writer, changes, dumps, taxonomy, warn, progress, *, related=True):
        self.writer = writer
        self.changes = changes
        self.dumps = dumps
        self.taxonomy = taxonomy
        self.warn = warn
        self.progress = progress
        self.listing_names = {lid: dump.name for lid, dump in enumerate(dumps, start=1)}
        self.listing_paths = {lid: dump.path for lid, dump in enumerate(dumps, start=1)}
        self.fresh_ids = {lid for lid, _ in changes.fresh}
        # What related_papers must be ranked again for (write_related); None: every paper.
        self.related = related
        self.related_changes = None
        self.replayed = set()  # the papers whose overview columns can change (run() fills it)

    def run(self):
        if self.related:
            self.related_changes = RelatedChanges(self.writer)
        affected = self._drop_gone_listings()
        self._renumber_listings()
        old_expansions = dict(
            self.writer.execute("SELECT short, long FROM acronyms WHERE used_for_search = 1")
        )
        harvest_acronyms(self.writer, self.changes.fresh, self.progress)
        expansions = write_acronyms(self.writer, count_acronyms(self.writer))
        (repos,) = self.writer.execute("SELECT count(*) FROM repos").fetchone()
        self.facts = FactWriter(
            self.writer, TopicsAndAliases(self.taxonomy, expansions), expected_repos=repos + 1000
        )
        for (rid,) in self.writer.execute("SELECT id FROM repos"):
            self.facts.taken_ids.add(rid)

        reader, read = _Reparse(self.writer), 0
        for listing_id, dump in self.changes.fresh:
            self.progress(f"reading {dump.name}")
            add = partial(reader.add, listing_id)
            read += read_dump(self.writer, listing_id, dump, self._warn, add, self.progress, read)
        affected |= reader.affected
        self.replayed = affected
        for number, pid in enumerate(sorted(affected), start=1):
            if number % 2000 == 0:
                self.progress(f"updating papers: {number:,} of {len(affected):,}")
            self._replay(pid)
        self._update_aliases(old_expansions, expansions)
        self._check_repo_ids()
        if self.related_changes:
            self.related_changes.repos.update(self.facts.touched_repos)
        self.facts.finish()

    def _warn(self, listing_id, dump, line, kind, message):
        self.warn(dump.path, line, kind, message)
        add_warning(self.writer, warning_row(listing_id, line, kind, message))

    def _drop_gone_listings(self):
        """Remove what changed and removed dumps gave; returns the papers they touched."""
        # Warnings about no listing (skipped files) are stored again from this run's inputs.
        self.writer.execute("DELETE FROM build_warnings WHERE listing_id IS NULL")
        gone = self.changes.gone
        if not gone:
            return set()
        marks = ", ".join("?" for _ in gone)
        affected = {
            pid
            for (pid,) in self.writer.execute(
                f"SELECT DISTINCT paper_id FROM paper_listings WHERE listing_id IN ({marks})", gone
            )
        }
        for table in ("paper_listings", "build_warnings", "acronym_definitions"):
            self.writer.execute(f"DELETE FROM {table} WHERE listing_id IN ({marks})", gone)
        self.writer.execute(f"DELETE FROM listings WHERE id IN ({marks})", gone)
        return affected

    def _renumber_listings(self):
        """Listing ids follow name order: a new dump can move the ids of those after it."""
        moves = [(old, new) for old, new in self.changes.kept.values() if old != new]
        if not moves:
            return
        # Through negative ids, so that no two rows share an id halfway.
        for old, new in moves:
            for table, column in LISTING_COLUMNS:
                self.writer.execute(
                    f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (-new, old)
                )
        for table, column in LISTING_COLUMNS:
            self.writer.execute(f"UPDATE {table} SET {column} = -{column} WHERE {column} < 0")

    def _replay(self, pid):
        """Fold the paper's occurrences again, as a full build would, and store the result."""
        old = self.writer.execute(
            "SELECT title, abstract, aliases FROM papers WHERE id = ?",
            (pid,),
        ).fetchone()
        if old is not None:
            _refuse_if_collision(self.writer, pid, title_key(old[0]))
        rows = self.writer.execute(
            "SELECT listing_id, position, abstract_line, title, abstract FROM paper_listings"
            " WHERE paper_id = ? ORDER BY listing_id, position",
            (pid,),
        ).fetchall()
        if not rows:
            self._delete_paper(pid, old)
            return
        names = self.listing_names
        texts = [
            Text(
                title if title is not None else old[0],
                abstract if abstract is not None else old[1],
                Place(listing_id, names[listing_id], abstract_line),
            )
            for listing_id, _, abstract_line, title, abstract in rows
        ]
        paper, conflicts = fold(texts)
        title, kept, first_listing = paper.title, paper.abstract, rows[0][0]
        self._store_occurrences(rows, texts, title, kept)
        self._store_conflicts(pid, conflicts)

        if old is not None and (title, kept) == (old[0], old[1]):
            self.writer.execute(
                "UPDATE papers SET first_listing_id = ?, listing_count = ? WHERE id = ?",
                (first_listing, len(rows), pid),
            )
        elif old is None:
            aliases = self.facts.add(pid, title, kept)
            insert_now(
                self.writer,
                "papers",
                paper_row(pid, title, kept, first_listing, len(rows), aliases),
            )
            self._index(pid, title, kept, aliases)
        else:
            self._unindex(pid, old[0], old[1], old[2])
            aliases = self.facts.replace(pid, title, kept)
            self.writer.execute(
                "UPDATE papers SET title = ?, abstract = ?, first_listing_id = ?,"
                " listing_count = ?, aliases = ? WHERE id = ?",
                (title, kept, first_listing, len(rows), aliases, pid),
            )
            self._index(pid, title, kept, aliases)
        # Rows here are written in id order, not paper order, and the paper's place in paper
        # order may have moved: its repositories' first mentions are settled at the end.
        self.facts.touched_repos.update(self.facts.repos_of(pid))

    def _store_occurrences(self, rows, texts, title, kept):
        """Each occurrence keeps its title and abstract only where they are not the paper's."""
        for (lid, position, _, stored_title, stored_abstract), text in zip(
            rows, texts, strict=True
        ):
            title_here = text.title if text.title != title else None
            abstract_here = text.abstract if text.abstract != kept else None
            if (title_here, abstract_here) != (stored_title, stored_abstract):
                self.writer.execute(
                    "UPDATE paper_listings SET title = ?, abstract = ?"
                    " WHERE listing_id = ? AND position = ?",
                    (title_here, abstract_here, lid, position),
                )

    def _store_conflicts(self, pid, conflicts):
        self.writer.execute("DELETE FROM build_warnings WHERE paper_id = ?", (pid,))
        for conflict in conflicts:
            at = conflict.at
            # Said again when a dump read in this run is one of the two places.
            if {at.listing_id, conflict.kept_at.listing_id} & self.fresh_ids:
                path = self.listing_paths[at.listing_id]
                self.warn(path, at.line, "abstract-conflict", conflict.message)
            row = warning_row(at.listing_id, at.line, "abstract-conflict", conflict.message, pid)
            add_warning(self.writer, row, now=True)

    def _delete_paper(self, pid, old):
        """No dump lists this paper any more."""
        if old is None:
            return
        _refuse_if_collision(self.writer, pid, title_key(old[0]), removing=True)
        self._unindex(pid, old[0], old[1], old[2])
        self.facts.remove(pid)
        self.writer.execute("DELETE FROM build_warnings WHERE paper_id = ?", (pid,))
        self.writer.execute("DELETE FROM papers WHERE id = ?", (pid,))

    def _update_aliases(self, old_expansions, expansions):
        """A short form whose meaning changed changes the aliases of every paper using it."""
        changed = {
            short
            for short in old_expansions.keys() | expansions.keys()
            if old_expansions.get(short) != expansions.get(short)
        }
        terms = set(changed)
        for short in changed:
            terms.update(filter(None, (old_expansions.get(short), expansions.get(short))))
        candidates = set()
        for term in sorted(terms):
            # The index stems and folds case, so it finds every paper the exact phrase
            # matcher can, and some more; the aliases are then recomputed exactly.
            phrase = '"' + term.replace('"', '""') + '"'
            candidates.update(
                rowid
                for (rowid,) in self.writer.execute(
                    "SELECT rowid FROM papers_fts WHERE papers_fts MATCH ?", (phrase,)
                )
            )
        topics_and_aliases = self.facts.topics_and_aliases
        for pid in sorted(candidates):
            title, abstract, aliases = self.writer.execute(
                "SELECT title, abstract, aliases FROM papers WHERE id = ?", (pid,)
            ).fetchone()
            _, new_aliases = topics_and_aliases.of(title, abstract)
            if new_aliases != aliases:
                self._unindex(pid, title, abstract, aliases)
                self.writer.execute(
                    "UPDATE papers SET aliases = ? WHERE id = ?", (new_aliases, pid)
                )
                self._index(pid, title, abstract, new_aliases)

    def _index(self, pid, title, abstract, aliases):
        if self.related_changes:
            self.related_changes.paper(pid, None)
        _index(self.writer, pid, title, abstract, aliases)

    def _unindex(self, pid, title, abstract, aliases):
        if self.related_changes:
            self.related_changes.paper(pid, (title, abstract, aliases))
        _unindex(self.writer, pid, title, abstract, aliases)

    def _check_repo_ids(self):
        """Refuse when a repository is off its hashed id (two names share a hash), or when
        removing an unmentioned one (facts.finish) would leave another one off its id.

        Every repository a replayed paper mentions is among the touched ones."""
        for rid in sorted(self.facts.touched_repos):
            (full_name,) = self.writer.execute(
                "SELECT full_name FROM repos WHERE id = ?", (rid,)
            ).fetchone()
            mentioned = self.writer.execute(
                "SELECT 1 FROM paper_repos WHERE repo_id = ? LIMIT 1", (rid,)
            ).fetchone()
            if mentioned is None:
                _refuse_if_collision(
                    self.writer, rid, repo_key(full_name), removing=True, table="repos"
                )
            elif stable_id(repo_key(full_name)) != rid:
                raise FullBuildNeeded("two repository names share an id hash")


class _Reparse:
    """Reads changed and new dumps into paper_listings rows, each with its own text.

    The fold into papers happens afterwards, paper by paper (Update._replay), once every
    occurrence of the paper is known.
    """

    def __init__(self, writer):
        self.writer = writer
        self.affected = set()
        self.new_keys = {}  # id -> title key, for papers not in the database

    def add(self, listing_id, occurrence):
        key = title_key(occurrence.title)
        pid = stable_id(key)
        if pid in self.new_keys:
            holder = self.new_keys[pid]
        else:
            row = self.writer.execute("SELECT title FROM papers WHERE id = ?", (pid,)).fetchone()
            holder = title_key(row[0]) if row else None
            if holder is None:
                self.new_keys[pid] = holder = key
        if holder != key:
            raise FullBuildNeeded("two paper titles share an id hash (a full build orders them)")
        self.affected.add(pid)
        # Its own text for now: Update._replay keeps it only where it is not the paper's.
        row = listing_row(pid, listing_id, occurrence, occurrence.title, occurrence.abstract)
        self.writer.add_values("paper_listings", PAPER_LISTING_COLUMNS, row)


def _refuse_if_collision(writer, ident, key, *, removing=False, table="papers"):
    """Ids only depend on input order when two keys share a hash; then build in full."""
    key_of = title_key if table == "papers" else repo_key
    column = "title" if table == "papers" else "full_name"
    if not removing and stable_id(key) != ident:
        raise FullBuildNeeded(f"a {table} row moved off its hashed id (a collision)")
    above = ident + 1
    while True:
        row = writer.execute(f"SELECT {column} FROM {table} WHERE id = ?", (above,)).fetchone()
        if row is None:
            return
        if stable_id(key_of(row[0])) <= ident:
            raise FullBuildNeeded(f"a {table} row moved off its hashed id (a collision)")
        above += 1


def _index(writer, pid, title, abstract, aliases):
    writer.execute(
        "INSERT INTO papers_fts (rowid, title, abstract, aliases) VALUES (?, ?, ?, ?)",
        (pid, title, abstract, aliases),
    )


def _unindex(writer, pid, title, abstract, aliases):
    # External content: FTS5 removes a row's terms only when given the text it indexed.
    writer.execute(
        "INSERT INTO papers_fts (papers_fts, rowid, title, abstract, aliases)"
        " VALUES ('delete', ?, ?, ?, ?)",
        (pid, title, abstract, aliases),
    )
