"""The `paperdb` command's entry point, kept apart from cli.py so that Ctrl-C while Python is
still importing the command (about a quarter of a second) ends it as cleanly as Ctrl-C later:
"Aborted!", status 1, no traceback."""

import sys


def main():
    try:
        from .cli import cli
    except KeyboardInterrupt:
        sys.stderr.write("Aborted!\n")
        sys.exit(1)
    cli()
