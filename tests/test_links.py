"""GitHub repositories and other links, extracted exactly from real abstracts."""

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, SEEDS, seed_lines, write_dump
from hypothesis import given, settings
from hypothesis import strategies as st

from paperdb.build import build
from paperdb.cli import cli
from paperdb.links import Link, RepoMention, extract_links, find_links, skipped_links
from paperdb.parser import DumpParser, Occurrence
from paperdb.reader import discover, inspect, read_lines

EXPECTED = json.loads((FIXTURES / "expected_links.json").read_text())


def repos_in(text):
    return [(m.owner, m.name, m.path) for m in extract_links(text) if isinstance(m, RepoMention)]


def links_in(text, title=""):
    return [(m.url, m.kind) for m in extract_links(text, title) if isinstance(m, Link)]


# Each case is a real sentence from the bundled dumps.
@pytest.mark.parametrize(
    "text,expected",
    [
        # followed by sentence punctuation
        ("The code is available at https://github.com/IBM/CrossViT.", [("IBM", "CrossViT", None)]),
        (
            "available at https://github.com/WGLab/bioformer, https://huggingface.co/bioformers",
            [("WGLab", "bioformer", None)],
        ),
        # closing bracket
        (
            "(Code: https://github.com/yitu-opensource/T2T-ViT)",
            [("yitu-opensource", "T2T-ViT", None)],
        ),
        (
            "PyTorch: https://github.com/huawei-noah/Efficient-AI-Backbones).",
            [("huawei-noah", "Efficient-AI-Backbones", None)],
        ),
        # no scheme
        ("Code is available at github.com/edwardjhu/TP4.", [("edwardjhu", "TP4", None)]),
        # LaTeX: \url{...}, URL{link text}, at~, escaped underscores
        (
            "We release SequeL\\url{https://github.com/nik-dim/sequel}",
            [("nik-dim", "sequel", None)],
        ),
        (
            "code is available at https://github.com/ViTAE-Transformer/QFormer{QFormer}.",
            [("ViTAE-Transformer", "QFormer", None)],
        ),
        ("at https://github.com/A4Bio/PiFold{GitHub}.", [("A4Bio", "PiFold", None)]),
        (
            "available at~https://github.com/Med-Process/Strip_MLP{https://github.com/"
            "Med-Process/Strip\\_MLP.",
            [("Med-Process", "Strip_MLP", None)],
        ),
        (
            "available (https://github.com/pnnl/projection\\_ntk).",
            [("pnnl", "projection_ntk", None)],
        ),
        (
            "The code is available at https://github.com/OliverRensu/SG-Former{https://github.com/"
            "OliverRensu/SG-Former}",
            [("OliverRensu", "SG-Former", None)],
        ),
        # .git suffix, dotted repository name, trailing slash
        (
            "https://github.com/mit-han-lab/hardware-aware-transformers.git",
            [("mit-han-lab", "hardware-aware-transformers", None)],
        ),
        (
            "Code: https://github.com/arthurdouillard/incremental_learning.pytorch",
            [("arthurdouillard", "incremental_learning.pytorch", None)],
        ),
        (
            "https://github.com/arthurdouillard/incremental_learning.pytorch.",
            [("arthurdouillard", "incremental_learning.pytorch", None)],
        ),
        (
            "Code is publicly released at https://github.com/pytorch/fairseq/",
            [("pytorch", "fairseq", None)],
        ),
        # /tree and /blob tails go to path
        (
            "available at https://github.com/microsoft/Cream/tree/main/TinyViT.",
            [("microsoft", "Cream", "tree/main/TinyViT")],
        ),
        (
            "released at https://github.com/ekinakyurek/google-research/blob/master/incontext.",
            [("ekinakyurek", "google-research", "blob/master/incontext")],
        ),
        (
            "Our code is available at https://github.com/CLAIRE-Labo/StructuredFFN/tree/main.",
            [("CLAIRE-Labo", "StructuredFFN", "tree/main")],
        ),
        # the same URL twice is one mention
        (
            "See https://github.com/whlzy/FiT. Code: https://github.com/whlzy/FiT",
            [("whlzy", "FiT", None)],
        ),
        # not repositories
        ("We publicly release MiniMax-01 at https://github.com/MiniMax-AI.", []),
        ("Code will be released on GitHub.", []),
        ("See https://github.com/features/copilot and https://github.com/topics/llm.", []),
        ("https://github.com/-bad-/repo and https://github.com/a--b/c", []),
        ("https://github.com/orgs/acme/people, https://github.com/sponsors/someone", []),
        ("https://github.com/" + "x" * 40 + "/repo", []),
        ("https://github.com/owner/" + "r" * 101, []),
        ("https://ditto-tts.github.io.", []),
    ],
)
def test_repository_forms(text, expected):
    assert repos_in(text) == expected


