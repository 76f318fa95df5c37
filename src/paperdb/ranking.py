"""How search ranks: a soft AND over the query's terms, scored by what each paper holds.

A strict AND misses papers that say all but one of a query's words; bm25 alone lets one title
word outrank an abstract about the whole query. So search.py's terms are scored paper by
paper, over a bounded pool of candidates:
- coverage: the share of the query's idf weight the paper holds (a rare word weighs most). A
  paper must hold most of it (MIN_COVERAGE), so a query about something absent, whose rare
  words match nowhere, still finds nothing;
- exact case: a word typed with capitals inside it or all in capitals (SAM, CLIP, LoRA)
  counts fully only where the paper writes it that way; "clipping" is not CLIP;
- where: the share of the weight held in the title, and whether the words stand close
  together (FTS5 NEAR);
- topics: when the query names a topic of the taxonomy (one of its acronyms as written, or
  one of its phrases whatever the endings of the words), being about that topic holds the
  words that name it, and the more so (paper_topics.score) the higher it ranks: a query for
  "medical imaging" finds papers that say CT, MRI and tumor;
- the thesaurus (thesaurus.py): when the query holds a phrase of one of its entries, a paper
  writing what the entry says papers write instead holds the words of that phrase
  ("speech-to-text": speech recognition, ASR), and where it holds them only that way, how
  strongly it says so orders it;
- bm25 over all the terms, weighted by column, to order what the rest leaves equal.
The pool is the best bm25 matches of the strict AND, of the OR of the terms (of the rare
ones only, when the common ones would make the OR scan much of the corpus), the strongest
members of the named topics and the best matches of the thesaurus entries named (at most
MAX_SENSES): a bounded number of papers, whatever the corpus size.
The weights were chosen on the tune split of tests/fixtures/search_judgments.json with
benchmarks/search_tune.py, and are measured with benchmarks/search_eval.py (docs/SEARCH.md).
"""

import json
import math
import re
import sqlite3
import threading
from dataclasses import dataclass

from . import thesaurus
from .acronyms import LINKING_WORDS, normalize_long, normalize_short
from .schema import fts_tokenize
from .textmatch import PhraseSet
from .textmatch import crude_stem as _crude_stem
from .textmatch import is_cased as _is_cased
from .textmatch import spelled as _spelled
from .textmatch import words as _words
from .topics import THRESHOLD as TOPIC_THRESHOLD

# bm25's column weights: title, abstract, aliases. schema.sql stores them as the FTS5 rank
# option too (a test keeps the two equal), so ORDER BY rank in any client weighs the same.
COLUMN_WEIGHTS = (10.0, 1.0, 0.5)
WEIGHT_LIST = ", ".join(str(w) for w in COLUMN_WEIGHTS)
BM25 = f"bm25(papers_fts, {WEIGHT_LIST})"
POOL = 30  # best matches taken from each source of candidates (or the limit, if larger)
# Counting a term's papers stops here: past it, every term is common and weighs alike.
# Counting costs a pass over the term's postings; 2,000 keeps that to a few ms at 1M papers.
DF_CAP = 2_000
RARE_SHARE = 0.1  # a term in at most this share of papers is rare
OR_SCAN_LIMIT = 20_000  # papers an OR may score before it keeps to the rare terms
MIN_COVERAGE = 0.75  # share of the query's weight a paper must hold to be a hit, or
LOW_COVERAGE = 0.5  # this share, when it holds the query's rarest terms (RAREST_SHARE)
RAREST_SHARE = 0.9  # a term weighing this share of the heaviest one is one of the rarest
NEAR_DISTANCE = 10  # tokens between the query's words that count as "close together"
PARTIAL_NEAR = 3  # tokens between the rarest word and another, for a partial match
PARTNER_SHARE = 0.3  # that other word weighs at least this share of the rarest (not "the")
BACKFILL_UNITS = 3  # a query of this many units or more is completed by papers missing one
BACKFILL_COVERAGE = 0.3  # ... that hold at least this share of its weight
TOPIC_SCORE_FULL = TOPIC_THRESHOLD  # a paper_topics score at which membership counts fully
TOPIC_SCORE_STRONG = 6  # ... and at which WEIGHTS["topic"] counts fully
EXACT_CASE_MISMATCH = 0.5  # credit for a case-sensitive word written another way
PREFIX_MISMATCH = 0.2  # credit for a prefix found only through a word's porter stem
WORDS_APART = 0.7  # credit for a multi-word unit's words held apart, not as the phrase
SYNONYM = 1.0  # credit for words held as the thesaurus says papers write them
MAX_SPLIT_WORDS = 4  # a longer compound no paper writes stays one unit
MAX_UNITS = 12  # a split never makes a query of more units than this (search.MAX_TERMS)
MAX_SENSES = 4  # thesaurus entries one query may use: each is one more search of the index
FEEDBACK_ANSWERS = 5  # best answers whose related papers complete a query's hits (0: none)
WEIGHTS = {  # added to coverage (0..1); chosen on the tune split
    "title": 0.1,
    "near": 0.15,
    "bm25": 0.25,
    "topic": 0.05,
    "sense": 0.2,
}


