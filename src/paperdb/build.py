"""The whole build: read dumps -> acronym definitions (harvest.py) -> parse and fold papers
(papers.py) with their topics, search aliases and links (extract.py, written by facts.py)
-> full-text index -> related papers (related.py) -> finalize.

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
from .errors import BuildError, InputError, PaperdbError, shown
from .extract import TopicsAndAliases
from .facts import FactWriter
from .harvest import count_acronyms, harvest_acronyms, write_acronyms
from .incremental import FullBuildNeeded, Update, check_base, plan_update
from .output import claim
from .overview import papers_select, store_overview
from .papers import StreamingFold, add_warning, finish_warnings, warning_row
from .parallel import ExtractionQueue, default_workers
from .reader import discover, inspect
from .related import ReadAhead, has_related, write_related
from .schema import schema_version
from .topics import load_taxonomy, write_topics
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
    taxonomy_file=None,
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
    `taxonomy_file` is a topics TOML file (default: the bundled one). With `incremental`, an
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
    run = _Run(Path(output), taxonomy_file, force, related, on_warning, on_progress)
    found = discover(inputs)
    run.result.skipped = found.skipped
    run.inputs = [path for path, _ in found.files]
    claim(run.output, run.inputs, force)  # refuse early; the writer checks again at the end
    run.dumps = _inspect_all(found.files, skip_bad, run.warn)
    if not run.dumps:
        raise BuildError("no dump files to build from (looked for *.txt in the inputs given)")
    run.input_warnings = list(run.result.warnings)
    run.stage("inspect")
    try:
        reason = _update(run) if incremental else None
        if incremental and reason is None:
            run.result.seconds = time.perf_counter() - started
            return run.result
        run.result.reason = reason or ""
        _full_build(run, workers)
    except sqlite3.Error as exc:
        raise _database_error(run.output, exc) from None
    except OSError as exc:
        raise BuildError(f"{run.output}: {exc.strerror or exc}") from None
    run.result.seconds = time.perf_counter() - started
    return run.result


class _Run:
    """What one build works with: its output, inputs, taxonomy, and where it reports."""

    def __init__(self, output, taxonomy_file, force, related, on_warning, on_progress):
        self.output, self.force, self.related = output, force, related
        self.taxonomy_file = taxonomy_file  # as given (None: the bundled one)
        self.taxonomy = load_taxonomy(taxonomy_file)
        self.result = BuildResult(output=output)
        self.on_warning = on_warning
        self.progress = on_progress or (lambda text: None)
        self.stage = _Stopwatch(self.result.timings)
        self.epoch = _source_date_epoch()
        self.inputs, self.dumps, self.input_warnings = [], [], []

    def warn(self, source, line, kind, message):
        warning = BuildWarning(shown(source), line, kind, message)
        self.result.warnings.append(warning)
        if self.on_warning:
            self.on_warning(warning)


def _full_build(run, workers):
    """Every dump read and every table written, into a new file that replaces `output`."""
    result, dumps, progress, stage = run.result, run.dumps, run.progress, run.stage
    del result.warnings[len(run.input_warnings) :]  # an update that gave up may have added some
    with DatabaseWriter(run.output, inputs=run.inputs, force=run.force) as writer:
        write_topics(writer, run.taxonomy)
        listings = list(enumerate(dumps, start=1))
        harvest_acronyms(writer, listings, progress)
        expansions = write_acronyms(writer, count_acronyms(writer))
        stage("acronyms")
        input_bytes = sum(dump.bytes for dump in dumps)
        expected_papers = input_bytes // BYTES_PER_PAPER + 1000
        facts = FactWriter(
            writer, lambda: TopicsAndAliases(run.taxonomy, expansions), expected_papers // 4
        )
        if workers is None:
            workers = default_workers(input_bytes)
        queue = ExtractionQueue(facts, workers, run.taxonomy_file, expansions)
        try:
            for table, key in STAGED:
                writer.stage(table, key)
            folded = StreamingFold(writer, run.warn, queue, progress, expected_papers)
            for listing_id, dump in listings:
                progress(f"reading {dump.name} ({listing_id}/{len(dumps)} files)")
                folded.add_dump(listing_id, dump)
            store_input_warnings(writer, dumps, run.input_warnings)
            folded.finish()
        finally:
            queue.close()
        for table, _ in STAGED:  # papers first: its overview columns read paper_topics staged
            writer.unstage(table, papers_select(writer) if table == "papers" else "*")
        stage("papers_links_topics")
        progress(f"building the full-text index of {folded.papers:,} papers")
        writer.commit_rows()
        # Read beside the index build, which leaves a core free (docs/RELATED.md).
        ahead = ReadAhead(writer.temp_path) if run.related else None
        try:
            writer.index_full_text(on_built=ahead.index_built if ahead else None)
        finally:
            if ahead:
                ahead.index_built(None)  # the build failed before it: the thread ends
        stage("full_text_index")
        progress("finding related papers")
        write_related(writer, run.related, ahead=ahead)
        stage("related_papers")
        result.files = len(dumps)
        result.occurrences = folded.occurrences
        result.papers = folded.papers
        _write_build_info(writer, dumps, result, run.epoch, run.related)
        writer.commit()
        result.notes = writer.notes
        stage("commit")


def _update(run):
    """Update `output` from the dumps that changed, in place of a full build.

    None when done (result.mode says 'incremental' or 'unchanged'), else the reason a full
    build is needed.
    """
    output, dumps, result = run.output, run.dumps, run.result
    if not output.is_file():
        return f"no {output} to update yet"
    dump_paths = {shown(dump.path) for dump in dumps}
    file_warnings = [w for w in run.input_warnings if w.source not in dump_paths]
    try:
        # Planned from `output` itself only to learn that nothing changed: then no copy is made.
        changes = plan_update(output, dumps, run.taxonomy)
        if (
            changes.nothing
            and sorted(map(str, file_warnings)) == changes.file_warnings
            and has_related(output) == run.related
        ):
            check_base(output, output)
            result.mode, result.reason = "unchanged", "no dump changed"
            _counts_from(output, result)
            return None
        with DatabaseWriter(output, update=True, inputs=run.inputs, force=run.force) as writer:
            # Another build may have replaced `output` since: the copy is what gets updated,
            # so the copy is what is checked and planned from.
            check_base(writer.temp_path, output)
            changes = plan_update(output, dumps, run.taxonomy, source=writer.temp_path)
            fresh_paths = {shown(dump.path) for _, dump in changes.fresh}
            update = Update(
                writer, changes, dumps, run.taxonomy, run.warn, run.progress, related=run.related
            )
            update.run()
            store_overview(writer, update.replayed)
            ours = [w for w in run.input_warnings if w.source in fresh_paths]
            store_input_warnings(writer, dumps, ours + file_warnings)
            finish_warnings(writer)
            run.stage("update")
            write_related(writer, run.related, update.related_changes, run.progress)
            run.stage("related_papers")
            result.files = len(dumps)
            (result.occurrences,) = writer.execute("SELECT count(*) FROM paper_listings").fetchone()
            (result.papers,) = writer.execute("SELECT count(*) FROM papers").fetchone()
            result.warnings = _stored_warnings(writer)
            writer.execute("DELETE FROM build_info")
            _write_build_info(writer, dumps, result, run.epoch, run.related)
            writer.commit()
            result.notes = writer.notes
            run.stage("commit")
    except FullBuildNeeded as exc:
        return str(exc)
    except sqlite3.DatabaseError as exc:
        # Damage the quick checks cannot see (they read no page of text) shows up here.
        if (exc.sqlite_errorname or "").startswith("SQLITE_CORRUPT"):
            return f"{output} is damaged: {exc}"
        raise
    result.mode, result.reason = "incremental", changes.summary()
    return None


def _database_error(output, exc):
    """The BuildError for an SQLite error while writing `output`."""
    where = ""
    if getattr(exc, "sqlite_errorname", None) == "SQLITE_FULL":
        # The staged tables (DatabaseWriter.stage) grow in SQLite's temporary folder.
        where = (
            f" (in {output.parent}, or in SQLite's temporary folder:"
            " SQLITE_TMPDIR, TMPDIR or /var/tmp)"
        )
    return BuildError(f"{output}: database error while building: {exc}{where}")


class _Stopwatch:
    """stage(name) records the seconds since the previous call under `name`."""

    def __init__(self, timings):
        self.timings = timings
        self.last = time.perf_counter()

    def __call__(self, name):
        now = time.perf_counter()
        self.timings[name] = round(now - self.last, 3)
        self.last = now


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


def _write_build_info(writer, dumps, result, epoch, related):
    info = {
        "related": "yes" if related else "no",  # --no-related, told apart from "none found"
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
    # Every other table's rows too, so that `paperdb check` finds rows deleted from any table.
    for table in counted_tables(writer.read_connection()):
        key = count_key(table)
        if key not in info:
            (rows,) = writer.execute(f'SELECT count(*) FROM "{table}"').fetchone()
            info[key] = str(rows)
    writer.executemany("INSERT INTO build_info (key, value) VALUES (?, ?)", sorted(info.items()))


__all__ = ["build", "BuildResult", "BuildWarning", "PaperdbError"]
