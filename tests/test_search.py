"""Search people trust: safe input, morphology, hyphens, acronyms, fallback, measured quality."""

import json
import re
import sqlite3
import sys
import tomllib

import pytest
from click.testing import CliRunner
from conftest import ROOT

from paperdb import thesaurus
from paperdb.cli import cli
from paperdb.database import open_database
from paperdb.errors import PaperdbError
from paperdb.search import SearchError, parse_query, search

sys.path.insert(0, str(ROOT / "benchmarks"))
import search_eval  # noqa: E402

# nDCG@10 and recall@10 measured with benchmarks/search_eval.py (docs/SEARCH.md): on the test
# split paperdb search 0.869 / 0.825 (ORDER BY rank 0.574 / 0.505), on the holdout split
# 0.703 / 0.637 (0.357 / 0.267), on holdout2 0.620 / 0.564 (0.312 / 0.255). The bounds sit a
# little below ours; on test they are the targets.
MIN_NDCG = 0.85
MIN_RECALL = 0.80
HOLDOUT_MIN = (0.69, 0.62)
HOLDOUT2_MIN = (0.60, 0.54)


@pytest.fixture(scope="module")
def db(seed_db):
    return open_database(seed_db)


def titles(db, query, **options):
    return [hit.title for hit in search(db, query, **options)]


@pytest.mark.parametrize(
    "query",
    [
        "state-of-the-art",
        "pre-training",
        "c++",
        '"unbalanced quote',
        '"balanced" "quotes"',
        'a"b',
        "title: mamba",
        "(parentheses) (",
        ")",
        "AND",
        "mamba OR",
        "NOT attention",
        "NEAR(sparse attention, 5)",
        "",
        "   ",
        "*",
        "-",
        "^caret",
        "col:on:s",
        "'single quotes'",
        "über naïve café",
        "{braces} [brackets]",
        "x" * 500,
    ],
)
def test_any_typed_text_is_safe(db, query):
    """Whatever is typed, each term's FTS5 form is valid FTS5 syntax, alone and together."""
    hits = search(db, query)
    assert isinstance(hits, list)
    fts = " AND ".join(term.fts() for term in parse_query(query))
    if fts:
        db.execute("SELECT count(*) FROM papers_fts WHERE papers_fts MATCH ?", [fts]).fetchone()


def test_operator_words_are_searched_as_words(db):
    assert titles(db, "NOT attention", limit=50) == titles(db, "not attention", limit=50)


def test_raw_passes_fts5_syntax_and_reports_errors(db, seed_db):
    raw = titles(db, "title:mamba NOT vision", raw=True, limit=50)
    assert raw and all("mamba" in t.lower() and "vision" not in t.lower() for t in raw)
    with pytest.raises(SearchError, match="invalid FTS5 query"):
        search(db, '"unbalanced', raw=True)
    result = CliRunner().invoke(cli, ["search", "--raw", "title:(", "--db", str(seed_db)])
    assert result.exit_code == 1
    assert "invalid FTS5 query" in result.stderr and "Traceback" not in result.output


def test_title_is_weighted_above_abstract(db):
    hits = search(db, "mamba", limit=20)
    in_title = [("mamba" in hit.title.lower()) for hit in hits]
    assert in_title[:5] == [True] * 5
    assert in_title.index(False) > in_title.count(True) - 1


def test_snippet_marks_matched_words(db):
    (hit,) = search(db, '"gated linear attention"', limit=1)
    assert "[gated linear attention]" in hit.snippet


@pytest.mark.parametrize(
    "query,word",
    [("distilling", "distillation"), ("quantized", "quantization"), ("pruned", "pruning")],
)
def test_morphology(db, query, word):
    found = " ".join(h.title + " " + h.snippet for h in search(db, query, limit=50)).lower()
    assert word in found


def test_hyphen_variants_find_the_same_papers(db):
    """The same papers hold the word, however it is typed (the papers related to the best
    answers, which complete a list, follow from their order)."""

    def holding(query):
        return {h.title for h in search(db, query, limit=500) if h.match != "related"}

    hyphen, joined = holding("pre-training"), holding("pretraining")
    apart = holding('"pre training"')
    assert hyphen == joined
    assert apart <= hyphen and len(hyphen) > len(apart) > 10


