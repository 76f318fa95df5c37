"""Finding dumps and reading their bytes: encodings, BOM, binary files."""

import hashlib

import pytest
from conftest import SEED_NAMES, SEEDS, seed_path

from paperdb.errors import InputError
from paperdb.reader import discover, inspect, read_lines


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
