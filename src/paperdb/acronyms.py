"""Acronyms defined in abstracts ("mixture of experts (MoE)"), and the search aliases they give.

Definitions are found with the Schwartz & Hearst algorithm (A simple algorithm for
identifying abbreviation definitions in biomedical text, PSB 2003): the letters of the
short form, read backwards, must appear in order in the words before the parenthesis,
the first letter starting a word. The search index then carries each paper's missing
half: a paper that only says "MoE" is indexed with "mixture of experts" too, and the
reverse, so any SQLite client finds it either way.
"""

import hashlib
import re
from collections import Counter, defaultdict

# "(MoE)", "(LLMs)", "(ViT-B)": a parenthesised word with at least two capitals.
DEFINITION = re.compile(r"\(([A-Za-z0-9][A-Za-z0-9-]{0,11})\)")
HYPHENATED = re.compile(r"\b[^\W\d_]+(?:-[^\W\d_]+)+\b")
_SPACES = re.compile(r"[\s-]+")
WINDOW_CHARS = 600  # 2 × 12 letters of words, with room for long words


def normalize_short(short):
    """'LLMs' -> 'LLM' (a plural s after capitals); others unchanged."""
    if len(short) > 2 and short.endswith("s") and short[-2].isupper():
        return short[:-1]
    return short


def normalize_long(long_form, plural):
    words = _SPACES.sub(" ", long_form.lower()).strip(" ,;:~'\"`")
    if plural and words.endswith("s"):
        words = words[:-1]
    return words


def _capitals(text):
    return sum(ch.isupper() for ch in text)


def find_definitions(text):
    """[(short, long)] for every "long form (SHORT)" in `text`, normalised."""
    found = []
    for match in DEFINITION.finditer(text):
        raw_short = match.group(1)
        if _capitals(raw_short) < 2 or not raw_short[0].isalpha():
            continue
        short = normalize_short(raw_short)
        letters = [ch for ch in short.lower() if ch.isalnum()]
        # Only the last few words can be the long form; slicing a bounded window keeps a
        # megabyte line with many parentheses linear.
        before = text[max(0, match.start() - WINDOW_CHARS) : match.start()]
        window = before.split()[-min(len(letters) + 5, len(letters) * 2) :]
        long_form = _best_long_form(letters, " ".join(window))
        if not long_form or not _initials_agree(letters, long_form):
            continue
        long_norm = normalize_long(long_form, plural=short != raw_short)
        if len(long_norm.split()) < 2 or short.lower() in long_norm.split():
            continue
        found.append((short, long_norm))
    return found


# Words a long form may hold without a letter in the short form: "mixture of experts (MoE)".
LINKING_WORDS = frozenset("a an and as at by for from in into of on or the to via with".split())


def _initials_agree(letters, long_form):
    """Whether the long form's words start with the short form's letters, in order.

    Schwartz & Hearst only ask that the letters appear in order somewhere, so any run of
    words ending in a word with the right letters qualifies: "a general intelligence (AI)",
    "evaluation on the glue benchmark shows that our bert variants (EELBERT)". A real long
    form names each letter by a word's first letter ("low-rank adaptation"; a hyphenated
    word is one word); a long one may hold one word more ("single shot multibox detector").
    """
    words = [w for w in long_form.lower().split() if w not in LINKING_WORDS]
    position = unmatched = 0
    for word in words:
        initial = next((ch for ch in word if ch.isalnum()), "")
        if initial and initial in letters[position:]:
            position = letters.index(initial, position) + 1
        else:
            unmatched += 1
    return unmatched <= (1 if len(words) >= 3 and len(letters) >= 3 else 0)


def _best_long_form(letters, candidate):
    """Schwartz & Hearst: the shortest tail of `candidate` whose letters spell the short form."""
    text = candidate.lower()
    s_index, l_index = len(letters) - 1, len(text) - 1
    while s_index >= 0:
        char = letters[s_index]
        while l_index >= 0 and (
            text[l_index] != char or (s_index == 0 and l_index > 0 and text[l_index - 1].isalnum())
        ):
            l_index -= 1
        if l_index < 0:
            return None
        l_index -= 1
        s_index -= 1
    start = max(candidate.rfind(" ", 0, l_index + 1), candidate.rfind("(", 0, l_index + 1)) + 1
    return candidate[start:]


