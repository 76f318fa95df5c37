import shutil
import sqlite3
from pathlib import Path

import pytest

from paperdb.build import build

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The tests' own copy of the five real dumps bundled in data/seeds: a fork replaces data/seeds
# with its own dumps, and no test outcome may depend on what it holds.
SEEDS = FIXTURES / "dumps"
USER_SEEDS = ROOT / "data" / "seeds"
SEED_NAMES = sorted(p.name for p in SEEDS.glob("*.txt"))


def seed_path(prefix):
    """The bundled dump whose name starts with `prefix` (e.g. '002')."""
    (match,) = [SEEDS / name for name in SEED_NAMES if name.startswith(prefix)]
    return match


def seed_lines(prefix):
    """The lines of a bundled dump, split only on \\n (as the seeds are written)."""
    return seed_path(prefix).read_text(encoding="utf-8").split("\n")


def write_dump(folder, name, lines, newline="\n"):
    path = Path(folder) / name
    path.write_bytes(newline.join(lines).encode("utf-8"))
    return path


def scalar(db, sql):
    """The one value `sql` gives on the database file `db`."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def built_from(db):
    """{dump name: sha256} of the dumps build_info says `db` was built from."""
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT key, value FROM build_info WHERE key LIKE 'source_sha256:%'")
    found = {key.removeprefix("source_sha256:"): value for key, value in rows}
    conn.close()
    return found


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def seed_db(tmp_path_factory):
    """papers.db built once from the bundled dumps; tests only read it."""
    path = tmp_path_factory.mktemp("seed") / "papers.db"
    build([SEEDS], path)
    return path


@pytest.fixture
def seed_conn(seed_db):
    conn = sqlite3.connect(f"{seed_db.as_uri()}?mode=ro", uri=True)
    yield conn
    conn.close()


@pytest.fixture
def seeds_copy(tmp_path):
    """A writable copy of the bundled dumps."""
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS, target)
    return target
