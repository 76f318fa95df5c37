#!/usr/bin/env python3
"""`paperdb build --incremental` against a full build, after one dump of many changed.

    python benchmarks/incremental_bench.py --papers 1000000 --files 100

Generates a corpus (../shared/bench/gen_corpus.py, cached in --work), builds it in full,
changes one dump (100 papers dropped, 100 abstracts lengthened, 50 papers added, some with
a repository link and an acronym), then times `--incremental` on a copy of the database
and a full build of the changed corpus, each as its own process. Finally it compares the
two files: every table (rows hashed in order), the full-text vocabulary (term, documents,
occurrences) and paperdb's search results for the 33 fixed queries of query_bench.py.
"""

import argparse
import hashlib
import os
import shutil
import sqlite3
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import run_benchmarks  # noqa: E402
from run_benchmarks import SHARED_BENCH, run_process  # noqa: E402

# ../shared/bench beside the checkout, or beside a folder holding it (a git worktree).
SHARED_BENCH = next(
    (p / "shared" / "bench" for p in ROOT.parents if (p / "shared" / "bench").is_dir()),
    SHARED_BENCH,
)
run_benchmarks.SHARED_BENCH = SHARED_BENCH  # its corpus() generates with it

from paperdb.database import open_database  # noqa: E402
from paperdb.parser import DumpParser, Occurrence  # noqa: E402
from paperdb.reader import inspect, read_lines  # noqa: E402
from paperdb.search import search  # noqa: E402


def changed_copy(folder, target):
    """`folder` with its middle dump changed; the other dumps are hard links."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir()
    dumps = sorted(folder.glob("*.txt"))
    changed = dumps[len(dumps) // 2]
    for path in dumps:
        if path != changed:
            os.link(path, target / path.name)
    found = DumpParser().parse(read_lines(inspect(changed, changed.name)))
    occurrences = [item for item in found if isinstance(item, Occurrence)]
    lines = changed.read_text(encoding="utf-8").split("\n")
    blank_layout = "" in lines[1:8]
    for occurrence in occurrences[:100]:
        lines[occurrence.title_line - 1] = lines[occurrence.abstract_line - 1] = None
    for occurrence in occurrences[100:200]:
        lines[occurrence.abstract_line - 1] += " We also release an extended version."
    added = []
    for i in range(50):
        added += [
            f"Zorblax {i}: Quantum Tensor Routing for Sparse Models, Part {i}",
            f"We introduce zorblax quantum tensor (ZQT) variant {i}, a routing scheme for mixture "
            "of experts models. ZQT keeps every expert busy and halves the communication of a "
            f"training step. Code is at https://github.com/example-org/zorblax-{i}.",
        ]
    separator = "\n\n" if blank_layout else "\n"
    text = "\n".join(line for line in lines if line is not None)
    (target / changed.name).write_text(text + separator + separator.join(added), "utf-8")
    return changed.name, len(occurrences)


def fingerprint(path):
    """{part: (rows, hash)} for every table, the index vocabulary and search results."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    parts = {}
    tables = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'papers_fts%'"
    ).fetchall()
    for (name,) in tables:
        width = len(conn.execute(f"PRAGMA table_info({name})").fetchall())
        order = ", ".join(str(i) for i in range(1, width + 1))
        parts[name] = _digest(conn.execute(f"SELECT * FROM {name} ORDER BY {order}"))
    conn.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, papers_fts, 'row')")
    parts["index vocabulary"] = _digest(conn.execute("SELECT * FROM temp.vocab ORDER BY term"))
    conn.close()
    sys.path.insert(0, str(SHARED_BENCH))
    import query_bench

    db = open_database(path)
    hits = (
        [(hit.id, round(hit.score, 9), hit.snippet) for hit in search(db, query, limit=20)]
        for _, query in query_bench.QUERIES
    )
    parts["search results"] = _digest(hits)
    return parts


def _digest(rows):
    digest, count = hashlib.sha256(), 0
    for row in rows:
        digest.update(repr(row).encode())
        count += 1
    return count, digest.hexdigest()[:16]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=ROOT / "bench-work")
    parser.add_argument(
        "--before",
        type=Path,
        help="a full build of the corpus to update (else built; its time is then not shown)",
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    build = [sys.executable, str(ROOT / "build_db.py")]

    folder = run_benchmarks.corpus(args.work, args.papers, args.seed, args.files)
    before = args.before or args.work / "incremental-before.db"
    if not args.before:
        seconds, memory, cpu = run_process([*build, str(folder), "-o", str(before), "-q"])
        print(
            f"full build of {folder.name}: {seconds:.1f} s, {cpu:.1f} s CPU, {memory:.0f} MB peak"
        )

    changed = args.work / f"{folder.name}-changed"
    name, count = changed_copy(folder, changed)
    print(f"changed {name} ({count} papers) of {args.files} dumps")
    updated = args.work / "incremental-updated.db"
    shutil.copyfile(before, updated)
    seconds, memory, cpu = run_process([*build, "--incremental", str(changed), "-o", str(updated)])
    print(f"incremental build: {seconds:.1f} s, {cpu:.1f} s CPU, {memory:.0f} MB peak")
    full = args.work / "incremental-full.db"
    seconds, memory, cpu = run_process([*build, str(changed), "-o", str(full), "-q"])
    print(
        f"full build of the changed corpus: {seconds:.1f} s, {cpu:.1f} s CPU, {memory:.0f} MB peak"
    )

    left, right = fingerprint(updated), fingerprint(full)
    for part in sorted(left.keys() | right.keys()):
        verdict = "same" if left.get(part) == right.get(part) else "DIFFERENT"
        print(f"  {part:24} {left.get(part)}  {verdict}")
    if left != right:
        raise SystemExit("the incremental build differs from the full build")
    print("same content as the full build")


if __name__ == "__main__":
    main()