@dataclass
class Unit:
    """One scored part of the query: a search.Term with its weight and exact form."""

    term: object
    fts: str
    weight: float = 0.0
    frequency: int = 0
    exact: re.Pattern | None = None  # for case-sensitive words: where the paper writes it so

    @property
    def loose(self):
        """Its words anywhere in the paper, for a multi-word unit not typed in quotes."""
        words = self.term.words
        if self.term.prefix or self.term.phrase or len(words) < 2:
            return None
        return " AND ".join(quote(w) for w in words)

    @property
    def primary(self):
        """The words as typed, as one FTS5 phrase (NEAR takes phrases, not alternatives)."""
        return None if self.term.prefix else quote(" ".join(self.term.words))


def rank(db, text, terms, limit, topic_id=None, snippet=("[", "]", "…", 24)):
    """[(paper id, score, 'all', 'partial' or 'related', snippet or None)], best first.

    `snippet` is (mark start, mark end, ellipsis, tokens) for FTS5's snippet() of the
    abstract; a paper found through its topic alone, or as related to the best answers
    (_related_to_answers), may have none (no word of the query in it).
    """
    total = db.execute("SELECT count(*) FROM papers").fetchone()[0] or 1
    units = _split_unfound(db, _units(db, terms))
    for unit in units if len(units) > 1 else ():  # one term: its weight decides nothing
        unit.weight = math.log((total + 1) / (_frequency(db, unit, DF_CAP) + 0.5))
    if len(units) == 1:
        units[0].weight = 1.0
    topics = named_topics(db, text)
    senses = _senses(units, text)
    pool = _pool(db, units, topics, senses, topic_id, total, max(POOL, limit))
    if not pool:
        return []
    answers, partial, scratch = _score(db, units, topics, senses, pool)
    answers.sort(key=lambda item: (-item[1], item[0]))
    # A query some papers answer is completed, below them, by papers holding all of its
    # words but one and by papers related to its best answers; a query no paper answers
    # still finds nothing.
    if answers:
        if not any(u.term.prefix or u.term.phrase for u in units):  # those ask for the words
            partial += _related_to_answers(db, answers, partial, topic_id)
        partial.sort(key=lambda item: (-item[1], item[0]))
        answers += partial
    scored = answers[:limit]
    # The scratch index holds these papers: their snippets cost nothing there, where the big
    # index would expand a prefix again for each (trans*: 480 ms at 100k papers).
    ids = [s[0] for s in scored]
    snippets = scratch.snippets(" OR ".join(u.fts for u in units), ids, snippet)
    # A paper holding none of the words, found through the thesaurus: what it says instead.
    unmarked = [pid for pid in ids if pid not in snippets]
    if unmarked and senses:
        marked = " OR ".join(sense.fts for sense, _ in senses)
        snippets.update(scratch.snippets(marked, unmarked, snippet))
    return [(pid, value, match, snippets.get(pid)) for pid, value, match in scored]


def _units(db, terms):
    """The query's scored units: its terms, with a typed long form and its acronym as one."""
    units, i = [], 0
    while i < len(terms):
        found = _long_form_at(db, terms, i)
        if found:
            width, short, defined = found
            words = tuple(w for t in terms[i : i + width] for w in t.words)
            merged = type(terms[i])(words)
            spellings = dict.fromkeys([" ".join(words), defined, short])
            fts = "(" + " OR ".join(quote(s) for s in spellings) + ")"
            # The short form counts as written ("NAS", not the "nas" of another word).
            exact = _written(short, [" ".join(words), defined])
            units.append(Unit(term=merged, fts=fts, exact=exact))
            i += width
            continue
        units.append(_unit(terms[i], _long_form_of(db, terms[i])))
        i += 1
    return units


