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


def corpus(work, papers, seed, files=5):
    """The synthetic corpus of `papers` papers in `files` dumps, generated once into `work`."""
    folder = work / (f"c{papers}" if files == 5 else f"c{papers}x{files}")
    if not (folder / ".complete").exists():
        subprocess.run(
            [sys.executable, str(SHARED_BENCH / "gen_corpus.py"), "--papers", str(papers),
             "--files", str(files), "--out", str(folder), "--seed", str(seed)],
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


# The builds compared at each size: the floor, and paperdb with and without related papers
# (issue 19's ratios are for --no-related; related papers have their own budget, issue 18).
BUILDS = ("floor", "no-related", "default")


def build_command(name, folder, db, build_args=()):
    if name == "floor":
        return [sys.executable, str(SHARED_BENCH / "lower_bound.py"), "--in", str(folder),
                "--db", str(db)]  # fmt: skip
    options = ["--no-related"] if name == "no-related" else []
    return [sys.executable, str(ROOT / "build_db.py"), str(folder), "-o", str(db), "-q",
            *options, *build_args]  # fmt: skip


def measure(work, papers, reps, query_reps, seed, build_args=(), files=5, incremental=False):
    folder = corpus(work, papers, seed, files)
    dbs = {
        "floor": work / f"floor{papers}.db",
        "no-related": work / f"ours{papers}-no-related.db",
        "default": work / f"ours{papers}.db",
    }
    runs = {name: [] for name in BUILDS}
    for _ in range(reps):  # alternate, so drifting machine load hits every build alike
        for name in BUILDS:
            runs[name].append(run_process(build_command(name, folder, dbs[name], build_args)))
    row = {
        "papers": papers,
        "files": files,
        "input_mb": sum(p.stat().st_size for p in folder.glob("*.txt")) / 1e6,
        "builds": {
            name: {
                "wall": statistics.median(w for w, _, _ in runs[name]),
                "cpu": statistics.median(c for _, _, c in runs[name]),
                "peak": max(m for _, m, _ in runs[name]),
                "mb": dbs[name].stat().st_size / 1e6,
                "free": free_pages(dbs[name]),
            }
            for name in BUILDS
        },
    }
    row.update(query_figures(dbs["floor"], dbs["default"], query_reps))
    if incremental:
        row["incremental"] = incremental_figures(work, folder, dbs["default"], build_args)
    return row


def incremental_figures(work, folder, built, build_args=()):
    """One dump of the corpus changed (incremental_bench.py's change), then `paperdb build
    --incremental` on a copy of the full build `built`, timed against a full build of the
    changed corpus; and whether the two files hold the same content."""
    import shutil

    import incremental_bench

    changed = work / f"{folder.name}-changed"
    name, papers = incremental_bench.changed_copy(folder, changed)
    updated, full = work / "incremental-updated.db", work / "incremental-full.db"
    shutil.copyfile(built, updated)
    update = run_process(
        [sys.executable, str(ROOT / "build_db.py"), "--incremental", str(changed), "-o",
         str(updated), "-q", *build_args]
    )  # fmt: skip
    rebuild = run_process(build_command("default", changed, full, build_args))
    left, right = incremental_bench.fingerprint(updated), incremental_bench.fingerprint(full)
    return {
        "dump": name,
        "dump_papers": papers,
        "dumps": len(list(folder.glob("*.txt"))),
        "update": update,
        "full": rebuild,
        "different": sorted(k for k in left.keys() | right.keys() if left.get(k) != right.get(k)),
    }


def seeds_build(reps, options=()):
    output = Path(os.environ.get("TMPDIR", "/tmp")) / "paperdb-seeds-bench.db"
    seeds = ROOT / "tests" / "fixtures" / "dumps"  # the real dumps, whatever data/seeds holds
    command = [sys.executable, str(ROOT / "build_db.py"), str(seeds), "-o", str(output), "-q"]
    runs = [run_process([*command, *options]) for _ in range(reps)]
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


def targets(rows, seeds):
    """[(target, measured, met)] for the targets of issue 19 (and issue 18's budget for
    related papers) that these rows measure: at 100k and 1M papers only."""
    found = []

    def check(target, measured, met):
        found.append((target, measured, "met" if met else "**not met**"))

    for r in rows:
        size = {100_000: "100k", 1_000_000: "1M"}.get(r["papers"])
        if size is None:
            continue
        floor, lean, full = (r["builds"][name] for name in BUILDS)
        bound = 1.4 if size == "100k" else 1.3
        wall, full_wall = lean["wall"] / floor["wall"], full["wall"] / floor["wall"]
        check(
            f"{size}: build time ≤ {bound}× the floor's (`--no-related`)",
            f"{lean['wall']:.1f} s against {floor['wall']:.1f} s: {wall:.2f}×"
            f" (with related papers {full_wall:.2f}×)",
            wall <= bound,
        )
        if size == "100k":
            cpu, full_cpu = lean["cpu"] / floor["cpu"], full["cpu"] / floor["cpu"]
            check(
                "100k: CPU time ≤ 2.5× the floor's (`--no-related`)",
                f"{lean['cpu']:.1f} s against {floor['cpu']:.1f} s: {cpu:.2f}×"
                f" (with related papers {full_cpu:.2f}×)",
                cpu <= 2.5,
            )
        ratio, full_ratio = lean["mb"] / floor["mb"], full["mb"] / floor["mb"]
        check(
            f"{size}: file ≤ 1.35× the floor's, no free pages (`--no-related`)",
            f"{lean['mb']:.0f} MB against {floor['mb']:.0f} MB: {ratio:.2f}×,"
            f" {lean['free']:,} free pages (with related papers {full_ratio:.2f}×,"
            f" {full['free']:,})",
            ratio <= 1.35 and lean["free"] == full["free"] == 0,
        )
        if size == "1M":
            check(
                "1M: peak memory ≤ 250 MB",
                f"{lean['peak']:.0f} MB `--no-related`, {full['peak']:.0f} MB with related papers",
                max(lean["peak"], full["peak"]) <= 250,
            )
        ours, theirs = r["ours"][1], r["floor"][1]
        check(
            f"{size}: search p95 ≤ 1.1× the floor's plain bm25 top 20",
            f"{ours:.1f} ms against {theirs:.1f} ms: {ours / theirs:.2f}×",
            ours <= 1.1 * theirs,
        )
        incremental = r.get("incremental")
        if incremental and size == "1M":
            (update, _, update_cpu), (rebuild, _, rebuild_cpu) = (
                incremental["update"],
                incremental["full"],
            )
            different = incremental["different"]
            content = "differs in " + ", ".join(different) if different else "same content"
            check(
                "1M: one changed dump of 100 in ≤ 10% of a full build, same content",
                f"{update:.1f} s ({update_cpu:.1f} s CPU) against {rebuild:.1f} s"
                f" ({rebuild_cpu:.1f} s CPU): {update / rebuild:.1%} of the wall time,"
                f" {update_cpu / rebuild_cpu:.1%} of the CPU; {content}",
                update <= 0.10 * rebuild and not different,
            )
        if size == "100k":
            added_wall = full["wall"] / lean["wall"] - 1
            added_cpu = full["cpu"] / lean["cpu"] - 1
            added_mb = full["mb"] - lean["mb"]
            check(
                "100k: related papers add ≤ 15% to the build time (issue 18)",
                f"+{added_wall:.0%} wall, +{added_cpu:.0%} CPU",
                added_wall <= 0.15,
            )
            check(
                "100k: related papers add ≤ 10% to the file (issue 18)",
                f"+{added_mb / lean['mb']:.1%} ({added_mb:.1f} MB)",
                added_mb <= 0.10 * lean["mb"],
            )
    lean_seeds, full_seeds = seeds
    check(
        "the bundled dumps in under 0.5 s as a whole process",
        f"{lean_seeds:.2f} s `--no-related`, {full_seeds:.2f} s with related papers",
        lean_seeds < 0.5,
    )
    return found


def report(rows, seeds, reps, query_reps, command):
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.date.today().isoformat()} with `{command}`"
        f" (medians of {reps} builds of each kind, alternating: the floor, paperdb"
        f" `--no-related`, paperdb; queries {query_reps}× each after a warm-up).",
        f"Machine: {machine()}. SQLite {sqlite3.sqlite_version}.",
        "",
        "## Targets",
        "",
        "| target | measured | |",
        "|---|---|---|",
        *(f"| {target} | {measured} | {met} |" for target, measured, met in targets(rows, seeds)),
        "",
        "## Builds",
        "",
        "Wall time, CPU time (user + system, the build's worker processes included), peak"
        " memory (the process tree's PSS), file size and free pages (`PRAGMA freelist_count`);"
        " ratios to the floor:",
        "",
        "| papers | dumps | build | wall | CPU | peak memory | file | free pages"
        " | wall ratio | CPU ratio | file ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        floor = r["builds"]["floor"]
        for name in BUILDS:
            b = r["builds"][name]
            label = {"floor": "floor", "no-related": "paperdb `--no-related`"}.get(name, "paperdb")
            lines.append(
                f"| {r['papers']:,} | {r['files']} ({r['input_mb']:.0f} MB) | {label}"
                f" | {b['wall']:.2f} s | {b['cpu']:.2f} s | {b['peak']:.0f} MB"
                f" | {b['mb']:.1f} MB | {b['free']:,} | {b['wall'] / floor['wall']:.2f}×"
                f" | {b['cpu'] / floor['cpu']:.2f}× | {b['mb'] / floor['mb']:.2f}× |"
            )
    lines += [
        "",
        "What related papers add (paperdb against paperdb `--no-related`):",
        "",
        "| papers | wall | CPU | file |",
        "|---|---|---|---|",
    ]
    for r in rows:
        lean, full = r["builds"]["no-related"], r["builds"]["default"]
        lines.append(
            f"| {r['papers']:,} | +{full['wall'] - lean['wall']:.2f} s"
            f" (+{full['wall'] / lean['wall'] - 1:.0%}) | +{full['cpu'] - lean['cpu']:.2f} s"
            f" (+{full['cpu'] / lean['cpu'] - 1:.0%}) | +{full['mb'] - lean['mb']:.1f} MB"
            f" (+{full['mb'] / lean['mb'] - 1:.1%}) |"
        )
    lines += [
        "",
        "Search over the 33 fixed queries of `../shared/bench/query_bench.py`, top 20 with"
        " snippet, on the floor's file and paperdb's (ms, p50 / p95):",
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
    changed = [r for r in rows if r.get("incremental")]
    if changed:
        lines += [
            "",
            "`paperdb build --incremental` after one dump changed (100 papers dropped, 100"
            " abstracts lengthened, 50 papers added; `incremental_bench.py`'s change), on a"
            " copy of the full build, against a full build of the changed dumps:",
            "",
            "| papers | dumps | update: wall / CPU / peak | full build: wall / CPU / peak"
            " | share of wall / CPU | content |",
            "|---|---|---|---|---|---|",
        ]
        for r in changed:
            inc = r["incremental"]
            update, rebuild = inc["update"], inc["full"]
            content = "differs: " + ", ".join(inc["different"]) if inc["different"] else "same"
            lines.append(
                f"| {r['papers']:,} | 1 of {inc['dumps']} ({inc['dump_papers']:,} papers)"
                f" | {update[0]:.1f} s / {update[2]:.1f} s / {update[1]:.0f} MB"
                f" | {rebuild[0]:.1f} s / {rebuild[2]:.1f} s / {rebuild[1]:.0f} MB"
                f" | {update[0] / rebuild[0]:.1%} / {update[2] / rebuild[2]:.1%}"
                f" | {content} |"
            )
    lean_seeds, full_seeds = seeds
    lines += [
        "",
        f"The bundled dumps (898 occurrences) build in {lean_seeds:.2f} s with `--no-related`"
        f" and {full_seeds:.2f} s with related papers, as a whole process (medians of 5).",
    ]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--query-reps", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--files", type=int, default=5, help="dumps a corpus is split into")
    parser.add_argument(
        "--incremental",
        action="store_true",
        help="also time --incremental after one dump changed (against a full build)",
    )
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
            measure(
                args.work,
                papers,
                args.reps,
                args.query_reps,
                args.seed,
                args.build_args,
                args.files,
                args.incremental,
            )  # fmt: skip
        )
        print(rows[-1], file=sys.stderr)
    command = "python benchmarks/run_benchmarks.py " + " ".join(sys.argv[1:])
    seeds = (seeds_build(5, ["--no-related"]), seeds_build(5))
    text = report(rows, seeds, args.reps, args.query_reps, command.strip())
    write.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
