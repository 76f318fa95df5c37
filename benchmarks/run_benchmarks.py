#!/usr/bin/env python3
"""paperdb against the floor, side by side in one run: build time and CPU, peak memory, file
size and free pages, search latency. Prints a report in Markdown and writes it to --write
(bench-work/benchmarks.md; docs/PERFORMANCE.md quotes it).

    python benchmarks/run_benchmarks.py                      # 10k and 100k papers, 3 runs each
    python benchmarks/run_benchmarks.py --sizes 1000000 --reps 3

The floor is ../shared/bench/lower_bound.py (the leanest stdlib builder); corpora come from
../shared/bench/gen_corpus.py (deterministic by --seed) and are cached in --work. Every
build runs as its own process; its wall time, its CPU time (user + system, of the
process and of its worker processes, from wait4()) and its peak memory are taken from
outside. Search latency runs the fixed query list of ../shared/bench/query_bench.py:
the floor's plain bm25 top-20 with snippet on the floor's database, paperdb's own search
path (paperdb.search.search, top 20 with snippet and listings) and sqlite-utils'
table.search() on paperdb's database. Figures are medians over --reps runs.
"""

import argparse
import datetime
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import sqlite_utils  # noqa: E402

from paperdb.database import open_database  # noqa: E402
from paperdb.search import search  # noqa: E402

SHARED_BENCH = ROOT.parent / "shared" / "bench"


