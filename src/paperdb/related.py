"""related_papers: for every paper, up to 10 others to read next, each with its reasons.

Computed from the finished database (the full-text index, paper_topics, paper_repos,
acronyms), so a full build and an incremental one give the same table by the same code.

Like Lucene's MoreLikeThis, a paper is described by its most distinctive words: terms of
its title and abstract, weighted by idf (a title word counts TITLE_BOOST times). The work is
bounded: only terms found in 2 to MAX_DF papers count (a rarer word relates nothing, a
commoner one is too vague to pay for its postings), a paper keeps at most TERMS of them,
heaviest first, and stops adding terms once POOL candidates were walked. The candidates
(papers sharing one of those terms, or a repository mentioned by at most MAX_DF papers) are
scored by WEIGHTS: the share of the paper's word weight they hold, the share of its topic
weight (each topic by idf and by the paper's topic score), a shared repository and a shared
acronym (a short form of the acronyms table among the shared terms). Ties go to the lower
id. Measured in docs/RELATED.md (benchmarks/related_eval.py).

No weight reads a count that every update moves: a term weighs ln(TERM_SCALE / df), from
its own df only, and a topic the band round(log2(papers / its papers)). So an incremental
update (RelatedChanges) ranks again only the papers whose rows can differ, with the same
code, and the table equals a full build's. A paper's rows read: its own terms (title,
abstract) and topics; for each of its terms, df, the postings and the spelling (from the
first holder's title or abstract); the topics and postings of its candidates; its
repositories' papers and names; the acronym terms; the topic weights. Let D be the papers
whose index row changed (new, gone, text or aliases). A paper outside D is ranked again
when it holds (in title or abstract) a term that a paper of D held or holds (any column),
in 2..MAX_DF papers before or after, unless the D papers holding it are the same, in the
same columns, and changed their aliases only (then df, postings, topics and spelling are as
they were); when a term it holds became or stopped being a short form; when it keeps a
topic whose band moved; when it mentions a repository whose mentions changed (or was
respelled) and that is shared by 2..MAX_DF papers before or after. Any candidate whose
score or reasons can change is in D and reaches the paper through a shared term or
repository, before or after (its old terms and repositories count), so these are all.

What the ranking reads is read whole at a full build (the vocabulary, every kept term's
postings, every paper's topics: faster in bulk). An update ranking few papers reads what
they need only (_Ranker.load): their terms (their texts tokenized as the index does), each
term's df and postings looked up in the index (no further than MAX_DF + 1 papers), their
shared repositories, and the topics of the papers those postings and repositories name.
The ranking code is the same; so are the rows.

from paperdb.related import related_rows
rows = related_rows(conn)  # tuples of COLUMNS' values, in (paper_id, rank) order
"""

import json
import math
import re
import sqlite3
from array import array
from bisect import bisect_left
from functools import cache
from itertools import islice

from .database import connect_read_only
from .errors import SearchError
from .schema import fts_tokenize

MAX_RELATED = 10
BATCH_ROWS = 10_000
LOCAL_SHARE = 10  # an update ranking at most 1/10 of the papers reads what they need only
MAX_DF = 30  # postings of a term, and papers of a repository, beyond which they are skipped
TERMS = 12  # distinctive terms a paper is described by, at most
POOL = 60  # candidates walked per paper: terms are taken, heaviest first, until this many
POOL_SCORED = 30  # of those, the best by words are scored on every signal (with shared repos)
TITLE_BOOST = 2.0
TERM_SCALE = 1000  # a term's weight is ln(TERM_SCALE / df): its own df, never the paper count
TOPICS_KEPT = 4  # a paper's strongest topics, packed 16 bits each into one 64-bit integer
# A list holds its SURE_RANKS best whatever they score, and after them only papers scoring
# TAIL_SCORE or more (half the paper's distinctive words shared, or as much from the other
# signals): below that, few of the judged set's papers at ranks 6-10 are worth reading
# (docs/RELATED.md), and they were a fifth of the table's rows at 100k papers.
SURE_RANKS = 5
TAIL_SCORE = 500
WORDS_SHOWN = 3  # in reasons
TOPICS_SHOWN = 2
# English words too common to say what a paper is about (a small corpus holds some of them
# in few papers), stemmed by the index's own tokenizer (_stems). Numbers are left out too.
STOP_WORDS = """a about above after again against all also am among an and any are as at be because
been before being below between both but by can could did do does doing down during each few for
from further had has have having he her here hereby hers herself him himself his how however i if
in into is it its itself just may me might more most must my myself no nor not now of off on once
only onto or other our ours ourselves out over own same shall she should so some such than that
the their theirs them themselves then there therefore these they this those through thus to too
under until up upon us very via was we were what when where whereas which while who whom why will
with within without would yet you your yours yourself yourselves""".split()
# Chosen on the tune split of tests/fixtures/related_judgments.json (docs/RELATED.md).
WEIGHTS = {"words": 1.0, "topics": 0.6, "repo": 0.3, "acronym": 0.0}

