#!/usr/bin/env python3
"""Where one build's time goes: wall seconds per stage, and CPU of the main process and
of the extraction workers.

    python benchmarks/stages.py bench-work/c100000 [--workers N] [--no-related]
        [--output /tmp/stages.db]

On 2 cores the build is bound by CPU, so the CPU figures say what a change can gain: the
main process is the critical path (the full-text index waits for every paper's aliases),
and the workers' extraction runs beside it.
"""

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from paperdb import build as build_module  # noqa: E402
from paperdb import writer as writer_module  # noqa: E402
from paperdb.build import build  # noqa: E402

# Steps inside the stages, timed (wall, CPU of this process) by wrapping them.
STEPS = {
    "write staged tables": (writer_module.DatabaseWriter, "unstage"),
    "full-text index": (writer_module.DatabaseWriter, "index_full_text"),
    "overview (update)": (build_module, "store_overview"),
}
step_times = {}


def timed(name, function):
    def wrapper(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent = step_times.setdefault(name, [0.0, 0.0])
            spent[0] += time.perf_counter() - wall
            spent[1] += time.process_time() - cpu

    return wrapper


def cpu_seconds(who):
    usage = resource.getrusage(who)
    return usage.ru_utime, usage.ru_stime


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="+", type=Path)
    parser.add_argument("--workers", type=int, help="extraction processes (default: as a build)")
    parser.add_argument("--output", type=Path, help="where to write (default: a temp folder)")
    parser.add_argument("--no-related", action="store_true", help="as `paperdb build --no-related`")
    args = parser.parse_args()
    for name, (owner, attribute) in STEPS.items():
        setattr(owner, attribute, timed(name, getattr(owner, attribute)))
    with tempfile.TemporaryDirectory() as folder:
        output = args.output or Path(folder) / "papers.db"
        result = build(args.inputs, output, workers=args.workers, related=not args.no_related)
        main_user, main_sys = cpu_seconds(resource.RUSAGE_SELF)
        workers_user, workers_sys = cpu_seconds(resource.RUSAGE_CHILDREN)
        size = output.stat().st_size
    print(f"{result.papers:,} papers in {result.seconds:.1f} s, file {size / 1e6:,.0f} MB")
    for stage, seconds in result.timings.items():
        print(f"  {stage:<22} {seconds:8.1f} s")
    for step, (wall, cpu) in step_times.items():
        print(f"  of which {step:<22} {wall:8.1f} s ({cpu:.1f} s CPU)")
    print(f"main process CPU  {main_user + main_sys:8.1f} s (system {main_sys:.1f})")
    print(f"workers CPU       {workers_user + workers_sys:8.1f} s (system {workers_sys:.1f})")


if __name__ == "__main__":
    main()
