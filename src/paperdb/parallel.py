"""Extraction (topics, aliases, links) in worker processes, written in input order.

Extraction is most of a build's Python time (about 250 µs a paper, against 40 µs for
reading, parsing and inserting), and each paper's extraction depends only on its own text,
so it runs in a process pool while the main process parses and writes. Papers go out in
batches; the results of a batch are written when the batch LAG_BATCHES later is sent (or
at the end), in the order sent. That order does not depend on the number of workers or on
their timing, and the in-process queue (no pool, for small inputs) follows it too, so a
build gives the same bytes however it ran.
"""

import collections
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from .extract import TopicsAndAliases, extract
from .topics import load_taxonomy

BATCH_PAPERS = 250
LAG_BATCHES = 8  # batches in flight: enough to keep two workers busy
PARALLEL_MIN_BYTES = 16 * 1024 * 1024  # ~12,000 papers: below that a pool costs more than it saves


def default_workers(total_bytes):
    """Worker processes for a build of this many input bytes (0: extract in-process)."""
    if total_bytes < PARALLEL_MIN_BYTES:
        return 0
    return min(os.cpu_count() or 1, 4)


class ExtractionQueue:
    """Takes papers to extract; hands back (id, aliases) of those whose rows are written."""

    def __init__(self, facts, workers=0, taxonomy_path=None, expansions=None):
        self.facts = facts
        self.pool = None
        if workers:
            # On Linux the workers are forked while this process has the database open.
            # They never use that connection and end through os._exit (multiprocessing's
            # fork start method, _exit_with_parent), never closing it: SQLite's rule against
            # using a connection on both sides of a fork() holds.
            self.pool = ProcessPoolExecutor(
                max_workers=workers,
                initializer=_start_worker,
                initargs=(taxonomy_path, expansions, os.getpid()),
            )
        self._batch = []
        self._in_flight = collections.deque()

    def submit(self, pid, title, abstract):
        """Queue a paper; returns [(id, aliases)] of the papers written meanwhile."""
        self._batch.append((pid, title, abstract))
        if len(self._batch) < BATCH_PAPERS:
            return []
        self._send()
        written = []
        while len(self._in_flight) > LAG_BATCHES:
            written += self._write(self._in_flight.popleft())
        return written

    def drain(self):
        """Write every queued paper; returns their [(id, aliases)]."""
        if self._batch:
            self._send()
        written = []
        while self._in_flight:
            written += self._write(self._in_flight.popleft())
        return written

    def close(self):
        if self.pool:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None

    def _send(self):
        batch, self._batch = self._batch, []
        if self.pool:
            self._in_flight.append(self.pool.submit(_extract_batch, batch))
        else:
            scan = self.facts.topics_and_aliases
            self._in_flight.append([(pid, *extract(scan, t, a)) for pid, t, a in batch])

    def _write(self, pending):
        results = pending.result() if self.pool else pending
        return [(pid, self.facts.write(pid, *found)) for pid, *found in results]


_topics_and_aliases = None


def _start_worker(taxonomy_path, expansions, parent):
    global _topics_and_aliases
    _topics_and_aliases = TopicsAndAliases(load_taxonomy(taxonomy_path), expansions)
    # A worker whose build was killed (SIGKILL leaves no chance to stop the pool) would wait
    # for work forever: leave as soon as the parent is gone.
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent):
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _extract_batch(batch):
    return [(pid, *extract(_topics_and_aliases, title, abstract)) for pid, title, abstract in batch]
