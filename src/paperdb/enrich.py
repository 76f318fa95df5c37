"""Topics and search aliases for each paper, from one phrase scan per field.

Aliases need every acronym definition in the corpus, so `harvest_acronyms` reads the dumps
once before the papers are stored: the definitions pass only looks at lines holding "(",
and it lets each paper's row be written whole, once (an UPDATE after the fact would
rewrite every row and leave the table fragmented).
"""

import json

from .acronyms import AcronymHarvest, AliasMaker
from .parser import clean
from .reader import read_lines
from .textmatch import PhraseSet


def harvest_acronyms(dumps, progress):
    """Every "long form (SHORT)" definition in the dumps, each distinct text counted once."""
    harvest = AcronymHarvest()
    for number, dump in enumerate(dumps, start=1):
        progress(f"collecting acronym definitions ({number}/{len(dumps)} files)")
        for _, text in read_lines(dump):
            if "(" in text:
                harvest.add(clean(text))
    return harvest


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
