"""The paperdb command: a thin layer that parses options and reports library errors."""

import functools
import json
import shutil
import sys
import time
from pathlib import Path

import click

from . import __version__
from .build import build
from .check import check_database
from .database import open_database
from .errors import PaperdbError
from .search import search as run_search
from .stats import link_counts, listing_counts, repositories, table_counts, topic_counts

DEFAULT_DB = "papers.db"
CHECKOUT_SEEDS = Path(__file__).resolve().parents[2] / "data" / "seeds"


class ProgressLine:
    """One self-overwriting status line on stderr, for builds that take a while.

    Silent unless stderr is a terminal; appears only after SHOW_AFTER seconds, so quick
    builds print nothing extra; redraws at most ten times a second.
    """

    SHOW_AFTER = 2.0

    def __init__(self, enabled):
        self.enabled = enabled and sys.stderr.isatty()
        self.started = time.monotonic()
        self.drawn_at = 0.0
        self.width = 0

    def __call__(self, text):
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.started < self.SHOW_AFTER or now - self.drawn_at < 0.1:
            return
        self.drawn_at = now
        line = f"[{now - self.started:6.1f} s] {text}"[: shutil.get_terminal_size().columns - 1]
        sys.stderr.write("\r" + line.ljust(self.width))
        sys.stderr.flush()
        self.width = len(line)

    def close(self):
        if self.enabled and self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()


def default_inputs():
    """The bundled dumps: ./data/seeds, else the checkout's copy beside this package."""
    local = Path("data") / "seeds"
    return [local if local.is_dir() else CHECKOUT_SEEDS]