def _split_unfound(db, units):
    """The units, a hyphenated compound that no paper writes ("low-budget") replaced by its
    words, each a unit of its own ("budget" is written): as one unit it would weigh most and
    be held by no paper. A phrase typed in quotes asks for itself and is kept."""
    split, seen = [], {tuple(w.lower() for w in u.term.words) for u in units}
    for i, unit in enumerate(units):
        term = unit.term
        words = [w for w in term.words if w.lower() not in LINKING_WORDS]
        if (
            1 < len(term.words) <= MAX_SPLIT_WORDS
            and len(split) + len(words) + len(units) - i - 1 <= MAX_UNITS
            and not (term.prefix or term.phrase or unit.exact)
            and _frequency(db, unit, DF_CAP) == 0
        ):
            for word in words:
                if (word.lower(),) not in seen:
                    seen.add((word.lower(),))
                    split.append(_unit(type(term)((word,))))
        else:
            split.append(unit)
    return split


def _long_form_of(db, term):
    """The long form of a typed acronym: as the corpus defines it (written exactly so), or
    as the taxonomy spells it out."""
    if term.phrase or not _typed_cased(term):
        return None
    row = db.execute(
        "SELECT long FROM acronyms WHERE short = ? ORDER BY used_for_search DESC, papers DESC,"
        " long LIMIT 1",
        [term.words[0]],
    ).fetchone()
    return row[0] if row else _Taxonomy.of(db).long_forms.get(normalize_short(term.words[0]))


def _unit(term, long_form=None):
    """The unit for a typed term; an acronym also finds its long form, as the reverse does."""
    exact = None
    if term.prefix:
        stem = re.escape(" ".join(term.words))
        exact = re.compile(rf"(?<![^\W_]){stem}", re.I)
        return Unit(term=term, fts=prefix_fts(term.words), exact=exact)
    if _typed_cased(term):
        exact = _written(term.words[0], [long_form] if long_form else [])
    if long_form:
        return Unit(term=term, fts=f"({term.fts()} OR {quote(long_form)})", exact=exact)
    return Unit(term=term, fts=term.fts(), exact=exact)


def _written(short, long_forms):
    """Where a paper writes the short form exactly as typed (a plural allowed), or one of the
    long forms in any case, whatever its words' endings."""
    pattern = rf"(?<![^\W_]){re.escape(short)}(?:s|es)?(?![^\W_])"
    spelled = "|".join(_spelled(f) for f in dict.fromkeys(long_forms))
    if spelled:
        pattern += rf"|(?i:(?<![^\W_])(?:{spelled}))"
    return re.compile(pattern)


# The index holds porter stems, so a typed prefix may reach into what porter strips:
# "extrapolat*" must find "extrapolation", stored as "extrapol". The prefix is also searched
# as the stem without these endings, exactly: a word whose stem porter cut shorter than what
# was typed has that stem, and as a prefix the stem would reach much further ("tran*" for
# "trans*" doubled its cost at 100k papers). The exact check on the text (Unit.exact) then
# keeps the credit for papers that write a word starting with what was typed.
PORTER_CUTS = ("ational", "ation", "ization", "isation", "izing", "ising", "ize", "ise",
               "ate", "at", "iz", "is", "ing", "ed", "er", "e", "y", "i", "s")  # fmt: skip


def prefix_fts(words):
    """The FTS5 query for a typed prefix (its words, the last one open-ended)."""
    typed = " ".join(words)
    options = [quote(typed) + "*"]
    if len(words) == 1:
        lower = typed.lower()
        for cut in PORTER_CUTS:
            if lower.endswith(cut) and len(lower) - len(cut) >= 4:
                option = quote(typed[: -len(cut)])
                if option not in options:
                    options.append(option)
    return options[0] if len(options) == 1 else "(" + " OR ".join(options) + ")"


def quote(text):
    """An FTS5 string: whatever it holds is words, never syntax."""
    return '"' + text.replace('"', '""') + '"'


LONG_FORM_WORDS = (2, 6)  # the shortest and longest long forms looked up
MIN_HEAD = 2  # letters of a first word's stem worth a lookup
MAX_LONG_FORMS = 2_000  # long forms sharing a first word's stem, read at most