# The stored columns, in the order related_rows() gives them. `reasons` is computed from
# the shared_* columns when read (schema.sql): the labels are not stored in every row.
COLUMNS = (
    "paper_id", "related_id", "rank", "score",
    "shared_words", "shared_topics", "shared_repo", "shared_acronyms",
)  # fmt: skip
# A part they do not share comes as '' and is stored as NULL: Python's sqlite3 binds None
# through its adapter lookup, which made inserting the rows 0.34 s slower at 100k papers.
INSERT_SQL = f"""
INSERT INTO related_papers ({", ".join(COLUMNS)})
VALUES (?, ?, ?, ?, nullif(?, ''), nullif(?, ''), nullif(?, ''), nullif(?, ''))
"""

_TERMS_SQL = """
SELECT term, doc FROM temp.related_vocab WHERE doc BETWEEN 2 AND ? ORDER BY term
"""
# Each kept term's papers (as dense numbers), once per paper, with whether the title holds it.
# The CROSS JOIN makes SQLite look each term up in the index instead of reading all of it.
_POSTINGS_SQL = """
SELECT related_terms.id, related_dense.n, max(related_instance.col = 'title')
FROM temp.related_terms
CROSS JOIN temp.related_instance ON related_instance.term = related_terms.term
JOIN temp.related_dense ON related_dense.id = related_instance.doc
WHERE related_instance.col != 'aliases'
GROUP BY related_terms.id, related_dense.n
"""
# Each wanted term's distinct (paper, column) pairs as paper * 3 + column (title 0, abstract
# 1, aliases 2), '' for none, NULL when in more than MAX_DF papers. The subquery stops
# reading a common term's postings at one more pair than MAX_DF papers can hold.
_LOOK_UP_SQL = f"""
SELECT wanted.term, (
    SELECT CASE WHEN count(DISTINCT doc) <= {MAX_DF} THEN coalesce(group_concat(code), '') END
    FROM (
        SELECT DISTINCT doc, doc * 3 + (col != 'title') + (col = 'aliases') AS code
        FROM temp.related_instance AS instance WHERE instance.term = wanted.term
        LIMIT {3 * MAX_DF + 1}))
FROM temp.related_wanted AS wanted
"""
_CHOSEN_TEXTS_SQL = """
SELECT title || ' ' || abstract FROM papers WHERE id IN (SELECT id FROM temp.related_chosen)
"""
# Pairs of papers sharing a repository that 2 to MAX_DF papers mention, with its name.
_REPOS_SQL = """
SELECT pa.paper_id, pb.paper_id, repos.full_name FROM (
    SELECT repo_id FROM paper_repos GROUP BY repo_id
    HAVING count(DISTINCT paper_id) BETWEEN 2 AND ?) AS shared
JOIN repos ON repos.id = shared.repo_id
JOIN paper_repos AS pa ON pa.repo_id = shared.repo_id
JOIN paper_repos AS pb ON pb.repo_id = shared.repo_id AND pb.paper_id != pa.paper_id
WHERE 1 {}
ORDER BY pa.paper_id, pb.paper_id, repos.full_name COLLATE NOCASE
"""


def related_rows(conn, weights=None):
    """Every row of related_papers for the database on `conn` (the values of COLUMNS, '' for
    a part they do not share), in (paper_id, rank) order, as an iterator (at 1M papers the
    rows would take ~1 GB as a list)."""
    with _Ranker(conn, WEIGHTS if weights is None else weights) as ranker:
        ranker.load()
        yield from ranker.rows()


def write_related(writer, enabled=True, changes=None, progress=None):
    """Bring related_papers up to date with the database `writer` holds (empty when not
    `enabled`: `paperdb build --no-related`); returns the number of papers ranked.

    Without `changes` every paper is ranked. With the RelatedChanges of an incremental
    update, only the papers whose rows can differ are (module docstring), and the table
    ends up the same as a full build's."""
    if not enabled:
        writer.execute("DELETE FROM related_papers")
        return 0
    conn = writer.read_connection()
    with _Ranker(conn, WEIGHTS) as ranker:
        selected = None
        if changes is not None and changes.had_rows:
            selected, gone = ranker.affected(changes)
            writer.executemany(
                "DELETE FROM related_papers WHERE paper_id = ?",
                [(pid,) for pid in sorted(gone.union(ranker.ids_of(selected)))],
            )
        else:
            writer.execute("DELETE FROM related_papers")
        # Reading what a few papers need is faster than reading all, up to a point.
        few = selected is not None and sum(selected) * LOCAL_SHARE <= len(ranker.ids)
        ranker.load(selected if few else None)
        ranked = len(ranker.ids) if selected is None else sum(selected)
        if progress:
            progress(f"finding related papers of {ranked:,} of {len(ranker.ids):,} papers")
        rows = ranker.rows(selected)
        # In batches, each inserted before the next is ranked: no statement is left running
        # on the connection when the ranking drops its temporary tables at the end.
        while batch := list(islice(rows, BATCH_ROWS)):
            writer.executemany(INSERT_SQL, batch)
    return ranked