def test_prefix_query(db):
    found = titles(db, "tokeniz*", limit=50)
    assert any("Tokeniz" in t or "tokeniz" in t for t in found)


def test_quoted_phrase(db):
    hits = search(db, '"linear attention"', limit=50)
    assert hits
    for hit in hits:
        row = db.execute("SELECT title, abstract FROM papers WHERE id = ?", [hit.id]).fetchone()
        text = " ".join(row).lower().replace("-", " ")
        assert "linear attention" in text


def test_acronyms_table_holds_harvested_definitions(seed_conn):
    rows = dict(
        seed_conn.execute(
            "SELECT short, long FROM acronyms WHERE used_for_search = 1"
            " AND short IN ('MoE', 'SSM', 'LoRA', 'ViT', 'NAS')"
        ).fetchall()
    )
    assert rows == {
        "MoE": "mixture of experts",
        "SSM": "state space model",
        "LoRA": "low rank adaptation",
        "ViT": "vision transformer",
        "NAS": "neural architecture search",
    }
    (papers,) = seed_conn.execute(
        "SELECT papers FROM acronyms WHERE short = 'MoE' AND long = 'mixture of experts'"
    ).fetchone()
    assert papers >= 3


def only_long_form(conn, short, long_form):
    """Papers that say the long form and never the acronym."""
    return {
        pid
        for pid, title, abstract in conn.execute("SELECT id, title, abstract FROM papers")
        if long_form in f"{title} {abstract}".lower().replace("-", " ")
        and short not in f"{title} {abstract}"
    }


def only_short_form(conn, short, long_form):
    return {
        pid
        for pid, title, abstract in conn.execute("SELECT id, title, abstract FROM papers")
        if re.search(rf"\b{short}s?\b", f"{title} {abstract}")
        and long_form not in f"{title} {abstract}".lower().replace("-", " ")
    }


@pytest.mark.parametrize(
    "short,long_form",
    [
        ("MoE", "mixture of experts"),
        ("ViT", "vision transformer"),
        ("NAS", "neural architecture search"),
    ],
)
def test_acronym_and_long_form_find_each_other_in_any_client(db, seed_db, short, long_form):
    conn = sqlite3.connect(seed_db)
    long_only = only_long_form(conn, short, long_form)
    short_only = only_short_form(conn, short, long_form)
    assert long_only and short_only
    by_short = {hit.id for hit in search(db, short, limit=200)}
    by_long = {hit.id for hit in search(db, long_form, limit=200)}
    assert long_only <= by_short and short_only <= by_long
    # A plain SQLite client with no paperdb code gets the same help from the index.
    plain = {
        pid
        for (pid,) in conn.execute("SELECT rowid FROM papers_fts WHERE papers_fts MATCH ?", [short])
    }
    assert long_only <= plain


def test_too_strict_query_falls_back_to_partial_matches(db):
    query = "efficient transformer for long document summarization"
    strict = search(db, query, limit=10)
    assert not any(hit.match == "partial" for hit in search(db, "summarization", limit=10))
    partial = [hit for hit in strict if hit.match == "partial"]
    assert len(strict) >= 2 and partial
    assert any("summariz" in (h.title + h.snippet).lower() for h in partial)


@pytest.mark.parametrize("query", ["sign language translation", "watermarking LLM-generated text"])
def test_query_about_something_absent_finds_nothing(db, query):
    assert search(db, query) == []


def ranked(db, query, **options):
    return [(hit.id, hit.score, hit.match) for hit in search(db, query, **options)]


@pytest.mark.parametrize(
    "repeated, once",
    [
        ("a " * 60, "a"),
        ("transformer " * 40, "transformer"),
        ("Mamba mamba MAMBA " * 20, "mamba"),
        ("linear Attention " * 30, "linear attention"),
        ('"linear attention" ' * 25 + "linear", '"linear attention" linear'),
        ("tokeniz* " * 30, "tokeniz*"),
        ("efficient transformer for long document summarization " * 10,
         "efficient transformer for long document summarization"),
    ],
)  # fmt: skip
def test_repeated_terms_count_once(db, repeated, once):
    assert ranked(db, repeated, limit=20) == ranked(db, once, limit=20)
    assert ranked(db, once, limit=20)