def test_case_variants_of_one_url_are_one_mention():
    text = "https://github.com/NVIDIA/Megatron-LM and github.com/nvidia/megatron-lm."
    assert repos_in(text) == [("NVIDIA", "Megatron-LM", None)]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("at https://github.com/MiniMax-AI.", [("https://github.com/MiniMax-AI", "github_owner")]),
        (
            "Speech samples are available at https://ditto-tts.github.io.",
            [("https://ditto-tts.github.io", "github_pages")],
        ),
        (
            "See robotics-transformer1.github.io for videos",
            [("robotics-transformer1.github.io", "github_pages")],
        ),
        (
            "MiniPile is available at https://huggingface.co/datasets/JeanKaddour/minipile.",
            [("https://huggingface.co/datasets/JeanKaddour/minipile", "huggingface_dataset")],
        ),
        (
            "https://huggingface.co/bertin-project{URL}.",
            [("https://huggingface.co/bertin-project", "huggingface")],
        ),
        (
            "https://huggingface.co/spaces/x/y",
            [("https://huggingface.co/spaces/x/y", "huggingface_space")],
        ),
        (
            "https://huggingface.co/bigscience/bloom",
            [("https://huggingface.co/bigscience/bloom", "huggingface_model")],
        ),
        (
            "repository https://gitlab.com/desupervised/borch.",
            [("https://gitlab.com/desupervised/borch", "gitlab")],
        ),
        (
            "(MindSpore: https://gitee.com/mindspore/models, PyTorch: x)",
            [("https://gitee.com/mindspore/models", "gitee")],
        ),
        ("at https://pypi.org/project/hypertab/", [("https://pypi.org/project/hypertab/", "pypi")]),
        (
            "at https://doi.org/10.5281/zenodo.7902072.",
            [("https://doi.org/10.5281/zenodo.7902072", "doi")],
        ),
        ("https://arxiv.org/abs/2106.09685", [("https://arxiv.org/abs/2106.09685", "arxiv")]),
        (
            "A demo video can be found at https://www.youtube.com/watch?v=OtgDdWtHvto",
            [("https://www.youtube.com/watch?v=OtgDdWtHvto", "youtube")],
        ),
        ("Code is available at https://aka.ms/YOCO.", [("https://aka.ms/YOCO", "shortlink")]),
        (
            "(https://www.ethnologue.com/guides/ethnologue200),",
            [("https://www.ethnologue.com/guides/ethnologue200", "other")],
        ),
        (
            "Website: https://sites.google.com/view/mcnn-imitation",
            [("https://sites.google.com/view/mcnn-imitation", "project_page")],
        ),
        ("Not links: Stackoverflow.com, Seznam.cz, 01.AI and and/or.", []),
    ],
)
def test_other_link_kinds(text, expected):
    assert links_in(text) == expected


def test_project_page_is_recognised_by_the_paper_name_in_its_address():
    title = "Nerfstudio: A Modular Framework for Neural Radiance Field Development"
    assert links_in("open-source licensing at https://nerf.studio.", title) == [
        ("https://nerf.studio", "project_page")
    ]


def occurrences_in_seeds():
    for path, name in discover([SEEDS]).files:
        for item in DumpParser().parse(read_lines(inspect(path, name))):
            if isinstance(item, Occurrence):
                yield name, item


def test_every_repository_in_the_bundled_dumps_matches_the_read_list():
    """expected_links.json was written by reading every abstract, not by this code."""
    found, pages, owners, others = [], [], [], []
    for name, paper in occurrences_in_seeds():
        for link in extract_links(f"{paper.title} {paper.abstract}", paper.title):
            if isinstance(link, RepoMention):
                found.append((name, paper.title, link.owner, link.name, link.path))
            elif link.kind == "github_pages":
                pages.append((name, paper.title, link.url))
            elif link.kind == "github_owner":
                owners.append((name, paper.title, link.url.rsplit("/", 1)[1]))
            else:
                others.append((name, paper.title, link.url))
    expected = [
        (r["file"], r["title"], r["owner"], r["name"], r["path"]) for r in EXPECTED["repos"]
    ]
    assert found == expected
    assert pages == [(r["file"], r["title"], r["url"]) for r in EXPECTED["github_pages"]]
    assert owners == [(r["file"], r["title"], r["owner"]) for r in EXPECTED["owner_links"]]
    assert others == [(r["file"], r["title"], r["url"]) for r in EXPECTED["other_links"]]


