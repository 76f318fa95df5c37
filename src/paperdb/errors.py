"""The tool's own errors: each names what went wrong and where, so the CLI can print it."""


class PaperdbError(Exception):
    """Base class: anything the user can fix, reported without a traceback."""


class InputError(PaperdbError):
    """An input dump that cannot be used (missing, binary, undecodable)."""

    def __init__(self, path, message, line=None):
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


class BuildError(PaperdbError):
    """The build could not produce a database it can trust; the old one is untouched."""


class DatabaseError(PaperdbError):
    """An existing papers.db that cannot be read (missing, not ours, newer schema)."""
