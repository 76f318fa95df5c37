"""What is extracted from each distinct paper as it is stored: links, repositories,
topics and search aliases."""

from .identity import claim_id, repo_key
from .links import RepoMention, extract_links


class Extractor:
    """Writes the links, repositories and topics of each distinct paper as it is stored."""

    def __init__(self, writer, enricher):
        self.writer = writer
        self.enricher = enricher
        self.taken_ids = set()  # ids of repositories already written
        self.replaced = False

    def add(self, pid, title, abstract):
        """Write the paper's links and topics; returns its search aliases for its row."""
        assignments, aliases = self.enricher.enrich(title, abstract)
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
        for found in extract_links(f"{title} {abstract}", title):
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
        """The paper's abstract changed: its links and topics are those of the new text."""
        self.writer.flush()
        for table in ("paper_repos", "links", "paper_topics"):
            self.writer.execute(f"DELETE FROM {table} WHERE paper_id = ?", (pid,))
        self.replaced = True
        return self.add(pid, title, abstract)

    def _repo_id(self, mention):
        """The repository's stable id; its row is written the first time it is mentioned.

        Only the ids taken are kept in memory (a set of ints, not a dict of names: 200k
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
        (full_name,) = self.writer.execute(
            "SELECT full_name FROM repos WHERE id = ?", (rid,)
        ).fetchone()
        return repo_key(full_name), True

    def finish(self):
        self.writer.flush()
        if self.replaced:  # a replaced abstract may have been the only mention of a repository
            self.writer.execute(
                "DELETE FROM repos WHERE id NOT IN (SELECT repo_id FROM paper_repos)"
            )
