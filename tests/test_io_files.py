"""Files of a source: compressed, binary, odd encodings; every file matching the source is read or quarantined."""

from __future__ import annotations

import bz2
import gzip
import lzma

import pytest
from crystals import methanol_like
from landscape_files import cif_block, extxyz_frame, res_text

from latentcsp.io import RawStructure, Rejected, UnreadableFile, expand_source, file_stem, read_source, read_text
from latentcsp.ingest import LandscapeSpec, ingest

GOOD = methanol_like()


def kinds(records):
    return sorted((type(r).__name__, r.id) for r in records)


def test_compressed_files_of_every_text_format_are_read(tmp_path):
    (tmp_path / "a.xyz.gz").write_bytes(gzip.compress(extxyz_frame(GOOD, "a", -1.0).encode()))
    (tmp_path / "b.res.bz2").write_bytes(bz2.compress(res_text(GOOD, "b", -2.0).encode()))
    (tmp_path / "c.cif.xz").write_bytes(lzma.compress(cif_block(GOOD, "c", -3.0).encode()))
    (tmp_path / "d.extxyz.gz").write_bytes(gzip.compress(extxyz_frame(GOOD, "d", -4.0).encode()))
    (tmp_path / "e.res").write_bytes(gzip.compress(res_text(GOOD, "e", -5.0).encode()))  # compressed, plain name
    assert kinds(read_source(tmp_path)) == [("RawStructure", k) for k in "abcde"]
    assert file_stem("x/y.extxyz.gz") == "y" and file_stem("y.CIF") == "y" and file_stem("notes.txt") == "notes.txt"


@pytest.mark.parametrize("name", ["x.res", "x.cif", "x.xyz", "x.json"])
def test_binary_files_say_so(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(bytes(range(256)) * 20)
    (rej,) = read_source(path)
    assert isinstance(rej, Rejected) and "binary data, not a text file" in rej.reason, rej.reason


def test_damaged_archive_and_undecodable_text(tmp_path):
    cut = tmp_path / "cut.xyz.gz"
    cut.write_bytes(gzip.compress(extxyz_frame(GOOD, "a", -1.0).encode() * 50)[:200])
    (rej,) = read_source(cut)
    assert "damaged gzip-compressed file" in rej.reason
    latin = tmp_path / "latin.xyz"
    latin.write_bytes(bytes(range(128, 256)) * 10)
    with pytest.raises(UnreadableFile, match="not UTF-8"):
        read_text(latin)


def test_encodings_and_line_endings(tmp_path):
    text = res_text(GOOD, "s", -1.0)
    (tmp_path / "bom.res").write_bytes(b"\xef\xbb\xbf" + text.encode())
    (tmp_path / "crlf.res").write_bytes(text.replace("\n", "\r\n").encode())
    (tmp_path / "utf16.res").write_bytes(text.encode("utf-16"))
    (tmp_path / "latin1.res").write_bytes(text.replace("CELL", "REM made by Andr\xe9\nCELL")
                                          .encode("latin-1"))
    recs = list(read_source(tmp_path))
    assert all(isinstance(r, RawStructure) for r in recs), recs
    assert sorted(r.id for r in recs) == ["bom", "crlf", "latin1", "utf16"]
    assert all(len(r.numbers) == len(GOOD) and r.energy == -1.0 for r in recs)


def test_what_a_source_names(tmp_path):
    for name in ("a.res", "b.xyz.gz", "notes.txt", "table.csv", "c.res.zip", "sub/d.cif"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("x")
    folder = [p.replace(str(tmp_path) + "/", "") for p in expand_source(tmp_path)]
    assert folder == ["a.res", "b.xyz.gz", "sub/d.cif"]  # a directory: structure files only
    assert [p.rsplit("/", 1)[1] for p in expand_source(tmp_path, "res")] == ["a.res"]
    glob = [p.rsplit("/", 1)[1] for p in expand_source(str(tmp_path / "*"))]
    assert glob == ["a.res", "b.xyz.gz", "c.res.zip", "notes.txt", "table.csv"]  # a glob: everything it matches
    recs = {r.source.rsplit("/", 1)[1]: r for r in read_source(str(tmp_path / "*.*"))}
    assert "not a structure file" in recs["notes.txt"].reason and "not a structure file" in recs["c.res.zip"].reason


def test_every_file_is_in_the_manifest_or_the_quarantine(tmp_path):
    """Good files (plain, compressed) and bad ones (empty, binary, broken, unknown kind): all accounted for."""
    cells = [(7.0 + 0.1 * k, 6.5, 9.0, 90, 105, 90) for k in range(4)]
    good = {"g0.res": res_text(methanol_like(cellpar=cells[0]), "g0", -90.0),
            "g1.xyz.gz": gzip.compress(extxyz_frame(methanol_like(cellpar=cells[1]), "g1", -91.0).encode()),
            "g2.cif.bz2": bz2.compress(cif_block(methanol_like(cellpar=cells[2]), "g2", -92.0).encode()),
            "g3.extxyz": extxyz_frame(methanol_like(cellpar=cells[3]), "g3", -93.0)}
    bad = {"empty.res": "", "binary.cif": bytes(range(256)) * 4, "nocell.res": "TITL x -1\nC1 1 0 0 0\nEND\n",
           "cut.xyz.gz": gzip.compress(b"6\nLattice=" * 40)[:30], "odd.res.zip": b"PK\x03\x04"}
    for name, content in {**good, **bad}.items():
        (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    result = ingest(LandscapeSpec("m", str(tmp_path / "*")), progress=False)
    kept = {c.source.rsplit("/", 1)[1] for c in result.crystals}
    quarantined = {q.source.rsplit("/", 1)[1] for q in result.quarantine}
    assert kept == set(good) and quarantined == set(bad)
    assert result.n_read == len(good) + len(bad)
