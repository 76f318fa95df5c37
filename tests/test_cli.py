"""The paperdb command and build_db.py, end to end on the bundled dumps."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import ROOT, SEEDS, seed_path

from paperdb.cli import cli


@pytest.fixture
def runner():
    return CliRunner()


def test_build_prints_summary(runner, tmp_path):
    result = runner.invoke(cli, ["build", str(SEEDS), "-o", str(tmp_path / "p.db")])
    assert result.exit_code == 0, result.output
    assert "5 files, 898 paper occurrences, 842 distinct papers, 0 warnings" in result.stdout


def test_build_without_paths_uses_bundled_dumps(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["build"])
    assert result.exit_code == 0, result.output
    assert "842 distinct papers" in result.stdout and (tmp_path / "papers.db").exists()


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
    assert "898 paper occurrences, 842 distinct papers" in done.stdout


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
