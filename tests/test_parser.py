"""Parsing one dump: headers, layouts, line endings, and anomalies with their line numbers."""

import pytest
from conftest import seed_lines
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from paperdb.parser import (
    ABSTRACT,
    NOTE_KINDS,
    TITLE,
    UNDECIDED,
    Anomaly,
    DumpParser,
    Occurrence,
    header_kind,
    line_role,
)


def parse_text(text):
    """Parse a dump given as one string, splitting lines the way the reader does."""
    import re

    lines = re.split(r"\r\n|\r|\n", text)
    parser = DumpParser()
    items = list(parser.parse(enumerate(lines, start=1)))
    occurrences = [item for item in items if isinstance(item, Occurrence)]
    anomalies = [item for item in items if isinstance(item, Anomaly)]
    return parser, occurrences, anomalies


def parse_seed(prefix, edit=None):
    lines = seed_lines(prefix)
    if edit:
        lines = edit(lines)
    return parse_text("\n".join(lines))


# Real title/abstract pairs: (dump, 1-based position, title, title line, abstract line, start)
KNOWN_PAIRS = [
    (
        "000",
        1,
        "Equivariant Polynomials for Graph Neural Networks",
        11,
        13,
        "Graph Neural Networks (GNN)",
    ),
    (
        "000",
        22,
        "Pre-training Data Quality and Quantity for a Low-Resource Language: New Corpus "
        "and BERT Models for Maltese",
        95,
        97,
        None,
    ),
    (
        "001",
        1,
        "Investigating Low-Rank Training in Transformer Language Models: Efficiency and "
        "Scaling Analysis",
        3,
        4,
        "State-of-the-art LLMs often rely on scale",
    ),
    (
        "001",
        2,
        "Locating and Editing Factual Associations in Mamba",
        5,
        6,
        "We investigate the mechanisms of factual recall",
    ),
    (
        "002",
        1,
        "TorchRL: A data-driven decision-making library for PyTorch",
        3,
        4,
        "PyTorch has ascended as a premier machine learning framework",
    ),
    ("002", 235, "BEiT: BERT Pre-Training of Image Transformers", 471, 472, None),
    (
        "003",
        1,
        "Gated Linear Attention Transformers with Hardware-Efficient Training",
        11,
        13,
        "Transformers with linear attention allow",
    ),
    (
        "003",
        8,
        "Sparsing Law: Towards Large Language Models with Greater Activation Sparsity",
        39,
        41,
        None,
    ),
    (
        "004",
        1,
        "Interpretability at Scale: Identifying Causal Mechanisms in Alpaca",
        3,
        4,
        "Obtaining human-interpretable explanations",
    ),
    ("004", 291, "U-DiTs: Downsample Tokens in U-Shaped Diffusion Transformers", 583, 584, None),
]

SEED_COUNTS = {"000": 22, "001": 342, "002": 235, "003": 8, "004": 291}
SEED_HEADERS = {
    "000": ("daily", None),
    "001": ("search", None),
    "002": ("search", None),
    "003": ("daily", "Mar 14"),
    "004": ("search", None),
}


@pytest.mark.parametrize("prefix", sorted(SEED_COUNTS))
def test_each_seed_parses_to_exact_count_without_anomalies(prefix):
    parser, occurrences, anomalies = parse_seed(prefix)
    assert len(occurrences) == SEED_COUNTS[prefix]
    assert anomalies == []
    assert (parser.page_kind, parser.date_label) == SEED_HEADERS[prefix]
    assert [o.position for o in occurrences] == list(range(1, SEED_COUNTS[prefix] + 1))


@pytest.mark.parametrize("prefix,position,title,title_line,abstract_line,start", KNOWN_PAIRS)
def test_known_pairs(prefix, position, title, title_line, abstract_line, start):
    _, occurrences, _ = parse_seed(prefix)
    occurrence = occurrences[position - 1]
    assert occurrence.title == title
    assert (occurrence.title_line, occurrence.abstract_line) == (title_line, abstract_line)
    if start:
        assert occurrence.abstract.startswith(start)


@pytest.mark.parametrize("prefix", ["001", "002", "004"])
def test_glued_first_title_loses_only_the_subscribe_prefix(prefix):
    raw = seed_lines(prefix)[2]
    assert raw.startswith("Subscribe") and raw[len("Subscribe")] != " "
    _, occurrences, _ = parse_seed(prefix)
    assert occurrences[0].title == raw[len("Subscribe") :]


