"""Full-text search over papers.db: one function serves the CLI, the library and the eval.

What a user types is turned into a safe FTS5 query (no syntax error can reach them):
- every word is quoted; a trailing * makes a prefix query; "quoted words" are a phrase;
- a hyphenated word matches written apart or together: pre-training finds "pre-training",
  "pre training" and "pretraining" (and pretraining finds all three, since the index
  carries joined forms of hyphenated words in papers.aliases);
- morphology comes from the porter tokenizer (distilling ~ distillation);
- acronyms and their long forms find each other through papers.aliases, which any
  SQLite client searches too.
The terms are ranked by ranking.py: a soft AND over their idf weight, so a paper missing a
word can still be a hit (match="partial"), and so can a paper related to the best answers
(match="related"), while a query about something absent finds nothing, because its rare
words match nowhere. `raw` queries are FTS5's own, ranked by bm25
with the column weights.

The work of a query is bounded whatever its length: a repeated word counts once, and a long
query (a pasted abstract) is searched by its MAX_TERMS rarest terms, so a search runs a
bounded number of SQL statements over a bounded number of terms.
"""

import itertools
import re
import sqlite3
from dataclasses import asdict, dataclass

from .errors import SearchError
from .ranking import BM25, COLUMN_WEIGHTS, TOPIC_FILTER, prefix_fts, rank
from .ranking import quote as _quote

SNIPPET_TOKENS = 24
WEIGHTS = COLUMN_WEIGHTS  # title, abstract, aliases (ranking.py says why they are kept in step)
MARK_START, MARK_END = "[", "]"
# Bounds on a long query. Measured on 60 pasted abstracts at 842 and 20k papers: with any
# MAX_TERMS from 4 to 32 each finds its own paper first, in under 0.1 s; 12 is above the
# word count of every judged query, so typed queries search all their words.
MAX_QUERY_CHARS = 10_000  # text past this is not read
MAX_COUNTED_WORDS = 128  # distinct words whose rarity is looked up; later terms are ignored
MAX_TERMS = 12  # the rarest this many terms of a longer query are searched
# A phrase costs its length for every paper holding all its words (at 20k papers, 16 common
# words: 22 ms; 5,000: 5 s); the longest title has 24 words, and a phrase's head still finds it.
MAX_PHRASE_WORDS = 16
RARITY_COUNT_LIMIT = 1_000  # counting a term's papers stops here: past it, a term is common
MAX_LIMIT = 1_000  # hits one search returns at most

# Words that carry no topic; dropped from natural queries (never from quoted phrases).
STOPWORDS = frozenset(
    """a an and are as at be by for from how in into is it of on or the to via what which
    with without using based""".split()
)
# A word starting with one of these may be written apart or hyphenated: pretraining,
# pre-training and pre training are one word to a reader.
JOINABLE_PREFIXES = (
    "pre", "post", "self", "multi", "non", "semi", "co", "re", "sub", "cross", "fine",
    "zero", "few", "over", "under", "inter", "intra", "meta", "hyper", "super", "mini",
    "micro", "macro", "bi", "uni", "auto", "end", "long", "short", "low", "high",
)  # fmt: skip

# Rank on rowids alone, then make snippets only for the hits shown, in one query: SQLite
# computes every selected column of every match before ORDER BY ... LIMIT picks the top.
# A prefix query is the exception: expanding the prefix again for the snippets costs more
# than computing them along (measured: trans* 17 + 47 ms against 26 ms in one query).
# Ties go to the lower id, here and in Datasette's canned query alike.
RANK_SQL = f"""
SELECT rowid, {BM25} AS rank{{snippet}} FROM papers_fts
WHERE papers_fts MATCH :query {{topic_filter}}
ORDER BY rank, rowid
LIMIT :limit
"""
SNIPPET = f"snippet(papers_fts, 1, '{MARK_START}', '{MARK_END}', '…', {SNIPPET_TOKENS})"
SNIPPETS_SQL = (
    f"SELECT rowid, {SNIPPET} FROM papers_fts WHERE papers_fts MATCH ? AND rowid IN ({{}})"
)

