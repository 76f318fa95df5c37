"""Property-based tests of the reader and the parser: whatever the input, no crash, no lost line.

- Arbitrary text and bytes raise nothing but PaperdbError subclasses (the reader's InputError).
- Every non-blank, non-header line is accounted for exactly once: as the title or abstract
  line of one Occurrence, or as the line of one Anomaly.
- A real title/abstract pair from the bundled dumps survives any surrounding whitespace,
  line-ending style, runs of blank lines and interleaved header lines.
"""

import re
from unittest import mock

import pytest
from conftest import SEED_NAMES, seed_lines
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperdb.errors import PaperdbError
from paperdb.parser import (
    GLUED_PREFIX,
    NOTE_KINDS,
    Anomaly,
    DumpParser,
    Occurrence,
    clean,
    header_kind,
)
from paperdb.reader import inspect, read_lines

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NEWLINE = re.compile(r"\r\n|\r|\n")

HEADERS = [
    "new",
    "Get trending papers in your email inbox!",
    "Get trending papers in your email inbox once a day!",
    "Subscribe",
    "Daily Papers",
    "by AK and the research community",
    "byAK and the research community",
    "Mar 14",
    "September 3, 2024",
]


def parse(lines):
    """(occurrences, anomalies) for (line_number, text) pairs."""
    items = list(DumpParser().parse(lines))
    assert all(isinstance(item, Occurrence | Anomaly) for item in items)
    return (
        [item for item in items if isinstance(item, Occurrence)],
        [item for item in items if isinstance(item, Anomaly)],
    )


def seed_pairs():
    pairs = []
    for name in SEED_NAMES:
        occurrences, anomalies = parse(enumerate(seed_lines(name[:3]), start=1))
        assert not anomalies
        pairs += [(o.title, o.abstract) for o in occurrences]
    # A line that starts with "Subscribe" right after a header loses that word (the glued
    # layout), so such a pair would not survive an interleaved header; the seeds have none.
    assert not [p for p in pairs if p[0].startswith(GLUED_PREFIX) or p[1].startswith(GLUED_PREFIX)]
    return pairs


PAIRS = seed_pairs()
TITLES = sorted({title for title, _ in PAIRS})
ABSTRACTS = sorted({abstract for _, abstract in PAIRS})

# What str.strip() removes, so what clean() trims: U+0085, U+2028 and U+2029 end no line in
# a dump (they are text inside an abstract), but at either end of a line they are whitespace.
spaces = st.text(alphabet=" \t\u00a0\u3000\u2028\u2029\u0085\x0b\x0c\x1f", max_size=4)
headers = st.builds(lambda a, h, b: a + h + b, spaces, st.sampled_from(HEADERS), spaces)


def fillers_without(kind):
    """Header lines and blanks, none of this kind."""
    kept = st.sampled_from([h for h in HEADERS if header_kind(h) != kind])
    return st.lists(
        st.one_of(st.builds(lambda a, h, b: a + h + b, spaces, kept, spaces), spaces), max_size=5
    )


blanks = st.lists(spaces, max_size=3)
newlines = st.sampled_from(["\n", "\r\n", "\r"])