@pytest.mark.parametrize(
    "line,kind",
    [
        ("new", "new"),
        ("Get trending papers in your email inbox!", "trending"),
        ("Get trending papers in your email inbox once a day!", "trending"),
        ("Subscribe", "subscribe"),
        ("Daily Papers", "daily"),
        ("by AK and the research community", "byline"),
        ("byAK and the research community", "byline"),
        ("Mar 14", "date"),
        ("September 3, 2024", "date"),
        ("Mamba: Linear-Time Sequence Modeling with Selective State Spaces", None),
        ("News from the frontier", None),
        ("Subscribers and followers", None),
        ("Sept. 5", "date"),
        ("Sep 30, 2023", "date"),
        ("June 1", "date"),
        ("Mayhem 2", None),
        ("Janus 2", None),
        ("Marvel 3", None),
        ("Decoder 7", None),
        ("Junk 12, 2024", None),
        ("Mar 32", None),
    ],
)
def test_header_lines_are_recognised(line, kind):
    assert header_kind(line) == kind


def test_header_lines_never_become_papers_and_file_without_header_parses():
    body = seed_lines("001")[2:]
    body[0] = body[0][len("Subscribe") :]
    _, occurrences, anomalies = parse_text("\n".join(body))
    parser, _, _ = parse_text("\n".join(body))
    assert len(occurrences) == 342 and anomalies == []
    assert parser.page_kind == "unknown"


def test_header_variants_are_kept_as_listing_metadata():
    parser, occurrences, _ = parse_seed("003")
    assert parser.header_kinds == {"new", "trending", "subscribe", "byline", "date"}
    assert len(occurrences) == 8
    parser, _, _ = parse_seed("000")
    assert parser.header_kinds == {"new", "trending", "subscribe", "daily", "byline"}


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("blank_lines", [0, 1, 3])
def test_line_endings_and_blank_runs(newline, blank_lines):
    lines = [line for line in seed_lines("003") if line]
    text = (newline * (blank_lines + 1)).join(line + "  \t" for line in lines)
    _, occurrences, anomalies = parse_text(text)
    assert len(occurrences) == 8 and anomalies == []
    assert (
        occurrences[0].title
        == "Gated Linear Attention Transformers with Hardware-Efficient Training"
    )
    assert not occurrences[0].abstract.endswith(" ")


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085"])
def test_unicode_line_separators_are_text_inside_an_abstract(separator):
    lines = seed_lines("001")[:8]
    lines[3] = lines[3].replace(". ", "." + separator, 1)
    _, occurrences, anomalies = parse_text("\n".join(lines))
    assert anomalies == []
    assert separator in occurrences[0].abstract
    assert len(occurrences) == 3


def test_missing_abstract_is_reported_and_later_pairs_stay_right():
    # Line 6 of 001 is the abstract of "Locating and Editing Factual Associations in Mamba".
    _, occurrences, anomalies = parse_seed("001", lambda lines: lines[:5] + lines[6:])
    assert [(a.line, a.kind) for a in anomalies] == [(5, "title-without-abstract")]
    assert "Locating and Editing Factual Associations in Mamba" in anomalies[0].message
    assert len(occurrences) == 341
    assert occurrences[1].title.startswith(seed_lines("001")[6])
    assert occurrences[-1].title.startswith("Empirical Analysis of Training Strategies")


def test_missing_title_is_reported_and_later_pairs_stay_right():
    # Line 119 of 002 is the title "SPT: Fine-Tuning ..."; its abstract becomes an orphan.
    lines = seed_lines("002")
    assert lines[118].startswith("SPT: Fine-Tuning")
    _, occurrences, anomalies = parse_seed("002", lambda ls: ls[:118] + ls[119:])
    assert [(a.line, a.kind) for a in anomalies] == [(119, "abstract-without-title")]
    assert len(occurrences) == 234
    assert occurrences[58].title == lines[120]
    assert occurrences[58].abstract == lines[121]


def test_title_at_end_of_file_without_abstract():
    _, occurrences, anomalies = parse_seed("003", lambda lines: lines[:-1])
    assert len(occurrences) == 7
    assert [(a.line, a.kind) for a in anomalies] == [(39, "title-without-abstract")]


def test_two_missing_lines_in_blank_layout_report_their_own_line_numbers():
    def drop(lines):
        # 000: line 15 is a title, line 21 an abstract (1-based); delete both.
        return [line for number, line in enumerate(lines, start=1) if number not in (15, 21)]

    _, occurrences, anomalies = parse_seed("000", drop)
    assert len(occurrences) == 20
    kinds = [(a.kind, a.line) for a in anomalies]
    assert kinds == [("abstract-without-title", 16), ("title-without-abstract", 18)]


