#!/usr/bin/env python3
"""What stable paper ids cost: a built papers.db against the same file with dense ids.

    python benchmarks/id_layout.py bench-work/ours1000000.db --floor bench-work/floor1000000.db

Issue 2 asks that papers.id (the rowid, which the FTS index, Datasette and sqlite-utils join
on) stay the same across rebuilds, so it is a 40-bit hash of the title. FTS5 stores rowid
deltas, and sparse ids make them longer. This copies the file into one whose paper ids are
1, 2, 3 ... in order of first appearance (what a build without stable ids would write):
every reference renumbered, tables written in that order, the full-text index rebuilt and
optimized as a build does. It prints both files' sizes, the largest tables of each, and
search p50/p95 through paperdb's own search path on the floor's fixed queries (and the
floor's plain bm25 top 20, given --floor).
"""

import argparse
import sqlite3
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from run_benchmarks import SHARED_BENCH, latencies  # noqa: E402

from paperdb.database import open_database  # noqa: E402
from paperdb.schema import schema_sql  # noqa: E402
from paperdb.search import search  # noqa: E402
from paperdb.writer import FTS_HASH_BYTES  # noqa: E402  (the pending-terms budget a build uses)

PAPER_COLUMNS = {("papers", "id"), ("build_warnings", "paper_id")} | {
    (table, "paper_id") for table in ("paper_listings", "paper_topics", "paper_repos", "links")
}


def densify(source, target):
    target.unlink(missing_ok=True)
    db = sqlite3.connect(target, isolation_level=None)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.executescript(schema_sql())
    db.execute("ATTACH ? AS source", (f"file:{source}?mode=ro",))
    db.execute("BEGIN")
    db.execute(
        "CREATE TEMP TABLE idmap (old INTEGER PRIMARY KEY, new INTEGER NOT NULL) WITHOUT ROWID"
    )
    db.execute(
        "INSERT INTO temp.idmap SELECT id, row_number() OVER (ORDER BY first_listing_id, ("
        " SELECT min(position) FROM source.paper_listings AS pl"
        " WHERE pl.paper_id = p.id AND pl.listing_id = p.first_listing_id), id)"
        " FROM source.papers AS p"
    )
    tables = [
        name
        for (name,) in db.execute(
            "SELECT name FROM main.sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'papers_fts%' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    for table in tables:
        columns = [row[1] for row in db.execute(f"PRAGMA main.table_info({table})")]
        selected = [
            f"(SELECT new FROM temp.idmap WHERE old = t.{c})" if (table, c) in PAPER_COLUMNS else c
            for c in columns
        ]
        order = "1" if (table, columns[0]) in PAPER_COLUMNS else "t.rowid"
        if table in ("paper_topics", "paper_listings", "acronyms", "acronym_definitions"):
            order = "1, 2"  # WITHOUT ROWID: written in key order, as a dense build would
        db.execute(
            f"INSERT INTO main.{table} ({', '.join(columns)})"
            f" SELECT {', '.join(selected)} FROM source.{table} AS t ORDER BY {order}"
        )
    db.execute("INSERT INTO papers_fts (papers_fts, rank) VALUES ('hashsize', ?)", [FTS_HASH_BYTES])
    db.execute("INSERT INTO papers_fts (papers_fts) VALUES ('rebuild')")
    db.execute("INSERT INTO papers_fts (papers_fts) VALUES ('optimize')")
    db.execute("DELETE FROM papers_fts_config WHERE k = 'hashsize'")
    db.execute("COMMIT")
    db.execute("DETACH source")
    db.close()


def largest(path, count=6):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows = db.execute(
        "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT ?", (count,)
    ).fetchall()
    db.close()
    return ", ".join(f"{name} {size / 1e6:,.0f}" for name, size in rows)


def search_latency(path, queries, reps):
    db = open_database(path)
    figures = latencies(lambda q: search(db, q, limit=20), queries, reps)
    db.close()
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database", type=Path, help="a papers.db built by paperdb")
    parser.add_argument("--floor", type=Path, help="the floor's database for the same corpus")
    parser.add_argument("--query-reps", type=int, default=3)
    args = parser.parse_args()
    dense = args.database.with_name(args.database.stem + "-dense.db")
    densify(args.database, dense)

    sys.path.insert(0, str(SHARED_BENCH))
    import query_bench

    queries = [q for _, q in query_bench.QUERIES]
    print("file | MB | largest objects (MB) | search p50 / p95 ms")
    for label, path in (("stable ids", args.database), ("dense ids", dense)):
        p50, p95 = search_latency(path, queries, args.query_reps)
        print(
            f"{label} | {path.stat().st_size / 1e6:,.0f} | {largest(path)} | {p50:.1f} / {p95:.1f}"
        )
    if args.floor:
        floor = sqlite3.connect(f"file:{args.floor}?mode=ro", uri=True)
        p50, p95 = latencies(
            lambda q: floor.execute(query_bench.SQL["bm25"], (q,)).fetchall(),
            queries,
            args.query_reps,
        )
        print(
            f"floor | {args.floor.stat().st_size / 1e6:,.0f} | {largest(args.floor)}"
            f" | {p50:.1f} / {p95:.1f}"
        )


if __name__ == "__main__":
    main()
