#!/usr/bin/env python3
"""Search quality on the judged queries: nDCG@10, recall@10 and MRR, per split and category.

    python benchmarks/search_eval.py [--db papers.db] [--judged FILE] [--write docs/SEARCH.md]

Four ways people search papers.db, each measured on the same queries:
- cli: `paperdb search` (paperdb.search.search);
- datasette: the `search` canned query as paperdb's Datasette plugin serves it (its SQL,
  run with the plugin's paperdb_search() function registered);
- datasette-plain: the canned query of datasette/metadata.yml alone (Datasette without
  the plugin);
- order-by-rank: what the sqlite3 shell or sqlite-utils do: each typed word quoted,
  `papers_fts MATCH ... ORDER BY rank` (the rank option the build configures).
The judged queries are tests/fixtures/search_judgments.json (labelled by reading the
abstracts; split into tune, test, holdout and holdout2: settings are chosen on tune only,
and holdout and holdout2 were written later by people who had seen neither the other
queries nor the ranker, see docs/SEARCH.md). Queries with no relevant paper ("no-answer")
are scored by how many hits they return: the right number is 0.
"""

import argparse
import json
import math
import sqlite3
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import yaml  # noqa: E402  (PyYAML comes with Datasette, a test dependency)

from paperdb.build import build  # noqa: E402
from paperdb.database import open_database  # noqa: E402
from paperdb.search import search  # noqa: E402

JUDGED = ROOT / "tests" / "fixtures" / "search_judgments.json"
METADATA = ROOT / "datasette" / "metadata.yml"
K = 10
SYSTEMS = ["cli", "datasette", "datasette-plain", "order-by-rank"]
SPLITS = ("tune", "test", "holdout", "holdout2")


def dcg(gains):
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def score(titles, judgments):
    """(nDCG@10, recall@10, MRR) of a ranked title list; None when nothing is relevant."""
    relevant = {t for t, g in judgments.items() if g > 0}
    if not relevant:
        return None
    gains = [judgments.get(t, 0) for t in titles[:K]]
    ideal = sorted((g for g in judgments.values() if g > 0), reverse=True)[:K]
    ndcg = dcg(gains) / dcg(ideal)
    recall = len(relevant & set(titles[:K])) / min(len(relevant), K)
    first = next((rank for rank, t in enumerate(titles, start=1) if t in relevant), None)
    return ndcg, recall, (1 / first if first else 0.0)


class Searchers:
    """One function per system: query text -> ranked titles."""

    def __init__(self, db_path):
        from paperdb.datasette_plugin import SEARCH_SQL, prepare_connection

        self.db = open_database(db_path)
        self.conn = sqlite3.connect(f"{Path(db_path).resolve().as_uri()}?mode=ro", uri=True)
        prepare_connection(self.conn)
        self.plugin_sql = SEARCH_SQL
        metadata = yaml.safe_load(METADATA.read_text())
        self.plain_sql = metadata["databases"]["papers"]["queries"]["search"]["sql"]

    def titles(self, system, query):
        if system == "cli":
            return [hit.title for hit in search(self.db, query, limit=K)]
        if system == "datasette":
            return [row[2] for row in self.conn.execute(self.plugin_sql, {"q": query})][:K]
        if system == "datasette-plain":
            rows = self.conn.execute(self.plain_sql, {"q": query}).fetchall()
            return [row[1] for row in rows][:K]
        words = [w for w in query.replace('"', " ").split() if w]  # sqlite-utils escape_fts
        if not words:
            return []
        match = " ".join('"' + w + '"' for w in words)
        rows = self.conn.execute(
            "SELECT papers.title FROM papers_fts JOIN papers ON papers.id = papers_fts.rowid"
            " WHERE papers_fts MATCH ? ORDER BY rank LIMIT ?",
            [match, K],
        )
        return [title for (title,) in rows]


def evaluate(db_path, judged):
    searchers = Searchers(db_path)
    rows = []
    for item in judged:
        row = {key: item[key] for key in ("query", "category", "split")}
        for system in SYSTEMS:
            titles = searchers.titles(system, item["query"])
            row[system] = score(titles, item["judgments"])
            row[f"{system}_hits"] = len(titles)
        rows.append(row)
    return rows


