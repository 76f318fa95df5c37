"""What the plugin's pages show, read from a papers.db connection (run in Datasette's threads).

Every query here is bounded by an index (a paper's rows, a topic's strongest papers), so a
page costs the same on a 100k-paper file as on the samples.
"""

import re

from markupsafe import Markup, escape

PAPERS_ON_TOPIC_PAGE = 50
RELATED = 5
# Candidates per shared topic for the "related papers" fallback: its strongest papers only,
# read from the (topic_id, score) index, so a topic of 20,000 papers costs no more than 300.
RELATED_POOL = 300
HOME_REPOS = 10

# Only http(s) links become live; a `javascript:` text stays text. The body stops at
# whitespace, quotes and angle brackets; trailing punctuation is the sentence's.
_LINK = re.compile(r"\bhttps?://[^\s<>\"'`{}\\]+", re.I)
_TRAILING = ".,;:!?*"
_PAIRS = {")": "(", "]": "["}


def _trim(url):
    while url:
        last = url[-1]
        if last in _TRAILING or (last in _PAIRS and url.count(last) > url.count(_PAIRS[last])):
            url = url[:-1]
        else:
            break
    return url


def linkify(text):
    """`text` escaped, with its http(s) URLs as links that open outside the site."""
    out = []
    position = 0
    for match in _LINK.finditer(text):
        url = _trim(match.group())
        if len(url) <= len("https://"):
            continue
        out.append(escape(text[position : match.start()]))
        out.append(Markup('<a href="{0}" rel="nofollow noopener" class="ext">{0}</a>').format(url))
        position = match.start() + len(url)
    out.append(escape(text[position:]))
    return Markup("").join(out)


def truncate(text, limit):
    if text is None or len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


def _rows(conn, sql, params=()):
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def _row(conn, sql, params=()):
    """The one row a page is about, as a dict; None when there is no such row."""
    found = _rows(conn, sql, params)
    return found[0] if found else None


def _tables(conn):
    return {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}


def paper(conn, paper_id):
    page = _row(
        conn, "select id, title, abstract, slug, listing_count from papers where id = ?", [paper_id]
    )
    if page is None:
        return None
    page["abstract_html"] = linkify(page["abstract"])
    page["topics"] = _rows(
        conn,
        """select topics.id, topics.slug, topics.name, paper_topics.score, paper_topics.evidence
        from paper_topics join topics on topics.id = paper_topics.topic_id
        where paper_topics.paper_id = ? order by paper_topics.score desc, topics.id""",
        [paper_id],
    )
    page["repos"] = _rows(
        conn,
        """select repos.id, repos.full_name, repos.url, paper_repos.path
        from paper_repos join repos on repos.id = paper_repos.repo_id
        where paper_repos.paper_id = ? order by repos.full_name collate nocase, paper_repos.path""",
        [paper_id],
    )
    links = {}
    for row in _rows(
        conn, "select kind, url from links where paper_id = ? order by kind, url", [paper_id]
    ):
        links.setdefault(row["kind"], []).append(row["url"])
    page["links"] = sorted(links.items())
    page["listings"] = _rows(
        conn,
        """select listings.id, listings.name, listings.date_label, listings.page_kind,
            paper_listings.position
        from paper_listings join listings on listings.id = paper_listings.listing_id
        where paper_listings.paper_id = ? order by listings.id, paper_listings.position""",
        [paper_id],
    )
    page["related"], page["related_stored"] = related(conn, paper_id, page["topics"])
    return page


def related(conn, paper_id, topics):
    """(papers, stored): the build's related_papers for this paper, with their reasons; for
    a paper without any (a file built with --no-related, or older), the papers sharing most
    of its strongest topics."""
    if "related_papers" in _tables(conn):
        rows = _rows(
            conn,
            """select papers.id, papers.title, related_papers.reasons from related_papers
            join papers on papers.id = related_papers.related_id
            where related_papers.paper_id = ? order by related_papers.rank""",
            [paper_id],
        )
        if rows:
            return rows, True
    topic_ids = [topic["id"] for topic in topics[:3]]
    if not topic_ids:
        return [], False
    pools = " union all ".join(
        "select * from (select paper_id, score from paper_topics where topic_id = ? "
        "order by score desc limit ?)"
        for _ in topic_ids
    )
    params = [value for topic_id in topic_ids for value in (topic_id, RELATED_POOL)]
    rows = _rows(
        conn,
        f"""select papers.id, papers.title from (
            select paper_id, count(*) as shared, sum(score) as strength from ({pools})
            where paper_id != ? group by paper_id
            order by shared desc, strength desc, paper_id limit ?
        ) as best join papers on papers.id = best.paper_id
        order by best.shared desc, best.strength desc, papers.id""",
        [*params, paper_id, RELATED],
    )
    return rows, False


def topic(conn, topic_id):
    page = _row(
        conn, "select id, slug, name, description, parent_id from topics where id = ?", [topic_id]
    )
    if page is None:
        return None
    page["parent"] = (
        _rows(conn, "select id, slug, name from topics where id = ?", [page["parent_id"]])
        if page["parent_id"] is not None
        else []
    )
    page["children"] = _rows(
        conn,
        """select topics.id, topics.slug, topics.name,
            (select count(*) from paper_topics where topic_id = topics.id) as papers
        from topics where parent_id = ? order by topics.id""",
        [topic_id],
    )
    page["count"] = conn.execute(
        "select count(*) from paper_topics where topic_id = ?", [topic_id]
    ).fetchone()[0]
    page["papers"] = _rows(
        conn,
        """select papers.id, papers.title, paper_topics.score, paper_topics.evidence
        from paper_topics join papers on papers.id = paper_topics.paper_id
        where paper_topics.topic_id = ? order by paper_topics.score desc, papers.id limit ?""",
        [topic_id, PAPERS_ON_TOPIC_PAGE],
    )
    return page


def repo(conn, repo_id):
    page = _row(conn, "select id, full_name, url from repos where id = ?", [repo_id])
    if page is None:
        return None
    page["papers"] = _rows(
        conn,
        """select distinct papers.id, papers.title from paper_repos
        join papers on papers.id = paper_repos.paper_id
        where paper_repos.repo_id = ? order by papers.listing_count desc, papers.id""",
        [repo_id],
    )
    return page


def home(conn):
    counts = dict(conn.execute("select topic_id, count(*) from paper_topics group by topic_id"))
    topics = _rows(conn, "select id, slug, name, parent_id from topics order by id")
    children = {}
    for row in topics:
        row["papers"] = counts.get(row["id"], 0)
        children.setdefault(row["parent_id"], []).append(row)
    tree = [dict(row, children=children.get(row["id"], [])) for row in children.get(None, [])]
    repos = _rows(
        conn,
        """select repos.id, repos.full_name, repos.url, top.papers from (
            select repo_id, count(distinct paper_id) as papers from paper_repos
            group by repo_id order by papers desc, repo_id limit ?
        ) as top join repos on repos.id = top.repo_id
        order by top.papers desc, repos.full_name collate nocase""",
        [HOME_REPOS],
    )
    papers = conn.execute("select count(*) from papers").fetchone()[0]
    return {"topic_tree": tree, "top_repos": repos, "paper_count": papers}
