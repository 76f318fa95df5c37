"""The query thesaurus: what papers write instead of what people type.

A reader types "speech-to-text", "Slavic languages" or "image restoration"; the papers
about it write "speech recognition" and ASR, Russian and Polish, super-resolution and
inpainting. data/thesaurus.toml lists such entries, each from phrases a query may contain
(`query`, matched case-insensitively on words, a final s allowed) to phrases papers write
(`means`: a word or phrase matched by the index, so its endings vary as porter allows; an
acronym such as ASR only as written, in capitals). ranking.py credits a paper that writes
one of an entry's `means` as holding the query words the entry's phrase covers.

The thesaurus is read by searches only: papers.db holds nothing of it, so a new paperdb's
thesaurus serves an old file as it is.
"""

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .errors import PaperdbError
from .textmatch import PhraseSet, is_cased, spelled, words

MAX_MEANS = 16  # phrases an entry may expand to: each is one more OR in a search


@dataclass(frozen=True)
class Sense:
    """One entry a query names: the query's words it covers, and how papers say it."""

    words: frozenset  # lower-cased words of the query phrase(s) found
    fts: str  # FTS5 query for any of the entry's `means`: finds candidates, stemmed
    means: tuple

    @property
    def written(self):
        """Where a text says one of `means`: the index's porter stems also match words that
        merely share a stem ("provenance" and "proven"), and ignore letter case."""
        return _written(self.means)


class Thesaurus:
    def __init__(self, entries, source="thesaurus"):
        self.matcher = PhraseSet()
        self.entries = []
        for number, entry in enumerate(entries, start=1):
            queries, means = entry.get("query"), entry.get("means")
            if not _strings(queries) or not _strings(means):
                raise PaperdbError(
                    f"{source}: entry {number} needs non-empty lists of strings 'query' and 'means'"
                )
            for phrase in queries:
                try:
                    self.matcher.add(phrase, len(self.entries))
                except ValueError:
                    raise PaperdbError(
                        f"{source}: entry {number}: query {phrase!r} has no words"
                    ) from None
            self.entries.append(_compile(means[:MAX_MEANS]))

    def senses(self, text):
        """[Sense] of the entries whose query phrases `text` contains, in entry order."""
        found = self.matcher.find(text)
        senses = []
        for index in sorted(found):
            said = frozenset(w.lower() for phrase in found[index] for w in words(phrase))
            senses.append(Sense(said, *self.entries[index]))
        return senses


def _strings(value):
    return isinstance(value, list) and value and all(isinstance(v, str) and words(v) for v in value)


def _compile(means):
    """(fts, means) for an entry's `means`."""
    return "(" + " OR ".join(_quote(m) for m in means) + ")", tuple(means)


@cache
def _written(means):
    """Compiled when a query first names the entry: compiling all 600 took 0.8 s."""
    forms = [
        re.escape(m.strip()) + "(?:s|es)?" if _is_acronym(m) else f"(?i:{spelled(m)})"
        for m in means
    ]
    return re.compile(rf"(?<![^\W_])(?:{'|'.join(forms)})(?![^\W_])")


def _is_acronym(phrase):
    """One word written with its capitals (ASR, CT, fMRI): matched only as written."""
    word = phrase.strip()
    return " " not in word and is_cased(word)


def _quote(text):
    return '"' + " ".join(words(text)).replace('"', '""') + '"'


@cache
def bundled():
    """The thesaurus shipped with paperdb (data/thesaurus.toml)."""
    path = resources.files("paperdb").joinpath("data", "thesaurus.toml")
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("entry", [])
    return Thesaurus(entries, source=str(path))