def _stems(words):
    return tuple(_crude_stem(w) for w in words.split())


def _long_form_key(words):
    """A long form's word stems without its linking words: a search drops a typed "of"
    ("chain of thought" is searched as chain, thought), and a reader may leave it out."""
    return tuple(_crude_stem(w) for w in words.split() if w.lower() not in LINKING_WORDS)


def _long_form_at(db, terms, start):
    """(terms it spans, short form, long form as defined) when terms[start:] begin with a
    known long form.

    The acronyms table holds every "long form (SHORT)" the corpus defines. A typed long
    form matches whatever its words' endings ("low-rank adapters" is "low rank adaptation",
    "rotary position embedding" is "rotary positional embeddings"): the candidates are the
    long forms starting with the first word's stem, a range over the index on acronyms.long.
    """
    if terms[start].prefix or terms[start].phrase:
        return None
    first = _crude_stem(terms[start].words[0])
    if len(first) < MIN_HEAD:
        return None
    rows = db.execute(
        "SELECT short, long, used_for_search, papers FROM acronyms WHERE long >= ? AND long < ?"
        " LIMIT ?",
        [first, first + "\uffff", MAX_LONG_FORMS],
    ).fetchall()
    rows.sort(key=lambda row: (-row[2], -row[3], row[0], row[1]))
    by_stems = {}
    for short, long_form, _, _ in rows:
        by_stems.setdefault(_long_form_key(long_form), (short, long_form))
    for stems, known in _Taxonomy.of(db).by_stems.items():
        by_stems.setdefault(stems, known)
    low, high = LONG_FORM_WORDS
    for end in range(min(len(terms), start + high), start, -1):
        span = terms[start:end]
        words = [w for t in span for w in t.words]
        if any(t.prefix or t.phrase for t in span) or not low <= len(words) <= high:
            continue
        found = by_stems.get(_long_form_key(" ".join(words)))
        if found:
            return end - start, *found
    return None


def _senses(units, text):
    """[(thesaurus Sense, [numbers of the units it covers])] for the entries the query
    names, at most MAX_SENSES: a unit is covered when its words are among the words of the
    entry's phrase (not a prefix or a phrase in quotes: those ask for their words)."""
    found = []
    for sense in thesaurus.bundled().senses(text):
        covered = _covered(units, sense.words)
        if covered:
            found.append((sense, covered))
    return found[:MAX_SENSES]


def _covered(units, words):
    """The numbers of the units whose words are all among `words`, endings aside (a topic's
    or a thesaurus entry's words). A prefix or a phrase typed in quotes asks for its own
    words: never covered."""
    stems = {_crude_stem(w) for w in words}
    return [
        i
        for i, u in enumerate(units)
        if not (u.term.prefix or u.term.phrase) and {_crude_stem(w) for w in u.term.words} <= stems
    ]


def _in_topic(paper_id):
    """SQL keeping the rows whose `paper_id` (a column) has the topic :topic_id, looked up by
    key for each row. As `paper_id IN (SELECT paper_id FROM paper_topics ...)` SQLite listed
    the topic's papers first: a full-text search was then driven from that list, FTS5
    running the MATCH again for each paper (42 s for "efficient attention" in
    "architectures" at 100k papers), and related_papers took 235 ms at 1M (0.06 ms now)."""
    return (
        "AND EXISTS (SELECT 1 FROM paper_topics"
        f" WHERE paper_id = {paper_id} AND topic_id = :topic_id)"
    )


TOPIC_FILTER = _in_topic("papers_fts.rowid")  # for a search of papers_fts within a topic


