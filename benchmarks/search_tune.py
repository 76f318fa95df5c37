#!/usr/bin/env python3
"""Choose ranking.py's constants on the tune split of the judged queries (never the test split).

    python benchmarks/search_tune.py --db papers.db

Tries each combination of the values below and prints the best ones by tune nDCG@10, with
recall@10 and how many no-answer queries returned anything (which must stay 0).
"""

import argparse
import itertools
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from search_eval import JUDGED, K, score  # noqa: E402

from paperdb import ranking  # noqa: E402
from paperdb.database import open_database  # noqa: E402
from paperdb.search import search  # noqa: E402

GRID = {
    "MIN_COVERAGE": [0.7, 0.75, 0.8],
    "LOW_COVERAGE": [0.4, 0.5],
    "RAREST_SHARE": [0.8, 0.9, 0.95, 0.99],
    "title": [0.1, 0.3],
    "near": [0.15],
    "bm25": [0.25],
    "topic": [0.0, 0.05],
    "FEEDBACK_ANSWERS": [0, 3, 5, 10],  # 0: no related papers complete the answers
}


def measure(db, queries):
    ndcg = recall = 0.0
    scored = answered = 0
    for item in queries:
        titles = [hit.title for hit in search(db, item["query"], limit=K)]
        result = score(titles, item["judgments"])
        if result is None:
            answered += bool(titles)
            continue
        ndcg, recall, scored = ndcg + result[0], recall + result[1], scored + 1
    return ndcg / scored, recall / scored, answered


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    db = open_database(args.db)
    tune = [q for q in json.loads(JUDGED.read_text())["queries"] if q["split"] == "tune"]
    results = []
    for values in itertools.product(*GRID.values()):
        setting = dict(zip(GRID, values, strict=True))
        ranking.MIN_COVERAGE = setting["MIN_COVERAGE"]
        ranking.LOW_COVERAGE = setting["LOW_COVERAGE"]
        ranking.RAREST_SHARE = setting["RAREST_SHARE"]
        ranking.FEEDBACK_ANSWERS = setting["FEEDBACK_ANSWERS"]
        ranking.WEIGHTS.update({k: setting[k] for k in ("title", "near", "bm25", "topic")})
        results.append((measure(db, tune), setting))
    results.sort(key=lambda r: (r[0][2], -r[0][0]))
    for (ndcg, recall, answered), setting in results[: args.top]:
        print(f"nDCG {ndcg:.3f} recall {recall:.3f} no-answer hits {answered}  {setting}")


if __name__ == "__main__":
    main()
