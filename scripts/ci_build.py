#!/usr/bin/env python3
"""What .github/workflows/build.yml runs: bring papers.db up to date with a folder of dumps,
starting from the latest release's copy, and prepare a new release only when it changed.

    python scripts/ci_build.py DUMPS --previous FOLDER --out FOLDER [--db papers.db]
                               [--message TEXT] [--full] [--part-size BYTES]

1. FOLDER (`--previous`) holds what `gh release download` fetched from the latest release:
   papers.db.zst (or its parts papers.db.zst.000, .001, ...) and SHA256SUMS (or, from
   before releases were compressed, papers.db); it may be empty or missing (no release
   yet). The parts are joined, checked against SHA256SUMS and decompressed to --db.
2. `paperdb build --incremental DUMPS -o DB` updates that file: only new, changed or removed
   dumps are read. With no previous file, --full, or "[full rebuild]" in --message, the build
   starts from scratch. Then `paperdb check DB`.
3. The same dumps give the same file (the workflow sets SOURCE_DATE_EPOCH to the commit time,
   and an update that finds no dump changed keeps the file as it was): when DB's sha256 is the
   previous file's, it prints "up to date" and writes changed=false to $GITHUB_OUTPUT.
4. Otherwise --out gets papers.db.zst (zstd -10), cut into parts of --part-size bytes when it
   is bigger (GitHub refuses release assets of 2 GiB or more), and SHA256SUMS; --notes gets
   the release notes; changed=true.

Exit status 1, with the message, when a step fails; the workflow stops there.
"""

import argparse
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

ASSET = "papers.db.zst"
SUMS = "SHA256SUMS"
FULL_REBUILD = "[full rebuild]"
# GitHub's limit is 2 GiB a release asset; parts stay well under it.
PART_SIZE = 2_000_000_000
# Measured (README, "Publish your own"): zstd -10 keeps most of xz's ratio at a twentieth of
# its time, and decompresses eight times faster, which every later run does first.
ZSTD_LEVEL = "-10"
CHUNK = 1 << 20


class Failed(Exception):
    """A step failed; the message says which and why."""


