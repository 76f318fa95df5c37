"""What a build may replace at its output path, and the journals it settles first."""

import fcntl
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner
from conftest import scalar, seed_path

from paperdb.check import check_database
from paperdb.cli import cli

DUMP = seed_path("003")  # 8 papers: quick to build


def run_build(*args):
    return CliRunner().invoke(cli, ["build", *map(str, args)])


def papers_in(path):
    return scalar(path, "SELECT count(*) FROM papers")


@pytest.fixture
def built(tmp_path):
    """A paperdb database at tmp_path/papers.db."""
    output = tmp_path / "papers.db"
    assert run_build(DUMP, "-o", output).exit_code == 0
    return output


def foreign_db(path):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE c (x)")
    conn.execute("INSERT INTO c VALUES ('mine')")
    conn.commit()
    conn.close()
    return path.read_bytes()


@pytest.mark.parametrize("incremental", [[], ["--incremental"]], ids=["full", "incremental"])
def test_another_programs_database_is_refused_unless_forced(tmp_path, incremental):
    output = tmp_path / "data.db"
    before = foreign_db(output)
    result = run_build(DUMP, "-o", output, *incremental)
    assert result.exit_code == 1
    assert "another program's SQLite database (tables: c)" in result.output
    assert "--force" in result.output and "Traceback" not in result.output
    assert output.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["data.db"]  # no temporary file left
    forced = run_build(DUMP, "-o", output, "--force", *incremental)
    assert forced.exit_code == 0, forced.output
    assert papers_in(output) == 8


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "forced"])
@pytest.mark.parametrize(
    "content, what",
    [
        (b"my notes\nabout papers\n", "a text file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a file of another kind"),
    ],
    ids=["text", "binary"],
)
def test_a_file_that_is_not_a_database_is_never_replaced(tmp_path, content, what, force):
    output = tmp_path / "notes.db"
    output.write_bytes(content)
    result = run_build(DUMP, "-o", output, *force)
    assert result.exit_code == 1
    assert f"{output}: is {what}, not a database; paperdb will not replace it" in result.output
    assert output.read_bytes() == content


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "forced"])
def test_an_input_dump_is_never_the_output(tmp_path, force):
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    dump = dumps / "a.txt"
    dump.write_bytes(DUMP.read_bytes())
    for args in ([dump, "-o", dump], [dumps, "-o", dump]):
        result = run_build(*args, *force)
        assert result.exit_code == 1
        assert "is one of the input dumps; paperdb never writes over its input" in result.output
        assert dump.read_bytes() == DUMP.read_bytes()


def test_a_hard_link_to_an_input_dump_is_an_input_too(tmp_path):
    dump = tmp_path / "a.txt"
    dump.write_bytes(DUMP.read_bytes())
    os.link(dump, tmp_path / "other.db")
    result = run_build(dump, "-o", tmp_path / "other.db", "--force")
    assert result.exit_code == 1 and "is one of the input dumps" in result.output


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "forced"])
def test_special_files_are_never_replaced(tmp_path, force):
    fifo = tmp_path / "pipe.db"
    os.mkfifo(fifo)
    result = run_build(DUMP, "-o", fifo, *force)
    assert result.exit_code == 1
    assert "is a FIFO (named pipe), not a database file; paperdb never replaces one" in (
        result.output
    )
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    if os.path.exists("/dev/null"):
        result = run_build(DUMP, "-o", "/dev/null", *force)
        assert result.exit_code == 1
        assert "/dev/null: is a character device" in result.output
        assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def test_a_symlink_has_its_target_updated(tmp_path, built):
    link = tmp_path / "current.db"
    link.symlink_to(built.name)
    (tmp_path / "more").mkdir()
    result = run_build(DUMP, seed_path("000"), "-o", link)
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == built.name
    assert papers_in(built) > 8


def test_a_dangling_symlink_gets_its_target_created(tmp_path):
    link = tmp_path / "current.db"
    link.symlink_to("real.db")
    assert run_build(DUMP, "-o", link).exit_code == 0
    assert link.is_symlink() and papers_in(tmp_path / "real.db") == 8


@pytest.mark.parametrize("incremental", [[], ["--incremental"]], ids=["full", "incremental"])
def test_permission_bits_of_the_replaced_file_are_kept(built, incremental):
    os.chmod(built, 0o600)
    assert run_build(DUMP, seed_path("000"), "-o", built, *incremental).exit_code == 0
    assert stat.S_IMODE(os.stat(built).st_mode) == 0o600


