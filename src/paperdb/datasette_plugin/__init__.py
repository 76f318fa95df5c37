"""paperdb's Datasette plugin: the search people get in Datasette is `paperdb search`'s.

Installed with paperdb (the `datasette` entry point in pyproject.toml), so `datasette
papers.db` with paperdb beside it needs nothing more:
- every connection gets `paperdb_search(query, limit[, topic])`, which runs the library's
  search (search.py) on that connection and returns its hits as a JSON array;
- the `search` canned query is that function's hits, in its order, with the marked snippet
  (it replaces the plain-SQL version in datasette/metadata.yml, which serves Datasette
  without the plugin);
- a search typed into the papers table's search box goes to that canned query, so it is
  ranked best first, not sorted by the table's default order;
- every paperdb database, whatever its file is called, gets the metadata of metadata.yml
  (beside this file) through `get_metadata`: no `-m` needed;
- pages that read like a paper site (templates/ beside this file; pages.py reads their data):
  a home page (the database page) with a search box, the topic tree and the most cited
  repositories; a page per paper, topic and repository (their row pages); ids as links and
  long text cut short in tables (`render_cell`);
- topic and listing facets that count through paper_topics and paper_listings, with their
  filters `?_topic=SLUG` and `?_listing=NAME` (facets.py): Datasette's array facet timed
  out at 100k papers.
"""

import copy
import json
import sqlite3
import urllib.parse
from pathlib import Path

import yaml
from markupsafe import Markup

from datasette import hookimpl

from ..database import connect_read_only, identify
from ..search import SearchError, search
from . import pages
from .facets import ListingFacet, TopicFacet, relation_filters

METADATA_PATH = Path(__file__).with_name("metadata.yml")
# The metadata's database section is written for papers.db; it is given to every paperdb
# file under its own name.
METADATA_DATABASE = "papers"
TABLE_TEXT_LIMIT = 240
ROW_PAGES = {"papers": pages.paper, "topics": pages.topic, "repos": pages.repo}
# Columns of views and queries that hold an id of another table, and that table.
ID_COLUMNS = {"paper_id": "papers", "repo_id": "repos", "topic_id": "topics"}
VIEW_IDS = {
    "paper_overview": "papers",
    "papers_without_code": "papers",
    "repo_mentions": "repos",
    "topic_counts": "topics",
}

SEARCH_LIMIT = 20
MAX_LIMIT = 1000

SEARCH_SQL = f"""select
  hit.key + 1 as rank,
  papers.id,
  papers.title,
  json_extract(hit.value, '$.snippet') as snippet,
  json_extract(hit.value, '$.score') as score,
  json_extract(hit.value, '$.match') as match
from json_each(paperdb_search(:q, {SEARCH_LIMIT})) as hit
join papers on papers.id = json_extract(hit.value, '$.id')
order by hit.key"""


def search_json(conn, text, limit=SEARCH_LIMIT, topic=None):
    """The hits of `paperdb search` for `text` on `conn`, as the JSON the SQL function returns.

    An unknown topic or a query that cannot run gives no hits (SQL has no good way to show
    a message); anything typed is otherwise searched as the CLI searches it.
    """
    if text is None:
        return "[]"
    try:
        limit = max(0, min(int(limit), MAX_LIMIT))
    except (TypeError, ValueError):
        limit = SEARCH_LIMIT
    try:
        hits = search(conn, str(text), limit=limit, topic=topic or None)
    except SearchError:
        return "[]"
    rows = [
        {"id": hit.id, "score": hit.score, "snippet": hit.snippet, "match": hit.match}
        for hit in hits
    ]
    return json.dumps(rows, ensure_ascii=False)


def is_paperdb(conn):
    """A paperdb file (database.identify), with the full-text index the pages search."""
    found = identify(conn)
    return found.ours and found.tables >= {"papers_fts", "paper_listings"}


_metadata = None
_known = {}  # (database name, path) -> is it a paperdb file


def package_metadata():
    global _metadata
    if _metadata is None:
        _metadata = yaml.safe_load(METADATA_PATH.read_text(encoding="utf-8"))
    return _metadata


def _is_paperdb_database(datasette, name):
    """Asked synchronously (get_metadata is not async), once per file: a read-only peek."""
    db = datasette.databases.get(name)
    if db is None or db.is_memory or not db.path:
        return False
    key = (name, db.path)
    if key not in _known:
        try:
            conn = connect_read_only(db.path)
            try:
                _known[key] = is_paperdb(conn)
            finally:
                conn.close()
        except sqlite3.Error:
            _known[key] = False
    return _known[key]


def paperdb_databases(datasette):
    return [name for name in datasette.databases if _is_paperdb_database(datasette, name)]


@hookimpl
def get_metadata(datasette, key, database, table):
    names = paperdb_databases(datasette)
    if not names:
        return {}
    metadata = package_metadata()
    merged = {k: v for k, v in metadata.items() if k != "databases"}
    section = metadata["databases"][METADATA_DATABASE]
    merged["databases"] = {name: copy.deepcopy(section) for name in names}
    return merged