@pytest.mark.parametrize(
    "text,role",
    [
        ("Mamba: Linear-Time Sequence Modeling with Selective State Spaces", TITLE),
        ('Can Mamba Always Enjoy the "Free Lunch"?', TITLE),
        ("We propose a model. It works well on every benchmark we tried.", ABSTRACT),
        ("x " * 200, ABSTRACT),
        ("We propose a model that works.", UNDECIDED),
    ],
)
def test_line_role(text, role):
    assert line_role(text.strip()) == role


def test_undecided_line_takes_the_role_alternation_expects():
    text = "\n".join(
        [
            "A Short Title",
            "We propose a model that works.",  # undecided: after a title, so an abstract
            "We propose a model that works.",  # undecided: no title pending, so a title
            seed_lines("001")[3],
        ]
    )
    _, occurrences, anomalies = parse_text(text)
    assert anomalies == []
    assert [o.title for o in occurrences] == ["A Short Title", "We propose a model that works."]


def test_latex_remnants_are_kept_and_text_is_nfc():
    decomposed = "Cafe\u0301 Models for Re\u0301sume\u0301s"
    text = "\n".join([decomposed, "We gain 5\\% accuracy. " + seed_lines("001")[3]])
    _, occurrences, _ = parse_text(text)
    assert occurrences[0].title == "Café Models for Résumés"
    assert occurrences[0].abstract.startswith("We gain 5\\% accuracy.")


def test_megabyte_line_parses():
    huge = "We scale. " * 300_000  # 3 MB on one line
    _, occurrences, anomalies = parse_text("A Title\n" + huge)
    assert anomalies == [] and len(occurrences[0].abstract) == len(huge.strip())


# --- header words that can also be a title's -------------------------------------------------

ABSTRACT_TEXT = seed_lines("001")[3]
SECOND_PAIR = ["Locating and Editing Factual Associations in Mamba", seed_lines("001")[5]]


def blank_layout(*content):
    """The header of 000 ("new" ... "by AK ..."), then content, blank-line separated."""
    header = [line for line in seed_lines("000")[:9] if line]
    return "\n\n".join([*header, *content])


def dense_layout(first_title, *content):
    """The header of 001, its first title glued to "Subscribe", then content."""
    return "\n".join([*seed_lines("001")[:2], "Subscribe" + first_title, *content])


LAYOUTS = {"blank": blank_layout, "dense": dense_layout}


def notes(anomalies):
    return [(a.line, a.kind) for a in anomalies]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("title", ["Mayhem 2", "Janus 2", "Marvel 3", "Decoder 7", "Junk 12, 2024"])
@pytest.mark.parametrize("first", [True, False])
def test_titles_that_only_resemble_a_day_label_are_papers(layout, title, first):
    content = (
        [title, ABSTRACT_TEXT, *SECOND_PAIR] if first else [*SECOND_PAIR, title, ABSTRACT_TEXT]
    )
    parser, occurrences, anomalies = parse_text(LAYOUTS[layout](*content))
    assert anomalies == []
    assert sorted(o.title for o in occurrences) == sorted([title, SECOND_PAIR[0]])
    assert parser.date_label is None


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("title", ["May 2", "March 3, 2024", "Sept. 9"])
def test_a_real_date_label_after_the_first_paper_is_a_title_with_a_note(layout, title):
    text = LAYOUTS[layout](*SECOND_PAIR, title, ABSTRACT_TEXT)
    parser, occurrences, anomalies = parse_text(text)
    (occurrence,) = [o for o in occurrences if o.title == title]
    assert occurrence.abstract == ABSTRACT_TEXT and occurrence.position == 2
    assert notes(anomalies) == [(occurrence.title_line, "date-like-title")]
    assert title in anomalies[0].message
    assert parser.date_label is None


@pytest.mark.parametrize("title", ["May 2", "Mar 14"])
def test_a_date_label_in_the_header_followed_by_an_abstract_is_a_title(title):
    parser, occurrences, anomalies = parse_text(blank_layout(title, ABSTRACT_TEXT, *SECOND_PAIR))
    assert [o.title for o in occurrences] == [title, SECOND_PAIR[0]]
    assert notes(anomalies) == [(occurrences[0].title_line, "date-like-title")]
    assert parser.date_label is None


@pytest.mark.parametrize(
    "header",
    [["Mar 14"], ["September 3, 2024", "Daily Papers"], ["Sept. 5", "Jan 1"], ["Dec 31"]],
)
def test_date_labels_in_the_header_block_stay_headers(header):
    parser, occurrences, anomalies = parse_text(blank_layout(*header, *SECOND_PAIR))
    assert anomalies == [] and [o.title for o in occurrences] == [SECOND_PAIR[0]]
    assert parser.date_label == header[0] and parser.page_kind == "daily"