def _pool(db, units, topics, senses, topic_id, total, size):
    """{paper id: its bm25 score (higher is better)} for the candidates worth scoring."""
    restrict = f" {TOPIC_FILTER}" if topic_id is not None else ""
    sources = [" AND ".join(u.fts for u in units)]
    if len(units) > 1:
        ored = units
        # A count that stopped at DF_CAP is a common term: an OR with it scans much of the
        # corpus (at 100k papers, "memory OR efficient": 140 ms, the floor's AND: 16 ms).
        common = any(u.frequency >= DF_CAP for u in units)
        if common or sum(u.frequency for u in units) > OR_SCAN_LIMIT:
            ored = [u for u in units if u.frequency < DF_CAP and u.frequency <= RARE_SHARE * total]
        if ored:
            sources.append(" OR ".join(u.fts for u in ored))

    def best_matches(query):
        return db.execute(
            f"SELECT rowid, -{BM25} AS score FROM papers_fts"
            f" WHERE papers_fts MATCH :q{restrict} ORDER BY score DESC, rowid LIMIT {int(size)}",
            {"q": query, "topic_id": topic_id},
        ).fetchall()

    found = {}
    if len(units) == 1:
        # One unit that enough titles hold: its candidates are the best of those. bm25 of every
        # paper holding a common word is most of a search's time (at 100k papers "transformer"
        # 70 ms, the floor's whole query 63 ms); of those holding it in the title, 31 ms. The
        # named topics and thesaurus entries below still bring in papers saying it elsewhere.
        titled = best_matches(f"{{title}} : ({sources[0]})")
        if len(titled) == size:
            found.update(titled)
            sources = []
    # The OR's bm25 (last) is the one kept: it scores every paper on all its terms.
    for query in sources:
        found.update(best_matches(query))
    for named in topics:  # each through the index on (topic_id, score): its strongest papers
        rows = db.execute(
            "SELECT paper_id FROM paper_topics AS named WHERE topic_id = :named"
            + (f" {_in_topic('named.paper_id')}" if topic_id is not None else "")
            + f" ORDER BY score DESC LIMIT {int(size)}",
            {"named": named, "topic_id": topic_id},
        )
        for (pid,) in rows:
            found.setdefault(pid, 0.0)
    # Papers saying it another way (their own bm25 is not comparable), sought only where a
    # word the entry covers is found in fewer papers than the pool holds: where the words
    # themselves fill the pool, a search of the entry's phrases (an OR of up to 16, some
    # common: CNN, ViT) cost more than the rest of the query (p95 at 100k: 47 -> 75 ms).
    for sense, covered in senses:
        if min(_frequency(db, units[i], size) for i in covered) >= size:
            continue
        rows = db.execute(
            f"SELECT rowid FROM papers_fts WHERE papers_fts MATCH :q{restrict}"
            f" ORDER BY {BM25}, rowid LIMIT {int(size)}",
            {"q": sense.fts, "topic_id": topic_id},
        )
        for (pid,) in rows:
            found.setdefault(pid, 0.0)
    return found


def _frequency(db, unit, cap):
    """The papers the unit matches, counted up to `cap` (a count rank() made, if any)."""
    if not unit.frequency:
        (unit.frequency,) = db.execute(
            "SELECT count(*) FROM (SELECT 1 FROM papers_fts WHERE papers_fts MATCH ? LIMIT ?)",
            [unit.fts, cap],
        ).fetchone()
    return unit.frequency


