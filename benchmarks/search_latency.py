#!/usr/bin/env python3
"""Search latency side by side with the floor, on databases already built.

    python benchmarks/search_latency.py --floor bench-work/floor100000.db \\
        --ours bench-work/ours100000.db [--reps 5]

The 33 fixed queries of ../shared/bench/query_bench.py, each run once to warm up, then
--reps times: the floor's plain bm25 top 20 with a snippet, paperdb search (limit 20, the
CLI's and Datasette's ranking), and sqlite-utils' table.search(). Prints p50 / p95 in ms,
and the CPU time of each side.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run_benchmarks  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--floor", required=True)
    parser.add_argument("--ours", required=True)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    started = time.process_time()
    figures = run_benchmarks.query_figures(args.floor, args.ours, args.reps)
    for name, (p50, p95) in figures.items():
        print(f"{name:>13}: p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")
    print(f"ratio p95 ours/floor: {figures['ours'][1] / figures['floor'][1]:.2f}")
    print(f"CPU, all sides: {time.process_time() - started:.1f} s")


if __name__ == "__main__":
    main()