_QUOTED_OR_CHUNK = re.compile(r'"([^"]*)"|(\S+)')
_WORDS = re.compile(r"\w+")
_CUT_WORD = re.compile(r"(?<=\s)\S+\Z")


@dataclass
class Hit:
    id: int
    title: str
    snippet: str
    score: float  # higher is better: the negated bm25 rank
    listings: list
    # 'partial' for fallback hits that miss some of the words, 'related' for papers related
    # to the best answers (ranking._related_to_answers)
    match: str = "all"

    def as_dict(self):
        return asdict(self)


@dataclass(frozen=True)
class Term:
    """One thing the user asked for: a word, a phrase, or a prefix."""

    words: tuple
    prefix: bool = False
    phrase: bool = False  # typed in quotes

    def fts(self):
        if self.prefix:
            return prefix_fts(self.words)
        options = [_quote(" ".join(self.words))]
        if not self.phrase:
            if len(self.words) > 1 and all(w.isalpha() for w in self.words):
                options.append(_quote("".join(self.words)))  # pre-training -> pretraining
            elif len(self.words) == 1:
                split = _split_prefix(self.words[0])
                if split:
                    options.append(_quote(split))  # pretraining -> "pre training"
        return options[0] if len(options) == 1 else "(" + " OR ".join(options) + ")"


def _split_prefix(word):
    lower = word.lower()
    for prefix in JOINABLE_PREFIXES:
        if lower.startswith(prefix) and len(lower) - len(prefix) >= 4:
            return f"{word[: len(prefix)]} {word[len(prefix) :]}"
    return None


def parse_query(text):
    """The distinct terms of a typed query, in order; what is not a word is dropped.

    Anything is accepted. A term typed again in any letter case counts once: repeating a
    word neither changes the results nor costs work. Only the first MAX_QUERY_CHARS
    characters are read, cut at a space so that no word is cut in two, and only the first
    MAX_PHRASE_WORDS words of a phrase or of a chunk like a-b-c.
    """
    terms, seen = [], set()
    for match in _QUOTED_OR_CHUNK.finditer(_head(text)):
        quoted, chunk = match.groups()
        if quoted is not None:
            term = Term(_words(quoted), phrase=True)
        else:
            term = Term(_words(chunk), prefix=chunk.endswith("*"))
        key = (tuple(w.lower() for w in term.words), term.prefix, term.phrase)
        if term.words and key not in seen:
            seen.add(key)
            terms.append(term)
    meaningful = [t for t in terms if t.phrase or t.prefix or len(t.words) > 1
                  or t.words[0].lower() not in STOPWORDS]  # fmt: skip
    return meaningful or terms


def _words(text):
    return tuple(itertools.islice((m.group() for m in _WORDS.finditer(text)), MAX_PHRASE_WORDS))


def _head(text):
    if len(text) <= MAX_QUERY_CHARS:
        return text
    head = text[:MAX_QUERY_CHARS]
    cut_word = _CUT_WORD.search(head) if not text[MAX_QUERY_CHARS].isspace() else None
    return head[: cut_word.start()] if cut_word else head


