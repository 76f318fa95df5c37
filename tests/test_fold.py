"""The fold rule (papers.merge): what a paper keeps of its occurrences, and what it warns.

A full build applies it as occurrences stream past, an incremental one replays stored
occurrences through it; both get their answers here.
"""

import pytest

from paperdb.papers import Conflict, Place, Text, fold, merge, paper_row

FIRST = Place(1, "a.txt", 3)
LATER = Place(2, "b.txt", 7)


def text(title, abstract, at):
    return Text(title, abstract, at)


@pytest.mark.parametrize(
    ("kept_abstract", "other_abstract", "keeps", "message"),
    [
        ("same words", "same words", "same words", None),
        (
            "short",
            "much longer",
            "much longer",
            'abstract of "Later Title" differs: kept b.txt:7 (11 characters), '
            "other a.txt:3 (5 characters)",
        ),
        (
            "much longer",
            "short",
            "much longer",
            'abstract of "Later Title" differs: kept a.txt:3 (11 characters), '
            "other b.txt:7 (5 characters)",
        ),
        (
            "tie one",
            "tie two",
            "tie one",
            'abstract of "Later Title" differs: kept a.txt:3 (7 characters), '
            "other b.txt:7 (7 characters)",
        ),
    ],
    ids=["equal", "longer-wins", "shorter-loses", "first-wins-a-tie"],
)
def test_merge(kept_abstract, other_abstract, keeps, message):
    kept = text("First Title", kept_abstract, FIRST)
    now, conflict = merge(kept, text("Later Title", other_abstract, LATER))
    assert now.title == "First Title"  # the first title always wins
    assert now.abstract == keeps
    assert now.at == (LATER if keeps != kept_abstract else FIRST)
    if message is None:
        assert conflict is None
    else:
        assert conflict == Conflict(LATER, FIRST, message)


def test_merge_asks_where_the_kept_abstract_is_only_on_a_conflict():
    asked = []

    def where():
        asked.append(True)
        return FIRST

    merge(text("T", "same", where), text("T", "same", LATER))
    assert asked == []
    _, conflict = merge(text("T", "one", where), text("T", "two", LATER))
    assert asked == [True] and conflict.kept_at == FIRST


def test_fold_warns_once_per_differing_occurrence_against_the_abstract_kept_so_far():
    third = Place(3, "c.txt", 9)
    kept, conflicts = fold(
        [
            text("Paper", "abc", FIRST),
            text("PAPER", "abcdef", LATER),  # longer: replaces
            text("paper", "abc", third),  # differs from the new one: warned again
            text("Paper", "abcdef", Place(4, "d.txt", 1)),  # the kept one: no warning
        ]
    )
    assert (kept.title, kept.abstract, kept.at) == ("Paper", "abcdef", LATER)
    assert [(c.at, c.kept_at) for c in conflicts] == [(LATER, FIRST), (third, LATER)]


def test_paper_row_spells_every_column_of_papers(seed_db):
    import sqlite3

    columns = [row[1] for row in sqlite3.connect(seed_db).execute("PRAGMA table_info(papers)")]
    row = paper_row(7, "A Title: Here!", "Text.", 2)
    assert set(row) <= set(columns)
    assert row["slug"] == "a-title-here" and row["listing_count"] == 1 and row["aliases"] == ""
