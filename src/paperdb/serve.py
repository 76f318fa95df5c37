"""`paperdb serve`: Datasette on a paperdb file, with paperdb's metadata and plugin.

Datasette is an optional extra (`pip install 'paperdb[datasette]'`); the plugin gives any
paperdb file the metadata and pages whatever the file is called, so serving is Datasette's
own `serve` with nothing more than the file.
"""

from pathlib import Path

from .database import open_database
from .errors import ServeError, shown

INSTALL_HINT = "pip install 'paperdb[datasette]'"
# Facet suggestions run a count per column on every table page (0.4 s of a papers page at
# 100k papers); the topics facet reads 100k JSON arrays, ~200 ms, over Datasette's default
# limit of 200 ms (docs/PERFORMANCE.md).
SETTINGS = ["--setting", "suggest_facets", "off", "--setting", "facet_time_limit_ms", "1000"]


def datasette_cli():
    try:
        from datasette.cli import cli
    except ImportError:
        raise ServeError(f"Datasette is not installed; install it with: {INSTALL_HINT}") from None
    return cli


def serve_arguments(db_path, port=8001, host="127.0.0.1", open_browser=False):
    arguments = ["serve", str(db_path), "--host", host, "--port", str(port), *SETTINGS]
    if open_browser:
        arguments.append("--open")
    return arguments


def serve(db_path, port=8001, host="127.0.0.1", open_browser=False):
    """Serve `db_path` until interrupted. The file is checked first (open_database says what
    is wrong with a missing or foreign file), so Datasette never starts on the wrong thing."""
    db_path = Path(db_path)
    open_database(db_path).close()
    cli = datasette_cli()
    try:
        cli.main(serve_arguments(db_path, port, host, open_browser), prog_name="datasette")
    except SystemExit as exit_:
        if exit_.code not in (0, None):
            raise ServeError(f"{shown(db_path)}: Datasette stopped (status {exit_.code})") from None
