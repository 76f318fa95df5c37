#!/usr/bin/env python3
"""Search quality on the judged queries: nDCG@10 and recall@10, ours against a plain search.

    python benchmarks/search_eval.py [--db papers.db] [--write docs/SEARCH.md]

"Plain" is what sqlite-utils' table.search() and Datasette's search box do: an FTS5 index
with the unicode61 tokenizer (no stemming) over title and abstract, each typed word
quoted, ranked by bm25. "Ours" is paperdb.search.search() on papers.db.
"""

import argparse
import json
import math
import sqlite3
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from paperdb.build import build  # noqa: E402
from paperdb.database import open_database  # noqa: E402
from paperdb.search import search  # noqa: E402

JUDGED = ROOT / "tests" / "fixtures" / "judged_queries.json"
K = 10


def dcg(gains):
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def score_ranking(titles, judgments):
    """(nDCG@10, recall@10) of a ranked title list; None for a query with no relevant paper."""
    relevant = {t for t, g in judgments.items() if g > 0}
    if not relevant:
        return None
    gains = [judgments.get(t, 0) for t in titles[:K]]
    ideal = sorted((g for g in judgments.values() if g > 0), reverse=True)[:K]
    ndcg = dcg(gains) / dcg(ideal)
    recall = len(relevant & set(titles[:K])) / min(len(relevant), K)
    return ndcg, recall


def plain_index(db_path):
    """A copy of title/abstract in an FTS5 table the way sqlite-utils enable_fts() makes it."""
    conn = sqlite3.connect(":memory:")
    conn.execute("ATTACH ? AS built", [str(db_path)])
    conn.execute("CREATE TABLE papers AS SELECT id, title, abstract FROM built.papers")
    conn.execute(
        "CREATE VIRTUAL TABLE papers_fts USING fts5(title, abstract, content=papers,"
        " content_rowid=id, tokenize='unicode61')"
    )
    conn.execute("INSERT INTO papers_fts(papers_fts) VALUES('rebuild')")
    return conn


def plain_search(conn, text, limit=K):
    # sqlite-utils escape_fts: split on whitespace, quote each token (as Datasette does).
    tokens = [t for t in text.replace('"', " ").split() if t]
    if not tokens:
        return []
    query = " ".join('"' + t + '"' for t in tokens)
    rows = conn.execute(
        "SELECT papers.title FROM papers_fts JOIN papers ON papers.id = papers_fts.rowid"
        " WHERE papers_fts MATCH ? ORDER BY bm25(papers_fts) LIMIT ?",
        [query, limit],
    )
    return [title for (title,) in rows]


def evaluate(db_path):
    judged = json.loads(JUDGED.read_text())
    db = open_database(db_path)
    plain = plain_index(db_path)
    rows = []
    for item in judged:
        ours = [hit.title for hit in search(db, item["query"], limit=K)]
        base = plain_search(plain, item["query"])
        rows.append(
            {
                "query": item["query"],
                "kind": item["kind"],
                "relevant": sum(1 for g in item["judgments"].values() if g > 0),
                "ours": score_ranking(ours, item["judgments"]),
                "plain": score_ranking(base, item["judgments"]),
                "ours_hits": len(ours),
                "plain_hits": len(base),
            }
        )
    return rows


def summary(rows, system):
    scored = [r[system] for r in rows if r[system] is not None]
    return (
        sum(s[0] for s in scored) / len(scored),
        sum(s[1] for s in scored) / len(scored),
    )


def report(rows):
    ours, plain = summary(rows, "ours"), summary(rows, "plain")
    absent = [r for r in rows if r["ours"] is None]
    lines = [
        "# Search quality",
        "",
        f"Judged queries: {len(rows)} (`tests/fixtures/judged_queries.json`, grades 0-2 set by"
        " reading the corpus); measured with `python benchmarks/search_eval.py`.",
        "",
        "| system | nDCG@10 | recall@10 |",
        "|---|---|---|",
        f"| plain (unicode61, each word quoted, bm25) | {plain[0]:.3f} | {plain[1]:.3f} |",
        f"| paperdb search | {ours[0]:.3f} | {ours[1]:.3f} |",
        "",
        "Queries about absent things (must return nothing): "
        + ", ".join(
            f"`{r['query']}` → ours {r['ours_hits']}, plain {r['plain_hits']}" for r in absent
        ),
        "",
        "| query | kind | relevant | plain nDCG | ours nDCG | plain recall | ours recall |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["ours"] is None:
            continue
        lines.append(
            f"| {r['query']} | {r['kind']} | {r['relevant']} | {r['plain'][0]:.2f} |"
            f" {r['ours'][0]:.2f} | {r['plain'][1]:.2f} | {r['ours'][1]:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db", help="papers.db to measure (default: build one from tests/fixtures/dumps)"
    )
    parser.add_argument("--write", help="write the Markdown report to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_path = args.db
        if not db_path:
            db_path = Path(tmp) / "papers.db"
            build([ROOT / "tests" / "fixtures" / "dumps"], db_path)
        rows = evaluate(db_path)
    text = report(rows)
    if args.write:
        Path(args.write).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