def _score(db, units, topics, senses, pool):
    """([(paper id, score, match)] of the papers of the pool that hold enough of the query,
    the same of those holding all of its words but one (scored 1 lower), the scratch index).

    What each paper holds is asked of a scratch index of the pool's own texts (_Scratch):
    FTS5 has no cheap way to ask "which of these terms does each of these rows hold" of the
    big index (a MATCH restricted to a list of rowids repeats its work for every rowid:
    seconds at 100k papers), and the scratch index tokenizes and stems exactly as it does.
    """
    texts, ids = {}, list(pool)
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        marks = ", ".join("?" for _ in part)
        for pid, title, abstract, aliases in db.execute(
            f"SELECT id, title, abstract, aliases FROM papers WHERE id IN ({marks})", part
        ):
            texts[pid] = (title, abstract, aliases)
    scratch = _Scratch.filled(texts)
    held = {pid: [0.0] * len(units) for pid in texts}
    in_title = {pid: [False] * len(units) for pid in texts}
    for i, unit in enumerate(units):
        # "pre-trained BERT models for a low-resource language" is about a typed
        # "pretrained language model" without writing the phrase: its words count in part.
        if unit.loose:
            for pid in scratch.matching(unit.loose):
                held[pid][i] = WORDS_APART
        for pid in scratch.matching(unit.fts):
            held[pid][i] = 1.0
        for pid in scratch.matching(f"title : ({unit.fts})"):
            in_title[pid][i] = True
    at_most = {}  # unit number -> the credit of a paper not writing it as typed
    for i, unit in enumerate(units):
        if unit.exact is None:
            continue
        written = {pid for pid in texts if held[pid][i] and unit.exact.search(" ".join(texts[pid]))}
        # The exact form is preferred where the pool has it: NOT typed in capitals still
        # finds "not" when no paper writes NOT.
        if not written and not unit.term.prefix:
            continue
        miss = at_most[i] = PREFIX_MISMATCH if unit.term.prefix else EXACT_CASE_MISMATCH
        for pid in texts:
            if held[pid][i] and pid not in written:
                held[pid][i] = miss
    # Of those, the acronyms typed in capitals. A typed long form is searched with its acronym
    # too, but the reader typed words: what a thesaurus entry naming them says counts as they
    # do ("recurrent neural networks": papers writing LSTM). A topic is broader than an
    # acronym, so a typed long form still caps what its members get for it (at_most): the
    # long-context topic's papers are not what "rotary position embedding" asks for.
    typed_cased = {i: c for i, c in at_most.items() if _typed_cased(units[i].term)}
    best_bm25 = max(pool.values(), default=0.0) or 1.0
    phrases = [u.primary for u in units if u.primary]
    near = set()
    if len(phrases) > 1:
        near = scratch.matching(f"NEAR({' '.join(phrases)}, {NEAR_DISTANCE})")
    # A paper of a named topic holds the words that name it, and the stronger it is about it
    # the higher it ranks (WEIGHTS["topic"]): "pruning" is held by a paper about pruning, not
    # by one about another topic the query names ("large language models"). Membership
    # counts fully: a paper holds a topic only when it says so clearly (topics.THRESHOLD),
    # and scaling the credit by the score lost such papers ("astronomy": a paper on stellar
    # pulsations says "stellar" three times) on both judged splits (docs/SEARCH.md).
    naming = {}  # unit number -> the named topics whose words cover it
    for topic, words in topics.items():
        for i in _covered(units, words):
            naming.setdefault(i, []).append(topic)
    # A paper writing what an entry of the thesaurus means holds the words its phrase covers.
    # A paper holding the words only this way: how strongly it says what the entry means
    # (bm25 among the pool, against the strongest) orders it, not above the papers writing an
    # acronym typed in capitals (typed_cased).
    saying_strength = {}
    direct = {pid: list(held[pid]) for pid in texts} if senses else {}
    for sense, covered in senses:
        found = scratch.weighted(sense.fts)
        saying = {pid for pid in found if sense.written.search(" ".join(texts[pid]))}
        titled = {pid for pid in found if sense.written.search(texts[pid][0])}
        best = max((found[pid] for pid in saying), default=0.0) or 1.0
        for pid in saying:
            missing = [i for i in covered if direct[pid][i] < 1.0]
            if missing and not any(i in typed_cased for i in missing):
                saying_strength[pid] = max(saying_strength.get(pid, 0.0), found[pid] / best)
            for i in covered:
                held[pid][i] = max(held[pid][i], SYNONYM)
                in_title[pid][i] = in_title[pid][i] or pid in titled
    scores = {}  # (paper id, topic id): paper_topics.score
    if naming:
        topic_marks = ", ".join(str(int(t)) for t in topics)
        marks = ", ".join("?" for _ in texts)
        for pid, tid, value in db.execute(
            f"SELECT paper_id, topic_id, score FROM paper_topics WHERE topic_id IN ({topic_marks})"
            f" AND paper_id IN ({marks})",
            list(texts),
        ):
            scores[pid, tid] = value
    total_weight = sum(u.weight for u in units) or 1.0
    heaviest = max(u.weight for u in units)
    rarest = [i for i, u in enumerate(units) if u.weight >= RAREST_SHARE * heaviest]
    # A paper missing some words of a longer query counts when what it holds stands together:
    # the rarest word near another of the query's words (KV cache, not crop ... prediction).
    beside_rarest = _near_the_rarest(scratch, units, rarest) if len(units) > 2 else None
    scored, backfill = [], []
    for pid in texts:
        topical = 0.0
        for i, named in naming.items():
            about = max((scores[pid, t] for t in named if (pid, t) in scores), default=0)
            if about:
                # An acronym typed in capitals is still preferred as written (above).
                credit = min(1.0, about / TOPIC_SCORE_FULL, at_most.get(i, 1.0))
                held[pid][i] = max(held[pid][i], credit)
                topical = max(topical, min(1.0, about / TOPIC_SCORE_STRONG))
        coverage = sum(u.weight * h for u, h in zip(units, held[pid], strict=True)) / total_weight
        holds_rarest = all(held[pid][i] == 1.0 for i in rarest)
        if beside_rarest is not None:
            holds_rarest = holds_rarest and pid in beside_rarest
        passes = coverage >= MIN_COVERAGE or (coverage >= LOW_COVERAGE and holds_rarest)
        missing = sum(h < 1.0 for h in held[pid])
        if not passes and not (
            len(units) >= BACKFILL_UNITS and missing <= 1 and coverage >= BACKFILL_COVERAGE
        ):
            continue
        title = sum(u.weight for u, t in zip(units, in_title[pid], strict=True) if t) / total_weight
        value = (
            coverage
            + WEIGHTS["title"] * title
            + WEIGHTS["near"] * (pid in near)
            + WEIGHTS["bm25"] * pool[pid] / best_bm25
            + WEIGHTS["topic"] * topical
            + WEIGHTS["sense"] * saying_strength.get(pid, 0.0)
        )
        match = "all" if all(h == 1.0 for h in held[pid]) else "partial"
        if passes:
            scored.append((pid, round(value, 6), match))
        else:
            backfill.append((pid, round(value - 1.0, 6), match))
    return scored, backfill, scratch


