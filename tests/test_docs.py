"""The schema's one statement (schema.sql) against the two places that describe it to people:
Datasette's metadata and the README's table reference. A column added to schema.sql without a
description in both fails here."""

import re
import sqlite3

import pytest
import yaml
from conftest import ROOT

from paperdb.cli import cli
from paperdb.schema import schema_sql

METADATA = ROOT / "src" / "paperdb" / "datasette_plugin" / "metadata.yml"


def schema_columns():
    """{table or view: [columns]} of everything schema.sql creates, but the FTS5 internals."""
    conn = sqlite3.connect(":memory:")
    conn.executescript(schema_sql())
    names = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
            " AND name NOT LIKE 'papers_fts%' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    return {
        name: [row[1] for row in conn.execute(f"PRAGMA table_info('{name}')")] for name in names
    }


def readme_columns():
    """{table: {columns}} named in the README's table reference ("| table | column | meaning |")."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("| table | column | meaning |") :]
    found, current = {}, None
    for line in section.split("\n"):
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0]:
            names = re.findall(r"`([^`]+)`", cells[0])
            current = names[0] if names else None
        if current and len(cells) > 1:
            found.setdefault(current, set()).update(re.findall(r"`([^`]+)`", cells[1]))
    return found


COLUMNS = schema_columns()


@pytest.mark.parametrize("table", sorted(COLUMNS))
def test_every_column_is_described_in_the_datasette_metadata(table):
    tables = yaml.safe_load(METADATA.read_text())["databases"]["papers"]["tables"]
    described = (tables.get(table) or {}).get("columns") or {}
    missing = [column for column in COLUMNS[table] if not described.get(column)]
    assert missing == [], f"{table}: no description in metadata.yml for {missing}"


@pytest.mark.parametrize("table", sorted(COLUMNS))
def test_every_column_is_in_the_readme_table_reference(table):
    named = readme_columns().get(table, set())
    missing = [column for column in COLUMNS[table] if column not in named]
    assert missing == [], f"{table}: the README's table reference does not name {missing}"


# --- each command's --help, in the README ------------------------------------------------------


def readme_help():
    """scripts/readme_help.py, which writes the README's command reference."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "readme_help", ROOT / "scripts" / "readme_help.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_shows_each_commands_help_as_it_is():
    script = readme_help()
    shown = script.current((ROOT / "README.md").read_text(encoding="utf-8"))
    assert shown == script.section(), (
        "README.md's command help differs from the commands' --help: "
        "regenerate it with `python scripts/readme_help.py`"
    )


COMMANDS = sorted(cli.commands)


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_each_commands_help_has_examples_in_one_format(command):
    """An "Examples:" paragraph, then the example commands, one a line, indented by four."""
    text = readme_help().help_text(*filter(None, [command]))
    assert text.count("Examples:") == 1
    _, after = text.split("\n\n  Examples:\n\n")
    examples = after.split("\n\n")[0].split("\n")
    prefix = f"    paperdb {command}".rstrip()
    assert examples and all(line.startswith(prefix) for line in examples), examples
