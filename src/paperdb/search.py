"""Full-text search over papers.db: one function serves the CLI and the library."""

import re
from dataclasses import asdict, dataclass

SNIPPET_TOKENS = 24
TITLE_WEIGHT, ABSTRACT_WEIGHT = 10.0, 1.0
MARK_START, MARK_END = "[", "]"

SEARCH_SQL = f"""
SELECT papers.id, papers.title,
       snippet(papers_fts, 1, '{MARK_START}', '{MARK_END}', '…', {SNIPPET_TOKENS}) AS snippet,
       bm25(papers_fts, {TITLE_WEIGHT}, {ABSTRACT_WEIGHT}) AS rank
FROM papers_fts JOIN papers ON papers.id = papers_fts.rowid
WHERE papers_fts MATCH :query
ORDER BY rank
LIMIT :limit
"""

_CHUNK = re.compile(r"\S+")


@dataclass
class Hit:
    id: int
    title: str
    snippet: str
    score: float  # higher is better: the negated bm25 rank
    listings: list

    def as_dict(self):
        return asdict(self)


def to_fts_query(text):
    """Make any typed text a safe FTS5 query: every word becomes a quoted phrase.

    Quoting keeps FTS5 operators, hyphens, colons and parentheses from being read as
    syntax; a trailing '*' stays outside the quotes, so it is still a prefix query.
    """
    terms = []
    for chunk in _CHUNK.findall(text):
        prefix = chunk.endswith("*") and chunk.rstrip("*") != ""
        word = chunk.rstrip("*") if prefix else chunk
        if not any(ch.isalnum() for ch in word):
            continue
        quoted = '"' + word.replace('"', '""') + '"'
        terms.append(quoted + "*" if prefix else quoted)
    return " ".join(terms)


def search(db, text, limit=20):
    """Ranked hits for what a user typed; an empty or punctuation-only query finds nothing."""
    query = to_fts_query(text)
    if not query or limit <= 0:
        return []
    rows = db.execute(SEARCH_SQL, {"query": query, "limit": limit}).fetchall()
    listings = _listings_of(db, [row[0] for row in rows])
    return [
        Hit(id=pid, title=title, snippet=snippet, score=round(-rank, 4), listings=listings[pid])
        for pid, title, snippet, rank in rows
    ]


def _listings_of(db, paper_ids):
    found = {pid: [] for pid in paper_ids}
    if not paper_ids:
        return found
    marks = ", ".join("?" for _ in paper_ids)
    rows = db.execute(
        "SELECT paper_listings.paper_id, listings.name FROM paper_listings"
        " JOIN listings ON listings.id = paper_listings.listing_id"
        f" WHERE paper_listings.paper_id IN ({marks})"
        " ORDER BY listings.id, paper_listings.position",
        paper_ids,
    )
    for pid, name in rows:
        if name not in found[pid]:
            found[pid].append(name)
    return found