def test_only_the_head_of_a_very_long_query_is_read(db):
    """Text past MAX_QUERY_CHARS is ignored, and the cut falls between words."""
    head = "diffusion " * 999 + "diffusion"  # 9,999 characters
    assert ranked(db, head + " zzzunknownword") == ranked(db, "diffusion")
    assert ranked(db, head + "zzz other words") == ranked(db, head)


def test_a_very_long_phrase_is_searched_by_its_head(db, seed_db):
    """A phrase costs its length for every paper holding its words; its head is searched."""
    ((paper_id, abstract),) = long_abstracts(seed_db, count=1)
    head = " ".join(re.findall(r"\w+", abstract)[:40])
    endless = '"' + head + " and then" * 1000 + '"'  # under MAX_QUERY_CHARS: one phrase
    assert ranked(db, endless) == ranked(db, f'"{head}"')
    assert search(db, endless)[0].id == paper_id


def long_abstracts(seed_db, count=4):
    conn = sqlite3.connect(f"{seed_db.as_uri()}?mode=ro", uri=True)
    rows = conn.execute(
        "SELECT id, abstract FROM papers ORDER BY length(abstract) DESC, id LIMIT ?", [count]
    ).fetchall()
    conn.close()
    return rows


def test_a_pasted_abstract_finds_its_paper_first(db, seed_db):
    for paper_id, abstract in long_abstracts(seed_db):
        assert len(abstract) >= 1500
        assert search(db, abstract, limit=10)[0].id == paper_id
        assert search(db, abstract.upper() + " " + abstract, limit=10)[0].id == paper_id


def statements(seed_db, query):
    """Top-level SQL statements one search runs (FTS5's own, prefixed '--', left out)."""
    db = open_database(seed_db)
    run = []
    db.conn.set_trace_callback(lambda sql: sql.startswith("--") or run.append(sql))
    search(db, query, limit=10)
    db.conn.close()
    return run


def statements_run(seed_db, query):
    return len(statements(seed_db, query))


def test_the_work_of_a_search_is_bounded_whatever_its_length(seed_db):
    abstracts = [abstract for _, abstract in long_abstracts(seed_db, count=12)]
    short = statements_run(seed_db, "efficient transformer for long document summarization")
    longest = statements_run(seed_db, " ".join(abstracts))
    assert short < 60
    assert longest <= 250
    assert statements_run(seed_db, "mamba " * 400) <= statements_run(seed_db, "mamba")


@pytest.mark.parametrize(
    "query, titles_only",
    [("transformer", True), ("trans*", True), ("mamba", False), ("asteroseismic", False)],
)
def test_a_word_many_titles_hold_takes_its_candidates_from_those_titles(
    seed_db, query, titles_only
):
    """The bm25 of every paper holding a common word was most of p95 (docs/SEARCH.md):
    when 30 titles hold a one-unit query, only those are scored by the index."""
    pool_queries = [sql for sql in statements(seed_db, query) if "bm25(papers_fts" in sql]
    assert pool_queries
    assert all("{title} :" in sql for sql in pool_queries) == titles_only
    hits = search(open_database(seed_db), query, limit=20)
    held = re.compile(r"(?i)\btrans" if query.endswith("*") else rf"(?i)\b{query}")
    assert hits
    if titles_only:
        assert len(hits) == 20 and all(held.search(hit.title) for hit in hits)


def test_search_quality_on_the_judged_test_and_holdout_splits(seed_db):
    """The test, holdout and holdout2 splits of tests/fixtures/search_judgments.json: never
    used to choose settings (the holdouts' figures are lower: docs/SEARCH.md says why)."""
    judged = json.loads(search_eval.JUDGED.read_text())["queries"]
    assert len(judged) >= 80
    evaluated = search_eval.evaluate(seed_db, judged)
    bounds = {"test": (MIN_NDCG, MIN_RECALL), "holdout": HOLDOUT_MIN, "holdout2": HOLDOUT2_MIN}
    for split, least in bounds.items():
        rows = [r for r in evaluated if r["split"] == split]
        ndcg, recall, _ = search_eval.averages(rows, "cli")
        assert ndcg >= least[0] and recall >= least[1], split
        plain_ndcg, plain_recall, _ = search_eval.averages(rows, "order-by-rank")
        assert ndcg > plain_ndcg + 0.05 and recall > plain_recall + 0.05
        assert all(r["datasette"] == r["cli"] for r in rows)
        absent = [r["query"] for r in rows if r["category"] == "no-answer" and r["cli_hits"]]
        assert absent == []


