"""Crash safety: a build that is killed, interrupted or refused never costs the old papers.db.

Real builds run as subprocesses of build_db.py and are SIGKILLed at fixed times, and at exact
points (inside the FTS5 rebuild, before and after the rename) through a small launcher that
patches the point to kill the process and then runs build_db.py unchanged. Afterwards the old
database must be byte-identical, and the next build must remove the killed build's temporary
file. Errors (read-only folder, missing input, output that is a folder, full disk) must give
a clear message and a non-zero exit, and leave the old database as it was.
"""

import contextlib
import json
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT, SEED_NAMES, SEEDS, scalar, seed_lines, seed_path

from paperdb.build import build
from paperdb.check import check_database
from paperdb.cli import cli
from paperdb.identity import title_key
from paperdb.parser import DumpParser, Occurrence
from paperdb.writer import DatabaseWriter

BUILD_DB = ROOT / "build_db.py"
BIG_COPIES = 15  # ~12,600 papers, 17 MB: well over a second even at the benchmark floor
SMALL_COPIES = 3  # ~2,500 papers: a few seconds for the slow sweeps

# Runs build_db.py unchanged, after making one point of the build kill the process.
LAUNCHER = """
import os, runpy, signal, sys
from pathlib import Path

point, build_db = sys.argv[1], sys.argv[2]
sys.argv = [build_db, *sys.argv[3:]]
sys.path.insert(0, str(Path(build_db).resolve().parent / "src"))


def die():
    os.kill(os.getpid(), signal.SIGKILL)


if point in ("fts-rebuild", "fts-optimize"):
    import paperdb.writer

    index_full_text = paperdb.writer.DatabaseWriter.index_full_text

    def killing_index_full_text(self, on_built=None):
        if point == "fts-rebuild":  # in the middle of filling the index
            calls = []

            def progress():
                calls.append(1)
                if len(calls) == 40:
                    die()
                return 0

            self.db.conn.set_progress_handler(progress, 50)
        else:  # the index is filled, not yet merged, copied in or committed
            self.db.conn.set_trace_callback(lambda sql: "'optimize'" in sql and die())
        return index_full_text(self, on_built)

    paperdb.writer.DatabaseWriter.index_full_text = killing_index_full_text
elif point == "before-rename":  # the temporary file is complete and fsynced
    os.replace = lambda *args, **kwargs: die()
elif point == "after-rename":  # the new database is in place, the folder not yet fsynced
    replace = os.replace

    def replace_then_die(*args, **kwargs):
        replace(*args, **kwargs)
        die()

    os.replace = replace_then_die
elif point == "fts-mark":  # no kill: mark the start and end of the full-text indexing
    import paperdb.writer

    index_full_text = paperdb.writer.DatabaseWriter.index_full_text
    marker = os.environ["PAPERDB_TEST_MARKER"]

    def marking_index_full_text(self, on_built=None):
        Path(marker + ".start").touch()
        index_full_text(self, on_built)
        Path(marker + ".done").touch()

    paperdb.writer.DatabaseWriter.index_full_text = marking_index_full_text
else:
    raise SystemExit(f"unknown kill point {point!r}")
runpy.run_path(build_db, run_name="__main__")
"""


# --- corpora and helpers ---------------------------------------------------------------------