SUBSCRIBE_TITLES = [
    "Subscriber Churn Prediction with Graph Neural Networks",
    "Subscribers Matter: Retention Modeling",
    "Subscribed Users and Their Behaviour",
    "SubscribeNet: Learning to Recommend Newsletters",
]


@pytest.mark.parametrize("title", SUBSCRIBE_TITLES)
@pytest.mark.parametrize("first", [True, False])
def test_a_title_starting_with_subscribe_after_a_subscribe_line_is_kept_whole(title, first):
    content = (
        [title, ABSTRACT_TEXT, *SECOND_PAIR] if first else [*SECOND_PAIR, title, ABSTRACT_TEXT]
    )
    _, occurrences, anomalies = parse_text(blank_layout(*content))
    assert title in [o.title for o in occurrences]
    # Only a glued-looking "SubscribeN..." is a guess worth a note.
    guessed = first and title.startswith("SubscribeN")
    assert notes(anomalies) == ([(11, "subscribe-prefix")] if guessed else [])


@pytest.mark.parametrize("title", SUBSCRIBE_TITLES)
def test_a_title_starting_with_subscribe_glued_to_the_header_word(title):
    _, occurrences, anomalies = parse_text(dense_layout(title, ABSTRACT_TEXT, *SECOND_PAIR))
    assert [o.title for o in occurrences] == [title, SECOND_PAIR[0]]
    assert anomalies == []


@pytest.mark.parametrize(
    "line,title,noted",
    [
        ("Subscriber Churn Prediction at Scale", "Subscriber Churn Prediction at Scale", True),
        (
            "SubscribexLSTM: Extended Long Short-Term Memory",
            "xLSTM: Extended Long Short-Term Memory",
            False,
        ),
        ("SubscribemPLUG-Owl: Modularization", "mPLUG-Owl: Modularization", False),
        ("SubscribesLSTM for Speech", "sLSTM for Speech", False),
        ("Subscribers", "Subscribers", True),
        ('Subscribe"Free Lunch" for Everyone', '"Free Lunch" for Everyone', False),
        ("Subscribe2D Matryoshka Embeddings", "2D Matryoshka Embeddings", False),
        ("Subscribe to Attention", "Subscribe to Attention", True),
        ("Subscribe-Aware Ranking", "Subscribe-Aware Ranking", True),
    ],
)
def test_the_dense_layout_reads_subscribe_by_what_follows_it(line, title, noted):
    text = "\n".join([*seed_lines("001")[:2], line, ABSTRACT_TEXT])
    _, occurrences, anomalies = parse_text(text)
    assert [o.title for o in occurrences] == [title]
    assert notes(anomalies) == ([(3, "subscribe-prefix")] if noted else [])
    if noted:
        assert title in anomalies[0].message


FIRST_WORDS = [
    "Subscribe",
    "Subscriber",
    "Subscribers",
    "SubscribeNet:",
    "Subscribed",
    "xLSTM:",
    "sLSTM",
    "May",
    "March",
    "Mar",
    "Sept.",
    "Mayhem",
    "Janus",
    "Junk",
    "Mamba",
    "2D",
    '"Free',
    "(Almost)",
    "Daily",
    "new",
    "by",
]
WORDS = ["2", "14", "3,", "2024", "Churn", "Papers", "for", "Language", "Models", "-", "AK", "Net"]


@st.composite
def titled_dumps(draw):
    """(title, text, title line): a made-up title as the first or a later paper of a dump."""
    title = " ".join(
        [draw(st.sampled_from(FIRST_WORDS)), *draw(st.lists(st.sampled_from(WORDS), max_size=5))]
    )
    assume(line_role(title) == TITLE and header_kind(title) in (None, "date"))
    layout, first = draw(st.sampled_from(sorted(LAYOUTS))), draw(st.booleans())
    if first:
        text = LAYOUTS[layout](title, ABSTRACT_TEXT, *SECOND_PAIR)
    else:
        text = LAYOUTS[layout](*SECOND_PAIR, title, ABSTRACT_TEXT)
    lines = text.split("\n")
    line = next(n for n, raw in enumerate(lines, start=1) if raw in (title, "Subscribe" + title))
    return title, text, line


@settings(max_examples=300, deadline=None)
@given(titled_dumps())
def test_no_title_text_is_lost(case):
    """The title comes back as written, or a note on its line says what was read instead."""
    title, text, line = case
    _, occurrences, anomalies = parse_text(text)
    (occurrence,) = [o for o in occurrences if o.title_line == line]
    assert len(occurrences) == 2
    assert [a for a in anomalies if a.kind not in NOTE_KINDS] == []
    if occurrence.title != title:
        assert any(a.line == line and occurrence.title in a.message for a in anomalies)
