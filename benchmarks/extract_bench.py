#!/usr/bin/env python3
"""Extraction (topics, aliases, links) cost per paper, on the papers of a built file.

    python benchmarks/extract_bench.py bench-work/ours10000.db [--reps 3]

Runs `extract.extract()` over every paper of the file, with the expansions the file's
build used, in this process; prints the best of --reps in µs a paper. This is the work the
worker processes do in a large build (parallel.py).
"""

import argparse
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from paperdb.extract import TopicsAndAliases, extract  # noqa: E402
from paperdb.topics import load_taxonomy  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database", type=Path, help="a papers.db built by paperdb")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    db = sqlite3.connect(f"file:{args.database}?mode=ro", uri=True)
    papers = db.execute("SELECT title, abstract FROM papers ORDER BY id").fetchall()
    expansions = dict(db.execute("SELECT short, long FROM acronyms WHERE used_for_search"))
    db.close()
    scan = TopicsAndAliases(load_taxonomy(None), expansions)
    extract(scan, *papers[0])  # builds the phrase automaton outside the timing
    best = float("inf")
    for _ in range(args.reps):
        started = time.perf_counter()
        for title, abstract in papers:
            extract(scan, title, abstract)
        best = min(best, time.perf_counter() - started)
    print(
        f"{len(papers):,} papers: {best / len(papers) * 1e6:.1f} µs a paper (best of {args.reps})"
    )


if __name__ == "__main__":
    main()
