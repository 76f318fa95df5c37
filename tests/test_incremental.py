"""`paperdb build --incremental`: the updated file has the same content as a full build."""

import hashlib
import os
import re
import shutil
import sqlite3

import pytest
from click.testing import CliRunner
from conftest import SEED_NAMES

import paperdb.build as paperdb_build
from paperdb.build import build
from paperdb.check import check_database
from paperdb.cli import cli
from paperdb.incremental import Update
from paperdb.overview import store_overview
from paperdb.parser import DumpParser, Occurrence
from paperdb.reader import inspect, read_lines
from paperdb.search import search

QUERIES = [
    "mamba",
    "mixture of experts",
    "MoE",
    "diffusion models",
    "vision transformer",
    "fairseq",
    "zorblax",
    "quantum tensor",
    "LLM",
    "state space",
]


def content(path):
    """Every row of every table, and the full-text index term by term, order-free."""
    conn = sqlite3.connect(path)
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'papers_fts%'"
        )
    ]
    found = {name: sorted(conn.execute(f"SELECT * FROM {name}"), key=repr) for name in tables}
    conn.execute("CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, papers_fts, 'instance')")
    found["papers_fts terms"] = sorted(conn.execute("SELECT * FROM temp.terms"))
    conn.close()
    return found


def ranked(path):
    """What `paperdb search` returns for each query, scores included."""
    from paperdb.database import open_database

    db = open_database(path)
    return {
        query: [(hit.id, round(hit.score, 9), hit.snippet) for hit in search(db, query, limit=20)]
        for query in QUERIES
    }


# The dumps' files (names and bytes) -> (content(), ranked()) of a full build of them.
_FULL_BUILDS = {}


def assert_same_as_full_build(updated, folder, tmp_path, reuse=True):
    """The updated file holds what a full build of `folder` holds, and is healthy.

    A full build of the same dumps is made once per session and reused (`reuse`): its file
    depends on the dumps only (test_build checks it), and many tests end with the same
    dumps (one removed, none changed). A test that changes how builds work passes False."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(folder)}\0".encode() + path.read_bytes())
    expected = _FULL_BUILDS.get(digest.hexdigest()) if reuse else None
    if expected is None:
        full = tmp_path / "full.db"
        build([folder], full)
        expected = (content(full), ranked(full))
        if reuse:
            _FULL_BUILDS[digest.hexdigest()] = expected
    left, right = content(updated), expected[0]
    assert left.keys() == right.keys()
    for table in left:
        assert left[table] == right[table], table
    assert ranked(updated) == expected[1]
    assert check_database(updated) == []


def occurrences(path):
    """The paper occurrences of a dump file, as the parser sees them."""
    dump = inspect(path, path.name)
    return [item for item in DumpParser().parse(read_lines(dump)) if isinstance(item, Occurrence)]


def edit(path, *, drop=(), replace=None, append=()):
    """Rewrite a dump: drop the lines of some occurrences, change lines, add lines at the end."""
    lines = path.read_text(encoding="utf-8").split("\n")
    for occurrence in drop:
        lines[occurrence.title_line - 1] = None
        lines[occurrence.abstract_line - 1] = None
    for number, text in (replace or {}).items():
        lines[number - 1] = text
    kept = [line for line in lines if line is not None] + list(append)
    path.write_text("\n".join(kept), encoding="utf-8")


@pytest.fixture
def start(tmp_path, seeds_copy, seed_db):
    """(a writable copy of the bundled dumps, a database built in full from them).

    The database is a copy of the session's build of the same dumps: a build's file does
    not depend on the folder it read (byte-identical, test_build checks it), and building
    again for each of these tests cost about 20 s of the suite."""
    db = tmp_path / "papers.db"
    shutil.copyfile(seed_db, db)
    return seeds_copy, db


def update(folder, db):
    result = build([folder], db, incremental=True)
    assert result.mode == "incremental", result.reason
    return result


def dump(folder, prefix):
    (path,) = [folder / name for name in SEED_NAMES if name.startswith(prefix)]
    return path


def shared_papers(db):
    """Titles of papers listed in more than one dump, with the listings' names."""
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT papers.title, group_concat(listings.name) FROM papers"
        " JOIN paper_listings ON paper_listings.paper_id = papers.id"
        " JOIN listings ON listings.id = paper_listings.listing_id"
        " GROUP BY papers.id HAVING count(*) > 1 ORDER BY papers.id"
    ).fetchall()
    conn.close()
    return rows


