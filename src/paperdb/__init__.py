"""paperdb: turn Hugging Face "Daily Papers" listing dumps into one searchable SQLite file."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("paperdb")
except PackageNotFoundError:  # running from a checkout without installing
    __version__ = "0.0.0+checkout"
