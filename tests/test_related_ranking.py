"""The related-papers ranking (related.py, numpy) against the loop it replaced.

The loop below ranks one paper at a time, in plain Python, as paperdb did before the
ranking moved to numpy arrays: it states the rules (module docstring of related.py) one by
one. The arrays must give the same rows, to the last bit of every score, whatever the
weights and however the papers are cut into chunks.
"""

import threading

import pytest

from paperdb import related
from paperdb.related import _rank_beside, _Ranker

# Each signal alone (benchmarks/related_eval.py measures them so), and all together.
WEIGHTS = [
    related.WEIGHTS,
    {"words": 1.0, "topics": 0.0, "repo": 0.0, "acronym": 0.0},
    {"words": 0.0, "topics": 1.0, "repo": 0.0, "acronym": 0.0},
    {"words": 0.0, "topics": 0.0, "repo": 1.0, "acronym": 0.0},
    {"words": 0.0, "topics": 0.0, "repo": 0.0, "acronym": 1.0},
    {"words": 1.0, "topics": 0.5, "repo": 0.3, "acronym": 0.2},
]


def loop_rows(ranker, selected):
    """The rows of the papers `selected`, ranked one paper at a time."""
    r = related
    ids, start, papers, in_title = ranker.ids, ranker.start, ranker.papers, ranker.in_title
    weights = ranker.weights
    terms_of = {}
    for term in range(len(ranker.terms)):
        if start[term + 1] - start[term] > 1:
            for k in range(start[term], start[term + 1]):
                paper = int(papers[k])
                weight = ranker.idf[term] * (r.TITLE_BOOST if in_title[k] else 1.0)
                terms_of.setdefault(paper, []).append((-weight, term))
    rows = []
    for a in range(len(ids)):
        if not selected[a]:
            continue
        partners = ranker.repo_partners.get(a, {})
        words, shares, chosen, total, walked, acronyms = {}, {}, [], 0.0, 0, 0
        for minus_weight, term in sorted(terms_of.get(a, []))[: r.TERMS]:
            if walked >= r.POOL:
                break
            bit = 1 << len(chosen)
            chosen.append(term)
            total += -minus_weight
            if term in ranker.acronym:
                acronyms |= bit
            walked += start[term + 1] - start[term]
            for b in papers[start[term] : start[term + 1]]:
                b = int(b)
                words[b] = words.get(b, 0.0) - minus_weight
                shares[b] = shares.get(b, 0) | bit
        words.pop(a, None)
        pool = list(words)
        if weights["words"] and len(pool) > r.POOL_SCORED:
            pool = sorted(pool, key=words.__getitem__, reverse=True)[: r.POOL_SCORED]
        pool = set(pool) | set(partners)
        mine = {}
        packed, scores = ranker.topic_ids[a], ranker.topic_scores[a]
        while packed:
            if packed & 0xFFFF:
                mine[packed & 0xFFFF] = ranker.topic_idf.get(packed & 0xFFFF, 0.0) * (
                    scores & 0xFFFF
                )
            packed, scores = packed >> 16, scores >> 16
        topic_total = sum(mine.values())
        best = []
        for b in pool:
            score = words.get(b, 0.0) * (weights["words"] / total if total else 0.0)
            theirs = [ranker.topic_ids[b] >> shift & 0xFFFF for shift in (0, 16, 32, 48)]
            if topic_total and weights["topics"] and ranker.topic_ids[b]:
                score += weights["topics"] / topic_total * sum(mine.get(t, 0.0) for t in theirs)
            if b in partners:
                score += weights["repo"]
            if weights["acronym"] and shares.get(b, 0) & acronyms:
                score += weights["acronym"]
            if score > 0:
                best.append((-score, ids[b], b, theirs))
        best.sort()
        strongest = sorted(mine, key=lambda t: (-mine[t], t))
        for rank, (minus_score, other, b, theirs) in enumerate(best[: r.MAX_RELATED], 1):
            score = round(-minus_score * 1000)
            if rank > r.SURE_RANKS and score < r.TAIL_SCORE:
                break
            shared = [t for i, t in enumerate(chosen) if shares.get(b, 0) >> i & 1]
            said = [ranker.surface[t] for t in shared if t not in ranker.acronym]
            short = [ranker.acronym[t] for t in shared if t in ranker.acronym]
            topics = [ranker.topic_slug[t] for t in strongest if t in theirs]
            rows.append(
                (
                    ids[a],
                    other,
                    rank,
                    score,
                    ", ".join(said[: r.WORDS_SHOWN]),
                    ", ".join(topics[: r.TOPICS_SHOWN]),
                    partners.get(b, ""),
                    ", ".join(short[: r.WORDS_SHOWN]),
                )
            )
    return rows


@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("chunk", [20_000, 97])
def test_the_arrays_rank_as_the_loop_does(seed_conn, monkeypatch, weights, chunk):
    monkeypatch.setattr(related, "CHUNK_PAPERS", chunk)
    with _Ranker(seed_conn, weights) as ranker:
        ranker.load()
        selected = bytes([1]) * len(ranker.ids)
        ranked = list(ranker.rows(selected))  # spells the words it shows (ranker.surface)
        assert ranked == loop_rows(ranker, selected)
    assert ranked  # every signal alone lists some papers on the bundled dumps


def test_some_papers_rank_as_the_loop_ranks_them(seed_conn, monkeypatch):
    monkeypatch.setattr(related, "CHUNK_PAPERS", 50)
    with _Ranker(seed_conn, related.WEIGHTS) as ranker:
        ranker.load()
        selected = bytes(i % 7 == 3 for i in range(len(ranker.ids)))
        ranked = list(ranker.rows(selected))
        assert ranked == loop_rows(ranker, selected)
    assert {row[0] for row in ranked} <= {
        ranker.ids[i] for i in range(len(ranker.ids)) if selected[i]
    }


def ranked_beside(seed_conn, insert):
    with _Ranker(seed_conn, related.WEIGHTS) as ranker:
        ranker.load()
        _rank_beside(ranker, None, insert, seed_conn)


def test_ranked_beside_the_inserts_the_batches_come_in_order(seed_conn, monkeypatch):
    monkeypatch.setattr(related, "CHUNK_PAPERS", 100)
    batches = []
    ranked_beside(seed_conn, batches.append)
    assert len(batches) > 5
    rows = [row for columns in batches for row in zip(*columns, strict=True)]
    assert rows == list(related.related_rows(seed_conn))


def test_a_failed_insert_stops_the_ranking_thread(seed_conn, monkeypatch):
    monkeypatch.setattr(related, "CHUNK_PAPERS", 50)
    calls = []

    def insert(rows):
        calls.append(rows)
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        ranked_beside(seed_conn, insert)
    assert len(calls) == 1
    assert not [t for t in threading.enumerate() if t.name == "paperdb-related-rank"]


def test_a_failed_ranking_is_raised_where_the_rows_are_inserted(seed_conn, monkeypatch):
    def broken(*args):
        raise ValueError("broken ranking")

    monkeypatch.setattr(_Ranker, "_scored", broken)
    with pytest.raises(ValueError, match="broken ranking"):
        ranked_beside(seed_conn, lambda rows: None)
    assert not [t for t in threading.enumerate() if t.name == "paperdb-related-rank"]
