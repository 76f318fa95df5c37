"""The topic taxonomy (a TOML file) and the rules that put topics on a paper.

A topic matches through its phrases (case-insensitive, word-bounded, hyphens and a
plural ending folded) and acronyms (case-sensitive, word-bounded). Each term found in the
title weighs TITLE_WEIGHT; each mention in the abstract weighs 1 (at most PER_TERM_CAP
for one term), and each further distinct term in the abstract adds DISTINCT_BONUS. A
paper gets a topic at THRESHOLD: from one title mention, from one term said three times
in the abstract, or from two different terms of the topic; never from a single passing
mention. A parent topic holds whenever one of its children does. Every assignment keeps
its evidence: which terms, where, how often, as one short readable line
("title: Mamba; abstract: Mamba ×3, selective state space").

The constants were chosen on the hand-labelled papers in tests/fixtures/topic_labels.json
(README, "Topics", has the measurement).
"""

import json
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import NamedTuple

from .errors import TaxonomyError
from .textmatch import PhraseSet

TITLE_WEIGHT = 3
PER_TERM_CAP = 3
DISTINCT_BONUS = 1
THRESHOLD = 3

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
TOPIC_KEYS = {"slug", "name", "description", "parent", "phrases", "acronyms"}
_TOPIC_HEADER = re.compile(r"^\s*\[\[\s*topic\s*\]\]", re.MULTILINE)


@dataclass(frozen=True)
class Topic:
    id: int
    slug: str
    name: str
    description: str
    parent: str | None
    phrases: tuple
    acronyms: tuple


class Assignment(NamedTuple):
    topic_id: int
    score: int
    evidence: str  # 'title: Mamba; abstract: Mamba ×3, SSM; via: child-slug' (see README)


def default_taxonomy_path():
    return resources.files("paperdb").joinpath("data", "topics.toml")


class Taxonomy:
    def __init__(self, topics):
        self.topics = topics
        self.by_slug = {topic.slug: topic for topic in topics}
        self.children = {}
        for topic in topics:
            if topic.parent:
                self.children.setdefault(topic.parent, []).append(topic.slug)
        self._phrases = PhraseSet()
        self.register(self._phrases)

    def register(self, phrases):
        """Add this taxonomy's phrases and acronyms to a PhraseSet, labelled by topic slug."""
        for topic in self.topics:
            for phrase in topic.phrases:
                phrases.add(phrase, topic.slug)
            for acronym in topic.acronyms:
                phrases.add(acronym, topic.slug, case_sensitive=True)

    def assign(self, title, abstract):
        """The topics this paper is about, each with its score and evidence."""
        return self.score(self._phrases.find(title), self._phrases.find(abstract))

    def score(self, in_title, in_abstract):
        """Assignments from phrase counts ({label: {term: count}}) found in each field.

        Labels that are not topic slugs (other users of a shared PhraseSet) are ignored.
        """
        return [Assignment(*row) for row in self.rows(in_title, in_abstract)]

    def rows(self, in_title, in_abstract):
        """score() as plain (topic id, score, evidence) tuples: they cross from the worker
        processes pickled (extract.py). Evidence is written only for the topics assigned,
        and scores add up in one pass over each field's counts (this runs for every paper).
        """
        by_slug = self.by_slug
        scores = {}
        for slug, terms in in_title.items():
            if slug in by_slug:
                scores[slug] = TITLE_WEIGHT * len(terms)
        for slug, terms in in_abstract.items():
            if terms and slug in by_slug:
                score = scores.get(slug, 0) + DISTINCT_BONUS * (len(terms) - 1)
                for count in terms.values():
                    score += count if count < PER_TERM_CAP else PER_TERM_CAP
                scores[slug] = score
        chosen = {slug for slug, score in scores.items() if score >= THRESHOLD}
        if not chosen:
            return []
        best = {slug: scores[slug] for slug in chosen}
        # A parent holds whenever a child does, with the best score among them and itself.
        for slug in chosen:
            parent = by_slug[slug].parent
            if parent:
                best[parent] = max(best.get(parent, scores.get(parent, 0)), scores[slug])
        rows = []
        for topic in sorted([by_slug[slug] for slug in best], key=_topic_id):
            slug = topic.slug
            evidence = []
            terms = in_title.get(slug)
            if terms:
                evidence.append("title: " + _mentions(terms))
            terms = in_abstract.get(slug)
            if terms:
                evidence.append("abstract: " + _mentions(terms))
            children = self.children.get(slug)
            if children:
                via = [child for child in children if child in chosen]
                if via:
                    evidence.append("via: " + ", ".join(via))
            rows.append((topic.id, best[slug], "; ".join(evidence)))
        return rows