@hookimpl
def extra_css_urls(datasette):
    return [datasette.urls.static_plugins("paperdb", "paperdb.css")]


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    if view_name == "index":
        return {"paperdb_databases": paperdb_databases(datasette)}
    if database is None or not _is_paperdb_database(datasette, database):
        return {}
    db = datasette.get_database(database)
    if view_name == "database":

        async def home():
            return {"paperdb_home": await db.execute_fn(pages.home)}

        return home
    if view_name == "row" and table in ROW_PAGES and request is not None:
        read = ROW_PAGES[table]
        pks = request.url_vars.get("pks", "")

        async def row_page():
            try:
                row_id = int(pks)
            except ValueError:
                return {}
            page = await db.execute_fn(lambda conn: read(conn, row_id))
            return {"paperdb_page": table, "paperdb": page} if page else {}

        return row_page
    return {}


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if not _is_paperdb_database(datasette, database):
        return None
    target = None
    if isinstance(value, int) and not isinstance(value, bool):
        if column in ID_COLUMNS and table is None:
            target = ID_COLUMNS[column]
        elif column == "id" and table in VIEW_IDS:
            target = VIEW_IDS[table]
        elif column == "id" and table is None and "title" in row.keys():  # noqa: SIM118 (a Row: `in` reads values)
            # A query's papers: every canned query names a paper's id and title so.
            target = "papers"
    if target is not None:
        url = datasette.urls.row(database, target, str(value))
        return Markup('<a href="{}">{}</a>').format(url, value)
    if column == "full_name" and table is None and "url" in row.keys():  # noqa: SIM118
        url = row["url"]
        if isinstance(url, str) and url.startswith("https://github.com/"):
            return Markup('<a href="{}" rel="nofollow noopener">{}</a>').format(url, value)
    if column == "topics" and table in ("papers", "paper_overview") and isinstance(value, str):
        return _topic_links(datasette, database, table, value)
    if column == "abstract" and isinstance(value, str) and len(value) > TABLE_TEXT_LIMIT:
        return pages.truncate(value, TABLE_TEXT_LIMIT)
    return None


@hookimpl
def prepare_connection(conn):
    conn.create_function("paperdb_search", 2, lambda text, limit: search_json(conn, text, limit))
    conn.create_function(
        "paperdb_search",
        3,
        lambda text, limit, topic: search_json(conn, text, limit, topic),
    )


@hookimpl
def canned_queries(datasette, database):
    async def queries():
        db = datasette.get_database(database)
        if not await db.execute_fn(is_paperdb):
            return {}
        return {
            "search": {
                "title": "Search papers",
                "description": (
                    'Ranked like `paperdb search`: words, "phrases", prefix*, acronyms '
                    "and their long forms, hyphen variants; best first, with a snippet. "
                    "Below the answers: papers missing a word (match: partial) and papers "
                    "related to the best answers (match: related)."
                ),
                "sql": SEARCH_SQL,
                "hide_sql": True,
            }
        }

    return queries


@hookimpl
def asgi_wrapper(datasette):
    """A search typed into the papers table page goes to the ranked canned query."""

    def wrap(app):
        async def redirect_table_search(scope, receive, send):
            target = _ranked_search_url(scope) if scope.get("type") == "http" else None
            if target is not None and not await _has_ranked_search(datasette, target):
                target = None
            if target is None:
                await app(scope, receive, send)
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": 302,
                    "headers": [[b"location", target.encode()], [b"content-length", b"0"]],
                }
            )
            await send({"type": "http.response.body", "body": b""})

        return redirect_table_search

    return wrap


def _topic_links(datasette, database, table, value):
    """A stored JSON array of slugs as links to the table filtered to each topic."""
    try:
        slugs = json.loads(value)
    except ValueError:
        return None
    if not isinstance(slugs, list):
        return None
    base = datasette.urls.table(database, table)
    # On papers, the topic filter goes through paper_topics' index (facets.py); a view has
    # only Datasette's own JSON filter.
    key = "_topic" if table == "papers" else "topics__arraycontains"
    return Markup(", ").join(
        Markup('<a href="{}?{}">{}</a>').format(base, urllib.parse.urlencode({key: slug}), slug)
        for slug in slugs
        if isinstance(slug, str)
    )


async def _has_ranked_search(datasette, target):
    name = urllib.parse.unquote(target.split("/")[1])
    if name not in datasette.databases:
        return False
    return await datasette.get_canned_query(name, "search", None) is not None


def _ranked_search_url(scope):
    """/DB/search?q=... for an HTML page of /DB/papers?_search=..., else None.

    Only the HTML table page: its JSON, and searches combined with other filters or an
    explicit sort, stay Datasette's own.
    """
    parts = scope.get("path", "").strip("/").split("/")
    if len(parts) != 2 or parts[1] != "papers" or scope.get("method") != "GET":
        return None
    params = urllib.parse.parse_qsl(scope.get("query_string", b"").decode("latin-1"))
    names = {name for name, _ in params}
    if names != {"_search"}:
        return None
    query = dict(params)["_search"]
    if not query.strip():
        return None
    return f"/{parts[0]}/search?" + urllib.parse.urlencode({"q": query})


@hookimpl
def register_facet_classes():
    return [TopicFacet, ListingFacet]


@hookimpl
def filters_from_request(request, table):
    return relation_filters(request, table)