def synthesize_corpus(folder, copies):
    """The bundled dumps `copies` times over, every title made unique with a " v<k>" suffix.

    The suffix keeps a title a title (no period, no sentence break, still short), and a glued
    "Subscribe<Title>" line stays glued. Papers repeated across dumps stay repeated within
    one copy, as in the seeds.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name in SEED_NAMES:
        lines = seed_lines(name[:3])
        titles = [
            item.title_line
            for item in DumpParser().parse(enumerate(lines, start=1))
            if isinstance(item, Occurrence)
        ]
        for copy in range(copies):
            altered = list(lines)
            for number in titles:
                altered[number - 1] = f"{altered[number - 1].rstrip()} v{copy}"
            (folder / f"{copy:03d}_{name}").write_text("\n".join(altered), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def big_corpus(tmp_path_factory):
    return synthesize_corpus(tmp_path_factory.mktemp("big") / "dumps", BIG_COPIES)


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory):
    return synthesize_corpus(tmp_path_factory.mktemp("small") / "dumps", SMALL_COPIES)


@pytest.fixture(scope="session")
def launcher(tmp_path_factory):
    path = tmp_path_factory.mktemp("launcher") / "kill_at.py"
    path.write_text(LAUNCHER, encoding="utf-8")
    return path


@pytest.fixture
def old_db(tmp_path):
    """An existing papers.db (from one small dump) in a folder of its own, and its bytes."""
    folder = tmp_path / "out"
    folder.mkdir()
    output = folder / "papers.db"
    build([seed_path("003")], output)
    return output, output.read_bytes()


def temp_files(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def start(args, **kwargs):
    return subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, **kwargs
    )


def build_db(*args):
    return [sys.executable, str(BUILD_DB), *map(str, args)]


def killed_at(launcher, point, *args):
    """Run build_db.py through the launcher; it kills itself at `point`."""
    proc = start([sys.executable, str(launcher), point, str(BUILD_DB), *map(str, args)])
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, f"{point} was never reached:\n{out}\n{err}"
    return proc


def kill_after(args, seconds, sig=signal.SIGKILL):
    """Start a build, send `sig` after `seconds`; (process, whether it was still running)."""
    began = time.monotonic()
    proc = start(args)
    time.sleep(max(0.0, began + seconds - time.monotonic()))
    running = proc.poll() is None
    proc.send_signal(sig)
    proc.communicate(timeout=120)
    return proc, running


def assert_untouched_and_next_build_cleans_up(output, before, leftover_expected=None):
    """The old database is byte-identical; the next build removes the dead build's temp file."""
    assert output.read_bytes() == before
    leftovers = temp_files(output.parent)
    assert set(os.listdir(output.parent)) == {output.name, *leftovers}
    if leftover_expected is not None:
        assert bool(leftovers) == leftover_expected, leftovers
    build([seed_path("003")], output)
    assert temp_files(output.parent) == []
    assert check_database(output) == []


def test_synthesized_corpus_parses_like_the_seeds(tmp_path):
    corpus = synthesize_corpus(tmp_path / "dumps", 2)
    keys = {0: set(), 1: set()}
    for path in sorted(corpus.iterdir()):
        lines = path.read_text(encoding="utf-8").split("\n")
        items = list(DumpParser().parse(enumerate(lines, start=1)))
        assert all(isinstance(item, Occurrence) for item in items), path.name
        seed = seed_lines(path.name[4:7])
        assert len(items) == len(list(DumpParser().parse(enumerate(seed, start=1))))
        keys[int(path.name[:3])] |= {title_key(item.title) for item in items}
    assert len(keys[0]) == len(keys[1]) == 842 and not keys[0] & keys[1]


# --- SIGKILL ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [0.2, 0.5, 1.0])
def test_sigkill_at_a_fixed_time_keeps_the_old_database(big_corpus, old_db, seconds):
    output, before = old_db
    proc, running = kill_after(build_db(big_corpus, "-o", output), seconds)
    assert running, f"the build finished within {seconds} s: make BIG_COPIES larger"
    assert proc.returncode == -signal.SIGKILL
    assert_untouched_and_next_build_cleans_up(output, before)


@pytest.mark.parametrize("point", ["fts-rebuild", "fts-optimize"])
def test_sigkill_while_the_fts_index_is_built(launcher, old_db, point):
    output, before = old_db
    killed_at(launcher, point, seed_path("001"), "-o", output)
    assert_untouched_and_next_build_cleans_up(output, before, leftover_expected=True)


def test_sigkill_just_before_the_rename(launcher, old_db):
    output, before = old_db
    proc = killed_at(launcher, "before-rename", seed_path("001"), "-o", output)
    # The leftover is the complete new database, never renamed into place.
    (leftover,) = temp_files(output.parent)
    assert re.fullmatch(rf"\.papers\.db\.{proc.pid}-[0-9a-f]{{8}}\.tmp", leftover)
    assert check_database(output.parent / leftover) == []
    assert_untouched_and_next_build_cleans_up(output, before, leftover_expected=True)


def test_sigkill_just_after_the_rename_leaves_the_complete_new_database(launcher, old_db):
    output, before = old_db
    killed_at(launcher, "after-rename", seed_path("001"), "-o", output)
    assert output.read_bytes() != before
    assert temp_files(output.parent) == []
    assert check_database(output) == []
    conn = sqlite3.connect(output)
    assert conn.execute("SELECT count(*) FROM paper_listings").fetchone() == (342,)
    conn.close()


def test_ctrl_c_removes_its_own_temporary_file(big_corpus, old_db):
    output, before = old_db
    proc, running = kill_after(build_db(big_corpus, "-o", output), 1.0, signal.SIGINT)
    assert running and proc.returncode != 0
    assert output.read_bytes() == before
    assert temp_files(output.parent) == []  # no next build needed