def text_hash(text):
    """A hash of a line's text that is the same in every process (Python's hash() is not)."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class AcronymHarvest:
    """Each short form's meaning, decided from how many texts define it which way."""

    def __init__(self, counts):
        self.pairs = Counter(counts)  # (short, long) -> distinct texts defining it

    def rows(self):
        return [
            {"short": short, "long": long_form, "papers": count}
            for (short, long_form), count in sorted(self.pairs.items())
        ]

    def expansions(self):
        """short -> its most common meaning, spelled as its most common variant.

        Variants of one long form count together: plural and singular ("graph neural
        network(s)"), and written apart, hyphenated or joined ("multi layer perceptron",
        "multilayer perceptron"); otherwise a short form defined three ways by three papers
        would be decided by alphabet, not usage. A two-letter short form ('CT', 'PC') means
        too many things to expand on the word of one paper: it needs two papers defining it
        the same way. Ties go to the alphabetically first.
        """
        meanings = defaultdict(lambda: defaultdict(int))  # short -> variant key -> count
        spellings = defaultdict(list)  # (short, key) -> [(-count, long form)]
        for (short, long_form), count in self.pairs.items():
            key = variant_key(long_form)
            meanings[short][key] += count
            spellings[short, key].append((-count, long_form))
        chosen = {}
        for short, counts in meanings.items():
            best = min(counts, key=lambda key: (-counts[key], min(spellings[short, key])[1]))
            if len(short) > 2 or counts[best] >= 2:
                chosen[short] = min(spellings[short, best])[1]
        return chosen


def variant_key(long_form):
    """What the spellings of one long form share: no spaces, no final plural s."""
    joined = long_form.replace(" ", "")
    return joined[:-1] if joined.endswith("s") and not joined.endswith("ss") else joined


class AliasMaker:
    """What the index should carry beyond a paper's own words."""

    def __init__(self, expansions):
        self.expansions = expansions

    def register(self, phrases):
        """Add every short and long form to a PhraseSet, with tuple labels of their own."""
        for short, long_form in self.expansions.items():
            phrases.add(short, ("has-short", short, long_form), case_sensitive=True)
            phrases.add(long_form, ("has-long", short, long_form))

    def aliases(self, text, found):
        """Space-separated extra words for `text`, given what `found` there.

        The missing half of each acronym the text uses (short without long, or long without
        short), and its hyphenated words joined ('pre-training' -> 'pretraining').
        """
        extra = []
        for label in sorted(label for label in found if isinstance(label, tuple)):
            kind, short, long_form = label
            if kind == "has-short" and ("has-long", short, long_form) not in found:
                extra.append(long_form)
            elif kind == "has-long" and ("has-short", short, long_form) not in found:
                extra.append(short)
        return " ".join(extra + joined_hyphenated(text))


def joined_hyphenated(text):
    """'pre-training' -> 'pretraining' for each hyphenated word (letters only), sorted."""
    joined = set()
    hyphen = text.find("-")
    while hyphen != -1:  # str.find runs in C; most words have no hyphen worth a regex
        start = text.rfind(" ", 0, hyphen) + 1
        end = text.find(" ", hyphen)
        end = len(text) if end == -1 else end
        word = text[start:end]
        letters = word.replace("-", "")
        # Most are letters and single inner hyphens ("pre-training"), the whole of what
        # HYPHENATED matches there (isalpha() letters are all in its class).
        if letters.isalpha() and word[0] != "-" and word[-1] != "-" and "--" not in word:
            joined.add(letters)
        else:
            for found in HYPHENATED.findall(word):
                joined.add(found.replace("-", ""))
        hyphen = text.find("-", end)
    return sorted(joined)