def test_link_tables_in_the_seed_database(seed_conn):
    counts = seed_conn.execute(
        "SELECT (SELECT count(*) FROM paper_repos), (SELECT count(*) FROM repos),"
        " (SELECT count(*) FROM links WHERE kind = 'github_owner'),"
        " (SELECT count(*) FROM links WHERE kind = 'github_pages'),"
        " (SELECT count(*) FROM links)"
    ).fetchone()
    distinct = {(r["owner"].lower(), r["name"].lower()) for r in EXPECTED["repos"]}
    assert counts == (173, len(distinct), 1, 9, 39)
    assert seed_conn.execute(
        "SELECT url, full_name FROM repos WHERE full_name = 'NVIDIA/MEGATRON-LM'"
    ).fetchall() == [("https://github.com/nvidia/megatron-lm", "nvidia/megatron-lm")]
    assert seed_conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_repo_mentions_view_counts_papers_and_listings(seed_conn):
    top = seed_conn.execute(
        "SELECT full_name, papers, listings FROM repo_mentions ORDER BY papers DESC LIMIT 1"
    ).fetchone()
    assert top == ("pytorch/fairseq", 4, 1)
    (swin,) = seed_conn.execute(
        "SELECT listings FROM repo_mentions WHERE full_name = 'microsoft/Swin-Transformer'"
    ).fetchone()
    assert swin == 2


def test_papers_without_code_view(seed_conn):
    (total,) = seed_conn.execute("SELECT count(*) FROM papers_without_code").fetchone()
    (with_code,) = seed_conn.execute(
        "SELECT count(*) FROM papers WHERE id IN (SELECT paper_id FROM paper_repos)"
        " OR id IN (SELECT paper_id FROM links WHERE kind IN ('gitlab', 'gitee'))"
    ).fetchone()
    assert total + with_code == 842 and total == 672
    rows = seed_conn.execute(
        "SELECT title, other_links FROM papers_without_code WHERE title LIKE 'MiniMax-01%'"
    ).fetchall()
    assert rows == [
        (
            "MiniMax-01: Scaling Foundation Models with Lightning Attention",
            "https://github.com/MiniMax-AI",
        )
    ]


@pytest.mark.parametrize(
    "query,repo", [("fairseq", "pytorch/fairseq"), ("megatron-lm", "nvidia/megatron-lm")]
)
def test_search_for_a_repository_name_finds_papers_that_link_it(seed_db, seed_conn, query, repo):
    result = CliRunner().invoke(
        cli, ["search", query, "--db", str(seed_db), "--json", "--limit", "50"]
    )
    found = {hit["id"] for hit in json.loads(result.stdout)}
    linking = {
        pid
        for (pid,) in seed_conn.execute(
            "SELECT paper_id FROM paper_repos JOIN repos ON repos.id = repo_id WHERE full_name = ?",
            (repo,),
        )
    }
    assert linking and linking <= found


def test_repos_command(seed_db):
    runner = CliRunner()
    result = runner.invoke(cli, ["repos", "--db", str(seed_db), "--min-papers", "2", "--json"])
    rows = json.loads(result.stdout)
    assert rows[0] == {
        "full_name": "pytorch/fairseq",
        "url": "https://github.com/pytorch/fairseq",
        "papers": 4,
        "listings": 1,
    }
    assert all(row["papers"] >= 2 for row in rows) and len(rows) == 7
    text = runner.invoke(cli, ["repos", "--db", str(seed_db)])
    assert text.exit_code == 0 and len(text.stdout.splitlines()) == 164


def test_stats_shows_link_counts(seed_db):
    result = CliRunner().invoke(cli, ["stats", "--db", str(seed_db), "--json"])
    links = json.loads(result.stdout)["links"]
    assert links["repository mentions"] == 173 and links["distinct repositories"] == 164
    assert links["links: github_pages"] == 9 and links["links: shortlink"] == 9


def test_replaced_abstract_replaces_its_links(tmp_path):
    header = seed_lines("001")[:2]
    title = "A Tiny Paper About Links"
    short = "We study links. Code is at https://github.com/stale/repo."
    longer = "We study links in depth. Code is at https://github.com/fresh/repo, not elsewhere."
    a = write_dump(tmp_path, "a.txt", header + [title, short])
    b = write_dump(tmp_path, "b.txt", header + [title, longer])
    build([a, b], tmp_path / "p.db")
    conn = sqlite3.connect(tmp_path / "p.db")
    assert conn.execute("SELECT full_name FROM repos").fetchall() == [("fresh/repo",)]
    assert conn.execute("SELECT count(*) FROM paper_repos").fetchone() == (1,)


