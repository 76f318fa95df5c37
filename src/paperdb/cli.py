"""The paperdb command: a thin layer that parses options and reports library errors."""

import functools
import json
import re
import shutil
import sqlite3
import sys
import time
from importlib import resources
from pathlib import Path

import click

from . import __version__
from .build import build
from .check import check_database
from .database import open_database
from .errors import PaperdbError, shown
from .related import related_papers
from .search import search as run_search
from .stats import link_counts, listing_counts, repositories, table_counts, topic_counts

DEFAULT_DB = "papers.db"
CHECKOUT_SEEDS = Path(__file__).resolve().parents[2] / "data" / "seeds"
SQLITE_MAX_INT = 2**63 - 1  # larger --limit or --min-papers values mean "no limit"

# What a terminal would act on instead of showing: C0 and C1 controls (escape sequences can
# retitle, recolour or redraw it), bidirectional overrides (they reorder what is shown), and
# lone surrogates (the bytes of a file name that is not UTF-8). Tabs and newlines stay.
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text):
    """`text` with everything a terminal would act on written out as an escape (\\x1b)."""
    return _UNPRINTABLE.sub(_escape, str(text))


def _escape(match):
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a file name that is not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def echo(text="", err=False):
    click.echo(printable(text), err=err)


def echo_json(value):
    """JSON on stdout; json.dumps already escapes C0 controls, this escapes the rest."""
    text = json.dumps(value, ensure_ascii=False, indent=2)
    click.echo(_UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


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
        line = printable(f"[{now - self.started:6.1f} s] {text}")[
            : shutil.get_terminal_size().columns - 1
        ]
        sys.stderr.write("\r" + line.ljust(self.width))
        sys.stderr.flush()
        self.width = len(line)

    def close(self):
        if self.enabled and self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()


def default_inputs():
    """The bundled dumps: ./data/seeds, else the checkout's copy beside this package, else
    the sample dumps the wheel carries (an installed paperdb has no checkout)."""
    local = Path("data") / "seeds"
    for folder in (local, CHECKOUT_SEEDS, packaged_seeds()):
        if folder is not None and folder.is_dir():
            return [folder]
    return [local]  # the error names the folder a user is told to fill


def packaged_seeds():
    """The wheel's copy of the sample dumps (pyproject.toml force-include), None if absent."""
    packaged = resources.files("paperdb").joinpath("seeds")
    # Only a folder on disk can be read as dumps (not one inside a zipped install).
    return Path(str(packaged)) if isinstance(packaged, Path) else None


def reports_errors(command):
    """Turn the library's own errors into a clean message and exit status 1.

    An SQLite error while reading a database that opened fine means the file is damaged
    (a bad page, a missing table): said as such, with what to run next.
    """

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except PaperdbError as exc:
            raise click.ClickException(printable(exc)) from None
        except sqlite3.Error as exc:
            db = shown(kwargs.get("db_path", DEFAULT_DB))
            raise click.ClickException(
                printable(
                    f"{db}: cannot read it, the database is damaged ({exc}); "
                    f"`paperdb check {db}` lists what is wrong, `paperdb build` makes a new one"
                )
            ) from None

    return wrapper


db_option = click.option(
    "--db",
    "db_path",
    default=DEFAULT_DB,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Database to read.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="paperdb")
def cli():
    """Turn Hugging Face "Daily Papers" listing dumps into one searchable SQLite file.

    Examples:

    \b
      paperdb build
      paperdb search "state space models"
      paperdb serve --open
    """


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
    "--force",
    is_flag=True,
    help="Replace the output even if it is another program's SQLite database "
    "(never an input dump, a text file or a device).",
)
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
@click.option(
    "--no-related",
    "no_related",
    is_flag=True,
    help="Leave the related_papers table empty (a faster build; see: paperdb related).",
)
@click.option("--strict", is_flag=True, help="Exit with status 2 if the build reported warnings.")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors (no summary, no progress).")
@reports_errors
def build_command(
    paths, output, skip_bad, force, topics_path, incremental, no_related, strict, quiet
):
    """Build a database from dump files and folders of *.txt dumps.

    With no PATHS, builds from ./data/seeds (in a checkout: its data/seeds; installed:
    the sample dumps that ship with paperdb). With --incremental, an
    existing output is brought up to date by reading only the dumps whose sha256 changed,
    and those added or removed; the result is the same as a full build. The output is
    replaced only if it is missing, empty or a paperdb database (a symlink's target is
    updated, its permissions kept).

    Examples:

    \b
      paperdb build
      paperdb build data/seeds extra/listing.txt -o papers.db
      paperdb build --incremental dumps/ -o papers.db
    """

    progress = ProgressLine(enabled=not quiet)

    def show_warning(warning):
        if not quiet:
            progress.close()
            echo(f"warning: {warning}", err=True)

    try:
        result = build(
            list(paths) or default_inputs(),
            output,
            skip_bad=skip_bad,
            taxonomy_file=topics_path,
            incremental=incremental,
            force=force,
            related=not no_related,
            on_warning=show_warning,
            on_progress=progress,
        )
    finally:
        progress.close()
    if not quiet:
        for note in result.notes:
            echo(f"note: {note}", err=True)
        for path in result.skipped:
            echo(f"skipped (not a .txt dump): {shown(path)}", err=True)
        if incremental:
            how = {"full": "full build", "incremental": "updated", "unchanged": "up to date"}
            echo(f"{how[result.mode]}: {result.reason}", err=True)
        verb = "Kept" if result.mode == "unchanged" else "Built"
        echo(
            f"{verb} {shown(result.output)}: {result.files} files, {result.occurrences} paper "
            f"occurrences, {result.papers} distinct papers, {len(result.warnings)} warnings "
            f"({result.seconds:.2f} s)"
        )
    if strict and result.warnings:
        sys.exit(2)