def reports_errors(command):
    """Turn the library's own errors into a clean message and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except PaperdbError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


db_option = click.option(
    "--db",
    "db_path",
    default=DEFAULT_DB,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Database to read.",
)


@click.group()
@click.version_option(__version__, prog_name="paperdb")
def cli():
    """Turn Hugging Face "Daily Papers" listing dumps into one searchable SQLite file."""


@cli.command("build")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    default=DEFAULT_DB,
    show_default=True,
    type=click.Path(path_type=Path),
    help="Database file to write (replaced atomically).",
)
@click.option("--skip-bad", is_flag=True, help="Skip unusable input files instead of failing.")
@click.option(
    "--topics",
    "topics_path",
    type=click.Path(path_type=Path),
    help="Topic taxonomy (TOML) to use instead of the bundled one.",
)
@click.option(
    "--incremental",
    is_flag=True,
    help="Update an existing output, reading only new, changed or removed dumps.",
)
@click.option("--strict", is_flag=True, help="Exit with status 2 if the build reported warnings.")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors (no summary, no progress).")
@reports_errors
def build_command(paths, output, skip_bad, topics_path, incremental, strict, quiet):
    """Build a database from dump files and folders of *.txt dumps.

    With no PATHS, builds from the bundled dumps in data/seeds. With --incremental, an
    existing output is brought up to date by reading only the dumps whose sha256 changed,
    and those added or removed; the result is the same as a full build. Examples:

        paperdb build data/seeds extra/listing.txt -o papers.db

        paperdb build --incremental dumps/ -o papers.db
    """

    progress = ProgressLine(enabled=not quiet)

    def show_warning(warning):
        if not quiet:
            progress.close()
            click.echo(f"warning: {warning}", err=True)

    try:
        result = build(
            list(paths) or default_inputs(),
            output,
            skip_bad=skip_bad,
            topics=topics_path,
            incremental=incremental,
            on_warning=show_warning,
            on_progress=progress,
        )
    finally:
        progress.close()
    if not quiet:
        for path in result.skipped:
            click.echo(f"skipped (not a .txt dump): {path}", err=True)
        if incremental:
            how = {"full": "full build", "incremental": "updated", "unchanged": "up to date"}
            click.echo(f"{how[result.mode]}: {result.reason}", err=True)
        verb = "Kept" if result.mode == "unchanged" else "Built"
        click.echo(
            f"{verb} {result.output}: {result.files} files, {result.occurrences} paper "
            f"occurrences, {result.papers} distinct papers, {len(result.warnings)} warnings "
            f"({result.seconds:.2f} s)"
        )
    if strict and result.warnings:
        sys.exit(2)


@cli.command("search")
@click.argument("query")
@db_option
@click.option("--limit", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--topic", "topic_slug", help="Only papers with this topic (see: paperdb topics).")
@click.option("--raw", is_flag=True, help="Pass QUERY to SQLite FTS5 unchanged (expert syntax).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array of hits.")
@reports_errors
def search_command(query, db_path, limit, topic_slug, raw, as_json):
    """Search titles and abstracts, best matches first.

    Anything can be typed: words, "quoted phrases", prefix* queries, acronyms (MoE finds
    "mixture of experts"). Matched words are marked [like this] in the snippet. Examples:

        paperdb search "state space models" --limit 5

        paperdb search --raw 'title:mamba NOT vision'
    """
    hits = run_search(open_database(db_path), query, limit=limit, topic=topic_slug, raw=raw)
    if as_json:
        click.echo(json.dumps([hit.as_dict() for hit in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        click.echo("No results.", err=True)
        return
    for rank, hit in enumerate(hits, start=1):
        partial = ", some words missing" if hit.match == "partial" else ""
        click.echo(f"{rank}. {hit.title}  (score {hit.score:.2f}, id {hit.id}{partial})")
        click.echo(f"   in: {', '.join(hit.listings)}")
        click.echo(f"   {hit.snippet}")
        click.echo()


@cli.command("stats")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@reports_errors
def stats_command(db_path, as_json):
    """Show how many rows each table holds, and what each listing contributed.

    paperdb stats --db papers.db
    """
    db = open_database(db_path)
    tables, listings, links = table_counts(db), listing_counts(db), link_counts(db)
    if as_json:
        click.echo(json.dumps({"tables": tables, "listings": listings, "links": links}, indent=2))
        return
    click.echo("Tables:")
    for name, count in tables.items():
        click.echo(f"  {name:<16} {count:>8}")
    click.echo("Links:")
    for name, count in links.items():
        click.echo(f"  {name:<28} {count:>6}")
    click.echo("Listings:")
    for row in listings:
        date = row["date_label"] or "-"
        click.echo(
            f"  {row['name']:<32} {row['page_kind']:<8} {date:<8} "
            f"{row['papers']:>5} papers  {row['warnings']:>3} warnings"
        )


@cli.command("repos")
@db_option
@click.option(
    "--min-papers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Only repositories mentioned by at least this many papers.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@reports_errors
def repos_command(db_path, min_papers, as_json):
    """List the GitHub repositories that papers mention, most-mentioned first.

    paperdb repos --min-papers 2
    """
    rows = repositories(open_database(db_path), min_papers=min_papers)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['papers']:>4} papers {row['listings']:>3} listings  {row['url']}")


@cli.command("topics")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@reports_errors
def topics_command(db_path, as_json):
    """List topics with how many papers each holds, children under their parent.

    paperdb topics
    """
    rows = topic_counts(open_database(db_path))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        indent = "    " if row["parent"] else ""
        click.echo(f"{row['papers']:>6}  {indent}{row['slug']}  ({row['name']})")


@cli.command("check")
@click.argument("db_path", default=DEFAULT_DB, type=click.Path(dir_okay=False))
def check_command(db_path):
    """Check a papers.db: SQLite and FTS5 integrity, foreign keys, and that counts agree.

    Exits with status 1 and one line per problem if anything is wrong. Example:

        paperdb check papers.db
    """
    problems = check_database(db_path)
    if problems:
        for problem in problems:
            click.echo(f"problem: {problem}", err=True)
        raise click.ClickException(f"{db_path}: {len(problems)} problem(s) found")
    click.echo(f"{db_path}: ok")
