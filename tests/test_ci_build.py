"""scripts/ci_build.py, the steps the workflow runs, against a fake "previous release" folder;
the sample dumps in the wheel; and the test suite's independence from data/seeds."""

import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, SEEDS, built_from, seed_path

SCRIPT = ROOT / "scripts" / "ci_build.py"
EPOCH = "1700000000"  # the workflow passes the commit time
NEW_PAPER = (
    "\n\nSparse Widgets Are All You Need\n\n"
    "We show that sparse widgets match dense widgets at a tenth of the cost."
)


def ci_build(dumps, previous, work, *args, epoch=EPOCH):
    """Run the script as the workflow does; (exit status, output, $GITHUB_OUTPUT)."""
    if not shutil.which("zstd"):
        pytest.skip("needs the zstd command (apt-get install zstd)")
    outputs = work / "github_output"
    outputs.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(dumps), "--previous", str(previous)]
        + ["--out", str(work / "release"), "--db", str(work / "papers.db")]
        + ["--notes", str(work / "notes.md"), "--github-output", str(outputs), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "SOURCE_DATE_EPOCH": epoch},
        cwd=work,
        timeout=120,
    )
    said = outputs.read_text() if outputs.exists() else ""
    return done.returncode, done.stdout + done.stderr, said


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def publish(work, release):
    """Move the assets a run made into `release`, as `gh release download` would fetch them."""
    shutil.rmtree(release, ignore_errors=True)
    shutil.copytree(work / "release", release)


@pytest.fixture
def dumps(tmp_path):
    folder = tmp_path / "dumps"
    folder.mkdir()
    for prefix in ("000", "003"):
        shutil.copy(seed_path(prefix), folder)
    return folder