# Each judged acronym query beside its long form, typed as a reader might (not always as the
# corpus defines it: "rotary position embedding" against the corpus's "positional embeddings").
LONG_FORMS = {
    "LoRA": "low-rank adaptation",
    "MoE": "mixture of experts",
    "NAS": "neural architecture search",
    "SSM": "state space models",
    "NeRF": "neural radiance fields",
    "CoT": "chain of thought",
    "CLIP": "contrastive language-image pre-training",
    "RoPE": "rotary position embedding",
}


def pair_rows(db_path, judged):
    """[(acronym, long form, split, its nDCG@10, the long form's)] against the acronym's
    judgments (an acronym judged in two splits, independently, gives two rows)."""
    db = open_database(db_path)
    rows = []
    for item in judged:
        long_form = LONG_FORMS.get(item["query"])
        if long_form:
            pair = [
                score([hit.title for hit in search(db, q, limit=K)], item["judgments"])[0]
                for q in (item["query"], long_form)
            ]
            rows.append((item["query"], long_form, item["split"], *pair))
    return rows


def pair_report(pairs):
    lines = [
        "",
        "Acronym and long form, nDCG@10 through the CLI against the acronym query's judgments:",
        "",
        "| acronym | long form | split | acronym nDCG | long form nDCG | gap |",
        "|---|---|---|---|---|---|",
    ]
    for short, long_form, split, a, b in pairs:
        lines.append(f"| {short} | {long_form} | {split} | {a:.2f} | {b:.2f} | {abs(a - b):.2f} |")
    return "\n".join(lines) + "\n"


def averages(rows, system):
    scored = [r[system] for r in rows if r[system] is not None]
    if not scored:
        return None
    return tuple(sum(s[i] for s in scored) / len(scored) for i in range(3))


def report(rows):
    lines = [
        f"Judged queries: {len(rows)} (`tests/fixtures/search_judgments.json`); "
        "`python benchmarks/search_eval.py`.",
        "",
        "| split | system | nDCG@10 | recall@10 | MRR |",
        "|---|---|---|---|---|",
    ]
    splits = [split for split in SPLITS if any(r["split"] == split for r in rows)]
    for split in splits:
        part = [r for r in rows if r["split"] == split]
        for system in SYSTEMS:
            n, r, m = averages(part, system)
            lines.append(f"| {split} | {system} | {n:.3f} | {r:.3f} | {m:.3f} |")
    lines += ["", f"nDCG@10 by category ({' / '.join(splits)}):", ""]
    lines += ["| category | queries | " + " | ".join(SYSTEMS) + " |"]
    lines += ["|---|---|" + "---|" * len(SYSTEMS)]
    by_category = defaultdict(list)
    for r in rows:
        by_category[r["category"]].append(r)
    for category, part in sorted(by_category.items()):
        if category == "no-answer":
            continue
        cells = []
        for system in SYSTEMS:
            pair = [averages([r for r in part if r["split"] == s], system) for s in splits]
            cells.append(" / ".join(f"{p[0]:.2f}" if p else "-" for p in pair))
        lines.append(f"| {category} | {len(part)} | " + " | ".join(cells) + " |")
    absent = [r for r in rows if r["category"] == "no-answer"]
    hits = {s: sum(1 for r in absent if r[f"{s}_hits"]) for s in SYSTEMS}
    lines += [
        "",
        f"No-answer queries ({len(absent)}) that returned anything: "
        + ", ".join(f"{s} {hits[s]}" for s in SYSTEMS),
    ]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db", help="papers.db to measure (default: build one from tests/fixtures/dumps)"
    )
    parser.add_argument("--judged", default=str(JUDGED), help="judged queries (JSON)")
    parser.add_argument("--write", help="also write the report to this file")
    parser.add_argument("--queries", action="store_true", help="list every query's scores too")
    args = parser.parse_args()
    judged = json.loads(Path(args.judged).read_text())["queries"]
    with tempfile.TemporaryDirectory() as tmp:
        db_path = args.db
        if not db_path:
            db_path = Path(tmp) / "papers.db"
            build([ROOT / "tests" / "fixtures" / "dumps"], db_path)
        rows = evaluate(db_path, judged)
        pairs = pair_rows(db_path, judged)
    text = report(rows) + pair_report(pairs)
    if args.queries:
        text += "\n| query | category | split | cli nDCG | cli recall |\n|---|---|---|---|---|\n"
        for r in rows:
            if r["cli"] is not None:
                text += f"| {r['query']} | {r['category']} | {r['split']} |"
                text += f" {r['cli'][0]:.2f} | {r['cli'][1]:.2f} |\n"
    if args.write:
        Path(args.write).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