def _related_to_answers(db, answers, partial, topic_id):
    """[(paper id, score, 'related')] for the papers related_papers lists for the query's
    best answers (its first FEEDBACK_ANSWERS, best first) that the query did not find: the
    more of the answers list a paper and the closer, the higher, and all of them below the
    answers (score -1 to 0, among the papers missing a word).

    Pseudo-relevance feedback through the precomputed related papers: what the best answers
    are about finds papers that say it in other words ("transformer FPGA": accelerator papers
    that never write FPGA). A query nothing answers finds nothing here either; a build with
    --no-related has no rows to read, so its searches are without it.
    """
    best = [pid for pid, _, _ in answers[:FEEDBACK_ANSWERS]]
    if not best:
        return []
    marks = ", ".join(f":a{i}" for i in range(len(best)))
    restrict = f" {_in_topic('related_id')}" if topic_id is not None else ""
    closeness = {}
    for pid, score in db.execute(
        f"SELECT related_id, score FROM related_papers WHERE paper_id IN ({marks}){restrict}",
        {"topic_id": topic_id, **{f"a{i}": pid for i, pid in enumerate(best)}},
    ):
        closeness[pid] = closeness.get(pid, 0) + score
    found = {pid for pid, _, _ in answers} | {pid for pid, _, _ in partial}
    closest = max(closeness.values(), default=0) or 1
    return [
        (pid, round(value / closest - 1.0, 6), "related")
        for pid, value in closeness.items()
        if pid not in found
    ]


def _typed_cased(term):
    """A single word typed with capitals in it (an acronym: SAM, LoRA), not a prefix."""
    return not term.prefix and len(term.words) == 1 and _is_cased(term.words[0])


def _near_the_rarest(scratch, units, rarest):
    """Papers of the pool where a rarest unit stands within PARTIAL_NEAR of another unit."""
    plain = {i for i, u in enumerate(units) if u.primary}
    heaviest = max(u.weight for u in units)
    partners = {j for j in plain if units[j].weight >= PARTNER_SHARE * heaviest}
    found = set()
    for i in rarest:
        if i not in plain:
            continue
        for j in sorted(partners - {i}):
            found |= scratch.matching(
                f"NEAR({units[i].primary} {units[j].primary}, {PARTIAL_NEAR})"
            )
    return found


