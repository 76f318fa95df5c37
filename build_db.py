#!/usr/bin/env python3
"""Build papers.db from the bundled dumps in data/seeds: `python build_db.py`.

Takes the same arguments as `paperdb build` (try `python build_db.py --help`).
"""

import sys
from pathlib import Path

try:
    try:
        from paperdb.cli import build_command
    except ImportError:  # run from a checkout without installing: use src/ directly
        sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))
        from paperdb.cli import build_command
except KeyboardInterrupt:  # Ctrl-C while importing: as clean as Ctrl-C later
    sys.exit("Aborted!")

if __name__ == "__main__":
    build_command(prog_name="build_db.py", help_option_names=["-h", "--help"])
