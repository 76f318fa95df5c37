#!/usr/bin/env python3
"""Related-papers quality on the judged set: nDCG@5 and precision@5, per split and signal.

    python benchmarks/related_eval.py [--db papers.db] [--judged FILE] [--tune]
    python benchmarks/related_eval.py --pool MAX_DF TERMS POOL [--scored POOL_SCORED]
    python benchmarks/related_eval.py --cost CORPUS [--reps 3] [--out FOLDER]

The judged set (tests/fixtures/related_judgments.json) grades, for 54 seed papers of the
bundled dumps, candidates read by hand: 2 = read it next, 1 = same area, 0 = not related;
a paper it does not grade counts as 0. Each signal is measured alone (the same candidate
pool, ranked by that signal only) and combined with paperdb's weights (related.WEIGHTS).
--tune searches the weights on the tune split (the test split is only reported).
--cost builds CORPUS with `build_db.py -q --no-related` and `build_db.py -q`, alternating,
each as its own process, and prints the median wall time, CPU time (user + sys, with the
worker processes), largest peak RSS of one process, and file size of each.
"""

import argparse
import itertools
import json
import math
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from paperdb import related  # noqa: E402
from paperdb.build import build  # noqa: E402

JUDGED = ROOT / "tests" / "fixtures" / "related_judgments.json"
DUMPS = ROOT / "tests" / "fixtures" / "dumps"
K = 5
SIGNALS = ["words", "topics", "repo", "acronym"]


def ranked(conn, weights):
    """{paper id: [related ids, best first]} with these weights."""
    lists = {}
    for paper_id, related_id, *_ in related.related_rows(conn, weights):
        lists.setdefault(paper_id, []).append(related_id)
    return lists


def scores(lists, seeds, ids):
    """{split: (nDCG@5, precision@5)} averaged over the seeds of each split, and 'all'."""
    per_split = {}
    for seed in seeds:
        grades = {ids[title]: grade for title, grade in seed["judgments"].items()}
        got = [grades.get(pid, 0) for pid in lists.get(ids[seed["seed"]], [])[:K]]
        dcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(got))
        ideal = sorted(grades.values(), reverse=True)[:K]
        idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
        ndcg = dcg / idcg if idcg else 0.0
        precision = sum(1 for g in got if g > 0) / K
        for split in (seed["split"], "all"):
            per_split.setdefault(split, []).append((ndcg, precision))
    return {
        split: tuple(sum(v[i] for v in values) / len(values) for i in range(2))
        for split, values in per_split.items()
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="a papers.db of the bundled dumps (else built)")
    parser.add_argument("--judged", type=Path, default=JUDGED)
    parser.add_argument("--tune", action="store_true", help="search the weights on 'tune'")
    parser.add_argument("--cost", type=Path, metavar="CORPUS", help="time builds of CORPUS")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument(
        "--pool",
        nargs=3,
        type=int,
        metavar=("MAX_DF", "TERMS", "POOL"),
        help="measure with another candidate pool than related.py's",
    )
    parser.add_argument(
        "--scored",
        type=int,
        metavar="POOL_SCORED",
        help="score this many of the pool's candidates on every signal (related.py's: 30)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench-work")
    args = parser.parse_args()
    if args.cost:
        cost(args.cost, args.reps, args.out)
        return
    if args.pool:
        related.MAX_DF, related.TERMS, related.POOL = args.pool
    if args.scored:
        related.POOL_SCORED = args.scored
    print(
        f"candidate pool: MAX_DF {related.MAX_DF}, TERMS {related.TERMS}, POOL {related.POOL},"
        f" POOL_SCORED {related.POOL_SCORED}"
    )
    seeds = json.loads(args.judged.read_text(encoding="utf-8"))["seeds"]
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None:
            db = Path(tmp) / "papers.db"
            build([DUMPS], db, related=False)
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
        ids = {}
        for pid, title in conn.execute("SELECT id, title FROM papers"):
            ids.setdefault(title, pid)
        titles = {s["seed"] for s in seeds} | {t for s in seeds for t in s["judgments"]}
        missing = sorted(titles - ids.keys())
        if missing:
            sys.exit(f"{len(missing)} judged titles are not in the database: {missing[:3]}")
        if args.tune:
            tune(conn, seeds, ids)
            return
        configs = [(f"{name} alone", {name: 1.0}) for name in SIGNALS]
        configs.append(("combined (related.WEIGHTS)", related.WEIGHTS))
        print(f"| ranking | tune nDCG@{K} | tune P@{K} | test nDCG@{K} | test P@{K} |")
        print("|---|---|---|---|---|")
        for label, weights in configs:
            result = scores(ranked(conn, weights), seeds, ids)
            cells = " | ".join(f"{result[s][i]:.3f}" for s in ("tune", "test") for i in range(2))
            print(f"| {label} | {cells} |")


def tune(conn, seeds, ids):
    """The weights with the best nDCG@5 on the tune split (words fixed at 1)."""
    tried = []
    grid = [0.0, 0.15, 0.3, 0.6, 1.0]
    for topics, repo, acronym in itertools.product(grid, grid, grid):
        weights = {"words": 1.0, "topics": topics, "repo": repo, "acronym": acronym}
        result = scores(ranked(conn, weights), seeds, ids)
        tried.append((result["tune"][0], result["tune"][1], weights, result["test"]))
    tried.sort(key=lambda item: (-item[0], -item[1]))
    for ndcg, precision, weights, test in tried[:10]:
        print(f"tune {ndcg:.3f} / {precision:.3f}  test {test[0]:.3f} / {test[1]:.3f}  {weights}")


def cost(corpus, reps, out):
    out.mkdir(parents=True, exist_ok=True)
    runs = {"--no-related": [], "with related": []}
    for rep in range(reps):
        for label in runs:
            db = out / f"related-cost-{'off' if label == '--no-related' else 'on'}.db"
            flags = ["--no-related"] if label == "--no-related" else []
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "build_db.py"),
                    "-q",
                    *flags,
                    "-o",
                    str(db),
                    str(corpus),
                ],
                check=True,
            )
            wall = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            runs[label].append((wall, cpu, after.ru_maxrss / 1024, os.path.getsize(db) / 1e6))
            print(f"rep {rep + 1} {label}: {wall:.1f} s wall, {cpu:.1f} s CPU", flush=True)
    print("| build | wall (median) | CPU user+sys (median) | peak RSS | file |")
    print("|---|---|---|---|---|")
    medians = {}
    for label, values in runs.items():
        medians[label] = [statistics.median(v[i] for v in values) for i in range(4)]
        wall, cpu, _, size = medians[label]
        peak = max(v[2] for v in values)
        print(f"| {label} | {wall:.2f} s | {cpu:.2f} s | {peak:.0f} MB | {size:.1f} MB |")
    off, on = medians["--no-related"], medians["with related"]
    print(
        f"related papers add {100 * (on[0] / off[0] - 1):+.1f}% wall, "
        f"{100 * (on[1] / off[1] - 1):+.1f}% CPU, {100 * (on[3] / off[3] - 1):+.1f}% file size"
    )


if __name__ == "__main__":
    main()