def _topic_id(topic):
    return topic.id


def _mentions(terms):
    """'Mamba ×3, SSM': the terms of one field, sorted, each with its count if above one."""
    if len(terms) == 1:
        for term, count in terms.items():
            return term if count == 1 else f"{term} ×{count}"
    return ", ".join(
        term if count == 1 else f"{term} ×{count}" for term, count in sorted(terms.items())
    )


def load_taxonomy(path=None):
    """Read and check a topics TOML file (the bundled one when `path` is None)."""
    source = path if path is not None else default_taxonomy_path()
    label = str(source)
    try:
        text = Path(source).read_text(encoding="utf-8") if path else source.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaxonomyError(f"{label}: cannot read topics file: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TaxonomyError(f"{label}: invalid TOML: {exc}") from None
    return Taxonomy(_check(data, text, label))


def _check(data, text, label):
    headers = [text.count("\n", 0, m.start()) + 1 for m in _TOPIC_HEADER.finditer(text)]
    raw_topics = data.get("topic")
    unknown = set(data) - {"topic"}
    if unknown:
        raise TaxonomyError(f"{label}: unknown top-level key(s): {', '.join(sorted(unknown))}")
    if not isinstance(raw_topics, list) or not raw_topics:
        raise TaxonomyError(f"{label}: no [[topic]] tables found")

    def fail(index, message, key=None):
        line = _line_of(text, headers, index, key)
        raise TaxonomyError(f"{label}:{line}: {message}")

    topics, seen = [], {}
    for index, raw in enumerate(raw_topics):
        extra = set(raw) - TOPIC_KEYS
        if extra:
            fail(index, f"unknown key {sorted(extra)[0]!r} in topic", sorted(extra)[0])
        for key in ("slug", "name", "description"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                fail(index, f"topic needs a non-empty string {key!r}", key)
        slug = raw["slug"]
        if not SLUG.fullmatch(slug):
            fail(index, f"slug {slug!r} must be lower-case words joined by hyphens", "slug")
        if slug in seen:
            fail(index, f"slug {slug!r} is already used by another topic", "slug")
        seen[slug] = index
        lists = {}
        for key in ("phrases", "acronyms"):
            value = raw.get(key, [])
            if not isinstance(value, list) or not all(
                isinstance(v, str) and re.search(r"[^\W_]", v) for v in value
            ):
                fail(index, f"{key!r} must be a list of words or phrases", key)
            lists[key] = tuple(value)
        parent = raw.get("parent")
        if parent is not None and not isinstance(parent, str):
            fail(index, "'parent' must be the slug of another topic", "parent")
        topics.append((index, raw, parent, lists))

    result = []
    for index, raw, parent, lists in topics:
        if parent is not None:
            if parent not in seen:
                fail(index, f"parent {parent!r} is not a topic slug", "parent")
            if parent == raw["slug"]:
                fail(index, "a topic cannot be its own parent", "parent")
            if raw_topics[seen[parent]].get("parent"):
                fail(index, f"parent {parent!r} has a parent itself (two levels at most)", "parent")
        has_children = any(p == raw["slug"] for _, _, p, _ in topics)
        if not (lists["phrases"] or lists["acronyms"] or has_children):
            fail(index, f"topic {raw['slug']!r} has no phrases or acronyms to match")
        result.append(
            Topic(
                id=index + 1,
                slug=raw["slug"],
                name=raw["name"].strip(),
                description=raw["description"].strip(),
                parent=parent,
                phrases=lists["phrases"],
                acronyms=lists["acronyms"],
            )
        )
    return result


def _line_of(text, headers, index, key):
    """Line of `key` inside the index-th [[topic]] table, else of the table's header."""
    if index >= len(headers):
        return headers[-1] if headers else 1
    start = headers[index]
    end = headers[index + 1] if index + 1 < len(headers) else text.count("\n") + 2
    if key:
        lines = text.split("\n")
        for number in range(start, end):
            if re.match(rf"\s*{re.escape(key)}\s*=", lines[number - 1]):
                return number
    return start


def write_topics(writer, taxonomy):
    """The taxonomy itself, with the rules each topic matched with."""
    for row in topic_rows(taxonomy):
        writer.add("topics", row)


def topic_rows(taxonomy):
    rows = []
    for topic in taxonomy.topics:
        parent = taxonomy.by_slug[topic.parent].id if topic.parent else None
        rules = {"phrases": list(topic.phrases), "acronyms": list(topic.acronyms)}
        rows.append(
            {
                "id": topic.id,
                "slug": topic.slug,
                "name": topic.name,
                "description": topic.description,
                "parent_id": parent,
                "rules": json.dumps(rules, ensure_ascii=False),
            }
        )
    return rows
