"""Writes what is extracted from each distinct paper as it is stored: its topics, links and
repositories (with their stable ids), and keeps them right when a paper's text changes."""

from .extract import extract
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


TOPIC_COLUMNS = ("paper_id", "topic_id", "score", "evidence")
PAPER_REPO_COLUMNS = ("paper_id", "repo_id", "url_as_written", "path")
LINK_COLUMNS = ("paper_id", "url", "host", "kind", "url_as_written")
REPO_COLUMNS = ("id", "owner", "name", "full_name", "url")


class FactWriter:
    """Writes the links, repositories and topics of each distinct paper as it is stored."""

    def __init__(self, writer, topics_and_aliases, expected_repos=1000):
        """`topics_and_aliases` is an extract.TopicsAndAliases, or a function that makes one
        when first needed (with worker processes extracting, the main process needs one only
        for a rare rewrite)."""
        self.writer = writer
        self._topics_and_aliases = topics_and_aliases
        self.taken_ids = IdSet(expected_repos)  # ids of repositories already written
        self.touched_repos = set()  # repositories whose mentions were removed or re-made

    @property
    def topics_and_aliases(self):
        if callable(self._topics_and_aliases):
            self._topics_and_aliases = self._topics_and_aliases()
        return self._topics_and_aliases

    def add(self, pid, title, abstract):
        """Write the paper's links and topics; returns its search aliases for its row."""
        return self.write(pid, *extract(self.topics_and_aliases, title, abstract))

    def write(self, pid, topics, aliases, repos, links):
        """Write what extract() found in a paper; returns its aliases."""
        add = self.writer.add_values
        for topic in topics:
            add("paper_topics", TOPIC_COLUMNS, (pid, *topic))
        for repo in repos:
            mention = RepoMention(*repo)
            add(
                "paper_repos",
                PAPER_REPO_COLUMNS,
                (pid, self._repo_id(mention), mention.as_written, mention.path),
            )
        for link in links:
            add("links", LINK_COLUMNS, (pid, *link))
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
        # The writer flushes what a read names (paper_repos); writing every queued table here
        # too keeps an update's pages in the order earlier versions wrote them, so files stay
        # byte-identical across versions (the rows are the same either way).
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
        self.writer.add_values(
            "repos",
            REPO_COLUMNS,
            (rid, mention.owner, mention.name, mention.full_name, mention.url),
        )
        return rid

    def _stored_key(self, rid):
        row = self.writer.execute("SELECT full_name FROM repos WHERE id = ?", (rid,)).fetchone()
        return None if row is None else (repo_key(row[0]), True)

    def finish(self):
        """Drop repositories no longer mentioned; spell the others as their first mention.

        Only repositories whose mentions changed after they were written (a paper's text
        replaced, or an incremental build) need this: for the others, the first mention
        written is already the first in paper order.
        """
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