NEW_PAPERS = [
    "Zorblax: Quantum Tensor Routing for Sparse Models",
    "We introduce zorblax quantum tensor (ZQT), a routing scheme for mixture of experts "
    "models. ZQT keeps every expert busy and cuts the communication of a training step by "
    "half on 64 accelerators. Code is at https://github.com/Example-Org/Zorblax-Code.",
    "Routing Without Tears: ZQT at Scale",
    "We scale ZQT to a thousand experts and show that a state space model router trained "
    "with a diffusion objective matches dense transformers. We release weights at "
    "https://huggingface.co/example/zqt and code at github.com/example-org/zorblax-code.",
]


def test_changed_dump_gives_the_same_content_as_a_full_build(start, tmp_path):
    folder, db = start
    path = dump(folder, "002")
    found = occurrences(path)
    shared = {title for title, _ in shared_papers(db)}
    only_here = [o for o in found if o.title not in shared][:3]
    in_others = [o for o in found if o.title in shared]
    longer = in_others[0]
    edit(
        path,
        drop=[*only_here, in_others[1]],
        replace={longer.abstract_line: longer.abstract + " We also release an extended version."},
        append=NEW_PAPERS,
    )
    result = update(folder, db)
    assert result.reason == f"1 changed, 0 new, 0 removed, {len(SEED_NAMES) - 1} unchanged dumps"
    assert any(w.kind == "abstract-conflict" for w in result.warnings)
    assert_same_as_full_build(db, folder, tmp_path)