@pytest.mark.slow
def test_sigkill_sweep_over_a_whole_build(small_corpus, tmp_path):
    """Kill at fractions of a measured full build: reading, inserting, indexing, committing."""
    output = tmp_path / "papers.db"
    began = time.monotonic()
    done = subprocess.run(build_db(small_corpus, "-o", output), capture_output=True, cwd=ROOT)
    duration = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    before = output.read_bytes()
    killed = 0
    for fraction in [0.05, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9, 0.97]:
        proc, _ = kill_after(build_db(small_corpus, "-o", output), fraction * duration)
        if proc.returncode == 0:  # it finished first: the output is a complete new build
            assert check_database(output) == []
            before = output.read_bytes()
        else:
            assert proc.returncode == -signal.SIGKILL
            assert output.read_bytes() == before, fraction
            killed += 1
        assert set(os.listdir(tmp_path)) == {output.name, *temp_files(tmp_path)}
    assert killed >= 6
    subprocess.run(build_db(seed_path("003"), "-o", output), check=True, cwd=ROOT)
    assert temp_files(tmp_path) == []
    assert check_database(output) == []


@pytest.mark.slow
def test_sigkill_from_outside_during_the_fts_phase(launcher, small_corpus, old_db):
    output, before = old_db
    marker = str(output.parent.parent / "fts")
    args = [sys.executable, launcher, "fts-mark", BUILD_DB, small_corpus, "-o", output]
    proc = start([str(arg) for arg in args], env={**os.environ, "PAPERDB_TEST_MARKER": marker})
    deadline = time.monotonic() + 120
    while not os.path.exists(marker + ".start") and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=120)
    assert os.path.exists(marker + ".start") and not os.path.exists(marker + ".done")
    assert_untouched_and_next_build_cleans_up(output, before, leftover_expected=True)


# --- errors: clear message, non-zero exit, old database intact ----------------------------------


def invoke_build(*args):
    return CliRunner().invoke(cli, ["build", *map(str, args)])


def assert_refused(result, message, output, before):
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert output.read_bytes() == before
    assert temp_files(output.parent) == []


def test_missing_input(old_db, tmp_path):
    output, before = old_db
    result = invoke_build(tmp_path / "nope", "-o", output)
    assert_refused(result, f"Error: {tmp_path / 'nope'}: no such file or folder", output, before)
    assert os.listdir(output.parent) == ["papers.db"]


def test_output_path_that_is_a_folder(old_db):
    output, before = old_db
    folder = output.parent / "out.db"
    folder.mkdir()
    (folder / "keep.txt").write_text("x")
    result = invoke_build(seed_path("003"), "-o", folder)
    assert_refused(result, f"Error: {folder}: output path is a folder, not a file", output, before)
    assert os.listdir(folder) == ["keep.txt"]


def test_output_folder_that_is_a_file(old_db):
    output, before = old_db
    not_a_folder = output.parent / "notes.txt"
    not_a_folder.write_text("x")
    result = invoke_build(seed_path("003"), "-o", not_a_folder / "papers.db")
    assert_refused(result, f"Error: {not_a_folder}: output folder does not exist", output, before)


def test_output_folder_without_write_permission_simulated(old_db, monkeypatch):
    output, before = old_db
    real_open = os.open

    def refusing_open(path, *args, **kwargs):
        if Path(path).name.startswith(".papers.db."):  # the build's temporary file
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("paperdb.writer.os.open", refusing_open)
    result = invoke_build(seed_path("003"), "-o", output)
    assert_refused(
        result, f"Error: {output.parent}: cannot write here: Permission denied", output, before
    )


@pytest.fixture
def shared_folder():
    """A folder outside pytest's private tmp tree, so an unprivileged user can reach it."""
    folder = Path(tempfile.mkdtemp(prefix="paperdb-ro-"))
    folder.chmod(0o755)
    yield folder
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
    shutil.rmtree(folder)


def invoke_as_nobody(args):
    """CliRunner().invoke in a forked child that has dropped root; (exit code, stderr)."""
    import difflib  # noqa: F401  click imports it lazily; nobody cannot read root's stdlib

    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        try:
            os.close(reader)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
        except OSError as exc:
            payload = {"skip": f"cannot drop root: {exc}"}
        else:
            try:
                result = CliRunner().invoke(cli, args)
                payload = {"exit_code": result.exit_code, "stderr": result.stderr}
            except BaseException as exc:  # report anything to the parent
                payload = {"exit_code": None, "stderr": repr(exc)}
        with contextlib.suppress(BaseException):
            os.write(writer, json.dumps(payload).encode())
        os._exit(0)
    os.close(writer)
    data = b""
    while chunk := os.read(reader, 1 << 16):
        data += chunk
    os.close(reader)
    os.waitpid(pid, 0)
    payload = json.loads(data)
    if "skip" in payload:
        pytest.skip(payload["skip"])
    return payload["exit_code"], payload["stderr"]