def test_cli_json_marks_partial_matches(seed_db):
    result = CliRunner().invoke(
        cli,
        [
            "search",
            "efficient transformer for long document summarization",
            "--db",
            str(seed_db),
            "--json",
        ],
    )
    hits = json.loads(result.stdout)
    assert {"id", "title", "snippet", "score", "listings", "match"} <= set(hits[0])
    assert any(hit["match"] == "partial" for hit in hits)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("we adapt it with low-rank adaptation (LoRA) here", ("LoRA", "low rank adaptation")),
        ('a novel structure called "Network In Network" (NIN)', ("NIN", "network in network")),
        ("the 'shrink and fine-tune' (SFT) approach", ("SFT", "shrink and fine tune")),
        ("a single shot multibox detector (SSD)", ("SSD", "single shot multibox detector")),
        ("learning from human feedback (RLHF)", None),
        ("towards a general intelligence (AI)", None),
        ("a Sparsely-Gated Mixture-of-Experts layer (MoE)", None),
        ("evaluation on the GLUE benchmark shows that our BERT variants (EELBERT)", None),
    ],
)
def test_a_long_form_must_spell_the_short_form_with_its_words_initials(text, expected):
    """Letters found inside any words are not a definition: junk pairs would put unrelated
    words into every paper's aliases that uses the short form."""
    from paperdb.acronyms import find_definitions

    assert find_definitions(text) == ([expected] if expected else [])


def test_definitions_in_a_megabyte_line_are_all_found():
    from paperdb.acronyms import find_definitions

    line = "We use a mixture of experts (MoE) layer here. " * 25_000  # 1.2 MB, one line
    found = find_definitions(line)
    assert len(found) == 25_000 and set(found) == {("MoE", "mixture of experts")}


# --- the ranking, category by category (ranking.py; docs/SEARCH.md) -------------------------


def paper_text(db, pid):
    return " ".join(
        db.execute("SELECT title, abstract, aliases FROM papers WHERE id = ?", [pid]).fetchone()
    )


@pytest.mark.parametrize("acronym", ["CLIP", "GLUE", "SAM", "MoE", "LoRA"])
def test_an_acronym_in_capitals_prefers_papers_writing_it_so(db, acronym):
    """Written so, or spelled out (its long form counts as the acronym itself)."""
    spelled = [  # each word by its head: "low-rank adapters" spells LoRA as well
        r"[\s-]+".join(re.escape(word[:5]) + r"\w*" for word in long_form.split())
        for (long_form,) in db.execute("SELECT long FROM acronyms WHERE short = ?", [acronym])
    ]
    pattern = "|".join([rf"(?<![\w]){acronym}s?(?![\w])", *(rf"(?i:{s})" for s in spelled)])
    hits = search(db, acronym, limit=40)
    written = [bool(re.search(pattern, paper_text(db, h.id))) for h in hits]
    assert written[0] and written == sorted(written, reverse=True)  # all exact ones first


@pytest.mark.parametrize("prefix", ["tokeniz", "extrapolat", "quantiz", "distill"])
def test_a_prefix_matches_the_words_as_written_first(db, prefix):
    hits = search(db, prefix + "*", limit=40)
    written = [bool(re.search(rf"(?i)(?<!\w){prefix}", paper_text(db, h.id))) for h in hits]
    assert written[0] and written == sorted(written, reverse=True)


@pytest.mark.parametrize("prefix", ["bias", "trans", "quantiz"])
def test_a_prefix_finds_words_porter_cut_short_and_no_others(db, prefix):
    """ "bias*" finds "bias" (stored as porter's "bia"), and only words written with the
    prefix, or whose stem is the one porter cut it to: "trans*" is not "tranquil"."""
    hits = search(db, prefix + "*", limit=100)
    assert hits
    for hit in hits:
        assert re.search(rf"(?i)(?<!\w){prefix}", paper_text(db, hit.id)), hit.title
    only_the_word = [
        pid
        for pid, text in db.execute("SELECT id, title || ' ' || abstract FROM papers")
        if re.search(rf"(?i)(?<!\w){prefix}(?!\w)", text)
        and not re.search(rf"(?i)(?<!\w){prefix}\w", text)
    ]
    assert set(only_the_word) <= {h.id for h in hits}


