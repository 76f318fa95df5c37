"""Turn the lines of one dump into paper occurrences and anomalies.

Each line is judged on its own (title, abstract, or undecided) instead of trusting
strict alternation, so one missing title or abstract costs one anomaly, not every
later pair. Undecided lines take the role the alternation expects at that point.

Two header shapes can also be a title's, so they are judged by their place: a date
label is a header only in the header block (before the first paper) and when no
abstract follows it, and "Subscribe" is read as glued to the first title only where the
dense layout puts it. Where the parser has to guess, a note (an Anomaly) says what it
did: no text is dropped without one.
"""

import re
import unicodedata
from dataclasses import dataclass

TITLE = "title"
ABSTRACT = "abstract"
UNDECIDED = "undecided"

# Real month names only: "Mayhem 2" or "Janus 2" is a title, not a day label.
MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November"
    r"|December|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?)"
)
DAY = r"(?:0?[1-9]|[12][0-9]|3[01])"
HEADER_RE = re.compile(
    rf"""
    (?P<new>new)
    | (?P<trending>Get\ trending\ papers\ in\ your\ email\ inbox(?:\ once\ a\ day)?!?)
    | (?P<subscribe>Subscribe)
    | (?P<daily>Daily\ Papers)
    | (?P<byline>by\s*AK\b.*)
    | (?P<date>{MONTH}\ {DAY}(?:,\ \d{{4}})?)
    """,
    re.VERBOSE,
)
HEADER_MAX_CHARS = 60  # every header line is short; longer lines are never headers
GLUED_PREFIX = "Subscribe"
# "Subscriber ...", "Subscribed ...": the word goes on, so nothing is glued to it.
LONGER_WORD = re.compile(r"(?:rs?|d|s)\b")
GLUED_START = "\"'“‘([«"  # a glued title may also open with a quote or a bracket
DAILY_MARKERS = {"daily", "byline", "date"}

# Anomalies about a line that still became (part of) an occurrence: notes on a guess.
DATE_LIKE_TITLE = "date-like-title"
SUBSCRIBE_PREFIX = "subscribe-prefix"
NOTE_KINDS = {DATE_LIKE_TITLE, SUBSCRIBE_PREFIX}
TITLE_NOTE_WIDTH = 200  # wider than any real title: a note quotes the title whole

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
        lines = _Lines(numbered_lines)
        pending = None  # (line, title) waiting for its abstract
        position = 0
        started = False  # a title or abstract was read: the header block is over
        run = set()  # kinds of the header lines since the last title or abstract
        for number, text in lines:
            kind = header_kind(text)
            if kind == "date":
                kind, note = _date_or_title(text, started, lines.peek())
                if note:
                    yield Anomaly(number, DATE_LIKE_TITLE, note)
            if kind:
                self._note_header(kind, text)
                run.add(kind)
                continue
            # The dense layout glues its "Subscribe" to the first title after the header.
            glued_place = run or not started
            if glued_place and text.startswith(GLUED_PREFIX) and text != GLUED_PREFIX:
                text, note = self._unglue(text, "subscribe" in run)
                if note:
                    yield Anomaly(number, SUBSCRIBE_PREFIX, note)
            run.clear()
            started = True

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

    def _unglue(self, text, subscribe_line_seen):
        """The line without a glued "Subscribe", and a note when that was a guess.

        Glued, the title follows the word with no space and opens as titles do: with a
        letter, a digit, a quote or a bracket ("xLSTM" and "torchdistill" open in lower
        case). But "Subscriber ..." or "Subscribed ..." is one word, and after a
        "Subscribe" header line nothing is glued: such lines are kept whole, with a note
        when the dense layout could have glued them.
        """
        rest = text[len(GLUED_PREFIX) :]
        first = rest[0]
        longer = LONGER_WORD.match(rest)
        if longer and subscribe_line_seen:
            return text, None
        if longer:
            why = f'"{GLUED_PREFIX}{longer.group()}" reads as one word'
        elif subscribe_line_seen:
            why = 'a "Subscribe" header line came just before it'
        elif first.isalnum() or first in GLUED_START:
            self._note_header("subscribe", GLUED_PREFIX)
            return rest, None
        else:
            why = f"{first!r} cannot start a title glued to it"
        return text, (
            f'kept "{shorten(text, TITLE_NOTE_WIDTH)}" whole, though it starts with the header'
            f' word "{GLUED_PREFIX}": {why}'
        )

    def _note_header(self, kind, text):
        self.header_kinds.add(kind)
        if kind == "date" and self.date_label is None:
            self.date_label = text


class _Lines:
    """The non-blank lines, cleaned, with a look at the next one."""

    def __init__(self, numbered_lines):
        self._lines = ((number, clean(raw)) for number, raw in numbered_lines)
        self._ahead = None

    def __iter__(self):
        return self

    def __next__(self):
        if self._ahead is not None:
            item, self._ahead = self._ahead, None
            return item
        for number, text in self._lines:
            if text:
                return number, text
        raise StopIteration

    def peek(self):
        """The next (number, text), or None at the end; it is still returned by next()."""
        if self._ahead is None:
            self._ahead = next(self, None)
        return self._ahead


def _date_or_title(text, started, following):
    """('date', None) for a date-shaped line that is a header, else (None, note).

    A day label sits in the header block, followed by more header lines or the first
    title; a title is followed by its abstract.
    """
    if started:
        return (
            None,
            f'"{text}" looks like a date label but comes after the first paper: read as a title',
        )
    if following is not None:
        after = following[1]
        if header_kind(after) is None and line_role(after) == ABSTRACT:
            return (
                None,
                f'"{text}" looks like a date label but an abstract follows: read as a title',
            )
    return "date", None


def _title_without_abstract(line, title):
    return Anomaly(line, "title-without-abstract", f"title without abstract: {shorten(title)}")