class RelatedChanges:
    """What an incremental update changes that related_papers is computed from, for
    write_related to rank again only the papers whose rows can differ (module docstring).

    Made before the update changes anything: it keeps the counts the weights and the
    repository partners are read from. The update then calls paper() before it changes a
    paper's row in the full-text index, and adds the repositories whose mentions it
    changed to `repos`."""

    def __init__(self, writer):
        said = writer.execute("SELECT value FROM build_info WHERE key = 'related'").fetchone()
        self.had_rows = said == ("yes",)  # else the table is empty: every paper is ranked
        self.texts = {}  # paper id -> (title, abstract, aliases) indexed before, None if new
        self.repos = set()
        if self.had_rows:
            (self.papers,) = writer.execute("SELECT count(*) FROM papers").fetchone()
            self.topic_counts = dict(writer.execute(_TOPIC_COUNTS_SQL))
            self.repo_counts = dict(writer.execute(_REPO_COUNTS_SQL))
            self.acronyms = _acronym_terms(writer)

    def paper(self, pid, indexed):
        """Paper `pid`'s row in the index is about to change; `indexed` is the (title,
        abstract, aliases) it holds now, None for a new paper."""
        self.texts.setdefault(pid, indexed)


def has_related(path):
    """Whether the papers.db at `path` was built with related papers (not --no-related);
    None when it cannot be read (the caller's checks say why). A build with them may have
    found none, so build_info says which."""
    try:
        conn = connect_read_only(path)
    except sqlite3.Error:
        return None
    try:
        said = conn.execute("SELECT value FROM build_info WHERE key = 'related'").fetchone()
        return said == ("yes",) if said else None
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def related_papers(db, paper):
    """{'id', 'title', 'related': [{'rank', 'id', 'title', 'score', 'reasons'}], 'note'} for
    the paper `paper` names: its id, its title, or a part of its title found in one paper
    only (letter case aside). SearchError when it names none, or several."""
    text = " ".join(str(paper).split())
    found = []
    if text.isdigit() and len(text) < 19:
        found = db.execute("SELECT id, title FROM papers WHERE id = ?", [int(text)]).fetchall()
    if not found and text:
        found = db.execute(
            "SELECT id, title FROM papers WHERE title = ? COLLATE NOCASE ORDER BY id", [text]
        ).fetchall()
    if not found and text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        found = db.execute(
            "SELECT id, title FROM papers WHERE title LIKE ? ESCAPE '\\' ORDER BY id LIMIT 6",
            [pattern],
        ).fetchall()
    if not found:
        raise SearchError(f"no paper has the id or a title like {text!r} (try: paperdb search)")
    if len(found) > 1:
        shown = "; ".join(f"{pid}: {title}" for pid, title in found[:5])
        more = ", ..." if len(found) > 5 else ""
        raise SearchError(
            f"{text!r} is in the titles of several papers; give one's id ({shown}{more})"
        )
    ((pid, title),) = found
    rows = db.execute(
        "SELECT related_papers.rank, papers.id, papers.title, related_papers.score,"
        " related_papers.reasons FROM related_papers"
        " JOIN papers ON papers.id = related_papers.related_id"
        " WHERE related_papers.paper_id = ? ORDER BY related_papers.rank",
        [pid],
    ).fetchall()
    note = ""
    if not rows and db.execute("SELECT 1 FROM related_papers LIMIT 1").fetchone() is None:
        note = "The database has none: it was built with --no-related."
    names = ("rank", "id", "title", "score", "reasons")
    return {
        "id": pid,
        "title": title,
        "related": [dict(zip(names, row, strict=True)) for row in rows],
        "note": note,
    }