def test_new_dump_first_in_name_order_renumbers_listings(start, tmp_path):
    folder, db = start
    (title, _), *_ = shared_papers(db)
    source = occurrences(dump(folder, "003"))
    other = source[5]
    lines = [
        title.upper(),  # the same paper, spelled otherwise: its first listing now spells it
        next(o for o in occurrences(dump(folder, "001")) if o.title == title).abstract,
        other.title,
        other.abstract[: len(other.abstract) // 2] + ".",  # shorter: a conflict, not kept
        *NEW_PAPERS,
    ]
    (folder / "0000_first.txt").write_text("\n".join(lines), encoding="utf-8")
    result = update(folder, db)
    assert result.reason == f"0 changed, 1 new, 0 removed, {len(SEED_NAMES)} unchanged dumps"
    assert_same_as_full_build(db, folder, tmp_path)
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT id FROM listings WHERE name = '0000_first.txt'").fetchone() == (1,)


def test_removed_dump(start, tmp_path):
    folder, db = start
    dump(folder, "001").unlink()
    update(folder, db)
    assert_same_as_full_build(db, folder, tmp_path)


def test_removing_the_dump_with_the_kept_abstract_falls_back_to_the_other(start, tmp_path):
    folder, db = start
    (title, names), *_ = [row for row in shared_papers(db) if "004" not in row[1]]
    first, second = sorted(names.split(","))[:2]
    path = folder / first
    occurrence = next(o for o in occurrences(path) if o.title == title)
    edit(path, replace={occurrence.abstract_line: occurrence.abstract + " A longer abstract."})
    build([folder], db)  # the full build keeps this dump's longer abstract
    path.unlink()
    update(folder, db)
    assert_same_as_full_build(db, folder, tmp_path)
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM build_warnings").fetchone() == (0,)


def test_a_short_form_that_changes_meaning_changes_other_papers_aliases(start, tmp_path):
    folder, db = start
    conn = sqlite3.connect(db)
    short, long_form, old_aliases = conn.execute(
        "SELECT acronyms.short, acronyms.long, count(*) FROM acronyms"
        " JOIN papers ON instr(papers.aliases, acronyms.long) > 0"
        " WHERE acronyms.used_for_search = 1 AND acronyms.papers = 1"
        " AND (SELECT count(*) FROM acronyms AS other WHERE other.short = acronyms.short) = 1"
        " AND length(acronyms.short) = 3 AND acronyms.short GLOB '[A-Z][A-Z][A-Z]'"
        " GROUP BY acronyms.short ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    conn.close()
    assert old_aliases >= 1
    a, b, c = short.lower()
    redefined = f"{a}arnacle {b}ellows {c}ircuit"
    text = f"We define {redefined} ({short}) for the first time here, a {redefined} at scale."
    (folder / "005_more.txt").write_text(
        "\n".join(["Barnacles One: a First Study", text, "Barnacles Two: a Second Study", text]),
        encoding="utf-8",
    )
    update(folder, db)
    conn = sqlite3.connect(db)
    assert conn.execute(
        "SELECT long FROM acronyms WHERE short = ? AND used_for_search = 1", (short,)
    ).fetchone() == (redefined,)
    assert conn.execute(
        "SELECT count(*) FROM papers WHERE instr(aliases, ?) > 0", (long_form,)
    ).fetchone() < (old_aliases,)
    conn.close()
    assert_same_as_full_build(db, folder, tmp_path)


def test_several_updates_in_a_row(start, tmp_path):
    folder, db = start
    moved = tmp_path / "aside.txt"
    shutil.move(dump(folder, "004"), moved)
    update(folder, db)
    (folder / "006_new.txt").write_text("\n".join(NEW_PAPERS), encoding="utf-8")
    update(folder, db)
    shutil.move(moved, folder / moved.name)
    update(folder, db)
    assert_same_as_full_build(db, folder, tmp_path)


def test_nothing_changed_leaves_the_file_alone(start):
    folder, db = start
    before = (db.read_bytes(), os.stat(db).st_mtime_ns)
    result = build([folder], db, incremental=True)
    assert (result.mode, result.papers, result.occurrences) == ("unchanged", 842, 898)
    assert (db.read_bytes(), os.stat(db).st_mtime_ns) == before


@pytest.mark.parametrize(
    "setup, reason",
    [
        (lambda db: db.unlink(), "no {db} to update yet"),
        (
            lambda db: (
                sqlite3.connect(db)
                .execute("UPDATE topics SET name = 'x' WHERE id = 1")
                .connection.commit()
            ),
            "{db} was built with another topic taxonomy",
        ),
        (
            lambda db: (
                sqlite3.connect(db)
                .execute("UPDATE build_info SET value = '0.0.1' WHERE key = 'tool_version'")
                .connection.commit()
            ),
            "{db} was built by paperdb 0.0.1, this is",
        ),
    ],
    ids=["no-database", "other-taxonomy", "other-version"],
)
def test_falls_back_to_a_full_build_and_says_why(start, tmp_path, setup, reason):
    folder, db = start
    setup(db)
    dump(folder, "003").unlink()
    result = build([folder], db, incremental=True)
    assert result.mode == "full"
    assert result.reason.startswith(reason.format(db=db))
    assert_same_as_full_build(db, folder, tmp_path)


def test_a_failed_update_leaves_the_old_file(start, monkeypatch):
    folder, db = start
    before = db.read_bytes()
    dump(folder, "003").unlink()

    def fail(self):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Update, "run", fail)
    with pytest.raises(Exception, match="No space left on device"):
        build([folder], db, incremental=True)
    assert db.read_bytes() == before
    assert sorted(p.name for p in db.parent.iterdir() if p.name.startswith(".")) == []


def test_cli_says_what_it_did(start):
    folder, db = start
    runner = CliRunner()
    unchanged = runner.invoke(cli, ["build", "--incremental", str(folder), "-o", str(db)])
    assert unchanged.exit_code == 0, unchanged.output
    assert "up to date: no dump changed" in unchanged.stderr
    dump(folder, "000").unlink()
    updated = runner.invoke(cli, ["build", "--incremental", str(folder), "-o", str(db)])
    assert updated.exit_code == 0, updated.output
    assert "updated: 0 changed, 0 new, 1 removed, 4 unchanged dumps" in updated.stderr
    assert "876 paper occurrences" in updated.stdout


def test_a_new_title_sharing_an_existing_id_hash_builds_in_full(start, tmp_path, monkeypatch):
    """Which of two colliding titles keeps the hashed id depends on input order."""
    import paperdb.identity
    import paperdb.incremental

    folder, db = start
    (taken,) = sqlite3.connect(db).execute("SELECT min(id) FROM papers").fetchone()
    real = paperdb.identity.stable_id

    def colliding(key):
        return taken if key.startswith("zorblax") else real(key)

    monkeypatch.setattr(paperdb.identity, "stable_id", colliding)
    monkeypatch.setattr(paperdb.incremental, "stable_id", colliding)
    (folder / "0000_first.txt").write_text("\n".join(NEW_PAPERS[:2]), encoding="utf-8")
    result = build([folder], db, incremental=True)
    assert (result.mode, result.reason) == (
        "full",
        "two paper titles share an id hash (a full build orders them)",
    )
    assert_same_as_full_build(db, folder, tmp_path, reuse=False)  # stable_id is patched
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT title FROM papers WHERE id = ?", (taken,)).fetchone() == (
        NEW_PAPERS[0],
    )


