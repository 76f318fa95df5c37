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
The ranking code is the same; so are the rows. A full build reads on a thread while the
index is built (ReadAhead: the topics and repositories from the file, the terms and
postings from a copy of the index taken before its segments are merged). The ranking is
numpy arrays, a chunk of papers at a time (_listed), on a second thread while the build's
thread inserts the rows (_rank_beside).

from paperdb.related import related_rows
rows = related_rows(conn)  # tuples of COLUMNS' values, in (paper_id, rank) order
"""

import json
import math
import queue
import re
import sqlite3
import threading
from array import array
from bisect import bisect_left
from collections import namedtuple
from concurrent.futures import Future
from functools import cache
from itertools import chain

import numpy as np

from .database import connect_read_only
from .errors import PaperdbError, SearchError
from .schema import fts_tokenize

MAX_RELATED = 10
# Papers ranked at a time: the arrays hold about 25 candidates a paper, and a chunk's rows
# wait in memory to be inserted (20,000 took 100 MB more at 100k papers).
CHUNK_PAPERS = 5_000
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
_VALUES = "(?, ?, ?, ?, nullif(?, ''), nullif(?, ''), nullif(?, ''), nullif(?, ''))"
INSERT_SQL = f"INSERT INTO related_papers ({', '.join(COLUMNS)}) VALUES {_VALUES}"
# Rows a statement: binding 50 rows at a time saved 0.25 s of 1.2 at 100k papers.
INSERT_ROWS = 50
_INSERT_MANY_SQL = f"INSERT INTO related_papers ({', '.join(COLUMNS)}) VALUES " + ", ".join(
    [_VALUES] * INSERT_ROWS
)
_DONE = object()  # the end of the ranking's batches (_rank_beside)

_TERMS_SQL = """
SELECT term, doc FROM temp.related_vocab WHERE doc BETWEEN 2 AND ? ORDER BY term
"""
# Each kept term's papers, once per paper: term * 2 + whether the title holds it, paper.
# The CROSS JOIN makes SQLite look each term up in the index instead of reading all of it.
_POSTINGS_SQL = """
SELECT related_terms.id * 2 + max(related_instance.col = 'title'), related_instance.doc
FROM temp.related_terms
CROSS JOIN temp.related_instance ON related_instance.term = related_terms.term
WHERE related_instance.col != 'aliases'
GROUP BY related_terms.id, related_instance.doc
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


class ReadAhead:
    """What write_related ranks a full build from, read on a thread while the full-text
    index is built, which SQLite does with the GIL released: the two use both cores
    (docs/RELATED.md).

    The thread reads every paper's strongest topics and the shared repositories from the
    file at `path` (a build's, with those rows committed) on its own connection; then, once
    index_built() hands it a copy of the index (before its segments are merged: the same
    terms, documents and columns), the terms and their postings, while the writer merges.
    result() is the ranker, for write_related's `ahead`."""

    def __init__(self, path):
        self._copies = queue.Queue(maxsize=1)
        self._given = False
        self._future = Future()
        self._thread = threading.Thread(
            target=self._run, args=(path,), name="paperdb-related-read", daemon=True
        )
        self._thread.start()

    def index_built(self, copy):
        """`copy`: a connection, usable from any thread, to a copy of the full-text index
        (papers_fts in its main schema), which the thread reads and closes; None: there is
        none (the terms are then read in write_related). Only the first call counts."""
        if not self._given:
            self._given = True
            self._copies.put(copy)

    def result(self):
        self.index_built(None)  # never wait for a copy nobody gives
        self._thread.join()
        return self._future.result()

    def _run(self, path):
        try:
            self._future.set_result(self._read(path))
        except BaseException as exc:  # raised by result(), on the build's thread
            self._future.set_exception(exc)

    def _read(self, path):
        try:
            conn = connect_read_only(path)
            try:
                ranker = _Ranker(conn, WEIGHTS)
                ranker.read_facts()
            finally:
                conn.close()
        except BaseException:
            copy = self._copies.get()  # always given: by the writer, or by result()
            if copy is not None:
                copy.close()
            raise
        copy = self._copies.get()
        ranker.conn = copy
        if copy is not None:
            try:
                with ranker:
                    ranker.load()
            finally:
                copy.close()
        ranker.conn = None
        return ranker


