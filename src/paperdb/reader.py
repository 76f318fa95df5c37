"""Find the dump files, check that each is usable text, and stream its lines.

Inspecting a file (hash, size, encoding) is a separate pass from reading its lines so
that a build can refuse bad input before it writes anything, while lines are still
streamed instead of holding whole dumps in memory.
"""

import codecs
import hashlib
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

CHUNK_BYTES = 1 << 20
BOM = codecs.BOM_UTF8


@dataclass(frozen=True)
class Dump:
    """One usable input file, checked but not yet parsed."""

    path: Path
    name: str  # relative to the folder it was found in: the listing's name
    sha256: str
    bytes: int
    encoding: str  # 'utf-8' or 'cp1252'


@dataclass(frozen=True)
class Discovery:
    files: list  # [(path, name)] in name order
    skipped: list  # paths inside folders that are not *.txt dumps


def discover(paths):
    """Expand files and folders into dump files, ordered by name so builds are reproducible.

    A folder contributes its ``*.txt`` files (not recursively); anything else in it is
    listed as skipped. A path given explicitly is used whatever its suffix.
    """
    found = {}
    skipped = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.is_file() and child.suffix.lower() == ".txt":
                    found.setdefault(child.resolve(), (child, child.name))
                elif not child.name.startswith("."):
                    skipped.append(child)
        elif path.is_file():
            found.setdefault(path.resolve(), (path, path.name))
        elif path.exists():
            raise InputError(path, "not a regular file or folder")
        else:
            raise InputError(path, "no such file or folder")
    files = _unique_names(list(found.values()))
    return Discovery(files=sorted(files, key=lambda f: f[1]), skipped=skipped)


def _unique_names(files):
    """Two inputs with the same file name (from different folders) get their folder in the name."""
    counts = {}
    for _, name in files:
        counts[name] = counts.get(name, 0) + 1
    if all(n == 1 for n in counts.values()):
        return files
    renamed = []
    for path, name in files:
        if counts[name] > 1:
            name = f"{path.resolve().parent.name}/{name}"
        renamed.append((path, name))
    return renamed


def inspect(path, name):
    """Hash the file and decide its encoding; raise InputError if it is not text."""
    digest = hashlib.sha256()
    size = 0
    utf8 = codecs.getincrementaldecoder("utf-8")()
    utf8_ok = True
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK_BYTES):
                if b"\x00" in chunk:
                    offset = size + chunk.index(b"\x00")
                    raise InputError(path, f"binary file (NUL byte at offset {offset})")
                digest.update(chunk)
                size += len(chunk)
                if utf8_ok:
                    try:
                        utf8.decode(chunk)
                    except UnicodeDecodeError:
                        utf8_ok = False
            if utf8_ok:
                try:
                    utf8.decode(b"", final=True)
                except UnicodeDecodeError:
                    utf8_ok = False
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    encoding = "utf-8" if utf8_ok else _check_cp1252(path)
    return Dump(path=path, name=name, sha256=digest.hexdigest(), bytes=size, encoding=encoding)


def _check_cp1252(path):
    decoder = codecs.getincrementaldecoder("cp1252")()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise InputError(
                    path, f"not text: byte 0x{chunk[exc.start]:02x} is neither UTF-8 nor cp1252"
                ) from None
    return "cp1252"


def read_lines(dump):
    """Yield (line_number, text) for every line of the dump, 1-based.

    Only \\n, \\r\\n and \\r end a line: U+2028, U+2029 and U+0085 are text inside
    an abstract, which is why this is not str.splitlines(). A UTF-8 BOM is dropped.
    """
    encoding = "utf-8-sig" if dump.encoding == "utf-8" else dump.encoding
    # newline="" splits on exactly \n, \r\n and \r, and hands the ending back untouched.
    with open(dump.path, encoding=encoding, newline="") as fh:
        for number, line in enumerate(fh, start=1):
            yield number, line.rstrip("\r\n")
