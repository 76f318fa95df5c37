"""Find the dump files, check that each is usable text, and stream its lines.

Inspecting a file (hash, size, encoding) is a separate pass from reading its lines so
that a build can refuse bad input before it writes anything, while lines are still
streamed instead of holding whole dumps in memory. Every later read hashes the bytes it
reads again: a dump that changes between two passes is an input error, never a database
built from one version of the file and labelled with the hash of another.
"""

import codecs
import hashlib
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError, shown

CHUNK_BYTES = 1 << 20
BOM = codecs.BOM_UTF8
# A line longer than this is no title or abstract (the longest abstract in the seeds is
# under 3 KB): it is skipped with a warning instead of being held, normalised and scanned,
# which took 15x its size in memory (a 100 MB line peaked at 1.5 GB).
MAX_LINE_BYTES = 4 << 20


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
        try:
            if path.is_dir():
                for child in sorted(path.iterdir()):
                    if child.is_file() and child.suffix.lower() == ".txt":
                        found.setdefault(child.resolve(), child)
                    elif not child.name.startswith("."):
                        skipped.append(child)
            elif path.is_file():
                found.setdefault(path.resolve(), path)
            elif path.exists():
                raise InputError(path, "not a regular file or folder")
            else:
                raise InputError(path, "no such file or folder")
        except OSError as exc:
            # A folder that can be listed but not searched (mode r--), or one that vanished.
            raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    files = listing_names(found)
    return Discovery(files=sorted(files, key=lambda f: f[1]), skipped=skipped)


def listing_names(found):
    """[(path, name)] for {resolved path: path as given}: names unique, printable, stable.

    A name is the file name; files that share one get as many of their folders as it takes
    to tell them apart (a/x/y.txt and b/x/y.txt: 'a/x/y.txt', 'b/x/y.txt'). Bytes that are
    not UTF-8 in a file name are written as \\xNN, so the name can be stored and printed.
    """
    depth = dict.fromkeys(found, 1)
    while True:
        names = {real: _tail(real, depth[real]) for real in found}
        groups = {}
        for real, name in names.items():
            groups.setdefault(name, []).append(real)
        clashing = [real for group in groups.values() if len(group) > 1 for real in group]
        deeper = [real for real in clashing if depth[real] < len(real.parts)]
        if not deeper:
            break
        for real in deeper:
            depth[real] += 1
    # Only names that print alike are left (a byte 0xe9, and "\\xe9" written out).
    taken = set(names.values())
    for group in groups.values():
        for real in sorted(group)[1:]:
            number = 2
            while f"{names[real]}#{number}" in taken:
                number += 1
            names[real] = f"{names[real]}#{number}"
            taken.add(names[real])
    return [(found[real], names[real]) for real in found]


def _tail(real, depth):
    return "/".join(shown(part) for part in real.parts[-depth:])


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
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK_BYTES):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    raise InputError(
                        path,
                        f"not text: byte 0x{chunk[exc.start]:02x} is neither UTF-8 nor cp1252",
                    ) from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    return "cp1252"


def read_lines(dump, on_overlong=None):
    """Yield (line_number, text) for every line of the dump, 1-based.

    Only \\n, \\r\\n and \\r end a line: U+2028, U+2029 and U+0085 are text inside
    an abstract, which is why this is not str.splitlines(). A UTF-8 BOM is dropped.
    A line over MAX_LINE_BYTES is not yielded: `on_overlong(line_number, size)` is told
    of it, and memory stays bounded whatever the line. Raises InputError when the file
    cannot be read or decoded, or is no longer the file that was inspected.
    """
    lines = _LineSplitter(dump)
    try:
        with open(dump.path, "rb") as fh:
            while chunk := fh.read(CHUNK_BYTES):
                for number, raw in lines.feed(chunk):
                    if isinstance(raw, int):
                        if on_overlong:
                            on_overlong(number, raw)
                    else:
                        yield number, lines.decode(number, raw)
        for number, raw in lines.end():
            if isinstance(raw, int):
                if on_overlong:
                    on_overlong(number, raw)
            else:
                yield number, lines.decode(number, raw)
    except OSError as exc:
        raise InputError(dump.path, f"cannot read: {exc.strerror or exc}") from None
    if (lines.size, lines.digest.hexdigest()) != (dump.bytes, dump.sha256):
        raise InputError(
            dump.path,
            f"changed while the build read it ({dump.bytes:,} bytes when first read, "
            f"{lines.size:,} now, and another sha256); nothing was written",
        )


class _LineSplitter:
    """Cuts chunks of bytes into lines, hashing every byte on the way.

    feed() and end() yield (number, bytes of the line) or, for a line over MAX_LINE_BYTES,
    (number, its size in bytes): such a line's bytes are never held.
    """

    def __init__(self, dump):
        self.dump = dump
        self.digest = hashlib.sha256()
        self.size = 0
        self.number = 0
        self.partial = []  # pieces of the line being read
        self.partial_bytes = 0
        self.overlong = False
        self.after_cr = False  # the last chunk ended in \r: a \n starting the next is its pair
        self.head = b"" if dump.encoding == "utf-8" else None  # None once past a BOM's place

    def feed(self, chunk):
        self.digest.update(chunk)
        self.size += len(chunk)
        if self.head is not None:
            chunk = self._drop_bom(self.head + chunk)
        if self.after_cr and chunk[:1] == b"\n":
            chunk = chunk[1:]
        yield from self._split(chunk)

    def _split(self, chunk):
        self.after_cr = chunk[-1:] == b"\r"
        # bytes.splitlines splits on \n, \r\n and \r only (str.splitlines on more).
        for piece in chunk.splitlines(keepends=True):
            if piece[-1:] in (b"\n", b"\r"):
                yield self._line_end(piece.rstrip(b"\r\n"))
            else:
                self._keep(piece)

    def _drop_bom(self, start):
        """The bytes after a UTF-8 BOM, once enough of the file's start is here to tell."""
        if len(start) < len(BOM) and BOM.startswith(start):
            self.head = start
            return b""
        self.head = None
        return start.removeprefix(BOM)

    def end(self):
        if self.head:  # a file shorter than a BOM, starting like one
            self.head, rest = None, self.head
            yield from self._split(rest)
        if self.partial or self.overlong:
            yield self._line_end(b"")

    def _keep(self, piece):
        self.partial_bytes += len(piece)
        if self.overlong:
            return
        if self.partial_bytes > MAX_LINE_BYTES:
            self.overlong = True
            self.partial.clear()
        else:
            self.partial.append(piece)

    def _line_end(self, tail):
        self.number += 1
        size = self.partial_bytes + len(tail)
        if self.overlong or size > MAX_LINE_BYTES:
            line = size
        elif self.partial:
            line = b"".join((*self.partial, tail))
        else:
            line = tail
        self.partial.clear()
        self.partial_bytes = 0
        self.overlong = False
        return self.number, line

    def decode(self, number, raw):
        try:
            return raw.decode(self.dump.encoding)
        except UnicodeDecodeError as exc:
            raise InputError(
                self.dump.path,
                f"byte 0x{raw[exc.start]:02x} is not {self.dump.encoding} (the file changed "
                "while the build read it?); nothing was written",
                line=number,
            ) from None
