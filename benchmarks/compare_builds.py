#!/usr/bin/env python3
"""Builds of several commits (and the floor) side by side: wall, CPU, peak RSS, size, free pages.

    python benchmarks/compare_builds.py bench-work/c100000 floor 95fd347 \
        HEAD:--no-related HEAD --reps 3

Each commit's src/ and schema.sql are exported with `git archive` to a temporary folder and
built with this checkout's build_db.py, PYTHONPATH pointing at the export (COMMIT:OPTIONS adds
build options, e.g. HEAD:--no-related); "floor" is
../shared/bench/lower_bound.py. The builds alternate (every build once, then again), so a
machine whose load drifts slows all of them alike; medians are printed at the end. CPU is
user + system time from wait4(), which includes the worker processes a build joins: on a
loaded machine it moves far less than the wall time.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from run_benchmarks import free_pages  # noqa: E402


def export(commit, folder):
    """`commit`'s src/ and schema.sql under `folder`; returns the src/ path."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "src", "schema.sql"],
        check=True,
        capture_output=True,
    ).stdout
    folder.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder / "src"


def run(command, env):
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if status:
        raise SystemExit(f"failed: {' '.join(command)}\n{process.stderr.read().decode()}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("builds", nargs="+", help="commits (COMMIT:OPTIONS), or 'floor'")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--work", type=Path, default=ROOT / "bench-work")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    figures = {name: [] for name in args.builds}
    with tempfile.TemporaryDirectory() as scratch:
        sources = {
            name: export(name.split(":")[0], Path(scratch) / f"tree{i}")
            for i, name in enumerate(args.builds)
            if name != "floor"
        }
        for rep in range(args.reps):
            for i, name in enumerate(args.builds):
                output = args.work / f"compare{i}.db"
                output.unlink(missing_ok=True)
                env = dict(os.environ)
                if name == "floor":
                    floor = args.shared / "bench" / "lower_bound.py"
                    command = [sys.executable, str(floor), "--in", str(args.corpus)]
                    command += ["--db", str(output)]
                else:
                    env["PYTHONPATH"] = str(sources[name])
                    command = [sys.executable, str(ROOT / "build_db.py"), str(args.corpus)]
                    command += ["-o", str(output), "-q", *name.split(":")[1:]]
                wall, cpu, rss = run(command, env)
                row = (wall, cpu, rss, output.stat().st_size / 1e6, free_pages(output))
                figures[name].append(row)
                print(
                    f"{name} run {rep + 1}: {wall:.2f} s wall, {cpu:.2f} s CPU, "
                    f"peak RSS {rss:.0f} MB, {row[3]:.1f} MB, {row[4]:,} free pages",
                    flush=True,
                )
    print("\nmedians:")
    for name, rows in figures.items():
        wall, cpu, rss, size, free = (
            statistics.median(column) for column in zip(*rows, strict=True)
        )
        print(
            f"{name}: {wall:.2f} s wall, {cpu:.2f} s CPU, peak RSS {rss:.0f} MB, "
            f"{size:.1f} MB, {free:,.0f} free pages"
        )


if __name__ == "__main__":
    main()