def main(argv=None):
    args = parse_args(argv)
    try:
        changed = run(args)
    except Failed as exc:
        print(f"ci_build: {exc}", file=sys.stderr)
        return 1
    output = args.github_output or os.environ.get("GITHUB_OUTPUT")
    if output:
        with open(output, "a", encoding="utf-8") as file:
            file.write(f"changed={'true' if changed else 'false'}\n")
    return 0


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dumps", type=Path, help="folder of .txt dumps (the workflow's DUMPS)")
    parser.add_argument("--previous", type=Path, help="the latest release's assets, if any")
    parser.add_argument("--out", type=Path, default=Path("release"), help="new release assets")
    parser.add_argument("--db", type=Path, default=Path("papers.db"), help="the database")
    parser.add_argument("--notes", type=Path, default=Path("release-notes.md"))
    parser.add_argument("--message", default="", help="the commit message")
    parser.add_argument("--full", action="store_true", help="build from scratch")
    parser.add_argument("--part-size", type=int, default=PART_SIZE)
    parser.add_argument("--github-output", help="default: $GITHUB_OUTPUT")
    return parser.parse_args(argv)


def run(args):
    zstd = shutil.which("zstd")
    if not zstd:
        raise Failed("zstd is not installed (apt-get install zstd)")
    args.db.unlink(missing_ok=True)
    previous = restore(args.previous, args.db, zstd)
    full = args.full or FULL_REBUILD in args.message
    if previous is None:
        print("No previous papers.db: a full build.")
    elif full:
        print(f"A full build ({'--full' if args.full else FULL_REBUILD + ' in the message'}).")
        args.db.unlink()
    paperdb("build", *([] if full else ["--incremental"]), str(args.dumps), "-o", str(args.db))
    paperdb("check", str(args.db))
    digest = sha256(args.db)
    if digest == previous:
        print(f"up to date: {args.dumps} gives the latest release's papers.db; no new release")
        return False
    assets = package(args.db, digest, args.out, args.part_size, zstd)
    args.notes.write_text(notes(args.db, assets), encoding="utf-8")
    ratio = args.db.stat().st_size / sum(path.stat().st_size for path in assets)
    print(f"changed: {len(assets)} asset(s) in {args.out}, compressed {ratio:.2f}:1 with zstd")
    return True


def restore(folder, db, zstd):
    """Decompress the previous release's papers.db to `db`; its sha256, or None if none."""
    if folder is None or not folder.is_dir():
        return None
    whole = folder / ASSET
    parts = sorted(folder.glob(f"{ASSET}.[0-9][0-9][0-9]"))
    if parts:
        with open(whole, "wb") as joined:
            for part in parts:
                with open(part, "rb") as file:
                    shutil.copyfileobj(file, joined, CHUNK)
    if not whole.is_file():
        if not (folder / "papers.db").is_file():
            return None
        # A release made before assets were compressed.
        shutil.copyfile(folder / "papers.db", db)
        return sha256(db)
    sums = read_sums(folder / SUMS)
    if ASSET in sums and sha256(whole) != sums[ASSET]:
        raise Failed(f"{whole}: sha256 differs from {SUMS}: the download is damaged; run again")
    command([zstd, "-q", "-d", "-f", str(whole), "-o", str(db)], f"decompressing {whole}")
    digest = sha256(db)
    if "papers.db" in sums and digest != sums["papers.db"]:
        raise Failed(f"{db}: sha256 differs from {SUMS} after decompressing {whole}")
    print(f"Previous papers.db restored from {folder} (sha256 {digest[:12]}).")
    return digest


def package(db, digest, out, part_size, zstd):
    """papers.db.zst in `out`, in parts when bigger than part_size, and SHA256SUMS."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    whole = out / ASSET
    command([zstd, "-q", ZSTD_LEVEL, "-T0", str(db), "-o", str(whole)], f"compressing {db}")
    sums = {ASSET: sha256(whole), "papers.db": digest}
    assets = [whole]
    if whole.stat().st_size > part_size:
        assets = split(whole, part_size)
        whole.unlink()
        sums.update((part.name, sha256(part)) for part in assets)
    lines = [f"{value}  {name}\n" for name, value in sorted(sums.items())]
    (out / SUMS).write_text("".join(lines), encoding="utf-8")
    return assets


def split(whole, part_size):
    """Cut `whole` into parts of part_size bytes (the last one shorter), in order."""
    parts = []
    remaining = whole.stat().st_size
    with open(whole, "rb") as file:
        while remaining:
            part = whole.with_name(f"{whole.name}.{len(parts):03d}")
            with open(part, "wb") as out:
                left = min(part_size, remaining)
                while left:
                    chunk = file.read(min(left, CHUNK))
                    out.write(chunk)
                    left -= len(chunk)
            remaining -= part.stat().st_size
            parts.append(part)
    return parts


def notes(db, assets):
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    info = dict(conn.execute("SELECT key, value FROM build_info"))
    conn.close()
    sha = os.environ.get("GITHUB_SHA", "")
    text = [
        f"Built by paperdb {info['tool_version']}" + (f" from commit {sha}" if sha else "") + ":",
        f"{info['listings']} dumps, {info['paper_occurrences']} paper occurrences, "
        f"{info['papers']} distinct papers, {info['warnings']} warnings.",
        "",
    ]
    if len(assets) > 1:
        text += [
            f"The file is in {len(assets)} parts (GitHub's limit is 2 GiB an asset). Join them:",
            "",
            f"    cat {ASSET}.[0-9][0-9][0-9] > {ASSET}",
            "",
        ]
    text += [
        "Decompress and check:",
        "",
        f"    zstd -d {ASSET} -o papers.db && sha256sum --ignore-missing -c {SUMS}",
        "",
    ]
    return "\n".join(text)


def paperdb(*args):
    """Run the paperdb command installed beside this Python (the workflow's venv)."""
    beside = Path(sys.executable).parent / "paperdb"
    program = str(beside) if beside.is_file() else shutil.which("paperdb")
    if not program:
        raise Failed("the paperdb command is not installed (pip install .)")
    command([program, *args], f"paperdb {args[0]}")


def command(argv, what):
    print(f"$ {' '.join(argv)}", flush=True)
    if subprocess.run(argv).returncode != 0:
        raise Failed(f"{what} failed (see above)")


def read_sums(path):
    if not path.is_file():
        return {}
    sums = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        value, _, name = line.partition("  ")
        sums[name] = value
    return sums


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


if __name__ == "__main__":
    sys.exit(main())
