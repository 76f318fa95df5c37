"""The paperdb command and build_db.py, end to end on the bundled dumps."""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT, SEEDS, USER_SEEDS, built_from, seed_path

from paperdb.cli import cli


@pytest.fixture
def runner():
    return CliRunner()


def test_build_prints_summary(runner, tmp_path):
    result = runner.invoke(cli, ["build", str(SEEDS), "-o", str(tmp_path / "p.db")])
    assert result.exit_code == 0, result.output
    assert "5 files, 898 paper occurrences, 842 distinct papers, 0 warnings" in result.stdout


def dumps_in(folder):
    """{dump name: sha256} of the dumps a build of `folder` reads, whatever it holds."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(Path(folder).glob("*.txt"))
    }


def test_build_without_paths_uses_bundled_dumps(runner, tmp_path, monkeypatch):
    # From a checkout, outside it: the checkout's data/seeds, whatever a fork put there.
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["build"])
    assert result.exit_code == 0, result.output
    assert built_from(tmp_path / "papers.db") == dumps_in(USER_SEEDS)
    assert f"{len(dumps_in(USER_SEEDS))} files" in result.stdout


def test_build_without_paths_prefers_data_seeds_in_the_current_folder(
    runner, tmp_path, monkeypatch
):
    (tmp_path / "data" / "seeds").mkdir(parents=True)
    shutil.copy(seed_path("003"), tmp_path / "data" / "seeds")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["build"])
    assert result.exit_code == 0, result.output
    assert built_from(tmp_path / "papers.db") == dumps_in(tmp_path / "data" / "seeds")


def test_build_without_paths_and_no_dumps_anywhere_names_data_seeds(runner, tmp_path, monkeypatch):
    # No ./data/seeds, no checkout, no packaged copy (an editable install has none).
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("paperdb.cli.CHECKOUT_SEEDS", tmp_path / "gone")
    monkeypatch.setattr("paperdb.cli.packaged_seeds", lambda: None)
    result = runner.invoke(cli, ["build"])
    assert result.exit_code == 1
    assert "data/seeds: no such file or folder" in result.stderr
    assert "Traceback" not in result.output


def test_build_lists_skipped_files_and_warnings(runner, tmp_path, seeds_copy):
    (seeds_copy / "README.md").write_text("not a dump")
    lines = seed_path("003").read_text().split("\n")
    (seeds_copy / "003_b85bd54f973ea52c.txt").write_text("\n".join(lines[:-1]))
    result = runner.invoke(cli, ["build", str(seeds_copy), "-o", str(tmp_path / "p.db")])
    assert result.exit_code == 0
    assert f"skipped (not a .txt dump): {seeds_copy / 'README.md'}" in result.stderr
    assert "003_b85bd54f973ea52c.txt:39: title without abstract: Sparsing Law" in result.stderr
    assert "1 warnings" in result.stdout
    strict = runner.invoke(
        cli, ["build", str(seeds_copy), "-o", str(tmp_path / "p.db"), "--strict"]
    )
    assert strict.exit_code == 2


def test_bad_input_is_a_clean_error_with_nonzero_exit(runner, tmp_path, seeds_copy):
    (seeds_copy / "broken.txt").write_bytes(b"\x00\x01")
    result = runner.invoke(cli, ["build", str(seeds_copy), "-o", str(tmp_path / "p.db")])
    assert result.exit_code == 1
    assert "Error: 1 unusable input file(s)" in result.stderr
    assert "broken.txt: binary file" in result.stderr
    assert "Traceback" not in result.output and not (tmp_path / "p.db").exists()
    skipped = runner.invoke(
        cli, ["build", str(seeds_copy), "-o", str(tmp_path / "p.db"), "--skip-bad"]
    )
    assert skipped.exit_code == 0 and "842 distinct papers" in skipped.stdout


def test_missing_input_is_a_clean_error(runner, tmp_path):
    result = runner.invoke(cli, ["build", str(tmp_path / "nope"), "-o", str(tmp_path / "p.db")])
    assert result.exit_code == 1
    assert "nope: no such file or folder" in result.stderr


def test_search_prints_ranked_results_with_listings_and_marked_snippet(runner, seed_db):
    result = runner.invoke(cli, ["search", "mamba", "--db", str(seed_db), "--limit", "3"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("1. ") and "Mamba" in lines[0]
    assert lines[1].startswith("   in: 00")
    assert "[Mamba]" in lines[2]
    assert sum(line[:3] in {"1. ", "2. ", "3. "} for line in lines) == 3


def test_search_json(runner, seed_db):
    result = runner.invoke(cli, ["search", "linear attention", "--db", str(seed_db), "--json"])
    hits = json.loads(result.stdout)
    assert len(hits) == 10
    assert {"id", "title", "snippet", "score", "listings"} <= set(hits[0])
    scores = [hit["score"] for hit in hits]
    assert scores == sorted(scores, reverse=True)
    top = {hit["title"]: hit for hit in hits[:3]}
    assert "Linear Attention via Orthogonal Memory" in top
    gla = top["Gated Linear Attention Transformers with Hardware-Efficient Training"]
    assert "003_b85bd54f973ea52c.txt" in gla["listings"]
    assert "[linear] [attention]" in gla["snippet"].lower()


@pytest.mark.parametrize(
    "query", ["state-of-the-art", 'c++ "unbalanced', "NEAR AND OR NOT", "(x: y)", "", "***"]
)
def test_search_never_errors_on_typed_text(runner, seed_db, query):
    result = runner.invoke(cli, ["search", query, "--db", str(seed_db), "--json"])
    assert result.exit_code == 0, result.output
    assert isinstance(json.loads(result.stdout), list)


def test_search_without_database_is_a_clean_error(runner, tmp_path):
    result = runner.invoke(cli, ["search", "x", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 1 and "no such database" in result.stderr


def test_newer_schema_is_refused_clearly(runner, tmp_path):
    import sqlite3

    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE papers (id INTEGER PRIMARY KEY)")
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    result = runner.invoke(cli, ["stats", "--db", str(path)])
    assert result.exit_code == 1 and "schema version 999 is newer" in result.stderr


def test_stats(runner, seed_db):
    result = runner.invoke(cli, ["stats", "--db", str(seed_db)])
    assert result.exit_code == 0
    assert "papers                842" in result.stdout
    assert "003_b85bd54f973ea52c.txt" in result.stdout and "Mar 14" in result.stdout
    data = json.loads(runner.invoke(cli, ["stats", "--db", str(seed_db), "--json"]).stdout)
    assert data["tables"]["paper_listings"] == 898
    assert [row["papers"] for row in data["listings"]] == [22, 342, 235, 8, 291]


def test_build_db_script_builds_from_bundled_dumps(tmp_path):
    output = tmp_path / "papers.db"
    done = subprocess.run(
        [sys.executable, str(ROOT / "build_db.py"), "-o", str(output)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert built_from(output) == dumps_in(USER_SEEDS)


def test_check_command(runner, seed_db, tmp_path):
    ok = runner.invoke(cli, ["check", str(seed_db)])
    assert ok.exit_code == 0 and ok.stdout.strip() == f"{seed_db}: ok"
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(seed_db.read_bytes())
    import sqlite3

    conn = sqlite3.connect(damaged)
    conn.execute("UPDATE build_info SET value = '841' WHERE key = 'papers'")
    conn.commit()
    conn.close()
    bad = runner.invoke(cli, ["check", str(damaged)])
    assert bad.exit_code == 1
    assert "problem: papers: build_info says 841 rows, table has 842" in bad.stderr
    missing = runner.invoke(cli, ["check", str(tmp_path / "none.db")])
    assert missing.exit_code == 1 and "no such database file" in missing.stderr


def test_progress_is_silent_without_a_terminal_and_with_quiet(runner, tmp_path):
    result = runner.invoke(cli, ["build", str(SEEDS), "-o", str(tmp_path / "p.db")])
    assert "\r" not in result.stderr
    quiet = runner.invoke(cli, ["build", str(SEEDS), "-o", str(tmp_path / "p.db"), "-q"])
    assert quiet.exit_code == 0 and quiet.output == ""


def test_progress_line_on_a_terminal(monkeypatch, capsys):
    from paperdb.cli import ProgressLine

    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    monkeypatch.setattr(ProgressLine, "SHOW_AFTER", 0.0)
    progress = ProgressLine(enabled=True)
    progress("reading 001.txt (2/5 files)")
    progress.close()
    err = capsys.readouterr().err
    assert "\rreading" not in err and "] reading 001.txt (2/5 files)" in err
    assert err.endswith("\r")
    assert ProgressLine(enabled=False).enabled is False


# --- hostile databases, numbers, environments and text ---------------------------------------

DAMAGES = {
    "dropped-table": lambda conn, path: conn.executescript(
        "DROP TABLE papers_fts; DROP VIEW topic_counts; DROP TABLE links; DROP VIEW repo_mentions;"
    ),
    "truncated-file": lambda conn, path: os.truncate(path, os.path.getsize(path) // 3),
}


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize(
    "command", [["search", "mamba"], ["stats"], ["topics"], ["repos"]], ids=lambda c: c[0]
)
def test_a_damaged_database_is_a_clean_error(runner, seed_db, tmp_path, damage, command):
    damaged = tmp_path / "damaged.db"
    shutil.copy(seed_db, damaged)
    conn = sqlite3.connect(damaged)
    DAMAGES[damage](conn, damaged)
    conn.close()
    result = runner.invoke(cli, [*command, "--db", str(damaged)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # not a traceback
    assert f"Error: {damaged}: " in result.output
    assert "damaged" in result.output or "malformed" in result.output


@pytest.mark.parametrize("option", [["search", "mamba", "--limit"], ["repos", "--min-papers"]])
def test_numbers_beyond_sqlite_integers_mean_no_limit(runner, seed_db, option):
    result = runner.invoke(cli, [*option, str(2**64), "--db", str(seed_db)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("epoch", ["1" + "0" * 20, "²", "-5", "12.5", "soon", "253402300800"])
def test_unusable_source_date_epoch_is_a_clean_error(runner, tmp_path, monkeypatch, epoch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    output = tmp_path / "p.db"
    result = runner.invoke(cli, ["build", str(seed_path("003")), "-o", str(output)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "SOURCE_DATE_EPOCH=" in result.output and "is not a Unix time" in result.output
    assert not output.exists()


def test_latest_source_date_epoch_is_written(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "253402300799")
    output = tmp_path / "p.db"
    assert runner.invoke(cli, ["build", str(seed_path("003")), "-o", str(output)]).exit_code == 0
    conn = sqlite3.connect(output)
    assert conn.execute("SELECT value FROM build_info WHERE key = 'built_at'").fetchone() == (
        "9999-12-31T23:59:59Z",
    )


HOSTILE = "\x1b]0;pwned\x07Evil \x1b[2J\u202eTitle\x9b31m"


def test_control_characters_in_titles_and_names_are_printed_escaped(runner, tmp_path):
    folder = tmp_path / "dumps"
    folder.mkdir()
    lines = seed_path("003").read_text().split("\n")
    assert lines[10].startswith("Gated Linear Attention")  # the first title
    lines[10] = f"Gated {HOSTILE} Attention"
    lines.append(f"Lonely {HOSTILE} title with no abstract")
    (folder / "evil\x1b[31m.txt").write_text("\n".join(lines))
    db = tmp_path / "p.db"
    outputs = [runner.invoke(cli, ["build", str(folder), "-o", str(db)])]
    outputs.append(runner.invoke(cli, ["search", "gated pwned", "--db", str(db)]))
    outputs.append(runner.invoke(cli, ["search", "gated pwned", "--json", "--db", str(db)]))
    outputs.append(runner.invoke(cli, ["stats", "--db", str(db)]))
    outputs.append(runner.invoke(cli, ["stats", "--json", "--db", str(db)]))
    for result in outputs:
        assert result.exit_code == 0, result.output
        for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
            assert raw not in result.output
    assert "evil\\x1b[31m.txt" in outputs[0].output  # the warning's file name
    assert "Lonely \\x1b]0;pwned\\x07Evil \\x1b[2J\\u202eTitle\\x9b31m" in outputs[0].output
    assert "\\x1b]0;pwned" in outputs[1].output
    hits = json.loads(outputs[2].stdout)
    assert HOSTILE in hits[0]["title"]  # JSON escapes it, and gives it back exactly
    conn = sqlite3.connect(db)  # stored as written
    assert conn.execute("SELECT count(*) FROM papers WHERE instr(title, ?)", [HOSTILE]).fetchone()


CTRL_C_WHILE_IMPORTING = """
import builtins, os, signal, sys
real_import = builtins.__import__
def import_then_ctrl_c(name, *args, **kwargs):
    if name == "click":  # imported by paperdb.cli, a few ms into the quarter second it takes
        os.kill(os.getpid(), signal.SIGINT)
    return real_import(name, *args, **kwargs)
