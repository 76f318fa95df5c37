"""Counts that tell a user what a papers.db holds."""

from .check import counted_tables

# The order a reader looks for them in; every other table of the file follows, by name.
FIRST = [
    "papers",
    "listings",
    "paper_listings",
    "related_papers",
    "repos",
    "paper_repos",
    "links",
    "topics",
    "paper_topics",
    "acronyms",
]


def table_counts(db):
    """Rows of every table of the file that a build counts (check.counted_tables)."""
    tables = counted_tables(db.conn)
    ordered = [t for t in FIRST if t in tables] + [t for t in tables if t not in FIRST]
    return {name: db[name].count for name in ordered}


def listing_counts(db):
    return list(
        db.query(
            "SELECT name, page_kind, date_label, paper_count AS papers,"
            " warning_count AS warnings FROM listings ORDER BY id"
        )
    )


def link_counts(db):
    """Links by kind, with repository mentions and owner links spelled out."""
    counts = {
        "repository mentions": db["paper_repos"].count,
        "distinct repositories": db["repos"].count,
        "papers with a repository": db.execute(
            "SELECT count(DISTINCT paper_id) FROM paper_repos"
        ).fetchone()[0],
    }
    for kind, count in db.execute("SELECT kind, count(*) FROM links GROUP BY kind ORDER BY kind"):
        counts[f"links: {kind}"] = count
    return counts


def repositories(db, min_papers=1):
    return list(
        db.query(
            "SELECT full_name, url, papers, listings FROM repo_mentions WHERE papers >= ?"
            " ORDER BY papers DESC, listings DESC, full_name COLLATE NOCASE",
            [min_papers],
        )
    )


def topic_counts(db):
    """Topics in taxonomy order, each parent followed by its children."""
    rows = list(db.query("SELECT id, slug, name, parent, papers FROM topic_counts ORDER BY id"))
    children = {}
    for row in rows:
        if row["parent"]:
            children.setdefault(row["parent"], []).append(row)
    ordered = []
    for row in rows:
        if not row["parent"]:
            ordered.append(row)
            ordered.extend(children.get(row["slug"], []))
    return ordered
