"""Where schema.sql lives, and what it declares that code needs: the schema version and
papers_fts's tokenizer."""

import re
from functools import cache
from importlib import resources
from pathlib import Path

CHECKOUT_SCHEMA = Path(__file__).resolve().parents[2] / "schema.sql"
_TOKENIZE = re.compile(r"tokenize\s*=\s*(\"[^\"]*\")")
_USER_VERSION = re.compile(r"^\s*PRAGMA\s+user_version\s*=\s*(\d+)\s*;", re.MULTILINE | re.I)


@cache
def schema_sql():
    """The text of schema.sql: the wheel's copy when installed, else the checkout's."""
    packaged = resources.files("paperdb").joinpath("schema.sql")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return CHECKOUT_SCHEMA.read_text(encoding="utf-8")


@cache
def schema_version():
    match = _USER_VERSION.search(schema_sql())
    if not match:
        raise RuntimeError("schema.sql does not set PRAGMA user_version")
    return int(match.group(1))


@cache
def fts_tokenize():
    """papers_fts's tokenize option, quoted as schema.sql writes it: an index that must
    tokenize and stem as papers_fts does (search's scratch index, related papers) uses it."""
    return _TOKENIZE.search(schema_sql()).group(1)
