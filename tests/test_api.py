"""The public face: `import paperdb` gives build, search, check, their result types and the
errors, and stays light enough for the command's Ctrl-C guard (console.py)."""

import inspect
import subprocess
import sys

import pytest
from conftest import SEEDS

import paperdb
from paperdb import errors


def run_python(code):
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_paperdb_loads_neither_click_nor_sqlite_utils():
    loaded = run_python(
        "import sys, paperdb\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('click', 'sqlite_utils', 'paperdb', 'sqlite3')))"
    )
    assert loaded.strip() == "['paperdb']"


def test_build_search_check_in_three_calls(tmp_path):
    db = tmp_path / "papers.db"
    result = paperdb.build([SEEDS], db)
    assert isinstance(result, paperdb.BuildResult) and result.papers > 0
    hits = paperdb.search(paperdb.open_database(db), "state space models", limit=3)
    assert hits and all(isinstance(hit, paperdb.Hit) for hit in hits)
    assert paperdb.check(db) == []


def test_errors_are_the_library_errors(tmp_path):
    names = ["PaperdbError", "InputError", "BuildError", "DatabaseError", "SearchError"]
    names += ["TaxonomyError", "ServeError"]
    for name in names:
        assert getattr(paperdb, name) is getattr(errors, name)
        assert issubclass(getattr(paperdb, name), paperdb.PaperdbError)
    with pytest.raises(paperdb.InputError, match="no such file or folder"):
        paperdb.build([tmp_path / "missing.txt"], tmp_path / "p.db")
    with pytest.raises(paperdb.DatabaseError):
        paperdb.open_database(tmp_path / "missing.db")


def test_every_public_name_resolves():
    star = run_python("from paperdb import *\nprint(sorted(k for k in dir() if k[0] != '_'))")
    assert star.strip() == str(sorted(paperdb.__all__))
    for name in paperdb.__all__:
        assert getattr(paperdb, name) is not None
        assert name in dir(paperdb)
    assert {"build", "search", "check", "BuildResult", "PaperdbError"} <= set(paperdb.__all__)


@pytest.mark.parametrize(
    "first",
    [
        "import paperdb",
        "import paperdb.build",
        "from paperdb.build import build",
        "import paperdb.cli",
        "from paperdb import build, search, check",
    ],
)
def test_the_functions_and_their_modules_whatever_was_imported_first(first):
    """`paperdb.build` is the submodule (Python binds it there once loaded) and is called as
    its function; the module's own names stay reachable, whichever import came first."""
    code = f"""
{first}
import inspect, paperdb, paperdb.build, paperdb.search, paperdb.check
from paperdb.build import build
assert callable(paperdb.build) and callable(paperdb.search) and callable(paperdb.check)
assert paperdb.build.BuildResult is paperdb.BuildResult and paperdb.build.build is build
assert inspect.signature(paperdb.build) == inspect.signature(build)
assert inspect.signature(paperdb.check) == inspect.signature(paperdb.check.check_database)
assert paperdb.check("/no/such/papers.db") == ["/no/such/papers.db: no such database file"]
print("ok")
"""
    assert run_python(code).strip() == "ok"


def test_calling_the_module_calls_its_function_as_patched(monkeypatch):
    calls = []
    monkeypatch.setattr(paperdb.build, "build", lambda *args, **kwargs: calls.append(args))
    paperdb.build(["a"], "b")
    assert calls == [(["a"], "b")]


def test_the_signature_is_the_functions():
    from paperdb.search import search

    assert inspect.signature(paperdb.search) == inspect.signature(search)


def test_the_library_holds_no_test_only_helpers():
    """A function or class of src/paperdb that only tests use belongs in the tests.

    Used means named in the library's own code (or by scripts/ and benchmarks/, which use
    the library as a user would); decorated ones (commands, Datasette hooks) are used by
    their framework."""
    import ast
    import re
    from pathlib import Path

    from conftest import ROOT

    library = sorted(Path(paperdb.__file__).parent.rglob("*.py"))
    used, defined = set(), []
    for path in library:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                used.add(node.id)
            elif isinstance(node, ast.Attribute):
                used.add(node.attr)
            elif isinstance(node, ast.alias):
                used.add(node.name.rpartition(".")[2])
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                used.add(node.value)  # a name looked up with getattr
        for node in tree.body:
            members = node.body if isinstance(node, ast.ClassDef) else []
            defined += [
                (path.name, found.name)
                for found in [node, *members]
                if isinstance(found, (ast.FunctionDef, ast.ClassDef))
                and not found.decorator_list
                and not found.name.startswith("__")
            ]
    tools = " ".join(
        path.read_text(encoding="utf-8")
        for folder in ("scripts", "benchmarks")
        for path in (ROOT / folder).rglob("*.py")
    )
    unused = [
        f"{module}: {name}"
        for module, name in defined
        if name not in used and not re.search(rf"\b{name}\b", tools)
    ]
    assert unused == []