class _Ranker:
    """The ranking's inputs, and the ranking of the papers asked for. load() reads the
    inputs: of every paper (the postings of every kept term, every paper's strongest
    topics, the shared repositories), or only what the papers an update ranks again need.
    A context manager: its temporary tables go at the end."""

    def __init__(self, conn, weights):
        self.conn = conn
        self.weights = weights
        self.ids = array("q", (pid for (pid,) in conn.execute("SELECT id FROM papers ORDER BY id")))
        self.found = {}  # term -> (df, its title and abstract holders), from _look_up

    def __enter__(self):
        conn = self.conn
        conn.execute(
            "CREATE VIRTUAL TABLE temp.related_instance"
            " USING fts5vocab(main, papers_fts, 'instance')"
        )
        self.acronym_of = _acronym_terms(conn)
        self.topic_idf = _topic_weights(dict(conn.execute(_TOPIC_COUNTS_SQL)), len(self.ids))
        self.topic_slug = dict(conn.execute("SELECT id, slug FROM topics"))
        return self

    def __exit__(self, *exc):
        for table in ("related_terms", "related_dense", "related_wanted", "related_chosen"):
            self.conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
        for table in ("related_vocab", "related_instance"):
            self.conn.execute(f"DROP TABLE IF EXISTS temp.{table}")

    def ids_of(self, selected):
        return [self.ids[a] for a in range(len(self.ids)) if selected[a]]

    def load(self, selected=None):
        """Read the inputs of the ranking of the papers `selected` (a mask by dense number;
        None: all). Either way each paper's rows come out the same: its terms, their df and
        postings, and the topics and repositories of the papers it can meet are all read."""
        if len(self.ids) < 2:
            return
        if selected is None:
            self._load_all()
        else:
            self._load_for(selected)
        number = self.number
        self.acronym = {number[t]: s for t, s in self.acronym_of.items() if t in number}

    def rows(self, selected=None):
        """The rows of the papers `selected` (a mask by dense number; None: all), in
        (paper_id, rank) order, from what load() read for them (or for all)."""
        n = len(self.ids)
        if n < 2:
            return
        if selected is None:
            selected = bytes([1]) * n
        by_paper = self._by_paper(selected)
        self._load_surfaces(by_paper[1])
        yield from self._ranked(by_paper, selected)

    def affected(self, changes):
        """(a mask of the papers whose rows can differ from those in the table, by dense
        number; the ids of papers gone) after the update `changes` describes. Why these
        are all: the module docstring. Reads the postings of the terms involved only."""
        conn, ids, n = self.conn, self.ids, len(self.ids)
        selected, gone = bytearray(n), set()

        def mark(pid):
            i = bisect_left(ids, pid)
            if i < n and ids[i] == pid:
                selected[i] = 1
                return True
            return False

        for pid in changes.texts:
            if not mark(pid):
                gone.add(pid)
        if n < 2:  # no rows at all; those of the others go with them
            return bytearray(b"\x01" * n), gone
        found = self.found

        def mark_holders(term):
            for paper in found[term][1][0]:
                selected[paper] = 1

        # Terms: of the changed papers' texts, before and after.
        now = {
            pid: conn.execute(
                "SELECT title, abstract, aliases FROM papers WHERE id = ?", (pid,)
            ).fetchone()
            for pid in changes.texts
            if pid not in gone
        }
        before = _holders((pid, *text) for pid, text in changes.texts.items() if text)
        after = _holders((pid, *text) for pid, text in now.items())
        # Papers whose title or abstract changed, not only their aliases: their topics and
        # the spellings of their terms may have too.
        rewritten = bytearray(n)
        for pid, text in now.items():
            old = changes.texts[pid]
            if old is None or old[:2] != text[:2]:
                rewritten[bisect_left(ids, pid)] = 1
        usable = _usable_term()
        # A term the changed papers hold as they did, with their titles and abstracts as
        # they were, moves no row (below): its postings need not be read.
        terms = sorted(
            term
            for term in before.keys() | after.keys()
            if usable(term)
            and (
                before.get(term) != after.get(term)
                or any(rewritten[bisect_left(ids, pid)] for pid in after[term])
            )
        )
        respelled = sorted(
            term
            for term in changes.acronyms.keys() | self.acronym_of.keys()
            if changes.acronyms.get(term) != self.acronym_of.get(term)
        )
        self._look_up(terms + respelled)
        for term in terms:
            old, new = before.get(term, {}), after.get(term, {})
            if _kept(term, found[term][0]):
                # Same holders among the changed papers, in the same columns, and only
                # their aliases changed: df, postings, the holders' topics and the term's
                # spelling (read from a title or abstract) are as they were.
                if old == new and not any(rewritten[bisect_left(ids, pid)] for pid in new):
                    continue
                mark_holders(term)
            elif len(new) != len(old):
                df, (holders, _) = found[term]
                change = len(new) - len(old)
                if df is None:  # in more than MAX_DF papers now
                    if change > 0:
                        for pid in self._former_holders(term, change):
                            mark(pid)
                elif 2 <= df - change <= MAX_DF:
                    for paper in holders:
                        selected[paper] = 1
        # Acronyms: a term that became, or stopped being, a short form (or another spelling).
        for term in respelled:
            if _kept(term, found[term][0]):
                mark_holders(term)
        # Topics whose weight moved to another band: every paper keeping one of them.
        weights = _topic_weights(changes.topic_counts, changes.papers)
        moved = sorted(
            tid
            for tid in weights.keys() | self.topic_idf.keys()
            if weights.get(tid, 0) != self.topic_idf.get(tid, 0)
        )
        if moved:
            holding = set()
            for tid in moved:
                holding.update(
                    pid
                    for (pid,) in conn.execute(
                        "SELECT paper_id FROM paper_topics WHERE topic_id = ?", (tid,)
                    )
                )
            moved = set(moved)
            for a, packed, _ in self._strongest_topics(sorted(holding)):
                while packed:
                    if packed & 0xFFFF in moved:
                        selected[a] = 1
                        break
                    packed >>= 16
        # Repositories mentioned, or mentioned no more, by a changed paper (or respelled):
        # every paper mentioning one, where it is (or was) shared by 2 to MAX_DF papers.
        for rid in sorted(changes.repos):
            mentioners = [
                pid
                for (pid,) in conn.execute(
                    "SELECT DISTINCT paper_id FROM paper_repos WHERE repo_id = ?", (rid,)
                )
            ]
            if 2 <= len(mentioners) <= MAX_DF or 2 <= changes.repo_counts.get(rid, 0) <= MAX_DF:
                for pid in mentioners:
                    mark(pid)
        return selected, gone

    def _former_holders(self, term, change):
        """The ids of the papers holding `term` in a title or abstract, if it was in 2 to
        MAX_DF papers before its count changed by `change` (it is not now); else none."""
        limit = MAX_DF + change  # papers holding it now, at most, to have been in the window
        if limit < 0:
            return []
        docs, holders, last = 0, [], None
        cursor = self.conn.execute(
            "SELECT doc, col FROM temp.related_instance WHERE term = ?", (term,)
        )
        try:
            for doc, col in cursor:
                if doc != last:
                    docs, last = docs + 1, doc
                    if docs > limit:
                        return []
                if col != "aliases" and (not holders or holders[-1] != doc):
                    holders.append(doc)
        finally:
            cursor.close()
        return holders if 2 <= docs - change <= MAX_DF else []

    def _look_up(self, terms):
        """Add each of `terms` to self.found: (its df, or None beyond MAX_DF; and its
        postings: the dense numbers of the papers holding it in a title or abstract, in
        order, and whether each holds it in the title) read from the index term by term,
        each no further than MAX_DF + 1 papers."""
        terms = [term for term in terms if term not in self.found]
        if not terms:
            return
        conn, ids, n, found = self.conn, self.ids, len(self.ids), self.found
        _fill(conn, "related_wanted", "term TEXT", terms)
        for term, pairs in conn.execute(_LOOK_UP_SQL):
            if pairs is None:
                found[term] = (None, ([], b""))
                continue
            docs, holders, in_title = 0, [], bytearray()
            last = None
            for code in sorted(int(code) for code in pairs.split(",") if code):
                doc, col = divmod(code, 3)
                if doc != last:
                    docs, last = docs + 1, doc
                if col == 2:  # aliases (after the title and abstract of the same paper)
                    continue
                paper = bisect_left(ids, doc)
                if paper == n or ids[paper] != doc:
                    continue  # not a paper: `paperdb check` reports the row
                if holders and holders[-1] == paper:
                    in_title[-1] |= col == 0
                else:
                    holders.append(paper)
                    in_title.append(col == 0)
            found[term] = (docs, (holders, bytes(in_title)))

    def _load_all(self):
        """Every paper's inputs, in bulk: at a full build, faster than term by term."""
        conn = self.conn
        conn.execute(
            "CREATE VIRTUAL TABLE temp.related_vocab USING fts5vocab(main, papers_fts, 'row')"
        )
        conn.execute("CREATE TEMP TABLE related_terms (id INTEGER PRIMARY KEY, term TEXT)")
        conn.execute("CREATE TEMP TABLE related_dense (id INTEGER PRIMARY KEY, n INTEGER)")
        conn.execute(
            "INSERT INTO temp.related_dense (id, n)"
            " SELECT id, row_number() OVER (ORDER BY id) - 1 FROM papers"
        )
        terms, self.idf = [], array("d")
        for term, df in conn.execute(_TERMS_SQL, (MAX_DF,)):
            if _kept(term, df):
                terms.append(term)
                self.idf.append(_idf(df))
        conn.executemany(
            "INSERT INTO temp.related_terms (id, term) VALUES (?, ?)", enumerate(terms)
        )
        self.terms = terms
        self.number = {term: i for i, term in enumerate(terms)}
        # Postings, term by term: papers[start[t]:start[t + 1]], with a title flag each.
        self.start = array("l", [0])
        self.papers = array("l")
        self.in_title = bytearray()
        last = 0
        for term, paper, title in conn.execute(_POSTINGS_SQL):
            while last < term:
                self.start.append(len(self.papers))
                last += 1
            self.papers.append(paper)
            self.in_title.append(title)
        while len(self.start) <= len(terms):
            self.start.append(len(self.papers))
        self._load_repos()
        self._load_topics()

    def _load_for(self, selected):
        """What the papers `selected` are ranked from: the terms of their titles and
        abstracts (found with the index's tokenizer), those terms' df and postings, the
        repositories they share, and the topics of every paper they can meet."""
        conn = self.conn
        chosen = self.ids_of(selected)
        _fill(conn, "related_chosen", "id INTEGER PRIMARY KEY", chosen)
        usable = _usable_term()
        # A term in more than MAX_DF of these papers is in more than MAX_DF of all.
        self._look_up(
            sorted(
                term
                for term, docs in _terms_of(conn.execute(_CHOSEN_TEXTS_SQL))
                if docs <= MAX_DF and usable(term)
            )
        )
        found = self.found
        terms = sorted(term for term, (df, _) in found.items() if _kept(term, df))
        self.terms = terms
        self.number = {term: i for i, term in enumerate(terms)}
        self.idf = array("d", (_idf(found[term][0]) for term in terms))
        self.start = array("l", [0])
        self.papers = array("l")
        self.in_title = bytearray()
        for term in terms:
            holders, in_title = found[term][1]
            self.papers.extend(holders)
            self.in_title += in_title
            self.start.append(len(self.papers))
        self._load_repos(selected=True)
        met = set(self.papers).union(*self.repo_partners.values())
        met.update(a for a in range(len(self.ids)) if selected[a])
        self._load_topics([self.ids[a] for a in sorted(met)])

    def _strongest_topics(self, pids=None):
        """(dense paper, its strongest topics' ids, their scores up to 255), each packed 16
        bits a topic, for the papers of the ids `pids` (sorted; None: every paper)."""
        ids, n = self.ids, len(self.ids)
        if pids is None:
            rows = self.conn.execute(
                "SELECT paper_id, topic_id, score FROM paper_topics"
                " WHERE topic_id BETWEEN 1 AND 65535 ORDER BY paper_id, score DESC, topic_id"
            )
        else:
            _fill(self.conn, "related_chosen", "id INTEGER PRIMARY KEY", pids)
            rows = self.conn.execute(
                "SELECT paper_id, topic_id, score FROM paper_topics"
                " WHERE paper_id IN (SELECT id FROM temp.related_chosen)"
                " AND topic_id BETWEEN 1 AND 65535 ORDER BY paper_id, score DESC, topic_id"
            )
        paper, current, kept, packed, scores = 0, None, TOPICS_KEPT, 0, 0
        for pid, tid, score in rows:
            if pid != current:
                if kept and current is not None and paper < n and ids[paper] == current:
                    yield paper, packed, scores
                current, kept, packed, scores = pid, 0, 0, 0
                paper = bisect_left(ids, pid, paper)
                if paper == n or ids[paper] != pid:
                    kept = TOPICS_KEPT  # not a paper: `paperdb check` reports the row
            if kept < TOPICS_KEPT:
                packed |= tid << (16 * kept)
                scores |= min(score, 255) << (16 * kept)
                kept += 1
        if kept and current is not None and paper < n and ids[paper] == current:
            yield paper, packed, scores

    def _load_topics(self, pids=None):
        """Each paper's strongest topics, of the papers of the ids `pids` (None: all)."""
        n = len(self.ids)
        self.topic_ids = topic_ids = array("Q", bytes(8 * n))
        self.topic_scores = topic_scores = array("Q", bytes(8 * n))
        for paper, packed, scores in self._strongest_topics(pids):
            topic_ids[paper] = packed
            topic_scores[paper] = scores

    def _load_repos(self, selected=False):
        """Dense paper -> {dense paper: repository} for the repositories they share: of
        every paper, or (`selected`) of the papers in temp.related_chosen."""
        ids, n = self.ids, len(self.ids)
        self.repo_partners = {}
        rows = self.conn.execute(
            _REPOS_SQL.format(
                "AND pa.paper_id IN (SELECT id FROM temp.related_chosen)" if selected else ""
            ),
            (MAX_DF,),
        )
        for a, b, name in rows:
            i, j = bisect_left(ids, a), bisect_left(ids, b)
            if i < n and ids[i] == a and j < n and ids[j] == b:  # else `paperdb check` says
                self.repo_partners.setdefault(i, {}).setdefault(j, name)

    def _by_paper(self, selected):
        """The postings turned around for the papers `selected`: terms[first[p]:first[p + 1]]
        are paper p's terms, with minus their weight in the paper (idf, a title word
        TITLE_BOOST times) beside."""
        n, idf = len(self.ids), self.idf
        start, papers = self.start, self.papers
        # A term in one paper's title or abstract only (the rest in aliases) finds no other.
        kept = [t for t in range(len(self.terms)) if start[t + 1] - start[t] > 1]
        counts = array("l", bytes(8 * (n + 1)))
        for term in kept:
            for paper in papers[start[term] : start[term + 1]]:
                if selected[paper]:
                    counts[paper + 1] += 1
        for p in range(n):
            counts[p + 1] += counts[p]
        first = array("l", counts)
        terms = array("l", bytes(8 * counts[n]))
        weights = array("d", bytes(8 * counts[n]))
        fill = array("l", counts)
        for term in kept:
            for k in range(start[term], start[term + 1]):
                paper = papers[k]
                if selected[paper]:
                    slot = fill[paper]
                    terms[slot] = term
                    weights[slot] = -idf[term] * (TITLE_BOOST if self.in_title[k] else 1.0)
                    fill[paper] = slot + 1
        return first, terms, weights

    def _ranked(self, by_paper, selected):
        """The rows (COLUMNS) of the papers selected, in id order.

        This loop is most of the stage's time (once per paper): everything it uses is a
        local name, and the reasons are written for the listed papers only."""
        ids, start, papers = self.ids, self.start, self.papers
        first, paper_terms, paper_weights = by_paper
        w_words = self.weights.get("words", 0.0)
        w_topics = self.weights.get("topics", 0.0)
        w_repo = self.weights.get("repo", 0.0)
        w_acronym = self.weights.get("acronym", 0.0)
        acronym, topic_ids, topic_scores = self.acronym, self.topic_ids, self.topic_scores
        topic_idf, topic_slug, surface = self.topic_idf, self.topic_slug, self.surface
        repo_partners, no_partners = self.repo_partners, {}
        for a in range(len(ids)):
            if not selected[a]:
                continue
            lo, hi = first[a], first[a + 1]
            partners = repo_partners.get(a, no_partners)
            if lo == hi and not partners:
                continue
            # Heaviest first (idf, a title word TITLE_BOOST times), ties by term: the words
            # MoreLikeThis would query with.
            if hi - lo > 1:
                weighted = sorted(zip(paper_weights[lo:hi], paper_terms[lo:hi], strict=True))
            else:
                weighted = [(paper_weights[lo], paper_terms[lo])] if hi > lo else []
            words, shares, chosen = {}, {}, []
            total = walked = 0.0
            acronyms = 0  # bits of the chosen terms that are acronyms
            for minus_weight, term in weighted[:TERMS]:
                if walked >= POOL:
                    break
                weight, bit = -minus_weight, 1 << len(chosen)
                chosen.append(term)
                total += weight
                if term in acronym:
                    acronyms |= bit
                s, e = start[term], start[term + 1]
                walked += e - s
                get, share = words.get, shares.get
                for b in papers[s:e]:
                    words[b] = get(b, 0.0) + weight
                    shares[b] = share(b, 0) | bit
            words.pop(a, None)
            if w_words and len(words) > POOL_SCORED:
                # What heapq.nlargest gives (ties in order), but sorted in C: 2x faster here.
                pool = sorted(words, key=words.__getitem__, reverse=True)[:POOL_SCORED]
                if partners:
                    pool = set(pool).union(partners)
            elif partners:
                pool = set(words).union(partners)
            else:
                pool = words
            if not pool:
                continue
            # The paper's strongest topics, {topic id: idf x score}, unpacked inline.
            packed, packed_scores, mine = topic_ids[a], topic_scores[a], {}
            while packed:
                tid = packed & 0xFFFF
                if tid:
                    mine[tid] = topic_idf.get(tid, 0.0) * (packed_scores & 0xFFFF)
                packed >>= 16
                packed_scores >>= 16
            topic_total = sum(mine.values())
            word_scale = w_words / total if total else 0.0
            topic_scale = w_topics / topic_total if topic_total and w_topics else 0.0
            get, wget, share = mine.get, words.get, shares.get
            best = []
            for b in pool:
                score = wget(b, 0.0) * word_scale
                if topic_scale:
                    q = topic_ids[b]
                    if q:
                        score += topic_scale * (
                            get(q & 0xFFFF, 0.0)
                            + get(q >> 16 & 0xFFFF, 0.0)
                            + get(q >> 32 & 0xFFFF, 0.0)
                            + get(q >> 48, 0.0)
                        )
                if partners and b in partners:
                    score += w_repo
                if w_acronym and acronyms and share(b, 0) & acronyms:
                    score += w_acronym
                if score > 0:
                    best.append((-score, ids[b], b))
            if not best:
                continue
            best.sort()
            strongest = sorted(mine, key=lambda t: (-mine[t], t))
            said = {}  # the words part by the chosen terms shared: often the same in a list
            for rank, (minus_score, other, b) in enumerate(best[:MAX_RELATED], start=1):
                score = round(-minus_score * 1000)
                if rank > SURE_RANKS and score < TAIL_SCORE:
                    break
                bits = share(b, 0)
                parts = said.get(bits)
                if parts is None:
                    parts = said[bits] = _shared_words(chosen, bits, acronym, surface)
                theirs = topic_ids[b]
                theirs = (
                    theirs & 0xFFFF,
                    theirs >> 16 & 0xFFFF,
                    theirs >> 32 & 0xFFFF,
                    theirs >> 48,
                )
                shared = [topic_slug[t] for t in strongest if t in theirs][:TOPICS_SHOWN]
                said_words, said_acronyms = parts
                said_topics = ", ".join(shared)
                yield (
                    ids[a],
                    other,
                    rank,
                    score,
                    said_words,
                    said_topics,
                    partners.get(b, ""),
                    said_acronyms,
                )

    def _load_surfaces(self, needed):
        """Each term in `needed` as a reader wrote it (a stem: 'hardwar' -> 'hardware'): as
        the first paper holding it writes it; the term itself where it is not found there."""
        start, papers, terms = self.start, self.papers, self.terms
        by_paper = {}
        for term in sorted(set(needed)):
            if start[term] < start[term + 1]:  # else in aliases only: never a reason
                by_paper.setdefault(papers[start[term]], []).append(term)
        self.surface = list(terms)
        for paper in sorted(by_paper):
            (text,) = self.conn.execute(
                "SELECT title || ' ' || abstract FROM papers WHERE id = ?", (self.ids[paper],)
            ).fetchone()
            lower = text.lower()
            if len(lower) != len(text):  # lower-casing moved the offsets (rare letters)
                continue
            for term in by_paper[paper]:
                stem = terms[term]
                # Porter stems keep the word's start, but for a final y that becomes i.
                for prefix in (stem, stem[:-1] if stem.endswith("i") and len(stem) > 3 else ""):
                    at = lower.find(prefix) if prefix else -1
                    while at > 0 and lower[at - 1].isalnum():
                        at = lower.find(prefix, at + 1)
                    if at >= 0:
                        self.surface[term] = _WORD.match(text, at).group()
                        break