def test_a_new_repository_sharing_an_existing_id_hash_builds_in_full(start, tmp_path, monkeypatch):
    """Which of two colliding repository names keeps the hashed id depends on input order."""
    import paperdb.identity
    import paperdb.incremental

    folder, db = start
    (taken,) = sqlite3.connect(db).execute("SELECT min(id) FROM repos").fetchone()
    real = paperdb.identity.stable_id

    def colliding(key):
        return taken if key == "zorblax-org/zorblax-repo" else real(key)

    monkeypatch.setattr(paperdb.identity, "stable_id", colliding)
    monkeypatch.setattr(paperdb.incremental, "stable_id", colliding)
    paper = [
        "Zorblax Repositories Collide",
        "We study colliding hashes. Code is at https://github.com/zorblax-org/zorblax-repo.",
    ]
    (folder / "9999_last.txt").write_text("\n".join(paper), encoding="utf-8")
    result = build([folder], db, incremental=True)
    assert (result.mode, result.reason) == ("full", "two repository names share an id hash")
    assert_same_as_full_build(db, folder, tmp_path, reuse=False)  # stable_id is patched
    conn = sqlite3.connect(db)
    assert conn.execute(
        "SELECT id FROM repos WHERE full_name = 'zorblax-org/zorblax-repo'"
    ).fetchone() == (taken + 1,)


def test_the_update_composes_the_fold_instead_of_subclassing_it():
    """One fold rule: the update replays stored occurrences through papers.merge, and uses
    the extractor as it is, rather than overriding private methods of either."""
    import paperdb.incremental
    from paperdb.facts import FactWriter
    from paperdb.papers import StreamingFold

    classes = [c for c in vars(paperdb.incremental).values() if isinstance(c, type)]
    assert not [
        c
        for c in classes
        if c not in (StreamingFold, FactWriter) and issubclass(c, (StreamingFold, FactWriter))
    ]
    assert paperdb.incremental.fold is paperdb.papers.fold


# --- a damaged base, and a base replaced while an update runs ----------------------------------

MIN_TOPIC = "(SELECT min(topic_id) FROM paper_topics)"
BASE_DAMAGES = {
    "paper_topics-rows-deleted": (
        [f"DELETE FROM paper_topics WHERE topic_id = {MIN_TOPIC}"],
        "paper_topics: build_info says",
    ),
    "acronyms-dropped": (["DROP TABLE acronyms"], "schema: table acronyms is missing"),
    "links-dropped": (["DROP TABLE links"], "schema: table links is missing"),
    "fts-corrupted": (
        ["DELETE FROM papers_fts_data WHERE id > 10"],
        "papers_fts: full-text index is damaged",
    ),
    "warnings-count-wrong": (
        ["UPDATE build_info SET value = '7' WHERE key = 'warnings'"],
        "build_warnings: build_info warnings says 7 rows, table has 0",
    ),
}


def damage(db, statements):
    conn = sqlite3.connect(db)
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()


@pytest.mark.parametrize("changed", [True, False], ids=["dump-changed", "nothing-changed"])
@pytest.mark.parametrize(("statements", "found"), BASE_DAMAGES.values(), ids=BASE_DAMAGES.keys())
def test_a_damaged_base_is_rebuilt_in_full(start, tmp_path, statements, found, changed):
    folder, db = start
    damage(db, statements)
    if changed:
        dump(folder, "003").unlink()
    result = build([folder], db, incremental=True)
    assert result.mode == "full"
    assert result.reason.startswith(f"{db} is damaged: {found}"), result.reason
    assert_same_as_full_build(db, folder, tmp_path)


