"""What Datasette's pages and facets read per paper, stored with the paper at build time.

A paper's topic slugs and listing names (JSON arrays, for Datasette's array facets) and
whether it links code were computed per row by the paper_overview view: at 100k papers its
facets took 1.5 s and timed out. One set of expressions (COLUMNS) computes them, composed two
ways: a full build selects them while it writes the staged papers into the file, in id order
(papers_select), and an update recomputes them for the papers it replayed and writes only
the rows whose values changed (store_overview). Both give the same file content.
"""

import json

COLUMNS = {
    "topics": """(SELECT json_group_array(slug) FROM (
        SELECT topics.slug FROM paper_topics JOIN topics ON topics.id = paper_topics.topic_id
        WHERE paper_topics.paper_id = papers.id ORDER BY topics.id))""",
    "listings": """(SELECT json_group_array(name) FROM (
        SELECT DISTINCT listings.name FROM paper_listings
        JOIN listings ON listings.id = paper_listings.listing_id
        WHERE paper_listings.paper_id = papers.id ORDER BY listings.id))""",
    "has_code": """(EXISTS (SELECT 1 FROM paper_repos WHERE paper_repos.paper_id = papers.id)
     OR EXISTS (SELECT 1 FROM links WHERE links.paper_id = papers.id
                AND links.kind IN ('gitlab', 'gitee')))""",
}

FRESH = (
    "SELECT papers.id AS id, "
    + ", ".join(f"{expression} AS {name}" for name, expression in COLUMNS.items())
    + " FROM papers"
)

STORE = f"""
WITH fresh AS ({FRESH} WHERE papers.id IN (SELECT value FROM json_each(?)))
UPDATE papers SET topics = fresh.topics, listings = fresh.listings, has_code = fresh.has_code
FROM fresh
WHERE fresh.id = papers.id
  AND (papers.topics IS NOT fresh.topics OR papers.listings IS NOT fresh.listings
       OR papers.has_code IS NOT fresh.has_code)
"""


def store_overview(writer, paper_ids):
    """Bring the topics, listings and has_code of the papers `paper_ids` up to date, in an
    update: papers as the file holds it.

    An update passes the papers it replayed: only their topics, repositories, links and
    listings can have changed (a listing's name is its identity, and renumbered listings
    keep their order). Recomputing all of them took 5.8 s at 1M papers."""
    if paper_ids:
        writer.execute(STORE, [json.dumps(sorted(paper_ids))])


def papers_select(writer):
    """The select list that writes the staged papers with their overview columns computed.

    Read in id order, each paper's lookups (paper_topics by the staged table's covering
    index, paper_listings, paper_repos, links by paper_id) move forward through their
    indexes. An UPDATE of the staged table in arrival order looked them up at random, and
    rewrote every row: 1.7 s at 100k papers, 28 s at 1M, where the page cache (kept small
    for the memory bound) no longer holds the indexes.
    """
    names = [row[1] for row in writer.execute("PRAGMA main.table_info(papers)")]
    return ", ".join(COLUMNS.get(name, name) for name in names)