class _Scratch:
    """An in-memory FTS5 index of a few papers, one per thread, tokenized as papers_fts.

    It lives on a private connection: a search never writes to the database it reads,
    which may be read-only (Datasette) or in the middle of a statement (the SQL function).
    """

    _local = threading.local()

    @classmethod
    def filled(cls, texts):
        scratch = getattr(cls._local, "scratch", None)
        if scratch is None:
            scratch = cls._local.scratch = cls()
        # The index reads its texts from `texts`, and is emptied and rebuilt whole: a DELETE
        # from an FTS5 table with its own content tokenizes every old row again (measured,
        # 60 papers: 10 ms a search against 2 ms this way).
        scratch.conn.execute("INSERT INTO pool (pool) VALUES ('delete-all')")
        scratch.conn.execute("DELETE FROM texts")
        scratch.conn.executemany(
            "INSERT INTO texts (rowid, title, abstract, aliases) VALUES (?, ?, ?, ?)",
            [(pid, *text) for pid, text in texts.items()],
        )
        scratch.conn.execute("INSERT INTO pool (pool) VALUES ('rebuild')")
        return scratch

    def __init__(self):
        self.conn = sqlite3.connect(":memory:", isolation_level=None)
        self.conn.execute(
            "CREATE TABLE texts (rowid INTEGER PRIMARY KEY, title, abstract, aliases)"
        )
        self.conn.execute(
            "CREATE VIRTUAL TABLE pool USING fts5(title, abstract, aliases, content='texts',"
            f" tokenize={fts_tokenize()})"
        )

    def matching(self, query):
        return {pid for (pid,) in self.conn.execute("SELECT rowid FROM pool(?)", [query])}

    def weighted(self, query):
        """{paper id: its bm25 among the pool (higher is better)} of the papers matching."""
        return dict(
            self.conn.execute(f"SELECT rowid, -bm25(pool, {WEIGHT_LIST}) FROM pool(?)", [query])
        )

    def snippets(self, query, ids, form):
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        start, end, ellipsis, tokens = form
        return dict(
            self.conn.execute(
                f"SELECT rowid, snippet(pool, 1, ?, ?, ?, ?) FROM pool(?) WHERE rowid IN ({marks})",
                [start, end, ellipsis, tokens, query, *ids],
            )
        )


class _Taxonomy:
    """What a search needs of the topics table: a matcher for the words naming each topic,
    and the acronyms the taxonomy spells out ("SSM" and "state space model" in one topic),
    known even where no paper of the corpus defines them."""

    _cached = {}

    @classmethod
    def of(cls, db):
        rules = db.execute("SELECT id, rules FROM topics ORDER BY id").fetchall()
        key = hash(tuple(rules))
        if key not in cls._cached:
            cls._cached.clear()  # one taxonomy at a time is the common case
            cls._cached[key] = cls(rules)
        return cls._cached[key]

    def __init__(self, rules):
        self.matcher = PhraseSet()  # the acronyms, as written
        self.phrases = {}  # a phrase's word stems -> the ids of the topics listing it
        self.long_forms = {}  # short form -> long form
        self.by_stems = {}  # the long form's word stems -> (short form, long form)
        for topic_id, rule in rules:
            parsed = json.loads(rule)
            phrases, acronyms = parsed.get("phrases", []), parsed.get("acronyms", [])
            for phrase in phrases:
                stems = _stems(" ".join(_words(phrase)))
                if stems:
                    self.phrases.setdefault(stems, set()).add(topic_id)
            for acronym in acronyms:
                self.matcher.add(acronym, topic_id, case_sensitive=True)
                short = normalize_short(acronym)
                for phrase in phrases:
                    long_form = normalize_long(phrase, plural=False)
                    if _spells(short, long_form):
                        self.long_forms.setdefault(short, long_form)
                        self.by_stems.setdefault(_long_form_key(long_form), (short, long_form))
        self.longest = max(map(len, self.phrases), default=0)


def _spells(short, long_form):
    """Whether the long form's words (linking words aside) begin with the short form's letters."""
    initials = [w[0] for w in long_form.split() if w not in LINKING_WORDS]
    letters = [ch for ch in short.lower() if ch.isalnum()]
    return len(initials) >= 2 and initials == letters


def named_topics(db, text):
    """{topic id: the lower-cased words of the query that name it} for the topics named:
    by one of its acronyms as written, or by one of its phrases, whatever the endings of the
    words ("environmental monitoring" names a topic of "environment monitoring")."""
    taxonomy = _Taxonomy.of(db)
    named = {}
    for topic_id, found in taxonomy.matcher.find(text).items():
        named.setdefault(topic_id, set()).update(w.lower() for p in found for w in _words(p))
    typed = _words(text)
    stems = [_crude_stem(w) for w in typed]
    for start in range(len(typed)):
        for end in range(start + 1, min(len(typed), start + taxonomy.longest) + 1):
            for topic_id in taxonomy.phrases.get(tuple(stems[start:end]), ()):
                named.setdefault(topic_id, set()).update(w.lower() for w in typed[start:end])
    return dict(sorted(named.items()))
