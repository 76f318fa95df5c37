"""What is extracted from each distinct paper as it is stored: links, repositories,
topics and search aliases."""

from .identity import IdSet, claim_id, repo_key
from .links import RepoMention, extract_links

# The paper that mentions a repository first, papers in order of first appearance.
FIRST_MENTION = """
SELECT papers.title, papers.abstract FROM paper_repos
JOIN papers ON papers.id = paper_repos.paper_id
WHERE paper_repos.repo_id = ?
ORDER BY papers.first_listing_id, (
    SELECT min(position) FROM paper_listings
    WHERE paper_listings.paper_id = papers.id
      AND paper_listings.listing_id = papers.first_listing_id)
LIMIT 1
"""


def extract(enricher, title, abstract):
    """(topic assignments, aliases, links) of one paper: pure, so it can run in a worker."""
    assignments, aliases = enricher.enrich(title, abstract)
    return assignments, aliases, extract_links(f"{title} {abstract}", title)


class Extractor:
    """Writes the links, repositories and topics of each distinct paper as it is stored."""

    def __init__(self, writer, enricher, expected_repos=1000):
        """`enricher` is an Enricher, or a function that makes one when first needed (with
        worker processes extracting, the main process needs one only for a rare rewrite)."""
        self.writer = writer
        self._enricher = enricher
        self.taken_ids = IdSet(expected_repos)  # ids of repositories already written
        self.touched_repos = set()  # repositories whose mentions were removed or re-made

    @property
    def enricher(self):
        if callable(self._enricher):
            self._enricher = self._enricher()
        return self._enricher

    def add(self, pid, title, abstract):
        """Write the paper's links and topics; returns its search aliases for its row."""
        return self.write(pid, *extract(self.enricher, title, abstract))

    def write(self, pid, assignments, aliases, found_links):
        """Write what extract() found in a paper; returns its aliases."""
        for assignment in assignments:
            self.writer.add(
                "paper_topics",
                {
                    "paper_id": pid,
                    "topic_id": assignment.topic_id,
                    "score": assignment.score,
                    "evidence": assignment.evidence,
                },
            )
        for found in found_links:
            if isinstance(found, RepoMention):
                self.writer.add(
                    "paper_repos",
                    {
                        "paper_id": pid,
                        "repo_id": self._repo_id(found),
                        "url_as_written": found.as_written,
                        "path": found.path,
                    },
                )
            else:
                self.writer.add(
                    "links",
                    {
                        "paper_id": pid,
                        "url": found.url,
                        "host": found.host,
                        "kind": found.kind,
                        "url_as_written": found.as_written,
                    },
                )
        return aliases

    def replace(self, pid, title, abstract):
        """The paper's text changed: its links and topics are those of the new text."""
        self.remove(pid)
        aliases = self.add(pid, title, abstract)
        self.touched_repos.update(self.repos_of(pid))
        return aliases

    def remove(self, pid):
        """Forget what was extracted from this paper."""
        self.touched_repos.update(self.repos_of(pid))
        for table in ("paper_repos", "links", "paper_topics"):
            self.writer.execute(f"DELETE FROM {table} WHERE paper_id = ?", (pid,))

    def repos_of(self, pid):
        self.writer.flush()
        rows = self.writer.execute("SELECT repo_id FROM paper_repos WHERE paper_id = ?", (pid,))
        return {repo_id for (repo_id,) in rows}

    def _repo_id(self, mention):
        """The repository's stable id; its row is written the first time it is mentioned.

        Only the ids taken are kept in memory (an IdSet, not a dict of names: 200k
        repositories at 1M papers); a repeat mention checks the stored name.
        """
        rid, known = claim_id(repo_key(mention.full_name), self.taken_ids, self._stored_key)
        if known:
            return rid
        self.taken_ids.add(rid)
        self.writer.add(
            "repos",
            {
                "id": rid,
                "owner": mention.owner,
                "name": mention.name,
                "full_name": mention.full_name,
                "url": mention.url,
            },
        )
        return rid

    def _stored_key(self, rid):
        self.writer.flush("repos")
        row = self.writer.execute("SELECT full_name FROM repos WHERE id = ?", (rid,)).fetchone()
        return None if row is None else (repo_key(row[0]), True)

    def finish(self):
        """Drop repositories no longer mentioned; spell the others as their first mention.

        Only repositories whose mentions changed after they were written (a paper's text
        replaced, or an incremental build) need this: for the others, the first mention
        written is already the first in paper order.
        """
        self.writer.flush()
        for rid in sorted(self.touched_repos):
            first = self.writer.execute(FIRST_MENTION, (rid,)).fetchone()
            if first is None:
                self.writer.execute("DELETE FROM repos WHERE id = ?", (rid,))
            else:
                self._respell(rid, *first)
        self.touched_repos.clear()

    def _respell(self, rid, title, abstract):
        (full_name,) = self.writer.execute(
            "SELECT full_name FROM repos WHERE id = ?", (rid,)
        ).fetchone()
        key = repo_key(full_name)
        for found in extract_links(f"{title} {abstract}", title):
            if isinstance(found, RepoMention) and repo_key(found.full_name) == key:
                if found.full_name != full_name:
                    self.writer.execute(
                        "UPDATE repos SET owner = ?, name = ?, full_name = ?, url = ? WHERE id = ?",
                        (found.owner, found.name, found.full_name, found.url, rid),
                    )
                return