def test_extrapolat_prefix_reaches_past_porters_stem(db):
    """ "extrapolation" is stored as "extrapol": the typed prefix is longer than the stem."""
    assert len(search(db, "extrapolat*", limit=20)) >= 5


def test_an_acronym_and_its_long_form_score_within_005(seed_db):
    """Each judged acronym query against its long form typed as a reader might, on the
    acronym's judgments (benchmarks/search_eval.py LONG_FORMS)."""
    judged = json.loads(search_eval.JUDGED.read_text())["queries"]
    pairs = search_eval.pair_rows(seed_db, judged)
    assert {short for short, *_ in pairs} == set(search_eval.LONG_FORMS)
    gaps = [(short, split, round(abs(a - b), 2)) for short, _, split, a, b in pairs]
    assert [gap for gap in gaps if gap[2] > 0.05] == []


@pytest.mark.parametrize(
    "long_form, short",
    [("low-rank adapters", "LoRA"), ("mixture of experts", "MoE"),
     ("neural architecture search", "NAS")],
)  # fmt: skip
def test_a_typed_long_form_finds_papers_that_only_write_the_acronym(db, long_form, short):
    found = {h.id for h in search(db, long_form, limit=100)}
    spelled = long_form.replace("-", " ").replace(" ", r"[\s-]+")[:-2]
    only_short = [
        pid
        for pid, title, abstract in db.execute("SELECT id, title, abstract FROM papers")
        if re.search(rf"(?<!\w){short}(?!\w)", f"{title} {abstract}")
        and not re.search(spelled, f"{title} {abstract}", re.I)
    ]
    assert only_short and set(only_short) <= found


@pytest.mark.parametrize(
    "typed, defined",
    [("rotary position embedding", "rotary positional embeddings"),
     ("low rank adaptations", "low rank adaptation"),
     ("mixtures of expert", "mixture of experts")],
)  # fmt: skip
def test_a_long_form_typed_with_other_word_endings_is_the_defined_one(db, typed, defined):
    """Every word's ending may differ from the corpus's definition, not only the last one."""
    assert db.execute("SELECT count(*) FROM acronyms WHERE long = ?", [defined]).fetchone()[0]
    # The same papers; their order may differ by the bm25 of the words as typed.
    assert set(titles(db, typed, limit=10)) == set(titles(db, defined, limit=10))


def test_a_named_topic_credits_only_the_words_that_name_it(db):
    """ "pruning" is held through the pruning topic, never through another topic the query
    names: an LLM paper that neither says pruning nor is about it is no hit."""
    topics = dict(db.execute("SELECT slug, id FROM topics"))
    query = "layer pruning large language models"
    pruning = {
        pid
        for (pid,) in db.execute(
            "SELECT paper_id FROM paper_topics WHERE topic_id = ?", [topics["pruning-sparsity"]]
        )
    }
    hits = search(db, query, limit=50)
    assert hits
    for hit in hits:
        text = paper_text(db, hit.id).lower()
        if hit.match == "all":
            assert "prun" in text or hit.id in pruning, hit.title


def test_a_long_form_written_apart_counts_in_part(db):
    """A paper on "pre-trained BERT models for a low-resource language" is found for
    "pretrained language model low-resource language" though it never writes the phrase."""
    query = "pretrained language model low-resource language"
    apart = [
        h
        for h in search(db, query, limit=10)
        if "pretrained language model" not in paper_text(db, h.id).lower().replace("-", "")
    ]
    assert apart
    for hit in apart:
        text = paper_text(db, hit.id).lower()
        assert "low-resource" in text or "low resource" in text, hit.title


def test_a_long_form_the_taxonomy_spells_out_finds_its_acronym(db):
    """No dump defines SGD, but the taxonomy lists "SGD" beside "stochastic gradient
    descent": the long form finds the papers that write only SGD."""
    assert not db.execute("SELECT count(*) FROM acronyms WHERE short = 'SGD'").fetchone()[0]
    texts = dict(db.execute("SELECT id, title || ' ' || abstract FROM papers"))
    only_short = {i for i, t in texts.items() if re.search(r"\bSGD\b", t)
                  and not re.search(r"(?i)stochastic gradient descent", t)}  # fmt: skip
    assert only_short
    assert only_short <= {h.id for h in search(db, "stochastic gradient descent", limit=50)}