def test_an_empty_file_is_replaced(tmp_path):
    output = tmp_path / "made-by-mktemp"
    output.write_bytes(b"")
    assert run_build(DUMP, "-o", output).exit_code == 0
    assert papers_in(output) == 8


# --- journals beside the output -------------------------------------------------------------

LEAVE_WAL = """
import os, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode = WAL")
conn.execute("PRAGMA wal_autocheckpoint = 0")
conn.execute("INSERT INTO build_info (key, value) VALUES ('note', 'written in WAL mode')")
os._exit(0)  # like an app that crashed: the WAL stays, never checkpointed
"""

LEAVE_HOT_JOURNAL = """
import os, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA cache_size = 1")  # spill to the file mid-transaction
conn.execute("BEGIN")
conn.execute("UPDATE papers SET abstract = abstract || abstract")
os._exit(0)  # crashed mid-transaction: a hot journal, and changed pages in the file
"""


def leave(script, path):
    subprocess.run([sys.executable, "-c", textwrap.dedent(script), str(path)], check=True)


def test_stale_wal_of_the_old_file_is_applied_to_it_not_to_the_new_one(built):
    leave(LEAVE_WAL, built)
    assert os.path.getsize(f"{built}-wal") > 0
    result = run_build(DUMP, seed_path("000"), "-o", built)
    assert result.exit_code == 0, result.output
    assert "note: " in result.output and "journal another program left" in result.output
    assert not os.path.exists(f"{built}-wal")
    assert check_database(built) == []
    conn = sqlite3.connect(built)  # read-write: the first open would make damage permanent
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("SELECT count(*) FROM papers").fetchone()[0] > 8
    conn.close()


def test_stale_wal_is_kept_by_an_incremental_build(built):
    """The copy an update starts from holds what the WAL held."""
    leave(LEAVE_WAL, built)
    result = run_build(DUMP, seed_path("000"), "-o", built, "--incremental")
    assert result.exit_code == 0, result.output
    assert check_database(built) == []


def test_hot_journal_of_the_old_file_is_rolled_back_into_it_first(tmp_path):
    built = tmp_path / "papers.db"
    assert run_build(seed_path("000"), "-o", built).exit_code == 0
    leave(LEAVE_HOT_JOURNAL, built)
    journal = built.with_name(built.name + "-journal")
    assert journal.read_bytes()[:8] == bytes.fromhex("d9d505f920a163d7")
    result = run_build(DUMP, "-o", built)
    assert result.exit_code == 0, result.output
    assert not journal.exists()
    conn = sqlite3.connect(built)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("SELECT count(*) FROM papers").fetchone()[0] == 8
    conn.close()


def test_a_journal_without_its_database_is_moved_aside(tmp_path):
    built = tmp_path / "papers.db"
    assert run_build(seed_path("000"), "-o", built).exit_code == 0
    leave(LEAVE_HOT_JOURNAL, built)
    built.unlink()
    result = run_build(DUMP, "-o", built)
    assert result.exit_code == 0, result.output
    assert "papers.db-journal: moved aside to papers.db-journal.orphan-1" in result.output
    assert (tmp_path / "papers.db-journal.orphan-1").exists()
    conn = sqlite3.connect(built)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def test_a_database_another_program_holds_in_wal_mode_is_not_replaced(built):
    holder = sqlite3.connect(built, isolation_level=None)
    holder.execute("PRAGMA journal_mode = WAL")
    holder.execute("INSERT INTO build_info (key, value) VALUES ('note', 'live')")
    holder.execute("DELETE FROM build_info WHERE key = 'note'")
    before = holder.execute("SELECT count(*) FROM papers").fetchone()
    result = run_build(seed_path("000"), "-o", built)
    assert result.exit_code == 1
    assert "another program is using it" in result.output
    assert holder.execute("SELECT count(*) FROM papers").fetchone() == before
    holder.close()
    assert check_database(built) == []


# --- temporary files of other builds --------------------------------------------------------


def test_a_locked_temporary_file_survives_another_builds_cleanup(tmp_path):
    """A build in another PID namespace: its process id means nothing here, its lock does."""
    live = tmp_path / ".papers.db.999999999-0a1b2c3d.tmp"
    live.write_bytes(b"being written")
    fd = os.open(live, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert run_build(DUMP, "-o", tmp_path / "papers.db").exit_code == 0
        assert live.read_bytes() == b"being written"
    finally:
        os.close(fd)
    assert run_build(DUMP, "-o", tmp_path / "papers.db").exit_code == 0
    assert not live.exists()  # unlocked: its build is gone