_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")


_TOPIC_COUNTS_SQL = "SELECT topic_id, count(*) FROM paper_topics GROUP BY topic_id"
_REPO_COUNTS_SQL = "SELECT repo_id, count(DISTINCT paper_id) FROM paper_repos GROUP BY repo_id"


def _topic_weights(counts, papers):
    """{topic id: weight}: the band of the topic's rarity, round(log2(papers / count)).

    A band, not the exact idf: an update that adds or changes a few papers moves a topic's
    weight only when its share crosses a band's edge, and only then must every paper
    keeping that topic be ranked again."""
    return {tid: round(math.log2(max(papers, count) / count)) for tid, count in counts.items()}


def _kept(term, df):
    """Whether a term found in `df` papers (None: more than MAX_DF) describes papers."""
    return df is not None and 2 <= df <= MAX_DF and _usable_term()(term)


def _idf(df):
    return math.log(TERM_SCALE / df)


def _fill(conn, table, column, values):
    """The temporary table `table` (of one `column`) holding `values`, and nothing else."""
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({column})")
    conn.execute(f"DELETE FROM temp.{table}")
    # One JSON array: a few times faster than a statement a value.
    conn.execute(f"INSERT INTO temp.{table} SELECT value FROM json_each(?)", (json.dumps(values),))