def write_related(writer, enabled=True, changes=None, progress=None, ahead=None):
    """Bring related_papers up to date with the database `writer` holds (empty when not
    `enabled`: `paperdb build --no-related`); returns the number of papers ranked.
    `ahead`: the ReadAhead of a full build (without `changes`).

    Without `changes` every paper is ranked. With the RelatedChanges of an incremental
    update, only the papers whose rows can differ are (module docstring), and the table
    ends up the same as a full build's."""
    if not enabled:
        writer.execute("DELETE FROM related_papers")
        return 0
    conn = writer.read_connection()
    with _Ranker(conn, WEIGHTS, ahead.result() if ahead else None) as ranker:
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
        _rank_beside(ranker, selected, lambda columns: _insert(writer, columns), conn)
    return ranked


def _insert(writer, columns):
    """Insert the rows of `columns` (the values of COLUMNS, a list each) into
    related_papers, INSERT_ROWS of them a statement."""
    width, rows = len(columns), len(columns[0])
    values = [None] * (width * rows)  # row by row, as the statements take them
    for i, column in enumerate(columns):
        values[i::width] = column
    step = width * INSERT_ROWS
    whole = rows // INSERT_ROWS * step
    writer.executemany(_INSERT_MANY_SQL, [values[i : i + step] for i in range(0, whole, step)])
    writer.executemany(
        INSERT_SQL, [values[i : i + width] for i in range(whole, len(values), width)]
    )


