"""The acronym pass: every "long form (SHORT)" definition in the dumps, read before the papers.

Aliases need every acronym definition in the corpus, so `harvest_acronyms` reads the dumps
once before the papers are stored: that pass only looks at lines holding "(", and it lets
each paper's row be written whole, once (an UPDATE after the fact would rewrite every row
and leave the table fragmented). Where each definition was found is stored, so that an
incremental build recounts them without reading the unchanged dumps.
"""

from .acronyms import AcronymHarvest, find_definitions, text_hash
from .parser import clean
from .reader import read_lines


def harvest_acronyms(writer, listings, progress):
    """Store every "long form (SHORT)" definition in these (listing_id, dump) pairs."""
    for number, (listing_id, dump) in enumerate(listings, start=1):
        progress(f"collecting acronym definitions ({number}/{len(listings)} files)")
        for line, raw in read_lines(dump):
            if "(" not in raw:
                continue
            text = clean(raw)
            found = set(find_definitions(text))
            if not found:
                continue
            digest = text_hash(text)
            for short, long_form in sorted(found):
                writer.add(
                    "acronym_definitions",
                    {
                        "listing_id": listing_id,
                        "line": line,
                        "short": short,
                        "long": long_form,
                        "text_hash": digest,
                    },
                )


def count_acronyms(writer):
    """The stored definitions counted: a text found in several dumps counts once."""
    rows = writer.execute(
        "SELECT short, long, count(DISTINCT text_hash) FROM acronym_definitions"
        " GROUP BY short, long"
    ).fetchall()
    return AcronymHarvest({(short, long_form): count for short, long_form, count in rows})


def write_acronyms(writer, harvest):
    """Store every definition found; returns the expansions the search index will use."""
    expansions = harvest.expansions()
    writer.execute("DELETE FROM acronyms")
    writer.executemany(
        "INSERT INTO acronyms (short, long, papers, used_for_search) VALUES (?, ?, ?, ?)",
        [
            (
                row["short"],
                row["long"],
                row["papers"],
                int(expansions.get(row["short"]) == row["long"]),
            )
            for row in harvest.rows()
        ],
    )
    return expansions
