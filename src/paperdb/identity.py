"""What makes two titles the same paper, and the stable id that paper gets."""

import hashlib
import re
import unicodedata

ID_BITS = 40
# 40 bits: ids stay below 2**53, so JavaScript (Datasette's JSON in a browser) reads them
# exactly, and two of a million titles share a hash with probability about 0.4 (the
# collision is then resolved, see build.py). Fewer bits make the FTS index smaller
# (rowid deltas are varints) but collide more; docs/DESIGN.md has the measurement.

_NON_WORD = re.compile(r"[\W_]+")


def title_key(title):
    """Case, accents, punctuation and spacing do not make a different paper."""
    if title.isascii():
        folded = title.lower()
    else:
        folded = unicodedata.normalize("NFKD", title.casefold())
        folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    key = _NON_WORD.sub(" ", folded).strip()
    return key or title.casefold().strip()


def stable_id(key):
    """The same key always gets the same id, whatever else is in the build."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> (64 - ID_BITS)


def paper_id(key):
    """The id of the paper whose normalised title is `key` (unless its hash is shared)."""
    return stable_id(key)


def repo_key(full_name):
    """GitHub owner and repository names are case-insensitive."""
    return full_name.lower()


def claim_id(key, taken, stored):
    """The id for `key` and what is stored under it: (id, payload), payload None if new.

    `taken` says which ids may be used (an IdSet: it can say yes wrongly, never no);
    `stored(id)` gives (key, payload) of what holds that id, or None if nothing does. Two
    different keys can share a hash: the later one takes the next free id, so a key keeps
    its id as long as the keys stored before it stay the same.
    """
    candidate = stable_id(key)
    while candidate in taken:
        found = stored(candidate)
        if found is None:
            break
        stored_key, payload = found
        if stored_key == key:
            return candidate, payload
        candidate += 1
    return candidate, None


class IdSet:
    """The ids in use, as a bitmap of their top bits: 16 MiB at most, however many ids.

    A set of a million Python ints takes about 64 MB. Here an id that was added is always
    found; one that was not is found wrongly with probability (ids added) / 2**bits, under
    1% up to `capacity` ids (0.7% at a million), which costs one database lookup
    (claim_id's `stored`).
    """

    MAX_BITS = 27

    def __init__(self, capacity):
        bits = min(self.MAX_BITS, max(13, (capacity * 128).bit_length()))
        self._shift = ID_BITS - bits
        self._bits = bytearray(1 << (bits - 3))

    def add(self, ident):
        slot = ident >> self._shift
        self._bits[slot >> 3] |= 1 << (slot & 7)

    def __contains__(self, ident):
        slot = ident >> self._shift
        return bool(self._bits[slot >> 3] & (1 << (slot & 7)))


def slug(key):
    return key.replace(" ", "-")