def test_soft_and_finds_papers_missing_one_word_and_marks_them(db):
    hits = search(db, "KV cache memory reduction", limit=20)
    assert len(hits) >= 8
    assert any(h.match == "partial" for h in hits)
    assert all(re.search(r"(?i)\bKV\b|key.value", paper_text(db, h.id)) for h in hits[:8])


def test_papers_found_through_the_thesaurus_only_are_ordered_by_how_strongly_they_say_it(db):
    """Few papers say "image restoration"; those saying what the thesaurus means instead
    (inpainting, super-resolution, deraining...) fill the list, the strongest first, above
    papers holding the words by chance (at equal credit, the order was by id)."""
    kinds = re.compile(r"(?i)inpaint|super-resolution|restor|derain|raindrop|denois|deblur")
    hits = search(db, "image restoration", limit=10)
    assert len(hits) == 10 and all(kinds.search(paper_text(db, h.id)) for h in hits)


@pytest.mark.parametrize(
    "query", ["low-budget language model pretraining", "low-budget BERT pretraining"]
)
def test_a_compound_no_paper_writes_is_searched_by_its_words(db, query):
    """No paper writes "low-budget": as one unit it weighed most and was held by none (the
    first query found a single paper). Its words find the papers on training cheaply."""
    assert not any(re.search(r"(?i)low.budget", paper_text(db, pid)) for (pid,) in
                   db.execute("SELECT id FROM papers"))  # fmt: skip
    titles = [h.title for h in search(db, query, limit=10)]
    assert "How to Train BERT with an Academic Budget" in titles[:3]
    assert len(titles) == 10


@pytest.mark.parametrize("query", ["crowd-counting", "optical-flow estimation", "crowd counting"])
def test_a_compound_about_an_absent_subject_still_finds_nothing(db, query):
    assert search(db, query, limit=10) == []


def test_a_query_few_papers_answer_is_completed_by_papers_missing_one_word(db):
    """Below the papers holding the query, papers holding all its words but one: here
    length generalization in transformers without arithmetic."""
    words = ["length", "generaliz", "arithmetic", "transformer"]
    hits = search(db, "length generalization arithmetic transformers", limit=20)
    held = [sum(w in paper_text(db, h.id).lower() for w in words) for h in hits]
    assert held.count(4) >= 2 and held.count(3) >= 2
    last_complete = max(i for i, n in enumerate(held) if n == 4)
    completing = [
        i
        for i, h in enumerate(hits)
        if held[i] == 3 and "arithmetic" not in paper_text(db, h.id).lower()
    ]
    assert completing and min(completing) > last_complete


def test_a_named_topic_finds_papers_in_other_words(db):
    """ "medical imaging": papers of the topics it names that say CT, MRI or ultrasound."""
    hits = search(db, "medical imaging", limit=20)
    # Held in full without the word: through the topic (a partial match may hold "medical" alone).
    without_the_words = [
        h for h in hits if h.match == "all" and "imaging" not in paper_text(db, h.id).lower()
    ]
    assert without_the_words
    medical = {
        pid
        for (pid,) in db.execute(
            "SELECT paper_id FROM paper_topics JOIN topics ON topics.id = topic_id"
            " WHERE slug IN ('medical', 'medical-imaging')"
        )
    }
    assert all(h.id in medical for h in without_the_words)


@pytest.mark.parametrize(
    "query", ["credit card fraud detection", "seismic earthquake detection", "xyzzyplugh"]
)
def test_absent_subjects_find_nothing(db, query):
    assert search(db, query) == []


def test_spellings_of_one_long_form_count_together():
    from paperdb.acronyms import AcronymHarvest

    harvest = AcronymHarvest(
        {
            ("GNN", "graph neural network"): 1,
            ("GNN", "graph neural networks"): 1,
            ("GNN", "generic node notation"): 1,
            ("MLP", "multi layer perceptron"): 2,
            ("MLP", "multilayer perceptron"): 1,
            ("MLP", "machine learning pipeline"): 2,
        }
    )
    assert harvest.expansions() == {"GNN": "graph neural network", "MLP": "multi layer perceptron"}


