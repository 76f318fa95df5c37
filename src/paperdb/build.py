"""The whole build: read dumps -> acronym definitions (enrich.py) -> parse and store papers
(papers.py) with their links, topics and search aliases (extract.py) -> full-text index ->
finalize.

from paperdb.build import build
result = build(["data/seeds"], "papers.db")
"""

import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .check import count_key, counted_tables
from .database import connect_read_only
from .enrich import Enricher, count_acronyms, harvest_acronyms, write_acronyms, write_topics
from .errors import BuildError, InputError, PaperdbError, shown
from .extract import Extractor
from .incremental import FullBuildNeeded, Update, check_base, plan_update
from .output import claim
from .overview import store_overview
from .papers import PaperTable, add_warning, finish_warnings, warning_row
from .parallel import ExtractionQueue, default_workers
from .reader import discover, inspect
from .related import has_related, write_related
from .schema import schema_version
from .topics import load_taxonomy
from .writer import DatabaseWriter

# Tables keyed by hashed paper ids, written in key order at the end (DatabaseWriter.stage).
STAGED = (("papers", "id"), ("paper_topics", "paper_id, topic_id"))
BYTES_PER_PAPER = 1000  # of dump text, at least (1,330 in the seeds): sizes the id bitmaps


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
    mode: str = "full"  # 'full', 'incremental', or 'unchanged' (nothing to do)
    reason: str = ""  # what the incremental build found, or why it built in full
    notes: list = field(default_factory=list)  # what was done beside the output (output.py)


def build(
    inputs,
    output,
    *,
    skip_bad=False,
    topics=None,
    incremental=False,
    force=False,
    workers=None,
    related=True,
    on_warning=None,
    on_progress=None,
):
    """Build `output` from dump files and folders; returns a BuildResult.

    `output` must be a new path, an empty file or a paperdb database (output.claim;
    `force` also replaces another program's SQLite file); a symlink's target is replaced.
    `topics` is a taxonomy TOML file (default: the bundled one). With `incremental`, an
    existing `output` is updated by reading only the dumps that changed (incremental.py);
    when that cannot be exact, a full build runs and `result.reason` says why. `workers` is
    the number of extraction processes (default: parallel.default_workers). Raises a PaperdbError
    (and leaves any existing `output` untouched) when an input or the taxonomy is
    unusable and `skip_bad` is false, or when the database cannot be written.
    `on_warning(BuildWarning)` is called as warnings arise, `on_progress(text)` with a
    short description of where the build is, often (callers throttle what they show).
    `related=False` leaves related_papers empty (related.py).
    """
    started = time.perf_counter()
    output = Path(output)
    result = BuildResult(output=output)
    taxonomy = load_taxonomy(topics)

    def warn(source, line, kind, message):
        warning = BuildWarning(shown(source), line, kind, message)
        result.warnings.append(warning)
        if on_warning:
            on_warning(warning)

    stage = _Stopwatch(result.timings)
    progress = on_progress or (lambda text: None)
    epoch = _source_date_epoch()
    found = discover(inputs)
    result.skipped = found.skipped
    input_paths = [path for path, _ in found.files]
    claim(output, input_paths, force)  # refuse early; the writer checks again at the end
    dumps = _inspect_all(found.files, skip_bad, warn)
    if not dumps:
        raise BuildError("no dump files to build from (looked for *.txt in the inputs given)")
    stage("inspect")
    input_warnings = list(result.warnings)

    try:
        if incremental and _update(
            output,
            dumps,
            taxonomy,
            input_warnings,
            result,
            warn,
            stage,
            progress,
            inputs=input_paths,
            force=force,
            epoch=epoch,
            related=related,
        ):
            result.seconds = time.perf_counter() - started
            return result
        del result.warnings[len(input_warnings) :]
        with DatabaseWriter(output, inputs=input_paths, force=force) as writer:
            write_topics(writer, taxonomy)
            listings = list(enumerate(dumps, start=1))
            harvest_acronyms(writer, listings, progress)
            expansions = write_acronyms(writer, count_acronyms(writer))
            stage("acronyms")
            input_bytes = sum(dump.bytes for dump in dumps)
            expected_papers = input_bytes // BYTES_PER_PAPER + 1000
            extractor = Extractor(
                writer, lambda: Enricher(taxonomy, expansions), expected_papers // 4
            )
            if workers is None:
                workers = default_workers(input_bytes)
            queue = ExtractionQueue(extractor, workers, topics, expansions)
            try:
                for table, key in STAGED:
                    writer.stage(table, key)
                builder = PaperTable(writer, warn, queue, progress, expected_papers)
                for listing_id, dump in listings:
                    progress(f"reading {dump.name} ({listing_id}/{len(dumps)} files)")
                    builder.add_dump(listing_id, dump)
                store_input_warnings(writer, dumps, input_warnings)
                builder.finish()
            finally:
                queue.close()
            store_overview(writer)
            for table, _ in STAGED:
                writer.unstage(table)
            stage("papers_links_topics")
            progress(f"building the full-text index of {builder.papers:,} papers")
            writer.index_full_text()
            stage("full_text_index")
            progress("finding related papers")
            write_related(writer, related)
            stage("related_papers")
            result.files = len(dumps)
            result.occurrences = builder.occurrences
            result.papers = builder.papers
            _write_build_info(writer, dumps, result, epoch)
            writer.commit()
            result.notes = writer.notes
            stage("commit")
    except sqlite3.Error as exc:
        where = ""
        if "full" in str(exc):
            # The staged tables (DatabaseWriter.stage) grow in SQLite's temporary folder.
            where = (
                f" (in {output.parent}, or in SQLite's temporary folder:"
                " SQLITE_TMPDIR, TMPDIR or /var/tmp)"
            )
        raise BuildError(f"{output}: database error while building: {exc}{where}") from None
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


