"""The tool's own errors: each names what went wrong and where, so the CLI can print it."""

import os


def shown(path):
    """A path or name as text that can be stored and printed.

    A file name that is not valid UTF-8 reaches Python with surrogates in it, which
    SQLite and a UTF-8 terminal refuse; its bytes are written as \\xNN instead.
    """
    text = os.fspath(path)
    if isinstance(text, bytes):
        return text.decode("utf-8", "backslashreplace")
    if text.isascii():
        return text
    return os.fsencode(text).decode("utf-8", "backslashreplace")


class PaperdbError(Exception):
    """Base class: anything the user can fix, reported without a traceback."""


class InputError(PaperdbError):
    """An input dump that cannot be used (missing, binary, undecodable)."""

    def __init__(self, path, message, line=None):
        self.path = shown(path)
        self.line = line
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


class BuildError(PaperdbError):
    """The build could not produce a database it can trust; the old one is untouched."""


class DatabaseError(PaperdbError):
    """An existing papers.db that cannot be read (missing, not ours, newer schema)."""


class SearchError(PaperdbError):
    """A search that cannot run as asked (unknown topic, bad raw FTS5 syntax)."""


class TaxonomyError(PaperdbError):
    """A topics file that cannot be used; the message names the file and line."""


class ServeError(PaperdbError):
    """Datasette is missing or cannot serve the file."""