MATCH_NOTES = {"partial": ", some words missing", "related": ", related to the answers above"}


@cli.command("search")
@click.argument("query")
@db_option
@click.option(
    "--limit",
    default=10,
    show_default=True,
    type=click.IntRange(min=1, max=SQLITE_MAX_INT, clamp=True),
)
@click.option("--topic", "topic_slug", help="Only papers with this topic (see: paperdb topics).")
@click.option("--raw", is_flag=True, help="Pass QUERY to SQLite FTS5 unchanged (expert syntax).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array of hits.")
@reports_errors
def search_command(query, db_path, limit, topic_slug, raw, as_json):
    """Search titles and abstracts, best matches first.

    Anything can be typed: words, "quoted phrases", prefix* queries, acronyms (MoE finds
    "mixture of experts"). Matched words are marked [like this] in the snippet. Below the
    papers holding the query come those missing one of its words and those related to the
    best answers (paperdb related), each said so.

    Examples:

    \b
      paperdb search "state space models" --limit 5
      paperdb search mamba --json
      paperdb search --raw 'title:mamba NOT vision'
    """
    hits = run_search(open_database(db_path), query, limit=limit, topic=topic_slug, raw=raw)
    if as_json:
        echo_json([hit.as_dict() for hit in hits])
        return
    if not hits:
        echo("No results.", err=True)
        return
    for rank, hit in enumerate(hits, start=1):
        note = MATCH_NOTES.get(hit.match, "")
        echo(f"{rank}. {hit.title}  (score {hit.score:.2f}, id {hit.id}{note})")
        echo(f"   in: {', '.join(hit.listings)}")
        echo(f"   {hit.snippet}")
        echo()


