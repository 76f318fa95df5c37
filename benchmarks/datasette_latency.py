#!/usr/bin/env python3
"""Latency of every page paperdb ships in Datasette, measured from a real `datasette serve`.

    python benchmarks/datasette_latency.py /tmp/df-c100k.db [--reps 20]

Starts `paperdb serve` (Datasette with paperdb's plugin and settings) on a loopback
port, asks each page once to warm up, then --reps times, and prints p50 / p95 in ms per
page and whether any facet timed out. The pages: home, papers table, table search
(redirected to the ranked search), the facets (topics, has_code, listings), a paper, a
topic, a repository, and each canned query.
"""

import argparse
import contextlib
import json
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

PAPERDB = Path(sys.executable).with_name("paperdb")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving(db):
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [str(PAPERDB), "serve", "--db", str(db), "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(base + "/-/versions.json", timeout=2).read()
                    break
                except OSError:
                    time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=10)


def pages(db):
    name = Path(db).stem
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    paper = conn.execute(
        "select paper_id from paper_repos group by paper_id order by paper_id limit 1"
    ).fetchone()[0]
    topic_id, slug = conn.execute(
        "select topic_id, slug from paper_topics join topics on topics.id = topic_id "
        "group by topic_id order by count(*) desc limit 1"
    ).fetchone()
    repo = conn.execute(
        "select repo_id from paper_repos group by repo_id order by count(*) desc limit 1"
    ).fetchone()[0]
    listing = conn.execute("select name from listings order by paper_count desc").fetchone()[0]
    q = urllib.parse.quote
    return {
        "home": f"/{name}",
        "index": "/",
        "papers table": f"/{name}/papers",
        "table search": f"/{name}/papers?_search=state+space+models",
        "facet topics": f"/{name}/papers?_facet_topic=1",
        "topic filter": f"/{name}/papers?_topic=transformers&_facet_topic=1",
        "facet has_code": f"/{name}/papers?_facet=has_code",
        "facet listings": f"/{name}/papers?_facet_listing=1",
        "paper page": f"/{name}/papers/{paper}",
        "topic page": f"/{name}/topics/{topic_id}",
        "repo page": f"/{name}/repos/{repo}",
        "q search": f"/{name}/search?q=mixture+of+experts",
        "q papers_by_topic": f"/{name}/papers_by_topic?topic={q(slug)}",
        "q top_repositories": f"/{name}/top_repositories",
        "q papers_in_listing": f"/{name}/papers_in_listing?listing={q(listing)}",
    }


def timed(url):
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:
        body = response.read().decode()
        status = response.status
    return (time.perf_counter() - started) * 1000, status, body


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db")
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {}
    with serving(args.db) as base:
        for label, path in pages(args.db).items():
            _, status, body = timed(base + path)
            timed_out = "These facets timed out" in body
            times = sorted(timed(base + path)[0] for _ in range(args.reps))
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            results[label] = {
                "p50": round(statistics.median(times), 1),
                "p95": round(p95, 1),
                "status": status,
                "facet_timeout": timed_out,
            }
            if not args.json:
                flag = "  FACET TIMED OUT" if timed_out else ""
                print(
                    f"{label:>20}: p50 {results[label]['p50']:7.1f} ms  "
                    f"p95 {results[label]['p95']:7.1f} ms  ({status}){flag}",
                    flush=True,
                )
    if args.json:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