def test_repositories_sharing_a_hash_get_distinct_ids(tmp_path, monkeypatch):
    monkeypatch.setattr("paperdb.identity.stable_id", lambda key: 7)
    header = seed_lines("001")[:2]
    lines = header + [
        "First Paper About Code",
        "We study code. It is at https://github.com/alpha/one and nowhere else today.",
        "Second Paper About Code",
        "We study code too. It is at https://github.com/beta/two and also elsewhere.",
        "Third Paper About Code",
        "We reuse code. See https://github.com/ALPHA/One and https://github.com/beta/two too.",
    ]
    build([write_dump(tmp_path, "a.txt", lines)], tmp_path / "p.db")
    conn = sqlite3.connect(tmp_path / "p.db")
    assert conn.execute("SELECT id, full_name FROM repos ORDER BY id").fetchall() == [
        (7, "alpha/one"),
        (8, "beta/two"),
    ]
    mentions = conn.execute(
        "SELECT papers.title, paper_repos.repo_id FROM paper_repos"
        " JOIN papers ON papers.id = paper_repos.paper_id ORDER BY papers.title, repo_id"
    ).fetchall()
    assert mentions == [
        ("First Paper About Code", 7),
        ("Second Paper About Code", 8),
        ("Third Paper About Code", 7),
        ("Third Paper About Code", 8),
    ]


# Issue 13: a URL urlsplit cannot read (a citation glued to it, a bracket, an NFKC-changing
# character or a bad port in its host) used to raise ValueError and stop the whole build.
@pytest.mark.parametrize(
    "text,expected",
    [
        ("see https://example.org[12] for more", [("https://example.org", "other")]),
        ("mirrored at www.x.com[3].", [("www.x.com", "other")]),
        (
            "(https://arxiv.org/abs/2106.09685[4,5]).",
            [("https://arxiv.org/abs/2106.09685", "arxiv")],
        ),
        ("site https://nerf.studio[7][8], code", [("https://nerf.studio", "other")]),
        ("see https://example.org/data[2\u20133] too", [("https://example.org/data", "other")]),
    ],
)
def test_a_citation_glued_to_a_url_is_not_part_of_it(text, expected):
    assert links_in(text) == expected
    assert find_links(text)[1] == []


@pytest.mark.parametrize(
    "text",
    [
        "Code: github.com/acme/tool[3].",
        "Code: https://github.com/acme/tool[3, 4].",
        "Code (https://github.com/acme/tool[12]).",
    ],
)
def test_a_citation_glued_to_a_repository_keeps_the_repository(text):
    assert repos_in(text) == [("acme", "tool", None)]


@pytest.mark.parametrize(
    "url,reason",
    [
        ("https://exa]mple.org/x", "a bracket in its host name"),
        ("https://example.org[12]/data", "a bracket in its host name"),
        ("https://example.org[Smith", "a bracket in its host name"),
        ("www.[x.com/page", "a bracket in its host name"),
        (
            "https://ex\u2100ample.org/page",
            "its host name changes under Unicode NFKC normalization",
        ),
        ("https://example\uff0forg/x", "its host name changes under Unicode NFKC normalization"),
        ("https://example.org:99999/x", "its port is not a number from 0 to 65535"),
        ("https://example.org:abc/x", "its port is not a number from 0 to 65535"),
    ],
)
def test_a_url_that_cannot_be_read_is_skipped_and_handed_back(url, reason):
    text = f"Data at {url}, code at https://github.com/acme/tool and www.acme.org."
    links, skipped = find_links(text)
    assert [(s.as_written, s.reason) for s in skipped] == [(url, reason)]
    assert skipped_links(text) == skipped
    assert [link.url for link in links] == ["https://github.com/acme/tool", "www.acme.org"]


# Pieces that make URLs urlsplit may refuse, mixed with arbitrary text.
URL_PIECES = st.sampled_from(
    ["https://", "http://", "www.", "github.com/", "huggingface.co/", ".github.io", ".org"]
    + ["[", "]", "[12]", ":", ":99999", ":x", "@", "/", "?", "#", "\\_", "{", "}", "(", ")"]
    + [".", ",", " ", "\n", "a", "Z", "-", "7", "::1", "v1.x", "\u2100", "\uff0f", "\uff1a"]
    + ["\ufe6b", "\uff20", "\u00e9", "e\u0301", "\ud800", "\x00", "\u2028"]
)
HOSTILE_TEXT = st.lists(URL_PIECES | st.text(max_size=6), max_size=30).map("".join)