def run_process(command):
    """(wall seconds, peak RSS in MB, CPU seconds) of a command run as a child process.

    CPU is user + system time from wait4(), which includes the descendants the process
    waited for (the extraction workers, which a build always joins).

    The peak is the larger of the process's own peak RSS (wait4) and the highest sum of
    PSS over the process and its descendants (worker processes), sampled every 100 ms. PSS
    (proportional set size) counts a page shared by n processes as 1/n in each, so pages a
    forked worker shares with its parent are not counted twice, as a sum of RSS would.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tree_peak = [0]
    sampler = threading.Thread(target=_sample_tree_rss, args=(process.pid, tree_peak))
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    sampler.join()
    if status != 0:
        raise SystemExit(f"failed: {' '.join(map(str, command))}\n{process.stderr.read().decode()}")
    cpu = usage.ru_utime + usage.ru_stime
    return wall, max(usage.ru_maxrss, tree_peak[0]) / 1024, cpu


def _sample_tree_rss(root, peak):
    """Keep peak[0] at the highest PSS (KB) summed over `root` and its descendants."""
    while True:
        children, rss = {}, {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            pid, ppid = int(entry.name), int(fields["PPid"])
            children.setdefault(ppid, []).append(pid)
            rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
        if root not in rss:
            return
        total, stack = 0, [root]
        while stack:
            pid = stack.pop()
            total += _pss(pid, rss.get(pid, 0))
            stack.extend(children.get(pid, []))
        peak[0] = max(peak[0], total)
        time.sleep(0.1)


def _pss(pid, rss):
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return rss


def corpus(work, papers, seed):
    folder = work / f"c{papers}"
    if not (folder / ".complete").exists():
        subprocess.run(
            [sys.executable, str(SHARED_BENCH / "gen_corpus.py"), "--papers", str(papers),
             "--files", "5", "--out", str(folder), "--seed", str(seed)],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        (folder / ".complete").write_text("")
    return folder


def percentile(samples, fraction):
    ordered = sorted(samples)
    k = (len(ordered) - 1) * fraction
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def latencies(run_query, queries, reps):
    samples = []
    for query in queries:
        run_query(query)  # warm-up
        for _ in range(reps):
            started = time.perf_counter()
            run_query(query)
            samples.append((time.perf_counter() - started) * 1000)
    return percentile(samples, 0.5), percentile(samples, 0.95)


def query_figures(floor_db, ours_db, reps):
    sys.path.insert(0, str(SHARED_BENCH))
    import query_bench

    queries = [q for _, q in query_bench.QUERIES]
    floor = sqlite3.connect(f"file:{floor_db}?mode=ro", uri=True)
    floor_sql = query_bench.SQL["bm25"]

    def floor_query(q):
        return floor.execute(floor_sql, (q,)).fetchall()

    ours = open_database(ours_db)

    def ours_query(q):
        return search(ours, q, limit=20)

    plain = sqlite_utils.Database(sqlite3.connect(f"file:{ours_db}?mode=ro", uri=True))

    def sqlite_utils_query(q):
        # table.search() quotes each word itself; FTS5 operators become words.
        return list(plain["papers"].search(q, limit=20))

    return {
        "floor": latencies(floor_query, queries, reps),
        "ours": latencies(ours_query, queries, reps),
        "sqlite-utils": latencies(sqlite_utils_query, queries, reps),
    }


def free_pages(db):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA freelist_count").fetchone()[0]
    finally:
        conn.close()


def measure(work, papers, reps, query_reps, seed, build_args=()):
    folder = corpus(work, papers, seed)
    input_bytes = sum(p.stat().st_size for p in folder.glob("*.txt"))
    floor_db, ours_db = work / f"floor{papers}.db", work / f"ours{papers}.db"
    floor_runs, ours_runs = [], []
    for _ in range(reps):  # alternate, so drifting machine load hits both alike
        floor_runs.append(
            run_process(
                [sys.executable, str(SHARED_BENCH / "lower_bound.py"), "--in", str(folder),
                 "--db", str(floor_db)]
            )
        )  # fmt: skip
        ours_runs.append(
            run_process([sys.executable, str(ROOT / "build_db.py"), str(folder), "-o",
                         str(ours_db), "-q", *build_args])
        )  # fmt: skip
    row = {
        "papers": papers,
        "input_mb": input_bytes / 1e6,
        "floor_s": statistics.median(w for w, _, _ in floor_runs),
        "ours_s": statistics.median(w for w, _, _ in ours_runs),
        "floor_cpu": statistics.median(c for _, _, c in floor_runs),
        "ours_cpu": statistics.median(c for _, _, c in ours_runs),
        "floor_rss": statistics.median(m for _, m, _ in floor_runs),
        "ours_rss": statistics.median(m for _, m, _ in ours_runs),
        "floor_mb": floor_db.stat().st_size / 1e6,
        "ours_mb": ours_db.stat().st_size / 1e6,
        "floor_free": free_pages(floor_db),
        "ours_free": free_pages(ours_db),
    }
    row.update(query_figures(floor_db, ours_db, query_reps))
    return row


def seeds_build(reps):
    output = Path(os.environ.get("TMPDIR", "/tmp")) / "paperdb-seeds-bench.db"
    seeds = ROOT / "tests" / "fixtures" / "dumps"  # the real dumps, whatever data/seeds holds
    command = [sys.executable, str(ROOT / "build_db.py"), str(seeds), "-o", str(output), "-q"]
    runs = [run_process(command) for _ in range(reps)]
    output.unlink(missing_ok=True)
    return statistics.median(w for w, _, _ in runs)


def machine():
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor() or "unknown CPU",
    )  # fmt: skip
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    memory = next((int(ln.split()[1]) / 1024**2 for ln in meminfo if ln.startswith("MemTotal")), 0)
    return f"{os.cpu_count()} × {model}, {memory:.0f} GiB RAM, Python {platform.python_version()}"


def report(rows, seeds_seconds, reps, query_reps, command):
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.date.today().isoformat()} with `{command}`"
        f" (medians of {reps} builds, alternating with the floor; queries {query_reps}× each"
        " after a warm-up).",
        f"Machine: {machine()}. SQLite {sqlite3.sqlite_version}.",
        "",
        f"The bundled dumps (898 occurrences) build in {seeds_seconds:.2f} s as a whole process.",
        "",
        "Build: wall time, CPU time (user + system, all processes), peak memory:",
        "",
        "| papers | input | floor build | paperdb build | ratio | floor CPU | paperdb CPU | ratio"
        " | floor peak | paperdb peak |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['papers']:,} | {r['input_mb']:.0f} MB | {r['floor_s']:.2f} s"
            f" | {r['ours_s']:.2f} s | {r['ours_s'] / r['floor_s']:.2f}×"
            f" | {r['floor_cpu']:.2f} s | {r['ours_cpu']:.2f} s"
            f" | {r['ours_cpu'] / r['floor_cpu']:.2f}×"
            f" | {r['floor_rss']:.0f} MB | {r['ours_rss']:.0f} MB |"
        )
    lines += [
        "",
        "File size and free pages (`PRAGMA freelist_count`):",
        "",
        "| papers | floor file | paperdb file | ratio | floor free pages | paperdb free pages |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['papers']:,} | {r['floor_mb']:.0f} MB | {r['ours_mb']:.0f} MB"
            f" | {r['ours_mb'] / r['floor_mb']:.2f}× | {r['floor_free']:,} | {r['ours_free']:,} |"
        )
    lines += [
        "",
        "Search over the 33 fixed queries of `../shared/bench/query_bench.py`, top 20 with"
        " snippet (ms, p50 / p95):",
        "",
        "| papers | floor plain bm25 | paperdb search | sqlite-utils table.search()"
        " | paperdb p95 / floor p95 |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        cells = " | ".join(
            f"{r[k][0]:.1f} / {r[k][1]:.1f}" for k in ("floor", "ours", "sqlite-utils")
        )
        lines.append(f"| {r['papers']:,} | {cells} | {r['ours'][1] / r['floor'][1]:.2f}× |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--query-reps", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=ROOT / "bench-work")
    parser.add_argument(
        "--build-args",
        nargs="*",
        default=[],
        help="extra arguments for paperdb's builds, e.g. --build-args=--no-related",
    )
    parser.add_argument("--write", type=Path, help="report file (default: WORK/benchmarks.md)")
    parser.add_argument(
        "--shared", type=Path, help="the project's shared/ folder (default: ../shared)"
    )
    args = parser.parse_args()
    if args.shared:
        global SHARED_BENCH
        SHARED_BENCH = args.shared / "bench"
    write = args.write or args.work / "benchmarks.md"
    if not (SHARED_BENCH / "lower_bound.py").exists():
        raise SystemExit(f"needs the floor benchmark in {SHARED_BENCH}")
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for papers in args.sizes:
        rows.append(
            measure(args.work, papers, args.reps, args.query_reps, args.seed, args.build_args)
        )
        print(rows[-1], file=sys.stderr)
    command = "python benchmarks/run_benchmarks.py " + " ".join(sys.argv[1:])
    text = report(rows, seeds_build(5), args.reps, args.query_reps, command.strip())
    write.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