# A line of any shape the parser meets: real titles and abstracts, headers, noise.
content_line = st.one_of(
    st.sampled_from(TITLES),
    st.sampled_from(ABSTRACTS),
    st.sampled_from(TITLES).map(lambda t: GLUED_PREFIX + t),
    headers,
    spaces,
    st.sampled_from(ABSTRACTS).map(lambda a: a[: len(a) // 3]),  # a short abstract
    st.sampled_from(["We propose a model that works.", "Subscribers", "news", "Mar 2024"]),
    st.text(max_size=80),
    st.text(alphabet="Sub scribe.A?!", max_size=30),
)
fillers = st.lists(st.one_of(headers, spaces), max_size=5)
# After the first paper a date label is read as a title, and a "Subscribe" line before a
# glued "Subscribe<Title>" keeps that title whole: those headers only go where they fit.
undated_fillers = fillers_without("date")


def accounted(numbered, occurrences, anomalies):
    """Check that every content line is used exactly once and nothing else is used.

    A date-shaped line may be content (a title); notes on a guess claim no line.
    """
    texts = {number: clean(raw) for number, raw in numbered if clean(raw)}
    content = {number for number, text in texts.items() if not header_kind(text)}
    used = [n for o in occurrences for n in (o.title_line, o.abstract_line)]
    used += [a.line for a in anomalies if a.kind not in NOTE_KINDS]
    assert len(used) == len(set(used))
    assert all(header_kind(texts[n]) == "date" for n in set(used) - content)
    assert content <= set(used)
    assert [o.position for o in occurrences] == list(range(1, len(occurrences) + 1))
    assert all(o.title_line < o.abstract_line for o in occurrences)
    assert all(o.title and o.abstract for o in occurrences)


# --- the parser on (line_number, text) pairs -------------------------------------------------


@FAST
@given(st.lists(st.text(), max_size=30))
def test_parser_never_raises_and_accounts_for_every_line_of_arbitrary_text(lines):
    numbered = list(enumerate(lines, start=1))
    accounted(numbered, *parse(numbered))


@FAST
@given(st.lists(content_line, max_size=40))
def test_every_content_line_is_in_one_occurrence_or_one_anomaly(lines):
    numbered = list(enumerate(lines, start=1))
    accounted(numbered, *parse(numbered))


@FAST
@given(st.lists(st.tuples(content_line, blanks, spaces), max_size=30))
def test_blank_lines_and_trailing_whitespace_change_only_line_numbers(lines):
    plain = list(enumerate((line for line, _, _ in lines), start=1))
    padded = []
    for line, blank_run, tail in lines:
        padded += [line + tail, *blank_run]
    padded = list(enumerate(padded, start=1))

    def shape(result):
        occurrences, anomalies = result
        return (
            [(o.title, o.abstract, o.position) for o in occurrences],
            [(a.kind, a.message) for a in anomalies],
        )

    assert shape(parse(padded)) == shape(parse(plain))


@st.composite
def dumps_around_a_pair(draw):
    """(title, abstract, text): one real pair with headers, blanks and whitespace around it."""
    title, abstract = draw(st.sampled_from(PAIRS))

    glued = draw(st.booleans())  # the first content line may carry the glued "Subscribe"
    first = (GLUED_PREFIX if glued else draw(spaces)) + title + draw(spaces)
    lines = [
        *draw(fillers_without("subscribe") if glued else fillers),
        first,
        *draw(undated_fillers),
        draw(spaces) + abstract + draw(spaces),
        *draw(undated_fillers),
    ]
    if draw(st.booleans()):  # one line-ending style, or any mix of them
        ending = draw(newlines)
        text = ending.join(lines) + draw(st.sampled_from(["", ending]))
    else:
        text = "".join(line + draw(newlines) for line in lines)
    return title, abstract, text


@FAST
@given(dumps_around_a_pair())
def test_a_real_pair_survives_whitespace_line_endings_blank_runs_and_headers(case):
    title, abstract, text = case
    occurrences, anomalies = parse(enumerate(NEWLINE.split(text), start=1))
    assert anomalies == []
    assert [(o.title, o.abstract) for o in occurrences] == [(title, abstract)]


# --- the reader on files -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """One file that every example overwrites (hypothesis reruns a test, not its fixtures)."""
    return tmp_path_factory.mktemp("fuzz") / "dump.txt"


def read_and_parse(path):
    """inspect + read_lines + parse, as a build does; returns (lines, occurrences, anomalies)."""
    dump = inspect(path, path.name)
    lines = list(read_lines(dump))
    return dump, lines, *parse(lines)


@FAST
@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_paperdb_errors(scratch, data):
    scratch.write_bytes(data)
    try:
        dump, lines, occurrences, anomalies = read_and_parse(scratch)
    except PaperdbError:
        assert b"\x00" in data or not _decodes(data, "utf-8")
        return
    assert dump.bytes == len(data) and dump.encoding in {"utf-8", "cp1252"}
    text = data.decode("utf-8-sig" if dump.encoding == "utf-8" else "cp1252")
    assert lines == expected_lines(text)
    accounted(lines, occurrences, anomalies)


@FAST
@given(st.text(max_size=300), st.booleans())
def test_arbitrary_text_reads_back_line_by_line(scratch, text, bom):
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    scratch.write_bytes(data)
    try:
        dump, lines, occurrences, anomalies = read_and_parse(scratch)
    except PaperdbError:
        assert "\x00" in text
        return
    assert dump.encoding == "utf-8"
    assert lines == expected_lines(text if bom else text.removeprefix("\ufeff"))
    accounted(lines, occurrences, anomalies)


@FAST
@given(dumps_around_a_pair(), st.booleans())
def test_a_real_pair_survives_a_round_trip_through_a_file(scratch, case, bom):
    title, abstract, text = case
    scratch.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    _, _, occurrences, anomalies = read_and_parse(scratch)
    assert anomalies == []
    assert [(o.title, o.abstract) for o in occurrences] == [(title, abstract)]


@FAST
@given(st.binary(max_size=60), st.integers(min_value=1, max_value=8))
def test_inspect_does_not_depend_on_where_chunks_split(scratch, data, chunk):
    """Multi-byte characters and NUL bytes straddling a read boundary are judged the same."""

    def outcome():
        try:
            found = inspect(scratch, scratch.name)
        except PaperdbError as exc:
            return str(exc)
        return (found.sha256, found.bytes, found.encoding)

    scratch.write_bytes(data)
    whole = outcome()
    with mock.patch("paperdb.reader.CHUNK_BYTES", chunk):
        assert outcome() == whole


def expected_lines(text):
    """The reader's (number, line) pairs: split on \\n, \\r\\n and \\r only, no last empty line."""
    lines = NEWLINE.split(text)
    if lines[-1] == "":
        lines.pop()
    return list(enumerate(lines, start=1))


def _decodes(data, encoding):
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True