@settings(max_examples=1500, deadline=None)
@given(HOSTILE_TEXT, st.text(max_size=20))
def test_no_text_makes_link_extraction_raise(text, title):
    links, skipped = find_links(text, title)
    assert extract_links(text, title) == links
    assert skipped_links(text) == skipped
    assert all(isinstance(link, (Link, RepoMention)) for link in links)


HOSTILE_ABSTRACT = (
    "We study how links break when abstracts are copied out of PDF files. The project page"
    " is https://example.org[12] and the code is at github.com/acme/tool[3]. A mirror at"
    " https://exa]mple.org/mirror and an archive at https://ex\u2100ample.org/old cannot be"
    " read, and neither can https://example.org:99999/x. The paper itself is"
    " https://arxiv.org/abs/2106.09685, and the results hold across every setting we tried."
)
LONGER_ABSTRACT = HOSTILE_ABSTRACT + (
    " A later version adds a data card at https://data[1.example.org/card, which cannot be"
    " read either, and a demo at https://demo.example.org/app[4]."
)
CLEAN_ABSTRACT = (
    "We study links that are written well, so that every one of them can be read. The code is"
    " at https://github.com/acme/other and the data at https://huggingface.co/datasets/a/b."
    " Nothing here should produce a warning, and the build should store both links as written."
)


def link_tables(path):
    conn = sqlite3.connect(path)
    tables = ("papers", "paper_listings", "links", "repos", "paper_repos", "build_warnings")
    found = {t: sorted(conn.execute(f"SELECT * FROM {t}"), key=repr) for t in tables}
    conn.close()
    return found


def test_a_build_skips_unreadable_links_with_a_warning_in_every_mode(tmp_path):
    header = seed_lines("001")[:2]
    folder = tmp_path / "dumps"
    folder.mkdir()
    first = write_dump(folder, "a.txt", header + ["Broken Links", HOSTILE_ABSTRACT])
    db = tmp_path / "inc.db"
    build([folder], db)
    # The same paper with a longer abstract in a new dump: re-extracted by --incremental.
    second = write_dump(
        folder,
        "b.txt",
        header + ["Clean Links", CLEAN_ABSTRACT, "Broken Links", LONGER_ABSTRACT],
    )
    skipped = [
        "'https://exa]mple.org/mirror': a bracket in its host name",
        "'https://ex\u2100ample.org/old': its host name changes under Unicode NFKC normalization",
        "'https://example.org:99999/x': its port is not a number from 0 to 65535",
    ]
    warnings = [(first.name, 4, f"skipped the link {text}") for text in skipped] + [
        (second.name, 6, f"skipped the link {text}")
        for text in skipped + ["'https://data[1.example.org/card': a bracket in its host name"]
    ]
    full = build([folder], tmp_path / "full.db", workers=0)
    pooled = build([folder], tmp_path / "pooled.db", workers=2)
    updated = build([folder], db, incremental=True)
    assert updated.mode == "incremental"
    for result in (full, pooled, updated):
        found = [
            (Path(w.source).name, w.line, w.message)
            for w in result.warnings
            if w.kind == "link-skipped"
        ]
        assert sorted(found) == sorted(warnings)
    assert str(full.warnings[0]).startswith(f"{first}:4: skipped the link")
    assert (tmp_path / "pooled.db").read_bytes() == (tmp_path / "full.db").read_bytes()
    assert link_tables(db) == link_tables(tmp_path / "full.db")
    conn = sqlite3.connect(tmp_path / "full.db")
    assert sorted(conn.execute("SELECT url_as_written FROM links")) == [
        ("https://arxiv.org/abs/2106.09685",),
        ("https://demo.example.org/app",),
        ("https://example.org",),
        ("https://huggingface.co/datasets/a/b",),
    ]
    assert sorted(conn.execute("SELECT full_name FROM repos")) == [("acme/other",), ("acme/tool",)]
    assert conn.execute(
        "SELECT listings.name, line FROM build_warnings JOIN listings ON listings.id = listing_id"
        " WHERE kind = 'link-skipped' AND message LIKE '%data[1%'"
    ).fetchall() == [("b.txt", 6)]


def test_the_cli_prints_a_skipped_link_with_file_and_line(tmp_path):
    path = write_dump(tmp_path, "a.txt", seed_lines("001")[:2] + ["Broken Links", HOSTILE_ABSTRACT])
    result = CliRunner().invoke(cli, ["build", str(path), "-o", str(tmp_path / "p.db")])
    assert result.exit_code == 0, result.output
    assert f"warning: {path}:4: skipped the link 'https://exa]mple.org/mirror'" in result.stderr