@pytest.fixture
def with_thesaurus(monkeypatch):
    """Search with a thesaurus of the given entries in place of the bundled one."""

    def use(*entries):
        custom = thesaurus.Thesaurus([{"query": q, "means": m} for q, m in entries])
        monkeypatch.setattr(thesaurus, "bundled", lambda: custom)

    return use


def papers_writing(db, pattern, flags=re.I):
    """Titles of the papers whose text or aliases (an acronym for its long form) match."""
    found = re.compile(pattern, flags)
    return {
        title
        for title, abstract, aliases in db.execute("SELECT title, abstract, aliases FROM papers")
        if found.search(f"{title} {abstract} {aliases}")
    }


def test_a_thesaurus_entry_finds_papers_that_say_it_another_way(db, with_thesaurus):
    """No bundled paper says "hate speech"; with an entry saying papers write "toxic" or
    "offensive" instead, the papers writing those are found, and only they."""
    with_thesaurus((["unmentionable speech"], ["toxic", "offensive"]))
    assert titles(db, "abusive remarks") == []
    assert titles(db, "unmentionable speech") != []
    saying = papers_writing(db, r"\b(toxic\w*|offensive\w*)")
    found = search(db, "unmentionable speech", limit=50)
    hits = [hit for hit in found if hit.match != "related"]  # those follow from these
    assert {hit.title for hit in hits} <= saying and len(hits) == len(saying)
    # The snippet marks the query's words, or what the paper says instead where it holds none.
    marked = r"\[(toxic\w*|offensive\w*|unmentionable|speech)\]"
    assert all(re.search(marked, hit.snippet, re.I) for hit in hits)
    assert any(not re.search(r"\[speech\]", hit.snippet, re.I) for hit in hits)
    with_thesaurus()
    assert titles(db, "unmentionable speech") == []


def test_a_thesaurus_acronym_counts_only_as_written(db, with_thesaurus):
    """An entry meaning "SAM" finds papers writing SAM, not those writing "same"."""
    with_thesaurus((["zorblax masker"], ["SAM"]))
    hits = search(db, "zorblax masker", limit=50)
    found = [hit.title for hit in hits if hit.match != "related"]
    assert found and set(found) <= papers_writing(db, r"(?<![^\W_])SAMs?(?![^\W_])", 0)


def test_a_thesaurus_entry_covers_only_the_words_of_its_phrase(db, with_thesaurus):
    """ "unmentionable speech detection": a paper writing "toxic" holds the first two words,
    and must still hold "detection" to count in full."""
    with_thesaurus((["unmentionable speech"], ["toxic", "offensive"]))
    hits = search(db, "unmentionable speech detection", limit=50)
    assert hits
    for hit in hits:
        text = " ".join(
            db.execute("SELECT title, abstract FROM papers WHERE id = ?", [hit.id]).fetchone()
        )
        if hit.match == "all":
            assert re.search(r"detect", text, re.I)


@pytest.mark.parametrize(
    "entry",
    [{"query": [], "means": ["x"]}, {"query": ["x"]}, {"query": ["x"], "means": "y"},
     {"query": ["..."], "means": ["y"]}],
)  # fmt: skip
def test_a_bad_thesaurus_entry_is_refused_with_its_number(entry):
    with pytest.raises(PaperdbError, match="entry 2"):
        thesaurus.Thesaurus([{"query": ["a"], "means": ["b"]}, entry], source="t.toml")


def test_the_bundled_thesaurus_is_valid_and_no_query_phrase_is_in_two_entries():
    text = (ROOT / "src" / "paperdb" / "data" / "thesaurus.toml").read_text()
    entries = tomllib.loads(text)["entry"]
    assert len(thesaurus.bundled().entries) == len(entries)
    entry_of = {}
    for number, entry in enumerate(entries):
        for phrase in entry["query"]:
            entry_of.setdefault(" ".join(re.findall(r"[^\W_]+", phrase.lower())), set()).add(number)
    assert [phrase for phrase, numbers in entry_of.items() if len(numbers) > 1] == []


