"""Turn the lines of one dump into paper occurrences and anomalies.

Each line is judged on its own (title, abstract, or undecided) instead of trusting
strict alternation, so one missing title or abstract costs one anomaly, not every
later pair. Undecided lines take the role the alternation expects at that point.
"""

import re
import unicodedata
from dataclasses import dataclass

TITLE = "title"
ABSTRACT = "abstract"
UNDECIDED = "undecided"

MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"
HEADER_RE = re.compile(
    rf"""
    (?P<new>new)
    | (?P<trending>Get\ trending\ papers\ in\ your\ email\ inbox(?:\ once\ a\ day)?!?)
    | (?P<subscribe>Subscribe)
    | (?P<daily>Daily\ Papers)
    | (?P<byline>by\s*AK\b.*)
    | (?P<date>{MONTH}\ \d{{1,2}}(?:,\ \d{{4}})?)
    """,
    re.VERBOSE,
)
HEADER_MAX_CHARS = 60  # every header line is short; longer lines are never headers
GLUED_PREFIX = "Subscribe"
DAILY_MARKERS = {"daily", "byline", "date"}

# A sentence end followed by the start of another sentence: "... results. We ..."
SENTENCE_BREAK = re.compile(r"[.!?][\"')\]]?\s+[A-Z(]")


@dataclass(frozen=True)
class Occurrence:
    """One paper as it appears in one dump."""

    title: str
    abstract: str
    title_line: int
    abstract_line: int
    position: int  # 1-based rank within the dump


@dataclass(frozen=True)
class Anomaly:
    line: int
    kind: str
    message: str


def clean(text):
    """Trimmed and NFC-normalised; otherwise kept exactly as written."""
    text = text.strip()
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text


def header_kind(text):
    """The header line's kind ('new', 'trending', 'date', ...), or None for content."""
    if len(text) > HEADER_MAX_CHARS:
        return None
    match = HEADER_RE.fullmatch(text)
    return match.lastgroup if match else None


def line_role(text):
    """Judge a content line by its shape alone.

    Measured on the bundled dumps: titles are at most 153 characters and 21 words,
    never end with a period and never hold two sentences; abstracts are at least
    423 characters and 54 words. The thresholds leave a wide margin on both sides.
    """
    if len(text) >= 300:
        return ABSTRACT
    words = text.count(" ") + 1
    if words >= 40:
        return ABSTRACT
    ends_with_period = text.endswith(".")
    has_break = SENTENCE_BREAK.search(text) is not None
    if ends_with_period and has_break:
        return ABSTRACT
    if len(text) <= 200 and words <= 30 and not ends_with_period and not has_break:
        return TITLE
    return UNDECIDED


def shorten(text, width=70):
    return text if len(text) <= width else text[: width - 1] + "…"


class DumpParser:
    """Parses one dump; after iterating, page_kind and date_label describe its header."""

    def __init__(self):
        self.header_kinds = set()
        self.date_label = None

    @property
    def page_kind(self):
        if self.header_kinds & DAILY_MARKERS:
            return "daily"
        return "search" if self.header_kinds else "unknown"

    def parse(self, numbered_lines):
        """Yield Occurrence and Anomaly objects from (line_number, raw_text) pairs."""
        pending = None  # (line, title) waiting for its abstract
        position = 0
        after_header = True  # a glued "Subscribe<Title>" only follows a header or starts a file
        for number, raw in numbered_lines:
            text = clean(raw)
            if not text:
                continue
            kind = header_kind(text)
            if kind:
                self._note_header(kind, text)
                after_header = True
                continue
            if after_header and text.startswith(GLUED_PREFIX) and len(text) > len(GLUED_PREFIX):
                self._note_header("subscribe", GLUED_PREFIX)
                text = text[len(GLUED_PREFIX) :].lstrip()
            after_header = False

            role = line_role(text)
            if role == UNDECIDED:
                role = ABSTRACT if pending else TITLE
            if role == TITLE:
                if pending:
                    yield _title_without_abstract(*pending)
                pending = (number, text)
            elif pending:
                position += 1
                yield Occurrence(pending[1], text, pending[0], number, position)
                pending = None
            else:
                yield Anomaly(
                    number, "abstract-without-title", f"abstract without title: {shorten(text)}"
                )
        if pending:
            yield _title_without_abstract(*pending)

    def _note_header(self, kind, text):
        self.header_kinds.add(kind)
        if kind == "date" and self.date_label is None:
            self.date_label = text


def _title_without_abstract(line, title):
    return Anomaly(line, "title-without-abstract", f"title without abstract: {shorten(title)}")