builtins.__import__ = import_then_ctrl_c
sys.argv = ["paperdb", "build", sys.argv[1], "-o", sys.argv[2]]
from paperdb.console import main
main()
"""


def test_ctrl_c_while_the_command_is_still_importing_is_clean(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", CTRL_C_WHILE_IMPORTING, seed_path("003"), tmp_path / "p.db"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr == "Aborted!\n"
    assert list(tmp_path.iterdir()) == []


def test_the_console_script_is_the_guarded_entry_point():
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"paperdb": "paperdb.console:main"}


@pytest.mark.parametrize(
    "command", ["build", "search", "stats", "repos", "topics", "check", "serve"]
)
def test_dash_h_is_help_everywhere(runner, command):
    result = runner.invoke(cli, [command, "-h"])
    assert result.exit_code == 0 and result.output.startswith(f"Usage: cli {command}")


def test_check_takes_the_database_as_every_command_does(runner, seed_db):
    assert runner.invoke(cli, ["check", "--db", str(seed_db)]).exit_code == 0
    assert runner.invoke(cli, ["check", str(seed_db)]).exit_code == 0  # as before


def test_stats_counts_every_table_a_build_counts(runner, seed_db):
    """The table list is the file's own (check.counted_tables), not a copy that can fall behind."""
    from paperdb.check import counted_tables

    data = json.loads(runner.invoke(cli, ["stats", "--db", str(seed_db), "--json"]).stdout)
    conn = sqlite3.connect(seed_db)
    assert sorted(data["tables"]) == sorted(counted_tables(conn))
    assert (
        data["tables"]["related_papers"]
        == conn.execute("SELECT count(*) FROM related_papers").fetchone()[0]
    )
    assert list(data["tables"])[:3] == ["papers", "listings", "paper_listings"]