def _rarest(db, terms):
    """The MAX_TERMS terms found in fewest papers, in query order; terms found nowhere last.

    A long query is mostly text pasted from a paper: its rare words say what it is about,
    and ANDing a hundred words would find nothing, slowly. A word found nowhere is a typo
    or a word of another corpus, so words that are found are preferred. A phrase is as rare
    as its rarest word at most; counting words, not phrases, keeps each count cheap (a
    phrase of common words is checked in every paper holding them). Prefixes are not
    counted (expanding one is costly) and rank as common.
    """
    frequency, considered = {}, []
    for term in terms:
        new = {w.lower() for w in term.words} - frequency.keys() if not term.prefix else set()
        if len(frequency) + len(new) > MAX_COUNTED_WORDS:
            break
        for word in new:
            (frequency[word],) = db.execute(
                "SELECT count(*) FROM (SELECT 1 FROM papers_fts WHERE papers_fts MATCH ? LIMIT ?)",
                [_quote(word), RARITY_COUNT_LIMIT],
            ).fetchone()
        considered.append(term)

    def rarity(i):
        term = considered[i]
        found = RARITY_COUNT_LIMIT if term.prefix else min(frequency[w.lower()] for w in term.words)
        return (found == 0, found, i)

    chosen = sorted(range(len(considered)), key=rarity)[:MAX_TERMS]
    return [considered[i] for i in sorted(chosen)]


def search(db, text, limit=20, topic=None, raw=False):
    """Ranked hits for what a user typed; an empty or punctuation-only query finds nothing.

    `topic` (a slug) keeps only papers with that topic; an unknown slug is an error.
    `raw` passes `text` to FTS5 unchanged, for experts; its syntax errors are reported.
    """
    topic_id = None
    if topic is not None:
        row = db.execute("SELECT id FROM topics WHERE slug = ?", [topic]).fetchone()
        if not row:
            raise SearchError(f"no topic {topic!r} (paperdb topics lists them)")
        topic_id = row[0]
    limit = min(limit, MAX_LIMIT)
    if limit <= 0:
        return []
    if raw:
        try:
            return _hits(db, _raw(db, text, limit, topic_id))
        except sqlite3.OperationalError as exc:
            raise SearchError(f"invalid FTS5 query {text!r}: {exc}") from None
    terms = parse_query(text)
    if not terms:
        return []
    if len(terms) > MAX_TERMS:
        terms = _rarest(db, terms)
    snippet = (MARK_START, MARK_END, "…", SNIPPET_TOKENS)
    return _hits(db, rank(db, text, terms, limit, topic_id, snippet))


def _ranked(db, query, limit, topic_id, with_snippets=False):
    """[(id, bm25 rank, snippet or None)] of the best `limit` matches."""
    sql = RANK_SQL.format(
        snippet=f", {SNIPPET}" if with_snippets else ", NULL",
        topic_filter=TOPIC_FILTER if topic_id is not None else "",
    )
    params = {"query": query, "limit": limit, "topic_id": topic_id}
    return db.execute(sql, params).fetchall()


def _raw(db, query, limit, topic_id):
    """[(id, score, 'all', snippet)] of an FTS5 query as typed, best bm25 first."""
    ranked = _ranked(db, query, limit, topic_id, with_snippets="*" in query)
    missing = [pid for pid, _, snippet in ranked if snippet is None]
    snippets = {}
    if missing:
        sql = SNIPPETS_SQL.format(", ".join("?" for _ in missing))
        snippets = dict(db.execute(sql, [query, *missing]).fetchall())
    return [
        (pid, round(-rank, 4), "all", snippet or snippets[pid]) for pid, rank, snippet in ranked
    ]


def _hits(db, ranked):
    """Hits for [(id, score, match, snippet or None)]: a paper found through its topic alone
    has no word of the query to mark, and shows the opening of its abstract instead."""
    ids = [pid for pid, *_ in ranked]
    texts = {}
    for pid, title, abstract in db.execute(
        f"SELECT id, title, abstract FROM papers WHERE id IN ({', '.join('?' for _ in ids)})", ids
    ):
        texts[pid] = (title, abstract)
    listings = _listings_of(db, ids)
    return [
        Hit(pid, texts[pid][0], snippet or _opening(texts[pid][1]), score, listings[pid], match)
        for pid, score, match, snippet in ranked
    ]


def _opening(abstract):
    words = abstract.split()
    more = "…" if len(words) > SNIPPET_TOKENS else ""
    return " ".join(words[:SNIPPET_TOKENS]) + more


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
