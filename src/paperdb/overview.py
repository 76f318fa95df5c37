"""What Datasette's pages and facets read per paper, stored with the paper at build time.

A paper's topic slugs and listing names (JSON arrays, for Datasette's array facets) and
whether it links code were computed per row by the paper_overview view: at 100k papers its
facets took 1.5 s and timed out. The full build fills them on the staged papers table
before it is written out; an update recomputes them for every paper and writes only the
rows whose values changed: one statement for both, so the two give the same file content.
"""

FRESH = """
SELECT papers.id AS id,
    (SELECT json_group_array(slug) FROM (
        SELECT topics.slug FROM paper_topics JOIN topics ON topics.id = paper_topics.topic_id
        WHERE paper_topics.paper_id = papers.id ORDER BY topics.id)) AS topics,
    (SELECT json_group_array(name) FROM (
        SELECT DISTINCT listings.name FROM paper_listings
        JOIN listings ON listings.id = paper_listings.listing_id
        WHERE paper_listings.paper_id = papers.id ORDER BY listings.id)) AS listings,
    (EXISTS (SELECT 1 FROM paper_repos WHERE paper_repos.paper_id = papers.id)
     OR EXISTS (SELECT 1 FROM links WHERE links.paper_id = papers.id
                AND links.kind IN ('gitlab', 'gitee'))) AS has_code
FROM papers
"""

STORE = f"""
WITH fresh AS ({FRESH})
UPDATE papers SET topics = fresh.topics, listings = fresh.listings, has_code = fresh.has_code
FROM fresh
WHERE fresh.id = papers.id
  AND (papers.topics IS NOT fresh.topics OR papers.listings IS NOT fresh.listings
       OR papers.has_code IS NOT fresh.has_code)
"""


def store_overview(writer):
    """Bring every paper's topics, listings and has_code up to date (papers as `writer` sees
    it: the staged table during a full build, the file's during an update)."""
    writer.execute(STORE)