def _update(
    output,
    dumps,
    taxonomy,
    input_warnings,
    result,
    warn,
    stage,
    progress,
    *,
    inputs,
    force,
    epoch,
    related,
):
    """Update `output` in place of a full build; False (with result.reason) if it can't be."""
    if not output.is_file():
        result.reason = f"no {output} to update yet"
        return False
    dump_paths = {shown(dump.path) for dump in dumps}
    file_warnings = [w for w in input_warnings if w.source not in dump_paths]
    try:
        # Planned from `output` itself only to learn that nothing changed: then no copy is made.
        changes = plan_update(output, dumps, taxonomy)
        if (
            changes.nothing
            and sorted(map(str, file_warnings)) == changes.file_warnings
            and has_related(output) == related
        ):
            check_base(output, output)
            result.mode, result.reason = "unchanged", "no dump changed"
            _counts_from(output, result)
            return True
        with DatabaseWriter(output, update=True, inputs=inputs, force=force) as writer:
            # Another build may have replaced `output` since: the copy is what gets updated,
            # so the copy is what is checked and planned from.
            check_base(writer.temp_path, output)
            changes = plan_update(output, dumps, taxonomy, source=writer.temp_path)
            fresh_paths = {shown(dump.path) for _, dump in changes.fresh}
            Update(writer, changes, dumps, taxonomy, warn, progress).run()
            store_overview(writer)
            ours = [w for w in input_warnings if w.source in fresh_paths]
            store_input_warnings(writer, dumps, ours + file_warnings)
            finish_warnings(writer)
            stage("update")
            write_related(writer, related)
            stage("related_papers")
            result.files = len(dumps)
            (result.occurrences,) = writer.execute("SELECT count(*) FROM paper_listings").fetchone()
            (result.papers,) = writer.execute("SELECT count(*) FROM papers").fetchone()
            result.warnings = _stored_warnings(writer)
            writer.execute("DELETE FROM build_info")
            _write_build_info(writer, dumps, result, epoch)
            writer.commit()
            result.notes = writer.notes
            stage("commit")
    except FullBuildNeeded as exc:
        result.reason = str(exc)
        return False
    except sqlite3.DatabaseError as exc:
        # Damage the quick checks cannot see (they read no page of text) shows up here.
        if not (exc.sqlite_errorname or "").startswith("SQLITE_CORRUPT"):
            raise
        result.reason = f"{output} is damaged: {exc}"
        return False
    result.mode, result.reason = "incremental", changes.summary()
    return True


def _counts_from(output, result):
    conn = connect_read_only(output)
    try:
        info = dict(conn.execute("SELECT key, value FROM build_info"))
        result.files = int(info["listings"])
        result.occurrences = int(info["paper_occurrences"])
        result.papers = int(info["papers"])
        result.warnings = _stored_warnings(conn)
    finally:
        conn.close()


def _stored_warnings(db):
    """Every warning the database holds, as BuildWarnings (an incremental build's total)."""
    rows = db.execute(
        "SELECT listings.name, build_warnings.line, build_warnings.kind, build_warnings.message"
        " FROM build_warnings LEFT JOIN listings ON listings.id = build_warnings.listing_id"
        " ORDER BY build_warnings.id"
    ).fetchall()
    return [BuildWarning(name or "", line, kind, message) for name, line, kind, message in rows]


def store_input_warnings(writer, dumps, warnings):
    """Warnings about whole files (cp1252, skipped) go to build_warnings like the others."""
    listing_of = {shown(dump.path): listing_id for listing_id, dump in enumerate(dumps, start=1)}
    for warning in warnings:
        row = warning_row(listing_of.get(warning.source), warning.line, warning.kind, str(warning))
        add_warning(writer, row)


LATEST_EPOCH = 253402300799  # 9999-12-31T23:59:59Z: the last time the format can write


def _source_date_epoch():
    """SOURCE_DATE_EPOCH as an int, None when unset; BuildError when it is not a Unix time.

    reproducible-builds.org asks a tool to fail on a malformed value rather than guess.
    """
    text = os.environ.get("SOURCE_DATE_EPOCH", "")
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and int(text) <= LATEST_EPOCH):
        raise BuildError(
            f"SOURCE_DATE_EPOCH={text[:40]!r} is not a Unix time (whole seconds since "
            f"1970-01-01, at most {LATEST_EPOCH}); unset it or fix it"
        )
    return int(text)


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


def _write_build_info(writer, dumps, result, epoch):
    info = {
        "tool_version": __version__,
        "schema_version": str(schema_version()),
        "sqlite_version": sqlite3.sqlite_version,
        "listings": str(len(dumps)),
        "paper_occurrences": str(result.occurrences),
        "papers": str(result.papers),
        "warnings": str(len(result.warnings)),
    }
    if epoch is not None:
        # Only an explicit SOURCE_DATE_EPOCH puts a time in the file: builds stay reproducible.
        info["built_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    for dump in dumps:
        info[f"source_sha256:{dump.name}"] = dump.sha256
    writer.flush()
    # Every other table's rows too, so that `paperdb check` finds rows deleted from any table.
    for table in counted_tables(writer.db.conn):
        key = count_key(table)
        if key not in info:
            (rows,) = writer.execute(f'SELECT count(*) FROM "{table}"').fetchone()
            info[key] = str(rows)
    writer.executemany("INSERT INTO build_info (key, value) VALUES (?, ?)", sorted(info.items()))


__all__ = ["build", "BuildResult", "BuildWarning", "PaperdbError"]
