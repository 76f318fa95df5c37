"""Finding dumps and reading their bytes: encodings, BOM, binary files."""

import hashlib
import os
import re
import shutil
import sqlite3
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SEED_NAMES, SEEDS, seed_lines, seed_path, write_dump

from paperdb.cli import cli
from paperdb.errors import InputError
from paperdb.reader import CHUNK_BYTES, MAX_LINE_BYTES, discover, inspect, read_lines


def test_folder_yields_txt_dumps_in_name_order_and_lists_the_rest(tmp_path):
    for name in ["b.txt", "a.txt", "notes.md", "C.TXT"]:
        (tmp_path / name).write_text("x")
    (tmp_path / ".hidden.txt").write_text("x")
    found = discover([tmp_path])
    assert [name for _, name in found.files] == [".hidden.txt", "C.TXT", "a.txt", "b.txt"]
    assert [p.name for p in found.skipped] == ["notes.md"]


def test_seed_folder_discovery():
    found = discover([SEEDS])
    assert [name for _, name in found.files] == SEED_NAMES
    assert found.skipped == []


def test_same_file_twice_counts_once_and_same_name_from_two_folders_is_disambiguated(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    (tmp_path / "x" / "d.txt").write_text("1")
    (tmp_path / "y" / "d.txt").write_text("2")
    found = discover([tmp_path / "x", tmp_path / "x" / "d.txt", tmp_path / "y"])
    assert [name for _, name in found.files] == ["x/d.txt", "y/d.txt"]


def test_missing_input_names_the_path(tmp_path):
    with pytest.raises(InputError, match="nope.txt: no such file or folder"):
        discover([tmp_path / "nope.txt"])


def test_inspect_hashes_and_detects_utf8():
    path = seed_path("001")
    dump = inspect(path, path.name)
    assert dump.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert dump.bytes == path.stat().st_size
    assert dump.encoding == "utf-8"


def test_cp1252_fallback(tmp_path):
    path = tmp_path / "legacy.txt"
    path.write_bytes("Caf\u00e9 Models\nWe \u201cquote\u201d things.".encode("cp1252"))
    dump = inspect(path, path.name)
    assert dump.encoding == "cp1252"
    assert [text for _, text in read_lines(dump)] == ["Café Models", "We “quote” things."]


def test_binary_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(InputError, match=r"image\.txt: binary file \(NUL byte at offset 8\)"):
        inspect(path, path.name)


def test_undecodable_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"Title\n\x81\x8d\x8f abstract")
    with pytest.raises(InputError, match=r"bad\.txt: not text: byte 0x81"):
        inspect(path, path.name)


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_lines_split_only_on_newline_characters_and_bom_is_dropped(tmp_path, newline):
    path = tmp_path / "d.txt"
    body = ["T\u2028itle", "abs\u0085tract\u2029 end", "", "last"]
    path.write_bytes(b"\xef\xbb\xbf" + newline.join(s.encode() for s in body))
    dump = inspect(path, path.name)
    assert list(read_lines(dump)) == list(enumerate(body, start=1))


def test_same_relative_name_in_two_folders_gets_enough_folders_to_differ(tmp_path):
    for top in ("a", "b"):
        (tmp_path / top / "x").mkdir(parents=True)
        (tmp_path / top / "x" / "y.txt").write_text(top)
    found = discover([tmp_path / "a" / "x", tmp_path / "b" / "x"])
    assert [name for _, name in found.files] == ["a/x/y.txt", "b/x/y.txt"]


def test_same_relative_name_in_two_folders_builds(tmp_path, capsys):
    from paperdb.build import build

    for top in ("a", "b"):
        (tmp_path / top / "x").mkdir(parents=True)
        shutil.copy(seed_path("000"), tmp_path / top / "x" / "y.txt")
    result = build([tmp_path / "a" / "x", tmp_path / "b" / "x"], tmp_path / "out.db")
    assert result.files == 2
    conn = sqlite3.connect(tmp_path / "out.db")
    names = [name for (name,) in conn.execute("SELECT name FROM listings ORDER BY id")]
    assert names == ["a/x/y.txt", "b/x/y.txt"]


NOT_UTF8_NAME = os.fsdecode(b"caf\xe9 \xff.txt")


def test_file_name_that_is_not_utf8_is_stored_and_printed_with_escapes(tmp_path):
    folder = tmp_path / "dumps"
    folder.mkdir()
    shutil.copy(seed_path("000"), folder / NOT_UTF8_NAME)
    out = tmp_path / "out.db"
    result = CliRunner().invoke(cli, ["build", str(folder), "-o", str(out)])
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(out)
    assert conn.execute("SELECT name FROM listings").fetchall() == [("caf\\xe9 \\xff.txt",)]


def test_unusable_file_with_a_name_that_is_not_utf8_is_skipped_with_a_warning(tmp_path):
    folder = tmp_path / "dumps"
    folder.mkdir()
    shutil.copy(seed_path("000"), folder / "good.txt")
    (folder / NOT_UTF8_NAME).write_bytes(b"\x00binary")
    out = tmp_path / "out.db"
    result = CliRunner().invoke(cli, ["build", str(folder), "-o", str(out), "--skip-bad"])
    assert result.exit_code == 0, result.output
    assert "caf\\xe9 \\xff.txt: binary file" in result.output
    conn = sqlite3.connect(out)
    (message,) = conn.execute("SELECT message FROM build_warnings").fetchone()
    assert "caf\\xe9 \\xff.txt" in message