def test_an_entry_is_searched_in_the_index_only_where_its_words_find_few_papers(
    seed_db, with_thesaurus
):
    """ "language models" fills the pool by itself: its entry's phrases are not searched in
    the big index (an OR of common phrases cost more than the rest of a query at 100k), but
    still credit the pool's papers. "Slavic" finds no paper: its entry's phrases are."""
    with_thesaurus((["language models"], ["zorblax corpus"]), (["slavic"], ["Russian", "Polish"]))
    entry_searched = [sql for sql in statements(seed_db, "language models") if "zorblax" in sql]
    assert entry_searched == []
    assert any("Russian" in sql for sql in statements(seed_db, "Slavic"))


def related_of(db, ids):
    marks = ", ".join("?" for _ in ids)
    rows = db.execute(f"SELECT related_id FROM related_papers WHERE paper_id IN ({marks})", ids)
    return {pid for (pid,) in rows}


@pytest.mark.parametrize("query", ["transformer FPGA", "Large Hadron Collider", "mamba"])
def test_answers_are_completed_by_papers_related_to_the_best_of_them(db, query):
    """Below the papers holding the query come the papers related_papers lists for its five
    best answers, marked 'related': none holds the query, all rank below every answer."""
    hits = search(db, query, limit=100)
    related = [hit for hit in hits if hit.match == "related"]
    others = [hit for hit in hits if hit.match != "related"]
    assert related and others
    assert {hit.id for hit in related} <= related_of(db, [hit.id for hit in hits[:5]])
    assert not {hit.id for hit in related} & {hit.id for hit in others}
    holding_all = [hit.score for hit in others if hit.match == "all"]
    assert max(hit.score for hit in related) <= 0 < min(holding_all)
    assert hits == sorted(hits, key=lambda hit: -hit.score)


@pytest.mark.parametrize("query", ['"linear attention"', "tokeniz*", "mamba trans*"])
def test_quotes_and_prefixes_ask_for_the_words_only(db, query):
    assert search(db, query, limit=100)
    assert all(hit.match != "related" for hit in search(db, query, limit=100))


def test_without_related_papers_a_search_finds_the_papers_holding_the_query(seed_db, tmp_path):
    """A build with --no-related has no rows to complete a list with: the rest is the same."""
    copy = tmp_path / "no-related.db"
    copy.write_bytes(seed_db.read_bytes())
    with sqlite3.connect(copy) as conn:
        conn.execute("DELETE FROM related_papers")
    conn.close()
    full, bare = open_database(seed_db), open_database(copy)
    for query in ["transformer FPGA", "Large Hadron Collider", "mamba"]:
        holding = [hit for hit in search(full, query, limit=100) if hit.match != "related"]
        assert search(bare, query, limit=100) == holding


def test_the_cli_says_which_hits_are_related_to_the_answers(seed_db):
    result = CliRunner().invoke(cli, ["search", "transformer FPGA", "--db", str(seed_db)])
    assert result.exit_code == 0
    assert "some words missing" in result.output
    assert "related to the answers above" in result.output


def test_a_search_within_a_topic_completes_it_with_that_topics_papers_only(db):
    hits = search(db, "transformer FPGA", limit=100, topic="particle-physics")
    related = [hit.id for hit in hits if hit.match == "related"]
    assert related
    members = {
        pid
        for (pid,) in db.execute(
            "SELECT paper_id FROM paper_topics JOIN topics ON topics.id = topic_id"
            " WHERE slug = 'particle-physics'"
        )
    }
    assert set(related) <= members


@pytest.mark.parametrize("query", ["efficient attention", "mamba", "trans*", "transformer FPGA"])
def test_a_search_within_a_topic_looks_each_paper_up_by_key(seed_db, query):
    """No statement of a search within a topic lists the topic's papers first: as
    `rowid IN (SELECT paper_id ...)`, SQLite drove the search from that list and FTS5 ran the
    MATCH again for each paper (42 s for "efficient attention" in "architectures" at 100k)."""
    db = open_database(seed_db)
    run = []
    db.conn.set_trace_callback(lambda sql: sql.startswith("--") or run.append(sql))
    assert search(db, query, limit=10, topic="architectures")
    db.conn.set_trace_callback(None)
    filtered = [sql for sql in run if "FROM paper_topics" in sql and "MATCH" in sql]
    assert filtered
    for sql in run:
        plan = " ".join(row[3] for row in db.conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert "LIST SUBQUERY" not in plan, sql
