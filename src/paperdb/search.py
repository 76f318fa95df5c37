"""Full-text search over papers.db: one function serves the CLI and the library."""

import re
from dataclasses import asdict, dataclass

from .errors import PaperdbError

SNIPPET_TOKENS = 24
TITLE_WEIGHT, ABSTRACT_WEIGHT = 10.0, 1.0
MARK_START, MARK_END = "[", "]"

SEARCH_SQL = f"""
SELECT papers.id, papers.title,
       snippet(papers_fts, 1, '{MARK_START}', '{MARK_END}', '…', {SNIPPET_TOKENS}) AS snippet,
       bm25(papers_fts, {TITLE_WEIGHT}, {ABSTRACT_WEIGHT}) AS rank
FROM papers_fts JOIN papers ON papers.id = papers_fts.rowid
WHERE papers_fts MATCH :query
  AND (:topic IS NULL OR papers.id IN (
      SELECT paper_id FROM paper_topics JOIN topics ON topics.id = paper_topics.topic_id
      WHERE topics.slug = :topic))
ORDER BY rank
LIMIT :limit
"""

_CHUNK = re.compile(r"\S+")


class SearchError(PaperdbError):
    """A search that cannot run as asked (unknown topic, bad raw FTS5 syntax)."""


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


def search(db, text, limit=20, topic=None):
    """Ranked hits for what a user typed; an empty or punctuation-only query finds nothing.

    `topic` (a slug) keeps only papers with that topic; an unknown slug is an error.
    """
    if (
        topic is not None
        and not db.execute("SELECT 1 FROM topics WHERE slug = ?", [topic]).fetchone()
    ):
        raise SearchError(f"no topic {topic!r} (paperdb topics lists them)")
    query = to_fts_query(text)
    if not query or limit <= 0:
        return []
    params = {"query": query, "limit": limit, "topic": topic}
    rows = db.execute(SEARCH_SQL, params).fetchall()
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
