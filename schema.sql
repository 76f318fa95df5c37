-- paperdb schema: the one statement of what papers.db holds.
-- The README and Datasette's metadata describe every table and column; tests/test_docs.py
-- fails when a column here is missing from either.
-- Bump user_version whenever a table or column changes.
-- 16 KiB pages (first: the size is fixed when the first table is written). An abstract
-- is ~1.4 KB, so 4 KiB pages left a quarter of the papers table empty; measured on the
-- synthetic 100k corpus: 427 -> 403 MB and a 16% faster build (docs/PERFORMANCE.md).
PRAGMA page_size = 16384;
PRAGMA user_version = 5;

-- One row per input dump (a copied Daily Papers page or search result).
CREATE TABLE listings (
    id INTEGER PRIMARY KEY,           -- 1, 2, 3 ... in listing-name order
    name TEXT NOT NULL UNIQUE,        -- file name, relative to the folder it was found in
    sha256 TEXT NOT NULL,             -- of the file's bytes
    bytes INTEGER NOT NULL,
    encoding TEXT NOT NULL,           -- 'utf-8' or 'cp1252'
    page_kind TEXT NOT NULL,          -- 'daily', 'search' or 'unknown' (no header)
    date_label TEXT,                  -- date shown on a daily page, as written ('Mar 14')
    paper_count INTEGER NOT NULL,     -- paper occurrences in this dump
    warning_count INTEGER NOT NULL    -- anomalies reported for this dump
);

-- One row per distinct paper (titles compared after normalisation).
CREATE TABLE papers (
    id INTEGER PRIMARY KEY,           -- stable: derived from a hash of the normalised title
    title TEXT NOT NULL,
    abstract TEXT NOT NULL,
    slug TEXT NOT NULL,               -- lower-case, hyphenated title
    first_listing_id INTEGER NOT NULL REFERENCES listings(id),
    listing_count INTEGER NOT NULL,   -- number of occurrences across all dumps
    aliases TEXT NOT NULL DEFAULT '', -- extra words for the search index only: the other half
                                      -- of acronyms ('MoE' <-> 'mixture of experts') and
                                      -- hyphenated words joined ('pre-training' -> 'pretraining')
    -- Stored at build time for Datasette's pages and facets (overview.py), so that no page
    -- computes them per row:
    topics TEXT NOT NULL DEFAULT '[]',    -- JSON array of its topic slugs, in taxonomy order
    listings TEXT NOT NULL DEFAULT '[]',  -- JSON array of the names of the dumps it is in
    has_code INTEGER NOT NULL DEFAULT 0   -- 1 if it links a GitHub repository or a GitLab or
                                          -- Gitee project (not in papers_without_code)
);
CREATE INDEX papers_first_listing_id ON papers(first_listing_id);
-- The has_code facet and filter count from the index, not from the 1.4 KB rows.
CREATE INDEX papers_has_code ON papers(has_code);

-- Where each paper appeared: a paper in three dumps has three rows here.
CREATE TABLE paper_listings (
    paper_id INTEGER NOT NULL REFERENCES papers(id),
    listing_id INTEGER NOT NULL REFERENCES listings(id),
    position INTEGER NOT NULL,        -- 1-based rank of the paper within the dump
    line INTEGER NOT NULL,            -- line of the title in the dump
    abstract_line INTEGER NOT NULL,   -- line of the abstract in the dump
    title TEXT,                       -- the title as written here, when not papers.title
    abstract TEXT,                    -- the abstract shown here, when not papers.abstract
                                      -- (a conflict: papers keeps the longer one)
    PRIMARY KEY (listing_id, position)
) WITHOUT ROWID;
CREATE INDEX paper_listings_paper_id ON paper_listings(paper_id);

