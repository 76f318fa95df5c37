#!/usr/bin/env python3
"""A --topics file with one topic of many phrases: time to build its matcher, and a build.

    python benchmarks/topics_bench.py [--phrases 10000 200000]
        [--corpus tests/fixtures/dumps/001_...txt]

For each count, writes a taxonomy of one topic with that many distinct phrases (1-4 words
of a 3,000-word vocabulary, some plural, so that many phrases hold others), then prints the
seconds to build the phrase matcher (PhraseSet, on its first use) and to build the corpus
with that taxonomy in this process (workers=0). Issue 15 measured the first at 5.7 s for
10k phrases and over 16 minutes for 200k, when every pair of a topic's phrases was compared.
"""

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from paperdb.build import build  # noqa: E402
from paperdb.topics import load_taxonomy  # noqa: E402

DEFAULT_CORPUS = sorted((ROOT / "tests" / "fixtures" / "dumps").glob("001_*.txt"))[0]


def phrases(count, seed=13):
    rng = random.Random(seed)
    vocabulary = [f"term{i}" for i in range(3000)]
    found = set()
    while len(found) < count:
        size = rng.randint(1, 4)
        found.add(
            " ".join(rng.choice(vocabulary) + rng.choice(["", "s", "es"]) for _ in range(size))
        )
    return sorted(found)


def write_taxonomy(path, count):
    path.write_text(
        "[[topic]]\n"
        'slug = "many"\n'
        'name = "Many phrases"\n'
        'description = "One topic of many phrases."\n'
        f"phrases = {json.dumps(phrases(count))}\n"
        "acronyms = []\n",
        encoding="utf-8",
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phrases", type=int, nargs="+", default=[10_000, 200_000])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for count in args.phrases:
            toml = Path(folder) / f"topics{count}.toml"
            write_taxonomy(toml, count)
            taxonomy = load_taxonomy(toml)
            started = time.perf_counter()
            taxonomy.assign("", "")  # the matcher is built on first use
            matcher = time.perf_counter() - started
            started = time.perf_counter()
            result = build([args.corpus], Path(folder) / "papers.db", taxonomy_file=toml, workers=0)
            built = time.perf_counter() - started
            print(
                f"{count:>9,} phrases: matcher {matcher:7.2f} s; build of {result.papers:,}"
                f" papers ({args.corpus.name}) {built:7.2f} s"
            )


if __name__ == "__main__":
    main()