@cli.command("related")
@click.argument("paper")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the paper and its related papers.")
@reports_errors
def related_command(paper, db_path, as_json):
    """Show the papers to read next after PAPER (its id, or its title or a part of it).

    Each comes with what the two share: distinctive words, topics, a repository, an
    acronym. They are computed by the build (the related_papers table).

    Examples:

    \b
      paperdb related 1234567890     # the paper's id
      paperdb related "Mamba: Linear-Time Sequence Modeling" --json
    """
    found = related_papers(open_database(db_path), paper)
    if as_json:
        echo_json(found)
        return
    echo(f"Related to: {found['title']}  (id {found['id']})")
    if not found["related"]:
        echo(f"No related papers. {found['note']}".rstrip(), err=True)
        return
    for row in found["related"]:
        echo(f"{row['rank']}. {row['title']}  (score {row['score']}, id {row['id']})")
        echo(f"   {row['reasons']}")


@cli.command("stats")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@reports_errors
def stats_command(db_path, as_json):
    """Show how many rows each table holds, and what each listing contributed.

    Examples:

    \b
      paperdb stats
      paperdb stats --db papers.db --json
    """
    db = open_database(db_path)
    tables, listings, links = table_counts(db), listing_counts(db), link_counts(db)
    if as_json:
        echo_json({"tables": tables, "listings": listings, "links": links})
        return
    echo("Tables:")
    for name, count in tables.items():
        # Counts end in one column, a long table name taking from the count's padding.
        echo(f"  {name} {count:>{max(24 - len(name), 1)}}")
    echo("Links:")
    for name, count in links.items():
        echo(f"  {name:<28} {count:>6}")
    echo("Listings:")
    for row in listings:
        date = row["date_label"] or "-"
        echo(
            f"  {row['name']:<32} {row['page_kind']:<8} {date:<8} "
            f"{row['papers']:>5} papers  {row['warnings']:>3} warnings"
        )


@cli.command("repos")
@db_option
@click.option(
    "--min-papers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1, max=SQLITE_MAX_INT, clamp=True),
    help="Only repositories mentioned by at least this many papers.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@reports_errors
def repos_command(db_path, min_papers, as_json):
    """List the GitHub repositories that papers mention, most-mentioned first.

    Examples:

    \b
      paperdb repos
      paperdb repos --min-papers 2 --json
    """
    rows = repositories(open_database(db_path), min_papers=min_papers)
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        echo(f"{row['papers']:>4} papers {row['listings']:>3} listings  {row['url']}")


@cli.command("topics")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@reports_errors
def topics_command(db_path, as_json):
    """List topics with how many papers each holds, children under their parent.

    Examples:

    \b
      paperdb topics
      paperdb topics --db papers.db --json
    """
    rows = topic_counts(open_database(db_path))
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        indent = "    " if row["parent"] else ""
        echo(f"{row['papers']:>6}  {indent}{row['slug']}  ({row['name']})")


@cli.command("check")
@click.argument("db_argument", required=False, type=click.Path(dir_okay=False), metavar="[DB]")
@db_option
def check_command(db_argument, db_path):
    """Check a papers.db: SQLite and FTS5 integrity, the schema, foreign keys, counts.

    Exits with status 1 and one line per problem if anything is wrong. The database is
    given with --db, as to every command (or, as before, as an argument).

    Examples:

    \b
      paperdb check
      paperdb check --db papers.db
    """
    db_path = db_argument or db_path
    problems = check_database(db_path)
    if problems:
        for problem in problems:
            echo(f"problem: {problem}", err=True)
        raise click.ClickException(printable(f"{shown(db_path)}: {len(problems)} problem(s) found"))
    echo(f"{shown(db_path)}: ok")


@cli.command("serve")
@db_option
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--open", "open_browser", is_flag=True, help="Open the home page in a browser.")
@reports_errors
def serve_command(db_path, port, host, open_browser):
    """Browse a papers.db in Datasette: search, paper, topic and repository pages.

    Needs Datasette: pip install 'paperdb[datasette]'.

    Examples:

    \b
      paperdb serve --open
      paperdb serve --db papers.db --port 8002
    """
    from .serve import serve

    serve(db_path, port=port, host=host, open_browser=open_browser)