-- GitHub repositories mentioned in titles and abstracts (owner/name checked against
-- GitHub's naming rules). Case-insensitively unique, spelled as first seen.
CREATE TABLE repos (
    id INTEGER PRIMARY KEY,           -- stable: derived from a hash of the lower-cased owner/name
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    full_name TEXT NOT NULL UNIQUE COLLATE NOCASE,  -- 'owner/name'
    url TEXT NOT NULL                 -- canonical https://github.com/owner/name
);

-- Which paper mentions which repository; one row per distinct (repository, path) in a paper.
CREATE TABLE paper_repos (
    paper_id INTEGER NOT NULL REFERENCES papers(id),
    repo_id INTEGER NOT NULL REFERENCES repos(id),
    url_as_written TEXT NOT NULL,     -- the URL as it stands in the text (LaTeX escapes kept)
    path TEXT                         -- what follows owner/name, e.g. 'tree/main/TinyViT'
);
CREATE INDEX paper_repos_paper_id ON paper_repos(paper_id);
CREATE INDEX paper_repos_repo_id ON paper_repos(repo_id);

-- Every other link: GitHub owner pages, github.io pages, Hugging Face, DOIs, project pages ...
CREATE TABLE links (
    paper_id INTEGER NOT NULL REFERENCES papers(id),
    url TEXT NOT NULL,                -- cleaned: no trailing punctuation or LaTeX wrapping
    host TEXT NOT NULL,               -- lower-cased host name
    kind TEXT NOT NULL,               -- see README: github_owner, github_pages, huggingface_model ...
    url_as_written TEXT NOT NULL
);
CREATE INDEX links_paper_id ON links(paper_id);
CREATE INDEX links_kind ON links(kind);

-- Repositories with how many papers, and how many listings, mention them.
CREATE VIEW repo_mentions AS
SELECT repos.id, repos.full_name, repos.url,
       count(DISTINCT paper_repos.paper_id) AS papers,
       count(DISTINCT paper_listings.listing_id) AS listings
FROM repos
JOIN paper_repos ON paper_repos.repo_id = repos.id
JOIN paper_listings ON paper_listings.paper_id = paper_repos.paper_id
GROUP BY repos.id;

-- Papers with no code link: no GitHub repository and no GitLab or Gitee link.
CREATE VIEW papers_without_code AS
SELECT papers.id, papers.title, papers.slug,
       (SELECT group_concat(links.url, ' ') FROM links WHERE links.paper_id = papers.id) AS other_links
FROM papers
WHERE NOT EXISTS (SELECT 1 FROM paper_repos WHERE paper_repos.paper_id = papers.id)
  AND NOT EXISTS (
      SELECT 1 FROM links WHERE links.paper_id = papers.id AND links.kind IN ('gitlab', 'gitee')
  );

-- The topic taxonomy the build used (the bundled one, or --topics FILE).
CREATE TABLE topics (
    id INTEGER PRIMARY KEY,           -- 1, 2, 3 ... in the taxonomy file's order
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    parent_id INTEGER REFERENCES topics(id),  -- two levels: a parent has no parent
    rules TEXT NOT NULL               -- JSON {"phrases": [...], "acronyms": [...]} it matched with
);
CREATE INDEX topics_parent_id ON topics(parent_id);

-- Which topics each paper is about, why (evidence), and how strongly (score).
CREATE TABLE paper_topics (
    paper_id INTEGER NOT NULL REFERENCES papers(id),
    topic_id INTEGER NOT NULL REFERENCES topics(id),
    score INTEGER NOT NULL,           -- 3 per term in the title + 1 per mention in the abstract
    evidence TEXT NOT NULL,           -- 'title: Mamba; abstract: Mamba ×3, SSM; via: child-slug'
    PRIMARY KEY (paper_id, topic_id)
) WITHOUT ROWID;
-- A topic's papers, strongest first (the topic pages, and search's named topics).
CREATE INDEX paper_topics_topic_id ON paper_topics(topic_id, score);

-- Topics with their parent and how many papers they hold.
CREATE VIEW topic_counts AS
SELECT topics.id, topics.slug, topics.name, parent.slug AS parent,
       count(paper_topics.paper_id) AS papers
FROM topics
LEFT JOIN topics AS parent ON parent.id = topics.parent_id
LEFT JOIN paper_topics ON paper_topics.topic_id = topics.id
GROUP BY topics.id;

-- One row per paper with JSON arrays of its topic slugs and listing names, for Datasette's
-- _facet_array, and whether it links code: the columns stored in papers, without the text.
CREATE VIEW paper_overview AS
SELECT papers.id, papers.title, papers.slug, papers.listing_count, papers.topics,
       papers.listings, CASE papers.has_code WHEN 1 THEN 'yes' ELSE 'no' END AS has_code
FROM papers;

