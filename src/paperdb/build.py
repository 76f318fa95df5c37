"""The whole build: read dumps -> parse -> write -> index -> finalize.

from paperdb.build import build
result = build(["data/seeds"], "papers.db")
"""

import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .acronyms import AcronymHarvest
from .enrich import enrich_papers
from .errors import BuildError, InputError, PaperdbError
from .identity import paper_id, repo_key, slug, stable_id, title_key
from .links import RepoMention, extract_links
from .parser import DumpParser, Occurrence, shorten
from .reader import discover, inspect, read_lines
from .schema import schema_version
from .topics import load_taxonomy
from .writer import BATCH_ROWS, DatabaseWriter

PROGRESS_EVERY = 2000  # occurrences between progress reports


@dataclass(frozen=True)
class BuildWarning:
    """Something a user should know about the input; the build still trusts the rest."""

    source: str  # the dump's path as given, or '' for build-wide warnings
    line: int | None
    kind: str
    message: str

    def __str__(self):
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.message}" if where else self.message


@dataclass
class BuildResult:
    output: Path
    files: int = 0
    occurrences: int = 0
    papers: int = 0
    warnings: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # non-dump files found in input folders
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)  # seconds per stage, in order


def build(inputs, output, *, skip_bad=False, topics=None, on_warning=None, on_progress=None):
    """Build `output` from dump files and folders; returns a BuildResult.

    `topics` is a taxonomy TOML file (default: the bundled one). Raises a PaperdbError
    (and leaves any existing `output` untouched) when an input or the taxonomy is
    unusable and `skip_bad` is false, or when the database cannot be written.
    `on_warning(BuildWarning)` is called as warnings arise, `on_progress(text)` with a
    short description of where the build is, often (callers throttle what they show).
    """
    started = time.perf_counter()
    output = Path(output)
    result = BuildResult(output=output)
    taxonomy = load_taxonomy(topics)

    def warn(source, line, kind, message):
        warning = BuildWarning(str(source), line, kind, message)
        result.warnings.append(warning)
        if on_warning:
            on_warning(warning)

    stage = _Stopwatch(result.timings)
    progress = on_progress or (lambda text: None)
    found = discover(inputs)
    result.skipped = found.skipped
    dumps = _inspect_all(found.files, skip_bad, warn)
    if not dumps:
        raise BuildError("no dump files to build from (looked for *.txt in the inputs given)")
    stage("inspect")

    try:
        with DatabaseWriter(output) as writer:
            builder = _PaperTable(writer, warn, _Extractions(writer, taxonomy), progress)
            input_warnings = list(result.warnings)
            for listing_id, dump in enumerate(dumps, start=1):
                progress(f"reading {dump.name} ({listing_id}/{len(dumps)} files)")
                builder.add_dump(listing_id, dump)
            _store_input_warnings(writer, dumps, input_warnings)
            builder.finish()
            stage("parse_and_insert")
            expansions = _write_acronyms(writer, builder.extras.acronyms)
            enrich_papers(writer, taxonomy, expansions, builder.papers, progress)
            stage("topics_and_aliases")
            progress(f"building the full-text index of {builder.papers:,} papers")
            writer.index_full_text()
            stage("full_text_index")
            result.files = len(dumps)
            result.occurrences = builder.occurrences
            result.papers = builder.papers
            _write_build_info(writer, dumps, result)
            writer.commit()
            stage("commit")
    except sqlite3.Error as exc:
        raise BuildError(f"{output}: database error while building: {exc}") from None
    except OSError as exc:
        raise BuildError(f"{output}: {exc.strerror or exc}") from None
    result.seconds = time.perf_counter() - started
    return result


class _Stopwatch:
    """stage(name) records the seconds since the previous call under `name`."""

    def __init__(self, timings):
        self.timings = timings
        self.last = time.perf_counter()

    def __call__(self, name):
        now = time.perf_counter()
        self.timings[name] = round(now - self.last, 3)
        self.last = now


def _store_input_warnings(writer, dumps, warnings):
    """Warnings about whole files (cp1252, skipped) go to build_warnings like the others."""
    listing_of = {str(dump.path): listing_id for listing_id, dump in enumerate(dumps, start=1)}
    for warning in warnings:
        writer.add(
            "build_warnings",
            {
                "listing_id": listing_of.get(warning.source),
                "line": warning.line,
                "kind": warning.kind,
                "message": str(warning),
            },
        )