def test_cli_rebuilds_a_base_with_a_missing_table_and_says_why(start):
    folder, db = start
    damage(db, ["DROP TABLE paper_topics"])
    dump(folder, "000").unlink()
    runner = CliRunner()
    done = runner.invoke(cli, ["build", "--incremental", str(folder), "-o", str(db)])
    assert done.exit_code == 0, done.output
    assert f"full build: {db} is damaged: schema: table paper_topics is missing" in done.stderr
    assert "database error" not in done.output
    assert check_database(db) == []


def test_damage_only_a_full_check_sees_is_found_while_updating(start, tmp_path):
    folder, db = start
    # A torn page of an index the quick checks do not read: the update itself meets it.
    conn = sqlite3.connect(db)
    (page,) = conn.execute("PRAGMA page_size").fetchone()
    (root,) = conn.execute(
        "SELECT rootpage FROM sqlite_master WHERE name = 'paper_listings_paper_id'"
    ).fetchone()
    conn.close()
    data = bytearray(db.read_bytes())
    data[(root - 1) * page + 8 : root * page] = b"\x55" * (page - 8)
    db.write_bytes(bytes(data))
    dump(folder, "003").unlink()
    result = build([folder], db, incremental=True)
    assert result.mode == "full"
    assert result.reason.startswith(f"{db} is damaged:") and "malformed" in result.reason
    assert_same_as_full_build(db, folder, tmp_path)


def test_the_update_is_planned_from_the_copy_it_changes(start, tmp_path, monkeypatch):
    """Another build replaces the output after it was first read: the copy decides."""
    import paperdb.writer

    folder, db = start
    other_folder = tmp_path / "other"
    shutil.copytree(folder, other_folder)
    dump(other_folder, "001").unlink()
    other = tmp_path / "other.db"
    build([other_folder], other)
    dump(folder, "003").unlink()
    copyfile = shutil.copyfile

    def replaced_first(source, target):
        if other.exists():
            os.replace(other, source)
        return copyfile(source, target)

    monkeypatch.setattr(paperdb.writer.shutil, "copyfile", replaced_first)
    result = update(folder, db)
    assert not other.exists()
    assert result.reason == f"0 changed, 1 new, 1 removed, {len(SEED_NAMES) - 2} unchanged dumps"


@pytest.mark.parametrize("where", ["longer-in-first", "shorter-in-last", "longer-in-new-first"])
def test_an_abstract_conflict_from_an_update_names_both_places_as_a_full_build(
    start, tmp_path, where
):
    folder, db = start
    title, names = next(row for row in shared_papers(db) if len(row[0]) > 50)
    first, *_, last = sorted(names.split(","))
    found = {
        name: next(o for o in occurrences(folder / name) if o.title == title)
        for name in (first, last)
    }
    abstract = found[first].abstract
    if where == "longer-in-first":
        edit(folder / first, replace={found[first].abstract_line: abstract + " And more."})
        kept_at, other = f"{first}:{found[first].abstract_line}", (last, found[last].abstract_line)
    elif where == "shorter-in-last":
        edit(folder / last, replace={found[last].abstract_line: abstract[:-1]})
        kept_at, other = f"{first}:{found[first].abstract_line}", (last, found[last].abstract_line)
    else:
        (folder / "0000_first.txt").write_text(f"{title}\n{abstract} And more.", encoding="utf-8")
        kept_at, other = "0000_first.txt:2", (first, found[first].abstract_line)
    result = update(folder, db)
    printed = [str(w) for w in result.warnings if w.kind == "abstract-conflict"]
    other_name, other_line = other
    said = next(
        text for text in printed if text.split(": ", 1)[0].endswith(f"{other_name}:{other_line}")
    )
    assert f'abstract of "{title}" differs: kept {kept_at} (' in said
    assert f"other {other_name}:{other_line} (" in said
    stored = (
        sqlite3.connect(db)
        .execute("SELECT message FROM build_warnings WHERE kind = 'abstract-conflict'")
        .fetchall()
    )
    assert said.split(": ", 1)[1] in [message for (message,) in stored]
    assert_same_as_full_build(db, folder, tmp_path)


def related_ranked(said):
    """(papers whose related papers were ranked, papers) from an update's progress."""
    (numbers,) = [
        re.fullmatch(r"finding related papers of ([\d,]+) of ([\d,]+) papers", message)
        for message in said
        if message.startswith("finding related papers of ")
    ]
    return tuple(int(number.replace(",", "")) for number in numbers.groups())


