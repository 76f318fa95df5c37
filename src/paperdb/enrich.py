"""The second pass: once every paper is stored and every acronym definition known, read the
papers back and give each its topics and its search aliases, from one phrase scan per field.

Reading back in id order, a chunk at a time, keeps memory bounded; doing it after the
first pass means an abstract replaced by a longer one is enriched only in its final form.
"""

import json

from .acronyms import AliasMaker
from .textmatch import PhraseSet

CHUNK = 5000


class Enricher:
    def __init__(self, taxonomy, expansions):
        self.taxonomy = taxonomy
        self.alias_maker = AliasMaker(expansions)
        self.phrases = PhraseSet()
        taxonomy.register(self.phrases)
        self.alias_maker.register(self.phrases)

    def enrich(self, title, abstract):
        """(topic assignments, aliases) for one paper."""
        in_title = self.phrases.find(title)
        in_abstract = self.phrases.find(abstract)
        assignments = self.taxonomy.score(in_title, in_abstract)
        found = set(in_title) | set(in_abstract)
        return assignments, self.alias_maker.aliases(f"{title} {abstract}", found)


def write_topics(writer, taxonomy):
    """The taxonomy itself, with the rules each topic matched with."""
    for topic in taxonomy.topics:
        parent = taxonomy.by_slug[topic.parent].id if topic.parent else None
        rules = {"phrases": list(topic.phrases), "acronyms": list(topic.acronyms)}
        writer.add(
            "topics",
            {
                "id": topic.id,
                "slug": topic.slug,
                "name": topic.name,
                "description": topic.description,
                "parent_id": parent,
                "rules": json.dumps(rules, ensure_ascii=False),
            },
        )


def enrich_papers(writer, taxonomy, expansions, total, progress):
    """Write paper_topics rows and papers.aliases for every stored paper."""
    enricher = Enricher(taxonomy, expansions)
    last, done = -1, 0
    while True:
        chunk = writer.execute(
            "SELECT id, title, abstract FROM papers WHERE id > ? ORDER BY id LIMIT ?",
            (last, CHUNK),
        ).fetchall()
        if not chunk:
            break
        last = chunk[-1][0]
        topic_rows, alias_rows = [], []
        for pid, title, abstract in chunk:
            assignments, aliases = enricher.enrich(title, abstract)
            topic_rows.extend((pid, a.topic_id, a.score, a.evidence) for a in assignments)
            if aliases:
                alias_rows.append((aliases, pid))
        writer.executemany(
            "INSERT INTO paper_topics (paper_id, topic_id, score, evidence) VALUES (?, ?, ?, ?)",
            topic_rows,
        )
        writer.executemany("UPDATE papers SET aliases = ? WHERE id = ?", alias_rows)
        done += len(chunk)
        progress(f"topics and aliases: {done:,}/{total:,} papers")