def _inspect_all(files, skip_bad, warn):
    dumps, errors = [], []
    for path, name in files:
        try:
            dump = inspect(path, name)
        except InputError as exc:
            errors.append(exc)
            continue
        if dump.encoding != "utf-8":
            warn(path, None, "decoded-as-cp1252", "not valid UTF-8; decoded as cp1252")
        dumps.append(dump)
    if errors and not skip_bad:
        lines = "\n".join(f"  {exc}" for exc in errors)
        raise BuildError(
            f"{len(errors)} unusable input file(s); nothing was written "
            f"(--skip-bad builds from the rest):\n{lines}"
        )
    for exc in errors:
        warn(exc.path, None, "skipped-file", f"skipped: {exc}")
    return dumps


class _PaperTable:
    """Folds paper occurrences from all dumps into distinct papers as they stream past."""

    def __init__(self, writer, warn, extractions, progress):
        self.writer = writer
        self.warn = warn
        self.progress = progress
        self.extras = extractions
        self.seen = set()  # ids of papers already written (or queued)
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
        for item in parser.parse(read_lines(dump)):
            if isinstance(item, Occurrence):
                count += 1
                self._add_occurrence(listing_id, dump, item)
                if count % PROGRESS_EVERY == 0:
                    self.progress(f"reading {dump.name}: {self.occurrences + count:,} papers read")
            else:
                self._warn(listing_id, dump, item.line, item.kind, item.message)
        self.occurrences += count
        self.writer.execute(
            "UPDATE listings SET page_kind = ?, date_label = ?, paper_count = ? WHERE id = ?",
            (parser.page_kind, parser.date_label, count, listing_id),
        )

    def _warn(self, listing_id, dump, line, kind, message):
        self.warn(dump.path, line, kind, message)
        self.writer.add(
            "build_warnings",
            {"listing_id": listing_id, "line": line, "kind": kind, "message": message},
        )

    def _add_occurrence(self, listing_id, dump, occurrence):
        key = title_key(occurrence.title)
        pid, existing = self._resolve(key)
        if existing is None:
            row = {
                "id": pid,
                "title": occurrence.title,
                "abstract": occurrence.abstract,
                "slug": slug(key),
                "first_listing_id": listing_id,
                "listing_count": 1,
            }
            self.seen.add(pid)
            self.queued[pid] = row
            self.writer.add("papers", row)
            self.extras.add(pid, occurrence.title, occurrence.abstract)
            if len(self.queued) >= BATCH_ROWS:
                self._flush_papers()
            self.papers += 1
        else:
            self.extra_occurrences[pid] = self.extra_occurrences.get(pid, 1) + 1
            self._merge_abstract(listing_id, dump, occurrence, pid, existing)
        self.writer.add(
            "paper_listings",
            {
                "paper_id": pid,
                "listing_id": listing_id,
                "position": occurrence.position,
                "line": occurrence.title_line,
            },
        )

    def _resolve(self, key):
        """The id for this title key, and the stored paper if it was seen before.

        Two different keys can share a hash; the later one then takes the next free id.
        """
        pid = paper_id(key)
        while pid in self.seen:
            existing = self._stored(pid)
            if title_key(existing["title"]) == key:
                return pid, existing
            pid += 1
        return pid, None

    def _stored(self, pid):
        if pid in self.queued:
            return self.queued[pid]
        row = self.writer.execute(
            "SELECT title, abstract, first_listing_id FROM papers WHERE id = ?", (pid,)
        ).fetchone()
        return {"title": row[0], "abstract": row[1], "first_listing_id": row[2]}

    def _merge_abstract(self, listing_id, dump, occurrence, pid, existing):
        old, new = existing["abstract"], occurrence.abstract
        if old == new:
            return
        first = self.listing_names[existing["first_listing_id"]]
        keep_new = len(new) > len(old)
        self._warn(
            listing_id,
            dump,
            occurrence.abstract_line,
            "abstract-conflict",
            f"abstract of {shorten(occurrence.title, 50)!r} differs from the one in {first}; "
            f"kept the longer ({max(len(old), len(new))} characters)",
        )
        if keep_new:
            if pid in self.queued:
                self.queued[pid]["abstract"] = new
            else:
                self.writer.execute("UPDATE papers SET abstract = ? WHERE id = ?", (new, pid))
            existing["abstract"] = new
            self.extras.replace(pid, existing["title"], new)

    def _flush_papers(self):
        self.writer.flush("papers")
        self.queued.clear()

    def finish(self):
        self._flush_papers()
        self.writer.flush()
        self.writer.executemany(
            "UPDATE papers SET listing_count = ? WHERE id = ?",
            [(count, pid) for pid, count in sorted(self.extra_occurrences.items())],
        )
        self.extras.finish()
        self.writer.execute(
            "UPDATE listings SET warning_count ="
            " (SELECT count(*) FROM build_warnings WHERE listing_id = listings.id)"
        )