def test_output_folder_without_write_permission(shared_folder):
    """A really read-only folder: as root, chmod binds only after dropping to 'nobody'."""
    dumps = shared_folder / "dumps"
    dumps.mkdir()
    shutil.copy(seed_path("003"), dumps / "003.txt")
    out = shared_folder / "out"
    out.mkdir()
    output = out / "papers.db"
    args = ["build", str(dumps), "-o", str(output)]
    assert CliRunner().invoke(cli, args).exit_code == 0  # also loads every lazy import
    before = output.read_bytes()
    for path in [shared_folder, dumps, *dumps.iterdir(), output]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    out.chmod(0o555)
    if os.geteuid() == 0:
        if not hasattr(os, "fork"):
            pytest.skip("needs fork to drop root")
        exit_code, stderr = invoke_as_nobody(args)
    else:
        if os.access(out, os.W_OK):
            pytest.skip("chmod does not stop this user from writing")
        result = CliRunner().invoke(cli, args)
        exit_code, stderr = result.exit_code, result.stderr
    assert exit_code == 1, stderr
    assert f"Error: {out}: cannot write here: Permission denied" in stderr
    assert output.read_bytes() == before
    assert temp_files(out) == []


def page_count(path):
    return scalar(path, "PRAGMA page_count")


@pytest.mark.parametrize("fraction", [0.1, 0.8, 0.97])  # inserts, FTS rebuild, FTS end
def test_full_disk_simulated_with_max_page_count(old_db, seed_db, monkeypatch, fraction):
    """The temporary database may not grow past a fraction of a full build's pages."""
    output, before = old_db
    limit = int(page_count(seed_db) * fraction)
    init, connect = DatabaseWriter.__init__, DatabaseWriter._connect

    def small_disk_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.small_disk = True
        self.db.execute(f"PRAGMA max_page_count = {limit}")

    def small_disk_connect(self):  # the limit is per connection: the writer's later ones too
        connect(self)
        if getattr(self, "small_disk", False):
            self.db.execute(f"PRAGMA max_page_count = {limit}")

    monkeypatch.setattr(DatabaseWriter, "__init__", small_disk_init)
    monkeypatch.setattr(DatabaseWriter, "_connect", small_disk_connect)
    result = invoke_build(SEEDS, "-o", output)
    assert_refused(
        result,
        f"Error: {output}: database error while building: database or disk is full",
        output,
        before,
    )


def limited_file_size(limit):
    """preexec_fn: writes past `limit` bytes fail with EFBIG, as on a full disk."""

    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write, do not kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def run_with_file_size_limit(limit, output):
    return subprocess.run(
        build_db(SEEDS, "-o", output),
        capture_output=True,
        text=True,
        cwd=ROOT,
        preexec_fn=limited_file_size(limit),
    )


@pytest.mark.parametrize("fraction", [0.3, 0.9])
def test_full_disk_for_real_writes(old_db, seed_db, fraction):
    """RLIMIT_FSIZE makes the kernel refuse the build's writes, wherever they happen."""
    output, before = old_db
    done = run_with_file_size_limit(int(seed_db.stat().st_size * fraction), output)
    assert done.returncode == 1, done.stdout
    assert done.stderr.startswith(f"Error: {output}: database error while building: ")
    assert "disk" in done.stderr  # 'disk I/O error' or 'database or disk is full'
    assert "Traceback" not in done.stderr
    assert output.read_bytes() == before
    assert temp_files(output.parent) == []


def test_full_disk_before_the_schema_is_written(old_db):
    """Not even the schema fits: the temporary file was created, and must still go."""
    output, before = old_db
    done = run_with_file_size_limit(0, output)
    assert done.returncode == 1, done.stdout
    assert done.stderr.startswith("Error: ") and "disk" in done.stderr
    assert "Traceback" not in done.stderr
    assert output.read_bytes() == before
    assert temp_files(output.parent) == []


def test_interrupt_mid_build_in_process(old_db, monkeypatch):
    output, before = old_db

    def interrupted(self, on_built=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(DatabaseWriter, "index_full_text", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build([seed_path("003")], output)
    assert output.read_bytes() == before
    assert temp_files(output.parent) == []