-- Acronyms defined in abstracts as "long form (SHORT)", with how many papers define them.
-- Each short form's most common long form is what the search index expands it to.
CREATE TABLE acronyms (
    short TEXT NOT NULL,              -- 'MoE' (a plural 's' dropped: 'LLMs' -> 'LLM')
    long TEXT NOT NULL,               -- 'mixture of experts', lower-cased, hyphens as spaces
    papers INTEGER NOT NULL,          -- distinct texts that define it this way (a paper listed
                                      -- twice with one abstract counts once, with two, twice)
    used_for_search INTEGER NOT NULL, -- 1 for the long form the index uses for this short form
    PRIMARY KEY (short, long)
) WITHOUT ROWID;
-- Search looks a typed long form up here ("low-rank adapters": LoRA).
CREATE INDEX acronyms_long ON acronyms(long);

-- Where each definition was found: what the acronyms counts are computed from, kept so
-- that `paperdb build --incremental` can recount without reading unchanged dumps.
CREATE TABLE acronym_definitions (
    listing_id INTEGER NOT NULL REFERENCES listings(id),
    line INTEGER NOT NULL,            -- line of the dump that defines it
    short TEXT NOT NULL,
    long TEXT NOT NULL,
    text_hash INTEGER NOT NULL,       -- of the line's text: a text in several dumps counts once
    PRIMARY KEY (listing_id, line, short, long)
) WITHOUT ROWID;

-- What the parser could not turn into a paper, or had to decide. Ordered by listing and
-- line (file-wide warnings first; a skipped file, with no listing, last).
CREATE TABLE build_warnings (
    id INTEGER PRIMARY KEY,
    listing_id INTEGER REFERENCES listings(id),
    line INTEGER,                     -- line in the dump, when the warning is about one
    kind TEXT NOT NULL,               -- e.g. 'title-without-abstract', 'abstract-conflict'
    message TEXT NOT NULL,
    paper_id INTEGER REFERENCES papers(id)  -- the paper an 'abstract-conflict' is about
);
CREATE INDEX build_warnings_listing_id ON build_warnings(listing_id);
CREATE INDEX build_warnings_paper_id ON build_warnings(paper_id);

-- For each paper, up to 10 others to read next, best first (related.py, docs/RELATED.md):
-- papers sharing its most distinctive words, topics, a repository or an acronym. The 5
-- best whatever they score, then those scoring at least 500. Empty in a file built with
-- --no-related.
CREATE TABLE related_papers (
    paper_id INTEGER NOT NULL REFERENCES papers(id),
    related_id INTEGER NOT NULL REFERENCES papers(id),  -- never paper_id itself
    rank INTEGER NOT NULL,            -- 1 = the closest; ties broken by the lower related_id
    score INTEGER NOT NULL,           -- in thousandths: 1000 = every distinctive word shared;
                                      -- topics, a repository, an acronym add (WEIGHTS)
    -- What they share, in one text: 'words: mamba, selective; topics: state-space-models;
    -- repo: state-spaces/mamba'. Computed when read from the four columns below, which hold
    -- the parts (NULL: nothing of that kind): the labels are not stored in every row.
    reasons TEXT GENERATED ALWAYS AS (substr(
        coalesce('; words: ' || shared_words, '')
        || coalesce('; topics: ' || shared_topics, '')
        || coalesce('; repo: ' || shared_repo, '')
        || coalesce('; acronym: ' || shared_acronyms, ''), 3)) VIRTUAL,
    shared_words TEXT,                -- up to 3 distinctive words, heaviest first, as written
    shared_topics TEXT,               -- up to 2 topic slugs both papers are most about
    shared_repo TEXT,                 -- a GitHub repository both mention (owner/name)
    shared_acronyms TEXT,             -- short forms (acronyms table) among the shared words
    PRIMARY KEY (paper_id, rank)
) WITHOUT ROWID;

-- Key/value facts about the build: tool and schema version, counts, source hashes.
CREATE TABLE build_info (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Full-text index over papers (external content: the text lives in papers only).
-- content="papers" is spelled with double quotes so Datasette detects the index.
CREATE VIRTUAL TABLE papers_fts USING fts5(
    title,
    abstract,
    aliases,
    content="papers",
    content_rowid="id",
    tokenize="porter unicode61 remove_diacritics 2"
);

-- ORDER BY rank, in any SQLite client, ranks as paperdb's own search weighs the columns:
-- bm25 with the title 10, the abstract 1 and the aliases 0.5 (search.WEIGHTS; a test keeps
-- the two equal). Stored in papers_fts_config, so it needs no extension or setting to work.
INSERT INTO papers_fts (papers_fts, rank) VALUES ('rank', 'bm25(10.0, 1.0, 0.5)');
