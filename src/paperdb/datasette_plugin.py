"""paperdb's Datasette plugin: the search people get in Datasette is `paperdb search`'s.

Installed with paperdb (the `datasette` entry point in pyproject.toml), so `datasette
papers.db` with paperdb beside it needs nothing more:
- every connection gets `paperdb_search(query, limit[, topic])`, which runs the library's
  search (search.py) on that connection and returns its hits as a JSON array;
- the `search` canned query is that function's hits, in its order, with the marked snippet
  (it replaces the plain-SQL version in datasette/metadata.yml, which serves Datasette
  without the plugin);
- a search typed into the papers table's search box goes to that canned query, so it is
  ranked best first, not sorted by the table's default order.
"""

import json
import urllib.parse

from datasette import hookimpl

from .search import SearchError, search

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
    names = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
    return {"papers", "papers_fts", "paper_listings"} <= names


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
                    "and their long forms, hyphen variants; best first, with a snippet."
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