class _Extractions:
    """Writes what the first pass extracts from each distinct paper: links, repositories,
    acronym definitions (topics and aliases wait for the second pass, enrich.py)."""

    def __init__(self, writer, taxonomy):
        self.writer = writer
        self.taxonomy = taxonomy
        self.repo_ids = {}  # lower-cased owner/name -> id
        self.taken_ids = set()
        self.replaced = False
        self.acronyms = AcronymHarvest()
        for topic in taxonomy.topics:
            parent = taxonomy.by_slug[topic.parent].id if topic.parent else None
            rules = {"phrases": list(topic.phrases), "acronyms": list(topic.acronyms)}
            writer.add(
                "topics",
                {
                    "id": topic.id,
                    "slug": topic.slug,
                    "name": topic.name,
                    "description": topic.description,
                    "parent_id": parent,
                    "rules": json.dumps(rules, ensure_ascii=False),
                },
            )

    def add(self, pid, title, abstract):
        self.acronyms.add(abstract)
        for found in extract_links(f"{title} {abstract}", title):
            if isinstance(found, RepoMention):
                self.writer.add(
                    "paper_repos",
                    {
                        "paper_id": pid,
                        "repo_id": self._repo_id(found),
                        "url_as_written": found.as_written,
                        "path": found.path,
                    },
                )
            else:
                self.writer.add(
                    "links",
                    {
                        "paper_id": pid,
                        "url": found.url,
                        "host": found.host,
                        "kind": found.kind,
                        "url_as_written": found.as_written,
                    },
                )

    def replace(self, pid, title, abstract):
        """The paper's abstract changed: its links are those of the new text."""
        self.writer.flush()
        for table in ("paper_repos", "links"):
            self.writer.execute(f"DELETE FROM {table} WHERE paper_id = ?", (pid,))
        self.replaced = True
        self.add(pid, title, abstract)

    def _repo_id(self, mention):
        key = repo_key(mention.full_name)
        if key in self.repo_ids:
            return self.repo_ids[key]
        rid = stable_id(key)
        while rid in self.taken_ids:  # two names sharing a hash: the later takes the next id
            rid += 1
        self.taken_ids.add(rid)
        self.repo_ids[key] = rid
        self.writer.add(
            "repos",
            {
                "id": rid,
                "owner": mention.owner,
                "name": mention.name,
                "full_name": mention.full_name,
                "url": mention.url,
            },
        )
        return rid

    def finish(self):
        self.writer.flush()
        if self.replaced:  # a replaced abstract may have been the only mention of a repository
            self.writer.execute(
                "DELETE FROM repos WHERE id NOT IN (SELECT repo_id FROM paper_repos)"
            )


def _write_acronyms(writer, harvest):
    """Store every definition found; returns the expansions the search index will use."""
    expansions = harvest.expansions()
    writer.executemany(
        "INSERT INTO acronyms (short, long, papers, used_for_search) VALUES (?, ?, ?, ?)",
        [
            (
                row["short"],
                row["long"],
                row["papers"],
                int(expansions.get(row["short"]) == row["long"]),
            )
            for row in harvest.rows()
        ],
    )
    return expansions


def _write_build_info(writer, dumps, result):
    info = {
        "tool_version": __version__,
        "schema_version": str(schema_version()),
        "sqlite_version": sqlite3.sqlite_version,
        "listings": str(len(dumps)),
        "paper_occurrences": str(result.occurrences),
        "papers": str(result.papers),
        "warnings": str(len(result.warnings)),
    }
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch.isdigit():
        # Only an explicit SOURCE_DATE_EPOCH puts a time in the file: builds stay reproducible.
        info["built_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))
    for dump in dumps:
        info[f"source_sha256:{dump.name}"] = dump.sha256
    writer.executemany("INSERT INTO build_info (key, value) VALUES (?, ?)", sorted(info.items()))


__all__ = ["build", "BuildResult", "BuildWarning", "PaperdbError"]
