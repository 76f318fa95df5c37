"""Counts that tell a user what a papers.db holds."""

TABLES = ["papers", "listings", "paper_listings", "build_warnings"]


def table_counts(db):
    return {name: db[name].count for name in TABLES}


def listing_counts(db):
    return list(
        db.query(
            "SELECT name, page_kind, date_label, paper_count AS papers,"
            " warning_count AS warnings FROM listings ORDER BY id"
        )
    )