def test_folder_that_cannot_be_searched_is_an_input_error(tmp_path, monkeypatch):
    folder = tmp_path / "dumps"
    folder.mkdir()
    shutil.copy(seed_path("000"), folder / "a.txt")
    real_is_file = Path.is_file

    def refuse(path):  # what a folder of mode r-- gives a non-root user
        if path.parent == folder:
            raise PermissionError(13, "Permission denied", str(path))
        return real_is_file(path)

    monkeypatch.setattr(Path, "is_file", refuse)
    with pytest.raises(InputError, match=r"dumps: cannot read: Permission denied"):
        discover([folder])


def _change_after_inspect(monkeypatch, change):
    """Make build() inspect each dump, then `change(path)` it before reading it again."""
    import paperdb.build

    real = paperdb.build.inspect

    def inspect_then_change(path, name):
        dump = real(path, name)
        change(Path(path))
        return dump

    monkeypatch.setattr(paperdb.build, "inspect", inspect_then_change)


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda p: p.write_bytes(p.read_bytes() + b"\nNew Title\n" + b"More text. " * 40),
            r"000_\w+\.txt: changed while the build read it",
        ),
        (lambda p: p.write_bytes(p.read_bytes()[:5000]), r"000_\w+\.txt: changed while"),
        (
            lambda p: p.write_bytes(
                p.read_bytes()[:4000] + b"\x00\x81\xff" + p.read_bytes()[4003:]
            ),
            r"000_\w+\.txt:\d+: byte 0x81 is not utf-8",
        ),
        (
            lambda p: p.write_bytes(p.read_bytes().replace(b"e", b"E", 1)),
            r"000_\w+\.txt: changed while",
        ),
        (lambda p: p.unlink(), r"000_\w+\.txt: cannot read: No such file or directory"),
    ],
    ids=["appended", "truncated", "turned-binary", "same-size-edit", "deleted"],
)
def test_dump_that_changes_during_the_build_is_an_input_error(
    tmp_path, monkeypatch, change, message
):
    folder = tmp_path / "dumps"
    folder.mkdir()
    shutil.copy(seed_path("000"), folder / seed_path("000").name)
    out = tmp_path / "out.db"
    out.write_bytes(b"")
    _change_after_inspect(monkeypatch, change)
    result = CliRunner().invoke(cli, ["build", str(folder), "-o", str(out)])
    assert result.exit_code == 1
    assert re.search(message, result.output), result.output
    assert "Traceback" not in result.output and str(out) + ":" not in result.output
    assert out.read_bytes() == b""  # untouched
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def _dump_with_line(tmp_path, middle):
    path = tmp_path / "d.txt"
    head = b"Daily Papers\nA Title Here\n"
    path.write_bytes(head + middle + b"\nSecond Title\n" + b"We measure it. " * 40 + b"\n")
    return inspect(path, path.name)


def test_overlong_line_is_skipped_in_bounded_memory_and_reported(tmp_path):
    dump = _dump_with_line(tmp_path, b"Long text. " * (3 * MAX_LINE_BYTES // 11))
    told = []
    tracemalloc.start()
    lines = list(read_lines(dump, on_overlong=lambda line, size: told.append((line, size))))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert told == [(3, 3 * MAX_LINE_BYTES // 11 * 11)]
    assert [n for n, _ in lines] == [1, 2, 4, 5]
    assert peak < MAX_LINE_BYTES + 4 * CHUNK_BYTES  # never the whole line


def test_line_at_the_limit_is_read_whole(tmp_path):
    text = b"x" * (MAX_LINE_BYTES - 1) + b"."
    dump = _dump_with_line(tmp_path, text)
    assert dict(read_lines(dump))[3] == text.decode()


@pytest.mark.parametrize("cut", [1, 2, 7])
def test_lines_split_the_same_across_chunk_boundaries(tmp_path, monkeypatch, cut):
    import paperdb.reader

    monkeypatch.setattr(paperdb.reader, "CHUNK_BYTES", cut)
    path = tmp_path / "d.txt"
    body = ["first", "", "a\u2028b", "c", "", "", "last"]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(body).replace("c\r\n", "c\r").encode())
    dump = inspect(path, path.name)
    assert list(read_lines(dump)) == list(enumerate(body, start=1))


def test_overlong_line_is_a_warning_with_file_and_line(tmp_path):
    from paperdb.build import build

    folder = tmp_path / "dumps"
    folder.mkdir()
    lines = seed_lines("000")
    lines.insert(4, "Long text. " * (MAX_LINE_BYTES // 10))
    write_dump(folder, "d.txt", lines)
    result = build([folder], tmp_path / "out.db")
    kinds = [(w.kind, w.line) for w in result.warnings]
    assert ("line-too-long", 5) in kinds
