"""Find listed phrases in text quickly, word-bounded, hyphen- and case-aware.

Topics and acronym expansions both ask "which of these few thousand phrases occur in
this abstract, and how often?" for every paper. A regular expression with thousands
of alternatives costs ~100 ns a character in Python's engine; here the text is split
into words once, and set intersections (in C) pick the few phrases worth counting.

Phrases match on words: "state-space model", "state space model" and "State Space
Models" are the same case-insensitive phrase (a final "s" or "es" on the last word is
allowed). A case-sensitive phrase (an acronym such as "MoE" or "KV cache") must match
its capitals exactly, so "moe" in running text does not count.
"""

import re
from collections import Counter, defaultdict

_WORD = re.compile(r"\w+")


def words(text):
    return _WORD.findall(text)


class _Index:
    """Phrases keyed by one of their words.

    A one-word phrase is listed under each form of its word ("model", "models",
    "modeles" is harmless). A longer phrase is listed under its word that the fewest
    other phrases share ("attention mechanism" under "mechanism", not "attention"), so
    a common word in an abstract does not make dozens of phrases worth checking.
    """

    def __init__(self):
        self.single = {}  # word form -> [(phrase, label)]
        self._longer = []  # (head words, last-word forms, phrase, label)
        self._multi = None  # key word -> [(head set, stem, forms, phrase, label)]
        self._keys = None

    def __bool__(self):
        return bool(self.single or self._longer)

    def add(self, phrase_words, phrase, label):
        *head, last = phrase_words
        forms = (last, last + "s", last + "es")
        if not head:
            for form in forms:
                entries = self.single.setdefault(form, [])
                if all(existing != label for _, existing in entries):
                    entries.append((phrase, label))
        else:
            self._longer.append((tuple(head), forms, phrase, label))
        self._multi = self._keys = None

    @property
    def multi(self):
        if self._multi is None:
            shared = Counter(w for head, forms, _, _ in self._longer for w in {*head, forms[0]})
            self._multi = defaultdict(list)
            for head, forms, phrase, label in self._longer:
                key = min({*head, forms[0]}, key=lambda w: (shared[w], -len(w), w))
                needed, stem = frozenset(head), " " + " ".join(head) + " "
                if key == forms[0]:  # keyed by its last word: each form counts only itself
                    for form in forms:
                        self._multi[form].append((needed, stem, (form,), phrase, label))
                else:
                    self._multi[key].append((needed, stem, forms, phrase, label))
        return self._multi

    @property
    def keys(self):
        if self._keys is None:
            self._keys = frozenset(self.single) | frozenset(self.multi)
        return self._keys

    def scan(self, tokens, found):
        if not self or not tokens:
            return
        counts = Counter(tokens)
        padded = None
        for word in self.keys.intersection(counts):
            for phrase, label in self.single.get(word, ()):
                _add(found, label, phrase, counts[word])
            for head, stem, forms, phrase, label in self.multi.get(word, ()):
                if not (counts.keys() >= head and any(f in counts for f in forms)):
                    continue
                if padded is None:
                    padded = " " + " ".join(tokens) + " "
                total = 0
                for form in forms:
                    if form in counts:
                        total += padded.count(stem + form + " ")
                _add(found, label, phrase, total)


def _add(found, label, phrase, count):
    if count:
        counts = found.setdefault(label, {})
        counts[phrase] = counts.get(phrase, 0) + count


class PhraseSet:
    """A set of phrases, each mapped to a label; `find(text)` counts the labels' matches.

    A mention is counted once per label: "large language models" is not also a mention
    of "language model" and "language models" when all three belong to one label.
    """

    def __init__(self):
        self._phrases = []  # (case_sensitive, words, phrase, label), in order added
        self._folded = self._exact = None
        self._inside = {}  # (label, phrase) -> longer phrases of that label containing it

    def add(self, phrase, label, case_sensitive=False):
        phrase_words = words(phrase)
        if not phrase_words:
            raise ValueError(f"phrase {phrase!r} has no words")
        if not case_sensitive:
            phrase_words = [w.lower() for w in phrase_words]
        self._phrases.append((case_sensitive, tuple(phrase_words), phrase, label))
        self._folded = self._exact = None

    def _build(self):
        self._folded, self._exact = _Index(), _Index()
        covered = set()
        # Shorter phrases first, so "language model" covers its plural "language models".
        for case, phrase_words, phrase, label in sorted(
            self._phrases, key=lambda p: (len(p[1]), len("".join(p[1])))
        ):
            if (case, label, phrase_words) in covered:
                continue
            *head, last = phrase_words
            covered.update((case, label, (*head, form)) for form in (last, last + "s", last + "es"))
            (self._exact if case else self._folded).add(phrase_words, phrase, label)
        by_label = defaultdict(list)
        for case, phrase_words, phrase, label in self._phrases:
            by_label[(label, case)].append((phrase_words, phrase))
        for (label, _), phrases in by_label.items():
            for inner, phrase in phrases:
                outer = [
                    other
                    for longer, other in phrases
                    if len(longer) > len(inner) and _contains(longer, inner)
                ]
                if outer:
                    self._inside[(label, phrase)] = outer

    def find(self, text):
        """{label: {phrase: count}} for every phrase that occurs in `text`."""
        if self._folded is None:
            self._build()
        found = {}
        exact = words(text)
        if exact:
            # Lower-casing the joined words (in C) is cheaper than a second regex pass.
            self._folded.scan(" ".join(exact).lower().split(" "), found)
            self._exact.scan(exact, found)
        if self._inside:
            self._drop_nested(found)
        return found

    def _drop_nested(self, found):
        for label, counts in found.items():
            if len(counts) < 2:
                continue
            for phrase in list(counts):
                outer = self._inside.get((label, phrase))
                if outer:
                    left = counts[phrase] - sum(counts.get(o, 0) for o in outer)
                    if left > 0:
                        counts[phrase] = left
                    else:
                        del counts[phrase]


def _contains(longer, inner):
    """Does `inner` occur as consecutive words of `longer` (its last word maybe plural)?"""
    *head, last = inner
    forms = (last, last + "s", last + "es")
    for start in range(len(longer) - len(inner) + 1):
        window = longer[start : start + len(inner)]
        if tuple(window[:-1]) == tuple(head) and window[-1] in forms:
            return True
    return False
