"""What is extracted from one paper, purely from its text: topics, search aliases,
repository mentions and links. Worker processes run this (parallel.py); facts.py writes
what it finds."""

from .acronyms import AliasMaker
from .links import RepoMention, extract_links
from .textmatch import PhraseSet


class TopicsAndAliases:
    """A paper's topics and search aliases, from one phrase scan of both fields."""

    def __init__(self, taxonomy, expansions):
        self.taxonomy = taxonomy
        self.alias_maker = AliasMaker(expansions)
        self.phrases = PhraseSet()
        taxonomy.register(self.phrases)
        self.alias_maker.register(self.phrases)

    def of(self, title, abstract):
        """(topic assignments, aliases) for one paper."""
        in_title, in_abstract = self.phrases.find_each(title, abstract)
        assignments = self.taxonomy.rows(in_title, in_abstract)
        found = in_title.keys() | in_abstract.keys()
        return assignments, self.alias_maker.aliases(f"{title} {abstract}", found)


def extract(topics_and_aliases, title, abstract):
    """(topic rows, aliases, repository mentions, link rows) of one paper.

    Pure, so it can run in a worker, and made of plain tuples and strings: they cross
    from the workers pickled, and a tuple unpickles about 6 times faster than a dataclass
    (2.5 against 14.6 µs a paper, issue 19). The tuples are in the column order of
    TOPIC_COLUMNS, RepoMention's fields and LINK_COLUMNS, after the paper id.
    """
    assignments, aliases = topics_and_aliases.of(title, abstract)
    repos, links = [], []
    for found in extract_links(f"{title} {abstract}", title):
        if isinstance(found, RepoMention):
            repos.append((found.owner, found.name, found.path, found.as_written))
        else:
            links.append((found.url, found.host, found.kind, found.as_written))
    return assignments, aliases, repos, links