def _rank_beside(ranker, selected, insert, conn):
    """Rank the papers `selected` on a second thread, calling insert(columns) on this one
    for each batch as it comes (_Ranker.column_batches).

    The ranking is numpy's and the insert SQLite's, and both release the GIL for much of
    their time, so the two overlap (at 100k papers: 3.0 s one after the other, 2.4 s
    side by side). Only this thread uses `conn`: the few reads the ranking makes (the
    spellings of words) are handed to it. A batch is inserted whole before another is
    read, so no statement is left running on `conn` when the ranking ends."""
    handoff = queue.Queue(maxsize=1)
    stop = threading.Event()

    def fetch(sql, params):
        answer = Future()
        handoff.put((sql, params, answer))
        return answer.result()

    def rank():
        try:
            for batch in ranker.column_batches(selected, fetch):
                if stop.is_set():
                    break
                handoff.put(batch)
            handoff.put(_DONE)
        except BaseException as exc:  # handed to the caller's thread, raised there
            handoff.put(exc)

    worker = threading.Thread(target=rank, name="paperdb-related-rank", daemon=True)
    worker.start()
    try:
        while (item := handoff.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, tuple):
                sql, params, answer = item
                try:
                    answer.set_result(conn.execute(sql, params).fetchall())
                except BaseException as exc:
                    answer.set_exception(exc)
            else:
                insert(item)
    finally:
        stop.set()
        while worker.is_alive():  # let a worker blocked on a full queue or a read finish
            try:
                item = handoff.get(timeout=0.1)
            except queue.Empty:
                continue
            if isinstance(item, tuple):
                item[2].set_exception(PaperdbError("the build stopped"))
        worker.join()


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

    def __init__(self, conn, weights, ahead=None):
        """`ahead`: a _Ranker that read some inputs ahead (ReadAhead) on other connections."""
        self.conn = conn
        self.weights = weights
        self.found = {}  # term -> (df, its title and abstract holders), from _look_up
        if ahead is None:
            self.ids = array(
                "q", (pid for (pid,) in conn.execute("SELECT id FROM papers ORDER BY id"))
            )
            self.acronym_of = _acronym_terms(conn)
            self.topic_idf = _topic_weights(dict(conn.execute(_TOPIC_COUNTS_SQL)), len(self.ids))
            self.topic_slug = dict(conn.execute("SELECT id, slug FROM topics"))
            self.read_ahead = self.loaded_all = False
        else:  # all it read: ids, acronyms, topics, repositories; terms and postings if any
            self.__dict__.update({k: v for k, v in vars(ahead).items() if k != "conn"})

    def read_facts(self):
        """Every paper's strongest topics and the shared repositories, read now: what a
        full build ranks from beside the full-text index (ReadAhead)."""
        self._load_repos()
        self._load_topics()
        self.read_ahead = True

    def __enter__(self):
        self.conn.execute(
            "CREATE VIRTUAL TABLE temp.related_instance"
            " USING fts5vocab(main, papers_fts, 'instance')"
        )
        return self

    def __exit__(self, *exc):
        for table in ("related_terms", "related_wanted", "related_chosen"):
            self.conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
        for table in ("related_vocab", "related_instance"):
            self.conn.execute(f"DROP TABLE IF EXISTS temp.{table}")

    def ids_of(self, selected):
        return [self.ids[a] for a in range(len(self.ids)) if selected[a]]

    def load(self, selected=None):
        """Read the inputs of the ranking of the papers `selected` (a mask by dense number;
        None: all). Either way each paper's rows come out the same: its terms, their df and
        postings, and the topics and repositories of the papers it can meet are all read."""
        if len(self.ids) < 2 or (selected is None and self.loaded_all):
            return
        if selected is None:
            self._load_all()
        else:
            self._load_for(selected)
        terms = self.terms  # sorted
        self.acronym = {}
        for term, short in self.acronym_of.items():
            at = bisect_left(terms, term)
            if at < len(terms) and terms[at] == term:
                self.acronym[at] = short
        self.loaded_all = selected is None

    def rows(self, selected=None):
        """The rows of the papers `selected` (a mask by dense number; None: all), in
        (paper_id, rank) order, from what load() read for them (or for all)."""
        for columns in self.column_batches(selected):
            yield from zip(*columns, strict=True)

    def column_batches(self, selected=None, fetch=None):
        """rows(), for each CHUNK_PAPERS papers, as a list of each column's values (in the
        order of COLUMNS): what the inserts bind, without a tuple a row. `fetch(sql,
        params)` gives the rows of a query (default: on this ranker's connection)."""
        if len(self.ids) < 2:
            return
        self._fetch = fetch or (lambda sql, params: self.conn.execute(sql, params).fetchall())
        if selected is None:
            selected = bytes([1]) * len(self.ids)
        self.surface = list(self.terms)
        self._spelled = bytearray(len(self.terms))
        for listed in self._listed(selected):
            yield self._rows_of(listed)

    def _listed(self, selected):
        """What the papers `selected` (a mask by dense number) list: a _Listed for each
        CHUNK_PAPERS papers, in order.

        For each paper: its terms heaviest first (idf, a title word TITLE_BOOST times; ties
        by term), at most TERMS, taken until POOL candidates were walked; the papers holding
        them are its candidates, each with the sum of the weights of the terms it shares
        (and which: a bit for each). The POOL_SCORED best by that sum (ties: the one met
        first, by its first shared term, then by number) and the papers sharing a repository
        with it are scored on every signal (WEIGHTS); the MAX_RELATED best (ties by id) are
        listed, after SURE_RANKS only those scoring TAIL_SCORE or more.

        numpy does it a few thousand papers at a time, as arrays: it was a loop over the
        papers in Python, 3.4 s of a 7 s stage at 100k papers (docs/RELATED.md). The sums
        are added in the order the loop added them, so the scores are the same to the bit.
        """
        n = len(self.ids)
        start = np.frombuffer(self.start, dtype=np.int64)
        papers = np.frombuffer(self.papers, dtype=np.int64)
        counts = np.diff(start)
        wanted = np.frombuffer(bytes(selected), dtype=np.uint8) != 0
        # The postings turned around: each selected paper's terms, by paper. A term in one
        # paper's title or abstract only (the rest in aliases) finds no other.
        term_of = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        held = np.flatnonzero((counts[term_of] > 1) & wanted[papers])
        held = held[np.argsort(papers[held], kind="stable")]
        own = (
            papers[held].astype(np.int32),
            term_of[held].astype(np.int32),
            np.frombuffer(self.idf, dtype=np.float64)[term_of[held]]
            * np.where(np.frombuffer(self.in_title, dtype=np.uint8)[held] != 0, TITLE_BOOST, 1.0),
        )
        del term_of, held
        self.acronym_terms = np.zeros(len(counts), dtype=bool)
        self.acronym_terms[np.fromiter(self.acronym, dtype=np.int64, count=len(self.acronym))] = 1
        self._topic_arrays()
        partners = self._partner_keys()
        for lo in range(0, n, CHUNK_PAPERS):
            hi = min(n, lo + CHUNK_PAPERS)
            if wanted[lo:hi].any():
                first, last = np.searchsorted(own[0], (lo, hi))
                paper, term, weight = (column[first:last] for column in own)
                # Kept as 32-bit numbers until here (8 MB less at 1M papers).
                paper, term = paper.astype(np.int64), term.astype(np.int64)
                met = self._met(paper, term, weight, counts, start, papers)
                yield self._scored(met, partners, wanted, lo, hi)

    def _met(self, paper, term, weight, counts, start, papers):
        """The chosen terms of these papers, and the candidates they meet."""
        order = np.lexsort((term, -weight, paper))
        paper, term, weight = paper[order], term[order], weight[order]
        first, group = _groups(paper)
        position = np.arange(len(paper)) - first[group]
        walked = np.cumsum(counts[term]) - counts[term]
        walked -= walked[first][group]
        take = (position < TERMS) & (walked < POOL)
        chosen = _Chosen(paper[take], term[take], weight[take], position[take])
        # Each chosen term's papers: (paper, candidate) pairs, with the term's weight and bit.
        lengths = counts[chosen.term]
        entry = np.repeat(np.arange(len(lengths)), lengths)
        offsets = np.arange(len(entry)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        other = papers[start[chosen.term][entry] + offsets]
        mine = chosen.paper[entry]
        not_self = other != mine
        key = (mine * len(self.ids) + other)[not_self]
        bit, gained = chosen.bit[entry][not_self], chosen.weight[entry][not_self]
        order = np.argsort(key, kind="stable")  # by (paper, candidate), each by bit
        key, bit, gained = key[order], bit[order], gained[order]
        first, group = _groups(key)
        sums = _sums_in_order(len(first), group, gained, bit)
        shares = np.bitwise_or.reduceat(np.int64(1) << bit, first) if len(first) else bit
        return chosen, key[first], sums, shares, bit[first]

    def _scored(self, met, partners, wanted, lo, hi):
        """The _Listed of the papers lo..hi from what they met (_met)."""
        chosen, key, sums, shares, first_bit = met
        n = len(self.ids)
        w_words = self.weights.get("words", 0.0)
        w_topics = self.weights.get("topics", 0.0)
        w_repo = self.weights.get("repo", 0.0)
        w_acronym = self.weights.get("acronym", 0.0)
        paper = key // n
        pool = np.ones(len(key), dtype=bool)
        if w_words:
            # Beyond POOL_SCORED candidates, the best by words only. `key` is in (paper,
            # candidate) order and lexsort is stable: ties go to the one met first.
            crowded = np.flatnonzero(
                np.bincount(paper - lo, minlength=hi - lo)[paper - lo] > POOL_SCORED
            )
            order = crowded[np.lexsort((first_bit[crowded], -sums[crowded], paper[crowded]))]
            first, group = _groups(paper[order])
            pool[order[np.arange(len(order)) - first[group] >= POOL_SCORED]] = False
        ours = partners[np.searchsorted(partners, lo * n) : np.searchsorted(partners, hi * n)]
        ours = ours[wanted[ours // n]] if len(ours) else ours
        at = np.minimum(np.searchsorted(key, ours), max(len(key) - 1, 0))
        known = (key[at] == ours) & pool[at] if len(key) else np.zeros(len(ours), dtype=bool)
        pair, extra = key[pool], ours[~known]  # both sorted: merged in (paper, id) order
        if len(extra):
            pair = np.insert(pair, np.searchsorted(pair, extra), extra)
        at = np.minimum(np.searchsorted(key, pair), max(len(key) - 1, 0))
        met = key[at] == pair if len(key) else np.zeros(len(pair), dtype=bool)
        words = np.where(met, sums[at] if len(key) else 0.0, 0.0)
        bits = np.where(met, shares[at] if len(key) else 0, 0)
        repo = np.isin(pair, ours, assume_unique=True) if len(ours) else np.zeros(len(pair), bool)
        paper, other = pair // n, pair % n
        total = _sums_in_order(hi - lo, chosen.paper - lo, chosen.weight, chosen.bit)[paper - lo]
        score = words * np.where(total != 0, w_words / np.where(total != 0, total, 1.0), 0.0)
        if w_topics:
            score = self._topic_scores(score, paper, other, w_topics)
        if w_repo:
            score = np.where(repo, score + w_repo, score)
        if w_acronym:
            acronym_bits = np.zeros(hi - lo, dtype=np.int64)
            is_acronym = self.acronym_terms[chosen.term]
            np.bitwise_or.at(
                acronym_bits, chosen.paper[is_acronym] - lo, np.int64(1) << chosen.bit[is_acronym]
            )
            score = np.where(bits & acronym_bits[paper - lo] != 0, score + w_acronym, score)
        keep = score > 0
        pair, score, bits, repo = pair[keep], score[keep], bits[keep], repo[keep]
        order = np.lexsort((-score, pair // n))  # `pair` is in (paper, id) order: ties by id
        pair, score, bits, repo = pair[order], score[order], bits[order], repo[order]
        first, group = _groups(pair // n)
        rank = np.arange(len(pair)) - first[group] + 1
        thousandths = np.rint(score * 1000).astype(np.int64)
        keep = (rank <= MAX_RELATED) & ((rank <= SURE_RANKS) | (thousandths >= TAIL_SCORE))
        return _Listed(
            pair[keep], rank[keep], thousandths[keep], bits[keep], repo[keep], chosen, lo, hi
        )

    def _topic_arrays(self):
        """Each paper's strongest topics as arrays (n, TOPICS_KEPT): their ids (0: none),
        their scores up to 255, and their ids strongest first (by weight, then id). Made
        CHUNK_PAPERS papers at a time: whole, the intermediate arrays took 160 MB at 1M
        papers."""
        n = len(self.ids)
        self.topic_band = np.zeros(65536, dtype=np.int64)
        self.topic_band[list(self.topic_idf)] = list(self.topic_idf.values())
        self.topic_slots = np.zeros((n, TOPICS_KEPT), dtype=np.uint16)
        self.topic_slot_scores = np.zeros((n, TOPICS_KEPT), dtype=np.uint8)
        self.topics_strongest = np.zeros((n, TOPICS_KEPT), dtype=np.uint16)
        shifts = np.arange(0, 16 * TOPICS_KEPT, 16, dtype=np.uint64)
        mask = np.uint64(0xFFFF)
        packed_ids = np.frombuffer(self.topic_ids, dtype=np.uint64)
        packed_scores = np.frombuffer(self.topic_scores, dtype=np.uint64)
        for lo in range(0, n, CHUNK_PAPERS):
            part = slice(lo, lo + CHUNK_PAPERS)
            ids = (packed_ids[part, None] >> shifts & mask).astype(np.int64)
            self.topic_slots[part] = ids
            self.topic_slot_scores[part] = packed_scores[part, None] >> shifts & mask
            weight = self._topic_weights(self.topic_slots[part], self.topic_slot_scores[part])
            strength = np.where(ids != 0, -weight * 65536 + ids, np.iinfo(np.int64).max)
            order = np.argsort(strength, axis=1, kind="stable")
            self.topics_strongest[part] = np.take_along_axis(ids, order, axis=1)

    def _topic_weights(self, ids, scores):
        """The weights (idf band x score; 0 for no topic) of topic slots: whole numbers, so
        their sums are exact in any order."""
        return np.where(ids != 0, self.topic_band[ids] * scores, 0)

    def _topic_scores(self, score, paper, other, w_topics):
        """`score` plus the topics part: the share of the paper's topic weight the other's
        topics hold, times w_topics."""
        mine, theirs = self.topic_slots[paper], self.topic_slots[other]
        weight = self._topic_weights(mine, self.topic_slot_scores[paper])
        held = np.where(_held(mine, theirs), weight, 0).sum(axis=1)  # none (0) weighs 0
        total = weight.sum(axis=1)
        scale = np.where(total != 0, w_topics / np.where(total != 0, total, 1), 0.0)
        has_topics = np.frombuffer(self.topic_ids, dtype=np.uint64)[other] != 0
        return np.where((scale != 0) & has_topics, score + scale * held, score)

    def _partner_keys(self):
        """The (paper, partner) pairs sharing a repository, as sorted keys paper * n +
        partner; their names go to self.partner_name."""
        n = len(self.ids)
        self.partner_name = {
            a * n + b: name for a, names in self.repo_partners.items() for b, name in names.items()
        }
        return np.array(sorted(self.partner_name), dtype=np.int64)

    def _rows_of(self, listed):
        """The columns (COLUMNS) of the rows of a _Listed, with what each pair shares
        spelled out."""
        n = len(self.ids)
        paper, other = listed.pair // n, listed.pair % n
        chosen = listed.chosen
        terms = np.full((listed.hi - listed.lo, TERMS), -1, dtype=np.int64)
        terms[chosen.paper - listed.lo, chosen.bit] = chosen.term
        terms = terms[paper - listed.lo]
        shared = (listed.bits[:, None] >> np.arange(TERMS) & 1).astype(bool) & (terms >= 0)
        acronyms = shared & self.acronym_terms[terms]
        words = _first(terms, shared & ~acronyms, WORDS_SHOWN)
        acronyms = _first(terms, acronyms, WORDS_SHOWN)
        self._load_surfaces(np.unique(words[words >= 0]))
        strongest = self.topics_strongest[paper]
        held = _held(strongest, self.topic_slots[other])
        topics = _first(strongest, held & (strongest != 0), TOPICS_SHOWN)
        repos = [""] * len(paper)
        for i in np.flatnonzero(listed.repo).tolist():
            repos[i] = self.partner_name[int(listed.pair[i])]
        ids = np.frombuffer(self.ids, dtype=np.int64)
        return [
            ids[paper].tolist(),
            ids[other].tolist(),
            listed.rank.tolist(),
            listed.score.tolist(),
            _labels(words, self.surface),
            _labels(topics, self.topic_slug),
            repos,
            _labels(acronyms, self.acronym),
        ]

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
        terms, self.idf = [], array("d")
        for term, df in conn.execute(_TERMS_SQL, (MAX_DF,)):
            if _kept(term, df):
                terms.append(term)
                self.idf.append(_idf(df))
        conn.executemany(
            "INSERT INTO temp.related_terms (id, term) VALUES (?, ?)", enumerate(terms)
        )
        self.terms = terms
        # Postings, term by term: papers[start[t]:start[t + 1]], with a title flag each.
        postings = np.fromiter(
            chain.from_iterable(conn.execute(_POSTINGS_SQL)), dtype=np.int64
        ).reshape(-1, 2)
        ids = np.frombuffer(self.ids, dtype=np.int64)
        dense = np.searchsorted(ids, postings[:, 1])
        papers = ids[np.minimum(dense, len(ids) - 1)] == postings[:, 1]
        if not papers.all():  # a row of the index with no paper: `paperdb check` says
            postings, dense = postings[papers], dense[papers]
        self.papers = dense
        self.start = np.searchsorted(postings[:, 0] >> 1, np.arange(len(terms) + 1))
        self.in_title = (postings[:, 0] & 1).astype(np.uint8)
        if not self.read_ahead:
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

    def _load_surfaces(self, needed):
        """Each term in `needed` as a reader wrote it (a stem: 'hardwar' -> 'hardware'): as
        the first paper holding it writes it; the term itself where it is not found there."""
        start, papers, terms = np.asarray(self.start), np.asarray(self.papers), self.terms
        needed = np.asarray(needed, dtype=np.int64)
        spelled = np.frombuffer(self._spelled, dtype=np.uint8)
        # A term in aliases only is never a reason.
        needed = needed[(spelled[needed] == 0) & (start[needed] < start[needed + 1])]
        spelled[needed] = 1
        by_paper = {}
        for term, holder in zip(needed.tolist(), papers[start[needed]].tolist(), strict=True):
            by_paper.setdefault(holder, []).append(term)
        texts = self._fetch(
            "SELECT id, title || ' ' || abstract FROM papers"
            " WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (json.dumps([self.ids[paper] for paper in sorted(by_paper)]),),
        )
        for paper, (_, text) in zip(sorted(by_paper), texts, strict=True):
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


_Chosen = namedtuple("_Chosen", "paper term weight bit")  # a paper's chosen terms, bit = order
# What papers lo..hi list: pair = paper * n + related (dense numbers), in (paper, rank)
# order, with rank, score in thousandths, the bits of the chosen terms shared, whether
# they share a repository, and the chosen terms of the papers.
_Listed = namedtuple("_Listed", "pair rank score bits repo chosen lo hi")


def _groups(values):
    """(where each run of equal `values` starts, the run of each value)."""
    starts = np.ones(len(values), dtype=bool)
    starts[1:] = values[1:] != values[:-1]
    return np.flatnonzero(starts), np.cumsum(starts) - 1


def _sums_in_order(size, at, values, level):
    """sums[at[i]] += values[i], level 0 first, then 1...: the order a loop over each
    paper's terms, heaviest first, adds them in (float sums depend on it). An `at` holds
    each level once at most."""
    sums = np.zeros(size)
    for taken in range(TERMS):
        now = level == taken
        sums[at[now]] += values[now]
    return sums


def _held(topics, theirs):
    """(rows, TOPICS_KEPT): whether each of a row's `topics` is among its `theirs`."""
    held = np.empty(topics.shape, dtype=bool)
    for i in range(TOPICS_KEPT):
        held[:, i] = theirs[:, 0] == topics[:, i]
        for j in range(1, TOPICS_KEPT):
            held[:, i] |= theirs[:, j] == topics[:, i]
    return held


def _first(values, mask, k):
    """Of each row of `values`, the first k values where `mask` is set; -1 for none."""
    first = np.full((len(values), k), -1, dtype=np.int64)
    found = np.zeros(len(values), dtype=np.int64)
    for column in range(values.shape[1]):
        take = np.flatnonzero(mask[:, column] & (found < k))
        first[take, found[take]] = values[take, column]
        found[take] += 1
    return first


def _labels(values, spell):
    """Each row of `values` (-1: none, after the others) as one text: its values spelled
    by `spell`, joined by ', '. Each distinct row is spelled once."""
    if not len(values):
        return []
    base = int(values.max()) + 2
    if base ** values.shape[1] < 2**63:  # a row as one number: np.unique sorts it faster
        key = np.zeros(len(values), dtype=np.int64)
        for column in values.T:
            key = key * base + (column + 1)
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    else:
        _, first, inverse = np.unique(values, axis=0, return_index=True, return_inverse=True)
    distinct = values[first]
    if isinstance(spell, dict):  # only the values found: a dict's keys may be any numbers
        names = sorted(set(distinct[distinct >= 0].tolist()))
        spelled = np.array([spell[v] for v in names] + [""], dtype=object)
        distinct = np.where(distinct >= 0, np.searchsorted(names, distinct), -1)
    else:
        spelled = np.array([*spell, ""], dtype=object)  # -1 is the last: ''
    texts = spelled[distinct[:, 0]]
    for column in distinct.T[1:]:
        more = column >= 0
        texts[more] = texts[more] + ", " + spelled[column[more]]
    return texts[inverse.reshape(-1)].tolist()


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