def _terms_of(texts):
    """[(term, in how many of them)] of the (text,) rows `texts`, as papers_fts indexes
    them."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(
            f"CREATE VIRTUAL TABLE texts USING fts5(text, tokenize={fts_tokenize()}, detail=none)"
        )
        conn.executemany("INSERT INTO texts (text) VALUES (?)", texts)
        conn.execute("CREATE VIRTUAL TABLE terms USING fts5vocab(texts, 'row')")
        return conn.execute("SELECT term, doc FROM terms").fetchall()
    finally:
        conn.close()


def _acronym_terms(conn):
    """{index term: the short form as written} for the short forms search uses; of two
    spellings of one term, the first in order."""
    found = {}
    for (short,) in conn.execute(
        "SELECT short FROM acronyms WHERE used_for_search = 1 ORDER BY short"
    ):
        found.setdefault(short.lower(), short)
    return found


@cache
def _usable_term():
    """Whether an index term can describe a paper: not a number, not a stop word."""
    stop_words = _stems(STOP_WORDS)
    return lambda term: not term.isdigit() and term not in stop_words


def _holders(texts):
    """{term: {paper id: whether in its title or abstract}} for the (paper id, title,
    abstract, aliases) `texts`, as papers_fts indexes them."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(
            "CREATE VIRTUAL TABLE texts USING fts5(title, abstract, aliases,"
            f" tokenize={fts_tokenize()})"
        )
        conn.executemany(
            "INSERT INTO texts (rowid, title, abstract, aliases) VALUES (?, ?, ?, ?)", texts
        )
        conn.execute("CREATE VIRTUAL TABLE terms USING fts5vocab(texts, 'instance')")
        found = {}
        for term, doc, col in conn.execute("SELECT term, doc, col FROM terms"):
            held = found.setdefault(term, {})
            held[doc] = held.get(doc, False) or col != "aliases"
        return found
    finally:
        conn.close()


def _stems(words):
    """`words` as papers_fts indexes them (its tokenizer, from schema.sql)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"CREATE VIRTUAL TABLE words USING fts5(word, tokenize={fts_tokenize()})")
        conn.executemany("INSERT INTO words (word) VALUES (?)", [(word,) for word in words])
        conn.execute("CREATE VIRTUAL TABLE stems USING fts5vocab(words, 'row')")
        return frozenset(term for (term,) in conn.execute("SELECT term FROM stems"))
    finally:
        conn.close()


def _shared_words(chosen, bits, acronym, surface):
    """(the words, the acronyms) of the chosen terms in `bits`, heaviest first, each as one
    text ('selective scan, hardware-aware'), '' for none."""
    words, acronyms = [], []
    for i, term in enumerate(chosen):
        if bits >> i & 1:
            if term in acronym:
                acronyms.append(acronym[term])
            elif len(words) < WORDS_SHOWN:
                words.append(surface[term])
    return ", ".join(words), ", ".join(acronyms[:WORDS_SHOWN])