def lengthen_an_abstract(folder, db):
    path = dump(folder, "003")
    found = occurrences(path)[7]
    edit(path, replace={found.abstract_line: found.abstract + " We add a zorblax router."})


def give_a_paper_a_topic(folder, db):
    """A paper many lists name gains a topic through common words only: its distinctive
    words, and the papers holding them, stay the same, but their scores for it do not."""
    conn = sqlite3.connect(db)
    (title,) = conn.execute(
        "SELECT papers.title FROM related_papers JOIN papers ON papers.id = related_id"
        " WHERE papers.abstract NOT LIKE '%transformer%' AND papers.title NOT LIKE '%transformer%'"
        " AND papers.listing_count = 1 GROUP BY papers.id ORDER BY count(*) DESC, papers.id"
        " LIMIT 1"
    ).fetchone()
    conn.close()
    for name in SEED_NAMES:
        found = [o for o in occurrences(folder / name) if o.title == title]
        if found:
            more = found[0].abstract + " Transformers. A transformer, and transformers."
            edit(folder / name, replace={found[0].abstract_line: more})


def add_a_dump(folder, db):
    (folder / "006_new.txt").write_text("\n".join(NEW_PAPERS), encoding="utf-8")


def remove_a_dump(folder, db):
    add_a_dump(folder, db)
    update(folder, db)
    (folder / "006_new.txt").unlink()


def redefine_a_short_form(folder, db):
    """The short form in the most papers' aliases gets another long form: their aliases
    change, and with them the index rows of papers no dump changed."""
    conn = sqlite3.connect(db)
    (short,) = conn.execute(
        "SELECT acronyms.short FROM acronyms JOIN papers ON instr(papers.aliases, acronyms.long)"
        " WHERE acronyms.used_for_search = 1 AND acronyms.papers = 1"
        " AND acronyms.short GLOB '[A-Z][A-Z][A-Z]'"
        " GROUP BY acronyms.short ORDER BY count(*) DESC, acronyms.short LIMIT 1"
    ).fetchone()
    conn.close()
    a, b, c = short.lower()
    long_form = f"{a}arnacle {b}ellows {c}ircuit"
    lines = []
    for n in ("One", "Two", "Three", "Four"):
        lines += [f"Barnacles {n}: a Study", f"Study {n} defines {long_form} ({short}) anew."]
    (folder / "005_more.txt").write_text("\n".join(lines), encoding="utf-8")


def share_a_repository(folder, db):
    edit(
        dump(folder, "004"),
        append=[
            "Shifted Windows for Satellite Images",
            "We adapt shifted windows to Landsat imagery, building on "
            "https://github.com/microsoft/Swin-Transformer and github.com/microsoft/torchgeo.",
        ],
    )


@pytest.mark.parametrize(
    "change",
    [
        lengthen_an_abstract,
        give_a_paper_a_topic,
        add_a_dump,
        remove_a_dump,
        redefine_a_short_form,
        share_a_repository,
    ],
)
def test_an_update_ranks_related_papers_again_only_where_they_can_change(start, tmp_path, change):
    folder, db = start
    change(folder, db)
    said = []
    result = build([folder], db, incremental=True, on_progress=said.append)
    assert result.mode == "incremental", result.reason
    ranked, papers = related_ranked(said)
    assert 0 < ranked < papers // 2
    assert_same_as_full_build(db, folder, tmp_path)


@pytest.mark.parametrize("change", [lengthen_an_abstract, add_a_dump, remove_a_dump])
def test_an_update_recomputes_the_overview_columns_of_the_papers_it_replayed_only(
    start, tmp_path, change, monkeypatch
):
    """Recomputing every paper's topics, listings and has_code took 5.8 s at 1M papers; the
    papers an update replays are the only ones whose columns can change."""
    folder, db = start
    change(folder, db)
    recomputed = []

    def spy(writer, paper_ids=None):
        recomputed.append(paper_ids)
        store_overview(writer, paper_ids)

    monkeypatch.setattr(paperdb_build, "store_overview", spy)
    assert build([folder], db, incremental=True).mode == "incremental"
    (paper_ids,) = recomputed
    (papers,) = sqlite3.connect(db).execute("SELECT count(*) FROM papers").fetchone()
    assert paper_ids is not None and 0 < len(paper_ids) < papers // 2
    assert_same_as_full_build(db, folder, tmp_path)