@pytest.fixture
def work(tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def test_first_build_makes_a_release(dumps, work, tmp_path):
    status, output, said = ci_build(dumps, tmp_path / "no-release-yet", work)
    assert status == 0, output
    assert said == "changed=true\n"
    assert "No previous papers.db: a full build." in output
    assets = sorted(path.name for path in (work / "release").iterdir())
    assert assets == ["SHA256SUMS", "papers.db.zst"]
    db = work / "papers.db"
    assert built_from(db) == {path.name: sha256(path) for path in dumps.iterdir()}
    sums = (work / "release" / "SHA256SUMS").read_text()
    assert f"{sha256(db)}  papers.db\n" in sums
    assert f"{sha256(work / 'release' / 'papers.db.zst')}  papers.db.zst\n" in sums
    restored = subprocess.run(
        ["zstd", "-d", "-c", str(work / "release" / "papers.db.zst")], capture_output=True
    ).stdout
    assert restored == db.read_bytes()
    assert "2 dumps," in (work / "notes.md").read_text()


@pytest.mark.parametrize("message", ["Update README", "Fix a typo [full rebuild]"])
def test_nothing_changed_is_up_to_date_and_makes_no_release(dumps, work, tmp_path, message):
    previous = tmp_path / "previous"
    assert ci_build(dumps, previous, work)[0] == 0
    publish(work, previous)
    first = sha256(work / "papers.db")
    status, output, said = ci_build(dumps, previous, work, "--message", message)
    assert status == 0, output
    assert said == "changed=false\n"
    assert "up to date:" in output and "no new release" in output
    assert ("A full build" in output) == ("[full rebuild]" in message)
    assert sha256(work / "papers.db") == first  # what the workflow deploys: the release's file


def test_one_dump_changed_updates_the_previous_file(dumps, work, tmp_path):
    previous = tmp_path / "previous"
    assert ci_build(dumps, previous, work)[0] == 0
    publish(work, previous)
    changed = dumps / seed_path("003").name
    changed.write_text(changed.read_text(encoding="utf-8") + NEW_PAPER, encoding="utf-8")
    status, output, said = ci_build(dumps, previous, work)
    assert status == 0, output
    assert said == "changed=true\n"
    assert "Previous papers.db restored" in output
    assert "updated: 1 changed, 0 new, 0 removed, 1 unchanged dumps" in output
    db = work / "papers.db"
    assert built_from(db)[changed.name] == sha256(changed)
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM papers WHERE title LIKE 'Sparse Widgets%'").fetchone()
    conn.close()
    assert f"{sha256(db)}  papers.db\n" in (work / "release" / "SHA256SUMS").read_text()


def test_a_big_file_is_split_into_parts_that_the_next_run_joins(dumps, work, tmp_path):
    previous = tmp_path / "previous"
    status, output, _ = ci_build(dumps, previous, work, "--part-size", "20000")
    assert status == 0, output
    parts = sorted((work / "release").glob("papers.db.zst.*"))
    assert len(parts) >= 2 and not (work / "release" / "papers.db.zst").exists()
    assert all(part.stat().st_size == 20000 for part in parts[:-1])
    assert "cat papers.db.zst.[0-9][0-9][0-9] > papers.db.zst" in (work / "notes.md").read_text()
    publish(work, previous)
    status, output, said = ci_build(dumps, previous, work, "--part-size", "20000")
    assert status == 0, output
    assert said == "changed=false\n"


def test_a_damaged_download_stops_the_run(dumps, work, tmp_path):
    previous = tmp_path / "previous"
    assert ci_build(dumps, previous, work)[0] == 0
    publish(work, previous)
    asset = previous / "papers.db.zst"
    data = bytearray(asset.read_bytes())
    data[len(data) // 2] ^= 0xFF
    asset.write_bytes(bytes(data))
    status, output, said = ci_build(dumps, previous, work)
    assert status == 1 and said == ""
    assert "papers.db.zst: sha256 differs from SHA256SUMS: the download is damaged" in output
    assert "Traceback" not in output


def test_a_bad_dump_fails_the_run_without_a_release(dumps, work, tmp_path):
    (dumps / "broken.txt").write_bytes(b"\x00\x01")
    status, output, said = ci_build(dumps, tmp_path / "none", work)
    assert status == 1 and said == ""
    assert "broken.txt" in output and "paperdb build failed" in output
    assert not (work / "release").exists()


def test_the_tests_never_read_the_user_dumps_folder():
    """A fork replaces data/seeds: only conftest names it (USER_SEEDS), and only the tests of
    `paperdb build` with no paths use it, asserting on whatever it holds."""
    path_to_data = re.compile(
        r"""(ROOT|parents\[\d\])\s*/\s*["']data["']|Path\(\s*["'](\./)?data\b"""
    )
    for folder in (ROOT / "tests", ROOT / "benchmarks"):
        for path in set(folder.glob("*.py")) - {Path(__file__)}:
            text = path.read_text(encoding="utf-8")
            hits = [line for line in text.splitlines() if path_to_data.search(line)]
            if path.name == "conftest.py":
                assert hits == ['USER_SEEDS = ROOT / "data" / "seeds"']
            else:
                assert not hits, f"{path.name} reads data/seeds: {hits}"
            if "USER_SEEDS" in text:
                assert path.name in {"conftest.py", "test_cli.py"}, path.name
    assert SEEDS == FIXTURES / "dumps"


def test_the_fixture_dumps_are_the_sample_dumps():
    """The wheel ships tests/fixtures/dumps (pyproject.toml) as paperdb's sample dumps."""
    text = (ROOT / "pyproject.toml").read_text()
    assert '"tests/fixtures/dumps" = "paperdb/seeds"' in text
    assert len(list(SEEDS.glob("*.txt"))) == 5


@pytest.mark.slow
def test_an_installed_wheel_builds_the_sample_dumps_with_no_paths(tmp_path):
    """pip wheel, install it in a fresh venv, `paperdb build` in an empty folder. Offline: the
    backend (hatchling, a test dependency) and paperdb's dependencies come from this venv."""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
        + ["-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("paperdb-*.whl")
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    # paperdb's dependencies from this venv, after the fresh venv's own site-packages.
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    deps = [p for p in sys.path if p.endswith("site-packages")]
    (Path(site) / "deps.pth").write_text("\n".join(deps) + "\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run(
        [env / "bin" / "paperdb", "build"], cwd=empty, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "5 files, 898 paper occurrences, 842 distinct papers" in done.stdout
    where = subprocess.run(
        [python, "-c", "import paperdb; print(paperdb.__file__)"], capture_output=True, text=True
    ).stdout
    assert where.startswith(str(env))
    assert built_from(empty / "papers.db") == {p.name: sha256(p) for p in SEEDS.glob("*.txt")}
